"""Every public route: status, content, filtering, pagination, 404s and empty states."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.template.loader import get_template
from django.urls import resolve, reverse

from blog.models import Category, Post, Tag

pytestmark = pytest.mark.django_db


def titles(response):
    return [p.title for p in response.context["post_list"]]


def test_route_paths_are_the_contract():
    # Other tools (nginx, healthchecks, old RSS subscribers, old comment forms) rely on these exact paths.
    assert reverse("blog:index") == "/"
    assert reverse("blog:detail", args=[3]) == "/posts/3/"
    assert reverse("blog:category", args=[3]) == "/categories/3/"
    assert reverse("blog:tag", args=[3]) == "/tags/3/"
    assert reverse("blog:archive", args=[2024, 5]) == "/archives/2024/5/"
    assert reverse("blog:search") == "/search/"
    assert reverse("blog:comment", args=[3]) == "/comment/3"
    assert reverse("rss") == "/all/rss/"
    assert reverse("healthz") == "/healthz"
    assert resolve("/sitemap.xml").url_name == "django.contrib.sitemaps.views.sitemap"
    assert resolve("/admin/").app_name == "admin"


def test_index_lists_posts_newest_first_with_metadata(client, make_post, tag):
    old = make_post(title="Old post", days_ago=3)
    new = make_post(title="New post", days_ago=1, tags=[tag])
    old.comments.create(name="a", email="a@example.com", text="hi")
    old.comments.create(name="b", email="b@example.com", text="hi")
    response = client.get("/")
    assert response.status_code == 200
    assert titles(response) == ["New post", "Old post"]
    html = response.content.decode()
    assert f'href="/posts/{new.pk}/"' in html
    assert "alice" in html  # author
    assert "2 comments" in html
    assert "0 views" in html
    assert old.excerpt in html
    assert f'href="/categories/{old.category.pk}/"' in html


def test_index_empty_blog(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No posts yet." in response.content.decode()


def test_index_paginates_ten_per_page(client, make_post):
    for i in range(23):
        make_post(title=f"Post {i:02d}", days_ago=i)
    first = client.get("/")
    assert titles(first) == [f"Post {i:02d}" for i in range(10)]
    assert 'href="?page=2"' in first.content.decode()
    third = client.get("/?page=3")
    assert titles(third) == ["Post 20", "Post 21", "Post 22"]
    assert client.get("/?page=last").context["page_obj"].number == 3
    assert client.get("/?page=4").status_code == 404
    assert client.get("/?page=abc").status_code == 404


def test_detail_shows_post_tags_and_counts_views(client, post, tag):
    url = f"/posts/{post.pk}/"
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>world</strong>" in html
    assert f'href="/tags/{tag.pk}/"' in html
    assert 'id="comment-form"' in html
    assert f'action="/comment/{post.pk}"' in html
    client.get(url)
    post.refresh_from_db()
    assert post.views == 2


def test_detail_previous_and_next_links(client, make_post):
    a = make_post(title="Alpha", days_ago=3)
    b = make_post(title="Bravo", days_ago=2)
    c = make_post(title="Charlie", days_ago=1)
    middle = client.get(f"/posts/{b.pk}/")
    assert middle.context["previous_post"] == a
    assert middle.context["next_post"] == c
    html = middle.content.decode()
    assert f'rel="prev" href="/posts/{a.pk}/"' in html
    assert f'rel="next" href="/posts/{c.pk}/"' in html
    first = client.get(f"/posts/{a.pk}/")
    assert first.context["previous_post"] is None
    assert first.context["next_post"] == b
    last = client.get(f"/posts/{c.pk}/")
    assert last.context["next_post"] is None


def test_previous_next_break_ties_on_same_timestamp(client, make_post, author, category):
    when = datetime(2024, 1, 1, tzinfo=UTC)
    p1 = Post.objects.create(title="p1", body="x", created_time=when, category=category, author=author)
    p2 = Post.objects.create(title="p2", body="x", created_time=when, category=category, author=author)
    response = client.get(f"/posts/{p2.pk}/")
    assert response.context["previous_post"] == p1
    assert client.get(f"/posts/{p1.pk}/").context["next_post"] == p2


@pytest.mark.parametrize("url", ["/posts/999/", "/categories/999/", "/tags/999/", "/comment/999"])
def test_unknown_pk_is_404(client, url):
    method = client.post if url.startswith("/comment") else client.get
    assert method(url).status_code == 404


def test_404_page_uses_the_theme(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "blog/css/site.css" in html


def test_500_template_is_self_contained():
    # Rendered with no context and no request: must not need context processors or the database.
    html = get_template("500.html").render()
    assert "Something went wrong" in html
    assert "{%" not in html


def test_category_lists_only_its_posts(client, make_post, author):
    other = Category.objects.create(name="Python")
    make_post(title="In Django")
    make_post(title="In Python", category=other)
    response = client.get(f"/categories/{other.pk}/")
    assert response.status_code == 200
    assert titles(response) == ["In Python"]
    assert "Category: Python" in response.content.decode()


def test_category_paginates(client, make_post, category):
    for i in range(12):
        make_post(title=f"P{i}", days_ago=i)
    assert len(client.get(f"/categories/{category.pk}/?page=2").context["post_list"]) == 2


def test_tag_lists_only_its_posts(client, make_post, tag):
    other = Tag.objects.create(name="docker")
    make_post(title="Tagged", tags=[tag])
    make_post(title="Other tag", tags=[other])
    make_post(title="Untagged")
    response = client.get(f"/tags/{tag.pk}/")
    assert titles(response) == ["Tagged"]
    assert "Tag: tutorial" in response.content.decode()


def test_archive_filters_by_month(client, make_post, author, category):
    def at(y, m, title):
        Post.objects.create(
            title=title,
            body="x",
            created_time=datetime(y, m, 15, tzinfo=UTC),
            category=category,
            author=author,
        )

    at(2024, 5, "May")
    at(2024, 6, "June")
    at(2023, 5, "Last May")
    response = client.get("/archives/2024/5/")
    assert response.status_code == 200
    assert titles(response) == ["May"]
    # The sidebar lists the months that have posts, linking to them.
    html = client.get("/").content.decode()
    for path in ("/archives/2024/6/", "/archives/2024/5/", "/archives/2023/5/"):
        assert f'href="{path}"' in html


def test_empty_month_shows_friendly_empty_state(client, post):
    response = client.get("/archives/1999/1/")
    assert response.status_code == 200
    assert "Nothing was published this month" in response.content.decode()


@pytest.mark.parametrize("url", ["/archives/2024/13/", "/archives/2024/0/"])
def test_impossible_month_is_404(client, url):
    assert client.get(url).status_code == 404


def test_search_title_and_body(client, make_post):
    make_post(title="Docker tips", body="containers")
    make_post(title="Nginx", body="A reverse proxy in front of Docker.")
    make_post(title="Unrelated", body="nothing here")
    response = client.get("/search/", {"q": "docker"})
    assert response.status_code == 200
    assert sorted(titles(response)) == ["Docker tips", "Nginx"]
    assert "2 results" in response.content.decode()


def test_search_without_match(client, post):
    response = client.get("/search/", {"q": "zebra"})
    assert response.status_code == 200
    assert titles(response) == []
    assert "No posts match" in response.content.decode()


@pytest.mark.parametrize("query", ["", "   ", None])
def test_empty_search_gives_a_message(client, post, query):
    response = client.get("/search/", {} if query is None else {"q": query})
    assert response.status_code == 200
    assert "Please enter a search term" in response.content.decode()


def test_search_paginates_and_keeps_the_query(client, make_post):
    for i in range(15):
        make_post(title=f"Django {i}", days_ago=i)
    first = client.get("/search/", {"q": "django"})
    assert 'href="?q=django&amp;page=2"' in first.content.decode()
    second = client.get("/search/", {"q": "django", "page": 2})
    assert len(second.context["post_list"]) == 5


def test_search_query_is_escaped(client, post):
    response = client.get("/search/", {"q": "<script>alert(1)</script>"})
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_sidebar_counts_non_empty_categories_and_tags(client, make_post, tag):
    empty_category = Category.objects.create(name="EmptyCategory")
    empty_tag = Tag.objects.create(name="EmptyTag")
    make_post(title="One", tags=[tag])
    make_post(title="Two", tags=[tag])
    response = client.get("/")
    html = response.content.decode()
    assert empty_category.name not in html
    assert empty_tag.name not in html
    # "Django (2)" and "tutorial (2)": counts rendered next to the names.
    assert 'Django</a> <span class="count">2</span>' in html
    assert 'tutorial <span class="count">2</span>' in html
    assert 'href="/posts/' in html.split('class="widget widget-recent"')[1]


def test_admin_requires_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_views_are_counted_atomically(post):
    # Two requests that loaded the same row: a read-modify-write would lose one count, F() does not.
    first, second = Post.objects.get(pk=post.pk), Post.objects.get(pk=post.pk)
    first.increase_views()
    second.increase_views()
    post.refresh_from_db()
    assert post.views == 2


def test_server_error_uses_the_500_page(client, post):
    client.raise_request_exception = False
    with mock.patch("blog.views._neighbours", side_effect=RuntimeError("boom")):
        response = client.get(f"/posts/{post.pk}/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
