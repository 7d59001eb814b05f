"""/healthz: a real query, 200 or 503, and cheap."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_healthz_ok_after_a_real_query(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]


def test_healthz_is_cheap_no_session_no_cookie_no_cache(client):
    response = client.get("/healthz")
    assert response.cookies == {} or not response.cookies
    assert "no-cache" in response["Cache-Control"]
    assert response.templates == []


def test_healthz_database_failure_is_503(client):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("unable to open database file")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert "OperationalError" in body["reason"]
    assert "unable to open database file" in body["reason"]


def test_healthz_failed_query_is_503(client):
    failing = mock.MagicMock()
    failing.__enter__.return_value.execute.side_effect = OperationalError("database is locked")
    with mock.patch.object(connection, "cursor", return_value=failing):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "database is locked" in response.json()["reason"]


def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405
