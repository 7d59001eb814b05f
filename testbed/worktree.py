"""What every harness needs from this machine: the code under test, copied or exported, and free ports.

Copies hold the tracked and the untracked-but-not-ignored files of the working tree, so a test sees
work in progress but never `.venv`, caches or a real `.envs/.production`.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PORT_RANGE = (18000, 18999)  # the tests own these on 127.0.0.1 (never 2222)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, exclude=frozenset(), within: tuple[int, int] = PORT_RANGE) -> list[int]:
    """``count`` ports of ``within`` (inclusive) free right now; random order, so parallel runs rarely clash."""
    candidates = list(range(within[0], within[1] + 1))
    random.shuffle(candidates)
    found = [p for p in candidates if p not in exclude and port_free(p)][:count]
    if len(found) < count:
        raise RuntimeError(f"not enough free ports in 127.0.0.1:{within[0]}-{within[1]}")
    return found


def free_port(exclude=(), within: tuple[int, int] = PORT_RANGE) -> int:
    return free_ports(1, frozenset(exclude), within)[0]


def worktree_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    return [name.decode() for name in listed if name and (REPO / name.decode()).is_file()]


def copy_worktree(dest: Path) -> Path:
    """The working tree's files (tracked + untracked, not ignored) copied into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in worktree_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest / name)
    return dest


def export_commit(ref: str, dest: Path) -> Path:
    """The files of commit ``ref`` (git archive) in ``dest``: no one's uncommitted work."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest
