"""Idempotent file helpers: pure builders (strings) plus small runners that change only what differs.

Every runner returns True when it changed something, so a step can report "changed" or
"already in place". Our own replacement for patchwork, which does not work with Fabric 3.
"""

from shlex import quote

from deploy.remote import Remote

# --- builders -----------------------------------------------------------------------------------

def exists(path: str) -> str:
    return f"test -e {quote(path)}"


def has_line(path: str, line: str) -> str:
    # -x whole line, -F no regex: the line is data, not a pattern
    return f"grep -qxF -- {quote(line)} {quote(path)}"


def append_line(path: str, line: str) -> str:
    """Append ``line`` unless the file already has it (one command, safe to repeat)."""
    return f"{has_line(path, line)} 2>/dev/null || printf '%s\\n' {quote(line)} >> {quote(path)}"


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


def rsync(source: str, destination: str, *, port: int = 22, key_filename: str | None = None,
          excludes: tuple[str, ...] = (), delete: bool = True) -> str:
    """A local rsync over ssh: ``destination`` is ``user@host:path``."""
    ssh = ["ssh", "-p", str(port), *(["-i", key_filename] if key_filename else [])]
    parts = ["rsync", "-az", *(["--delete"] if delete else [])]
    parts += [f"--exclude={quote(pattern)}" for pattern in excludes]
    parts += ["-e", quote(" ".join(quote(word) for word in ssh)), quote(source), quote(destination)]
    return " ".join(parts)


# --- runners ------------------------------------------------------------------------------------

def ensure_line(remote: Remote, path: str, line: str, *, sudo: bool = False) -> bool:
    if remote.probe(has_line(path, line)).ok:
        return False
    (remote.sudo if sudo else remote.run)(append_line(path, line))
    return True


def ensure_dir(remote: Remote, path: str, *, owner: str, mode: int = 0o755, sudo: bool = False) -> bool:
    """Create ``path`` (or fix its owner and mode); False when it was already right."""
    if remote.probe(dir_state(path)).stdout.split() == [owner, f"{mode:o}"]:
        return False
    (remote.sudo if sudo else remote.run)(make_dir(path, owner if sudo else None, mode))
    return True


def ensure_file(remote: Remote, path: str, content: str, *, mode: int = 0o644, sudo: bool = False) -> bool:
    """Write ``path`` only when its content differs; False when it already matched."""
    current = remote.probe(read_file(path))
    if current.ok and current.stdout == content:
        return False
    (remote.sudo if sudo else remote.run)(write_file(path, content, mode))
    return True
