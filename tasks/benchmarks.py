"""`inv bench`: serving speed, deploy speed and downtime, image shipping (the code is in bench/).

Not tasks/bench.py: invoke puts tasks/ on sys.path too, so a module named bench here could shadow
the bench/ package it runs.
"""

from __future__ import annotations

from deploy.arguments import CheckedTask, task

from ._run import in_root, say


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
        "quick": "a reduced run in under 3 minutes: serving at 8 connections only, no deploy or shipping benchmark",
        "serving": "run the serving benchmark (default on; --no-serving skips it)",
        "deploy": "run the deploy benchmark on a fresh server (default on; --no-deploy skips it)",
        "ship": "run the image-shipping benchmark on a fresh server: --build local vs docker save|load vs "
        "--build server (default on; --no-ship skips it)",
    }
)
def bench(c, quick=False, serving=True, deploy=True, ship=True):
    """Benchmark serving, deploys and image shipping; write bench/results/<date>.json and print the tables."""
    from bench import report
    from bench.run import run_all

    with in_root(c):
        payload, path = run_all(quick=quick, serving=serving, deploy=deploy, ship=ship)
    print(report.render(payload))
    say(f"wrote {path}")
