"""`inv --list`: the development and production stacks, tests and lint. Wiring only (builders: commands)."""

from __future__ import annotations

import sys
from pathlib import Path

# invoke's loader puts only this folder (tasks/) on sys.path, and the `inv` script's own folder is
# .venv/bin, so `deploy` and `bench` beside tasks/ would not import. pytest and `python -m` have the
# repository root on the path already; for `inv` it goes first here, once, before the task modules load.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from invoke import Collection

from deploy import checks
from deploy.arguments import task

from . import benchmarks, local, production
from . import commands as cmd
from ._run import in_root, user_errors


@task(
    help={
        "fast": "skip the end-to-end tests (pytest -m 'not e2e')",
        "args": "extra pytest arguments as one string; anything after `--` is passed on too",
    }
)
def test(c, fast=False, args=""):
    """Run the whole test suite (pytest); `--fast` skips e2e, words after `--` go to pytest."""
    with user_errors():
        extra = [*checks.words(args, "--args"), *cmd.remainder(sys.argv)]
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
