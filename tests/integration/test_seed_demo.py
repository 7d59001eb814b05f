"""python manage.py seed_demo: demo content, idempotent, optional superuser."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from blog.models import Category, Comment, Post, Tag

pytestmark = pytest.mark.django_db


def counts():
    return (Post.objects.count(), Category.objects.count(), Tag.objects.count(), Comment.objects.count())


def test_seed_demo_creates_content(client):
    call_command("seed_demo")
    assert Post.objects.count() == 12
    assert Category.objects.count() >= 3
    assert Tag.objects.count() >= 5
    assert Comment.objects.count() > 0
    assert Post.objects.filter(body_html__contains='class="codehilite"').exists()
    assert Post.objects.exclude(toc_html="").exists()
    assert Post.objects.filter(tags__isnull=False).distinct().count() == 12
    # Spread over several months, so the archive sidebar has entries to show.
    assert len(Post.objects.dates("created_time", "month")) > 1
    # The seeded site works on every route.
    post = Post.objects.filter(toc_html__gt="").first()
    for url in ("/", "/?page=2", f"/posts/{post.pk}/", f"/categories/{post.category.pk}/",
                f"/tags/{post.tags.first().pk}/", "/search/?q=django", "/all/rss/", "/sitemap.xml", "/healthz",
                f"/archives/{post.created_time.year}/{post.created_time.month}/"):  # fmt: skip
        assert client.get(url).status_code == 200, url


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first


def test_seed_demo_posts_option():
    call_command("seed_demo", "--posts", "30")
    assert Post.objects.count() == 30
    assert Post.objects.values("title").distinct().count() == 30
    call_command("seed_demo", "--posts", "30")
    assert Post.objects.count() == 30


def test_no_superuser_without_env(monkeypatch):
    for name in ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")  # one of three is not enough
    call_command("seed_demo", "--posts", "1")
    assert not get_user_model().objects.filter(is_superuser=True).exists()


def test_superuser_from_env_idempotent(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3cret-pass-word")
    call_command("seed_demo", "--posts", "2")
    call_command("seed_demo", "--posts", "2")
    admins = get_user_model().objects.filter(is_superuser=True)
    assert [u.username for u in admins] == ["admin"]
    assert admins[0].check_password("s3cret-pass-word")
    assert admins[0].is_staff
