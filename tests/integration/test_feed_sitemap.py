"""RSS 2.0 at /all/rss/ and /sitemap.xml."""

import re
import xml.etree.ElementTree as ET  # noqa: S405 (parsing our own output)

import pytest

from blog.models import Category

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def test_rss_is_rss2_with_latest_20_posts(client, make_post):
    for i in range(25):
        make_post(title=f"Post {i:02d}", body=f"Body of post {i}.", days_ago=i)
    response = client.get("/all/rss/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") == "HelloDjango blog"
    items = channel.findall("item")
    assert len(items) == 20
    assert items[0].findtext("title") == "[Django] Post 00"
    assert items[-1].findtext("title") == "[Django] Post 19"
    assert re.fullmatch(r"http://testserver/posts/\d+/", items[0].findtext("link"))
    assert items[0].findtext("description") == "Body of post 0."
    assert items[0].findtext("pubDate")
    assert items[0].findtext("category") == "Django"


def test_rss_links_point_to_the_posts(client, post):
    root = ET.fromstring(client.get("/all/rss/").content)  # noqa: S314
    assert root.find("channel/item/link").text == f"http://testserver/posts/{post.pk}/"


def test_empty_rss_is_valid(client, db):
    root = ET.fromstring(client.get("/all/rss/").content)  # noqa: S314
    assert root.find("channel/item") is None


def test_sitemap_lists_index_posts_and_non_empty_taxonomies(client, make_post, tag):
    a = make_post(title="A", tags=[tag])
    b = make_post(title="B")
    empty = Category.objects.create(name="Empty")
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314
    locations = {u.findtext("sm:loc", namespaces=SITEMAP_NS) for u in root.findall("sm:url", SITEMAP_NS)}
    assert locations == {
        "http://testserver/",
        f"http://testserver/posts/{a.pk}/",
        f"http://testserver/posts/{b.pk}/",
        f"http://testserver/categories/{a.category.pk}/",
        f"http://testserver/tags/{tag.pk}/",
    }
    assert f"/categories/{empty.pk}/" not in response.content.decode()
    post_entry = next(
        u
        for u in root.findall("sm:url", SITEMAP_NS)
        if u.findtext("sm:loc", namespaces=SITEMAP_NS).endswith(f"/posts/{a.pk}/")
    )
    assert post_entry.findtext("sm:lastmod", namespaces=SITEMAP_NS) == a.modified_time.date().isoformat()
