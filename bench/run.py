"""`inv bench`: every benchmark in one run, one JSON record in bench/results/, one printed report.

Full: images (cold build, code-only rebuild, sizes), serving at 1/8/32 connections (and again on a small
server: bench/limits.yml, the app on 1 CPU, the stack in 600 MB), then the deploy
benchmark on a fresh server (cold, warm, downtime ours vs the article's), then the shipping benchmark
on another fresh server (`fab deploy --build local` vs `docker save | gzip | ssh docker load` vs
`fab deploy --build server`, first shipment and code-only change). About 10 minutes here.
Quick (< 3 min): serving only, at 8 connections, 4 s per URL, on a cached build. A fresh server alone
(bootstrap installs Docker, the first deploy builds with no cache) takes longer than that, so the
deploy and shipping numbers come from full runs only.
Run by `inv bench` as `python -m bench.run [--quick] [--no-serving ...]` from the repository root.
Databases (full runs, `--no-databases` skips it): SQLite vs PostgreSQL on one stack, interleaved, and the
move's duration (bench/databases.py); about 7 minutes more.
Swarm (full runs, `--no-swarm` skips it): a code-only `fab swarm.deploy` on 3 nodes against a code-only
`fab deploy` on one server, under load and unloaded (bench/swarm.py); 12-17 minutes more here.
Adopt (full runs, `--no-adopt` skips it): each kind of project (testbed/project_kinds.py) and the blog, from
`mysite-deploy init` to serving on a fresh server each, and a code-only redeploy (bench/adopt.py); about 15 minutes.
"""

from __future__ import annotations

import time

from bench import report


def run_all(
    quick: bool = False, serving: bool = True, deploy: bool = True, ship: bool = True, databases: bool = True,
    swarm: bool = True, views: bool = True, adopt: bool = True,
) -> tuple[dict, object]:
    sections: dict = {}
    notes: list[str] = []
    started = time.monotonic()
    load_before = report.load_average()
    if serving:
        from bench import serving as serving_bench

        sections["serving"] = serving_bench.run(quick=quick)
        if quick:
            notes.append("--quick: no serving run on a small server (bench/limits.yml): full runs only")
        else:  # the default gunicorn sizing on 1 CPU, the stack in 600 MB
            sections["serving_limits"] = serving_bench.run(limits=True)
    if views and not quick:
        from bench import views as views_bench

        sections["views"] = views_bench.run()
    elif views:
        notes.append("--quick: no views benchmark (batched vs an UPDATE per view: full runs only)")
    if databases and not quick:
        from bench import databases as databases_bench

        sections["databases"] = databases_bench.run()
    elif databases:
        notes.append("--quick: no databases benchmark (SQLite vs PostgreSQL takes minutes: full runs only)")
    if deploy and not quick:
        from bench import deploy as deploy_bench

        sections["deploy"] = deploy_bench.run()
    elif deploy:
        notes.append("--quick: no deploy benchmark (a fresh server takes longer than the quick budget)")
    if ship and not quick:
        from bench import shipping

        sections["shipping"] = shipping.run()
    elif ship:
        notes.append("--quick: no shipping benchmark (a fresh server takes longer than the quick budget)")
    if swarm and not quick:
        from bench import swarm as swarm_bench

        sections["swarm"] = swarm_bench.run()
    elif swarm:
        notes.append("--quick: no swarm benchmark (four fresh servers take longer than the quick budget)")
    if adopt and not quick:
        from bench import adopt as adopt_bench

        sections["adopt"] = adopt_bench.run()
    elif adopt:
        notes.append("--quick: no adopt benchmark (six fresh servers take longer than the quick budget)")
    notes.append(f"load average before the run {load_before}, after {report.load_average()}")
    notes.append(f"run took {time.monotonic() - started:.0f}s")
    payload = report.envelope({**sections, "notes": notes}, quick=quick)
    path = report.write(payload)
    from bench import pictures  # the record first: a picture that fails to draw loses no numbers

    for picture in pictures.draw_and_publish(path, payload):
        print(f"drew {picture} (newest copy in docs/bench/)")
    return payload, path


SECTIONS = ("serving", "deploy", "ship", "views", "databases", "swarm", "adopt")


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.run`: every benchmark (``--no-<section>`` leaves one out), the report, the record's path."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.run", description="every benchmark in one run (inv bench)")
    parser.add_argument("--quick", action="store_true", help="serving at 8 connections only, about a minute")
    for section in SECTIONS:
        parser.add_argument(f"--{section}", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    payload, path = run_all(quick=args.quick, **{section: getattr(args, section) for section in SECTIONS})
    print(report.render(payload))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
