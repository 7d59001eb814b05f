"""The blog during a database move (the toolkit's read-only switch): its themed 503, reads that write nothing."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog.models import Comment, Post
from tests.harness.queries import writes

pytestmark = pytest.mark.django_db

COMMENT = {"name": "Bob", "email": "bob@example.com", "text": "Written during the move"}
ENGINE = connection.vendor  # "sqlite" or "postgresql": this pass's database


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


def test_the_default_flag_is_in_the_database_folder():
    from django.conf import settings

    assert settings.READ_ONLY_FILE == settings.SQLITE_DIR / ".read-only"
    assert settings.MIDDLEWARE.index("deploy.djangoapp.readonly.ReadOnlyMiddleware") < settings.MIDDLEWARE.index(
        "django.contrib.sessions.middleware.SessionMiddleware"
    )
