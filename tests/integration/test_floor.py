"""/floor: the serving benchmark's framework floor answers a constant text with no query and no template."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_floor_is_a_constant_text_without_a_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/floor")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"floor\n"
    assert response.templates == []


def test_floor_passes_the_middleware_but_sets_no_cookie_and_is_never_cached(client):
    response = client.get("/floor")
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"  # XFrameOptionsMiddleware ran, as for every page


def test_floor_path_and_methods(client):
    assert reverse("floor") == "/floor"
    assert client.head("/floor").status_code == 200
    assert client.post("/floor").status_code == 405
