"""What `fab init` prints before it writes anything: what it detected (an aligned table), the services the
stack does not run (what the user must do), the files (and the project's own Dockerfile or compose file, kept), the
Dockerfile when init cannot write it, and the next commands."""

from deploy.adopt import deploy_check, image
from deploy.adopt.detect import Project
from deploy.adopt.files import Plan, modules
from deploy.commands.django_check import Issue

SERVED_URLS = {"STATIC_URL": "/static/", "MEDIA_URL": "/media/"}  # what the stack's nginx serves
DOCKERFILE = f"{image.FOLDER}/Dockerfile"
OWN_FILES = ("Dockerfile", "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")


def detected(project: Project) -> list[tuple[str, str]]:
    layout, settings, deps = project.layout, project.settings, project.dependencies
    origin = ("the production settings" if layout.base == layout.production else
              "manage.py's" if layout.base == layout.development else "wsgi.py's")
    development = "" if layout.base == layout.development else f"; manage.py: {layout.development}"
    if deps.has("gunicorn"):
        gunicorn = "gunicorn listed"
    else:
        gunicorn = "no gunicorn: the image adds it"
    return [
        ("project", f"{project.root} (app name {project.name})"),
        ("Django", settings.django),
        ("Python", f"{project.python.version} ({project.python.source})"),
        ("dependencies", f"{deps.manager}: {deps.file} ({'locked' if deps.locked else 'not locked'}; {gunicorn})"),
        ("settings", f"{layout.base} ({origin}){development}"),
        ("deploys with", f"{modules(project)['settings']} (your settings + the environment)"),
        ("WSGI", project.wsgi),
        ("database", settings.get("DATABASE_ENGINE") or "none"),
        ("static", _files(settings.get("STATIC_URL"), settings.get("STATIC_ROOT"), "/static/", "staticfiles")),
        ("media", _files(settings.get("MEDIA_URL"), settings.get("MEDIA_ROOT"), "/media/", "media")),
    ]


def _files(url: str | None, root: str | None, served: str, folder: str) -> str:
    return f"yours {url or 'not set'} in {root or 'no root'}; deployed {served} in <project>/{folder} (a volume)"


def warnings(project: Project) -> list[str]:
    found = [f"{item.what}: {item.todo}" for item in project.unserved]
    for name, served in SERVED_URLS.items():
        value = project.settings.get(name) or ""
        if "://" in value:
            found.append(f"{name} is a full URL ({value}: a CDN or a storage service?): "
                         f"{modules(project)['settings']} sets {served}, served by the stack's nginx; remove that "
                         "line there to keep yours")
    return found


def file_lines(plan: Plan) -> list[str]:
    """A line per file; files of one folder written for one reason (the nginx image's) are one line."""
    out, groups = [], {}
    for file in plan.write:
        groups.setdefault((file.path.rpartition("/")[0], file.why), []).append(file)
    for (folder, why), group in groups.items():
        if len(group) > 2:
            out.append(f"  write       {folder}/ ({len(group)} files): {why}")
        else:
            out += [f"  write       {file.path}: {file.why}" for file in group]
    out += [f"  left alone  {file.path}: it exists (fab init --force {file.path} replaces it)" for file in plan.kept]
    return out


def theirs(project: Project) -> list[str]:
    """The project's own image and compose files, kept: the deploy builds through production.yml."""
    found = [name for name in OWN_FILES if (project.root / name).is_file()]
    return [f"  your {name} stays as it is and the deploy does not use it: it builds {DOCKERFILE} through "
            f"production.yml" for name in found]


def lines(project: Project, plan: Plan, issues: list[Issue] | None = None) -> list[str]:
    """``issues``: what `check --deploy` said under the overlay (deploy_check.check), None when it did not run."""
    rows = detected(project)
    width = max(len(label) for label, _ in rows)
    out = ["Detected:"] + [f"  {label.ljust(width)}  {value}" for label, value in rows]
    notes = warnings(project)
    if notes:
        out += ["", "Warnings (the stack runs the app, nginx and SQLite or PostgreSQL, nothing else):"]
        out += [f"  ! {note}" for note in notes]
    if issues is not None:
        out += ["", *deploy_check.lines(issues, modules(project)["settings"])]
    out += ["", "Files:", *file_lines(plan), *theirs(project)]
    missing = image.unsupported(project.dependencies, project.python.version)
    if missing:
        out += ["", "Still yours to provide before a deploy:", f"  - {DOCKERFILE}: {missing}"]
    out += ["", "Next:",
            "  cp .envs/.production.example .envs/.production   # then set DJANGO_SECRET_KEY and "
            "DJANGO_ALLOWED_HOSTS",
            "  git add -A && git commit -m 'Deploy files from fab init'",
            "  fab -H deploy@server bootstrap --accept-new-host-key",
            "  fab -H deploy@server deploy"]
    return out
