"""The benchmarks' pictures (matplotlib, no display needed): a saved record in, PNG files out.

    python -m bench.pictures bench/results/<file>.json   # draw (again) from a saved record

Each picture is named after the record, beside it in bench/results/ (`2026-12-02T041500.json` ->
`2026-12-02T041500-serving.png`), and the newest of each kind is copied to docs/bench/<kind>.png:
- `serving`: req/s, and latency p50/p99, per target (every target the serving rows hold), one bar per
  connection count;
- `<section>-timeline` (`deploy-timeline`, `swarm-timeline`, ...): requests that succeeded and failed per
  100 ms while a deploy ran under load, one panel per method on shared axes, the deploy's top-level steps
  as shaded spans with short labels. Drawn for every entry of a section that holds a `timeline` (the load
  client's `{"width_s", "ok", "failed"}`) and its `steps` (`[{"title", "at", "seconds"}]`, seconds since
  the load started; bench/steps.py).
Pure: nothing here runs a benchmark or reads anything but the record.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs" / "bench"
DPI = 100
OK_COLOUR = "#3b7dd8"
FAILED_COLOUR = "#d62728"
SAVE = {"dpi": DPI, "pil_kwargs": {"optimize": True}}
LABEL_POINTS = 7
# a step's label: its first word, except where that word says little
_LABELS = {"back": "backup", "ensure": "nginx", "health-check": "health", "route": "route", "roll": "roll out",
           "wait": "converge", "first": "first deploy", "migration": "gate"}


@dataclass(frozen=True)
class Panel:
    """One timeline panel: what ran, its requests per ``width_s`` (succeeded, failed), its step marks."""

    title: str
    ok: Sequence[int]
    failed: Sequence[int]
    marks: Sequence[dict] = field(default_factory=tuple)
    width_s: float = 0.1


def short_label(title: str) -> str:
    """A step's title -> a word or two for the picture (`build images mysite-django:r1 ...` -> `build`)."""
    words = title.split()
    if words[:1] == ["the"]:
        words = words[1:]
    if not words:
        return title
    first = words[0].rstrip(":,")
    return _LABELS.get(first, first)


def label_rows(spans: Sequence[tuple[float, float]], rows: int = 5) -> list[int]:
    """(start, width) of each label in start order -> the row each goes in: the first row free at its start,
    or, when none is, the one that frees first."""
    ends = [float("-inf")] * rows
    placed = []
    for start, width in spans:
        free = [r for r in range(rows) if ends[r] <= start]
        row = free[0] if free else min(range(rows), key=lambda r: ends[r])
        ends[row] = start + width
        placed.append(row)
    return placed


def needs_log(panels: Sequence[Panel], spread: float = 6.0) -> bool:
    """Whether the busiest 100 ms of all panels holds over ``spread`` times a panel's usual one (the median of
    its 100 ms with any request): a linear scale would flatten that panel (e.g. nginx's fast 503s while no
    app answers, beside a slow machine's few successes), so the timeline is drawn on a log scale (linear
    below 1)."""
    usual, highest = [], 0
    for panel in panels:
        counts = sorted(a + b for a, b in zip(panel.ok, panel.failed, strict=False) if a + b)
        if counts:
            usual.append(counts[len(counts) // 2])
            highest = max(highest, counts[-1])
    return bool(usual) and highest > spread * min(usual)


def _counts(panel: Panel) -> str:
    ok, failed = sum(panel.ok), sum(panel.failed)
    return f"{failed:,} failed / {ok + failed:,} requests"


def timeline_figure(title: str, panels: Sequence[Panel]) -> Figure:
    """One panel per method, stacked, same x (seconds since the load started) and y (requests per step)."""
    import numpy as np

    height = 1.0 + 1.9 * len(panels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, max(height, 3.0)), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    seconds = max((len(p.ok) * p.width_s for p in panels), default=1.0) or 1.0
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        ok = np.asarray(panel.ok, dtype=float)
        both = ok + np.asarray(panel.failed, dtype=float)
        edges = np.arange(len(ok) + 1) * panel.width_s
        if len(ok):
            ax.stairs(ok, edges, fill=True, color=OK_COLOUR, label="succeeded")
            ax.stairs(both, edges, baseline=ok, fill=True, color=FAILED_COLOUR, label="failed")
            bad = np.flatnonzero(np.asarray(panel.failed) > 0)
            # a rug under the axis: a failure stays visible even where it is one request in hundreds
            (rug,) = ax.plot((bad + 0.5) * panel.width_s, np.zeros(len(bad)), "|", color=FAILED_COLOUR,
                             markersize=8, clip_on=False, transform=ax.get_xaxis_transform())
            rug.set_in_layout(False)
        ax.set_title(f"{panel.title}: {_counts(panel)}", loc="left", fontsize=9)
        ax.set_ylabel(f"requests / {panel.width_s * 1000:.0f} ms", fontsize=8)
        ax.tick_params(labelsize=8)
        _draw_marks(ax, panel.marks, seconds, end=len(ok) * panel.width_s)
    axes[-1, 0].set_xlabel("seconds since the load started", fontsize=8)
    axes[-1, 0].set_xlim(0, seconds)
    highest = max((max(a + b for a, b in zip(p.ok, p.failed, strict=False)) for p in panels if len(p.ok)), default=1)
    if needs_log(panels):
        axes[0, 0].set_yscale("symlog", linthresh=1)
        axes[0, 0].set_ylim(0, max(highest, 1) * 12)  # a decade above the bars for the step labels
        for ax in axes[:, 0]:
            ax.set_ylabel(ax.get_ylabel() + " (log)", fontsize=8)
    else:
        axes[0, 0].set_ylim(0, max(highest, 1) * 1.6)  # room above the bars for the step labels
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower right", ncols=2, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    return fig


def _draw_marks(ax, marks: Iterable[dict], seconds: float, end: float) -> None:
    marks = sorted((m for m in marks if m.get("at") is not None), key=lambda m: m["at"])
    if not marks:
        return
    # a label's width in seconds: characters x about 0.6 em, over the axis' width in points
    axis_points = ax.figure.get_figwidth() * 72 * 0.88
    per_char = seconds / axis_points * LABEL_POINTS * 0.62
    labels = [m.get("label") or short_label(m["title"]) for m in marks]
    rows = label_rows([(m["at"], (len(text) + 1) * per_char) for m, text in zip(marks, labels, strict=True)])
    transform = ax.get_xaxis_transform()  # x in seconds, y as a fraction of the axis' height
    for index, (mark, text, row) in enumerate(zip(marks, labels, rows, strict=True)):
        start = mark["at"]
        stop = start + mark["seconds"] if mark.get("seconds") is not None else max(end, start)
        colour = "0.55" if index % 2 else "0.75"
        ax.axvspan(start, max(stop, start + 0.05), color=colour, alpha=0.25, lw=0, zorder=0)
        ax.axvline(start, color="0.35", lw=0.6, ls=":", zorder=1)
        ax.text(start, 0.97 - 0.085 * row, " " + text, transform=transform, fontsize=LABEL_POINTS, va="top",
                ha="left", color="0.15", clip_on=True)


def serving_figure(title: str, rows: Sequence[dict]) -> Figure:
    """Two panels: req/s, and latency p50 (solid) with p99 (light, behind it); a bar per connection count."""
    targets = list(dict.fromkeys(r["target"] for r in rows))
    connections = sorted({r.get("connections", 0) for r in rows})
    by = {(r["target"], r.get("connections", 0)): r for r in rows}
    colours = plt.get_cmap("viridis")([0.15 + 0.6 * i / max(len(connections) - 1, 1) for i in
                                       range(len(connections))])
    fig, (speed, latency) = plt.subplots(1, 2, figsize=(9, 4.5), layout="constrained")
    width = 0.8 / len(connections)
    for i, (conns, colour) in enumerate(zip(connections, colours, strict=True)):
        xs = [t + (i - (len(connections) - 1) / 2) * width for t in range(len(targets))]
        present = [(x, by[(target, conns)]) for x, target in zip(xs, targets, strict=True) if (target, conns) in by]
        if not present:
            continue
        x = [p[0] for p in present]
        rps = [p[1]["rps"] for p in present]
        label = f"{conns} connection{'s' if conns != 1 else ''}"
        bars = speed.bar(x, rps, width, color=colour, label=label)
        speed.bar_label(bars, fmt="%.0f", fontsize=6, padding=1)
        p99 = [p[1].get("p99_ms") or 0 for p in present]
        p50 = [p[1].get("p50_ms") or 0 for p in present]
        latency.bar(x, p99, width, color=colour, alpha=0.35)
        bars = latency.bar(x, p50, width, color=colour, label=label)
        for xi, hi, lo in zip(x, p99, p50, strict=True):
            latency.annotate(_ms(hi), (xi, hi), ha="center", va="bottom", fontsize=6, xytext=(0, 1),
                             textcoords="offset points")
            latency.annotate(_ms(lo), (xi, lo), ha="center", va="top", fontsize=6, xytext=(0, -1),
                             textcoords="offset points", color="white")
    for ax, what in ((speed, "requests / s"), (latency, "ms: p50 (solid), p99 (light)")):
        ax.set_xticks(range(len(targets)), targets, fontsize=8)
        ax.set_ylabel(what, fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.margins(y=0.12)
    speed.set_title("throughput (higher is better)", fontsize=9)
    latency.set_title("latency (lower is better; log scale)", fontsize=9)
    latency.set_yscale("log")
    speed.legend(fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    return fig


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def timeline_panels(section: dict) -> list[Panel]:
    """Every entry of a record's section, at any depth, that holds a load timeline, as panels in order.

    A panel is named by its keys' path without the part every panel shares (`downtime` / `ours (fab deploy)`
    -> `ours (fab deploy)`; `cluster` / `under_load` -> `cluster`), then the `command` it or a parent names."""
    found: list[tuple[list[str], str | None, dict]] = []

    def walk(node: dict, path: list[str], command: str | None) -> None:
        command = node.get("command") if isinstance(node.get("command"), str) else command
        timeline = node.get("timeline")
        if isinstance(timeline, dict) and "ok" in timeline:
            found.append((path, command, node))
            return
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, [*path, str(key)], command)

    walk(section, [], None)
    paths = [path for path, _, _ in found]
    head = _shared(paths)
    tail = _shared([list(reversed(p[head:])) for p in paths]) if len(paths) > 1 else 0
    panels = []
    for path, command, entry in found:
        name = " / ".join(path[head:len(path) - tail] or path[-1:]) or "load"
        title = f"{name}: {command}" if command and command not in name else name
        timeline = entry["timeline"]
        panels.append(Panel(title=title, ok=timeline["ok"], failed=timeline.get("failed", []),
                            marks=entry.get("steps") or (), width_s=timeline.get("width_s", 0.1)))
    return panels


def _shared(paths: list[list[str]]) -> int:
    """How many leading keys every path shares (one path alone shares all but its last)."""
    if len(paths) == 1:
        return len(paths[0]) - 1
    shared = 0
    while all(len(p) > shared + 1 for p in paths) and len({p[shared] for p in paths}) == 1:
        shared += 1
    return shared


def picture_path(record_path: Path, kind: str) -> Path:
    """`<stamp>-deploy.json` + `deploy-timeline` -> `<stamp>-deploy-timeline.png` (no doubled word)."""
    stem = record_path.name.removesuffix(".json")
    first = kind.split("-")[0]
    stem = stem.removesuffix(f"-{first}")
    return record_path.with_name(f"{stem}-{kind}.png")


def _about(record: dict) -> str:
    """When, what, and how busy the machine was (the numbers move with whatever else runs)."""
    commit = record.get("commit")
    load = (record.get("machine") or {}).get("load_avg") or []
    return (f"{record.get('date', '?')}" + (f", commit {commit}" if commit else "")
            + (", quick" if record.get("quick") else "") + (f", load average {load[0]:g}" if load else ""))


def draw(record: dict, record_path: Path) -> dict[str, Path]:
    """Every picture the record has data for, written beside it: {kind: path}."""
    written: dict[str, Path] = {}

    def save(fig: Figure, kind: str) -> None:
        path = picture_path(record_path, kind)
        fig.savefig(path, **SAVE)
        plt.close(fig)
        written[kind] = path

    rows = (record.get("serving") or {}).get("rows") or []
    if rows:
        conns = sorted({r.get("connections") for r in rows})
        save(serving_figure(f"Serving through nginx (wrk; {', '.join(map(str, conns))} connections)\n"
                            f"{_about(record)}", rows), "serving")
    for name, section in record.items():
        if not isinstance(section, dict):
            continue
        panels = timeline_panels(section)
        if panels:
            step = panels[0].width_s
            save(timeline_figure(f"{name}: requests per {step * 1000:.0f} ms under load, succeeded or failed "
                                 f"(no retries)\n{_about(record)}", panels), f"{name}-timeline")
    return written


def publish(pictures: dict[str, Path], docs: Path = DOCS) -> list[Path]:
    """Copy pictures to ``docs`` as `<kind>.png` (the README shows the newest of each kind)."""
    docs.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(path, docs / f"{kind}.png")) for kind, path in pictures.items()]


def draw_and_publish(record_path: Path, record: dict | None = None, docs: Path | None = DOCS) -> list[Path]:
    """Draw a written record's pictures beside it, and copy them to docs/bench/ (unless ``docs`` is None)."""
    record = json.loads(record_path.read_text()) if record is None else record
    pictures = draw(record, record_path)
    if docs is not None:
        publish(pictures, docs)
    return list(pictures.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", type=Path, help="a saved record: bench/results/<file>.json")
    parser.add_argument("--no-docs", action="store_true", help="do not copy the pictures to docs/bench/")
    args = parser.parse_args(argv)
    if not args.record.is_file():
        raise SystemExit(f"error: no record at {args.record}: give a bench/results/<file>.json")
    try:
        record = json.loads(args.record.read_text())
    except json.JSONDecodeError as error:
        raise SystemExit(f"error: {args.record} is not JSON ({error}): give a record `inv bench` wrote") from None
    paths = draw_and_publish(args.record, record, docs=None if args.no_docs else DOCS)
    for path in paths:
        print(f"wrote {path}")
    if not paths:
        print(f"{args.record}: nothing to draw (no serving rows, no load timeline)")


if __name__ == "__main__":
    main()
