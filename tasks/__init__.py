"""`inv --list`: the development and production stacks, tests and lint. Wiring only (builders: commands).

The repository's own tasks: they import the toolkit (`deploy`, installed editable by the Pipfile) and this
package only; the repository's other tools (bench/, testbed/) run as `python -m` from its root.
"""

from __future__ import annotations

import os
import sys

from invoke import Collection

from deploy import checks
from deploy.arguments import task

from . import benchmarks, local, production
from . import commands as cmd
from ._run import TaskError, in_root, say, user_errors

NO_TESTS_COLLECTED = 5  # pytest's exit code when every test was deselected


@task(
    help={
        "fast": "skip the end-to-end tests (pytest -m 'not e2e'); the PostgreSQL pass still runs",
        "args": "extra pytest arguments as one string; anything after `--` is passed on too (to both passes)",
    }
)
def test(c, fast=False, args=""):
    """Run the test suite (pytest) on SQLite, then the Django integration tests again on PostgreSQL."""
    with user_errors():
        extra = [*checks.words(args, "--args"), *cmd.remainder(sys.argv)]
    with in_root(c):
        say("pass 1 of 2: " + ("every test but e2e" if fast else "every test") + ", Django on SQLite (in memory)")
        # a DATABASE_URL of this shell must not turn the SQLite pass into a run on that server
        sqlite_env = {"DATABASE_URL": ""} if os.environ.get("DATABASE_URL") else {}
        first = c.run(cmd.pytest_command(sys.executable, fast=fast, extra=extra), pty=sys.stdin.isatty(),
                      env=sqlite_env, warn=True)
        second = _postgres_pass(c, extra)
    failed = [f"pass {n} ({name}) exited {code}" for n, name, code in ((1, "SQLite", first.exited), second) if code]
    if failed:
        raise TaskError("tests failed: " + "; ".join(failed))


def _postgres_pass(c, extra: list[str]) -> tuple[int, str, int]:
    """The Django integration tests on a local PostgreSQL; in CI one that cannot be had is a failure."""
    in_ci = os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("MYSITE_E2E") == "require"
    found = c.run(cmd.postgres_url_command(sys.executable), hide="out", warn=True, in_stream=False)
    lines = found.stdout.strip().splitlines() if found.ok else []
    url = lines[-1] if lines else ""
    if not url:
        reason = "testbed/postgres.py could not get one (its reason is above)"
        if in_ci:
            say(f"pass 2 of 2: NO PostgreSQL: {reason}; in CI this is a failure, never a skip")
            return 2, "PostgreSQL unavailable", found.exited or 1
        say("=" * 100)
        say(f"pass 2 of 2 SKIPPED: no PostgreSQL, so the Django tests ran on SQLite only: {reason}")
        say("=" * 100)
        return 2, "PostgreSQL", 0
    say(f"pass 2 of 2: the Django integration tests on PostgreSQL {cmd.redact_url(url)}")
    done = c.run(cmd.pytest_command(sys.executable, extra=extra), pty=sys.stdin.isatty(), warn=True,
                 env={"DATABASE_URL": url, "MYSITE_DATABASE_PASS": "1"})
    if done.exited == NO_TESTS_COLLECTED:
        say("pass 2 of 2: none of the selected tests is a Django integration test: nothing to run on PostgreSQL")
        return 2, "PostgreSQL", 0
    return 2, "PostgreSQL", done.exited


@task(help={"fix": "let ruff fix what it can"})
def lint(c, fix=False):
    """Lint the code with ruff."""
    with in_root(c):
        c.run(cmd.ruff_command(sys.executable, fix=fix))


ns = Collection(test, lint, benchmarks.bench)
ns.add_collection(Collection.from_module(local), name="local")
ns.add_collection(Collection.from_module(production), name="production")
