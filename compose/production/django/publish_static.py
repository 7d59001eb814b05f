"""Publish this container's collected static files to the volume nginx serves (start.sh runs it last).

Each container collects into its own /app/staticfiles, which WhiteNoise lists when a gunicorn worker
starts. Nothing else writes there: a worker that restarts (max_requests) while another release boots
never finds a file gone from under it. Had it found one, it would fail to boot, and gunicorn stops the
whole server when a worker fails to boot.

nginx serves the ``static`` volume, mounted here at /srv/static on one server. Files are added or
replaced, each written to a private name and renamed, and never deleted: pages of the release still
serving keep their hashed files while two releases serve. Where no volume is mounted there (a cluster:
the app serves /static/ itself), nothing is published.
"""

import filecmp
import os
import shutil
import sys
from pathlib import Path


def is_mounted(path: Path) -> bool:
    """A mount point of this container (a volume), by /proc/self/mountinfo (a bind mount may share st_dev)."""
    with open("/proc/self/mountinfo") as mounts:
        return any(line.split()[4] == str(path) for line in mounts)


def publish(source: Path, target: Path) -> int:
    """Copy every file of ``source`` that ``target`` lacks or holds different; the count copied."""
    done = 0
    for path in sorted(source.rglob("*")):  # a file before its .gz: nginx's gzip_static checks the file first
        if not path.is_file():
            continue
        published = target / path.relative_to(source)
        if published.is_file() and filecmp.cmp(path, published, shallow=False):
            continue
        published.parent.mkdir(parents=True, exist_ok=True)
        private = published.with_name(f".{published.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, private)
        os.replace(private, published)
        done += 1
    return done


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    if is_mounted(target):
        publish(source, target)
