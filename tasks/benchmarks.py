"""`inv bench`: serving speed, deploy speed and downtime, image shipping, SQLite vs PostgreSQL, a swarm's deploy
against one server's, each kind of project from init to serving. The code is in bench/, the repository's own (not
the toolkit's): it runs as `python -m bench.run` from the repository's root.
"""

from __future__ import annotations

import sys

from deploy.arguments import CheckedTask, task

from . import commands as cmd
from ._run import TaskError, in_root


class BenchTask(CheckedTask):
    """`inv bench -h` stays help: invoke would make -h the short flag of --ship (s is --serving's), and
    `inv bench -h` would then run the whole benchmark."""

    def get_arguments(self, ignore_unknown_help=None):
        arguments = super().get_arguments(ignore_unknown_help)
        for argument in arguments:
            argument.names = tuple(name for name in argument.names if name != "h")
        return arguments


@task(
    klass=BenchTask,
    help={
        "quick": "a reduced run of about a minute: serving at 8 connections only (no small server, views, deploy, "
        "shipping, databases or swarm benchmark)",
        "serving": "run the serving benchmark: floor, index, post, static at 1/8/32 connections, pages as ratios to "
        "the floor, memory, then on a small server (1 CPU, 600 MB) (default on; --no-serving skips it)",
        "deploy": "run the deploy benchmark on a fresh server (default on; --no-deploy skips it)",
        "ship": "run the image-shipping benchmark on a fresh server: --build local vs docker save|load vs "
        "--build server (default on; --no-ship skips it)",
        "views": "run post views batched vs an UPDATE per view on one stack (VIEW_COUNT_FLUSH_SECONDS 2 vs 0: "
        "req/s, p50/p99/p99.9; default on, not in --quick; --no-views skips it)",
        "databases": "run SQLite vs PostgreSQL on one stack (pages, a comment-write mix, the move's duration; "
        "default on, not in --quick; --no-databases skips it)",
        "swarm": "run a code-only fab swarm.deploy on 3 fresh nodes against fab deploy on one server, under load and "
        "unloaded (seconds, failed requests, MB per node; default on, not in --quick; --no-swarm skips it)",
        "adopt": "run each kind of project (startproject, Pipenv, Poetry, uv, Wagtail) and the blog from init to "
        "serving on a fresh server each, and a code-only redeploy (default on, not in --quick; --no-adopt skips it)",
    }
)
def bench(c, quick=False, serving=True, deploy=True, ship=True, views=True, databases=True, swarm=True,
          adopt=True):
    """Benchmark serving, post views, deploys, shipping, databases, a swarm, adopted projects; write bench/results/."""
    sections = {"serving": serving, "deploy": deploy, "ship": ship, "views": views, "databases": databases,
                "swarm": swarm, "adopt": adopt}
    with in_root(c):
        done = c.run(cmd.bench_command(sys.executable, quick=quick, **sections), pty=sys.stdin.isatty(), warn=True)
    if done.failed:
        raise TaskError(f"the benchmark failed (exit {done.exited}): its reason is above")
