"""The databases section of a benchmark report: SQLite vs PostgreSQL, the write mix, every slot, the move."""

from bench.tables import table

LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _label(database: str) -> str:
    return LABELS.get(database, database)


def lines(section: dict) -> list[str]:
    """The databases section as printed by bench/report.py's render: comparison, write mix, rounds, move."""
    parts: list[str] = []
    summary = section.get("summary", {})
    ratio = {(r["target"], r["metric"]): r["ratio"] for r in section.get("ratios", [])}
    per_round = {(r["target"], r["metric"]): r.get("per_round", []) for r in section.get("ratios", [])}
    if summary:
        rows = []
        for target, by_db in summary.items():
            s, p = by_db.get("sqlite", {}), by_db.get("postgres", {})
            rows.append([target, s.get("connections"), s.get("rps"), p.get("rps"), _r(ratio.get((target, "rps"))),
                         s.get("p99_ms"), p.get("p99_ms"), _r(ratio.get((target, "p99_ms"))), s.get("cpu_ms"),
                         p.get("cpu_ms"), _r(ratio.get((target, "cpu_ms"))),
                         f"{s.get('failed', '-')}/{p.get('failed', '-')}"])  # fmt: skip
        parts += ["", f"## SQLite vs PostgreSQL: same stack, same run, {section.get('posts')} posts each "
                  f"(median of {section.get('rounds')} rounds, interleaved; ratio = PostgreSQL/SQLite)",
                  table(["target", "conns", "SQLite req/s", "PG req/s", "ratio", "SQLite p99 ms", "PG p99 ms",
                                "ratio", "SQLite cpu", "PG cpu", "ratio", "failed S/PG"], rows)]  # fmt: skip
        parts += ["cpu: ms per request in the app's and nginx's containers, plus PostgreSQL's on PostgreSQL (cgroups; "
                  "SQLite runs inside the app); each container's share is in the JSON"]
        spread = [f"{target} {metric} {' '.join(_r(x) for x in per_round[(target, metric)])}"
                  for target in summary for metric in ("rps", "p99_ms", "cpu_ms")
                  if per_round.get((target, metric))]  # fmt: skip
        if spread:
            parts += [f"ratio in each round: {'; '.join(spread)}"]
    writes = summary.get("write mix")
    if writes:
        s, p = writes.get("sqlite", {}), writes.get("postgres", {})
        parts += ["", "## write mix (comments POSTed while the post is read; a comment counts when answered 302)",
                  table(["database", "comments/s", "POST p99 ms", "req/s", "p99 ms", "failed"],
                               [[_label(db), e.get("comments_per_s"), e.get("post_p99_ms"), e.get("rps"),
                                 e.get("p99_ms"), e.get("failed")] for db, e in (("sqlite", s), ("postgres", p)) if e]),
                  f"ratio PostgreSQL/SQLite: comments/s {_r(ratio.get(('write mix', 'comments_per_s')))}, "
                  f"POST p99 {_r(ratio.get(('write mix', 'post_p99_ms')))}"]  # fmt: skip
    if section.get("rows"):
        slots = []
        for r in section["rows"]:
            cpu = r.get("cpu_ms_per_request", {})
            slots.append([r["round"], _label(r["database"]), r["target"], r["rps"], r["p99_ms"], r.get("failed"),
                          cpu.get("mysite"), cpu.get("postgres"), r.get("load_1m")])  # fmt: skip
        parts += ["", "## every slot, in the order run (cpu: ms per request; load: 1-minute load average at its start)",
                  table(["round", "database", "target", "req/s", "p99 ms", "failed", "app cpu", "pg cpu",
                                "load"], slots)]  # fmt: skip
        lost = [(r["database"], r["round"], r["lost"]) for r in section["rows"] if r.get("lost")]
        if lost:
            parts += [f"LOST comments (answered 302, not stored): {lost}"]
    move = section.get("move", {})
    if move.get("sizes"):
        rows = []
        for size in move["sizes"]:
            steps = size.get("steps", {})
            rows.append([size["posts"], size.get("comments"), _mb(size.get("source_bytes")), size.get("run_s"),
                         size.get("db_copy_s"), steps.get("start"), steps.get("connect + migrate"),
                         steps.get("dumpdata"), steps.get("loaddata + fingerprints"),
                         "yes" if size.get("equal") else "NO"])  # fmt: skip
        parts += ["", "## the move: db_copy of an SQLite database into an empty PostgreSQL (seconds)",
                  table(["posts", "comments", "SQLite MB", "compose run", "db_copy", "start", "migrate",
                                "dumpdata", "load+check", "equal"], rows)]  # fmt: skip
        if move.get("what"):
            parts += [f"measured: {move['what']}"]
    parts += [f"databases note: {note}" for note in section.get("notes", [])]
    return parts


def _r(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 1e6, 2)
