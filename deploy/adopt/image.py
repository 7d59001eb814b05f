"""The app image's Dockerfile for the detected Python and dependency manager: pip (requirements files), Pipenv
(Pipfile.lock), Poetry (poetry.lock), uv (uv.lock) and pyproject.toml's [project] dependencies. A lock is installed
hash-checked as it is (turned into a requirements file in the build stage: lock2req.py, `poetry export`, `uv export`;
the tools never reach the runtime stage). gunicorn is added when the project lacks it, and the toolkit's Django app
always, each in its own step: the project's files are never edited. A Pipfile or a Poetry project without its lock
gets no Dockerfile and one line that says why (``unsupported``)."""

from pathlib import Path
from string import Template

from deploy.adopt.dependencies import Dependencies, requirement_files
from deploy.adopt.detect import Project

TEMPLATE = Path(__file__).with_name("templates") / "Dockerfile"
FOLDER = "compose/production/django"  # the image's files, as the blog lays them out
GUNICORN = "gunicorn>=23"  # the newest gunicorn the image's Python takes; 23 is the oldest the start files know
LOCK_SCRIPT = "lock2req.py"  # Pipfile.lock's default section as a hash-checked requirements file (stdlib only)
UV = "uv>=0.5"  # in the build stage only (/tools): it reads uv.lock and pyproject.toml; the image never holds it
# poetry export is a plugin since Poetry 2; both pinned so that the same lock exports the same file
POETRY = "'poetry==2.5.1' 'poetry-plugin-export==1.10.1'"
POETRY_PYTHON = (3, 10)  # the oldest Python Poetry 2.5 runs on
TOOLS = "RUN python -m venv /tools && /tools/bin/pip install {} \\\n"
UV_TOOLS = TOOLS.format(f"'{UV}'")
HASHED = "/venv/bin/pip install --no-deps --require-hashes -r requirements.txt"


def unsupported(deps: Dependencies, python: str) -> str | None:
    """Why fab init writes no Dockerfile for these dependencies on this Python ("3.12"), or None when it writes one."""
    if deps.manager == "pipenv" and not deps.locked:
        return ("a Pipfile without Pipfile.lock: the image installs the lock, hash-checked; run `pipenv lock`, "
                "commit it, and run fab init again")
    if deps.manager == "poetry" and not deps.locked:
        return ("a Poetry project without poetry.lock: the image installs the lock, hash-checked; run `poetry lock`, "
                "commit it, and run fab init again")
    if deps.manager == "poetry" and tuple(int(part) for part in python.split(".")[:2]) < POETRY_PYTHON:
        return (f"the image's build stage exports poetry.lock with Poetry 2.5, which needs Python 3.10 or newer (the "
                f"project's is {python}): write {FOLDER}/Dockerfile yourself, as the toolkit's docs/ADOPTING.md says")
    return None


def uses_lock_script(deps: Dependencies) -> bool:
    return deps.manager == "pipenv" and deps.locked


def dependency_steps(root: Path, deps: Dependencies) -> tuple[str, str]:
    """(the build stage's lines that bring the dependency files in, the pip command that installs them)."""
    if uses_lock_script(deps):
        return (f"COPY Pipfile.lock {FOLDER}/{LOCK_SCRIPT} ./\n"
                f"RUN python {LOCK_SCRIPT} Pipfile.lock > requirements.txt", HASHED)
    if deps.manager == "poetry":  # the main group only, with its hashes (the export's default)
        return ("COPY pyproject.toml poetry.lock ./\n" + TOOLS.format(POETRY) + "    && /tools/bin/poetry export "
                "--only main --format requirements.txt --output requirements.txt", HASHED)
    if deps.manager == "uv":
        return ("COPY pyproject.toml uv.lock ./\n" + UV_TOOLS + "    && /tools/bin/uv export --frozen --no-dev "
                "--no-emit-project --no-header --format requirements-txt -o requirements.txt", HASHED)
    if deps.manager == "pep621":  # no lock: resolved at each build, as pip resolves a requirements.txt
        # --native-tls: the image's certificate store, as pip uses it (a proxy's CA added there is trusted too)
        return ("COPY pyproject.toml ./\n" + UV_TOOLS + "    && /tools/bin/uv pip compile --native-tls pyproject.toml "
                "--no-header -o requirements.txt", "/venv/bin/pip install -r requirements.txt")
    # one COPY per file, to the same path: `-r base.txt` still finds its file
    files = requirement_files(root, deps.file) or [deps.file]
    return ("\n".join(f"COPY {name} {name}" for name in files), f"/venv/bin/pip install -r {deps.file}")


def additions(deps: Dependencies) -> str:
    """gunicorn when the project's file does not list it, in its own step (the file stays as it is)."""
    if deps.has("gunicorn"):
        return ""
    return f"# gunicorn serves the app; {deps.file} does not list it\nRUN /venv/bin/pip install '{GUNICORN}'\n"


def dockerfile(project: Project, settings: str) -> str:
    """The Dockerfile's text (call ``unsupported`` first); ``settings``: the deploy settings module."""
    copy, install = dependency_steps(project.root, project.dependencies)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        python=project.python.version, dependencies=copy, install=install, additions=additions(project.dependencies),
        settings=settings, wsgi=project.wsgi)
