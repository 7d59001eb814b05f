"""The migration gate on the deploy side: the serving release's plan in, one line out (the judging command
itself is tested with the app)."""

import subprocess

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import migrations, releases
from deploy.commands import database
from deploy.errors import DeployError
from tests.harness.mockremote import names, remote, session

P = names()
OLD = "20261123090000-aaaaaaa"
PLAN = b"[X]  blog.0001_initial\n[X]  blog.0002_cache_table\n"


@pytest.fixture
def judged(monkeypatch):
    """What `manage.py unsafe_migrations` answers here, and what it was given."""
    seen = {}

    def answer(exit, out="", err=""):
        class Fake:
            def __init__(self, env=None):
                seen["env"] = env

            def probe(self, command, cwd=None):
                seen["command"], seen["applied"] = command, open(f"{cwd}/.applied-migrations").read()
                return subprocess.CompletedProcess(command, exit, out, err)

        monkeypatch.setattr(migrations, "Local", Fake)
        monkeypatch.setattr(releases, "export", lambda sha, tree, cwd=None: None)
        return seen

    return answer


def gate(plan=PLAN, settings="mysite.settings.test"):
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(database.applied_migrations(f"mysite-{OLD}"), out=plan)))
        migrations.check(remote(), P, OLD, "/repo", "b" * 40, settings)


def test_an_unsafe_migration_is_one_line_naming_it_and_the_way_out(judged):
    seen = judged(1, "blog.0003_remove_post_views: RemoveField post.views (the release still serving reads it)\n"
                     "blog.0004_rename: RenameField post.title -> post.name\n")
    with pytest.raises(DeployError) as info:
        gate()
    assert str(info.value) == (
        "unsafe migration blog.0003_remove_post_views: RemoveField post.views (the release still serving reads it) "
        "(and 1 more): the release still serving breaks on the new schema during the switch; make the change in "
        "two deploys (expand, then contract: docs/DATABASES.md), or pass --allow-unsafe-migrations")
    assert seen["applied"] == PLAN.decode() and seen["env"] == {"DJANGO_SETTINGS_MODULE": "mysite.settings.test"}
    assert seen["command"].endswith("manage.py unsafe_migrations --applied " + seen["command"].split()[-1])


def test_safe_migrations_pass(judged, capsys):
    judged(0)
    gate()
    assert "none that breaks the release still serving" in capsys.readouterr().out


def test_a_check_that_cannot_run_says_so_and_how_to_go_on(judged):
    judged(1, err="Unknown command: 'unsafe_migrations'\n")
    with pytest.raises(DeployError, match=r"could not run here \(Unknown command: 'unsafe_migrations'\)"):
        gate()


def test_nothing_serving_means_nothing_to_break(judged, capsys):
    judged(1, "never asked\n")
    gate(b"")
    assert "not checked" in capsys.readouterr().out


def test_the_judge_loads_the_settings_the_deploy_names(judged):
    """The project's settings module comes from the deploy setting gate_settings, never from the engine."""
    seen = judged(0)
    gate(settings="shop.settings.ci")
    assert seen["env"] == {"DJANGO_SETTINGS_MODULE": "shop.settings.ci"}
