"""The swarm benchmark's pure parts (bench/swarm.py) and its table (bench/report.py)."""

from bench import report
from bench.steps import TimedRun
from bench.swarm import compare, load_phase, merged_timeline, received_mb, release_of
from testbed.load import Result


def test_two_loads_share_one_timeline_from_the_earliest_start():
    # load A started at 100.0, load B at 100.25; B's request ending 0.1 s after its start lands in A's 4th bucket
    timeline = merged_timeline([(100.0, [(0.05, False), (0.31, True)]), (100.25, [(0.1, False), (0.5, False)])],
                               zero=100.0)
    assert timeline == {"width_s": 0.1, "ok": [1, 0, 0, 1, 0, 0, 0, 1], "failed": [0, 0, 0, 1, 0, 0, 0, 0]}


def test_an_empty_load_has_an_empty_timeline():
    assert merged_timeline([(5.0, [])], zero=5.0) == {"width_s": 0.1, "ok": [], "failed": []}


def test_received_is_per_node_in_megabytes():
    assert received_mb([1_000_000, 50], [3_500_000, 1_000_050]) == [2.5, 1.0]


def test_a_load_phase_sums_the_nodes_and_keeps_the_marks():
    a = Result(total=10, failed=1, max_latency=0.25, started=50.0, events=[(0.05, False), (0.15, True)])
    a.reasons["HTTP 502"] = 1
    a.first_failures.append("04:00:00 HTTP 502: /")
    b = Result(total=5, failed=0, max_latency=0.5, started=50.1, events=[(0.05, False)])
    marks = [{"title": "preflight", "at": 2.0, "seconds": 1.0}]
    timed = TimedRun(argv=["fab"], returncode=0, stdout="", stderr="", seconds=31.04, started=2.0, marks=marks)
    phase = load_phase(timed, [a, b], 50.0, [1.5, 2.0])
    assert phase["seconds"] == 31.0 and (phase["failed"], phase["total"]) == (1, 15)
    assert phase["max_ms"] == 500.0 and phase["reasons"] == {"HTTP 502": 1}
    assert phase["first_failures"] == ["04:00:00 HTTP 502: /"]
    assert phase["steps"] == marks and phase["deploy_started_at"] == 2.0
    assert phase["timeline"] == {"width_s": 0.1, "ok": [1, 1], "failed": [0, 1]}
    assert phase["received_mb_under_load"] == [1.5, 2.0]


SECTION = {
    "cluster": {"nodes": 3, "under_load": {"seconds": 60.0, "failed": 0, "total": 4000,
                                           "steps": [{"title": "preflight", "at": 2.1, "seconds": 3.0}]},
                "unloaded": {"seconds": 50.0, "received_mb": [2.0, 1.5, 1.25]}},
    "single": {"nodes": 1, "under_load": {"seconds": 20.0, "failed": 2, "total": 3000, "steps": []},
               "unloaded": {"seconds": 25.0, "received_mb": [0.5]}},
}  # fmt: skip


def test_ratios_are_swarm_over_single():
    assert compare(SECTION["cluster"], SECTION["single"]) == {
        "seconds_under_load": 3.0, "seconds_unloaded": 2.0, "max_mb_per_node": 4.0}


def test_the_release_is_read_from_the_deploys_last_line():
    assert release_of("--> x\n  ok x (1.0s)\ndeployed 20261202040000-abc1234 to 3 node(s) in 50.1s\n") == (
        "20261202040000-abc1234")
    assert release_of("error: nothing deployed") is None


def test_the_swarm_table_compares_both_deploys():
    section = {**SECTION, "ratios": compare(SECTION["cluster"], SECTION["single"])}
    lines = report.swarm_table(section).splitlines()
    assert lines[0].split()[:4] == ["deploy", "s", "under", "load"]
    assert lines[2].split() == ["fab", "swarm.deploy", "(3", "nodes)", "60.0", "3.000", "0", "/", "4000", "50.0",
                                "2.000", "2.00", "/", "1.50", "/", "1.25"]
    assert lines[3].split() == ["fab", "deploy", "(1", "node)", "20.0", "-", "2", "/", "3000", "25.0", "-", "0.50"]


def test_render_prints_the_swarm_section_with_its_steps():
    section = {**SECTION, "ratios": compare(SECTION["cluster"], SECTION["single"]), "notes": ["a note"]}
    out = report.render({"date": "2026-12-02T04:00:00", "commit": "abc1234", "swarm": section})
    assert "## swarm (3 nodes) vs one server: code-only deploy" in out
    assert "fab swarm.deploy  preflight" in out and "swarm note: a note" in out
