"""manage.py db_copy, the target's URL on stdin: a SQLite file into an empty database of this pass's kind,
checked by fingerprints.

In the SQLite pass the target is another SQLite file; in the PostgreSQL pass, a fresh PostgreSQL database.
"""

import json

import pytest
from django.db import connection

from tests.integration import databases
from tests.integration.databases import CONTENT, NEW_ROWS, manage, run_in


def one_line_failure(done, *words):
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


CACHE_ROWS = ("from django.db import connection; c = connection.cursor(); "
              "c.execute('SELECT cache_key, value, expires FROM mysite_cache ORDER BY cache_key'); "
              "import json; print(json.dumps([list(map(str, row)) for row in c.fetchall()]))")


def test_every_row_is_copied_with_its_id_and_the_copy_is_checked(source_sqlite, empty_database):
    target = empty_database()
    cache_before = run_in(source_sqlite, CACHE_ROWS)
    assert cache_before  # the sidebar's generation, replaced by every save of a post
    done = manage(source_sqlite, "db_copy", stdin=target)
    assert run_in(source_sqlite, CACHE_ROWS) == cache_before  # loading the copy wrote nothing into the source
    assert done.stderr == ""
    source_line, copy_line = done.stdout.strip().splitlines()  # exactly two lines: both fingerprints
    assert source_line == copy_line == manage(source_sqlite, "db_fingerprint").stdout.strip()
    assert manage(target, "db_fingerprint").stdout.strip() == copy_line
    counts = json.loads(copy_line)["counts"]
    assert counts["blog_post"] == 5 and counts["blog_post_tags"] == 9 and counts["auth_user_groups"] == 1

    content = run_in(source_sqlite, CONTENT)
    assert run_in(target, CONTENT) == content  # ids, authors, tags, times to the microsecond, users, permissions
    assert [p[0] for p in content["posts"]] == [1, 2, 3, 5, 6]  # the gap is kept
    assert content["users"][0][-1] is True  # password hashes copied: alice still logs in

    new = run_in(target, NEW_ROWS)  # the sequences follow the copied ids
    assert new == {"post": 7, "comment": 7, "category": 4, "tag": 5, "user": 3, "group": 2}


def test_a_second_copy_is_refused_and_changes_nothing(source_sqlite, empty_database):
    target = empty_database()
    manage(source_sqlite, "db_copy", stdin=target)
    before = manage(target, "db_fingerprint").stdout
    again = manage(source_sqlite, "db_copy", stdin=target, check=False)
    line = one_line_failure(again, "the target database already holds rows: it is not empty (", "copied nothing")
    assert "blog_comment 6" in line and "blog_post 5" in line
    assert again.stdout == ""
    assert manage(target, "db_fingerprint").stdout == before


def test_a_target_with_users_only_is_refused_too(source_sqlite, empty_database):
    target = empty_database()
    manage(target, "migrate", "--noinput", "-v0")
    run_in(target, "from django.contrib.auth.models import User; User.objects.create_user('x'); print(1)")
    done = manage(source_sqlite, "db_copy", stdin=target, check=False)
    one_line_failure(done, "the target database already holds rows: it is not empty (auth_user 1)")


def test_the_steps_are_said_with_verbosity_2(source_sqlite, empty_database):
    done = manage(source_sqlite, "db_copy", "-v", "2", stdin=empty_database())
    said = done.stderr.splitlines()
    assert said[0].startswith(f"db_copy: connecting to the target ({connection.vendor} ")
    assert said[-1] == "db_copy: done: 34 rows in 12 tables, fingerprints equal"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", ["no target URL on stdin"]),
        ("mysql-ish://nowhere", ["the target is not a database URL", "postgres://USER:PASSWORD@HOST:5432/NAME"]),
        ("postgres://u:p@127.0.0.1:1/nothing", ["cannot connect to the target database", "127.0.0.1"]),
        ("sqlite:////no/such/folder/db.sqlite3", ["cannot connect to the target database"]),
    ],
)
def test_every_failure_is_one_line(source_sqlite, url, words):
    one_line_failure(manage(source_sqlite, "db_copy", stdin=url, check=False), *words)


def test_the_source_itself_is_refused(source_sqlite):
    one_line_failure(manage(source_sqlite, "db_copy", stdin=source_sqlite, check=False),
                     "the target URL names this site's own database")


def test_a_url_among_the_arguments_is_refused_before_anything_connects(source_sqlite, empty_database):
    target = empty_database()
    one_line_failure(manage(source_sqlite, "db_copy", "--to", target, check=False),
                     "--to is refused: a URL among the arguments shows its password", "first line of stdin")
    assert manage(target, "db_fingerprint", check=False).returncode != 0  # never migrated: nothing connected


def test_a_source_that_is_not_migrated_is_one_line(tmp_path, empty_database):
    empty_source = databases.sqlite_url(tmp_path / "empty.sqlite3")
    one_line_failure(manage(empty_source, "db_copy", stdin=empty_database(), check=False), "no such table")
