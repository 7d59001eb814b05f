"""The kinds of Django project `fab init` adopts in tests/e2e/test_adopt.py (and bench/adopt.py times), each made as
its users make it: the real tools (pipenv, Poetry, uv, `wagtail start`) write the lock files and the scaffold at test
time, from PyPI.

The tools live in throwaway venvs under ~/.cache/mysite-e2e/tools/, one per pinned list of packages, made once
(under a file lock: concurrent runs share them) and reused by later runs; a new pin makes a new venv.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from testbed.adopt_projects import GIT, commit, run, split_project, startproject, write
from testbed.worktree import REPO

PYTHON = "3.11"  # the version the stand-in python image has (docs/TESTING.md): pinned as a user would pin theirs
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mysite-e2e" / "tools"
PIPENV = ("pipenv==2026.10.3",)
POETRY = ("poetry==2.5.1",)
UV = ("uv==0.13.9",)
WAGTAIL = "wagtail==7.0.10"  # the LTS of Django 5.2 and Python 3.11
DJANGO = "Django>=5.2,<5.3"


@dataclass(frozen=True)
class Kind:
    name: str  # the app's name: its folder, its package, the prefix of its containers
    make: Callable[[Path], Path]  # (parent folder) -> the project's root, committed
    page: str  # the page that must answer through nginx
    title: str  # words of that page
    css: str  # a stylesheet that page links, which nginx serves: a regex of its URL
    css_source: str | None  # its file in the project; None: Django admin's own base.css
    cache: str  # nginx's Cache-Control for it: an hour, or for ever for a name with a content hash
    written: str  # fab init's count line
    init_python: tuple[str, ...] = ()  # packages of the project's own environment, where fab init runs


# `mysite-deploy init` run from this checkout's toolkit, as the project's environment would run it
TOOLKIT = {"PYTHONPATH": str(REPO)}
INIT = "import sys; from deploy.adopt.program import main; sys.argv[0] = 'mysite-deploy'; main()"


def tool(*packages: str) -> Path:
    """The bin folder of a venv holding ``packages`` (made on first use, then reused)."""
    venv = CACHE / hashlib.sha256("\n".join(packages).encode()).hexdigest()[:12]
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ready").is_file():
            shutil.rmtree(venv, ignore_errors=True)
            run([sys.executable, "-m", "venv", venv], CACHE)
            run([venv / "bin" / "python", "-m", "pip", "install", "-q", *packages], CACHE)
            (venv / "ready").write_text("\n".join(packages) + "\n")
    return venv / "bin"


def toolkit_requirements() -> tuple[str, ...]:
    """The toolkit's own dependencies (pyproject.toml): fab init runs in the project's environment."""
    return tuple(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"])


def cms_environment() -> tuple[str, ...]:
    """The CMS project's environment: wagtail, and the toolkit's dependencies (its code comes by PYTHONPATH)."""
    return (WAGTAIL, *toolkit_requirements())


def pinned(root: Path) -> Path:
    return write(root, {".python-version": f"{PYTHON}\n"})


def startproject_requirements(parent: Path) -> Path:
    """startproject + requirements.txt (Django only, no gunicorn)."""
    root = startproject(parent, "shop")
    return commit(pinned(write(root, {"requirements.txt": "Django>=5.2,<6.0\n"})))


def split_pipenv(parent: Path) -> Path:
    """A split settings package with a Pipfile, locked by `pipenv lock` on Python 3.11."""
    root = split_project(parent, "split")
    write(root, {"Pipfile": f'[packages]\ndjango = "~=5.2"\n\n[requires]\npython_version = "{PYTHON}"\n'})
    environ = {**os.environ, "WORKON_HOME": str(parent / "virtualenvs"), "PIPENV_YES": "1", "PIPENV_NOSPIN": "1",
               "PIPENV_IGNORE_VIRTUALENVS": "1", "PIPENV_PYTHON": sys.executable}
    subprocess.run([tool(*PIPENV) / "pipenv", "lock"], cwd=root, env=environ, check=True, capture_output=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    return commit(pinned(root))


PYPROJECT = f"""[project]
name = "{{name}}"
version = "0.1.0"
requires-python = ">={PYTHON},<3.12"
dependencies = ["{DJANGO}"]
"""


def poetry_project(parent: Path) -> Path:
    """startproject with Poetry 2's pyproject.toml (PEP 621, no package), locked by `poetry lock`."""
    root = startproject(parent, "poet")
    write(root, {"pyproject.toml": PYPROJECT.format(name="poet") + "\n[tool.poetry]\npackage-mode = false\n"})
    run([tool(*POETRY) / "poetry", "lock"], root)
    return commit(pinned(root))


def uv_project(parent: Path) -> Path:
    """startproject with a pyproject.toml, locked by `uv lock`."""
    root = startproject(parent, "uvapp")
    write(root, {"pyproject.toml": PYPROJECT.format(name="uvapp")})
    run([tool(*UV) / "uv", "lock", "--native-tls", "--python", sys.executable], root)
    return commit(pinned(root))


def wagtail_project(parent: Path) -> Path:
    """`wagtail start cms`: a CMS scaffold with its own split settings, media, requirements.txt and Dockerfile."""
    run([tool(*cms_environment()) / "wagtail", "start", "cms"], parent)
    return commit(pinned(parent / "cms"))


ADMIN = ("/admin/login/", "Log in | Django site admin", r"/static/admin/css/base\.css", None, "max-age=3600")
KINDS = [
    Kind("split", split_pipenv, *ADMIN, "Wrote 32 file(s); left 0 alone."),
    Kind("poet", poetry_project, *ADMIN, "Wrote 31 file(s); left 0 alone."),
    Kind("uvapp", uv_project, *ADMIN, "Wrote 31 file(s); left 0 alone."),
    # ManifestStaticFilesStorage: the stylesheet's name carries its hash, and nginx lets browsers keep it
    Kind("cms", wagtail_project, "/", "Welcome to your new Wagtail site!",
         r"/static/css/welcome_page\.[0-9a-f]{12}\.css", "home/static/css/welcome_page.css", "max-age=315360000",
         "Wrote 30 file(s); left 1 alone.", cms_environment()),
    # last: its app stays up for the day-two story of test_adopt.py
    Kind("shop", startproject_requirements, *ADMIN, "Wrote 31 file(s); left 0 alone."),
]


def init(kind: Kind, root: Path, production_env: str) -> Path:
    """`mysite-deploy init` in the project's environment; ``production_env`` as .envs/.production; committed."""
    python = tool(*kind.init_python) / "python" if kind.init_python else Path(sys.executable)
    done = subprocess.run([str(python), "-c", INIT, "init"], cwd=root, text=True, capture_output=True, timeout=120,
                          env={**os.environ, **TOOLKIT}, check=False)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert kind.written in done.stdout
    assert "Still yours" not in done.stdout
    write(root, {".envs/.production": production_env})
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "Deploy files from fab init"], cwd=root, check=True)
    return root


def adopt(kind: Kind, parent: Path, production_env: str) -> Path:
    """The project, committed, then adopted (`init`)."""
    return init(kind, kind.make(parent), production_env)
