"""Django projects for the `fab init` tests (tests/unit/deploy/adopt/) and bench/adopt.py: made by Django's own
startproject, reshaped as real projects are (a split settings package, a Pipfile), committed to git."""

import subprocess
import sys
from pathlib import Path

GIT = ["git", "-c", "user.name=mysite", "-c", "user.email=dev@mysite.invalid", "-c", "init.defaultBranch=main"]


def run(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(word) for word in argv], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def commit(root: Path) -> Path:
    """``git init`` (when not yet) and commit everything."""
    if not (root / ".git").exists():
        run([*GIT, "init", "-q"], root)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-q", "--allow-empty", "-m", "project"], root)
    return root


def startproject(parent: Path, name: str = "demo") -> Path:
    """``django-admin startproject NAME`` in ``parent`` (the Django of this environment): flat settings."""
    run([sys.executable, "-m", "django", "startproject", name], parent)
    return parent / name


def flat_project(parent: Path, name: str = "demo") -> Path:
    """startproject with a requirements.txt, committed."""
    root = startproject(parent, name)
    write(root, {"requirements.txt": "Django>=5.2,<6.0\n"})
    return commit(root)


def split_project(parent: Path, name: str = "shop") -> Path:
    """startproject reshaped: ``<name>/settings/{__init__,base,dev,production}.py``, manage.py on the dev
    settings, wsgi.py on production, a Pipfile pinning Python 3.12; committed."""
    root = startproject(parent, name)
    package = root / name
    base = (package / "settings.py").read_text(encoding="utf-8").replace(
        "BASE_DIR = Path(__file__).resolve().parent.parent", "BASE_DIR = Path(__file__).resolve().parent.parent.parent")
    (package / "settings.py").unlink()
    write(package, {
        "settings/__init__.py": "",
        "settings/base.py": base,
        "settings/dev.py": "from .base import *  # noqa: F403\n\nDEBUG = True\n",
        "settings/production.py": ("from .base import *  # noqa: F403\n\nDEBUG = False\n"
                                   "STATIC_ROOT = BASE_DIR / 'static'\n"),
    })
    for script, settings in (("manage.py", "dev"), (f"{name}/wsgi.py", "production")):
        path = root / script
        path.write_text(path.read_text(encoding="utf-8").replace(f"'{name}.settings'", f"'{name}.settings.{settings}'")
                        .replace(f'"{name}.settings"', f'"{name}.settings.{settings}"'), encoding="utf-8")
    write(root, {"Pipfile": '[packages]\ndjango = "~=5.2"\n\n[requires]\npython_version = "3.12"\n'})
    return commit(root)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but git's own, with its bytes: what a refused init must leave unchanged."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and ".git" not in path.relative_to(root).parts and "__pycache__" not in path.parts}
