"""The database backup that `fab deploy` takes before every migrate, and `fab backup`/`fab restore` reuse.

SQLite or PostgreSQL, whichever the server's env file names (DATABASE_URL), with the same promises:
a backup is whole or absent, only the last `keep_backups` are kept, and a restore is all or nothing.
"""

import os
from pathlib import Path

from deploy import releases
from deploy.commands import backup, docker
from deploy.commands import releases as commands
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step

SQLITE, POSTGRES = "sqlite", "postgres"
HEADERS = {SQLITE: b"SQLite format 3\x00", POSTGRES: b"PGDMP"}  # the first bytes of each kind of backup file
SUFFIXES = {SQLITE: backup.SUFFIX, POSTGRES: backup.PG_SUFFIX}
BACKUPS = Path("backups")  # here, where `fab backup` and `fab swarm.backup` save by default


def file_kind(header: bytes) -> str:
    """SQLITE or POSTGRES for a backup file that starts with ``header``; '' for anything else."""
    return next((kind for kind, magic in HEADERS.items() if header.startswith(magic)), "")


def server_database(host: Host, names: Names) -> str:
    """What the server's app uses, from its env file: POSTGRES when DATABASE_URL is set, else SQLITE."""
    url = host.probe(commands.env_value(names.env_file, "DATABASE_URL")).stdout.strip()
    return POSTGRES if url else SQLITE


def backup_database(host: Host, names: Names, release: str, label: str, database: str | None = None) -> str:
    """Back up into backups/; return the remote path ('' when there is nothing to back up yet)."""
    database = database or server_database(host, names)
    target = f"{names.backups}/{backup.backup_name(label, releases.stamp(), suffix=SUFFIXES[database])}"
    if database == POSTGRES:
        result = host.run(backup.pg_dump(names, target), warn=True, timeout=1800)
    elif not host.probe(docker.volume_exists(names.volume("database"))).ok:
        say("    no database volume yet (first deploy): nothing to back up")
        return ""
    else:
        result = host.run(backup.backup(names, release, target), warn=True, timeout=1800)
        if result.exited == backup.NO_DATABASE:
            say("    no SQLite file in the database volume (first deploy): nothing to back up")
            return ""
    if result.failed:
        raise DeployError(f"the database backup failed ({(result.stderr.strip().splitlines() or ['?'])[-1]}); "
                          "nothing was changed: check `fab status` and the disk space")
    say(f"    {target}")
    kept = backup.parse_listing(host.probe(backup.listing(names)).stdout)
    old = kept[: max(len(kept) - names.config.keep_backups, 0)]
    if old:
        host.run(backup.remove(names, old))
    return target


def restore_command(names: Names, release: str, upload: str, database: str) -> str:
    if database == POSTGRES:
        return backup.pg_restore(names, upload)
    return backup.restore(names, release, upload)


def download(host: Host, target: str, local: str | Path, *, folder: Path | None = None) -> None:
    """The backup ``target`` into ``local`` here, for this user's eyes only (it is the whole database): ``folder``
    (the default one, when the user named no file) made 700, and the file created 600 before it fills."""
    with step(f"download it to {local}"):
        if folder is not None:
            folder.mkdir(mode=0o700, exist_ok=True)
            folder.chmod(0o700)
        if not host.dry_run:  # created 600 first: never readable by others, not even while it fills
            os.close(os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.chmod(local, 0o600)
        host.get(target, str(local))
