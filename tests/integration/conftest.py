"""Fixtures for the tests that need databases besides the test database (tests/integration/databases.py)."""

import pytest
from django.db import connection

from tests.integration import databases


@pytest.fixture
def empty_database(tmp_path):
    """empty_database() -> the URL of a new, empty database of this pass's kind (a file, or on PostgreSQL)."""
    made = []

    def make(name="target"):
        if connection.vendor == "postgresql":
            url = databases.create_postgres_database()
            made.append(url)
            return url
        return databases.sqlite_url(tmp_path / f"{name}.sqlite3")

    yield make
    for url in made:
        databases.drop_postgres_database(url)


@pytest.fixture(scope="module")
def source_sqlite(tmp_path_factory):
    """A SQLite file (the site before a move), migrated and filled by POPULATE; its URL."""
    url = databases.sqlite_url(tmp_path_factory.mktemp("source") / "db.sqlite3")
    databases.manage(url, "migrate", "--noinput", "-v0")
    databases.run_in(url, databases.POPULATE)
    return url


@pytest.fixture
def flag(settings, tmp_path):
    """flag(text) writes the read-only file with `text`; flag(None) removes it."""
    settings.READ_ONLY_FILE = tmp_path / "database" / ".read-only"
    settings.READ_ONLY_FILE.parent.mkdir()

    def set_flag(text):
        if text is None:
            settings.READ_ONLY_FILE.unlink(missing_ok=True)
        else:
            settings.READ_ONLY_FILE.write_text(text)

    return set_flag
