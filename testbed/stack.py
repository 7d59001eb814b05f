"""A compose project (production.yml or local.yml) in a copy of the code: the e2e stacks and the benchmark's.

Every command is `<compose> -p PROJECT -f FILE ARGS` from deploy.commands.compose, run in the copy with
the classic builder (docs/TESTING.md) and the stack's variables.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.commands import compose


def compose_kind() -> str:
    """'v2', 'v1' or '' (neither) on this machine: ``compose.detect()`` run through sh."""
    done = subprocess.run(["sh", "-c", compose.detect()], capture_output=True, text=True)
    return compose.parse_kind(done.stdout)


def compose_argv(kind: str, file: str | tuple[str, ...], *args: str, project: str | None = None) -> list[str]:
    """``compose.command()`` as an argv; each of ``args`` stays one word. ``file``: one compose file, or several
    (a file and its overrides, merged in that order)."""
    files = [file] if isinstance(file, str) else list(file)
    return shlex.split(compose.command(kind, files, *map(shlex.quote, args), project=project))


@dataclass
class Stack:
    """One compose project in ``src``, driven with compose ``kind`` ('v2' or 'v1') and ``env``."""

    kind: str
    src: Path
    file: str | tuple[str, ...]  # production.yml, or it and override files
    project: str
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    failure = AssertionError  # what a failed command raises (the benchmark raises its own error)
    timeout = 900.0

    def compose(self, *args: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
        argv = compose_argv(self.kind, self.file, *args, project=self.project)
        done = subprocess.run(
            argv,
            cwd=self.src,
            env={**os.environ, **compose.BUILD_ENV, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
        )
        if check and done.returncode != 0:
            raise self.failure(f"{shlex.join(argv)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return done

    def timed(self, *args: str) -> tuple[float, subprocess.CompletedProcess]:
        start = time.monotonic()
        done = self.compose(*args)
        return time.monotonic() - start, done

    def container(self, service: str) -> str:
        cid = self.compose("ps", "-q", service).stdout.strip()
        if not cid:
            raise self.failure(f"no container for {service} in {self.project}")
        return cid.splitlines()[0]

    def down(self, timeout: float = 300) -> None:
        """Remove the project's containers, volumes and network (also what a killed run left behind)."""
        self.compose(*shlex.split(compose.EVERY_PROFILE), "down", "--volumes", "--remove-orphans", check=False,
                     timeout=timeout)
