"""manage.py db_fingerprint (deploy/djangoapp/fingerprint.py): equal rows give equal fingerprints on SQLite and
PostgreSQL."""

import datetime
import decimal
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from blog.models import Comment
from deploy.djangoapp.fingerprint import copied_models, counted_models, fingerprint, first_difference, render, text_form
from tests.integration import databases

TABLES = ["auth_group", "auth_group_permissions", "auth_user", "auth_user_groups", "auth_user_user_permissions",
          "blog_category", "blog_comment", "blog_post", "blog_post_tags", "blog_tag", "django_admin_log",
          "django_session"]
COPIED = ["auth_group", "auth_user", "blog_category", "blog_comment", "blog_post", "blog_tag", "django_admin_log",
          "django_session"]


def test_what_is_counted_and_checksummed():
    assert sorted(m._meta.db_table for m in counted_models()) == TABLES
    assert [m._meta.db_table for m in copied_models()] == COPIED  # every table db_copy copies (m2m: in its owner's)


@pytest.mark.django_db
def test_one_line_of_json_with_counts_and_checksums(capsys, post):
    call_command("db_fingerprint")
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    found = json.loads(out)
    assert sorted(found) == ["counts", "sha256"]
    assert list(found["counts"]) == TABLES and list(found["sha256"]) == COPIED
    assert found["counts"]["blog_post"] == 1 and found["counts"]["blog_post_tags"] == 1
    assert found["counts"]["auth_user"] == 1
    assert {len(value) for value in found["sha256"].values()} == {64}
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
                      "blog_post_tags": 9, "blog_tag": 4, "django_admin_log": 1, "django_session": 0}


@pytest.mark.django_db
def test_one_changed_comment_changes_the_comments_checksum_only(post):
    first = Comment.objects.create(post=post, name="Ann", email="ann@example.com", text="Hello")
    Comment.objects.create(post=post, name="Bob", email="bob@example.com", text="Hi")
    before = fingerprint()
    Comment.objects.filter(pk=first.pk).update(text="Hello!")
    edited = fingerprint()
    assert edited["sha256"]["blog_comment"] != before["sha256"]["blog_comment"]
    assert edited["counts"] == before["counts"]
    assert {t: v for t, v in edited["sha256"].items() if t != "blog_comment"} == {
        t: v for t, v in before["sha256"].items() if t != "blog_comment"}
    assert first_difference(before, edited) == "blog_comment (same row count, different content: its sha256 differs)"
    later = first.created_time + timedelta(microseconds=1)
    Comment.objects.filter(pk=first.pk).update(text="Hello", created_time=later)
    assert fingerprint()["sha256"]["blog_comment"] not in (before["sha256"]["blog_comment"],
                                                           edited["sha256"]["blog_comment"])
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
    assert changed["sha256"]["blog_post"] != before["sha256"]["blog_post"] and changed["counts"] == before["counts"]


@pytest.mark.django_db
def test_a_changed_password_changes_the_fingerprint(post):
    """A password changed in SQLite while the rows are copied must not go unnoticed: the hash is checksummed."""
    user = post.author
    before = fingerprint()
    user.set_password("a new password, changed during the copy")
    user.save(update_fields=["password"])
    changed = fingerprint()
    assert changed != before and changed["counts"] == before["counts"]
    assert first_difference(before, changed) == "auth_user (same row count, different content: its sha256 differs)"


@pytest.mark.django_db
def test_permissions_are_compared_by_their_natural_keys(post):
    """`migrate` numbers them anew in the target: the same permission under another id is the same pair."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="editors")
    add, change = Permission.objects.get(codename="add_post"), Permission.objects.get(codename="change_post")
    group.permissions.add(add)
    post.author.user_permissions.add(add, change)
    before = fingerprint()
    again = Permission(name=add.name, codename=add.codename, content_type=add.content_type)
    add.delete()  # its pairs go with it; the same permission comes back under a higher id
    again.save()
    assert again.pk > change.pk
    group.permissions.add(again)
    post.author.user_permissions.add(again)
    assert fingerprint() == before
    group.permissions.set([Permission.objects.get(codename="delete_post")])
    assert fingerprint()["sha256"]["auth_group"] != before["sha256"]["auth_group"]


def test_first_difference_names_the_first_table():
    base = {"counts": {"blog_comment": 2, "blog_post": 1}, "sha256": {"blog_comment": "b", "blog_post": "a"}}
    assert first_difference(base, dict(base)) is None
    fewer = {**base, "counts": {"blog_comment": 1, "blog_post": 0}}
    assert first_difference(base, fewer) == "blog_comment (rows: 2 in the source, 1 in the copy)"
    other = {**base, "sha256": {"blog_comment": "b", "blog_post": "c"}}
    assert first_difference(base, other).startswith("blog_post (same row count")


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

    monkeypatch.setattr("deploy.djangoapp.management.commands.db_fingerprint.fingerprint",
                        lambda using: (_ for _ in ()).throw(DatabaseError("no such table: blog_post\nmore")))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"^cannot read the default database: no such table: blog_post more$"):
        call_command("db_fingerprint")


def test_this_pass_database_is_named():
    assert connection.vendor in ("sqlite", "postgresql")
