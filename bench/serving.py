"""Serving benchmark: production.yml on this machine, 100 seeded posts, wrk through nginx.

    python -m bench.serving [--quick] [--keep] [--env WEB_CONCURRENCY=3 ...]

Measures the index, a post with code blocks and a table of contents, and a hashed static CSS file at
1, 8 and 32 connections (`--quick`: 8 only, shorter). Before loading it, it checks inside the app
container that a post view renders no Markdown and that the index and post make constant queries.
Prints numbers; it judges nothing.
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
    pages = {k: v for k, v in targets.items() if k != "static"}
    script = f"HOST = {DOMAIN!r}\nPATHS = {pages!r}\n{CHECK_SCRIPT}"
    out = stack.manage("shell", "-c", script)
    line = next((x for x in out.splitlines() if x.startswith("BENCH-CHECK ")), None)
    if line is None:
        raise wrk.WrkError(f"the in-container check printed nothing:\n{out[-1500:]}")
    return json.loads(line.removeprefix("BENCH-CHECK "))


def load(stack: Stack, targets: dict[str, str], connections, duration: float, warmup: float) -> list[dict]:
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
) -> dict:
    from bench.stack import ensure_engine_and_bases

    connections = QUICK_CONNECTIONS if quick else CONNECTIONS
    duration = duration or (4 if quick else 10)
    warmup = 1 if quick else 3
    cold_build = (not quick) if cold_build is None else cold_build
    ensure_engine_and_bases()
    stack = Stack(extra_env=extra_env or {}, ref=ref)
    say(f"stack mysite-bench on {stack.url} (Host {DOMAIN}), source copy in {stack.src}")
    result: dict = {
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
        targets = find_targets(stack)
        result["targets"] = targets
        result["checks"] = check_app(stack, targets)
        result["rows"] = load(stack, targets, connections, duration, warmup)
    finally:
        stack.finish(keep)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 connections only, 4 s runs, cached build")
    parser.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
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
    )
    payload = report.envelope({"serving": result}, quick=args.quick)
    print(report.render(payload))
    if args.save:
        print(f"wrote {report.write(payload, suffix='serving')}")


if __name__ == "__main__":
    main()
