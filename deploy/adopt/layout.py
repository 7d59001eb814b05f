"""What the project's files say without running anything: is it a Django project in git, which settings
modules do manage.py and wsgi.py name, and is there a production settings module beside them."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import DeployError

PRODUCTION_NAMES = ("production", "prod")  # <settings package>.production, then .prod
APP_NAME_LENGTH = 40  # deploy/config.py's APP_NAME allows 1 to 40 characters


@dataclass(frozen=True)
class Layout:
    root: Path
    development: str  # manage.py's DJANGO_SETTINGS_MODULE
    wsgi_default: str | None  # wsgi.py's, when it has one
    production: str | None  # an existing <settings package>.production (or .prod)

    @property
    def base(self) -> str:
        """The settings a deploy starts from: the production module, else wsgi.py's, else manage.py's."""
        return self.production or self.wsgi_default or self.development

    @property
    def package(self) -> str | None:
        """The project's top package (``demo`` of ``demo.settings``); None for a top-level settings module."""
        head, dot, _ = self.development.partition(".")
        return head if dot else None


def read(root: Path) -> Layout:
    """The layout of the project at ``root``; refuses a folder without manage.py or outside git."""
    manage = root / "manage.py"
    if not manage.is_file():
        raise DeployError(f"no manage.py in {root}: run fab init at the root of a Django project "
                          "(the folder that holds manage.py)")
    if git_folder(root) is None:
        raise DeployError(f"{root} is not in a git repository: a deploy ships the committed HEAD; run "
                          "`git init && git add -A && git commit -m 'first commit'` first")
    development = settings_default(manage)
    if development is None:
        raise DeployError("manage.py does not name its settings (os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", "
                          "\"...\")): add that line as django-admin startproject writes it")
    top = development.partition(".")[0]
    wsgi = root / top / "wsgi.py"
    return Layout(root, development, settings_default(wsgi) if wsgi.is_file() else None,
                  production_module(root, development))


def git_folder(root: Path) -> Path | None:
    """The folder holding ``.git`` (a folder, or a file in a worktree) at or above ``root``."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return None


def settings_default(path: Path) -> str | None:
    """The module in ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")`` of a Python file, if any."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault"
                and len(node.args) == 2 and all(isinstance(a, ast.Constant) for a in node.args)
                and node.args[0].value == "DJANGO_SETTINGS_MODULE" and isinstance(node.args[1].value, str)):
            return node.args[1].value
    return None


def production_module(root: Path, settings: str) -> str | None:
    """``<package>.production`` (or ``.prod``) when it exists, where the package is ``settings`` itself when
    that is a package (``demo/settings/__init__.py``), else its parent when named ``settings``
    (``demo.settings.dev``)."""
    parts = settings.split(".")
    if (root.joinpath(*parts) / "__init__.py").is_file():
        package = parts
    elif len(parts) > 1 and parts[-2] == "settings":
        package = parts[:-1]
    else:
        return None
    for name in PRODUCTION_NAMES:
        if root.joinpath(*package, f"{name}.py").is_file():
            return ".".join([*package, name])
    return None


def app_name(root: Path) -> str:
    """The project folder's name made a valid `app: name` (lowercase letters and digits joined by '-')."""
    words = re.findall(r"[a-z0-9]+", root.name.lower())
    return "-".join(words)[:APP_NAME_LENGTH].strip("-") or "app"
