"""The views benchmark's pure parts (bench/views.py): medians, ratios, the report's tables."""

from bench import report, views, views_report


def row(setting, rnd, rps, p999, missing=0, cpu=2.0):
    return {"round": rnd, "setting": setting, "rps": rps, "p50_ms": 10.0, "p99_ms": 40.0, "p999_ms": p999,
            "max_ms": 300.0, "failed": 0, "app_cpu_ms": cpu, "views_gained": 100 - missing,
            "requests_answered": 100, "views_missing": missing, "load_1m": 3.0}


def test_medians_over_rounds_and_every_missing_view_summed():
    samples = [row("batched (2 s)", 1, 100, 80.0), row("batched (2 s)", 2, 120, 60.0, missing=2),
               row("batched (2 s)", 3, 110, None)]  # a slot without wrk's p99.9 line is left out, not a zero
    got = views.medians(samples)
    assert (got["rps"], got["p999_ms"], got["runs"], got["views_missing"]) == (110, 70.0, 3, 2)


def test_ratios_are_batched_over_write_each():
    summary = {"write each view": views.medians([row("write each view", 1, 100, 200.0, cpu=4.0)]),
               "batched (2 s)": views.medians([row("batched (2 s)", 1, 125, 50.0, cpu=3.0)])}
    got = views.ratios(summary)
    assert (got["rps"], got["p999_ms"], got["app_cpu_ms"], got["p50_ms"]) == (1.25, 0.25, 0.75, 1.0)
    assert views.ratios({"write each view": {}, "batched (2 s)": {}})["rps"] is None


def test_the_report_shows_both_settings_their_ratio_and_every_slot():
    rows = [row("write each view", 1, 100, 200.0), row("batched (2 s)", 1, 125, 50.0)]
    summary = {name: views.medians([r for r in rows if r["setting"] == name]) for name in views.SETTINGS}
    section = {"path": "/posts/7/", "connections": 8, "rounds": 1, "duration_s": 10.0, "summary": summary,
               "ratios": views.ratios(summary), "rows": rows}
    text = "\n".join(views_report.lines(section))
    assert "p99.9 ms" in text and "VIEW_COUNT_FLUSH_SECONDS=0" in text and "VIEW_COUNT_FLUSH_SECONDS=2" in text
    assert "ratio batched / write each" in text and "0.250" in text and "1.250" in text
    assert "/posts/7/" in text and "every views slot" in text
    rendered = report.render({"views": section, "machine": {}, "when": "now"})
    assert "post views: batched vs an UPDATE per view" in rendered


def test_percentile_is_nearest_rank():
    values = [float(x) for x in range(1, 1001)]  # 1..1000
    assert views.percentile(values, 99.9) == 999.0
    assert views.percentile(values, 50) == 500.0
    assert views.percentile(values, 100) == 1000.0
    assert views.percentile([7.0, 1.0], 99.9) == 7.0
    assert views.percentile([], 99.9) is None


def test_the_report_shows_the_in_process_medians():
    section = {"path": "/posts/7/", "connections": 8, "rounds": 1, "duration_s": 10.0, "summary": {}, "ratios": {},
               "rows": [], "in_process": {"gets": 3000, "rounds": 3, "path": "/posts/7/", "summary": {
                   "write each view": {"cpu_ms": 3.4, "p50_ms": 3.3, "p99_ms": 30.5, "p999_ms": 35.6, "max_ms": 40.0},
                   "batched (2 s)": {"cpu_ms": 2.8, "p50_ms": 3.1, "p99_ms": 8.2, "p999_ms": 9.1, "max_ms": 83.1}}}}
    text = "\n".join(views_report.lines(section))
    assert "post views in-process: 3000 GETs of /posts/7/" in text
    assert "cpu ms/GET" in text and "35.6" in text and "9.1" in text


def test_rounds_alternate_which_setting_runs_first():
    first, second = list(views.SETTINGS.items())
    assert [views.order(r) for r in range(3)] == [[first, second], [second, first], [first, second]]
