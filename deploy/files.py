"""Idempotent file steps: change only what differs, and say whether anything changed.

Our own replacement for patchwork (which does not work with Fabric 3); the commands are in
``deploy.commands.files``.
"""

import os
import tempfile

from deploy.commands import files
from deploy.commands.releases import install_env
from deploy.host import Host


def ensure_dir(host: Host, path: str, *, owner: str, mode: int = 0o755, sudo: bool = False) -> bool:
    """Create ``path`` (or fix its owner and mode); False when it was already right."""
    if host.probe(files.dir_state(path)).stdout.split() == [owner, f"{mode:o}"]:
        return False
    (host.sudo if sudo else host.run)(files.make_dir(path, owner if sudo else None, mode))
    return True


def ensure_file(host: Host, path: str, content: str, *, mode: int = 0o644, sudo: bool = False) -> bool:
    """Write ``path`` only when its content differs; False when it already matched."""
    current = host.probe(files.read_file(path))
    if current.ok and current.stdout == content:
        return False
    (host.sudo if sudo else host.run)(files.write_file(path, content, mode))
    return True


def upload_private(host: Host, text: str, target: str) -> None:
    """``text`` into ``target`` (mode 600), whole: written here as 600, uploaded beside it, then moved over it."""
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, os.path.basename(target))
        with open(os.open(local, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
            handle.write(text)
        host.put(local, f"{target}.upload")
        host.run(install_env(f"{target}.upload", target))
