"""Replace a SQLite database with the one read from stdin.

Usage: sqlite_restore.py DATABASE < upload.sqlite3. The upload is checked first (PRAGMA integrity_check),
then copied in with the backup API: one transaction, so a failure leaves the live database as it was, and
the app's open connections see the new data. Prints ``restored N schema objects``; a failed check exits 1
with "the uploaded file fails SQLite's integrity check: ...".
"""

import os
import sqlite3
import sys
import tempfile
from contextlib import closing

FAILS = "the uploaded file fails SQLite's integrity check: "


def main(argv):
    if len(argv) != 1:
        print("usage: sqlite_restore.py DATABASE < upload", file=sys.stderr)
        return 2
    (database,) = argv
    with tempfile.TemporaryDirectory() as folder:
        upload = os.path.join(folder, "restore.sqlite3")
        with open(upload, "wb") as file:
            file.write(sys.stdin.buffer.read())
        with closing(sqlite3.connect(upload)) as src:
            try:
                ok = src.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as error:  # not a database at all: "file is not a database"
                ok = str(error)
            if ok != "ok":
                print(FAILS + ok, file=sys.stderr)
                return 1
            with closing(sqlite3.connect(database, timeout=30)) as dst:
                src.backup(dst)
            objects = src.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    print("restored", objects, "schema objects")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
