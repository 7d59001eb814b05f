"""Admin (author set on create) and static assets (local only, Pygments CSS up to date)."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from blog.models import Category, Comment, Post, Tag

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin)
    return client, admin


@pytest.mark.django_db
def test_admin_sets_author_on_create(admin_client_logged_in, category, tag):
    client, admin = admin_client_logged_in
    response = client.post(
        "/admin/blog/post/add/",
        {
            "title": "From admin",
            "body": "## Hello\n\nbody",
            "excerpt": "",
            "category": category.pk,
            "tags": [tag.pk],
            "created_time_0": "2024-05-01",
            "created_time_1": "10:00:00",
            "comments-TOTAL_FORMS": "0",
            "comments-INITIAL_FORMS": "0",
            "comments-MIN_NUM_FORMS": "0",
            "comments-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    post = Post.objects.get(title="From admin")
    assert post.author == admin
    assert 'id="hello"' in post.body_html
    assert list(post.tags.all()) == [tag]


@pytest.mark.django_db
def test_admin_editing_keeps_the_original_author(admin_client_logged_in, post, author):
    client, admin = admin_client_logged_in
    data = {
        "title": "Edited",
        "body": post.body,
        "excerpt": post.excerpt,
        "category": post.category.pk,
        "tags": [t.pk for t in post.tags.all()],
        "created_time_0": "2024-05-01",
        "created_time_1": "10:00:00",
        "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0",
        "comments-MAX_NUM_FORMS": "1000",
    }
    assert client.post(f"/admin/blog/post/{post.pk}/change/", data).status_code == 302
    post.refresh_from_db()
    assert post.title == "Edited"
    assert post.author == author


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Post, Category, Tag, Comment])
def test_admin_changelists_with_search_and_filters(admin_client_logged_in, post, model):
    client, _ = admin_client_logged_in
    post.comments.create(name="c", email="c@example.com", text="hello")
    url = f"/admin/blog/{model._meta.model_name}/"
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "hello"}).status_code == 200


def test_static_assets_exist():
    for path in ("blog/css/site.css", "blog/css/pygments.css", "blog/favicon.svg"):
        assert finders.find(path), path


def test_pygments_css_is_up_to_date():
    call_command("pygments_css", "--check")
    css = (REPO / "blog/static/blog/css/pygments.css").read_text()
    assert ".codehilite .k " in css  # keywords, the class Pygments emits for `def`


def test_no_asset_comes_from_the_internet():
    sources = [
        *REPO.glob("blog/templates/**/*.html"),
        *REPO.glob("templates/*.html"),
        *REPO.glob("blog/static/**/*.css"),
    ]
    assert sources
    external = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)
    for path in sources:
        assert not external.search(path.read_text()), f"{path} loads something from the internet"
