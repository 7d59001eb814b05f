"""The serving benchmark's pure parts: the pages as ratios to the framework floor, memory from the cgroups, the
stack's memory against its limits, and how they are printed."""

import os

import pytest

from bench import report, serving
from bench.stack import BenchError, hold_project_lock, memory_limit_mb, memory_mb, parse_memory_stat


def row(target, connections, rps, p99_ms):
    return {"target": target, "connections": connections, "rps": rps, "p99_ms": p99_ms}


ROWS = [
    row("floor", 1, 500.0, 4.0), row("floor", 8, 1000.0, 20.0),
    row("index", 1, 100.0, 12.0), row("index", 8, 400.0, 50.0),
    row("post", 8, 600.0, 30.0), row("static", 8, 9000.0, 2.0),
]  # fmt: skip


def test_floor_ratios_compare_each_page_with_the_floor_at_the_same_connections():
    ratios = serving.floor_ratios(ROWS)
    got = {(r["target"], r["connections"], r["measure"]): (r["ratio"], r["met"]) for r in ratios}
    assert got == {
        ("index", 1, "req/s"): (0.2, None),  # no target at 1 connection
        ("index", 1, "p99 ms"): (3.0, None),
        ("index", 8, "req/s"): (0.4, False),  # below half the floor's req/s
        ("index", 8, "p99 ms"): (2.5, False),  # more than twice its p99
        ("post", 8, "req/s"): (0.6, True),
        ("post", 8, "p99 ms"): (1.5, True),
    }
    with_cpu = serving.floor_ratios([{**row("floor", 8, 1000.0, 20.0), "cpu_ms_per_request": {"mysite": 2.0}},
                                     {**row("post", 8, 600.0, 30.0), "cpu_ms_per_request": {"mysite": 7.0}}])
    assert [(r["measure"], r["ratio"], r["met"]) for r in with_cpu] == [
        ("req/s", 0.6, True), ("p99 ms", 1.5, True), ("app cpu ms/req", 3.5, None)]  # no target for CPU
    index8 = next(r for r in ratios if r["target"] == "index" and r["connections"] == 8 and r["measure"] == "req/s")
    assert (index8["page"], index8["floor"], index8["at_least"], index8["at_most"]) == (400.0, 1000.0, 0.5, None)


def test_floor_ratios_at_the_bounds_are_met_and_without_a_floor_there_are_none():
    at_bounds = serving.floor_ratios([row("floor", 8, 1000.0, 20.0), row("post", 8, 500.0, 40.0)])
    assert [r["met"] for r in at_bounds] == [True, True]
    assert serving.floor_ratios([row("index", 8, 400.0, 50.0)]) == []
    zero = serving.floor_ratios([row("floor", 8, 0.0, 0.0), row("index", 8, 400.0, 50.0)])
    assert [(r["ratio"], r["met"]) for r in zero] == [(None, None), (None, None)]


V1_STAT = "cache 10485760\nrss 52428800\ninactive_file 1048576\ntotal_inactive_file 8388608\nnot a number x\n"


def test_memory_from_cgroup_files_v1_and_v2():
    assert parse_memory_stat(V1_STAT) == {"cache": 10485760, "rss": 52428800, "inactive_file": 1048576,
                                          "total_inactive_file": 8388608}  # fmt: skip
    # v1: the hierarchy's total_inactive_file (as docker stats), v2: inactive_file
    assert memory_mb(72 * 2**20, parse_memory_stat(V1_STAT)) == {"mb": 64.0, "usage_mb": 72.0,
                                                                  "inactive_file_mb": 8.0}  # fmt: skip
    assert memory_mb(30 * 2**20, {"inactive_file": 2**20})["mb"] == 29.0
    assert memory_mb(2**20, {"inactive_file": 2 * 2**20})["mb"] == 0.0
    assert memory_limit_mb("max\n") is None
    assert memory_limit_mb("9223372036854771712\n") is None  # v1: no limit
    assert memory_limit_mb(f"{480 * 2**20}\n") == 480.0
    assert memory_limit_mb(None) is None


def sample(app, nginx, app_limit=None, nginx_limit=None):
    return {"mysite": {"mb": app, "limit_mb": app_limit}, "nginx": {"mb": nginx, "limit_mb": nginx_limit},
            "total_mb": round(app + nginx, 1)}  # fmt: skip


def test_memory_budget_is_the_largest_total_against_the_sum_of_the_limits():
    memory = {"idle": sample(150.0, 10.0, 480.0, 120.0),
              "under_load": {"index": sample(200.0, 12.0, 480.0, 120.0), "post": sample(230.0, 10.0, 480.0, 120.0)}}
    assert serving.memory_budget(memory) == {"peak_total_mb": 240.0, "limit_mb": 600.0, "free_share": 0.6}
    unlimited = {"idle": sample(150.0, 10.0), "under_load": {"index": sample(200.0, 12.0)}}
    assert serving.memory_budget(unlimited) == {"peak_total_mb": 212.0, "limit_mb": None, "free_share": None}
    half = {"idle": sample(150.0, 10.0, 480.0, None), "under_load": {}}
    assert serving.memory_budget(half)["limit_mb"] is None  # one container without a limit: no budget
    unreadable = {"idle": {"mysite": {"mb": 150.0, "limit_mb": 480.0}, "nginx": None, "total_mb": None}}
    assert serving.memory_budget(unreadable) == {"peak_total_mb": None, "limit_mb": None, "free_share": None}


def test_render_prints_the_ratio_table_and_memory():
    memory = {"idle": sample(150.0, 10.0, 480.0, 120.0), "under_load": {"post": sample(230.0, 10.0, 480.0, 120.0)}}
    memory.update(serving.memory_budget(memory))
    section = {"rows": [], "floor_ratios": serving.floor_ratios(ROWS), "memory": memory}
    out = report.render({"date": "d", "machine": {}, "serving_limits": section})
    assert "## serving through nginx on a small server (bench/limits.yml)" in out
    lines = out.splitlines()
    start = lines.index("## ratio to the framework floor (/floor, same run)")
    assert lines[start + 1].split() == ["target", "conns", "measure", "page", "floor", "ratio", "target", "ratio",
                                        "met"]  # fmt: skip
    assert lines[start + 5].split() == ["index", "8", "req/s", "400.0", "1000.0", "0.400", ">=", "0.5", "not", "met"]
    assert lines[start + 8].split() == ["post", "8", "p99", "ms", "30.0", "20.0", "1.500", "<=", "2", "met"]
    memory_at = lines.index("## memory (cgroups: usage - inactive_file, MB)")
    assert lines[memory_at + 1].split() == ["when", "mysite", "nginx", "total"]
    assert lines[memory_at + 3].split() == ["idle", "150.0", "10.0", "160.0"]
    assert lines[memory_at + 4].split() == ["post,", "end", "of", "busiest", "run", "230.0", "10.0", "240.0"]
    assert lines[memory_at + 5].split() == ["limit", "480.0", "120.0", "600.0"]
    assert lines[memory_at + 6] == "free under load: 60% of the stack's 600 MB (largest total 240 MB)"


def test_benchmarks_take_turns_with_the_compose_project(tmp_path):
    lock = tmp_path / "mysite-bench.lock"
    first = hold_project_lock(lock)
    with pytest.raises(BenchError, match="another benchmark held mysite-bench for 0.1s"):
        hold_project_lock(lock, timeout=0.1, poll=0.02)
    os.close(first)
    os.close(hold_project_lock(lock, timeout=0.1, poll=0.02))  # free again once the first let go
