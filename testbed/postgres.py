"""A local PostgreSQL for the Django tests' second pass: `ensure_postgres()` returns its DATABASE_URL.

Machines start without a database server and without systemd (docs/TESTING.md). As root on Debian we
`apt-get install postgresql` when it is missing (Debian 12: PostgreSQL 15), start the cluster with
`pg_ctlcluster` (no systemd needed), make it listen on 127.0.0.1 only (a conf.d file of ours), and
create the role `mysite_test` (a password, CREATEDB: pytest-django creates its test databases) and the
database `mysite_test` that it owns. The URL, password included, is kept in a root-only file, so a
second call is one login. Idempotent; two processes at once take turns on a file lock. Anything we
cannot do (not root and no server set up, not Debian, a cluster that does not start) raises
PostgresUnavailable with the reason.

    python -m testbed.postgres      # prints the URL (what `inv test` does for its second pass)
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROLE = "mysite_test"
DATABASE = "mysite_test"
HOST = "127.0.0.1"
STATE_FILE = Path("/var/lib/postgresql/mysite-test.url")  # mode 600, root's: it holds the password
CONF_NAME = "mysite-test.conf"  # our drop-in in the cluster's conf.d
LOCK_FILE = Path(tempfile.gettempdir()) / "mysite-postgres.lock"
# what a test run leaves behind when it is killed: test_mysite_test_<pid>[_...] (mysite/settings/test.py)
STALE_DATABASE = re.compile(rf"test_{DATABASE}_(\d+)(_\w*)?")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL for the tests, and we could not get one: the message says why."""


def say(message: str) -> None:
    print(f"[testbed/postgres] {message}", file=sys.stderr, flush=True)


def login_problem(url: str) -> str | None:
    """None when `url` logs in and answers a query, else the reason it does not."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return " ".join(str(error).split())[:300] or type(error).__name__
    return None


def ensure_postgres() -> str:
    """The DATABASE_URL of a running local PostgreSQL set up for the tests; raise PostgresUnavailable if none."""
    if os.geteuid() != 0:
        return _as_user()
    # two test runs at once: one installs, starts and sets up; the other waits, then logs in
    with open(LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        url = _saved_url()
        if not url or login_problem(url) is not None:
            url = _set_up()
        _drop_stale_databases(url)
        return url


def _set_up() -> str:
    """Install, start and configure; the new URL is saved for the next call."""
    _install()
    version, cluster, port = _cluster()
    _listen_on_loopback_only(version, cluster)
    _start(version, cluster)
    password = secrets.token_hex(16)
    _psql(version, cluster, _setup_sql(password))
    url = f"postgres://{ROLE}:{password}@{HOST}:{port}/{DATABASE}"
    problem = login_problem(url)
    if problem:
        raise PostgresUnavailable(f"cluster {version}/{cluster} is running but {ROLE} cannot log in: {problem}")
    STATE_FILE.touch(mode=0o600)
    STATE_FILE.chmod(0o600)
    STATE_FILE.write_text(url + "\n")
    say(f"PostgreSQL {version}/{cluster} on {HOST}:{port}: role {ROLE}, database {DATABASE}")
    return url


def _as_user() -> str:
    """Not root: we may only use a server that root already set up, if its URL is readable."""
    try:
        url = _saved_url()
    except PermissionError:
        raise PostgresUnavailable(
            f"not root, and {STATE_FILE} (the test server's URL) is not readable: run `python -m testbed.postgres` "
            "once as root, or run the tests as root"
        ) from None
    if not url:
        installed = "installed" if shutil.which("pg_ctlcluster") else "not installed"
        raise PostgresUnavailable(
            f"not root, and no PostgreSQL was set up for the tests (PostgreSQL is {installed}; {STATE_FILE} is "
            "missing): run the tests as root, or `python -m testbed.postgres` once as root"
        )
    problem = login_problem(url)
    if problem:
        raise PostgresUnavailable(f"the test server does not answer ({problem}), and only root can start it")
    return url


def _saved_url() -> str:
    try:
        return STATE_FILE.read_text().strip()
    except FileNotFoundError:
        return ""


def _run(argv: list[str], what: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())[-400:]
        raise PostgresUnavailable(f"{what} failed (`{' '.join(argv)}`, exit {done.returncode}): {detail}")
    return done.stdout


def _install() -> None:
    if shutil.which("pg_ctlcluster") and _versions():
        return
    if shutil.which("apt-get") is None:
        raise PostgresUnavailable("PostgreSQL is not installed and this is not Debian (no apt-get): install it")
    say("PostgreSQL is not installed: apt-get install postgresql (about a minute)")
    # the package makes the cluster `main` with the environment's locale: a UTF-8 one, not SQL_ASCII
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise PostgresUnavailable(f"`{' '.join(argv)}` failed: {' '.join(done.stderr.split())[-400:]}")
    if not _versions():
        raise PostgresUnavailable("apt-get installed postgresql, but no server binaries are in /usr/lib/postgresql")


def _versions() -> list[str]:
    """Installed server versions, newest first."""
    found = [p.parent.parent.name for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    return sorted(found, key=lambda v: [int(part) for part in v.split(".") if part.isdigit()], reverse=True)


def _clusters() -> list[list[str]]:
    """pg_lsclusters rows: version, cluster, port, status, owner, data directory, log file."""
    return [line.split() for line in _run(["pg_lsclusters", "--no-header"], "listing clusters").splitlines()]


def _cluster() -> tuple[str, str, str]:
    """(version, name, port) of the newest server's first cluster; `main` is created when it has none."""
    version = _versions()[0]
    rows = [row for row in _clusters() if row[0] == version]
    if not rows:
        say(f"PostgreSQL {version} has no cluster: pg_createcluster {version} main")
        _run(["pg_createcluster", "--locale", "C.UTF-8", version, "main"], "creating the cluster")
        rows = [row for row in _clusters() if row[0] == version]
    version, cluster, port = rows[0][:3]
    return version, cluster, port


def _listen_on_loopback_only(version: str, cluster: str) -> None:
    """Our conf.d file; a running cluster that listens elsewhere is restarted to read it."""
    conf_d = Path("/etc/postgresql") / version / cluster / "conf.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    wanted = f"# written by mysite's testbed/postgres.py: the tests' server listens on loopback only\n" \
             f"listen_addresses = '{HOST}'\n"
    path = conf_d / CONF_NAME
    if path.exists() and path.read_text() == wanted:
        return
    path.write_text(wanted)
    if _status(version, cluster) == "online":
        say(f"restarting {version}/{cluster} to listen on {HOST} only")
        _run(["pg_ctlcluster", version, cluster, "restart"], "restarting the cluster")


def _status(version: str, cluster: str) -> str:
    row = next((r for r in _clusters() if r[:2] == [version, cluster]), None)
    return row[3] if row else "missing"


def _start(version: str, cluster: str) -> None:
    if _status(version, cluster).startswith("online"):
        return
    say(f"starting PostgreSQL {version}/{cluster} with pg_ctlcluster (no systemd here)")
    try:
        _run(["pg_ctlcluster", version, cluster, "start"], "starting the cluster")
    except PostgresUnavailable as error:
        log = Path("/var/log/postgresql") / f"postgresql-{version}-{cluster}.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        raise PostgresUnavailable(f"{error}; log tail: {tail}") from None


def _setup_sql(password: str) -> str:
    """Idempotent: the role (with this password) and its database; the password never reaches argv.

    Nothing here comes from outside: the names are ours, the password is hex from `secrets`.
    """
    return f"""\
SELECT 'CREATE ROLE {ROLE}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') \\gexec
ALTER ROLE {ROLE} WITH LOGIN CREATEDB NOSUPERUSER PASSWORD '{password}';
SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE} ENCODING ''UTF8'' TEMPLATE template0'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}') \\gexec
ALTER DATABASE {DATABASE} OWNER TO {ROLE};
"""  # noqa: S608


def _psql(version: str, cluster: str, sql: str) -> str:
    """psql as the cluster's superuser (peer login on its socket), SQL on stdin."""
    port = next(r[2] for r in _clusters() if r[:2] == [version, cluster])
    argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-p", port,
            "-d", "postgres", "-f", "-"]
    return _run(argv, "setting up the role and database", stdin=sql)


def _drop_stale_databases(url: str) -> None:
    """Test databases of runs that were killed (their process is gone); one in use is left alone."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        for name in names:
            match = STALE_DATABASE.fullmatch(name)
            if match and not _alive(int(match.group(1))):
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    say(f"dropped {name}, left by a test run that is gone")
                except psycopg.Error:
                    pass  # someone is connected: not stale after all


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    try:
        print(ensure_postgres())
    except PostgresUnavailable as error:
        say(f"no PostgreSQL: {error}")
        sys.exit(1)
