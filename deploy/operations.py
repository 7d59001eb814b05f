"""Day-two tasks: releases, status, logs, manage, backup, restore, unlock, audit.

Backups use SQLite's backup API inside a one-off container of the app image, streamed to the host:
consistent while the app writes, and no file-ownership problems between the host and uid 10001.
"""

import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from shlex import quote

from deploy import lock
from deploy import releases as rel
from deploy import switch as sw
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.output import say, step
from deploy.releases import Paths
from deploy.remote import Remote

DB = "/app/database/db.sqlite3"
NO_DATABASE = 3  # exit code of BACKUP when there is no SQLite file (first deploy, or PostgreSQL)

BACKUP = f"""\
import os, sqlite3, sys
if not os.path.exists({DB!r}): sys.exit({NO_DATABASE})
src, dst = sqlite3.connect({DB!r}), sqlite3.connect("/tmp/backup.sqlite3")
src.backup(dst); dst.close()
sys.stdout.buffer.write(open("/tmp/backup.sqlite3", "rb").read())
"""

# The upload is checked first, then copied in with the backup API: one transaction, so a failure
# leaves the live database as it was, and the app's open connections see the new data.
RESTORE = f"""\
import sqlite3, sys
open("/tmp/restore.sqlite3", "wb").write(sys.stdin.buffer.read())
src = sqlite3.connect("/tmp/restore.sqlite3")
ok = src.execute("PRAGMA integrity_check").fetchone()[0]
if ok != "ok": sys.exit("the uploaded file fails SQLite's integrity check: " + ok)
dst = sqlite3.connect({DB!r}, timeout=30)
src.backup(dst); dst.close()
print("restored", src.execute("SELECT count(*) FROM sqlite_master").fetchone()[0], "schema objects")
"""  # noqa: S608 - a script, no SQL built from input


def one_off(project: str, release: str, env_file: str | None, command: str, *, network: bool = False,
            stdin: bool = False) -> str:
    """``docker run --rm`` of the release's app image with the database (and media) volumes."""
    parts = ["docker run --rm"]
    if stdin:
        parts.append("-i")
    parts.append(f"--network {sw.network(project)}" if network else "--network none")
    if env_file:
        parts.append(f"--env-file {quote(env_file)}")
    parts += [f"-v {sw.volume(project, 'database')}:/app/database", f"-v {sw.volume(project, 'media')}:/app/media",
              rel.app_image(release), command]
    return " ".join(parts)


def backup_command(project: str, release: str, target: str) -> str:
    tmp = quote(target + ".tmp")
    run = one_off(project, release, None, f"python -c {quote(BACKUP)}")
    return f"{run} > {tmp}; rc=$?; if [ $rc -eq 0 ]; then mv {tmp} {quote(target)}; else rm -f {tmp}; fi; exit $rc"


def backup_name(label: str, now: datetime | None = None) -> str:
    if rel.NAME.match(label):
        return f"{label}.sqlite3"
    return f"{(now or datetime.now(UTC)).strftime('%Y%m%d%H%M%S')}-{label}.sqlite3"


def backup_database(remote: Remote, config: DeployConfig, paths: Paths, release: str, label: str) -> str:
    """Back up into backups/ with ``release``'s image; return the remote path ('' when there is no database)."""
    if not remote.probe(f"docker volume inspect {sw.volume(config.project, 'database')} >/dev/null 2>&1").ok:
        say("    no database volume yet (first deploy): nothing to back up")
        return ""
    target = f"{paths.backups}/{backup_name(label)}"
    result = remote.run(f"mkdir -p {quote(paths.backups)} && " + backup_command(config.project, release, target),
                        warn=True, timeout=1800)
    if result.exited == NO_DATABASE:
        say("    no SQLite file in the database volume (first deploy, or PostgreSQL): nothing to back up")
        return ""
    if result.failed:
        raise DeployError(f"the database backup failed ({(result.stderr.strip().splitlines() or ['?'])[-1]}); "
                          "nothing was changed: check `fab status` and the disk space")
    say(f"    {target}")
    names = sorted(n for n in remote.probe(f"ls -1 {quote(paths.backups)}").stdout.split() if n.endswith(".sqlite3"))
    old = names[: max(len(names) - config.keep_backups, 0)]
    if old:
        remote.run(f"cd {quote(paths.backups)} && rm -f -- {' '.join(quote(n) for n in old)}")
    return target


def _current(remote: Remote, paths: Paths) -> str:
    current = rel.parse_current(remote.probe(rel.read_current(paths)).stdout)
    if not current and not remote.dry_run:
        raise DeployError(f"nothing is deployed on {remote.name} yet: run `fab deploy` first")
    return current or "CURRENT"


def _app_container(remote: Remote, config: DeployConfig, paths: Paths) -> str:
    running = [n for n, up in sw.parse_containers(remote.probe(sw.app_containers(config.project)).stdout).items()
               if up]
    wanted = sw.container(config.project, _current(remote, paths))
    if wanted in running or remote.dry_run:
        return wanted
    if running:
        return running[0]
    raise DeployError(f"no app container is running on {remote.name}: run `fab status`, then `fab deploy`")


def releases(remote: Remote, config: DeployConfig) -> list[str]:
    paths = Paths.of(remote.home, config)
    names = rel.parse_listing(remote.probe(rel.listing(paths)).stdout)
    current = rel.parse_current(remote.probe(rel.read_current(paths)).stdout)
    images = set(remote.probe(rel.image_tags()).stdout.split())
    if not names:
        say("no releases yet: run `fab deploy`")
    for name in names:
        say(f"{'*' if name == current else ' '} {name}{'' if name in images else '  (image gone)'}")
    return names


def status(remote: Remote, config: DeployConfig) -> None:
    paths = Paths.of(remote.home, config)
    say(f"current release: {rel.parse_current(remote.probe(rel.read_current(paths)).stdout) or 'none'}")
    fmt = "--format 'table {{.Names}}\\t{{.Status}}\\t{{.Image}}'"
    say(remote.probe(f"docker ps -a --filter label=mysite.project={config.project} {fmt}; "
                     f"docker ps -a --filter label=com.docker.compose.project={config.project} {fmt} | tail -n +2"
                     ).stdout.rstrip())
    say(remote.probe(f"df -h {quote(paths.app)} 2>/dev/null || df -h ~").stdout.rstrip())
    held = remote.probe(f"cat {quote(paths.lock)}/holder 2>/dev/null").stdout.strip()
    if held:
        say(f"deploy lock held: {held}")


def logs(remote: Remote, config: DeployConfig, follow: bool = False, service: str = "mysite",
         lines: int = 100) -> None:
    paths = Paths.of(remote.home, config)
    if service in ("mysite", "app", "django"):
        name = _app_container(remote, config, paths)
    elif service == "nginx":
        name = remote.probe(sw.nginx_container(config.project)).stdout.strip().split("\n")[0]
        if not name and not remote.dry_run:
            raise DeployError("nginx is not running: run `fab status`, then `fab deploy`")
    else:
        raise DeployError(f"unknown service {service!r}: use mysite (the app) or nginx")
    # a pty on a terminal: Ctrl-C then also ends `docker logs -f` on the server
    remote.run(f"docker logs --tail {int(lines)}{' -f' if follow else ''} {name or 'NGINX'}", hide=False,
               pty=follow and sys.stdin.isatty())


def manage(remote: Remote, config: DeployConfig, command: str) -> None:
    paths = Paths.of(remote.home, config)
    name = _app_container(remote, config, paths)
    args = " ".join(quote(a) for a in shlex.split(command))
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    result = remote.run(f"docker exec{' -it' if tty else ''} {name} python manage.py {args}", hide=False, pty=tty,
                        warn=True)
    if result.failed:
        raise DeployError(f"manage.py {command} failed (exit {result.exited}) in {name}: see its output above")


def backup(remote: Remote, config: DeployConfig, output: str | None = None) -> str:
    paths = Paths.of(remote.home, config)
    with step("take a fresh database backup on the server"):
        target = backup_database(remote, config, paths, _current(remote, paths), label="manual")
    if not target:
        raise DeployError("there is no SQLite database to back up on this server")
    local = output or f"backups/{remote.conn.host}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}.sqlite3"
    with step(f"download it to {local}"):
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        remote.get(target, local)
    return local


def restore(remote: Remote, config: DeployConfig, file: str, yes: bool = False) -> None:
    data = Path(file)
    if not data.is_file() or data.read_bytes()[:16] != b"SQLite format 3\x00":
        raise DeployError(f"{file} is not a SQLite database file: pass a backup made by `fab backup`")
    if not yes and input(f"Replace the database on {remote.name} with {file}? [y/N] ").strip().lower() != "y":
        raise DeployError("restore cancelled: nothing was changed")
    paths = Paths.of(remote.home, config)
    current = _current(remote, paths)
    with step(f"lock {paths.lock}"):
        lock.acquire(remote, paths.app, paths.lock, lock.holder("restore", action="restore"))
    try:
        with step("keep a backup of the database being replaced"):
            kept = backup_database(remote, config, paths, current, label="before-restore")
        upload = f"{paths.backups}/.restore-{os.getpid()}.sqlite3"
        with step(f"restore {file}" + (f" (the replaced one is kept as {kept})" if kept else "")):
            remote.put(str(data), upload)
            restore_cmd = one_off(config.project, current, None, f"python -c {quote(RESTORE)}", stdin=True)
            remote.run(f"{restore_cmd} < {quote(upload)}; rc=$?; rm -f {quote(upload)}; exit $rc", timeout=1800,
                       what="the restore failed; the live database is unchanged")
        with step("migrate the restored database to the current release"):
            remote.run(one_off(config.project, current, paths.env_file, "python manage.py migrate --noinput",
                               network=True), timeout=1800)
    finally:
        lock.release(remote, paths.lock)


def unlock(remote: Remote, config: DeployConfig) -> None:
    paths = Paths.of(remote.home, config)
    holder = lock.unlock(remote, paths.lock)
    say(f"removed the deploy lock held by: {holder}" if holder else "there was no deploy lock")


def audit(remote: Remote, config: DeployConfig, lines: int = 20) -> None:
    paths = Paths.of(remote.home, config)
    say(remote.probe(f"tail -n {int(lines)} {quote(paths.audit)} 2>/dev/null").stdout.rstrip() or "no deploys yet")

