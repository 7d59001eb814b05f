"""Pre-compress collected static files for nginx's gzip_static (start.sh runs it after collectstatic).

Only text types; a .gz is rewritten only when it is missing or older than its file (hashed names never
change, so a second release finds them done). Atomic: written to a private name, then renamed.
"""

import gzip
import os
import sys
from pathlib import Path

SUFFIXES = {".css", ".js", ".svg", ".txt", ".map", ".json", ".xml", ".html"}


def compress(root: Path) -> int:
    done = 0
    for path in root.rglob("*"):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        target = path.with_name(path.name + ".gz")
        if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
            continue
        tmp = path.with_name(f".{path.name}.gz.{os.getpid()}.tmp")
        tmp.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
        os.replace(tmp, target)
        done += 1
    return done


if __name__ == "__main__":
    compress(Path(sys.argv[1] if len(sys.argv) > 1 else "/app/staticfiles"))
