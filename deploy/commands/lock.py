"""The deploy lock: one atomic ``mkdir`` that names its holder."""

from shlex import quote

from deploy.commands.shell import is_dir


def take_lock(path: str, holder: str) -> str:
    # mkdir is atomic: the first caller wins, every other one fails
    return f"mkdir {quote(path)} && printf '%s\\n' {quote(holder)} > {quote(path)}/holder"


def take(root: str, path: str, holder: str) -> str:
    # the app folder may not exist before the first deploy; the lock itself stays one atomic mkdir
    return f"mkdir -p {quote(root)} && {take_lock(path, holder)}"


def read_lock(path: str) -> str:
    return f"cat {quote(path)}/holder 2>/dev/null || true"


def holder(path: str) -> str:
    """The holder's line; nothing (and a non-zero exit) when no lock is held."""
    return f"cat {quote(path)}/holder 2>/dev/null"


def release_lock(path: str) -> str:
    return f"rm -rf {quote(path)}"


def is_held(path: str) -> str:
    return is_dir(path)
