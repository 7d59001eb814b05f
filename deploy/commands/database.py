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


def copy(names: Names, release: str, url: str) -> str:
    """Every row of the SQLite database into the empty database at ``url``, then both fingerprints compared."""
    return one_off(names, release, f"python manage.py db_copy --to {quote(url)}", env_file=names.env_file,
                   network=True, volumes=DATABASE_VOLUMES)


def applied_migrations(container: str) -> str:
    """The migration plan of the serving release, `[X]` before each applied one (read in its app container)."""
    return f"docker exec {container} python manage.py showmigrations --plan"


def unsafe_migrations(python: str, applied: str) -> str:
    """Here, in the release's files: which of its migrations, not yet applied there, break the code still serving."""
    return f"{quote(python)} manage.py unsafe_migrations --applied {quote(applied)}"


def remove_postgres(names: Names, release: str, kind: str) -> str:
    """The bundled PostgreSQL and its data gone: what a move that did not finish leaves behind."""
    return (f"{compose.stack(names, release, compose.REMOVE_POSTGRES, kind=kind)}; "
            f"docker volume rm {names.volume('postgres')} >/dev/null 2>&1; rm -f {quote(names.postgres_env)}; true")
