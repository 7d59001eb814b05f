"""bench/pictures.py: synthetic records in, real PNG files out (valid, under 150 KB), named after the record;
the deploy timeline's step marks from canned fab output (bench/steps.py, bench/deploy.py)."""

import json
import random

import pytest
from PIL import Image

from bench import pictures
from bench.deploy import timeline_record
from bench.steps import top_level_marks
from testbed.load import Result

MAX_BYTES = 150_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# fab deploy's output as it was read, each line with the seconds since the load started (bench/steps.py)
FAB_OUTPUT = [
    (2.0, "--> connect to deploy@127.0.0.1:2222 (host key checked against /tmp/known_hosts)"),
    (2.1, "  ok connect to deploy@127.0.0.1:2222 (host key checked against /tmp/known_hosts) (0.1s)"),
    (2.1, "--> preflight: env file, git commit, docker on the server"),
    (2.5, "  ok preflight: env file, git commit, docker on the server (0.4s)"),
    (2.5, "--> ship abc1234 to /home/deploy/apps/mysite/releases/r1"),
    (2.8, "  ok ship abc1234 to /home/deploy/apps/mysite/releases/r1 (0.3s)"),
    (2.8, "--> build images mysite-django:r1 and mysite-nginx:r1 (the old containers keep serving)"),
    (14.0, "  ok build images mysite-django:r1 and mysite-nginx:r1 (the old containers keep serving) (11.2s)"),
    (14.0, "--> back up the database"),
    (14.1, "  ok back up the database (0.1s)"),
    (14.1, "--> ensure nginx is up"),
    (14.2, "--> start nginx"),  # nested: not a mark
    (14.4, "  ok start nginx (0.2s)"),
    (14.5, "  ok ensure nginx is up (0.4s)"),
    (14.5, "--> start mysite-r1 beside mysite-r0"),
    (15.0, "  ok start mysite-r1 beside mysite-r0 (0.5s)"),
    (15.0, "--> health-check mysite-r1 directly (/healthz and / as blog.example, 60s)"),
    (16.5, "  ok health-check mysite-r1 directly (/healthz and / as blog.example, 60s) (1.5s)"),
    (16.5, "--> route traffic to mysite-r1 (alias mysite) and wait for DNS"),
    (18.7, "  ok route traffic to mysite-r1 (alias mysite) and wait for DNS (2.2s)"),
    (18.7, "--> stop the old container(s) gracefully: mysite-r0"),
    (19.8, "  ok stop the old container(s) gracefully: mysite-r0 (1.1s)"),
    (19.8, "deployed r1 to 127.0.0.1 in 17.8s"),
]


def load_result(seconds: float, down: tuple[float, float] | None = None, seed: int = 1) -> Result:
    """A load client's result: about 300 requests a second, all failing inside ``down``."""
    rng = random.Random(seed)
    result = Result()
    at = 0.0
    while at < seconds:
        at += rng.uniform(0.001, 0.006)
        failed = down is not None and down[0] <= at < down[1]
        result.events.append((at, failed))
        result.total += 1
        result.failed += failed
    return result


def synthetic_record() -> dict:
    ours = timeline_record(load_result(25), top_level_marks(FAB_OUTPUT))
    article = timeline_record(
        load_result(40, down=(24.0, 31.5), seed=2),
        [{"title": "docker-compose -f production.yml up -d --build", "label": "up -d --build", "at": 2.0,
          "seconds": 29.4}])
    swarm = timeline_record(load_result(30, seed=3), top_level_marks(FAB_OUTPUT))
    rows = [{"target": target, "path": "/x", "connections": conns, "rps": rps * conns ** 0.3, "p50_ms": 3.0 * conns,
             "p99_ms": 9.0 * conns, "failed": 0}
            for target, rps in (("index", 300), ("post", 250), ("static", 3000), ("floor", 5000))
            for conns in (1, 8, 32)]
    return {
        "date": "2026-12-02T04:30:00", "quick": False, "commit": "abc1234",
        "serving": {"rows": rows},
        "deploy": {"phases": {"warm": {"steps": [{"title": "ship", "seconds": 0.2}]}},
                   "downtime": {"ours (fab deploy)": {"failed": 0, **ours},
                                "article (up -d --build)": {"failed": 1, **article,
                                                            "command": "docker-compose -f production.yml up -d"}}},
        # as bench/swarm.py keeps them: a timeline under load, the unloaded deploy's steps beside it
        "swarm": {"cluster": {"command": "fab swarm.deploy --nodes A,B,C", "under_load": swarm,
                              "unloaded": {"steps": swarm["steps"]}},
                  "single": {"command": "fab deploy", "under_load": ours, "unloaded": {"steps": []}}},
        "notes": ["a note"],
    }


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) < MAX_BYTES, f"{path.name} is {len(data)} bytes"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] >= 800


def test_a_full_record_draws_serving_and_every_timeline_as_small_valid_pngs(tmp_path):
    record = synthetic_record()
    saved = tmp_path / "2026-12-02T043000.json"
    saved.write_text(json.dumps(record))
    drawn = pictures.draw(record, saved)
    assert drawn == {
        "serving": tmp_path / "2026-12-02T043000-serving.png",
        "deploy-timeline": tmp_path / "2026-12-02T043000-deploy-timeline.png",
        "swarm-timeline": tmp_path / "2026-12-02T043000-swarm-timeline.png",
    }
    for path in drawn.values():
        assert_png(path)


def test_the_cli_redraws_from_a_saved_record_and_copies_the_newest_to_docs(tmp_path, monkeypatch, capsys):
    saved = tmp_path / "2026-12-02T043000-deploy.json"
    record = synthetic_record()
    del record["serving"], record["swarm"]
    saved.write_text(json.dumps(record))
    docs = tmp_path / "docs" / "bench"
    monkeypatch.setattr(pictures, "DOCS", docs)
    pictures.main([str(saved)])
    picture = tmp_path / "2026-12-02T043000-deploy-timeline.png"  # no doubled "deploy"
    assert f"wrote {picture}" in capsys.readouterr().out
    assert_png(picture)
    assert (docs / "deploy-timeline.png").read_bytes() == picture.read_bytes()
    assert sorted(p.name for p in docs.iterdir()) == ["deploy-timeline.png"]


def test_a_quick_record_draws_only_serving(tmp_path):
    record = {"date": "2026-12-02T04:30:00", "quick": True, "commit": "abc1234",
              "serving": {"rows": [{"target": "index", "connections": 8, "rps": 310.0, "p50_ms": 23.0,
                                    "p99_ms": 140.0}]}, "notes": []}
    drawn = pictures.draw(record, tmp_path / "2026-12-02T043000-quick.json")
    assert list(drawn) == ["serving"] and drawn["serving"].name == "2026-12-02T043000-quick-serving.png"
    assert_png(drawn["serving"])


def test_nothing_to_draw_draws_nothing(tmp_path, capsys):
    saved = tmp_path / "2026-12-02T015641.json"
    saved.write_text(json.dumps({"date": "2026-12-02T01:56:41", "shipping": {"methods": {}}, "notes": []}))
    pictures.main([str(saved), "--no-docs"])
    assert "nothing to draw" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.name]


@pytest.mark.parametrize("text, why", [(None, "no record at"), ("{not json", "is not JSON")])
def test_a_missing_or_broken_record_is_one_line(tmp_path, text, why):
    saved = tmp_path / "x.json"
    if text is not None:
        saved.write_text(text)
    with pytest.raises(SystemExit) as exit_:
        pictures.main([str(saved)])
    assert why in str(exit_.value) and "\n" not in str(exit_.value)


def test_the_timeline_record_keeps_the_load_per_100_ms_and_the_step_marks():
    result = Result()
    result.events = [(0.05, False), (0.07, True), (0.31, False)]
    marks = top_level_marks(FAB_OUTPUT)
    record = timeline_record(result, marks)
    assert record["timeline"] == {"width_s": 0.1, "ok": [1, 0, 0, 1], "failed": [1, 0, 0, 0]}
    assert [(m["title"].split()[0], m["at"], m["seconds"]) for m in record["steps"]] == [
        ("connect", 2.0, 0.1), ("preflight:", 2.1, 0.4), ("ship", 2.5, 0.3), ("build", 2.8, 11.2),
        ("back", 14.0, 0.1), ("ensure", 14.1, 0.4), ("start", 14.5, 0.5), ("health-check", 15.0, 1.5),
        ("route", 16.5, 2.2), ("stop", 18.7, 1.1),
    ]  # fmt: skip
    assert json.loads(json.dumps(record)) == record  # lists, as the JSON record keeps them


def test_timeline_panels_are_found_at_any_depth_in_order_named_by_what_differs():
    record = synthetic_record()
    swarm = pictures.timeline_panels(record["swarm"])
    assert [p.title for p in swarm] == ["cluster: fab swarm.deploy --nodes A,B,C", "single: fab deploy"]
    assert len(swarm[0].ok) == len(swarm[0].failed) > 250 and swarm[0].marks[0]["title"].startswith("connect")
    deploy = pictures.timeline_panels(record["deploy"])
    assert [p.title for p in deploy] == [
        "ours (fab deploy)", "article (up -d --build): docker-compose -f production.yml up -d"]
    del record["deploy"]["downtime"]["article (up -d --build)"]  # a quick run: ours alone
    assert [p.title for p in pictures.timeline_panels(record["deploy"])] == ["ours (fab deploy)"]


def test_short_labels_of_the_deploys_steps():
    labels = [pictures.short_label(m["title"]) for m in top_level_marks(FAB_OUTPUT)]
    assert labels == ["connect", "preflight", "ship", "build", "backup", "nginx", "start", "health", "route", "stop"]
    assert pictures.short_label("the migration gate: nothing that breaks the release still serving") == "gate"


def test_labels_that_would_overlap_go_to_other_rows_and_a_freed_row_is_reused():
    assert pictures.label_rows([(0, 2), (1, 2), (1.5, 2), (5, 1), (5.5, 1)], rows=3) == [0, 1, 2, 0, 1]
    assert pictures.label_rows([(0, 5), (1, 5), (2, 5)], rows=2) == [0, 1, 0]  # none free: the one that frees first


def test_a_timeline_goes_log_only_when_one_burst_would_flatten_the_rest(tmp_path):
    steady = pictures.Panel("ours", ok=[30, 28, 31, 29] * 50, failed=[0] * 200)
    refused = pictures.Panel("article", ok=[30] * 100 + [0] * 40 + [30] * 60, failed=[0] * 100 + [90] * 40 + [0] * 60)
    assert not pictures.needs_log([steady, refused])  # 120 vs usually 30: linear shows both
    slow = pictures.Panel("ours, busy machine", ok=[2, 1, 3, 2] * 50, failed=[0] * 200)
    assert pictures.needs_log([slow, refused])  # 90 fast failures per 100 ms beside 2 successes
    assert not pictures.needs_log([pictures.Panel("nothing", ok=[], failed=[])])
    for panels in ([steady, refused], [slow, refused]):
        figure = pictures.timeline_figure("title", panels)
        assert figure.axes[0].get_yscale() == ("symlog" if pictures.needs_log(panels) else "linear")
        path = tmp_path / f"{len(panels)}-{figure.axes[0].get_yscale()}.png"
        figure.savefig(path, **pictures.SAVE)
        assert_png(path)
