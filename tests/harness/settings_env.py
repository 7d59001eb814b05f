"""Running Python in a clean environment, to import the settings as a server would: no DJANGO_, DATABASE_URL or
MYSITE_ variable of the shell the tests run in leaks into it."""

import os
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
