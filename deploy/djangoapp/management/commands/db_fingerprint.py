"""python manage.py db_fingerprint [--database ALIAS]: one line of JSON (deploy/djangoapp/fingerprint.py).

    {"counts": {"auth_group": 0, ..., "auth_user": 2, ...}, "sha256": {"auth_group": "...", ..., "auth_user": "..."}}

The same rows give the same line on SQLite and on PostgreSQL: compare a copy with its source.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from deploy.djangoapp.fingerprint import fingerprint, render


class Command(BaseCommand):
    help = "Print row counts and checksums of every copied table, as one line of JSON."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database alias (default: default)")

    def handle(self, *args, database=DEFAULT_DB_ALIAS, **options):
        if database not in connections:
            raise CommandError(f"no database {database!r} in the settings")
        try:
            self.stdout.write(render(fingerprint(database)))
        except DatabaseError as error:
            raise CommandError(f"cannot read the {database} database: {one_line(error)}") from None


def one_line(error: BaseException) -> str:
    """An exception as one line: its words on one line, its type when it has none."""
    text = " ".join(str(error).split())
    return text[:500] if text else type(error).__name__
