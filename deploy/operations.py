"""Day-two tasks: releases, status, logs, manage, backup, restore, verify-backup, unlock, audit."""

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from deploy import backup_target, checks, lock, preparation, releases, replication
from deploy.backups import (
    BACKUPS,
    HEADERS,
    SUFFIXES,
    backup_database,
    download,
    file_kind,
    restore_command,
    server_database,
)
from deploy.commands import backup, docker, shell, warm
from deploy.commands import lock as lock_commands
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import confirmed, say, step
from deploy.preflight import docker_ready


def _current(host: Host, names: Names) -> str:
    current = releases.parse_current(host.probe(commands.read_current(names)).stdout)
    if not current and not host.dry_run:
        raise DeployError(f"nothing is deployed on {host.name} yet: run `fab deploy` first")
    return current or "CURRENT"


def _app_container(host: Host, names: Names) -> str:
    found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
    running = [name for name, up in found.items() if up]
    wanted = names.container(_current(host, names))
    if wanted in running or host.dry_run:
        return wanted
    if running:
        return running[0]
    raise DeployError(f"no app container is running on {host.name}: run `fab status`, then `fab deploy`")


def show_releases(host: Host, config: DeployConfig) -> list[str]:
    names = Names.of(config, host.home)
    found = releases.parse_listing(host.probe(commands.listing(names)).stdout)
    current = releases.parse_current(host.probe(commands.read_current(names)).stdout)
    images = set(host.probe(commands.image_tags(names)).stdout.split())
    if not found:
        say("no releases yet: run `fab deploy`")
    for name in found:
        say(f"{'*' if name == current else ' '} {name}{'' if name in images else '  (image gone)'}")
    return found


def status(host: Host, config: DeployConfig) -> None:
    names = Names.of(config, host.home)
    say(f"current release: {releases.parse_current(host.probe(commands.read_current(names)).stdout) or 'none'}")
    say(host.probe(docker.containers_table(names.project)).stdout.rstrip())
    for name, started in warm.parse(host.probe(warm.listing(names.project)).stdout).items():
        say(f"warm: {name} (out of traffic; `fab rollback` to its release uses it), {warm_until(started, config)}")
    say(host.probe(shell.disk_usage(names.root)).stdout.rstrip())
    held = host.probe(lock_commands.holder(names.lock)).stdout.strip()
    if held:
        say(f"deploy lock held: {held}")
    if config.backup.target:
        for line in replication.status(host, names, backup_target.parse(config.backup.target)):
            say(line)


def warm_until(started: str, config: DeployConfig, now: datetime | None = None) -> str:
    """When the server removes a warm container: keep_warm (this laptop's setting) after it started."""
    try:
        since = datetime.strptime(started[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return f"removed {config.keep_warm}s after it started"
    left = since.timestamp() + config.keep_warm - (now or datetime.now(UTC)).timestamp()
    until = datetime.fromtimestamp(since.timestamp() + config.keep_warm, UTC).strftime("%H:%M:%S UTC")
    return f"removed at about {until} (in {max(0, int(left))}s, keep_warm {config.keep_warm}s)"


APP_SERVICES = checks.APP_SERVICES


def service(name: str) -> str:
    """The service `fab logs --service` names, checked before anything connects."""
    if name not in (*APP_SERVICES, "nginx"):
        raise DeployError(f"unknown service {checks.shown(name)}: use app or nginx")
    return name


def logs(host: Host, config: DeployConfig, follow: bool = False, service: str = "app", lines: int = 100) -> None:
    """``service``: checked by ``service()``."""
    names = Names.of(config, host.home)
    if service in APP_SERVICES:
        name = _app_container(host, names)
    else:
        name = host.probe(docker.nginx_container(names.project)).stdout.strip().split("\n")[0]
        if not name and not host.dry_run:
            raise DeployError("nginx is not running: run `fab status`, then `fab deploy`")
    # a pty on a terminal: Ctrl-C then also ends `docker logs -f` on the server
    host.run(docker.logs(name or "NGINX", lines, follow), hide=False, pty=follow and sys.stdin.isatty())


def manage(host: Host, config: DeployConfig, words: list[str]) -> None:
    """``words``: the manage.py command line, split by ``checks.manage_command`` before connecting.

    Under the deploy lock: manage.py writes to the database directly, past the read-only mode of a
    database move, so it waits for no one and is refused while a deploy, a move or a restore runs.
    """
    names = Names.of(config, host.home)
    name = _app_container(host, names)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    with lock.held(host, names, lock.holder("manage", action="manage")):
        result = host.run(docker.manage(name, words, tty), hide=False, pty=tty, warn=True)
    if result.failed:
        raise DeployError(f"manage.py {' '.join(words)} failed (exit {result.exited}) in {name}: "
                          "see its output above")


def backup_output(output: str | None) -> Path | None:
    """Where ``fab backup`` saves the file, checked before anything connects (None: the default in backups/)."""
    if output is not None:
        return checks.new_file(output, "--output")
    if BACKUPS.exists() and not BACKUPS.is_dir():
        raise DeployError(f"{str(BACKUPS)!r} is a file, and backups are saved in a folder of that name: move the "
                          "file, or pass --output FILE")
    return None


def download_backup(host: Host, config: DeployConfig, output: Path | None = None) -> Path:
    """Take a backup on the server and download it to ``output`` (checked by ``backup_output``)."""
    names = Names.of(config, host.home)
    with step("take a fresh database backup on the server"):
        target = backup_database(host, names, _current(host, names), label="manual")
    if not target:
        raise DeployError("there is no database to back up on this server yet (the first deploy makes it)")
    suffix = Path(target).suffix
    local = output or BACKUPS / f"{host.conn.host}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}{suffix}"
    download(host, target, local, folder=BACKUPS if output is None else None)
    return local


def backup_file(file: str, yes: bool = False) -> Path:
    """The backup ``fab restore`` uploads, and whether it may ask first: settled before anything connects."""
    hint = "give the file a `fab backup` saved (backups/<host>-<time>.sqlite3 or .pgdump)"
    data = checks.existing_file(file, "the backup file", hint)
    try:
        with data.open("rb") as handle:
            header = handle.read(max(len(magic) for magic in HEADERS.values()))
    except OSError as error:
        raise DeployError(f"cannot read {checks.shown(file)} ({error.strerror}): {hint}") from None
    if not file_kind(header):
        raise DeployError(f"{checks.shown(file)} is not a SQLite database file nor a PostgreSQL dump: pass a "
                          "backup made by `fab backup`")
    if not yes and not sys.stdin.isatty():
        raise DeployError("restore asks before it replaces the database, and there is no terminal to ask on: "
                          "pass --yes to restore without asking")
    return data


def restore(host: Host, config: DeployConfig, data: Path, yes: bool = False) -> None:
    """Restore ``data`` (checked by ``backup_file``), asking first unless ``yes``."""
    file = str(data)
    if not yes and not confirmed(f"Replace the database on {host.name} with {file}? [y/N] "):
        raise DeployError("restore cancelled: nothing was changed")
    names = Names.of(config, host.home)
    current = _current(host, names)
    database = server_database(host, names)
    with Path(data).open("rb") as handle:
        kind = file_kind(handle.read(16))
    if kind != database:
        raise DeployError(f"{file} is a {kind} backup but {host.name} runs on {database}: restore a backup that "
                          f"`fab backup` took of this server's {database} database")
    with lock.held(host, names, lock.holder("restore", action="restore")):
        with step("keep a backup of the database being replaced"):
            kept = backup_database(host, names, current, label="before-restore", database=database)
        upload = f"{names.backups}/.restore-{os.getpid()}{SUFFIXES[database]}"
        with step(f"restore {file}" + (f" (the replaced one is kept as {kept})" if kept else "")):
            host.put(str(data), upload)
            host.run(restore_command(names, current, upload, database), timeout=1800,
                     what="the restore failed; the live database is unchanged")
        with step("migrate the restored database to the current release"):
            host.run(backup.migrate(names, current), timeout=1800)


def verify_backup(host: Host, config: DeployConfig, at: datetime | None = None) -> None:
    """`fab verify-backup [--at]`: the target's copy restored on the server into a scratch file and checked; the
    live database is only read, so the site serves on and nothing takes the deploy lock."""
    if not config.backup.target:
        raise DeployError("fab verify-backup checks `backup: target:` in fabric.yaml, and none is set")
    names = Names.of(config, host.home)
    current = _current(host, names)
    _, env = preparation.local_env(config)
    copies = replication.settings(config, env)
    kind = docker_ready(host)
    replication.require_sqlite(host, names)
    files = replication.check_target(host, names, current, kind, copies, fresh=False)
    replication.pick_time(at, files, copies.target)
    report = replication.verify(host, names, current, kind, at)
    tables, rows = report["restored"]
    live = report["live"]
    say(f"the backup target's copy restores and passes SQLite's integrity check: {tables} tables, {rows} rows"
        + (f" (the live database: {live[0]} tables, {live[1]} rows)" if live else " (no live database here)"))


def unlock(host: Host, config: DeployConfig) -> None:
    holder = lock.unlock(host, Names.of(config, host.home))
    say(f"removed the deploy lock held by: {holder}" if holder else "there was no deploy lock")


def audit(host: Host, config: DeployConfig, lines: int = 20) -> None:
    names = Names.of(config, host.home)
    say(host.probe(shell.tail(names.audit, lines)).stdout.rstrip() or "no deploys yet")
