"""Sessions while read-only (deploy/djangoapp/sessions.py): neither saved nor deleted, so a GET writes nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deploy.djangoapp import readonly
from deploy.djangoapp.sessions import SessionStore
from tests.harness.queries import writes

pytestmark = pytest.mark.django_db

COMMENT = {"name": "Bob", "email": "bob@example.com", "text": "Written during the move"}
ENGINE = connection.vendor  # "sqlite" or "postgresql": this pass's database


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
