"""Running Python in a clean environment, to import the settings as a server would: no DJANGO_, DATABASE_URL or
MYSITE_ variable of the shell the tests run in leaks into it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3J9x!vQ2#pL8zR@w5mN7^tY1&bC4eF6gH0jK-sD_uA+oI=qW9lP2xZ8cV5bN3mM"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "MYSITE_"))}
    env.update(extra)
    return env


def run_python(code, cwd=REPO, **env):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=120
    )


def copy_app(root: Path) -> Path:
    """A copy of what the app image holds (.dockerignore): the project, and of the deploy toolkit its Django app."""
    for name in ("mysite", "blog", "templates", "deploy/djangoapp"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "deploy/__init__.py", root / "deploy/__init__.py")
    shutil.copy(REPO / "manage.py", root / "manage.py")
    return root
