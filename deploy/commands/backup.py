"""SQLite backups and restores, in one-off containers of the app image (deploy/scripts/sqlite_*.py).

The backup streams the copy to the host: consistent while the app writes, and no file-ownership
problems between the host and the app's uid 10001.
"""

from datetime import UTC, datetime
from shlex import quote

from deploy.commands.docker import one_off, python
from deploy.names import Names
from deploy.releases import NAME
from deploy.scripts import source

DATABASE = "/app/database/db.sqlite3"
NO_DATABASE = 3  # deploy/scripts/sqlite_backup.py's exit code when there is no SQLite file
SUFFIX = ".sqlite3"


def backup_name(label: str, now: datetime | None = None) -> str:
    if NAME.match(label):
        return f"{label}{SUFFIX}"
    return f"{(now or datetime.now(UTC)).strftime('%Y%m%d%H%M%S')}-{label}{SUFFIX}"


def backup(names: Names, release: str, target: str) -> str:
    """Copy the live database into ``target`` (via ``target.tmp``: a failed copy leaves nothing behind)."""
    tmp = quote(target + ".tmp")
    run = one_off(names, release, python(source("sqlite_backup"), DATABASE))
    return (f"mkdir -p {quote(names.backups)} && {run} > {tmp}; rc=$?; "
            f"if [ $rc -eq 0 ]; then mv {tmp} {quote(target)}; else rm -f {tmp}; fi; exit $rc")


def listing(names: Names) -> str:
    return f"ls -1 {quote(names.backups)}"


def parse_listing(text: str) -> list[str]:
    return sorted(n for n in text.split() if n.endswith(SUFFIX))


def remove(names: Names, files: list[str]) -> str:
    return f"cd {quote(names.backups)} && rm -f -- {' '.join(quote(n) for n in files)}"


def restore(names: Names, release: str, upload: str) -> str:
    """Check the uploaded file, copy it into the live database in one transaction, then remove the upload."""
    run = one_off(names, release, python(source("sqlite_restore"), DATABASE), stdin=True)
    return f"{run} < {quote(upload)}; rc=$?; rm -f {quote(upload)}; exit $rc"


def migrate(names: Names, release: str) -> str:
    return one_off(names, release, "python manage.py migrate --noinput", env_file=names.env_file, network=True)
