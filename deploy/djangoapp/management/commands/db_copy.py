"""python manage.py db_copy: every row of this site's database into the empty database at a URL read from stdin.

    printf '%s\n' "$TARGET_URL" | python manage.py db_copy     # or type it at the prompt (not echoed)

The URL (a DATABASE_URL, e.g. postgres://site:PASSWORD@postgres:5432/site) holds a password, so it is
never an argument: a process's arguments are readable by every user of the machine (`ps`).

1. The URL becomes a second connection, and `migrate` builds the schema there (content
   types, permissions and the cache table come with it).
2. Refused when the target already holds rows in the tables the fingerprint counts (every table it
   copies: the project's, users, groups, admin log, sessions): `the target database already holds rows:
   it is not empty (TABLE N, ...)`.
   Nothing is copied.
3. dumpdata of this database (natural foreign keys: content types and permissions are matched by
   name, not id; ids of everything else are kept) into a private temporary file, in JSON that keeps
   microseconds (deploy/djangoapp/exact_json.py: Django's json format cuts them), then loaddata into the target
   in one transaction; loaddata also moves PostgreSQL's sequences past the copied ids.
   Sessions are copied too (admins stay logged in); the cache table starts empty.
4. The fingerprints of both (deploy/djangoapp/fingerprint.py: row counts and a checksum of every copied table)
   are printed, source then copy, one JSON line each; when they differ, exit 1 naming the first table
   that does.

Run it while the site is read-only (deploy/djangoapp/readonly.py; `fab db.to-postgres` does): rows written during
the copy would be missed, which step 4 would then report. Every failure is one line on stderr, exit 1.
With -v 2 the steps are said on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from contextlib import contextmanager

import environ
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from deploy.djangoapp import exact_json
from deploy.djangoapp.fingerprint import EXCLUDED, fingerprint, first_difference, render
from deploy.djangoapp.management.commands.db_fingerprint import one_line

TARGET = "db_copy_target"


class Command(BaseCommand):
    help = ("Copy every row into the empty database whose URL (a DATABASE_URL) is the first line of stdin, "
            "then compare fingerprints.")

    def add_arguments(self, parser):
        parser.add_argument("--to", help=argparse.SUPPRESS)  # the old way, refused with the new one named

    def handle(self, *args, to=None, **options):
        self.verbose = options.get("verbosity", 1) >= 2
        if to is not None:
            raise CommandError("--to is refused: a URL among the arguments shows its password to every user of the "
                               "machine (ps); give it as the first line of stdin instead")
        try:
            with target_connection(read_target()) as alias:
                self.copy(alias)
        except CommandError as error:
            raise CommandError(one_line(error)) from None
        except Exception as error:  # noqa: BLE001 - every failure is one line, never a traceback
            raise CommandError(f"{type(error).__name__}: {one_line(error)}") from None

    def say(self, message: str) -> None:
        if self.verbose:
            self.stderr.write(f"db_copy: {message}")

    def copy(self, alias: str) -> None:
        target = connections[alias]
        self.say(f"connecting to the target ({target.vendor} {target.settings_dict['NAME']})")
        try:
            target.ensure_connection()
        except Exception as error:  # noqa: BLE001
            raise CommandError(f"cannot connect to the target database: {one_line(error)}") from None
        self.say("migrate: the schema in the target")
        call_command("migrate", database=alias, interactive=False, verbosity=0)
        held = fingerprint(alias)["counts"]
        if any(held.values()):
            rows = ", ".join(f"{table} {n}" for table, n in held.items() if n)
            raise CommandError(f"the target database already holds rows: it is not empty ({rows}); "
                               "db_copy fills an empty database only, and copied nothing")
        with tempfile.TemporaryDirectory(prefix="db_copy-") as folder:  # mode 700: the dump holds password hashes
            serializers.register_serializer(exact_json.FORMAT, exact_json.__name__)
            dump = os.path.join(folder, f"rows.{exact_json.FORMAT}")
            self.say("dumpdata: every row of this database")
            call_command("dumpdata", natural_foreign=True, use_base_manager=True, exclude=list(EXCLUDED),
                         format=exact_json.FORMAT, output=dump, database=DEFAULT_DB_ALIAS, verbosity=0)
            self.say("loaddata: into the target, in one transaction; sequences reset")
            call_command("loaddata", dump, database=alias, verbosity=0)
        source, copied = fingerprint(DEFAULT_DB_ALIAS), fingerprint(alias)
        self.stdout.write(render(source))
        self.stdout.write(render(copied))
        difference = first_difference(source, copied)
        if difference:
            raise CommandError(f"the copy differs from the source: {difference}")
        rows, tables = sum(source["counts"].values()), len(source["counts"])
        self.say(f"done: {rows} rows in {tables} tables, fingerprints equal")


def read_target() -> str:
    """The target's URL: the first line of stdin, or typed at a prompt that does not echo it."""
    if sys.stdin is None:
        return ""
    try:
        if sys.stdin.isatty():
            return getpass.getpass("the target's DATABASE_URL: ").strip()
        return sys.stdin.readline().strip()
    except EOFError:  # Ctrl-D at the prompt
        return ""


@contextmanager
def target_connection(url: str):
    """A connection alias for the database at ``url``, for this command only."""
    if not url.strip():
        raise CommandError("no target URL on stdin: give the target's DATABASE_URL as the first line of stdin, "
                           "e.g. postgres://USER:PASSWORD@HOST:5432/NAME")
    scheme = url.strip().partition("://")[0]
    if "://" not in url or scheme not in environ.Env.DB_SCHEMES:
        raise CommandError(f"the target is not a database URL ({scheme!r} is no database scheme): e.g. "
                           "postgres://USER:PASSWORD@HOST:5432/NAME or sqlite:////absolute/path.sqlite3")
    try:
        config = environ.Env.db_url_config(url.strip())
    except Exception as error:  # noqa: BLE001 - django-environ raises several kinds
        raise CommandError(f"the target is not a database URL ({one_line(error)}): e.g. "
                           "postgres://USER:PASSWORD@HOST:5432/NAME") from None
    if not config.get("ENGINE") or not config.get("NAME"):
        raise CommandError("the target URL names no database: e.g. postgres://USER:PASSWORD@HOST:5432/NAME")
    source = connections[DEFAULT_DB_ALIAS].settings_dict
    if all(str(config.get(key) or "") == str(source.get(key) or "") for key in ("ENGINE", "NAME", "HOST", "PORT")):
        raise CommandError("the target URL names this site's own database: the target must be another, empty one")
    settings = connections.settings
    settings[TARGET] = connections.configure_settings({DEFAULT_DB_ALIAS: dict(source), TARGET: config})[TARGET]
    try:
        yield TARGET
    finally:
        connections[TARGET].close()
        del connections[TARGET]
        del settings[TARGET]
