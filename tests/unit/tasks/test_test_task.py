"""`inv test`: the whole suite with Django on SQLite, then the Django integration tests on PostgreSQL."""

import re
import sys

import pytest
from invoke import Config, MockContext, Result

import tasks
from tasks import commands as cmd
from tasks._run import TaskError

PY = sys.executable
URL = "postgres://mysite_test:s3cret@127.0.0.1:5432/mysite_test"
FIND = cmd.postgres_url_command(PY)
FAST_PASS = f"{PY} -m pytest -m 'not e2e' -x -k stack"
DATABASE_PASS = f"{PY} -m pytest -x -k stack"


@pytest.fixture(autouse=True)
def not_ci(monkeypatch):
    for name in ("CI", "MYSITE_E2E", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "argv", ["inv", "test", "--fast", "--", "-k", "stack"])


def machine(found=None, first=0, second=0):
    """A MockContext: the first pytest exits `first`, testbed.postgres answers `found` (URL), the second `second`."""
    return MockContext(
        config=Config(),
        run={
            FAST_PASS: Result(exited=first),
            FIND: Result(URL + "\n") if found is None else found,
            re.compile(re.escape(DATABASE_PASS) + "$"): Result(exited=second),
        },
    )


def calls(c):
    return [(call.args[0], call.kwargs.get("env")) for call in c.run.call_args_list]


def test_both_passes_get_the_arguments_and_the_second_one_the_database(capsys):
    c = machine()
    tasks.test(c, fast=True, args="-x")
    assert calls(c) == [
        (FAST_PASS, {}),
        (FIND, None),
        (DATABASE_PASS, {"DATABASE_URL": URL, "MYSITE_DATABASE_PASS": "1"}),
    ]
    err = capsys.readouterr().err
    assert "pass 1 of 2: every test but e2e, Django on SQLite (in memory)" in err
    assert "pass 2 of 2: the Django integration tests on PostgreSQL postgres://mysite_test:***@127.0.0.1:5432/" in err
    assert "s3cret" not in err


def test_a_database_url_of_the_shell_does_not_reach_the_sqlite_pass(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@prod.example.com/blog")
    c = machine()
    tasks.test(c, fast=True, args="-x")
    assert calls(c)[0] == (FAST_PASS, {"DATABASE_URL": ""})


def test_a_failing_first_pass_still_runs_the_second_and_fails_the_task():
    c = machine(first=1, second=0)
    with pytest.raises(TaskError, match=r"^tests failed: pass 1 \(SQLite\) exited 1$"):
        tasks.test(c, fast=True, args="-x")
    assert [command for command, _ in calls(c)] == [FAST_PASS, FIND, DATABASE_PASS]


def test_a_failing_second_pass_fails_the_task():
    with pytest.raises(TaskError, match=r"^tests failed: pass 2 \(PostgreSQL\) exited 1$"):
        tasks.test(machine(second=1), fast=True, args="-x")


def test_no_database_test_selected_is_not_a_failure(capsys):
    tasks.test(machine(second=5), fast=True, args="-x")
    assert "none of the selected tests is a Django integration test" in capsys.readouterr().err


def test_no_postgresql_outside_ci_is_a_loud_skip(capsys):
    c = machine(found=Result("", exited=1))
    tasks.test(c, fast=True, args="-x")
    assert [command for command, _ in calls(c)] == [FAST_PASS, FIND]
    assert "pass 2 of 2 SKIPPED: no PostgreSQL, so the Django tests ran on SQLite only" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "value"), [("CI", "true"), ("MYSITE_E2E", "require")])
def test_no_postgresql_in_ci_is_a_failure(monkeypatch, capsys, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(TaskError, match=r"pass 2 \(PostgreSQL unavailable\) exited 1"):
        tasks.test(machine(found=Result("", exited=1)), fast=True, args="-x")
    assert "in CI this is a failure, never a skip" in capsys.readouterr().err


def test_the_url_finder_and_the_redaction():
    assert cmd.postgres_url_command("/v/bin/python") == "/v/bin/python -m testbed.postgres"
    assert cmd.redact_url(URL) == "postgres://mysite_test:***@127.0.0.1:5432/mysite_test"
    assert cmd.redact_url("postgres://u:p:q@h/db") == "postgres://u:***@h/db"
    assert cmd.redact_url("postgres://h/db") == "postgres://h/db"
    assert cmd.redact_url("sqlite:////tmp/x.sqlite3") == "sqlite:////tmp/x.sqlite3"
