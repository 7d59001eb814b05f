"""SQLite against PostgreSQL on one stack in one run: pages, a write mix, and how long the move takes.

    python -m bench.databases [--rounds 2] [--duration 10] [--keep] [--save]

One production.yml stack (bench/stack.py, project mysite-bench) with the postgres service started by name.
The app is seeded with the same 100 posts (`seed_demo --posts 100`) on SQLite and on PostgreSQL, then
measured in rounds, the two databases interleaved (SQLite, PostgreSQL, SQLite, PostgreSQL...): before each
slot the app container is recreated on that database (its env file rewritten), so both run the same image
with the same settings, behind the same nginx, at the same moment of a shared machine's day. Each slot:
- wrk (bench/wrk.py) at 8 connections on the index, then on the newest post with code blocks and a TOC;
- a write mix at 16 connections (testbed/load.py's CommentLoad: each connection alternates a comment POST,
  which counts only when answered 302, and a GET of the post it comments on; no retries), on another post,
  so the measured post page never grows; the comments stored are counted, compared with the 302s, and
  deleted, so every slot starts from the same rows.
The move: `manage.py db_copy` (the URL on stdin) of an SQLite database of 100 and of 1,000 seeded posts into an empty
database of the stack's PostgreSQL, in a one-off `compose run` of the app image on the stack's `database`
volume. Reported: the one-off as a user waits for it (container start to exit) and db_copy's own steps.
Prints numbers and ratios PostgreSQL/SQLite of the same run; it judges nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import time

from bench import report, wrk
from bench.databases_report import _label
from bench.stack import DOMAIN, BenchError, Stack, say
from testbed.load import CommentLoad

POSTS = 100
MOVE_SIZES = (100, 1000)
READ_CONNECTIONS = 8
WRITE_CONNECTIONS = 16
ROUNDS = 3
DURATION = 10.0
WARMUP = 3.0
MARKER = "bench-db"  # the write mix's comments start with it: counted and deleted after each slot
CPU_SERVICES = ("mysite", "nginx", "postgres")
# db_copy -v 2 says each step on stderr as it starts ("db_copy: <word> ..."): the steps between two of them
COPY_STEPS = (("connecting", "connect + migrate"), ("dumpdata", "dumpdata"),
              ("loaddata", "loaddata + fingerprints"), ("done", "exit"))  # fmt: skip

# Runs in a one-off app container: db_copy as a child, each stderr line stamped as it comes (seconds from start).
COPY_SCRIPT = """
import json, os, subprocess, sys, time
source = os.environ["DATABASE_URL"].removeprefix("sqlite:///")
size = os.path.getsize(source)
started = time.monotonic()
child = subprocess.Popen([sys.executable, "manage.py", "db_copy", "-v", "2"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
child.stdin.write(sys.argv[1] + "\n")  # the target's URL: db_copy reads it from stdin
child.stdin.close()
lines = [[round(time.monotonic() - started, 3), line.rstrip()] for line in child.stderr]
out = child.stdout.read()
code = child.wait()
print("BENCH-COPY " + json.dumps({"seconds": round(time.monotonic() - started, 3), "exit": code,
                                  "source_bytes": size, "stderr": lines, "stdout": out}))
"""

COUNT_SCRIPT = """
from blog.models import Comment
found = Comment.objects.filter(text__startswith=MARKER)
print("BENCH-STORED", found.count())
found.delete()
"""


# ---- pure: the plan, percentiles, summaries, ratios, the move's steps, the tables ----------------------------


def schedule(rounds: int, databases: tuple[str, ...] = ("sqlite", "postgres")) -> list[tuple[int, str]]:
    """(round, database) in the order they run: the databases interleaved, A/B/A/B."""
    return [(r, db) for r in range(1, rounds + 1) for db in databases]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q% of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def write_row(latencies: dict[str, list[float]], statuses: dict[str, int], failed: int, reasons: dict[str, int],
              seconds: float, stored: int | None) -> dict:
    """The write mix's numbers from its latencies (seconds, by "GET", "POST" and "error": no answer) and counts."""
    every = [x for values in latencies.values() for x in values]
    accepted = statuses.get("POST 302", 0)
    return {
        "requests": len(every),
        "seconds": round(seconds, 2),
        "rps": round(len(every) / seconds, 1) if seconds else None,
        "comments": accepted,
        "comments_per_s": round(accepted / seconds, 1) if seconds else None,
        "stored": stored,
        "lost": None if stored is None else accepted - stored,
        "p50_ms": _ms(percentile(every, 50)),
        "p99_ms": _ms(percentile(every, 99)),
        "post_p99_ms": _ms(percentile(latencies.get("POST", []), 99)),
        "get_p99_ms": _ms(percentile(latencies.get("GET", []), 99)),
        "max_ms": _ms(max(every, default=None)),
        "failed": failed,
        "statuses": dict(statuses),
        "reasons": dict(reasons),
    }


def cpu_per_request(before: dict[str, float | None], after: dict[str, float | None], requests: int) -> dict:
    """CPU ms per request in each container whose cgroup was readable (stays comparable on a busy machine)."""
    return {service: round((after[service] - start) * 1000 / requests, 3)
            for service, start in before.items()
            if start is not None and after.get(service) is not None and requests}  # fmt: skip


METRICS = ("rps", "p99_ms", "cpu_ms", "comments_per_s", "post_p99_ms")


def serving_cpu(cpu: dict[str, float], database: str) -> float | None:
    """CPU ms per request of what serves it: the app and nginx, and PostgreSQL's server when it is the database
    (SQLite runs inside the app; on SQLite the postgres container only idles: its health check)."""
    used = {k: v for k, v in cpu.items() if k != "postgres" or database == "postgres"}
    return round(sum(used.values()), 3) if used else None


def summarize(rows: list[dict]) -> dict:
    """Per target and database, the median over rounds of each metric (and the failures summed)."""
    groups: dict[str, dict[str, list[dict]]] = {}
    for row in rows:
        groups.setdefault(row["target"], {}).setdefault(row["database"], []).append(row)
    summary: dict = {}
    for target, by_db in groups.items():
        summary[target] = {}
        for database, runs in by_db.items():
            entry = {"runs": len(runs), "connections": runs[0]["connections"],
                     "failed": sum(r.get("failed", 0) for r in runs)}  # fmt: skip
            for metric in METRICS:
                values = [r[metric] for r in runs if r.get(metric) is not None]
                if values:
                    entry[metric] = round(statistics.median(values), 2)
            cpu = {}
            for service in CPU_SERVICES:
                values = [r["cpu_ms_per_request"][service] for r in runs if service in r.get("cpu_ms_per_request", {})]
                if values:
                    cpu[service] = round(statistics.median(values), 3)
            entry["cpu_ms_per_request"] = cpu
            summary[target][database] = entry
    return summary


def ratios(summary: dict, rows: list[dict] = (), numerator: str = "postgres",
           denominator: str = "sqlite") -> list[dict]:  # fmt: skip
    """PostgreSQL/SQLite for each metric both have, per target (above 1: PostgreSQL more req/s, or slower p99, or
    more CPU per request): of the medians (`ratio`), and of each round's pair of slots (`per_round`: how much
    the machine's noise moved it)."""
    slots = {(r["target"], r["database"], r["round"]): r for r in rows}
    rounds = sorted({r["round"] for r in rows})
    out = []
    for target, by_db in summary.items():
        top, bottom = by_db.get(numerator, {}), by_db.get(denominator, {})
        for metric in METRICS:
            if top.get(metric) is None or not bottom.get(metric):
                continue
            per_round = []
            for number in rounds:
                over = slots.get((target, numerator, number), {}).get(metric)
                under = slots.get((target, denominator, number), {}).get(metric)
                if over is not None and under:
                    per_round.append(round(over / under, 3))
            out.append({"target": target, "metric": metric, denominator: bottom[metric], numerator: top[metric],
                        "ratio": round(top[metric] / bottom[metric], 3), "per_round": per_round})  # fmt: skip
    return out


def copy_steps(lines: list[list], total: float) -> dict[str, float]:
    """Seconds of each of db_copy's steps from its stamped `-v 2` lines; "start" is the process's own
    start-up (Python, Django) before it connects."""
    marks: dict[str, float] = {}
    for stamp, line in lines:
        word = re.match(r"db_copy: (\w+)", line)
        if word and word.group(1) not in marks:
            marks[word.group(1)] = float(stamp)
    steps: dict[str, float] = {}
    previous, label = 0.0, "start"
    for word, next_label in COPY_STEPS:
        if word in marks:
            steps[label] = round(marks[word] - previous, 3)
            previous, label = marks[word], next_label
    steps[label] = round(total - previous, 3)
    return steps


def fingerprints(stdout: str) -> list[dict]:
    """db_copy prints the source's then the copy's fingerprint, one JSON line each."""
    found = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def pick_other_post(index_html: str, avoid: str) -> str:
    """A post linked from the index other than ``avoid``: the write mix's, so the measured page stays as it is."""
    for link in dict.fromkeys(re.findall(r'href="(/posts/\d+/)"', index_html)):
        if link != avoid:
            return link
    raise BenchError(f"the index links no post other than {avoid}")


def redact(url: str) -> str:
    """A database URL without its password (for the record)."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


# ---- the run ---------------------------------------------------------------------------------------------------


class TimedCommentLoad(CommentLoad):
    """CommentLoad that also keeps every latency, by what was answered ("GET", "POST"; "error": no answer)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.latencies: dict[str, list[float]] = {"GET": [], "POST": [], "error": []}

    def _record(self, latency: float, failure: str | None, status: str = "") -> None:
        super()._record(latency, failure, status)
        with self._lock:
            self.latencies.setdefault(status.split(" ")[0] if status else "error", []).append(latency)


def _cpu_now(stack: Stack) -> dict[str, float | None]:
    return {service: stack.cpu_seconds(service) for service in CPU_SERVICES}


def read_slot(stack: Stack, targets: dict[str, str], duration: float, warmup: float) -> list[dict]:
    from bench.serving import CLIENT_HEADERS

    rows = []
    for name in ("index", "post"):
        url = stack.url + targets[name]
        if warmup:
            wrk.run(url, connections=READ_CONNECTIONS, duration=warmup, host=DOMAIN, headers=CLIENT_HEADERS)
        before = _cpu_now(stack)
        result = wrk.run(url, connections=READ_CONNECTIONS, duration=duration, host=DOMAIN, headers=CLIENT_HEADERS)
        cpu = cpu_per_request(before, _cpu_now(stack), result.requests)
        rows.append({"target": name, "path": targets[name], "connections": READ_CONNECTIONS, **result.as_dict(),
                     "cpu_ms_per_request": cpu})  # fmt: skip
        time.sleep(1)
    return rows


def write_slot(stack: Stack, post: str, marker: str, duration: float) -> dict:
    pk = re.search(r"/posts/(\d+)/", post).group(1)
    load = TimedCommentLoad("127.0.0.1", stack.port, host=DOMAIN, post_path=post, comment_path=f"/comment/{pk}",
                            marker=marker, threads=WRITE_CONNECTIONS, max_seconds=duration + 30)  # fmt: skip
    before = _cpu_now(stack)
    started = time.monotonic()
    with load:
        time.sleep(duration)
    seconds = time.monotonic() - started
    after = _cpu_now(stack)
    result = load.result
    out = stack.manage("shell", "-c", f"MARKER = {marker!r}\n{COUNT_SCRIPT}")
    stored = re.search(r"BENCH-STORED (\d+)", out)
    row = write_row(load.latencies, dict(result.statuses), result.failed, dict(result.reasons), seconds,
                    int(stored.group(1)) if stored else None)  # fmt: skip
    row["first_failures"] = result.first_failures[:5]
    return {"target": "write mix", "path": post, "connections": WRITE_CONNECTIONS, **row,
            "cpu_ms_per_request": cpu_per_request(before, after, row["requests"])}  # fmt: skip


def seed(stack: Stack, database: str) -> dict:
    """The app on ``database``, seeded with POSTS posts; what it holds (db_fingerprint's row counts)."""
    from bench.serving import find_targets

    stack.use_database(database)
    line = stack.manage("seed_demo", "--posts", str(POSTS)).strip().splitlines()[-1]
    counts = json.loads(stack.manage("db_fingerprint").strip().splitlines()[-1])["counts"]
    targets = find_targets(stack)
    _, index = stack.get("/")
    targets["write"] = pick_other_post(index, targets["post"])
    return {"seed": line, "counts": {k: counts[k] for k in ("blog_post", "blog_comment", "blog_tag") if k in counts},
            "targets": targets}  # fmt: skip


def move(stack: Stack, posts: int) -> dict:
    """An SQLite database of ``posts`` seeded posts, then `db_copy --to` an empty database of the stack's
    PostgreSQL, each in a one-off `compose run` of the app image with the `database` volume."""
    source = f"sqlite:////app/database/bench-move-{posts}.sqlite3"
    target = f"bench_move_{posts}"
    one_off = ("run", "--rm", "--no-deps", "-T", "-e", f"DATABASE_URL={source}", "mysite")
    say(f"move: seeding an SQLite database with {posts} posts")
    stack.compose(*one_off, "sh", "-c", f"python manage.py migrate --noinput -v 0 && "
                  f"python manage.py seed_demo --posts {posts}")  # fmt: skip
    stack.psql(f"DROP DATABASE IF EXISTS {target}")
    stack.psql(f"CREATE DATABASE {target}")
    say(f"move: db_copy of {posts} posts into an empty PostgreSQL database")
    started = time.monotonic()
    done = stack.compose(*one_off, "python", "-c", COPY_SCRIPT, stack.postgres_url(target), check=False)
    run_s = time.monotonic() - started
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-COPY ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"the move of {posts} posts failed (exit {done.returncode}):\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")  # fmt: skip
    copy = json.loads(line.removeprefix("BENCH-COPY "))
    if copy["exit"] != 0:
        raise BenchError(f"db_copy of {posts} posts failed: {' / '.join(x[1] for x in copy['stderr'][-3:])}")
    prints = fingerprints(copy["stdout"])
    counts = prints[0]["counts"] if prints else {}
    stack.psql(f"DROP DATABASE IF EXISTS {target}")
    return {
        "posts": posts,
        "comments": counts.get("blog_comment"),
        "source_bytes": copy["source_bytes"],
        "run_s": round(run_s, 2),
        "db_copy_s": round(copy["seconds"], 2),
        "steps": copy_steps(copy["stderr"], copy["seconds"]),
        "equal": len(prints) == 2 and prints[0] == prints[1],
        "counts": counts,
    }


def run(rounds: int = ROUNDS, duration: float = DURATION, keep: bool = False,
        move_sizes: tuple[int, ...] = MOVE_SIZES) -> dict:  # fmt: skip
    from bench.stack import ensure_engine_and_bases
    from testbed import images

    ensure_engine_and_bases()
    try:
        images.ensure_image(images.POSTGRES_IMAGE)
    except RuntimeError as exc:
        raise BenchError(str(exc)) from exc
    stack = Stack(postgres=True)
    say(f"databases: stack mysite-bench on {stack.url} (Host {DOMAIN}) with PostgreSQL, source copy in {stack.src}")
    result: dict = {
        "posts": POSTS,
        "rounds": rounds,
        "duration_s": duration,
        "warmup_s": WARMUP,
        "clients": {"pages": f"wrk at {READ_CONNECTIONS} connections",
                    "write mix": f"testbed/load.py CommentLoad at {WRITE_CONNECTIONS} connections (POST 302 + GET)"},
        "postgres_url": redact(stack.postgres_url()),
        "order": [],
        "rows": [],
    }  # fmt: skip
    stack.down()  # a killed run may have left the project behind
    result["load_avg_before"] = report.load_average()
    try:
        result["build_s"] = round(stack.build(), 1)
        stack.up()
        result["gunicorn"] = stack.gunicorn_settings()
        result["data"] = {db: seed(stack, db) for db in stack.databases}
        for number, database in schedule(rounds, stack.databases):
            say(f"databases: round {number}, {_label(database)}")
            result["order"].append(f"{database} {number}")
            stack.use_database(database)
            targets = result["data"][database]["targets"]
            load_1m = report.load_average()[:1]
            rows = read_slot(stack, targets, duration, WARMUP)
            rows.append(write_slot(stack, targets["write"], f"{MARKER}-{database}-{number}", duration))
            result["rows"] += [{"round": number, "database": database, **row,
                                "cpu_ms": serving_cpu(row["cpu_ms_per_request"], database),
                                "load_1m": load_1m[0] if load_1m else None} for row in rows]  # fmt: skip
        result["summary"] = summarize(result["rows"])
        result["ratios"] = ratios(result["summary"], result["rows"])
        result["move"] = {
            "what": "one `compose run --rm --no-deps mysite` of the app image on the stack's database volume "
            "(container start to exit, `compose run`) running `manage.py db_copy --to` an empty database of the "
            "stack's postgres service (`db_copy`, from its process start: Django start-up, connect + migrate "
            "the empty schema, dumpdata, loaddata in one transaction + both fingerprints). Not measured: "
            "`fab db.to-postgres`'s SSH, read-only switch and zero-downtime app switch.",
            "sizes": [move(stack, posts) for posts in move_sizes],
        }
        result["load_avg_after"] = report.load_average()
    finally:
        stack.finish(keep)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of SQLite then PostgreSQL (default 3)")
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds per measured run (default 10)")
    parser.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>-databases.json")
    args = parser.parse_args(argv)
    payload = report.envelope({"databases": run(rounds=args.rounds, duration=args.duration, keep=args.keep)},
                              quick=False)  # fmt: skip
    print(report.render(payload))
    if args.save:
        print(f"wrote {report.write(payload, suffix='databases')}")


if __name__ == "__main__":
    main()
