"""Shared fixtures for the Django tests (integration and browser).

Pure unit tests (tests/unit) don't need any of these; the fixtures only touch the database when used.
"""

from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def author(django_user_model):
    return django_user_model.objects.create_user(username="alice", email="alice@example.com", password="pw")


@pytest.fixture
def category(db):
    from blog.models import Category

    return Category.objects.create(name="Django")


@pytest.fixture
def tag(db):
    from blog.models import Tag

    return Tag.objects.create(name="tutorial")


@pytest.fixture
def make_post(db, author, category):
    """make_post(title=..., body=..., days_ago=..., tags=[...]) -> a saved Post."""
    from blog.models import Post

    def _make(title="Hello world", body="Some **text**.", days_ago=0, tags=(), **kwargs):
        kwargs.setdefault("category", category)
        kwargs.setdefault("author", author)
        post = Post.objects.create(
            title=title, body=body, created_time=timezone.now() - timedelta(days=days_ago), **kwargs
        )
        if tags:
            post.tags.set(tags)
        return post

    return _make


@pytest.fixture
def post(make_post, tag):
    return make_post(title="First post", body="# Intro\n\nHello **world**.", tags=[tag])
