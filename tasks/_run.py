"""The thin layer between the tasks and the builders: where to run, which compose, and how to speak."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from invoke.exceptions import Exit

from deploy.commands import compose as compose_cmd
from deploy.commands import docker
from deploy.errors import DeployError

ROOT = Path(__file__).resolve().parent.parent


class TaskError(Exit):
    """A user's mistake or a missing precondition: invoke prints the one line and exits 1, no traceback."""

    def __init__(self, message: str):
        super().__init__(message, code=1)


@contextmanager
def user_errors():
    """A DeployError from the builders becomes a TaskError with the same one line."""
    try:
        yield
    except DeployError as error:
        raise TaskError(str(error)) from None


@contextmanager
def in_root(c):
    """Run from the repo root whatever directory `inv` was called from (compose files are relative)."""
    with c.cd(str(ROOT)):
        yield


def compose_kind(c) -> str:
    """'v2' or 'v1' (or '' for neither), asked once per run: Debian 12 has only docker-compose v1."""
    kind = c.config.get("_mysite_compose") if hasattr(c.config, "get") else None
    if kind is None:
        found = c.run(compose_cmd.detect(), hide=True, warn=True, in_stream=False)
        kind = compose_cmd.parse_kind(found.stdout)
        c.config["_mysite_compose"] = kind
    return kind


def compose(c, file: str, *args: str, project: str | None = None) -> str:
    """`docker compose ...` or `docker-compose ...`, whichever this machine has; `args` are shell words."""
    return compose_cmd.command(compose_kind(c), [file], *args, project=project)


def engine_available(c) -> bool:
    """True when a Docker engine answers `docker info`."""
    return c.run(docker.server_version(), hide=True, warn=True, in_stream=False).ok


def say(message: str) -> None:
    print(f"inv: {message}", file=sys.stderr, flush=True)
