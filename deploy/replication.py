"""Off-site copies of the SQLite database (Litestream to an SFTP target): settled here, started by a deploy,
restored by `fab restore-from-target`, shown by `fab status`. docs/BACKUPS.md has the whole story.
"""

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import paramiko

from deploy import backup_target, envfile
from deploy.backup_target import AT_FORMAT, Target
from deploy.backups import SQLITE, server_database
from deploy.commands import litestream
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.files import ensure_file, upload_private
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step

NOT_ENCRYPTED = ("not encrypted on the target: Litestream 0.5 has no encryption, so whoever can read the target's "
                 "folder can read the database")


@dataclass(frozen=True)
class Replication:
    """What a deploy writes to the server for the replication: no secret but in ``secrets`` (uploaded 600)."""

    target: Target
    config: str  # litestream.yml
    secrets: str  # the env file Litestream reads


def settings(config: DeployConfig, env: envfile.EnvFile) -> Replication | None:
    """The replication for ``backup: target:``, checked here before the server changes (None: no target)."""
    if not config.backup.target:
        return None
    target = backup_target.parse(config.backup.target)
    if env.database != envfile.SQLITE:
        raise DeployError(f"backup target is set but {env.path} names PostgreSQL (DATABASE_URL): the off-site "
                          "copies are Litestream's, for SQLite only; remove `backup: target:` (use `fab backup`)")
    key = env.values.get(litestream.KEY_VARIABLE, "")
    password = env.values.get(litestream.PASSWORD_VARIABLE, "")
    if not key and not password:
        raise DeployError(f"backup target {target.url} needs a login: put LITESTREAM_SFTP_KEY=<base64 -w0 of an "
                          f"unencrypted private key> or LITESTREAM_SFTP_PASSWORD=... in {env.path} (docs/BACKUPS.md)")
    if key:
        _check_key(key, env.path)
    host_key = known_host_key(target, config.known_hosts)
    return Replication(target, litestream.config(target.url, host_key, key=bool(key), password=bool(password)),
                       env.render_for_litestream())


def _check_key(value: str, path: str) -> None:
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if "PRIVATE KEY-----" not in text:
        raise DeployError(f"LITESTREAM_SFTP_KEY in {path} is not a private key in base64: write it with "
                          "`base64 -w0 KEYFILE` (an unencrypted key: Litestream cannot ask for a passphrase)")


def known_host_key(target: Target, known_hosts: str) -> str:
    """The target's host key from known_hosts ('TYPE BASE64'), of the type Litestream's client will check."""
    path = os.path.expanduser(known_hosts)
    keys = paramiko.HostKeys()
    if os.path.isfile(path):
        try:
            keys.load(path)
        except (OSError, paramiko.SSHException) as error:
            raise DeployError(f"cannot read {known_hosts} ({error}): fix the file, then run this again") from None
    found = keys.lookup(target.known_hosts_name) or {}
    for kind in litestream.HOST_KEY_ORDER:
        if kind in found:
            return f"{kind} {found[kind].get_base64()}"
    raise DeployError(
        f"the backup target's host key is not in {known_hosts} (as {target.known_hosts_name}): a new host key is "
        f"never accepted by itself; check the key the target's owner gives you and add its line (e.g. from "
        f"`ssh-keyscan -p {target.port} {target.host}` on a network you trust), then deploy again")


def require_sqlite(host: Host, names: Names) -> None:
    """The target holds Litestream's copies of a SQLite database: a server on PostgreSQL has none to restore."""
    if server_database(host, names) != SQLITE:
        raise DeployError(f"{host.name} runs on PostgreSQL: the backup target holds SQLite copies (Litestream)")


def check_target(host: Host, names: Names, release: str, kind: str, replication: Replication,
                 *, fresh: bool) -> list[tuple[int, datetime]]:
    """Write the replication's files, list what the target holds (this proves the login and the host key), and
    refuse to copy a new, empty database over a target that holds another one's history."""
    with step(f"check the off-site backup target {replication.target.url}"):
        ensure_file(host, names.litestream_config, replication.config, mode=0o644)
        upload_private(host, replication.secrets, names.litestream_env)
        try:
            listed = host.run(litestream.run(names, release, kind, litestream.listing()), timeout=300)
        except RemoteCommandFailed as error:
            raise DeployError(f"Litestream cannot use the backup target {replication.target.url} "
                              f"({_last_line(error.output)}): check the login in the env file and the host key "
                              "in known_hosts") from None
        files = parse_files(listed.stdout)
        held = window(files)
        say(f"    the target holds {_span(held)}" if held else "    the target holds nothing yet")
    if fresh and held:
        raise DeployError(f"this server has no database yet and the backup target {replication.target.url} holds "
                          f"one ({_span(held)}): restore it here with `fab restore-from-target`, or point "
                          "`backup: target:` at an empty folder; nothing was copied over it")
    return files


def start(host: Host, names: Names, release: str, kind: str, replication: Replication) -> None:
    with step(f"continuous off-site copies to {replication.target.url} (Litestream {litestream.VERSION}, "
              "not encrypted there)"):
        host.run(litestream.up(names, release, kind), timeout=600)


def stop_without_target(host: Host, names: Names) -> None:
    """A deploy without a backup target stops the copies an earlier deploy started (the target keeps them)."""
    if host.run(litestream.stop(names), timeout=120).stdout.strip():
        say("    off-site copies stopped: no backup target is set now; the target keeps the copies it holds")


def pick_time(at: datetime | None, files: list[tuple[int, datetime]], target: Target) -> None:
    """Refuse a restore the target cannot give: it holds nothing, or ``at`` is outside what it holds."""
    held = window(files)
    if not held:
        raise DeployError(f"the backup target {target.url} holds no copy of the database: nothing to restore")
    if at and not held[0] <= at <= held[1]:
        raise DeployError(f"--at {at.strftime(AT_FORMAT)} is outside what the backup target holds ({_span(held)}): "
                          "pick a time in that range, or leave --at out for the latest copy")


def restore(host: Host, names: Names, release: str, kind: str, at: datetime | None, *, live: bool) -> None:
    """The target's latest copy (or the one at ``at``) into the database: ``live`` copies it into the existing
    database in one transaction; otherwise it becomes the database (there is none yet)."""
    words = litestream.restore_live(rfc3339(at)) if live else litestream.restore_new(rfc3339(at))
    when = f"as it was at {at.strftime(AT_FORMAT)} UTC" if at else "its latest copy"
    with step(f"restore the database from the backup target, {when}"):
        try:
            host.run(litestream.run(names, release, kind, words), timeout=1800)
        except RemoteCommandFailed as error:
            raise DeployError(f"the restore from the backup target failed ({_last_line(error.output)}); "
                              + ("the live database is unchanged" if live else "no database was made")) from None


def verify(host: Host, names: Names, release: str, kind: str, at: datetime | None) -> dict:
    """Restore the target's copy into a one-off container's scratch file and check it beside the live database,
    which is only read; the report of deploy/scripts/sqlite_verify.py."""
    when = f"as it was at {at.strftime(AT_FORMAT)} UTC" if at else "its latest copy"
    with step(f"restore {when} into a scratch file on the server and check it (the live database is only read)"):
        done = host.run(litestream.run(names, release, kind, litestream.verify(rfc3339(at))), timeout=1800,
                        warn=True)
        report = _report(done.stdout)
        if report is None:
            raise DeployError(f"the restore from the backup target failed ({_last_line(done.stdout + done.stderr)}); "
                              "the live database was not touched")
        if report["integrity"] != "ok":
            raise DeployError(f"the backup target's copy fails SQLite's integrity check ({report['integrity']}): "
                              "restore an earlier time with --at, and keep `fab backup` copies until it passes")
    return report


def _report(output: str) -> dict | None:
    """sqlite_verify.py's JSON line (the last line of the output), or None when the script never ran."""
    try:
        report = json.loads(_last_line(output))
    except json.JSONDecodeError:
        return None
    return report if isinstance(report, dict) and "integrity" in report else None


def status(host: Host, names: Names, target: Target, now: datetime | None = None) -> list[str]:
    """What `fab status` says of the replication: where, running or not, how far behind, the last problem."""
    lines = [f"off-site backup: {target.url} (Litestream {litestream.VERSION}); {NOT_ENCRYPTED}"]
    found = host.probe(litestream.container(names)).stdout.strip().splitlines()
    if not found:
        return [*lines, "  replication: not running here (the next `fab deploy` starts it)"]
    name, state, shown = (found[0].split("\t") + ["", ""])[:3]
    lines.append(f"  replication: {name} {state} ({shown})")
    if state == "running":
        local = parse_local_txid(host.probe(litestream.exec_in(name, litestream.local_status())).stdout)
        newest = latest(parse_files(
            host.probe(litestream.exec_in(name, litestream.listing())).stdout))
        lines.append("  " + lag(local, newest, now or datetime.now(UTC)))
    problem = host.probe(litestream.last_problem(name)).stdout.strip()
    lines.append(f"  last error: {problem}" if problem else "  last error: none in the last 24 h")
    return lines


def lag(local: int | None, newest: tuple[int, datetime] | None, now: datetime) -> str:
    if newest is None:
        return "lag: the target holds nothing yet"
    txid, when = newest
    age = max(0, int((now - when).total_seconds()))
    behind = "unknown" if local is None else str(max(0, local - txid))
    return f"lag: {behind} transaction(s) not on the target yet; its newest copy was written {age} s ago"


def parse_files(text: str) -> list[tuple[int, datetime]]:
    """(max_txid, when written) of each file ``listing()`` printed; [] for none or for output that is not JSON."""
    try:
        items = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    found = []
    for item in items if isinstance(items, list) else []:
        try:
            when = datetime.strptime(item["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            found.append((int(item["max_txid"], 16), when))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def window(files: list[tuple[int, datetime]]) -> tuple[datetime, datetime] | None:
    """The earliest and the latest time the target can restore, or None when it holds nothing."""
    if not files:
        return None
    times = [when for _, when in files]
    return min(times), max(times)


def latest(files: list[tuple[int, datetime]]) -> tuple[int, datetime] | None:
    """The newest transaction the target holds and when it was written."""
    return max(files) if files else None


def parse_local_txid(text: str) -> int | None:
    """The local transaction ID from ``litestream status -json``."""
    try:
        return int(json.loads(text)[0]["local_txid"], 16)
    except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        return None


def rfc3339(at: datetime | None) -> str:
    """Litestream's -timestamp ('' for the latest copy)."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""


def _span(held: tuple[datetime, datetime]) -> str:
    return f"{held[0].strftime(AT_FORMAT)} to {held[1].strftime(AT_FORMAT)} UTC"


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
