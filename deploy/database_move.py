"""`fab db.to-postgres`: move a serving SQLite blog onto the bundled PostgreSQL, losing no read and no write.

While the rows are copied the site stays up read-only: pages are served as usual, and a write (a
comment, the admin) gets a 503 page that says to try again in a moment, so nothing is written where the
copy would miss it. The copy is compared (row counts and checksums of every table it copied)
before the app is switched, with the usual zero-downtime switch, to a container that reads the new
DATABASE_URL. The SQLite file stays in its volume, untouched, and a backup of it is taken first. A move
that fails before traffic can reach PostgreSQL removes what it added (a PostgreSQL that ran before, and
its data, are left alone) and leaves the site serving SQLite as before. From the moment the route
command is sent, nothing is undone (PostgreSQL may hold writes SQLite never saw): the move stops saying
what is left, and `fab db.to-postgres` run again finishes it.

The credentials: a fresh password, written into the server's env file by the switch and then into
the local `.envs/.production`, so every later `fab deploy` stays on PostgreSQL.
"""

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from deploy import envfile, lock, preparation, releases
from deploy.backups import POSTGRES, SQLITE, backup_database, server_database
from deploy.commands import database, docker, files, shell
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.files import upload_private
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step, tail
from deploy.postgres import ensure_postgres
from deploy.preflight import docker_ready
from deploy.switch import complete, nginx_name, restart

SETTLE_SECONDS = 2  # a write that began before the flag was set finishes well within this
ASIDE = "on-sqlite"  # the SQLite container steps aside as <its name>-on-sqlite while the new one starts


def to_postgres(host: Host, config: DeployConfig) -> None:
    started = time.monotonic()
    with step("preflight: the site on SQLite here and on the server"):
        _, env = preparation.local_env(config)
        kind = docker_ready(host)
        names = Names.of(config, host.home)
        current = releases.parse_current(host.probe(commands.read_current(names)).stdout)
        if not current and not host.dry_run:
            raise DeployError(f"nothing is deployed on {host.name} yet: a new site can start on PostgreSQL with "
                              "`inv production.env --postgres` (then `fab deploy`)")
        serving = server_database(host, names)
        if serving == POSTGRES or env.database != envfile.SQLITE:
            _already_moved(host, names, env, serving, current)
            return
        nginx = nginx_name(host, names)
        found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
        running = [name for name, up in found.items() if up]
        if (not nginx or not running) and not host.dry_run:
            raise DeployError(f"the site is not serving on {host.name} (nginx or the app is down): run `fab status`, "
                              "then `fab deploy`, and move it once it serves")
        say(f"    release {current or 'CURRENT'} on SQLite, serving from {', '.join(running) or '?'}")
    postgres = envfile.postgres_settings(envfile.new_password(), names.project)  # user and database: the app's name
    moved = envfile.EnvFile(env.path, {**env.values, **postgres})
    routed_at: list[str] = []  # when traffic may first reach PostgreSQL: from then on, never undo
    done = False
    with lock.held(host, names, lock.holder(current or "move", action="to-postgres")):
        copied, before = False, None
        try:
            with step("back up the SQLite database (the file itself stays in its volume too)"):
                backup_database(host, names, current, label="before-postgres", database=SQLITE)
            before = _postgres_before(host, names)
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
                        running if not host.dry_run else [names.container(current)], aside=ASIDE,
                        on_routed=lambda: routed_at.append(time.strftime("%H:%M:%S UTC", time.gmtime())))
            done = True
        except BaseException as error:
            if routed_at:
                _keep_forward(host, names, current, env, moved.values, routed_at[0], error)
            _undo(host, names, current, kind, env, before, env_replaced=copied)
            raise
        finally:
            if done or not routed_at:  # after routing, SQLite containers may still serve: they stay read-only
                with step("writes are open again"):
                    host.run(database.writable(names, current), warn=True)
        preparation.audit(host, names, action="to-postgres", sha=current.split("-")[-1], release=current,
                          result="ok", started=started)
    with step(f"write the PostgreSQL settings into {env.path} (every later deploy stays on PostgreSQL)"):
        if not host.dry_run:
            keep_settings(env.path, moved.values)
    say(f"{host.name} serves from PostgreSQL now, in {time.monotonic() - started:.1f}s; the SQLite file stays "
        "in the database volume as it was")


def copy(host: Host, names: Names, release: str, url: str) -> None:
    with step("copy every row into PostgreSQL, then compare the row counts and checksums of every table"):
        try:
            result = host.run(database.copy(names, release), stdin=url + "\n", timeout=3600)
        except RemoteCommandFailed as error:
            tail("copy output", error.output, 15)
            last = (error.output.strip().splitlines() or ["?"])[-1]
            raise DeployError(f"the copy into PostgreSQL failed ({last}); nothing was switched: the site serves "
                              "SQLite as before and what this move added of PostgreSQL is removed") from None
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                say(f"    {summary(json.loads(line))}")


def summary(fingerprint: dict) -> str:
    """One line of a db_fingerprint: the row counts, and each table's checksum shortened."""
    counts = ", ".join(f"{table} {count}" for table, count in sorted(fingerprint.get("counts", {}).items()))
    sums = ", ".join(f"{table} {str(value)[:8]}" for table, value in sorted(fingerprint.get("sha256", {}).items()))
    return f"{counts}; sha256 {sums}"


def _already_moved(host: Host, names: Names, env: envfile.EnvFile, serving: str, current: str) -> None:
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
    if current and _finish(host, names, env, current):
        return
    say(f"{host.name} already serves from PostgreSQL: nothing to move")


def _finish(host: Host, names: Names, env: envfile.EnvFile, current: str) -> bool:
    """Finish a move that stopped once the server's env file named PostgreSQL; False when nothing was left.

    Left, possibly: the SQLite container stepped aside (still running, read-only), the release's
    container never restarted onto PostgreSQL, or the read-only flag. The switch goes forward, never back.
    """
    name = names.container(current)
    found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
    aside = [container for container in found if container.endswith(f"-{ASIDE}")]
    on_sqlite = bool(found.get(name)) and not host.probe(database.on_postgres(name)).ok
    flagged = bool(found.get(name)) and not on_sqlite and host.probe(database.is_read_only(name)).ok
    if not (aside or on_sqlite or flagged):
        return False
    say(f"    {host.name} serves from PostgreSQL, but an earlier move stopped before the end: finishing it")
    started = time.monotonic()
    with lock.held(host, names, lock.holder(current, action="to-postgres")):
        nginx = nginx_name(host, names)
        if not nginx and not host.dry_run:
            raise DeployError(f"nginx is not running on {host.name}: run `fab status`, then `fab deploy`, then "
                              "`fab db.to-postgres` again to finish the move")
        with step(f"finish the switch to PostgreSQL: {name} serves, {', '.join(aside) or 'the old containers'} stop"):
            if on_sqlite:
                restart(host, names, current, env.domain, nginx, [n for n, up in found.items() if up], aside=ASIDE,
                        on_routed=lambda: None)
            else:
                complete(host, names, current, env.domain, nginx or names.default_nginx)
        with step("writes are open again"):
            host.run(database.writable(names, current))
        preparation.audit(host, names, action="to-postgres", sha=current.split("-")[-1], release=current,
                          result="finished", started=started)
    say(f"{host.name} serves from PostgreSQL: the move is finished")
    return True


@dataclass(frozen=True)
class Existing:
    """The bundled PostgreSQL as the move found it: a move that fails removes only what it added."""

    running: bool
    volume: bool
    settings: str | None  # its env file's text; None when there was none


def _postgres_before(host: Host, names: Names) -> Existing:
    found = host.probe(files.read_file(names.postgres_env))
    return Existing(running=bool(host.probe(docker.service_container(names.project, "postgres")).stdout.strip()),
                    volume=host.probe(docker.volume_exists(names.volume("postgres"))).ok,
                    settings=found.stdout if found.ok else None)


def _keep_forward(host: Host, names: Names, release: str, env: envfile.EnvFile, settings: dict[str, str],
                  at: str, error: BaseException) -> NoReturn:
    """Traffic may have reached PostgreSQL: undo nothing (what it accepted is there only); say what is left."""
    try:
        if not host.dry_run:
            keep_settings(env.path, settings)
    except OSError as failure:
        say(f"  ! could not write the PostgreSQL settings into {env.path} ({failure.strerror}): "
            "`fab db.to-postgres` brings them from the server")
    reason = str(error) if isinstance(error, DeployError) else "interrupted" if isinstance(
        error, KeyboardInterrupt) else f"{type(error).__name__}: {error}"
    left = (f"traffic moved to PostgreSQL at {at} ({names.container(release)}), then the move stopped "
            f"({reason}); nothing was undone: PostgreSQL keeps every row it took, and the env files on {host.name} "
            f"and in {env.path} name it; left to do: stop the SQLite container {names.container(release)}-{ASIDE} "
            "(read-only until then) and open writes again: run `fab db.to-postgres` again to finish")
    if isinstance(error, DeployError):
        raise DeployError(left) from None
    say(f"  ! {left}")
    raise error


def _undo(host: Host, names: Names, release: str, kind: str, env: envfile.EnvFile, before: Existing | None,
          env_replaced: bool) -> None:
    """A move that did not finish, before routing: the env files back, what it added of PostgreSQL gone."""
    with step("undo: the site stays on SQLite; what this move added of PostgreSQL is removed"):
        try:
            if env_replaced:
                upload_private(host, env.render(), names.env_file)
            if before is None:  # it stopped before PostgreSQL was touched
                return
            if before.settings is not None:
                upload_private(host, before.settings, names.postgres_env)
            if not before.running or not before.volume or before.settings is None:
                host.run(database.remove_postgres(names, release, kind, container=not before.running,
                                                  volume=not before.volume, env_file=before.settings is None),
                         warn=True)
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
