"""Index and post pages run a constant number of queries, whatever the size of the blog."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog.models import Category, Comment, Tag

pytestmark = pytest.mark.django_db

# The expected budgets, with the sidebar cached:
#   index:  2 (page count + posts with category/author/comment count) + 1 (sidebar + cached entries) = 3
#   detail: 1 post+category+author, 1 views UPDATE, 1 cache read (sidebar + article with its tags and
#           previous/next), 1 comments = 4
# The first view after a change renders the sidebar again (+4 queries, +1 write): tests/integration/test_caching.py
INDEX_QUERIES = 3
DETAIL_QUERIES = 4


def build_blog(make_post, n, prefix="a"):
    tags = [Tag.objects.create(name=f"{prefix}-tag{i}") for i in range(n)]
    categories = [Category.objects.create(name=f"{prefix}-cat{i}") for i in range(n)]
    posts = []
    for i in range(n):
        post = make_post(
            title=f"{prefix} post {i}", body=f"## Heading {i}\n\ntext", days_ago=i * 20, category=categories[i]
        )
        post.tags.set(tags[: i + 1])
        Comment.objects.bulk_create(
            Comment(post=post, name=f"n{j}", email="c@example.com", text="hi") for j in range(i % 5 + 1)
        )
        posts.append(post)
    return posts


def count(client, url):
    client.get(url)  # what most visitors get: the sidebar cache is warm
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["index", "detail"])
def test_query_count_is_constant_1_vs_50_posts(client, make_post, page):
    small = build_blog(make_post, 1)
    small_url = "/" if page == "index" else f"/posts/{small[0].pk}/"
    small_count = count(client, small_url)

    big = build_blog(make_post, 49, prefix="b")  # 50 posts in total, 50 tags, 50 categories, ~150 comments
    target = big[24]  # a post in the middle: it has both a previous and a next post
    big_url = "/" if page == "index" else f"/posts/{target.pk}/"
    big_count = count(client, big_url)

    assert small_count == big_count
    assert big_count == (INDEX_QUERIES if page == "index" else DETAIL_QUERIES)


def test_list_pages_are_constant_too(client, make_post):
    first = build_blog(make_post, 1)[0]
    urls = (f"/categories/{first.category.pk}/", f"/tags/{first.tags.get().pk}/", "/search/?q=post")
    small = [count(client, u) for u in urls]
    big_posts = build_blog(make_post, 30, prefix="b")
    for post in big_posts:  # the first category and tag now hold many posts
        post.tags.add(first.tags.get())
    big = [count(client, u) for u in urls]
    assert small == big
