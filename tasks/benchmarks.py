"""`inv bench`: serving speed, deploy speed and downtime (the code is in bench/).

Not tasks/bench.py: invoke puts tasks/ on sys.path too, so a module named bench here could shadow
the bench/ package it runs.
"""

from __future__ import annotations

from deploy.arguments import task

from ._run import in_root, say


@task(
    help={
        "quick": "a reduced run in under 3 minutes: serving at 8 connections only, no deploy benchmark",
        "serving": "run the serving benchmark (default on; --no-serving skips it)",
        "deploy": "run the deploy benchmark on a fresh server (default on; --no-deploy skips it)",
    }
)
def bench(c, quick=False, serving=True, deploy=True):
    """Benchmark serving and deploys; write bench/results/<date>.json and print the tables."""
    from bench import report
    from bench.run import run_all

    with in_root(c):
        payload, path = run_all(quick=quick, serving=serving, deploy=deploy)
    print(report.render(payload))
    say(f"wrote {path}")
