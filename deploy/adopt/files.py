"""The files `fab init` writes into the project, rendered from the templates shipped with the toolkit
(deploy/adopt/templates/, package data). An existing file is never overwritten, but the one ``--force`` names."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from string import Template

from deploy.adopt import image, stack
from deploy.adopt.detect import Project
from deploy.errors import DeployError

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class File:
    path: str  # relative to the project root, with '/'
    text: str
    why: str  # one phrase for the report


@dataclass(frozen=True)
class Plan:
    write: list[File]  # new files, and the one forced
    kept: list[File]  # existing files left alone


def modules(project: Project) -> dict[str, str]:
    """The Python modules init writes, by role: settings (the production overlay), gate, urls."""
    prefix = f"{project.layout.package}." if project.layout.package else ""
    return {role: f"{prefix}deploy_{role}" for role in ("settings", "gate_settings", "urls")}


def render(project: Project) -> list[File]:
    """Every file init writes, in the order the report lists them."""
    names = modules(project)
    folder = f"{project.layout.package}/" if project.layout.package else ""
    their_urls = project.settings.get("ROOT_URLCONF") or names["urls"].replace("deploy_urls", "urls")
    sqlite = (project.settings.get("DATABASE_ENGINE") or "").endswith("sqlite3")
    values = {
        "name": project.name, "settings": names["settings"], "wsgi": project.wsgi, "gate": names["gate_settings"],
        "urls": names["urls"], "base": project.layout.base, "development": project.layout.development,
        "their_urls": their_urls, "depth": "1" if project.layout.package else "0",
        "database_note": "SQLite in the `database` volume" if sqlite else "your settings' database",
    }

    def made(template: str, path: str, why: str) -> File:
        text = Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)
        return File(path, text, why)

    return [
        made("fabric.yaml", "fabric.yaml", "the toolkit's settings: the app contract"),
        made("fabfile.py.txt", "fabfile.py", "`fab` finds the toolkit's tasks"),
        made("dockerignore", ".dockerignore", "keeps secrets, databases and git out of the image"),
        made("production.example", ".envs/.production.example", "the shape of .envs/.production"),
        made("envs.gitignore", ".envs/.gitignore", "keeps .envs/.production out of git"),
        made("deploy_settings.py.txt", f"{folder}deploy_settings.py",
             f"production settings: {project.layout.base} + the environment"),
        made("deploy_urls.py.txt", f"{folder}deploy_urls.py", f"{their_urls} + /healthz"),
        made("deploy_gate_settings.py.txt", f"{folder}deploy_gate_settings.py",
             "the migration gate's settings (no database server, no secret)"),
        *stack_files(project, names["settings"]),
    ]


def stack_files(project: Project, settings: str) -> list[File]:
    """The app image (its Dockerfile when ``image.unsupported`` says nothing, its start files), the nginx image's
    folder and production.yml."""
    found = []
    if image.unsupported(project.dependencies, project.python.version) is None:
        found.append(File(f"{image.FOLDER}/Dockerfile", image.dockerfile(project, settings),
                          f"the app image: Python {project.python.version}, {project.dependencies.file}"))
    found += [File(path, text, "the app image's start (static files, gunicorn, health)")
              for path, text in stack.start_files(project)]
    found += [File(path, text, "the nginx image, the toolkit's") for path, text in stack.nginx_files()]
    found.append(File("production.yml", stack.production_yml(project), f"the stack: {project.name}, nginx, volumes"))
    return found


def plan(project: Project, force: str | None = None) -> Plan:
    """Which files are written and which are left alone; ``force`` (a path init writes) is replaced."""
    files = render(project)
    if force is not None:
        wanted = force.strip().removeprefix("./")
        if wanted not in {file.path for file in files}:
            raise DeployError(f"--force {force}: fab init writes no such file; it writes {', '.join(listed(files))}")
        force = wanted
    write = [file for file in files if file.path == force or not (project.root / file.path).exists()]
    return Plan(write, [file for file in files if file not in write])


def listed(files: list[File]) -> list[str]:
    """The paths, a folder of more than two files as ``folder/*`` (where its first file stands)."""
    counts = Counter(file.path.rpartition("/")[0] for file in files)
    out = []
    for file in files:
        folder = file.path.rpartition("/")[0]
        name = f"{folder}/*" if folder and counts[folder] > 2 else file.path
        if name not in out:
            out.append(name)
    return out


def write(root: Path, files: list[File]) -> None:
    for file in files:
        target = root / file.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.text, encoding="utf-8")
        except OSError as error:
            raise DeployError(f"cannot write {target}: {error.strerror}: fix the folder's permissions and run "
                              "fab init again (the files already written are kept)") from None
