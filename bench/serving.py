"""Serving benchmark: production.yml on this machine, 100 seeded posts, wrk through nginx.

    python -m bench.serving [--quick] [--limits] [--keep] [--env WEB_CONCURRENCY=3 ...]

Measures the framework floor (/floor: nginx, gunicorn and Django's middleware, no template, no query), the
index, a post with code blocks and a table of contents, and a hashed static CSS file at 1, 8 and 32
connections (`--quick`: 8 only, shorter), and reports the pages as ratios to the floor of the same run.
Each container's memory comes from its cgroup, idle (after the warm-up) and at the end of each target's
busiest run. `--limits` runs the stack as a small server would (bench/limits.yml: the app on 1 CPU, the
stack in 600 MB). Before loading it, it checks inside the app container that a post view renders no
Markdown and that the index and post make constant queries. Prints numbers; it judges nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import time

from bench import report, wrk
from bench.stack import DOMAIN, IMAGES, Stack, image_size_mb, say

CONNECTIONS = (1, 8, 32)
QUICK_CONNECTIONS = (8,)
FLOOR = "/floor"  # mysite/floor.py: what the stack itself costs per request, the pages' reference
PAGES = ("index", "post")
# The pages against the floor, at 8 connections: at least half its req/s, at most twice its p99.
RATIO_CONNECTIONS = 8
RPS_AT_LEAST = 0.5
P99_AT_MOST = 2.0
# Browsers send this; it is what makes nginx gzip the pages and CSS.
CLIENT_HEADERS = {"Accept-Encoding": "gzip, deflate"}

# Runs inside the app container (manage.py shell -c): counts Markdown conversions and queries for
# two GETs of each page (the first may fill the sidebar cache, the second is what most visitors get).
CHECK_SCRIPT = """
import json
from unittest import mock
import markdown
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
calls = []
real = markdown.Markdown.convert
def spy(self, *a, **k):
    calls.append(1)
    return real(self, *a, **k)
out = {}
client = Client(HTTP_HOST=HOST)
with mock.patch.object(markdown.Markdown, "convert", spy):
    for name, path in PATHS.items():
        counts, statuses = [], []
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                statuses.append(client.get(path).status_code)
            counts.append(len(ctx.captured_queries))
        out[name] = {"status": statuses, "queries": counts}
out["markdown_conversions"] = len(calls)
print("BENCH-CHECK " + json.dumps(out))
"""


def find_targets(stack: Stack) -> dict[str, str]:
    """The index, the newest post that has code blocks and a TOC, and site.css's hashed URL."""
    status, index = stack.get("/")
    if status != 200:
        raise wrk.WrkError(f"the index answered {status}")
    css = re.search(r'href="(/static/[^"]*site\.[0-9a-f]{12}\.css)"', index)
    if not css:
        raise wrk.WrkError("no hashed site.css link on the index (ManifestStaticFilesStorage?)")
    for link in dict.fromkeys(re.findall(r'href="(/posts/\d+/)"', index)):
        status, page = stack.get(link)
        if status == 200 and "codehilite" in page and "post-toc" in page:
            return {"index": "/", "post": link, "static": css.group(1)}
    raise wrk.WrkError("no post with code blocks and a TOC on the index")


def check_app(stack: Stack, targets: dict[str, str]) -> dict:
    pages = {k: v for k, v in targets.items() if k in PAGES}
    script = f"HOST = {DOMAIN!r}\nPATHS = {pages!r}\n{CHECK_SCRIPT}"
    out = stack.manage("shell", "-c", script)
    line = next((x for x in out.splitlines() if x.startswith("BENCH-CHECK ")), None)
    if line is None:
        raise wrk.WrkError(f"the in-container check printed nothing:\n{out[-1500:]}")
    return json.loads(line.removeprefix("BENCH-CHECK "))


def floor_ratios(rows: list[dict]) -> list[dict]:
    """Each page against the floor at the same connection count in the same run: req/s page/floor and p99
    page/floor, with the targets (and whether they are met) at RATIO_CONNECTIONS only."""
    floor = {r["connections"]: r for r in rows if r["target"] == "floor"}
    out = []
    for row in rows:
        reference = floor.get(row["connections"])
        if row["target"] not in PAGES or reference is None:
            continue
        targeted = row["connections"] == RATIO_CONNECTIONS
        for measure, key, at_least, at_most in (("req/s", "rps", RPS_AT_LEAST, None),
                                                ("p99 ms", "p99_ms", None, P99_AT_MOST)):
            ratio = round(row[key] / reference[key], 3) if reference[key] else None
            met = None
            if targeted and ratio is not None:
                met = ratio >= at_least if at_least is not None else ratio <= at_most
            out.append({"target": row["target"], "connections": row["connections"], "measure": measure,
                        "page": row[key], "floor": reference[key], "ratio": ratio,
                        "at_least": at_least if targeted else None, "at_most": at_most if targeted else None,
                        "met": met})
        # no target: the app's CPU per request, the ratio that a busy machine disturbs least
        page_cpu = row.get("cpu_ms_per_request", {}).get("mysite")
        floor_cpu = reference.get("cpu_ms_per_request", {}).get("mysite")
        if page_cpu is not None and floor_cpu:
            out.append({"target": row["target"], "connections": row["connections"], "measure": "app cpu ms/req",
                        "page": page_cpu, "floor": floor_cpu, "ratio": round(page_cpu / floor_cpu, 3),
                        "at_least": None, "at_most": None, "met": None})
    return out


def memory_budget(memory: dict) -> dict:
    """The stack's memory against its limits: the largest total (idle or at the end of a target's busiest
    run), the sum of the containers' limits when each has one, and the share of that sum left free."""
    samples = [memory.get("idle") or {}, *(memory.get("under_load") or {}).values()]
    totals = [m["total_mb"] for m in samples if m.get("total_mb") is not None]
    limits = [(m or {}).get("limit_mb") for name, m in (memory.get("idle") or {}).items() if name != "total_mb"]
    limit = round(sum(limits), 1) if limits and None not in limits else None
    peak = max(totals) if totals else None
    free = round(1 - peak / limit, 3) if peak is not None and limit else None
    return {"peak_total_mb": peak, "limit_mb": limit, "free_share": free}


def warm(stack: Stack, targets: dict[str, str], seconds: float) -> None:
    """Every target at 8 connections for ``seconds`` (caches filled, workers started), then a moment's rest."""
    for path in targets.values():
        wrk.run(stack.url + path, connections=8, duration=seconds, host=DOMAIN, headers=CLIENT_HEADERS)
    time.sleep(2)


def load(stack: Stack, targets: dict[str, str], connections, duration: float, warmup: float = 0,
         memory: dict | None = None) -> list[dict]:
    """wrk on each target at each connection count; CPU per request from the cgroups. With ``memory``, each
    container's memory at the end of a target's busiest run goes into ``memory["under_load"][target]`` and
    into that row (``memory``)."""
    rows = []
    for name, path in targets.items():
        if warmup:
            wrk.run(stack.url + path, connections=8, duration=warmup, host=DOMAIN, headers=CLIENT_HEADERS)
        for conns in connections:
            say(f"wrk {name} {path} at {conns} connections for {duration:g}s")
            before = {service: stack.cpu_seconds(service) for service in ("mysite", "nginx")}
            result = wrk.run(
                stack.url + path, connections=conns, duration=duration, host=DOMAIN, headers=CLIENT_HEADERS
            )
            cpu = {}  # CPU ms per request in each container: comparable across runs on a busy machine
            for service, start in before.items():
                end = stack.cpu_seconds(service)
                if start is not None and end is not None and result.requests:
                    cpu[service] = round((end - start) * 1000 / result.requests, 3)
            rows.append(
                {"target": name, "path": path, "connections": conns, **result.as_dict(), "cpu_ms_per_request": cpu}
            )
            if memory is not None and conns == max(connections):
                rows[-1]["memory"] = memory.setdefault("under_load", {})[name] = stack.memory()
            time.sleep(1)  # let TIME_WAIT and the app settle between runs
    return rows


def images_section(stack: Stack, cold: bool) -> dict:
    """Cold build (--no-cache) and a code-only rebuild (one template line), or just a cached build."""
    section: dict = {}
    if cold:
        section["cold_build_s"] = round(stack.build(no_cache=True), 1)
        template = stack.src / "blog/templates/blog/detail.html"
        template.write_text(template.read_text() + "{# bench: a one-line code-only change #}\n")
        section["code_only_rebuild_s"] = round(stack.build(), 1)
    else:
        section["cached_build_s"] = round(stack.build(), 1)
    section["sizes_mb"] = {tag: image_size_mb(tag) for tag in IMAGES}
    return section


def run(
    quick: bool = False,
    keep: bool = False,
    cold_build: bool | None = None,
    duration: float | None = None,
    extra_env: dict[str, str] | None = None,
    ref: str = "",
    limits: bool = False,
) -> dict:
    """The serving section: ``limits`` runs it on bench/limits.yml's small server (a cached build)."""
    from bench.stack import ensure_engine_and_bases

    connections = QUICK_CONNECTIONS if quick else CONNECTIONS
    duration = duration or (4 if quick else 10)
    warmup = 1 if quick else 3
    cold_build = (not quick and not limits) if cold_build is None else cold_build
    ensure_engine_and_bases()
    stack = Stack(extra_env=extra_env or {}, ref=ref, limits=limits)
    say(f"stack mysite-bench on {stack.url} (Host {DOMAIN}){' with bench/limits.yml' if limits else ''}, "
        f"source copy in {stack.src}")
    result: dict = {
        "limits": limits,
        "ref": ref or "working tree",
        "duration_s": duration,
        "client": "wrk",
        "client_headers": CLIENT_HEADERS,
        "env": extra_env or {},
    }
    stack.down()  # a killed run may have left the project behind
    try:
        result["images"] = images_section(stack, cold_build)
        stack.up()
        result["seed"] = stack.manage("seed_demo", "--posts", "100").strip().splitlines()[-1]
        result["gunicorn"] = stack.gunicorn_settings()
        targets = {"floor": FLOOR, **find_targets(stack)}
        result["targets"] = targets
        result["checks"] = check_app(stack, targets)
        warm(stack, targets, warmup)
        memory: dict = {"idle": stack.memory()}
        result["memory"] = memory
        result["rows"] = load(stack, targets, connections, duration, memory=memory)
        memory.update(memory_budget(memory))
        result["floor_ratios"] = floor_ratios(result["rows"])
    finally:
        stack.finish(keep)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 connections only, 4 s runs, cached build")
    parser.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
    parser.add_argument("--limits", action="store_true",
                        help="a small server: bench/limits.yml (the app on 1 CPU, the stack in 600 MB), cached build")
    parser.add_argument("--cold-build", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--duration", type=float, help="seconds per wrk run")
    parser.add_argument("--env", action="append", default=[], help="KEY=value added to the app's env file")
    parser.add_argument("--ref", default="", help="build this git commit instead of the working tree")
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>-serving.json")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.env)
    result = run(
        quick=args.quick,
        keep=args.keep,
        cold_build=args.cold_build,
        duration=args.duration,
        extra_env=extra,
        ref=args.ref,
        limits=args.limits,
    )
    payload = report.envelope({"serving_limits" if args.limits else "serving": result}, quick=args.quick)
    print(report.render(payload))
    if args.save:
        print(f"wrote {report.write(payload, suffix='serving-limits' if args.limits else 'serving')}")


if __name__ == "__main__":
    main()
