"""A production 500 and 404 show the site's own page, never a traceback (DEBUG=False, the test client).

The deployed app has no URL that raises, so the 500 is forced here with a view that raises, behind
the project's real URLs and templates. tests/reliability/test_security.py checks the 404 through nginx.
"""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import path

from mysite.urls import urlpatterns as site_urls

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]
SECRET = "e2e-secret-detail-of-the-failure"


def boom(request):
    raise RuntimeError(SECRET)


urlpatterns = [path("rel-boom/", boom), *site_urls]
LEAKS = ("Traceback", SECRET, "RuntimeError", "DEBUG = True", "settings.py", "URLconf", "/app/", "site-packages")


@override_settings(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"])
def test_forced_500_shows_no_traceback():
    answer = Client(raise_request_exception=False).get("/rel-boom/")
    assert answer.status_code == 500
    body = answer.content.decode()
    assert "500" in body
    for leak in LEAKS:
        assert leak not in body, leak


@override_settings(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"])
@pytest.mark.parametrize("url", ["/posts/999999/", "/no/such/page", "/categories/0/", "/archives/2020/13/"])
def test_404_shows_no_traceback(url):
    answer = Client().get(url)
    assert answer.status_code == 404
    body = answer.content.decode()
    for leak in LEAKS:
        assert leak not in body, leak
