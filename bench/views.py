"""Post views written in batches vs one UPDATE per view: the post page on one stack, in one run.

    python -m bench.views [--rounds 3] [--duration 10] [--connections 8] [--keep] [--save]

One production stack (bench/stack.py, project mysite-bench, SQLite, a cached build, 100 posts). Rounds
interleave (A B, then B A, ...) the two settings of blog/viewcount.py: `VIEW_COUNT_FLUSH_SECONDS=0` (every post
GET writes its UPDATE, the old way) and `=2` (the default: counted in memory, one batch every 2 s). Before each
slot the app container is recreated with its env file rewritten (as bench/tune.py does; nginx stays), so both
run the same image behind the same nginx at the same moment of a shared machine's day. Each slot: wrk through
nginx on the newest post with code blocks and a TOC, 3 s warm-up, then the measured run with wrk's p99.9
(bench/wrk_p999.lua); CPU ms per request of the app container from its cgroup. Then the views the database
gained during the slot, read after the batch interval has passed, against the requests wrk counted: nothing may
go missing (wrk does not count the requests still under way when it stops, so the database may hold up to
`connections` more).
Prints the median over rounds per setting, the ratio batched/write-each, and every slot; it judges nothing.

In-process (`in_process`, in a child process: Django set up as bench/page_cpu.py does it, DEBUG=False, a file
SQLite with the production options, 100 posts): GETs of the same post one after another through Django's test
client, the two settings interleaved, each GET timed alone: CPU ms per GET of the whole process (the batches'
thread included) and the GETs' wall-time percentiles, with no nginx, no other connection and no network between.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report, views_report, wrk
from bench.serving import CLIENT_HEADERS, find_targets
from bench.stack import DOMAIN, Stack, say
from bench.views_report import SETTINGS, VARIABLE, _r

ROUNDS = 3
DURATION = 10.0
WARMUP = 3.0
CONNECTIONS = 8
METRICS = ("rps", "p50_ms", "p99_ms", "p999_ms", "max_ms", "failed", "app_cpu_ms")


def order(round_index: int) -> list[tuple[str, str]]:
    """The settings in round order A B, then B A, A B...: neither always runs first, after the other's slot."""
    settings = list(SETTINGS.items())
    return settings[::-1] if round_index % 2 else settings


def _views(stack: Stack, path: str) -> int:
    pk = int(path.strip("/").split("/")[-1])
    code = f"from blog.models import Post; print('BENCH-VIEWS', Post.objects.get(pk={pk}).views)"
    out = stack.manage("shell", "-c", code)
    return int(next(line for line in out.splitlines() if line.startswith("BENCH-VIEWS ")).split()[1])


def slot(stack: Stack, path: str, flush: str, duration: float, connections: int) -> dict:
    """One setting: the app container recreated with it, warmed, measured; the views it wrote, counted."""
    stack.extra_env = {**stack.extra_env, VARIABLE: flush}
    stack.write_env_file()
    stack.compose("up", "--detach", "--no-deps", "--force-recreate", "--no-build", "mysite")
    stack.wait_ready()
    before = _views(stack, path)
    url = stack.url + path
    warm = wrk.run(url, connections=connections, duration=WARMUP, host=DOMAIN, headers=CLIENT_HEADERS)
    cpu_before = stack.cpu_seconds("mysite")
    load = report.load_average()
    res = wrk.run(url, connections=connections, duration=duration, host=DOMAIN, headers=CLIENT_HEADERS, p999=True)
    cpu_after = stack.cpu_seconds("mysite")
    time.sleep(float(flush) + 2)  # the last batch: written within one interval
    gained = _views(stack, path) - before
    requests = warm.requests + res.requests
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / max(res.requests, 1)
    return {**res.as_dict(), "app_cpu_ms": None if cpu is None else round(cpu, 3), "load_1m": load,
            "views_gained": gained, "requests_answered": requests, "views_missing": max(requests - gained, 0)}


def medians(samples: list[dict]) -> dict:
    out = {}
    for key in METRICS:
        values = [s[key] for s in samples if s.get(key) is not None]
        out[key] = round(statistics.median(values), 2) if values else None
    return out | {"views_missing": sum(s["views_missing"] for s in samples), "runs": len(samples)}


def ratios(summary: dict) -> dict:
    """batched / write each, of the medians: req/s above 1 is batching faster; latencies and CPU below 1."""
    write_each, batched = (summary.get(name, {}) for name in SETTINGS)
    return {key: round(batched[key] / write_each[key], 3) if batched.get(key) and write_each.get(key) else None
            for key in ("rps", "p50_ms", "p99_ms", "p999_ms", "app_cpu_ms")}


def run(rounds: int = ROUNDS, duration: float = DURATION, connections: int = CONNECTIONS, keep: bool = False) -> dict:
    from bench.stack import ensure_engine_and_bases

    ensure_engine_and_bases()
    stack = Stack()
    stack.down()
    rows: list[dict] = []
    try:
        stack.build()
        stack.up()
        stack.manage("seed_demo", "--posts", "100")
        path = find_targets(stack)["post"]
        for r in range(rounds):
            for name, flush in order(r):
                row = {"round": r + 1, "setting": name, VARIABLE: flush,
                       **slot(stack, path, flush, duration, connections)}
                rows.append(row)
                say(f"views round {r + 1} [{name}]: {row['rps']:.0f} req/s p99 {row['p99_ms']:.1f} ms "
                    f"p99.9 {_r(row['p999_ms'])} ms; views missing {row['views_missing']}")
    finally:
        stack.finish(keep)
    summary = {name: medians([row for row in rows if row["setting"] == name]) for name in SETTINGS}
    return {"target": "post", "path": path, "connections": connections, "duration_s": duration, "warmup_s": WARMUP,
            "rounds": rounds, "summary": summary, "ratios": ratios(summary), "rows": rows,
            "in_process": in_process(rounds=rounds)}


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest rank: the smallest value with at least pct % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * pct / 100) - 1))]


def in_process_child(gets: int, rounds: int) -> dict:
    """In this process: Django on a file SQLite (production options), 100 posts; per slot ``gets`` GETs of a post."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings.test"
    tmp = Path(tempfile.mkdtemp(prefix="views-bench-"))
    import django
    from django.conf import settings

    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp / "db.sqlite3"),
                                      "OPTIONS": dict(settings.SQLITE_OPTIONS), "CONN_MAX_AGE": 600,
                                      "CONN_HEALTH_CHECKS": True}}  # fmt: skip
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from blog import viewcount
    from blog.models import Post

    call_command("migrate", verbosity=0)
    os.environ.setdefault("DJANGO_SUPERUSER_PASSWORD", "views-bench")
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", posts=100, stdout=devnull, stderr=devnull)
    post = Post.objects.exclude(toc_html="").filter(body_html__contains="highlight").order_by("-created_time")[0]
    url, client, rows = post.get_absolute_url(), Client(), []
    for _ in range(50):  # warm: caches, templates, the connection
        assert client.get(url).status_code == 200
    for r in range(rounds):
        for name, flush in order(r):
            settings.VIEW_COUNT_FLUSH_SECONDS = float(flush)
            before = Post.objects.get(pk=post.pk).views
            times = []
            cpu0 = time.process_time()
            for _ in range(gets):
                t0 = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
            cpu = (time.process_time() - cpu0) * 1000 / gets
            viewcount.counter.flush()
            viewcount.counter.stop()
            rows.append({"round": r + 1, "setting": name, "gets": gets, "cpu_ms": round(cpu, 3),
                         **{key: round(percentile(times, pct), 3) for key, pct in
                            (("p50_ms", 50), ("p99_ms", 99), ("p999_ms", 99.9), ("max_ms", 100))},
                         "views_gained": Post.objects.get(pk=post.pk).views - before})  # fmt: skip
    return {"gets": gets, "rounds": rounds, "path": url, "rows": rows}


def in_process(gets: int = 3000, rounds: int = ROUNDS) -> dict:
    """``in_process_child`` in a child process (Django is set up once per process); its rows and medians."""
    argv = [sys.executable, "-m", "bench.views", "--in-process-child", "--gets", str(gets), "--rounds", str(rounds)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
                          timeout=3600)  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-VIEWS-IN-PROCESS ")), None)
    if done.returncode != 0 or line is None:
        raise wrk.WrkError(f"the in-process views benchmark failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(line.removeprefix("BENCH-VIEWS-IN-PROCESS "))
    result["summary"] = {
        name: {key: round(statistics.median(r[key] for r in result["rows"] if r["setting"] == name), 3)
               for key in ("cpu_ms", "p50_ms", "p99_ms", "p999_ms", "max_ms")} for name in SETTINGS}  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--duration", type=float, default=DURATION, help="measured seconds per slot")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>-views.json")
    parser.add_argument("--gets", type=int, default=3000, help="in-process GETs per slot")
    parser.add_argument("--in-process-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process_child:
        print("BENCH-VIEWS-IN-PROCESS " + json.dumps(in_process_child(args.gets, args.rounds)))
        return
    load_before = report.load_average()
    section = run(args.rounds, args.duration, args.connections, args.keep)
    notes = [f"load average before {load_before}, after {report.load_average()}"]
    payload = report.envelope({"views": section, "notes": notes}, quick=False)
    print("\n".join(views_report.lines(section)))
    print("\n".join(f"note: {note}" for note in notes))
    if args.save:
        print(f"wrote {report.write(payload, suffix='views')}")
    else:
        print(json.dumps(section["summary"]))


if __name__ == "__main__":
    main()
