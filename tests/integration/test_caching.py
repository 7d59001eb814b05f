"""The cached sidebar (blog/sidebar.py): one query when warm, fresh after every change, shared by processes."""

from unittest import mock

import markdown
import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog import sidebar
from blog.models import Category, Post, Tag

pytestmark = pytest.mark.django_db


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def sidebar_html(client):
    html = client.get("/").content.decode()
    return html[html.index('<aside class="sidebar"') :]


def test_warm_sidebar_costs_one_query_and_the_first_view_after_a_change_renders_it(client, post):
    cold, _ = queries(client, "/")
    warm, html = queries(client, "/")
    assert warm == 3  # page count, posts, the sidebar from the cache
    assert cold > warm
    assert "First post" in html[html.index('<aside class="sidebar"') :]
    post.title = "Renamed"
    post.save()
    again, _ = queries(client, "/")
    assert again == cold


def test_a_new_post_shows_in_the_sidebar(client, post, make_post):
    assert "Brand new" not in sidebar_html(client)
    make_post(title="Brand new")
    assert "Brand new" in sidebar_html(client)


def test_delete_rename_and_tag_changes_invalidate(client, post, make_post, tag):
    other = make_post(title="Second post")
    assert "Second post" in sidebar_html(client)
    other.delete()
    assert "Second post" not in sidebar_html(client)

    category = post.category
    category.name = "Renamed category"
    category.save()
    assert "Renamed category" in sidebar_html(client)

    tag.name = "renamed-tag"
    tag.save()
    assert "renamed-tag" in sidebar_html(client)

    extra = Tag.objects.create(name="extra-tag")
    assert "extra-tag" not in sidebar_html(client)  # a tag without posts is not listed
    post.tags.add(extra)
    assert "extra-tag" in sidebar_html(client)
    post.tags.remove(extra)
    assert "extra-tag" not in sidebar_html(client)
    post.tags.add(extra)
    post.tags.clear()
    assert "extra-tag" not in sidebar_html(client)

    Category.objects.create(name="Empty category")  # saved: invalidates, but has no posts
    assert "Empty category" not in sidebar_html(client)


def test_another_process_sees_the_same_cache(client, post):
    """A second cache connection stands for another gunicorn worker or the other deploy container."""
    sidebar_html(client)
    other = caches.create_connection("default")
    generation = other.get(sidebar.GENERATION_KEY)
    assert generation
    assert other.get(sidebar.HTML_KEY.format(num_recent=5))[0] == generation
    Post.objects.filter(pk=post.pk).update(title="Bulk renamed")  # no signal: the cache is not told...
    sidebar.invalidate()  # ...until something is saved, as one process would after an admin edit
    assert other.get(sidebar.GENERATION_KEY) != generation
    assert "Bulk renamed" in sidebar_html(client)


def test_html_rendered_under_an_old_generation_is_never_served(client, post):
    """A reader that rendered before a change committed stores its HTML under the old token."""
    old = sidebar.render()
    key = sidebar.HTML_KEY.format(num_recent=5)
    stale_generation = caches["default"].get(sidebar.GENERATION_KEY)
    post.title = "After the change"
    post.save()
    caches["default"].set(key, (stale_generation, old), timeout=None)  # the slow reader's late write
    assert "After the change" in sidebar_html(client)


def test_a_lost_generation_starts_a_new_one(client, post):
    caches["default"].clear()
    assert "First post" in sidebar_html(client)
    assert caches["default"].get(sidebar.GENERATION_KEY)
    warm, _ = queries(client, "/")
    assert warm == 3


def test_a_post_view_never_renders_markdown(client, post):
    with mock.patch.object(markdown.Markdown, "convert", side_effect=AssertionError("rendered Markdown")) as convert:
        for _ in range(2):
            assert client.get(post.get_absolute_url()).status_code == 200
    convert.assert_not_called()


def test_cached_sidebar_html_stays_escaped(client, make_post):
    make_post(title="<script>alert(1)</script>")
    for _ in range(2):  # rendered, then from the cache
        html = sidebar_html(client)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
