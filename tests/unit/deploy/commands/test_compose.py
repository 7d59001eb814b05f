"""deploy/commands/compose.py: the exact strings."""

import pytest

from deploy.commands import compose, database
from tests.harness.mockremote import names


@pytest.mark.parametrize("v2, expected", [
    (True, "docker compose -p mysite -f production.yml up -d nginx"),
    (False, "docker-compose -p mysite -f production.yml up -d nginx"),
])
def test_compose_v1_and_v2(v2, expected):
    assert compose.command("v2" if v2 else "v1", ["production.yml"], "up", "-d", "nginx", project="mysite") == expected


def test_compose_quotes_paths_with_spaces():
    assert compose.command("v2", ["/srv/my site/production.yml"]) == "docker compose -f '/srv/my site/production.yml'"


def test_the_migration_runs_once_in_the_app_service_of_the_release():
    assert compose.one_off(names(), database.migrate()) == (
        "run --rm --no-deps -T mysite python manage.py migrate --noinput")
