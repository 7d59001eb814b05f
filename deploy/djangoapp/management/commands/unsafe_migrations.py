"""python manage.py unsafe_migrations --applied FILE: the migration gate of a zero-downtime deploy.

FILE lists the migrations already applied where the release will run: one app.migration_name per
line, or what `manage.py showmigrations --plan` prints there ([X] applied, [ ] not); `-` reads stdin.
The project's own migrations that are not in it are checked (deploy/djangoapp/migration_gate.py says what is
unsafe and why): one line per problem,

    blog.0007_remove_post_views: RemoveField post.views (the release still serving reads that column)

and exit 1; nothing and exit 0 when all are safe. A FILE that cannot be read is one line on stderr,
exit 2. No database is opened: it runs on a laptop before a deploy.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deploy.djangoapp.migration_gate import AppliedListError, parse_applied, unsafe_migrations

CANNOT_CHECK = 2


class Command(BaseCommand):
    help = "List the migrations not yet applied (per --applied FILE) that break the release still serving."
    requires_system_checks = []  # nothing but the migration files is needed

    def add_arguments(self, parser):
        parser.add_argument("--applied", required=True, metavar="FILE",
                            help="the migrations applied where it will run (showmigrations --plan); - for stdin")

    def handle(self, *args, applied="", **options):
        try:
            text = sys.stdin.read() if applied == "-" else Path(applied).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read --applied {applied}: {error.strerror or error}",
                               returncode=CANNOT_CHECK) from None
        except UnicodeDecodeError:
            raise CommandError(f"cannot read --applied {applied}: it is not UTF-8 text",
                               returncode=CANNOT_CHECK) from None
        try:
            done = parse_applied(text)
        except AppliedListError as error:
            raise CommandError(f"--applied {applied}, {error}", returncode=CANNOT_CHECK) from None
        problems = unsafe_migrations(done)
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            sys.exit(1)
