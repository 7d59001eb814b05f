"""`inv --list`: the development and production stacks, tests and lint. Wiring only (see _compose)."""

from __future__ import annotations

import sys

from invoke import Collection, task

from . import _compose as cmd
from . import benchmarks, local, production
from ._run import in_root


@task(
    help={
        "fast": "skip the end-to-end tests (pytest -m 'not e2e')",
        "args": "extra pytest arguments as one string; anything after `--` is passed on too",
    }
)
def test(c, fast=False, args=""):
    """Run the whole test suite (pytest); `--fast` skips e2e, words after `--` go to pytest."""
    import shlex

    extra = [*shlex.split(args), *cmd.remainder(sys.argv)]
    with in_root(c):
        c.run(cmd.pytest_command(sys.executable, fast=fast, extra=extra), pty=sys.stdin.isatty())


@task(help={"fix": "let ruff fix what it can"})
def lint(c, fix=False):
    """Lint the code with ruff."""
    with in_root(c):
        c.run(f"{sys.executable} -m ruff check {'--fix ' if fix else ''}.")


ns = Collection(test, lint, benchmarks.bench)
ns.add_collection(Collection.from_module(local), name="local")
ns.add_collection(Collection.from_module(production), name="production")
