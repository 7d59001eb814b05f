"""compose/production/django/gunicorn_sizing.py: gunicorn's workers and threads from the container's CPUs and
memory (cgroup v2 or v1, else the machine's), overridable by WEB_CONCURRENCY / GUNICORN_THREADS."""

import importlib.util
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DJANGO = ROOT / "compose/production/django"

spec = importlib.util.spec_from_file_location("gunicorn_sizing", DJANGO / "gunicorn_sizing.py")
sizing = importlib.util.module_from_spec(spec)
sys.modules.setdefault(spec.name, sizing)  # dataclasses look their module up there
spec.loader.exec_module(sizing)

GB = 1024


@pytest.mark.parametrize(
    ("cpus", "memory_mb", "expected"),
    [
        (1, GB, (3, 4)),  # a 1 CPU / 1 GB server: 2*1+1 workers, today's 4 threads
        (2, 24 * GB, (5, 4)),  # this machine: as multiprocessing.cpu_count() gave before
        (16, 64 * GB, (8, 8)),  # a big host: capped at 8 workers, threads capped at 8
        (1.5, 4 * GB, (4, 4)),  # a fractional quota: int(2*1.5+1)
        (0.5, GB, (3, 4)),  # less than one CPU counts as one
        (2, 256, (2, 8)),  # memory-bound: 128 MB budget // 60 = 2 workers, more threads for the same 20 in flight
        (4, 128, (2, 8)),  # never below 2 workers: one slow request must not stall the site
    ],
)
def test_formula(cpus, memory_mb, expected):
    assert sizing.formula(cpus, memory_mb) == expected


def test_cpu_quota_from_cgroup_v2_and_v1():
    assert sizing.quota_cpus("max 100000\n") is None
    assert sizing.quota_cpus("100000 100000\n") == 1.0
    assert sizing.quota_cpus("150000 100000") == 1.5
    assert sizing.quota_cpus(None, "-1\n", "100000\n") is None
    assert sizing.quota_cpus(None, "50000\n", "100000\n") == 0.5
    assert sizing.quota_cpus(None, None, None) is None


def test_memory_limit_from_cgroup_v2_and_v1():
    assert sizing.limit_mb("max\n") is None
    assert sizing.limit_mb(str(480 * 2**20) + "\n") == 480
    assert sizing.limit_mb(None, "9223372036854771712\n", total_mb=24 * GB) is None  # v1's "no limit"
    assert sizing.limit_mb(None, str(512 * 2**20), total_mb=24 * GB) == 512
    assert sizing.limit_mb(None, None) is None


def test_meminfo_total():
    assert sizing.meminfo_total_mb("MemTotal:        1015812 kB\nMemFree:  1 kB\n") == pytest.approx(992, abs=1)
    with pytest.raises(ValueError):
        sizing.meminfo_total_mb("MemFree: 1 kB\n")


def fake_machine(tmp_path, files: dict[str, str], total_kb: int = 24 * GB * 1024) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    root.mkdir(exist_ok=True)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal:       {total_kb} kB\n")
    return root, meminfo


def test_choose_reads_a_cgroup_v2_container_limited_to_1_cpu_and_480_mb(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    root, meminfo = fake_machine(tmp_path, {"cpu.max": "100000 100000\n", "memory.max": str(480 * 2**20)})
    chosen = sizing.choose({}, root, meminfo)
    assert (chosen.workers, chosen.threads) == (3, 4)
    assert chosen.reason.startswith("1 CPUs (cgroup quota), 480 MB (cgroup limit): formula 3 workers x 4 threads")


def test_choose_reads_cgroup_v1_and_memory_bounds_the_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    root, meminfo = fake_machine(tmp_path, {
        "cpu,cpuacct/cpu.cfs_quota_us": "200000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        "memory/memory.limit_in_bytes": str(256 * 2**20),
    })
    chosen = sizing.choose({}, root, meminfo)
    assert (chosen.workers, chosen.threads) == (2, 8)
    assert "2 CPUs (cgroup quota), 256 MB (cgroup limit)" in chosen.reason


def test_choose_without_limits_uses_affinity_and_memtotal(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    root, meminfo = fake_machine(tmp_path, {"cpu.max": "max 100000\n", "memory.max": "max\n"}, total_kb=GB * 1024)
    chosen = sizing.choose({}, root, meminfo)
    assert (chosen.workers, chosen.threads) == (3, 4)
    assert chosen.reason.startswith("1 CPUs (affinity), 1024 MB (MemTotal)")


def test_the_environment_wins_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    root, meminfo = fake_machine(tmp_path, {})
    chosen = sizing.choose({"WEB_CONCURRENCY": "5", "GUNICORN_THREADS": " 1 "}, root, meminfo)
    assert (chosen.workers, chosen.threads) == (5, 1)
    assert chosen.reason.endswith("; WEB_CONCURRENCY=5 set; GUNICORN_THREADS=1 set")
    assert sizing.choose({"WEB_CONCURRENCY": ""}, root, meminfo).workers == 3


@pytest.mark.parametrize("value", ["abc", "0", "-2", "2.5"])
def test_a_bad_override_stops_the_start_with_one_line(value):
    with pytest.raises(SystemExit) as stopped:
        sizing.env_count("WEB_CONCURRENCY", {"WEB_CONCURRENCY": value})
    message = str(stopped.value)
    assert message.startswith(f"WEB_CONCURRENCY={value!r} is not a whole number >= 1")
    assert "\n" not in message


def test_gunicorn_conf_uses_the_sizing(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    monkeypatch.setenv("GUNICORN_THREADS", "3")
    conf = runpy.run_path(str(DJANGO / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (7, 3, "gthread")
    assert "WEB_CONCURRENCY=7 set" in conf["sizing"].reason


def test_start_sh_checks_the_overrides_before_gunicorn_reads_them():
    # gunicorn reads WEB_CONCURRENCY itself as it loads and dies on "abc" with a traceback: start.sh runs the
    # module first, which stops with one line
    done = subprocess.run([sys.executable, str(DJANGO / "gunicorn_sizing.py")], capture_output=True, text=True,
                          env={**os.environ, "WEB_CONCURRENCY": "abc"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "WEB_CONCURRENCY='abc' is not a whole number >= 1: fix it in the env file, or remove it to let gunicorn "
        "size itself from the container's CPUs and memory"
    ]
    start = (DJANGO / "start.sh").read_text()
    assert start.index("python /app/compose/production/django/gunicorn_sizing.py") < start.index("exec gunicorn")
    ok = subprocess.run([sys.executable, str(DJANGO / "gunicorn_sizing.py")], capture_output=True, text=True,
                        env={k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "GUNICORN_THREADS")})
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
