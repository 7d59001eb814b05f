"""Shared fixtures for the Django tests (integration and browser), and the database pass's selection.

Pure unit tests (tests/unit) don't need any of these; the fixtures only touch the database when used.

`inv test` runs the Django integration tests twice: on SQLite (in memory, with everything else), then
with DATABASE_URL pointing at PostgreSQL (testbed/postgres.py) and MYSITE_DATABASE_PASS=1, under
which only DATABASE_TESTS run (the others are deselected), whatever paths or options the run was given.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
# the tests that run once per database: the Django integration tests
DATABASE_TESTS = ("tests/integration", "tests/reliability/test_error_pages.py")


def database_pass() -> bool:
    return os.environ.get("MYSITE_DATABASE_PASS") == "1"


def pytest_collection_modifyitems(config, items):
    """In the database pass, the tests outside DATABASE_TESTS are deselected."""
    if not database_pass():
        return
    keep, drop = [], []
    for item in items:
        relative = item.path.resolve().relative_to(ROOT).as_posix()
        inside = any(relative == d or relative.startswith(d + "/") for d in DATABASE_TESTS)
        (keep if inside else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    """Which database the Django tests of this run use: `inv test` prints it for each pass."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        where = "SQLite, in memory" if db["NAME"] == ":memory:" else f"SQLite {db['NAME']}"
    else:
        test_name = db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}"
        where = f"{db['ENGINE'].rsplit('.', 1)[-1]} at {db['HOST']}:{db['PORT']} (test database {test_name})"
    selection = "; MYSITE_DATABASE_PASS=1: only " + ", ".join(DATABASE_TESTS) if database_pass() else ""
    return f"database: {where}{selection}"


MODULE_SECONDS: dict[str, float] = {}  # each test module's setup, call and teardown time (its servers' boot too)


def pytest_runtest_logreport(report):
    module = report.nodeid.split("::", 1)[0]
    MODULE_SECONDS[module] = MODULE_SECONDS.get(module, 0.0) + report.duration


def pytest_sessionfinish(session):
    """Before the run ends: the copies of the prepared server made ahead that no test took are dropped, and the
    servers' volumes removed in the background are gone (tests/harness/prepared.py, testbed/servers.py)."""
    prepared = sys.modules.get("tests.harness.prepared")
    if prepared is not None:
        prepared.discard_spares()
    servers = sys.modules.get("testbed.servers")
    if servers is not None:
        servers.wait_for_removals()


def pytest_terminal_summary(terminalreporter):
    """What the slow test modules cost (setup, tests, teardown): where a run's minutes go."""
    slow = [(module, seconds) for module, seconds in MODULE_SECONDS.items() if seconds >= 5]
    if not slow:
        return
    terminalreporter.section("what each test module of 5 s or more cost (setup, tests, teardown)")
    for module, seconds in sorted(slow, key=lambda m: -m[1]):
        terminalreporter.write_line(f"{seconds:6.0f}s  {module}")
    rest = sum(MODULE_SECONDS.values()) - sum(seconds for _, seconds in slow)
    terminalreporter.write_line(f"{rest:6.0f}s  the {len(MODULE_SECONDS) - len(slow)} other modules together")


@pytest.fixture
def author(django_user_model):
    return django_user_model.objects.create_user(username="alice", email="alice@example.com", password="pw")


@pytest.fixture
def category(db):
    from blog.models import Category

    return Category.objects.create(name="Django")


@pytest.fixture
def tag(db):
    from blog.models import Tag

    return Tag.objects.create(name="tutorial")


@pytest.fixture
def make_post(db, author, category):
    """make_post(title=..., body=..., days_ago=..., tags=[...]) -> a saved Post."""
    from blog.models import Post

    def _make(title="Hello world", body="Some **text**.", days_ago=0, tags=(), **kwargs):
        kwargs.setdefault("category", category)
        kwargs.setdefault("author", author)
        post = Post.objects.create(
            title=title, body=body, created_time=timezone.now() - timedelta(days=days_ago), **kwargs
        )
        if tags:
            post.tags.set(tags)
        return post

    return _make


@pytest.fixture
def post(make_post, tag):
    return make_post(title="First post", body="# Intro\n\nHello **world**.", tags=[tag])
