"""Moving a site's data between databases: the read-only switch and the copy, in one-off app containers."""

from shlex import quote

from deploy.commands import compose
from deploy.commands.docker import one_off
from deploy.names import DATABASE_VOLUMES, Names

READ_ONLY_FILE = "/app/database/.read-only"  # mysite's READ_ONLY_FILE: while it names an engine, writes get a 503


def read_only(names: Names, release: str, engine: str = "sqlite") -> str:
    """Every app container on ``engine`` answers writes with 'try again in a moment' (the flag is in the volume)."""
    return one_off(names, release, f"sh -c {quote(f'printf %s {engine} > {READ_ONLY_FILE}')}")


def writable(names: Names, release: str) -> str:
    return one_off(names, release, f"rm -f {READ_ONLY_FILE}")


def copy(names: Names, release: str) -> str:
    """Every row of the SQLite database into the empty database whose URL comes on stdin (never an argument:
    its password would be in every user's `ps`), then both fingerprints compared."""
    return one_off(names, release, "python manage.py db_copy", env_file=names.env_file, network=True, stdin=True,
                   volumes=DATABASE_VOLUMES)


def migrate() -> str:
    """Django's migrate, as a release runs it once: in a compose one-off (one server), a docker one-off (a
    restore) or a Swarm job (the cluster)."""
    return "python manage.py migrate --noinput"


def migration_plan() -> str:
    """Every migration of the release, `[X]` before each applied one."""
    return "python manage.py showmigrations --plan"


def applied_migrations(container: str) -> str:
    """The migration plan of the serving release, read in its app container."""
    return f"docker exec {container} {migration_plan()}"


def unsafe_migrations(python: str, applied: str) -> str:
    """Here, in the release's files: which of its migrations, not yet applied there, break the code still serving."""
    return f"{quote(python)} manage.py unsafe_migrations --applied {quote(applied)}"


def remove_postgres(names: Names, release: str, kind: str, *, container: bool = True, volume: bool = True,
                    env_file: bool = True) -> str:
    """What a move that did not finish started: the bundled PostgreSQL's container, its data, its settings.

    Each only when that move created it: a PostgreSQL that ran before, and its volume, are never touched.
    """
    parts = []
    if container:
        parts.append(compose.stack(names, release, compose.REMOVE_POSTGRES, kind=kind))
    if volume:
        parts.append(f"docker volume rm {names.volume('postgres')} >/dev/null 2>&1")
    if env_file:
        parts.append(f"rm -f {quote(names.postgres_env)}")
    return "; ".join([*parts, "true"])


def is_read_only(container: str) -> str:
    """Exits 0 while the read-only flag exists (read through a running app container)."""
    return f"docker exec {container} test -e {READ_ONLY_FILE}"


def on_postgres(container: str) -> str:
    """Exits 0 when the app container was started with a PostgreSQL DATABASE_URL (nothing is printed)."""
    return (f"docker inspect -f '{{{{range .Config.Env}}}}{{{{println .}}}}{{{{end}}}}' {container} "
            "| grep -q '^DATABASE_URL=postgres'")
