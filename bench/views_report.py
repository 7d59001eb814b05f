"""The post-views section of a benchmark report: batched view counts vs an UPDATE per view."""

from bench.tables import table

SETTINGS = {"write each view": "0", "batched (2 s)": "2"}
VARIABLE = "VIEW_COUNT_FLUSH_SECONDS"


def lines(section: dict) -> list[str]:
    """The views section as printed by bench/report.py's render."""
    summary, ratio = section.get("summary", {}), section.get("ratios", {})
    rows = [[name, f"{VARIABLE}={SETTINGS.get(name, '?')}", s.get("rps"), s.get("p50_ms"), s.get("p99_ms"),
             s.get("p999_ms"), s.get("max_ms"), s.get("app_cpu_ms"), s.get("failed"), s.get("views_missing")]
            for name, s in summary.items()]  # fmt: skip
    rows.append(["ratio batched / write each", "", *(_r(ratio.get(k)) for k in ("rps", "p50_ms", "p99_ms", "p999_ms")),
                 None, _r(ratio.get("app_cpu_ms")), None, None])
    parts = ["", f"## post views: batched vs an UPDATE per view ({section.get('path')}, {section.get('connections')} "
             f"connections, median of {section.get('rounds')} interleaved rounds of {section.get('duration_s'):g} s)",
             table(["setting", "env", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "app cpu ms/req",
                           "failed", "views missing"], rows)]  # fmt: skip
    slots = [[r["round"], r["setting"], r["rps"], r["p99_ms"], r.get("p999_ms"), r.get("app_cpu_ms"),
              r.get("views_gained"), r.get("requests_answered"), r.get("load_1m")] for r in section.get("rows", [])]
    inner = section.get("in_process")
    if inner:
        rows = [[name, s.get("cpu_ms"), s.get("p50_ms"), s.get("p99_ms"), s.get("p999_ms"), s.get("max_ms")]
                for name, s in inner.get("summary", {}).items()]
        parts += ["", f"## post views in-process: {inner.get('gets')} GETs of {inner.get('path')} one after another "
                  f"per slot (Django's test client, file SQLite; median of {inner.get('rounds')} interleaved rounds)",
                  table(["setting", "cpu ms/GET", "p50 ms", "p99 ms", "p99.9 ms", "max ms"], rows)]
    if slots:
        parts += ["", "## every views slot, in the order run (views gained in the database vs requests wrk counted)",
                  table(["round", "setting", "req/s", "p99 ms", "p99.9 ms", "cpu ms/req", "views gained",
                                "requests", "load 1m"], slots)]  # fmt: skip
    return parts


def _r(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"
