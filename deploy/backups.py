"""The database backup that `fab deploy` takes before every migrate, and `fab backup`/`fab restore` reuse."""

from deploy.commands import backup, docker
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say


def backup_database(host: Host, names: Names, release: str, label: str) -> str:
    """Back up into backups/ with ``release``'s image; return the remote path ('' when there is no database)."""
    if not host.probe(docker.volume_exists(names.volume("database"))).ok:
        say("    no database volume yet (first deploy): nothing to back up")
        return ""
    target = f"{names.backups}/{backup.backup_name(label)}"
    result = host.run(backup.backup(names, release, target), warn=True, timeout=1800)
    if result.exited == backup.NO_DATABASE:
        say("    no SQLite file in the database volume (first deploy, or PostgreSQL): nothing to back up")
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
