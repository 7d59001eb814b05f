"""Check a database restored from the backup target, and compare it with the live one (read only).

Usage: sqlite_verify.py RESTORED LIVE. Prints one JSON line: SQLite's integrity check of the restored copy, and
for both databases the number of tables and of rows (``live`` is null when there is no live database). Exit 1
when the copy fails the check. Nothing is written to either database.
"""

import json
import os
import sqlite3
import sys
from contextlib import closing


def counts(path):
    """(tables, rows) of the database at ``path``: every table but SQLite's own."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        # a table name from sqlite_master, quoted as an identifier ("" inside): not a value of anyone's
        rows = sum(db.execute('SELECT count(*) FROM "{}"'.format(name.replace('"', '""'))).fetchone()[0]  # noqa: S608
                   for name in tables)
    return len(tables), rows


def main(argv):
    if len(argv) != 2:
        print("usage: sqlite_verify.py RESTORED LIVE", file=sys.stderr)
        return 2
    restored, live = argv
    try:
        with closing(sqlite3.connect(f"file:{restored}?mode=ro", uri=True)) as db:
            check = db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as error:  # not a database at all
        check = str(error)
    report = {"integrity": check, "restored": counts(restored) if check == "ok" else None,
              "live": counts(live) if os.path.exists(live) else None}
    print(json.dumps(report))
    return 0 if check == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
