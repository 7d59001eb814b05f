"""The thin layer for commands on this machine (the laptop): the same builders, run by ``sh -c`` here.

A failure becomes one DeployError line with the tail of the output; a dry run only prints.
"""

import os
import subprocess

from deploy.errors import DeployError, RemoteCommandFailed
from deploy.output import say


class Local:
    """This machine. ``run`` raises ``DeployError`` with one line; ``dry_run`` only prints."""

    name = "this machine"

    def __init__(self, *, dry_run: bool = False, cwd: str | None = None, env: dict[str, str] | None = None):
        self.dry_run = dry_run
        self.cwd = cwd
        self.env = env

    def run(self, command: str, *, what: str | None = None, timeout: float | None = None,
            env: dict[str, str] | None = None, cwd: str | None = None) -> str:
        if self.dry_run:
            say(f"    [dry-run, here] {command}")
            return ""
        done = self._sh(command, timeout=timeout, env=env, cwd=cwd)
        if done.returncode != 0:
            raise RemoteCommandFailed(command, done.returncode, done.stdout + done.stderr,
                                      what or f"command failed here (exit {done.returncode}): {command}")
        return done.stdout

    def probe(self, command: str, cwd: str | None = None) -> subprocess.CompletedProcess:
        """A read-only command, run even in a dry run; never raises for a non-zero exit."""
        return self._sh(command, cwd=cwd)

    def _sh(self, command: str, *, timeout: float | None = None, env: dict[str, str] | None = None,
            cwd: str | None = None) -> subprocess.CompletedProcess:
        environ = {**os.environ, **(self.env or {}), **(env or {})}
        try:
            return subprocess.run(["sh", "-c", command], cwd=cwd or self.cwd, env=environ, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise DeployError(f"`{command}` did not finish here within {timeout:.0f}s") from None
