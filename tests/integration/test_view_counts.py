"""Post views counted in memory and written in batches (blog/viewcount.py), or at once with the interval 0."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from blog import viewcount
from blog.models import Post
from testbed.worktree import free_port
from tests.integration import databases

pytestmark = pytest.mark.django_db

ENGINE = connection.vendor
POST_UPDATE = re.compile(r'^\s*UPDATE\s+"blog_post"', re.IGNORECASE)


@pytest.fixture(autouse=True)
def fresh_counter():
    viewcount.counter.stop()
    yield viewcount.counter
    viewcount.counter.stop()  # nothing pending, no thread, for the next test


@pytest.fixture
def batches(settings):
    """Batches on, with an interval no test waits for: only the test's own flush() writes."""
    settings.VIEW_COUNT_FLUSH_SECONDS = 3600


def views_shown(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return int(re.search(r'<span class="views">(\d+) views?</span>', response.content.decode()).group(1))


def post_updates(ctx):
    return [q["sql"] for q in ctx.captured_queries if POST_UPDATE.match(q["sql"])]


def stored(post):
    return Post.objects.values_list("views", flat=True).get(pk=post.pk)


def test_views_are_not_written_in_the_request_and_one_flush_writes_them(client, post, make_post, batches):
    other = make_post(title="Other post", days_ago=3)
    with CaptureQueriesContext(connection) as ctx:
        shown = [views_shown(client, post.get_absolute_url()) for _ in range(5)]
        views_shown(client, other.get_absolute_url())
        views_shown(client, other.get_absolute_url())
    assert post_updates(ctx) == []  # not one write during the requests
    assert shown == [1, 2, 3, 4, 5]  # each reader sees their own view: the database's 0 plus what is pending
    assert '<span class="views">5 views</span>' in client.get("/").content.decode()
    assert (stored(post), stored(other)) == (0, 0)
    assert (viewcount.counter.pending(post.pk), viewcount.counter.pending(other.pk)) == (5, 2)

    with CaptureQueriesContext(connection) as ctx:
        assert viewcount.counter.flush() == 7
    assert len(post_updates(ctx)) == 2  # one UPDATE per post, views = views + n
    assert all("+" in sql for sql in post_updates(ctx))
    assert (stored(post), stored(other)) == (5, 2)
    assert viewcount.counter.pending_total() == 0
    assert views_shown(client, post.get_absolute_url()) == 6  # 5 from the database, 1 pending
    with CaptureQueriesContext(connection) as ctx:
        assert viewcount.counter.flush() == 1
        assert viewcount.counter.flush() == 0  # nothing left: no query at all
    assert len(post_updates(ctx)) == 1
    assert stored(post) == 6


def test_a_flush_adds_to_what_the_database_has(post, batches):
    Post.objects.filter(pk=post.pk).update(views=40)  # e.g. another worker's batch
    for _ in range(3):
        viewcount.counter.add(post.pk)
    viewcount.counter.flush()
    assert stored(post) == 43


def test_the_interval_0_writes_every_view_in_its_request(client, post, settings):
    settings.VIEW_COUNT_FLUSH_SECONDS = 0
    for expected in (1, 2, 3):
        with CaptureQueriesContext(connection) as ctx:
            assert views_shown(client, post.get_absolute_url()) == expected
        assert len(post_updates(ctx)) == 1
        assert stored(post) == expected
    assert viewcount.counter.pending_total() == 0
    assert viewcount.counter._thread is None  # no thread without batches


def test_no_thread_until_the_first_view(client, post, batches):
    assert client.get("/").status_code == 200
    assert viewcount.counter._thread is None
    assert not [t for t in threading.enumerate() if t.name == "view-counts"]
    client.get(post.get_absolute_url())
    assert viewcount.counter._thread.is_alive()
    assert viewcount.counter._thread.daemon


def test_concurrent_views_and_flushes_lose_nothing(post, make_post, batches):
    other = make_post(title="Other post", days_ago=3)
    threads, per_thread = 8, 2000
    start = threading.Barrier(threads + 1)

    def view():
        start.wait()
        for i in range(per_thread):
            viewcount.counter.add(post.pk if i % 2 else other.pk)

    workers = [threading.Thread(target=view) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    flushes = 0
    while any(worker.is_alive() for worker in workers):  # batches written while the views are counted
        viewcount.counter.flush()
        flushes += 1
    for worker in workers:
        worker.join()
    viewcount.counter.flush()
    assert flushes > 1
    assert (stored(post), stored(other)) == (threads * per_thread // 2, threads * per_thread // 2)
    assert viewcount.counter.pending_total() == 0


def test_a_failed_batch_keeps_its_views_for_the_next_one(post, batches, monkeypatch):
    for _ in range(4):
        viewcount.counter.add(post.pk)
    real_update = QuerySet.update

    def locked(self, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(QuerySet, "update", locked)
    with pytest.raises(DatabaseError):
        viewcount.counter.flush()
    assert viewcount.counter.pending(post.pk) == 4
    monkeypatch.setattr(QuerySet, "update", real_update)
    viewcount.counter.add(post.pk)
    assert viewcount.counter.flush() == 5
    assert stored(post) == 5


def test_read_only_counts_nothing_and_keeps_what_was_pending_until_writable(client, post, batches, flag):
    for _ in range(3):
        views_shown(client, post.get_absolute_url())
    flag(ENGINE)  # a database move begins
    with CaptureQueriesContext(connection) as ctx:
        assert views_shown(client, post.get_absolute_url()) == 3  # the views so far; this one is not counted
        assert viewcount.counter.flush() == 0  # no batch while the copy runs
    assert post_updates(ctx) == []
    assert stored(post) == 0
    assert viewcount.counter.pending(post.pk) == 3  # kept
    flag(None)  # the move was undone: the same database is writable again
    assert viewcount.counter.flush() == 3
    assert stored(post) == 3


def test_a_flag_for_another_engine_changes_nothing(client, post, batches, flag):
    flag("postgresql" if ENGINE == "sqlite" else "sqlite")
    views_shown(client, post.get_absolute_url())
    assert viewcount.counter.flush() == 1
    assert stored(post) == 1


def test_close_writes_what_is_pending_and_stops_the_thread(client, post, batches):
    views_shown(client, post.get_absolute_url())
    views_shown(client, post.get_absolute_url())
    thread = viewcount.counter._thread
    viewcount.close()
    assert stored(post) == 2
    assert not thread.is_alive()


def test_close_while_read_only_drops_the_pending_views_and_says_so(client, post, batches, flag, caplog):
    views_shown(client, post.get_absolute_url())
    flag(ENGINE)
    viewcount.close()
    assert stored(post) == 0
    assert "1 views not written at exit: the site is read-only (a database move)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_thread_writes_a_batch_every_interval_without_another_request(client, post, settings):
    settings.VIEW_COUNT_FLUSH_SECONDS = 0.2
    for _ in range(3):
        views_shown(client, post.get_absolute_url())
    deadline = time.monotonic() + 20  # a busy machine: 0.2 s is the aim, 20 s the limit
    while stored(post) != 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored(post) == 3
    assert viewcount.counter.pending_total() == 0


@pytest.mark.parametrize("value", ["-1", "abc", "99999"])
def test_a_wrong_interval_stops_the_start_with_one_line(value, monkeypatch):
    from mysite.settings.common import _flush_seconds

    monkeypatch.setenv("VIEW_COUNT_FLUSH_SECONDS", value)
    with pytest.raises(ImproperlyConfigured, match=r"^VIEW_COUNT_FLUSH_SECONDS is .*: give a number of seconds"):
        _flush_seconds("VIEW_COUNT_FLUSH_SECONDS", 2.0)


@pytest.mark.parametrize(("value", "expected"), [("", 2.0), ("0", 0.0), ("0.5", 0.5), ("5", 5.0)])
def test_the_interval_setting(value, expected, monkeypatch):
    from mysite.settings.common import _flush_seconds

    monkeypatch.setenv("VIEW_COUNT_FLUSH_SECONDS", value)
    assert _flush_seconds("VIEW_COUNT_FLUSH_SECONDS", 2.0) == expected


def test_gunicorn_workers_write_their_views_when_stopped_with_sigterm(empty_database, tmp_path):
    """The production gunicorn config with two workers: views sit in memory until SIGTERM (a deploy's docker
    stop), then each worker's atexit handler writes them (gunicorn.conf.py has no hook of the blog's)."""
    url = empty_database("gunicorn")
    databases.manage(url, "migrate", "--noinput", "-v0")
    pk = databases.run_in(url, (
        "import json\nfrom django.contrib.auth.models import User\nfrom blog.models import Category, Post\n"
        "p = Post.objects.create(title='T', body='b', category=Category.objects.create(name='c'),"
        " author=User.objects.create_user('a'))\nprint(json.dumps(p.pk))"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "MYSITE_"))}
    env.update(DJANGO_SETTINGS_MODULE="mysite.settings.local", DATABASE_URL=url, VIEW_COUNT_FLUSH_SECONDS="3600",
               WEB_CONCURRENCY="2", GUNICORN_THREADS="2")
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "compose/production/django/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "mysite.wsgi:application"],
            cwd=databases.REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        views = 20
        for _ in range(views):  # one connection each: both workers get some
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/posts/{pk}/", timeout=10) as response:
                assert response.status == 200
        count = f"import json\nfrom blog.models import Post\nprint(json.dumps(Post.objects.get(pk={pk}).views))"
        assert databases.run_in(url, count) == 0  # all in the workers' memory
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert databases.run_in(url, count) == views, log.read_text()[-3000:]
