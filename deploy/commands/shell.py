"""Pure builders for remote shell commands: strings in, strings out, no I/O.

Every argument that comes from a user or a path is quoted with ``shlex.quote``.
"""

from shlex import quote


def sudo(command: str) -> str:
    """Run ``command`` as root without ever waiting for a password prompt."""
    return f"sudo -n sh -c {quote(command)}"


def compose(files: list[str], *args: str, v2: bool = True, project: str | None = None) -> str:
    base = "docker compose" if v2 else "docker-compose"
    parts = [base]
    if project:
        parts.append(f"-p {quote(project)}")
    parts += [f"-f {quote(f)}" for f in files]
    return " ".join([*parts, *args])


def detect_compose() -> str:
    """Print 'v2' when the compose plugin answers, 'v1' for docker-compose, nothing when neither does."""
    return (
        "if docker compose version >/dev/null 2>&1; then echo v2; "
        "elif docker-compose version >/dev/null 2>&1; then echo v1; fi"
    )


def take_lock(path: str, holder: str) -> str:
    # mkdir is atomic: the first caller wins, every other one fails
    return f"mkdir {quote(path)} && printf '%s\\n' {quote(holder)} > {quote(path)}/holder"


def read_lock(path: str) -> str:
    return f"cat {quote(path)}/holder 2>/dev/null || true"


def release_lock(path: str) -> str:
    return f"rm -rf {quote(path)}"


def home() -> str:
    return 'printf %s "$HOME"'
