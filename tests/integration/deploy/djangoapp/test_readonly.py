"""The read-only switch (deploy/djangoapp/readonly.py): while the flag names this engine, writes get a 503."""

import os
from unittest import mock

import pytest
from django.db import connection

from blog.models import Comment
from deploy.djangoapp import readonly

pytestmark = pytest.mark.django_db

COMMENT = {"name": "Bob", "email": "bob@example.com", "text": "Written during the move"}
ENGINE = connection.vendor  # "sqlite" or "postgresql": this pass's database
OTHER_ENGINE = "postgresql" if ENGINE == "sqlite" else "sqlite"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_every_unsafe_method_is_refused_anywhere(client, post, flag, method):
    flag("")  # an empty flag names every engine
    for url in (f"/comment/{post.pk}", "/admin/login/", f"/posts/{post.pk}/", "/no-such-page/"):
        assert getattr(client, method)(url).status_code == 503, (method, url)


@pytest.mark.parametrize("text", [OTHER_ENGINE, f"{OTHER_ENGINE}\n", "mysql"])
def test_a_flag_that_names_another_engine_changes_nothing(client, post, flag, text):
    flag(text)
    response = client.post(f"/comment/{post.pk}", COMMENT)
    assert response.status_code == 302
    assert Comment.objects.count() == 1
    client.get(f"/posts/{post.pk}/")
    post.refresh_from_db()
    assert post.views == 1


@pytest.mark.parametrize("text", [ENGINE, ENGINE.upper() + "\n", f"{OTHER_ENGINE}, {ENGINE}", "", "  \n",
                                  {"sqlite": "sqlite3", "postgresql": "postgres"}[ENGINE]])
def test_a_flag_names_this_engine(client, post, flag, text):
    flag(text)
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503


def test_writes_work_again_once_the_flag_is_gone(client, post, flag):
    flag(ENGINE)
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503
    flag(None)
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 302
    assert Comment.objects.count() == 1
    client.get(f"/posts/{post.pk}/")
    post.refresh_from_db()
    assert post.views == 1


def test_the_flag_is_looked_up_on_every_request_with_one_stat(client, post, flag):
    flag(None)
    real_stat = os.stat
    with mock.patch("deploy.djangoapp.readonly.os.stat", side_effect=real_stat) as stat:
        for _ in range(3):
            client.get("/healthz")
    flag_path = os.fspath(readonly.settings.READ_ONLY_FILE)
    assert [os.fspath(call.args[0]) for call in stat.call_args_list] == [flag_path] * 3
    flag(ENGINE)  # appears between two requests: the very next one sees it
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503


def test_a_flag_that_cannot_be_read_means_read_only(client, post, flag, settings):
    settings.READ_ONLY_FILE.mkdir()  # exists, but reading it fails
    assert client.post(f"/comment/{post.pk}", COMMENT).status_code == 503


def test_a_project_without_its_own_page_gets_the_plain_one(client, post, flag, settings):
    """The blog replaces deploy_tools/read_only.html with its themed page; without it, the toolkit's own."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]  # the blog's project templates folder, gone
    flag(ENGINE)
    response = client.post(f"/comment/{post.pk}", COMMENT)
    assert response.status_code == 503 and response["Retry-After"] == "30"
    html = response.content.decode()
    assert "The site is moving to a new database" in html and "about 30 seconds" in html
    assert "blog/css/site.css" not in html
