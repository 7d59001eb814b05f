"""Read-only mode during a database move (blog/readonly.py): writes get a 503, reads work and write nothing."""

import os
import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog import readonly
from blog.models import Comment, Post
from blog.sessions import SessionStore

pytestmark = pytest.mark.django_db

COMMENT = {"name": "Bob", "email": "bob@example.com", "text": "Written during the move"}
ENGINE = connection.vendor  # "sqlite" or "postgresql": this pass's database
OTHER_ENGINE = "postgresql" if ENGINE == "sqlite" else "sqlite"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)


def writes(ctx):
    return [q["sql"] for q in ctx.captured_queries if WRITE.match(q["sql"])]


def test_a_comment_gets_the_moving_page_and_nothing_is_written(client, post, flag):
    flag(ENGINE)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/comment/{post.pk}", COMMENT)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "The blog is moving to a new database" in html
    assert "try again in a moment" in html
    assert "blog/css/site.css" in html  # the site's theme
    assert ctx.captured_queries == []  # answered before any view, session or query
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_every_unsafe_method_is_refused_anywhere(client, post, flag, method):
    flag("")  # an empty flag names every engine
    for url in (f"/comment/{post.pk}", "/admin/login/", f"/posts/{post.pk}/", "/no-such-page/"):
        assert getattr(client, method)(url).status_code == 503, (method, url)


def test_reads_work_and_write_nothing_even_with_a_cold_cache(client, post, make_post, flag):
    other = make_post(title="Second post", days_ago=40)
    other.comments.create(name="Ann", email="ann@example.com", text="Hello")
    flag(ENGINE)
    cache.clear()  # nothing cached: every page renders its fragments, and would store them
    urls = ["/", f"/posts/{post.pk}/", f"/posts/{other.pk}/", f"/categories/{post.category.pk}/",
            f"/tags/{post.tags.get().pk}/", f"/archives/{other.created_time.year}/{other.created_time.month}/",
            "/search/?q=post", "/all/rss/", "/sitemap.xml", "/healthz", "/admin/login/"]
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            head = client.head(url)
        assert response.status_code == 200, url
        assert head.status_code == 200, url
        assert writes(ctx) == [], url
    assert "Second post" in client.get("/").content.decode()
    post.refresh_from_db()
    other.refresh_from_db()
    assert (post.views, other.views) == (0, 0)  # the counter skipped its UPDATE
    assert cache.get_many(["blog:sidebar:generation"]) == {}  # nothing stored


def test_the_page_shows_the_views_so_far_while_it_does_not_count(client, post, flag):
    Post.objects.filter(pk=post.pk).update(views=7)
    flag(ENGINE)
    html = client.get(f"/posts/{post.pk}/").content.decode()
    assert re.search(r"7 views", html)
    post.refresh_from_db()
    assert post.views == 7


def test_a_logged_in_admin_reads_without_writing_its_session(admin_client, post, flag):
    admin_client.get("/admin/")  # session saved before the move
    flag(ENGINE)
    for url in ("/admin/", "/admin/blog/post/", f"/admin/blog/post/{post.pk}/change/", "/"):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200, url
        assert writes(ctx) == [], url


def test_a_message_shown_from_the_session_saves_nothing(client, post, flag, settings):
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 302  # "Thanks..." kept in the session
    flag(ENGINE)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(f"/posts/{post.pk}/").content.decode()
    assert "Thanks, your comment is published." in html
    assert writes(ctx) == []  # shown, so the session changed: not saved while read-only


def test_sessions_neither_save_nor_delete_while_read_only(django_user_model):
    store = SessionStore()
    store["x"] = 1
    token = readonly._active.set(True)
    try:
        store.save()
        store.create()
        assert store.session_key  # a key for the cookie, never written
        store.delete()
    finally:
        readonly._active.reset(token)
    assert SessionStore.get_model_class().objects.count() == 0
    fresh = SessionStore()
    fresh["x"] = 1
    fresh.save()  # not read-only: Django's own behaviour
    assert SessionStore.get_model_class().objects.count() == 1


@pytest.mark.parametrize("text", [OTHER_ENGINE, f"{OTHER_ENGINE}\n", "mysql"])
def test_a_flag_that_names_another_engine_changes_nothing(client, post, flag, text):
    flag(text)
    response = client.post(f"/comment/{post.pk}", COMMENT)
    assert response.status_code == 302
    assert Comment.objects.count() == 1
    client.get(f"/posts/{post.pk}/")
    post.refresh_from_db()
    assert post.views == 1


@pytest.mark.parametrize("text", [ENGINE, ENGINE.upper() + "\n", f"{OTHER_ENGINE}, {ENGINE}", "", "  \n",
                                  {"sqlite": "sqlite3", "postgresql": "postgres"}[ENGINE]])
def test_a_flag_names_this_engine(client, post, flag, text):
    flag(text)
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503


def test_writes_work_again_once_the_flag_is_gone(client, post, flag):
    flag(ENGINE)
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503
    flag(None)
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 302
    assert Comment.objects.count() == 1
    client.get(f"/posts/{post.pk}/")
    post.refresh_from_db()
    assert post.views == 1


def test_the_flag_is_looked_up_on_every_request_with_one_stat(client, post, flag):
    flag(None)
    real_stat = os.stat
    with mock.patch("blog.readonly.os.stat", side_effect=real_stat) as stat:
        for _ in range(3):
            client.get("/healthz")
    flag_path = os.fspath(readonly.settings.READ_ONLY_FILE)
    assert [os.fspath(call.args[0]) for call in stat.call_args_list] == [flag_path] * 3
    flag(ENGINE)  # appears between two requests: the very next one sees it
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503


def test_a_flag_that_cannot_be_read_means_read_only(client, post, flag, settings):
    settings.READ_ONLY_FILE.mkdir()  # exists, but reading it fails
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503


def test_the_default_flag_is_in_the_database_folder():
    from django.conf import settings

    assert settings.READ_ONLY_FILE == settings.SQLITE_DIR / ".read-only"
    assert settings.MIDDLEWARE.index("blog.readonly.ReadOnlyMiddleware") < settings.MIDDLEWARE.index(
        "django.contrib.sessions.middleware.SessionMiddleware"
    )
