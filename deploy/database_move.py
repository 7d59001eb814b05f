"""`fab db.to-postgres`: move a serving SQLite blog onto the bundled PostgreSQL, losing no read and no write.

While the rows are copied the site stays up read-only: pages are served as usual, and a write (a
comment, the admin) gets a 503 page that says to try again in a moment, so nothing is written where the
copy would miss it. The copy is compared (row counts per table, checksums of posts and comments)
before the app is switched, with the usual zero-downtime switch, to a container that reads the new
DATABASE_URL. The SQLite file stays in its volume, untouched, and a backup of it is taken first. A move
that does not finish removes the PostgreSQL it started and leaves the site serving SQLite as before.

The credentials: a fresh password, written into the server's env file by the switch and then into
the local `.envs/.production`, so every later `fab deploy` stays on PostgreSQL.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from deploy import envfile, lock, releases
from deploy.backups import POSTGRES, SQLITE, backup_database, server_database
from deploy.commands import database, docker, shell
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.files import upload_private
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step, tail
from deploy.postgres import ensure_postgres
from deploy.preflight import docker_ready
from deploy.switch import nginx_name, restart

SETTLE_SECONDS = 2  # a write that began before the flag was set finishes well within this


def to_postgres(host: Host, config: DeployConfig) -> None:
    started = time.monotonic()
    with step("preflight: the site on SQLite here and on the server"):
        root = str(releases.repo_root())
        env = envfile.load(os.path.join(root, config.env_file))
        kind = docker_ready(host)
        names = Names.of(config, host.home)
        current = releases.parse_current(host.probe(commands.read_current(names)).stdout)
        if not current and not host.dry_run:
            raise DeployError(f"nothing is deployed on {host.name} yet: a new site can start on PostgreSQL with "
                              "`inv production.env --postgres` (then `fab deploy`)")
        serving = server_database(host, names)
        if serving == POSTGRES or env.database != envfile.SQLITE:
            _already_moved(host, names, env, serving)
            return
        nginx = nginx_name(host, names)
        found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
        running = [name for name, up in found.items() if up]
        if (not nginx or not running) and not host.dry_run:
            raise DeployError(f"the site is not serving on {host.name} (nginx or the app is down): run `fab status`, "
                              "then `fab deploy`, and move it once it serves")
        say(f"    release {current or 'CURRENT'} on SQLite, serving from {', '.join(running) or '?'}")
    moved = envfile.EnvFile(env.path, {**env.values, **envfile.postgres_settings(envfile.new_password())})
    with lock.held(host, names, lock.holder(current or "move", action="to-postgres")):
        copied = False
        try:
            with step("back up the SQLite database (the file itself stays in its volume too)"):
                backup_database(host, names, current, label="before-postgres", database=SQLITE)
            with step("PostgreSQL's settings on the server"):
                upload_private(host, moved.render_for_postgres(), names.postgres_env)
            ensure_postgres(host, names, current, kind)
            with step(f"read-only while the rows are copied: writes answer 503 'try again in a moment' "
                      f"({SETTLE_SECONDS}s for writes under way to finish)"):
                host.run(database.read_only(names, current))
                host.run(shell.wait(SETTLE_SECONDS))
            copy(host, names, current, moved.values["DATABASE_URL"])
            copied = True
            with step("switch the app to PostgreSQL (a new container of the same release, zero downtime)"):
                upload_private(host, moved.render(), names.env_file)
                restart(host, names, current, env.domain, nginx or names.default_nginx,
                        running if not host.dry_run else [names.container(current)], aside="on-sqlite")
        except BaseException:
            _undo(host, names, current, kind, env, env_replaced=copied)
            raise
        finally:
            with step("writes are open again"):
                host.run(database.writable(names, current), warn=True)
        host.run(commands.append_audit(names, releases.audit_line(
            who=lock.who(), action="to-postgres", sha=current.split("-")[-1], release=current, result="ok",
            seconds=time.monotonic() - started)), warn=True)
    with step(f"write the PostgreSQL settings into {env.path} (every later deploy stays on PostgreSQL)"):
        if not host.dry_run:
            keep_settings(env.path, moved.values)
    say(f"{host.name} serves from PostgreSQL now, in {time.monotonic() - started:.1f}s; the SQLite file stays "
        "in the database volume as it was")


def copy(host: Host, names: Names, release: str, url: str) -> None:
    with step("copy every row into PostgreSQL, then compare row counts and the posts' and comments' checksums"):
        try:
            result = host.run(database.copy(names, release), stdin=url + "\n", timeout=3600)
        except RemoteCommandFailed as error:
            tail("copy output", error.output, 15)
            last = (error.output.strip().splitlines() or ["?"])[-1]
            raise DeployError(f"the copy into PostgreSQL failed ({last}); nothing was switched: the site serves "
                              "SQLite as before and the PostgreSQL this move started is removed") from None
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                say(f"    {summary(json.loads(line))}")


def summary(fingerprint: dict) -> str:
    """One line of a db_fingerprint: the row counts, and the checksums shortened."""
    counts = ", ".join(f"{table} {count}" for table, count in sorted(fingerprint.get("counts", {}).items()))
    sums = ", ".join(f"{key} {str(value)[:12]}" for key, value in sorted(fingerprint.items()) if key != "counts")
    return f"{counts}; {sums}"


def _already_moved(host: Host, names: Names, env: envfile.EnvFile, serving: str) -> None:
    if serving == SQLITE:
        raise DeployError(f"{env.path} already names PostgreSQL (DATABASE_URL) but {host.name} serves SQLite: take "
                          "the DATABASE_URL and POSTGRES_* lines out of it (the move writes them), then run "
                          "`fab db.to-postgres` again")
    if env.database == envfile.SQLITE:  # the server moved, the laptop never heard: bring its settings here
        found = {key: host.probe(commands.env_value(names.env_file, key)).stdout.strip()
                 for key in (*envfile.POSTGRES_KEYS, "DATABASE_URL")}
        if not host.dry_run:
            keep_settings(env.path, {key: value for key, value in found.items() if value})
        say(f"    {host.name} already serves from PostgreSQL: its settings are now in {env.path} too")
    say(f"{host.name} already serves from PostgreSQL: nothing to move")


def _undo(host: Host, names: Names, release: str, kind: str, env: envfile.EnvFile, env_replaced: bool) -> None:
    """A move that did not finish: the env file back, the PostgreSQL it started gone; SQLite serves on."""
    with step("undo: the site stays on SQLite; the PostgreSQL this move started is removed"):
        try:
            if env_replaced:
                upload_private(host, env.render(), names.env_file)
            host.run(database.remove_postgres(names, release, kind), warn=True)
        except DeployError as error:
            say(f"  ! could not undo everything ({error}): run `fab status`")


def keep_settings(path: str, settings: dict[str, str]) -> None:
    """Add (or replace) ``settings`` in the local env file, keeping its other lines; written whole, mode 600."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines()
             if line.split("=", 1)[0].strip().removeprefix("export ").strip() not in settings]
    heading = "\n\n# PostgreSQL, written by `fab db.to-postgres`\n"
    text = "\n".join(lines).rstrip("\n") + heading + envfile.render(settings)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".production.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
