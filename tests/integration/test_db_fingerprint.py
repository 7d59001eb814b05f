"""manage.py db_fingerprint (blog/fingerprint.py): equal rows give equal fingerprints on SQLite and PostgreSQL."""

import datetime
import decimal
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from blog.fingerprint import counted_models, fingerprint, first_difference, render, text_form
from blog.models import Comment
from tests.integration import databases

TABLES = ["auth_group", "auth_group_permissions", "auth_user", "auth_user_groups", "auth_user_user_permissions",
          "blog_category", "blog_comment", "blog_post", "blog_post_tags", "blog_tag", "django_admin_log"]


def test_what_is_counted():
    assert sorted(m._meta.db_table for m in counted_models()) == TABLES


@pytest.mark.django_db
def test_one_line_of_json_with_counts_and_checksums(capsys, post):
    call_command("db_fingerprint")
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    found = json.loads(out)
    assert sorted(found) == ["comments_sha256", "counts", "posts_sha256"]
    assert list(found["counts"]) == TABLES
    assert found["counts"]["blog_post"] == 1 and found["counts"]["blog_post_tags"] == 1
    assert found["counts"]["auth_user"] == 1
    assert len(found["posts_sha256"]) == len(found["comments_sha256"]) == 64
    assert out.strip() == render(fingerprint())


def test_the_same_rows_in_two_databases_give_the_same_fingerprint(source_sqlite, empty_database):
    """The source is SQLite; the other database is this pass's kind: SQLite, or PostgreSQL in its pass."""
    other = empty_database()
    databases.manage(other, "migrate", "--noinput", "-v0")
    assert databases.run_in(other, databases.POPULATE) == 5
    here = databases.manage(source_sqlite, "db_fingerprint").stdout
    there = databases.manage(other, "db_fingerprint").stdout
    assert here == there
    counts = json.loads(here)["counts"]
    assert counts == {"auth_group": 1, "auth_group_permissions": 1, "auth_user": 2, "auth_user_groups": 1,
                      "auth_user_user_permissions": 1, "blog_category": 3, "blog_comment": 6, "blog_post": 5,
                      "blog_post_tags": 9, "blog_tag": 4, "django_admin_log": 1}


@pytest.mark.django_db
def test_one_changed_comment_changes_the_comments_checksum_only(post):
    first = Comment.objects.create(post=post, name="Ann", email="ann@example.com", text="Hello")
    Comment.objects.create(post=post, name="Bob", email="bob@example.com", text="Hi")
    before = fingerprint()
    Comment.objects.filter(pk=first.pk).update(text="Hello!")
    edited = fingerprint()
    assert edited["comments_sha256"] != before["comments_sha256"]
    assert (edited["posts_sha256"], edited["counts"]) == (before["posts_sha256"], before["counts"])
    assert first_difference(before, edited) == (
        "blog_comment (same row count, different content: comments_sha256 differs)"
    )
    later = first.created_time + timedelta(microseconds=1)
    Comment.objects.filter(pk=first.pk).update(text="Hello", created_time=later)
    assert fingerprint()["comments_sha256"] not in (before["comments_sha256"], edited["comments_sha256"])
    Comment.objects.filter(pk=first.pk).update(created_time=first.created_time)
    assert fingerprint() == before


@pytest.mark.django_db
def test_a_post_and_its_tags_are_in_the_posts_checksum(post, tag):
    other = type(tag).objects.create(name="other")
    before = fingerprint()
    post.tags.clear()
    post.tags.add(tag)
    assert fingerprint() == before  # the same pair again
    post.tags.set([other])
    changed = fingerprint()
    assert changed["posts_sha256"] != before["posts_sha256"] and changed["counts"] == before["counts"]


def test_first_difference_names_the_first_table():
    base = {"counts": {"blog_comment": 2, "blog_post": 1}, "posts_sha256": "a", "comments_sha256": "b"}
    assert first_difference(base, dict(base)) is None
    fewer = {**base, "counts": {"blog_comment": 1, "blog_post": 0}}
    assert first_difference(base, fewer) == "blog_comment (rows: 2 in the source, 1 in the copy)"
    assert first_difference(base, {**base, "posts_sha256": "c"}).startswith("blog_post (same row count")


IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime.datetime(2024, 3, 1, 5, 29, 58, 123456, tzinfo=IST), "2024-02-29T23:59:58.123456+00:00"),
        (datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=datetime.UTC), "2024-02-29T23:59:58.123456+00:00"),
        (datetime.datetime(2024, 2, 29, 23, 59, 58, tzinfo=datetime.UTC), "2024-02-29T23:59:58.000000+00:00"),
        (datetime.datetime(2024, 2, 29, 23, 59, 58), "2024-02-29T23:59:58.000000"),
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (True, True),
        (False, False),
        (1, 1),
        (None, None),
        ("ü", "ü"),
        (decimal.Decimal("1.50"), "1.5"),
        (b"\x00\xff", "00ff"),
    ],
)
def test_one_text_form_whatever_the_backend_returned(value, text):
    assert text_form(value) == text
    assert type(text_form(value)) is type(text)


@pytest.mark.django_db
def test_a_database_that_cannot_be_read_is_one_line(capsys, monkeypatch):
    from django.db import DatabaseError

    monkeypatch.setattr("blog.management.commands.db_fingerprint.fingerprint",
                        lambda using: (_ for _ in ()).throw(DatabaseError("no such table: blog_post\nmore")))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"^cannot read the default database: no such table: blog_post more$"):
        call_command("db_fingerprint")


def test_this_pass_database_is_named():
    assert connection.vendor in ("sqlite", "postgresql")
