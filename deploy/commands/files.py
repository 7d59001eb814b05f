"""Files on the server: state, folders and whole-file writes that need no sftp."""

from shlex import quote


def exists(path: str) -> str:
    return f"test -e {quote(path)}"


def dir_state(path: str) -> str:
    """Print '<owner> <octal mode>' of a directory, nothing when it is missing."""
    return f"test -d {quote(path)} && stat -c '%U %a' -- {quote(path)} || true"


def make_dir(path: str, owner: str | None = None, mode: int = 0o755) -> str:
    parts = [f"mkdir -p -- {quote(path)}", f"chmod {mode:o} -- {quote(path)}"]
    if owner:
        parts.append(f"chown {quote(owner)}: -- {quote(path)}")
    return " && ".join(parts)


def read_file(path: str) -> str:
    return f"cat -- {quote(path)} 2>/dev/null"


def write_file(path: str, content: str, mode: int = 0o644) -> str:
    """Replace ``path`` with ``content`` via a private temp file and ``install`` (no sftp needed)."""
    target = quote(path)
    return (
        f'tmp=$(mktemp) && printf %s {quote(content)} > "$tmp" && '
        f'mkdir -p -- "$(dirname -- {target})" && install -m {mode:o} "$tmp" {target}; '
        'rc=$?; rm -f "$tmp"; exit $rc'
    )


def has_text(path: str, text: str) -> str:
    """Exits 0 when ``path`` contains ``text`` (fixed string, not a pattern)."""
    return f"grep -qF {quote(text)} {quote(path)}"


def move(source: str, target: str) -> str:
    return f"mv -- {quote(source)} {quote(target)}"


def chmod(path: str, mode: int) -> str:
    return f"chmod {mode:o} {quote(path)}"
