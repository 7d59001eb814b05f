"""Database backups and restores, in one-off containers, streamed to and from files in backups/.

SQLite: the app image runs deploy/scripts/sqlite_*.py (SQLite's backup API: consistent while the app
writes; no file-ownership problems between the host and the app's uid 10001). PostgreSQL: the
``postgres:17`` image runs ``pg_dump -Fc`` (one consistent snapshot while the site serves) and
``pg_restore --single-transaction`` (all or nothing) against DATABASE_URL, bundled or managed alike.
"""

from shlex import quote

from deploy.commands import database
from deploy.commands.docker import one_off, python
from deploy.names import RELEASE_NAME, Names
from deploy.scripts import source

DATABASE = "/app/database/db.sqlite3"
NO_DATABASE = 3  # deploy/scripts/sqlite_backup.py's exit code when there is no SQLite file
SUFFIX = ".sqlite3"
PG_SUFFIX = ".pgdump"
POSTGRES_IMAGE = "postgres:17"  # production.yml's; its pg_dump reads PostgreSQL 17 and older


def backup_name(label: str, stamp: str, suffix: str = SUFFIX) -> str:
    """A release's backup is named after the release; any other after ``stamp`` (the step's clock) and its label."""
    if RELEASE_NAME.match(label):
        return f"{label}{suffix}"
    return f"{stamp}-{label}{suffix}"


def _into(names: Names, run: str, target: str) -> str:
    """``run``'s output into ``target`` via ``target.tmp``: a failed copy leaves nothing behind.

    umask 077: the file (the whole database) is made 600, readable by the deploy user only.
    """
    tmp = quote(target + ".tmp")
    return (f"umask 077 && mkdir -p {quote(names.backups)} && {run} > {tmp}; rc=$?; "
            f"if [ $rc -eq 0 ]; then mv {tmp} {quote(target)}; else rm -f {tmp}; fi; exit $rc")


# A process's arguments are readable by every user of the server (`ps`, /proc/PID/cmdline); its environment
# is not. So the password leaves DATABASE_URL for PGPASSWORD (percent-decoded, as Django reads it), and the
# program gets the rest of the URL, which libpq parses as before (host, port, user, database, ?sslmode=...).
# perl: in every Debian-based postgres image (perl-base is essential there); the image has no Python.
URL_TO_LIBPQ = (
    "my $url = $ENV{DATABASE_URL}; "
    "if ($url =~ s{^([^:/?#]+://[^:@/?#]*):([^/?#]*)\\@}{$1\\@}) "
    "{ ($ENV{PGPASSWORD} = $2) =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge } "
    'exec @ARGV, "--dbname=$url" or die "$ARGV[0]: $!\\n"'
)


def postgres_client(names: Names, program: str, *, stdin: bool = False) -> str:
    """``program`` (a pg_* command line) in a one-off postgres container, against the site's DATABASE_URL.

    The URL comes from the env file and its password reaches ``program`` in PGPASSWORD: neither the
    shell's command line nor any process in the container has it among its arguments.
    """
    return (f"docker run --rm{' -i' if stdin else ''} --network {names.network} --env-file {quote(names.env_file)} "
            f"{POSTGRES_IMAGE} perl -e {quote(URL_TO_LIBPQ)} {program}")


def pg_dump(names: Names, target: str) -> str:
    return _into(names, postgres_client(names, "pg_dump --format=custom --no-owner"), target)


IN_CONTAINER = '-U "$POSTGRES_USER" -d "$POSTGRES_DB"'  # the postgres container's own socket and names


def pg_dump_in(names: Names, container: str, target: str) -> str:
    """pg_dump inside PostgreSQL's own container (a cluster's database node): its socket, its user."""
    script = quote(f"exec pg_dump --format=custom --no-owner {IN_CONTAINER}")
    return _into(names, f"docker exec {quote(container)} sh -c {script}", target)


def pg_restore_in(container: str, upload: str) -> str:
    script = quote("exec pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction "
                   f"--exit-on-error {IN_CONTAINER}")
    return f"docker exec -i {quote(container)} sh -c {script} < {quote(upload)}; rc=$?; rm -f {quote(upload)}; exit $rc"


def pg_restore(names: Names, upload: str) -> str:
    """Replace every object of the dump in one transaction: a failure half way leaves the database as it was."""
    run = postgres_client(names, "pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction "
                                 "--exit-on-error", stdin=True)
    return f"{run} < {quote(upload)}; rc=$?; rm -f {quote(upload)}; exit $rc"


def backup(names: Names, release: str, target: str) -> str:
    """Copy the live SQLite database into ``target``."""
    return _into(names, one_off(names, release, python(source("sqlite_backup"), DATABASE)), target)


def listing(names: Names) -> str:
    return f"ls -1 {quote(names.backups)}"


def parse_listing(text: str) -> list[str]:
    return sorted(n for n in text.split() if n.endswith((SUFFIX, PG_SUFFIX)))


def remove(names: Names, files: list[str]) -> str:
    return f"cd {quote(names.backups)} && rm -f -- {' '.join(quote(n) for n in files)}"


def restore(names: Names, release: str, upload: str) -> str:
    """Check the uploaded file, copy it into the live database in one transaction, then remove the upload."""
    run = one_off(names, release, python(source("sqlite_restore"), DATABASE), stdin=True)
    return f"{run} < {quote(upload)}; rc=$?; rm -f {quote(upload)}; exit $rc"


def migrate(names: Names, release: str) -> str:
    return one_off(names, release, database.migrate(), env_file=names.env_file, network=True)
