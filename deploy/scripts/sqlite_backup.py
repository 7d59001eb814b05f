"""Consistent copy of a live SQLite database, written to stdout.

Usage: sqlite_backup.py DATABASE. Exits NO_DATABASE (3) with no output when DATABASE does not exist
(first deploy, or PostgreSQL). Otherwise copies it with SQLite's backup API, which is safe while the
app writes, into a private temporary file, and writes that file's bytes to stdout.
"""

import os
import sqlite3
import sys
import tempfile
from contextlib import closing

NO_DATABASE = 3  # exit code when there is no database file


def main(argv):
    if len(argv) != 1:
        print("usage: sqlite_backup.py DATABASE", file=sys.stderr)
        return 2
    (database,) = argv
    if not os.path.exists(database):
        return NO_DATABASE
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, "backup.sqlite3")
        with closing(sqlite3.connect(database)) as src, closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)
        with open(copy, "rb") as file:
            data = file.read()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
