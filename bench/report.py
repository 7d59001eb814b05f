"""The benchmarks' record: one JSON file per run in bench/results/, and the tables printed from it.

Pure except `envelope` (asks git and the machine) and `write`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

from bench import adopt_report, databases_report, views_report
from bench.tables import table

RESULTS = Path(__file__).resolve().parent / "results"


def envelope(sections: dict, *, quick: bool, now: float | None = None) -> dict:
    """Wrap the measured sections with what is needed to read them later: when, what, on what."""
    now = time.time() if now is None else now

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=RESULTS.parent.parent, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)),
        "quick": quick,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_files": len(git("status", "--porcelain").splitlines()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": load_average()},
        **sections,
    }


def standalone(section: str, run, description: str, argv: list[str] | None = None) -> None:
    """`python -m bench.<section> [--save]`: run one benchmark alone, print its tables, optionally keep its record."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--save", action="store_true", help=f"write bench/results/<date>-{section}.json")
    args = parser.parse_args(argv)
    payload = envelope({section: run()}, quick=False)
    print(render(payload))
    if args.save:
        print(f"wrote {write(payload, suffix=section)}")


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def result_path(payload: dict, suffix: str = "", results: Path = RESULTS) -> Path:
    stamp = payload["date"].replace(":", "")  # 2026-01-31T120501: sortable, no colons in file names
    name = f"{stamp}{'-quick' if payload.get('quick') else ''}{'-' + suffix if suffix else ''}.json"
    return results / name


def write(payload: dict, suffix: str = "", results: Path = RESULTS) -> Path:
    path = result_path(payload, suffix, results)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def serving_table(rows: list[dict]) -> str:
    """One line per target and connection count; CPU ms/request per container when it was readable."""
    return table(
        ["target", "conns", "req/s", "p50 ms", "p99 ms", "max ms", "requests", "non-2xx/3xx", "errors",
         "app cpu ms/req", "nginx cpu ms/req"],
        [
            [r["target"], r["connections"], r["rps"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["requests"],
             r["non_2xx_3xx"], sum(r["errors"].values()), r.get("cpu_ms_per_request", {}).get("mysite"),
             r.get("cpu_ms_per_request", {}).get("nginx")]
            for r in rows
        ],
    )  # fmt: skip


def floor_table(rows: list[dict]) -> str:
    """The pages as ratios to the framework floor; `met` only where there is a target (8 connections)."""
    return table(
        ["target", "conns", "measure", "page", "floor", "ratio", "target ratio", "met"],
        [[r["target"], r["connections"], r["measure"], r["page"], r["floor"], _ratio(r["ratio"]),
          f">= {r['at_least']:g}" if r.get("at_least") is not None else
          (f"<= {r['at_most']:g}" if r.get("at_most") is not None else None),
          None if r["met"] is None else ("met" if r["met"] else "not met")]
         for r in rows],
        right={1, 3, 4, 5},
    )  # fmt: skip


def memory_lines(memory: dict) -> list[str]:
    """Each container's memory idle and at the end of each target's busiest run, the stack's total, and the
    share of its limits left free (when every container has a limit)."""
    samples = {"idle": memory.get("idle") or {}}
    samples.update({f"{target}, end of busiest run": m for target, m in (memory.get("under_load") or {}).items()})
    services = [name for name in samples["idle"] if name != "total_mb"]
    rows = [[when, *[(m.get(name) or {}).get("mb") for name in services], m.get("total_mb")]
            for when, m in samples.items()]
    limits = [(samples["idle"].get(name) or {}).get("limit_mb") for name in services]
    if any(limit is not None for limit in limits):
        rows.append(["limit", *limits, memory.get("limit_mb")])
    lines = [table(["when", *services, "total"], rows)]
    if memory.get("free_share") is not None:
        lines.append(f"free under load: {memory['free_share']:.0%} of the stack's {memory['limit_mb']:g} MB "
                     f"(largest total {memory['peak_total_mb']:g} MB)")
    return lines


def steps_table(phases: dict[str, dict]) -> str:
    """Deploy phases (cold, warm): each step, then build, switch, total and the toolkit's overhead."""
    rows = []
    for phase, data in phases.items():
        for step in data.get("steps", []):
            rows.append([phase, step["title"], step["seconds"]])
        for key in ("bootstrap_s", "first_deploy_s", "build_s", "switch_s", "total_s", "overhead_s"):
            if key in data:
                rows.append([phase, f"= {key.removesuffix('_s')}", data[key]])
    return table(["phase", "step", "seconds"], rows, right={2})


def downtime_table(methods: dict[str, dict]) -> str:
    """Failed requests, the longest stall (100 ms slots with no completed request) and the switch's slowest request
    against the steady p99 before it."""
    return table(
        ["method", "failed", "total", "max latency ms", "longest stall s", "switch max / steady p99", "seconds"],
        [[name, m["failed"], m["total"], m["max_ms"], m.get("longest_stall_s"),
          _switch_latency(m), m.get("seconds")] for name, m in methods.items()],
    )


def _switch_latency(method: dict) -> str | None:
    if method.get("switch_vs_p99") is None:
        return None
    return f"{method['switch_max_ms']:g} / {method['steady_p99_ms']:g} ms = {method['switch_vs_p99']:g}"


def images_table(images: dict) -> str:
    rows = [[tag, size] for tag, size in images.get("sizes_mb", {}).items()]
    out = table(["image", "MB"], rows)
    builds = {k: v for k, v in images.items() if k.endswith("_s")}
    if builds:
        out += "\n" + table(["build", "seconds"], [[k.removesuffix("_s"), v] for k, v in builds.items()])
    return out


SHIP_STEP = {
    "build local": "registry + push here + pull through the tunnel",
    "save|load": "docker save | gzip | ssh | docker load",
    "build server": "build images on the server",
}


def shipping_table(methods: dict) -> str:
    """Per method, the first shipment and a code-only change: MB the server received, the seconds of the step
    that got the images there (ship steps, pipeline or the server's build), the build here, the whole deploy."""
    rows = []
    for method, data in methods.items():
        for shipment in ("first", "code_only"):
            phase = data.get(shipment)
            if not phase:
                continue
            received = phase.get("received_bytes")
            step = phase.get("ship_s", phase.get("seconds")) if method != "build server" else phase.get("build_s")
            here = phase.get("build_s") if method == "build local" else None
            rows.append([method, shipment.replace("_", "-"), None if received is None else received / 1e6, step,
                         here, phase.get("deploy_s"), SHIP_STEP.get(method, "")])
    return table(["method", "shipment", "MB received", "step s", "build here s", "fab deploy s", "step"], rows,
                 right={2, 3, 4, 5})


def ratios_table(rows: list[dict]) -> str:
    """Each ratio of one run's numbers; `met` only for the ones with a target."""
    return table(
        ["ratio", "value", "at most", "met"],
        [[r["name"], _ratio(r["ratio"]), _ratio(r["at_most"]), _verdict(r["met"])] for r in rows],
        right={1, 2},
    )


SWARM_ROWS = (("cluster", "fab swarm.deploy"), ("single", "fab deploy"))


def swarm_table(section: dict) -> str:
    """A code-only deploy on the swarm and on one server, same run: seconds under load and unloaded with the ratio
    swarm/single, the load's failed/total, and the MB each node received during the unloaded deploy."""
    ratios = section.get("ratios", {})
    rows = []
    for key, command in SWARM_ROWS:
        data = section.get(key)
        if not data:
            continue
        loaded, unloaded = data.get("under_load", {}), data.get("unloaded", {})
        swarm = key == "cluster"
        nodes = data.get("nodes")
        received = unloaded.get("received_mb")
        rows.append([
            f"{command} ({nodes} node{'s' if nodes != 1 else ''})",
            loaded.get("seconds"), _ratio(ratios.get("seconds_under_load")) if swarm else None,
            f"{loaded.get('failed')} / {loaded.get('total')}" if loaded else None,
            unloaded.get("seconds"), _ratio(ratios.get("seconds_unloaded")) if swarm else None,
            " / ".join(f"{mb:.2f}" for mb in received) if received else None,
        ])
    return table(["deploy", "s under load", "swarm/single", "failed / total", "s unloaded", "swarm/single",
                  "MB received per node"], rows, right={1, 2, 3, 4, 5})


def swarm_steps_table(section: dict) -> str:
    """When each top-level step of the deploys under load began, in seconds since their load started."""
    rows = []
    for key, command in SWARM_ROWS:
        for mark in section.get(key, {}).get("under_load", {}).get("steps", []):
            rows.append([command, mark["title"], mark["at"], mark["seconds"]])
    return table(["deploy", "step", "began at s", "seconds"], rows, right={2, 3})


def _ratio(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


def _verdict(met: bool | None) -> str | None:
    return None if met is None else ("yes" if met else "NO")


def render(payload: dict) -> str:
    """Every section that is present, as tables, with the run's context on top."""
    machine = payload.get("machine", {})
    parts = [
        f"mysite bench {payload.get('date')} commit {payload.get('commit')}"
        f"{' (quick)' if payload.get('quick') else ''}; {machine.get('cpus')} CPUs, "
        f"load average {machine.get('load_avg')}"
    ]
    for key, title in (("serving", "serving through nginx"),
                       ("serving_limits", "serving through nginx on a small server (bench/limits.yml)")):
        serving = payload.get(key)
        if not serving:
            continue
        if serving.get("images"):
            parts += ["", "## images (this machine)", images_table(serving["images"])]
        if serving.get("gunicorn"):
            parts += ["", f"gunicorn: {serving['gunicorn']}"]
        if serving.get("checks"):
            parts += [f"app checks (queries on 1st/2nd GET, Markdown conversions): {json.dumps(serving['checks'])}"]
        parts += ["", f"## {title}", serving_table(serving.get("rows", []))]
        if serving.get("floor_ratios"):
            parts += ["", "## ratio to the framework floor (/floor, same run)", floor_table(serving["floor_ratios"])]
        if serving.get("memory"):
            parts += ["", "## memory (cgroups: usage - inactive_file, MB)", *memory_lines(serving["memory"])]
    if payload.get("views"):
        parts += views_report.lines(payload["views"])  # batched vs one UPDATE per view
    if payload.get("databases"):
        parts += databases_report.lines(payload["databases"])  # SQLite vs PostgreSQL
    deploy = payload.get("deploy")
    if deploy:
        if deploy.get("phases"):
            parts += ["", "## deploy (fresh systemd server)", steps_table(deploy["phases"])]
        if deploy.get("downtime"):
            parts += ["", "## downtime (8 keep-alive connections through nginx)", downtime_table(deploy["downtime"])]
        if deploy.get("rollback"):
            back = deploy["rollback"]
            parts += ["", f"rollback right after the code-only deploy, under the same load: {back['seconds']}s vs "
                      f"{back['deploy_s']}s (ratio {back['ratio']}), {back['failed']}/{back['total']} failed, "
                      f"longest stall {back.get('longest_stall_s')}s, "
                      f"switch max/steady p99 {back.get('switch_vs_p99')}, "
                      f"warm container {'used' if back['used_warm'] else 'NOT used'}; the warm container costs "
                      f"{back['warm_memory_mb']} MB while kept (the serving one: {back['serving_memory_mb']} MB)"]
        if deploy.get("images"):
            parts += ["", "## images (on the server)", images_table(deploy["images"])]
    if payload.get("adopt"):
        parts += adopt_report.lines(payload["adopt"])  # each kind of project from init to serving
    shipping = payload.get("shipping")
    if shipping:
        if shipping.get("methods"):
            parts += ["", "## shipping the images to one fresh server (bytes its eth0 received)",
                      shipping_table(shipping["methods"])]
        first = shipping.get("methods", {}).get("build local", {}).get("first", {})
        if first.get("cold_push_s") is not None:
            written = first.get("cold_push_received_bytes")
            parts += [f"build local, first, as a laptop's first push (into an empty registry): push "
                      f"{first['cold_push_s']}s ({'?' if written is None else round(written / 1e6, 1)} MB written) "
                      f"instead of {first.get('push_s')}s, so ship steps {first.get('ship_cold_s')}s"]
        if shipping.get("ratios"):
            parts += ["", "## shipping ratios (same run)", ratios_table(shipping["ratios"])]
        if shipping.get("base_images_copy"):
            copy = shipping["base_images_copy"]
            parts += [f"build server: base images copied in beforehand (docker save | docker exec load, not over "
                      f"eth0): {copy.get('seconds')}s, eth0 received {copy.get('eth0_received_bytes')} bytes meanwhile"]
        parts += [f"shipping note: {note}" for note in shipping.get("notes", [])]
    swarm = payload.get("swarm")
    if swarm:
        nodes = swarm.get("cluster", {}).get("nodes", "?")
        parts += ["", f"## swarm ({nodes} nodes) vs one server: code-only deploy", swarm_table(swarm)]
        if swarm_steps_table(swarm).count("\n") > 1:
            parts += ["", "## their steps under load (seconds since the load started)", swarm_steps_table(swarm)]
        parts += [f"swarm note: {note}" for note in swarm.get("notes", [])]
    for note in payload.get("notes", []):
        parts.append(f"note: {note}")
    return "\n".join(parts)
