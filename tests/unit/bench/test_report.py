"""The results record (bench/report.py): file names, JSON, and the printed tables."""

import json

from bench import report

ROW = {
    "target": "index", "connections": 8, "rps": 412.345, "p50_ms": 17.5, "p99_ms": 41.25, "max_ms": 60.0,
    "requests": 4123, "non_2xx_3xx": 1, "errors": {"connect": 0, "read": 2, "write": 0, "timeout": 0},
}  # fmt: skip


def payload(**sections):
    return {"date": "2026-11-24T04:05:06", "quick": False, "commit": "abc1234", "machine": {"cpus": 2,
            "load_avg": [0.5, 0.4, 0.3]}, **sections}  # fmt: skip


def test_table_aligns_columns():
    out = report.table(["name", "n"], [["a", 1], ["longer", 12.345], ["x", None]])
    assert out.splitlines() == [
        "name       n",
        "------  ----",
        "a          1",
        "longer  12.3",
        "x          -",
    ]


def test_serving_table_counts_every_error():
    lines = report.serving_table([ROW]).splitlines()
    assert lines[0].split() == ["target", "conns", "req/s", "p50", "ms", "p99", "ms", "max", "ms", "requests",
                                "non-2xx/3xx", "errors", "app", "cpu", "ms/req", "nginx", "cpu", "ms/req"]  # fmt: skip
    assert lines[2].split() == ["index", "8", "412.3", "17.5", "41.2", "60.0", "4123", "1", "2", "-", "-"]
    with_cpu = report.serving_table([{**ROW, "cpu_ms_per_request": {"mysite": 7.25, "nginx": 0.31}}])
    assert with_cpu.splitlines()[2].split()[-2:] == ["7.25", "0.31"]


def test_steps_table_lists_steps_then_the_sums():
    phases = {"warm": {"steps": [{"title": "build images", "seconds": 12.0}], "build_s": 12.0, "switch_s": 4.0,
                       "total_s": 19.0, "overhead_s": 3.0}}  # fmt: skip
    rows = [line.split() for line in report.steps_table(phases).splitlines()[2:]]
    assert rows == [
        ["warm", "build", "images", "12.0"], ["warm", "=", "build", "12.0"], ["warm", "=", "switch", "4.00"],
        ["warm", "=", "total", "19.0"], ["warm", "=", "overhead", "3.00"],
    ]  # fmt: skip


def test_render_shows_every_present_section():
    out = report.render(payload(
        serving={"rows": [ROW], "images": {"sizes_mb": {"mysite-django:bench": 271.8}, "cold_build_s": 95.0}},
        deploy={"downtime": {"ours": {"failed": 0, "total": 900, "max_ms": 80.0, "seconds": 30.1,
                                      "longest_stall_s": 0.0, "steady_p99_ms": 40.0, "switch_max_ms": 60.0,
                                      "switch_vs_p99": 1.5},
                             "article": {"failed": 55, "total": 700, "max_ms": 1400.0, "seconds": 31.0}}},
    ))  # fmt: skip
    assert "commit abc1234; 2 CPUs, load average [0.5, 0.4, 0.3]" in out
    assert "mysite-django:bench  271.8" in out
    assert "cold_build" in out and "95.0" in out
    assert "## serving through nginx" in out
    assert [line.split() for line in out.splitlines() if line.startswith(("ours", "article"))] == [
        ["ours", "0", "900", "80.0", "0.00", "60", "/", "40", "ms", "=", "1.5", "30.1"],
        ["article", "55", "700", "1400.0", "-", "-", "31.0"]]  # fmt: skip
    assert "## deploy" not in out  # no phases measured: no empty table


def test_write_names_the_file_by_date_and_kind(tmp_path):
    data = payload(serving={"rows": [ROW]})
    path = report.write(data, results=tmp_path)
    assert path.name == "2026-11-24T040506.json"
    assert json.loads(path.read_text()) == data
    assert report.write({**data, "quick": True}, suffix="serving", results=tmp_path).name == (
        "2026-11-24T040506-quick-serving.json"
    )
    assert not list(tmp_path.glob("*.tmp"))


def test_render_shows_the_rollback_against_the_deploy_and_what_the_warm_container_costs():
    out = report.render(payload(deploy={"rollback": {
        "seconds": 4.2, "deploy_s": 18.9, "ratio": 0.22, "failed": 0, "total": 1200, "used_warm": True,
        "warm_memory_mb": 151.3, "serving_memory_mb": 160.0, "longest_stall_s": 0.0, "switch_vs_p99": 1.2}}))
    assert ("rollback right after the code-only deploy, under the same load: 4.2s vs 18.9s (ratio 0.22), 0/1200 "
            "failed, longest stall 0.0s, switch max/steady p99 1.2, warm container used; the warm container costs "
            "151.3 MB while kept (the serving one: 160.0 MB)"
            ) in out
