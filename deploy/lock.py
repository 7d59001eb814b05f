"""The deploy lock: taken before anything on the server changes, released on every way out.

Every task that changes the server holds it with ``held``; the commands are in ``deploy.commands.lock``.
"""

import getpass
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from deploy.commands import lock as commands
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step


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


def acquire(host: Host, names: Names, text: str) -> None:
    result = host.run(commands.take(names.root, names.lock, text), warn=True)
    if result.ok:
        return
    if not host.ok(commands.is_held(names.lock)):
        raise DeployError(f"cannot create the deploy lock {names.lock}: {result.stderr.strip() or 'mkdir failed'}; "
                          "check that the deploy user owns the app folder (run fab bootstrap)")
    current = host.output(commands.read_lock(names.lock)) or "unknown (the lock was just taken)"
    raise DeployError(f"another deploy holds the lock on {host.name} ({current}): wait for it to finish, "
                      "or run `fab unlock` if that deploy is no longer running")


@contextmanager
def held(host: Host, names: Names, text: str) -> Iterator[None]:
    """Hold the lock for the block; release it however the block ends (errors, Ctrl-C included)."""
    with step(f"lock {names.lock}"):
        acquire(host, names, text)
    try:
        yield
    finally:
        release(host, names)


def release(host: Host, names: Names) -> None:
    try:
        host.run(commands.release_lock(names.lock), warn=True)
    except DeployError as error:  # the connection is gone: say so, never hide the original failure
        say(f"  ! could not remove the deploy lock ({error}); run `fab unlock` once the server answers")


def unlock(host: Host, names: Names) -> str:
    """Remove the lock; return who held it ('' when there was none)."""
    current = host.output(commands.read_lock(names.lock))
    if not host.ok(commands.is_held(names.lock)):
        return ""
    host.run(commands.release_lock(names.lock))
    return current or "unknown holder"
