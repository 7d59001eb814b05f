"""Cached list entries and post articles (blog/views.py post_entries, post_article): fresh after every change."""

import re

import pytest

from blog.models import Comment, Tag

pytestmark = pytest.mark.django_db


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def views_shown(html):
    return int(re.search(r'<span class="views">(\d+) views?</span>', html).group(1))


def test_a_new_comment_shows_at_once_on_the_post_and_in_the_index(client, post):
    url = post.get_absolute_url()
    get(client, url), get(client, "/")  # warm both caches
    response = client.post(f"/comment/{post.pk}", {"name": "Ann", "email": "ann@example.com", "text": "Fresh comment"})
    assert response.status_code == 302
    assert "Fresh comment" in get(client, url)
    assert "1 comment<" in get(client, url)
    assert "1 comment<" in get(client, "/")
    Comment.objects.create(post=post, name="Bob", email="bob@example.com", text="Another")
    assert "2 comments<" in get(client, "/")
    assert "Another" in get(client, url)


def test_editing_a_post_changes_its_entry_and_its_page(client, post):
    url = post.get_absolute_url()
    assert "First post" in get(client, "/") and "First post" in get(client, url)
    post.title = "Renamed title"
    post.body = "## Fresh heading\n\nnew text"
    post.save()
    index, page = get(client, "/"), get(client, url)
    assert "Renamed title" in index and "First post" not in index
    assert "Renamed title" in page and "Fresh heading" in page and ">Intro<" not in page
    # saved without touching modified_time (update_fields): still fresh
    post.title = "Third title"
    post.save(update_fields=["title"])
    assert "Third title" in get(client, "/") and "Third title" in get(client, url)


def test_category_and_tag_changes_show_on_the_cached_pages(client, post):
    url = post.get_absolute_url()
    get(client, "/"), get(client, url)
    post.category.name = "New category name"
    post.category.save()
    assert 'class="category"' in get(client, "/")
    assert "New category name" in get(client, "/").split('<aside class="sidebar"')[0]
    assert "New category name" in get(client, url).split('<aside class="sidebar"')[0]
    extra = Tag.objects.create(name="added-tag")
    post.tags.add(extra)
    assert 'class="tag"' in get(client, url) and "added-tag" in get(client, url).split('<aside class="sidebar"')[0]
    post.tags.remove(extra)
    assert "added-tag" not in get(client, url)


def test_previous_and_next_follow_new_and_deleted_posts(client, post, make_post):
    older = make_post(title="Older post", days_ago=5)
    url = older.get_absolute_url()
    assert 'rel="next"' in get(client, url) and "First post" in get(client, url).split('class="post-nav"')[1]
    newer = make_post(title="In between", days_ago=2)
    assert "In between" in get(client, url).split('class="post-nav"')[1]
    newer.delete()
    assert "First post" in get(client, url).split('class="post-nav"')[1]


def test_the_views_counter_still_counts_every_view(client, post):
    url = post.get_absolute_url()
    shown = [views_shown(get(client, url)) for _ in range(3)]
    assert shown == [1, 2, 3]
    post.refresh_from_db()
    assert post.views == 3
    assert '<span class="views">3 views</span>' in get(client, "/")


def test_cached_html_stays_escaped(client, make_post):
    evil = make_post(title="<script>alert(1)</script>", body="<script>alert(2)</script>\n\n## Safe")
    for _ in range(2):  # rendered, then from the cache
        index, page = get(client, "/"), get(client, evil.get_absolute_url())
        for html in (index, page):
            assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
