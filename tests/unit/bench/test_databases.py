"""The databases benchmark's pure parts (bench/databases.py): plan, percentiles, summaries, ratios, the move."""

import pytest

from bench import databases, report
from bench.stack import BenchError


def test_schedule_interleaves_the_databases():
    assert databases.schedule(2) == [(1, "sqlite"), (1, "postgres"), (2, "sqlite"), (2, "postgres")]
    assert databases.schedule(1, ("sqlite",)) == [(1, "sqlite")]


def test_percentile_is_nearest_rank():
    values = [float(x) for x in range(1, 101)]  # 1..100
    assert databases.percentile(values, 99) == 99.0
    assert databases.percentile(values, 50) == 50.0
    assert databases.percentile(values, 100) == 100.0
    assert databases.percentile([5.0], 99) == 5.0
    assert databases.percentile([3.0, 1.0, 2.0], 0) == 1.0
    assert databases.percentile([], 99) is None


def test_write_row_counts_comments_by_their_302_and_what_was_stored():
    latencies = {"GET": [0.010] * 90 + [0.050] * 10, "POST": [0.020] * 99 + [0.200], "error": [10.0]}
    statuses = {"GET 200": 100, "POST 302": 99, "POST 503": 1}
    row = databases.write_row(latencies, statuses, failed=2, reasons={"HTTP 503": 1, "TimeoutError": 1},
                              seconds=4.0, stored=98)  # fmt: skip
    assert row["requests"] == 201
    assert row["rps"] == 50.2
    assert (row["comments"], row["comments_per_s"], row["stored"], row["lost"]) == (99, 24.8, 98, 1)
    assert row["post_p99_ms"] == 20.0  # the 100th POST (200 ms) is above the 99th percentile
    assert row["get_p99_ms"] == 50.0
    assert row["max_ms"] == 10000.0  # the request that never got an answer counts in the latencies
    assert row["failed"] == 2 and row["reasons"] == {"HTTP 503": 1, "TimeoutError": 1}
    assert databases.write_row({"GET": [], "POST": []}, {}, 0, {}, 0.0, None)["lost"] is None


def test_cpu_per_request_skips_unreadable_cgroups():
    before = {"mysite": 10.0, "nginx": None, "postgres": 2.0}
    after = {"mysite": 12.5, "nginx": 1.0, "postgres": 2.5}
    assert databases.cpu_per_request(before, after, 500) == {"mysite": 5.0, "postgres": 1.0}
    assert databases.cpu_per_request(before, after, 0) == {}


def rows():
    def page(db, r, rps, p99, app):
        cpu = {"mysite": app, "nginx": 0.3, "postgres": 0.5 if db == "sqlite" else 1.0}
        return {"database": db, "round": r, "target": "index", "connections": 8, "rps": rps, "p99_ms": p99,
                "failed": 0, "cpu_ms_per_request": cpu, "cpu_ms": databases.serving_cpu(cpu, db),
                "load_1m": 3.5}  # fmt: skip

    def mix(db, r, per_s, post_p99, failed):
        return {"database": db, "round": r, "target": "write mix", "connections": 16, "rps": per_s * 2,
                "p99_ms": post_p99, "comments_per_s": per_s, "post_p99_ms": post_p99, "failed": failed,
                "cpu_ms_per_request": {}}  # fmt: skip

    return [page("sqlite", 1, 300.0, 40.0, 5.0), page("postgres", 1, 240.0, 50.0, 6.0),
            page("sqlite", 2, 320.0, 44.0, 5.2), page("postgres", 2, 256.0, 60.0, 6.4),
            mix("sqlite", 1, 80.0, 100.0, 1), mix("postgres", 1, 120.0, 50.0, 0),
            mix("sqlite", 2, 80.0, 100.0, 0), mix("postgres", 2, 120.0, 50.0, 0)]  # fmt: skip


def test_serving_cpu_counts_postgres_only_where_it_serves():
    cpu = {"mysite": 5.0, "nginx": 0.3, "postgres": 0.5}
    assert databases.serving_cpu(cpu, "sqlite") == 5.3  # SQLite runs in the app; postgres only idles
    assert databases.serving_cpu(cpu, "postgres") == 5.8
    assert databases.serving_cpu({}, "postgres") is None


def test_summarize_takes_the_median_over_rounds_and_sums_failures():
    summary = databases.summarize(rows())
    cpu = {"mysite": 5.1, "nginx": 0.3, "postgres": 0.5}
    assert summary["index"]["sqlite"] == {"runs": 2, "connections": 8, "failed": 0, "rps": 310.0, "p99_ms": 42.0,
                                          "cpu_ms": 5.4, "cpu_ms_per_request": cpu}  # fmt: skip
    assert summary["index"]["postgres"]["rps"] == 248.0
    assert summary["write mix"]["sqlite"]["failed"] == 1
    assert summary["write mix"]["postgres"]["comments_per_s"] == 120.0


def test_ratios_are_postgres_over_sqlite():
    found = {(r["target"], r["metric"]): r["ratio"] for r in databases.ratios(databases.summarize(rows()))}
    assert found[("index", "rps")] == 0.8
    assert found[("index", "p99_ms")] == 1.31  # 55 / 42
    assert found[("index", "cpu_ms")] == 1.389  # 7.5 / 5.4
    assert found[("write mix", "comments_per_s")] == 1.5
    assert found[("write mix", "post_p99_ms")] == 0.5
    assert ("index", "comments_per_s") not in found  # only metrics both databases have


def test_ratios_per_round_pair_each_round_s_slots():
    found = {(r["target"], r["metric"]): r["per_round"] for r in databases.ratios(databases.summarize(rows()), rows())}
    assert found[("index", "rps")] == [0.8, 0.8]
    assert found[("index", "p99_ms")] == [1.25, 1.364]
    assert found[("write mix", "comments_per_s")] == [1.5, 1.5]
    assert databases.ratios(databases.summarize(rows()))[0]["per_round"] == []  # no rows given: medians only


def test_copy_steps_from_the_stamped_stderr_lines():
    lines = [[1.2, "db_copy: connecting to the target (postgresql bench_move_100)"],
             [1.3, "db_copy: migrate: the schema in the target"],
             [3.0, "db_copy: dumpdata: every row of this database"],
             [3.5, "db_copy: loaddata: into the target, in one transaction; sequences reset"],
             [4.5, "db_copy: done: 742 rows in 12 tables, fingerprints equal"]]  # fmt: skip
    assert databases.copy_steps(lines, 4.6) == {"start": 1.2, "connect + migrate": 1.8, "dumpdata": 0.5,
                                                "loaddata + fingerprints": 1.0, "exit": 0.1}  # fmt: skip
    assert databases.copy_steps([], 2.0) == {"start": 2.0}  # no -v 2 lines: all of it is one step


def test_fingerprints_are_the_json_lines_of_the_output():
    out = '{"counts": {"blog_post": 100}}\nsome note\n{"counts": {"blog_post": 100}}\n{broken\n'
    assert databases.fingerprints(out) == [{"counts": {"blog_post": 100}}] * 2


def test_the_write_mix_comments_on_another_post():
    index = '<a href="/posts/7/">x</a><a href="/posts/7/">again</a><a href="/posts/6/">y</a>'
    assert databases.pick_other_post(index, "/posts/7/") == "/posts/6/"
    with pytest.raises(BenchError):
        databases.pick_other_post('<a href="/posts/7/">x</a>', "/posts/7/")


def test_redact_hides_the_password_only():
    assert databases.redact("postgres://mysite:s3cret@postgres:5432/mysite") == "postgres://mysite:***@postgres:5432/mysite"
    assert databases.redact("sqlite:////app/database/db.sqlite3") == "sqlite:////app/database/db.sqlite3"


def test_report_renders_the_section():
    summary = databases.summarize(rows())
    section = {"posts": 100, "rounds": 2, "summary": summary, "ratios": databases.ratios(summary, rows()),
               "rows": [{**r, "lost": 0} for r in rows()],
               "move": {"what": "db_copy in a one-off", "sizes": [
                   {"posts": 100, "comments": 150, "source_bytes": 2_500_000, "run_s": 6.1, "db_copy_s": 4.6,
                    "steps": {"start": 1.2, "connect + migrate": 1.8, "dumpdata": 0.5,
                              "loaddata + fingerprints": 1.0, "exit": 0.1}, "equal": True}]}}  # fmt: skip
    out = report.render({"date": "2026-12-02T01:02:03", "commit": "abc1234", "machine": {"cpus": 2},
                         "databases": section})  # fmt: skip
    lines = out.splitlines()
    index = next(line.split() for line in lines if line.startswith("index"))
    # cpu: app + nginx, plus the postgres container's only where it is the database (on SQLite it idles)
    assert index == ["index", "8", "310.0", "248.0", "0.80", "42.0", "55.0", "1.31", "5.40", "7.50", "1.39", "0/0"]
    assert "ratio in each round: index rps 0.80 0.80; index p99_ms 1.25 1.36; index cpu_ms 1.38 1.40" in out
    slot = next(line.split() for line in lines if line.startswith("2 ") and "PostgreSQL" in line)
    assert slot == ["2", "PostgreSQL", "index", "256.0", "60.0", "0", "6.40", "1.00", "3.50"]
    assert "ratio PostgreSQL/SQLite: comments/s 1.50, POST p99 0.50" in out
    move = next(line.split() for line in lines if line.startswith("100"))
    assert move == ["100", "150", "2.50", "6.10", "4.60", "1.20", "1.80", "0.50", "1.00", "yes"]
    assert "measured: db_copy in a one-off" in out
    assert "LOST" not in out
    lost = report.render({"databases": {**section, "rows": [{**rows()[4], "lost": 2}]}})
    assert "LOST comments (answered 302, not stored): [('sqlite', 1, 2)]" in lost
