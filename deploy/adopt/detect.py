"""Everything `fab init` detects about a project, in the order the refusals come: layout (manage.py, git),
dependencies, then the settings imported by the project's Python."""

from dataclasses import dataclass
from pathlib import Path

from deploy.adopt import dependencies, django_settings, layout, python_version, services


@dataclass(frozen=True)
class Project:
    layout: layout.Layout
    name: str  # `app: name`
    dependencies: dependencies.Dependencies
    settings: django_settings.DjangoSettings  # the base settings (layout.base), imported
    python: python_version.PythonVersion
    unserved: list[services.Unserved]

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def wsgi(self) -> str:
        """gunicorn's module:variable, from WSGI_APPLICATION (``demo.wsgi.application``)."""
        fallback = ".".join(filter(None, (self.layout.package, "wsgi", "application")))
        value = self.settings.get("WSGI_APPLICATION") or fallback
        module, _, variable = value.rpartition(".")
        return f"{module}:{variable}"


def detect(root: Path) -> Project:
    """What the project at ``root`` is; raises DeployError (one line) when it cannot be deployed."""
    found = layout.read(root)
    deps = dependencies.detect(root)
    settings = django_settings.read(root, found.base)
    return Project(found, layout.app_name(root), deps, settings, python_version.detect(root, settings.django_version),
                   services.warnings(settings))
