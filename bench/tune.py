"""A/B the app server's settings on one stack, interleaved, so a busy machine hurts every variant alike.

    python -m bench.tune "WEB_CONCURRENCY=5 GUNICORN_THREADS=4" "WEB_CONCURRENCY=3 GUNICORN_THREADS=1" \
        --rounds 3 --duration 5 --connections 8

One production stack (mysite-bench, 100 posts). Each round recreates the app container once per
variant (its env file rewritten: WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_CMD_ARGS...), warms it,
then runs wrk on the index and the post. Prints the median over rounds per variant and target.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import time

from bench import report, wrk
from bench.serving import CLIENT_HEADERS, find_targets
from bench.stack import DOMAIN, Stack, say


def parse_variant(text: str) -> dict[str, str]:
    """`A=1 B="x y"` -> {"A": "1", "B": "x y"} (shell words)."""
    return dict(word.split("=", 1) for word in shlex.split(text))


def medians(samples: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p99_ms", "max_ms", "failed", "app_cpu_ms", "app_mb")
    return {k: round(statistics.median(s[k] for s in samples), 2) for k in keys} | {"runs": len(samples)}


def run(variants: list[str], rounds: int, duration: float, connections: int, limits: bool = False) -> dict:
    from bench.stack import ensure_engine_and_bases

    ensure_engine_and_bases()
    stack = Stack(limits=limits)
    stack.down()
    samples: dict[tuple[str, str], list[dict]] = {}
    try:
        stack.build()
        stack.up()
        stack.manage("seed_demo", "--posts", "100")
        targets = {k: v for k, v in find_targets(stack).items() if k != "static"}
        for r in range(rounds):
            for variant in variants:
                stack.extra_env = parse_variant(variant)
                stack.write_env_file()
                stack.compose("up", "--detach", "--no-deps", "--force-recreate", "--no-build", "mysite")
                stack.wait_ready()
                for name, path in targets.items():
                    url = stack.url + path
                    wrk.run(url, connections=connections, duration=2, host=DOMAIN, headers=CLIENT_HEADERS)
                    before = stack.cpu_seconds("mysite")
                    res = wrk.run(url, connections=connections, duration=duration, host=DOMAIN, headers=CLIENT_HEADERS)
                    cpu = (stack.cpu_seconds("mysite") - before) * 1000 / max(res.requests, 1)
                    app_mb = (stack.memory(("mysite",))["mysite"] or {}).get("mb", 0.0)  # at the end of the run
                    sample = {**res.as_dict(), "app_cpu_ms": cpu, "app_mb": app_mb}
                    samples.setdefault((variant, name), []).append(sample)
                    say(f"round {r + 1} [{variant}] {name}: {res.rps:.0f} req/s p99 {res.p99_ms:.0f} ms cpu {cpu:.2f} "
                        f"app {app_mb:.0f} MB")
                    time.sleep(1)
    finally:
        stack.down()
        stack.cleanup()
    return {
        "limits": limits,
        "connections": connections,
        "duration_s": duration,
        "rounds": rounds,
        "results": [{"variant": v, "target": t, **medians(s)} for (v, t), s in samples.items()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help='env settings per variant, e.g. "WEB_CONCURRENCY=3"')
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--limits", action="store_true", help="on bench/limits.yml's small server (1 CPU, 600 MB)")
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>-tune.json")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    result = run(args.variants, args.rounds, args.duration, args.connections, args.limits)
    payload = report.envelope({"tune": result, "notes": [f"load average before {load_before}"]}, quick=False)
    rows = [
        [r["variant"] or "(defaults)", r["target"], r["rps"], r["p50_ms"], r["p99_ms"], r["failed"], r["app_cpu_ms"],
         r["app_mb"]]
        for r in result["results"]
    ]
    print(
        report.table(
            ["variant", "target", "req/s", "p50 ms", "p99 ms", "failed", "app cpu ms/req", "app MB"], rows,
            right={2, 3, 4, 5, 6, 7},
        )
    )
    print(f"load average {report.load_average()} (before: {load_before})")
    if args.save:
        print(f"wrote {report.write(payload, suffix='tune')}")


if __name__ == "__main__":
    main()
