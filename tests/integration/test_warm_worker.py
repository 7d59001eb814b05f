"""A worker's warm-up through Django's own WSGI app: the home page, rendered, with nothing left open."""

import importlib.util
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

DJANGO = Path(__file__).resolve().parents[2] / "compose/production/django"
spec = importlib.util.spec_from_file_location("warm_worker", DJANGO / "warm_worker.py")
warm_worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(warm_worker)


@pytest.fixture(autouse=True)
def keep_the_test_transaction():
    """A request through the real WSGI handler closes the database connection at its start and end (as in
    production); in a test that is the test's own transaction. Django's test client unhooks the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_home_page_is_rendered_for_the_first_allowed_host(settings, make_post):
    make_post(title="Warm")
    settings.ALLOWED_HOSTS = ["blog.example"]
    assert warm_worker.first_request(get_wsgi_application(), "blog.example") == "200 OK"


@pytest.mark.django_db
def test_a_host_django_refuses_is_an_answer_too(settings):
    settings.ALLOWED_HOSTS = ["blog.example"]
    assert warm_worker.first_request(get_wsgi_application(), "other.example") == "400 Bad Request"
