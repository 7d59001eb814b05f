"""The deploy lock: one atomic ``mkdir`` on the server, released on every way out of a deploy."""

import getpass
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from shlex import quote

from deploy import commands
from deploy.errors import DeployError
from deploy.output import say
from deploy.remote import Remote


def who() -> str:
    """``user@laptop`` of the person deploying (for the lock and the audit log)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def holder(sha: str, action: str = "deploy", now: datetime | None = None) -> str:
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{action} by {who()}, {when}, {sha[:7]}"


def take(app_dir: str, path: str, text: str) -> str:
    # the app folder may not exist before the first deploy; the lock itself stays one atomic mkdir
    return f"mkdir -p {quote(app_dir)} && {commands.take_lock(path, text)}"


def acquire(remote: Remote, app_dir: str, path: str, text: str) -> None:
    result = remote.run(take(app_dir, path, text), warn=True)
    if result.ok:
        return
    if not remote.ok(f"test -d {quote(path)}"):
        raise DeployError(f"cannot create the deploy lock {path}: {result.stderr.strip() or 'mkdir failed'}; "
                          "check that the deploy user owns the app folder (run fab bootstrap)")
    current = remote.output(commands.read_lock(path)) or "unknown (the lock was just taken)"
    raise DeployError(f"another deploy holds the lock on {remote.name} ({current}): wait for it to finish, "
                      "or run `fab unlock` if that deploy is no longer running")


@contextmanager
def held(remote: Remote, app_dir: str, path: str, text: str) -> Iterator[None]:
    """Hold the lock for the block; release it however the block ends (errors, Ctrl-C included)."""
    acquire(remote, app_dir, path, text)
    try:
        yield
    finally:
        release(remote, path)


def release(remote: Remote, path: str) -> None:
    try:
        remote.run(commands.release_lock(path), warn=True)
    except DeployError as error:  # the connection is gone: say so, never hide the original failure
        say(f"  ! could not remove the deploy lock ({error}); run `fab unlock` once the server answers")


def unlock(remote: Remote, path: str) -> str:
    """Remove the lock; return who held it ('' when there was none)."""
    current = remote.output(commands.read_lock(path))
    if not remote.ok(f"test -d {quote(path)}"):
        return ""
    remote.run(commands.release_lock(path))
    return current or "unknown holder"
