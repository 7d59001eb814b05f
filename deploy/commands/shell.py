"""The smallest builders: root without a prompt, the user's home, tests on paths."""

from shlex import quote


def sh(command: str) -> str:
    """``command`` as one argument of ``sh -c`` (for sudo, which runs one program)."""
    return f"sh -c {quote(command)}"


def sudo(command: str) -> str:
    """Run ``command`` as root without ever waiting for a password prompt."""
    return f"sudo -n {sh(command)}"


def home() -> str:
    return 'printf %s "$HOME"'


def is_dir(path: str) -> str:
    return f"test -d {quote(path)}"


def is_file(path: str) -> str:
    return f"test -f {quote(path)}"


def make_folder(path: str) -> str:
    return f"mkdir -p {quote(path)}"


def wait(seconds: int) -> str:
    return f"sleep {int(seconds)}"


def disk_usage(path: str) -> str:
    """``df -h`` of the folder, or of the home when it does not exist yet."""
    return f"df -h {quote(path)} 2>/dev/null || df -h ~"


def tail(path: str, lines: int) -> str:
    return f"tail -n {int(lines)} {quote(path)} 2>/dev/null"
