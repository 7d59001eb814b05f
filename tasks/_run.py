"""The thin layer between tasks and the builders in `_compose`: where to run, and how to speak."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from . import _compose as cmd

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def in_root(c):
    """Run from the repo root whatever directory `inv` was called from (compose files are relative)."""
    with c.cd(str(ROOT)):
        yield


def compose(c, file: str, *args: str, project: str | None = None) -> str:
    """`docker compose ...` or `docker-compose ...`, whichever this machine has (asked once per run)."""
    base = c.config.get("_mysite_compose") if hasattr(c.config, "get") else None
    if not base:
        base = cmd.compose_command(c)
        c.config["_mysite_compose"] = base
    return cmd.compose(base, file, *args, project=project)


def say(message: str) -> None:
    print(f"inv: {message}", file=sys.stderr, flush=True)
