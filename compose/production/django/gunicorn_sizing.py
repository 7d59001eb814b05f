"""How many gunicorn workers and threads the app container runs, from the CPUs and memory it may use.

gunicorn.conf.py (beside this file) calls ``choose()`` once, as gunicorn starts. Stdlib only.

    cpus    = CPUs this process may run on (sched_getaffinity), lowered to the container's CPU quota
              (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us; `docker --cpus`), at least 1
    memory  = the container's memory limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes) when there is
              one below the machine's, else MemTotal from /proc/meminfo
    budget  = memory * MEMORY_SHARE (half: the rest is nginx's, the database's, the system's and the page cache)
    workers = max(2, min(int(2 * cpus + 1), budget // PER_WORKER_MB, MAX_WORKERS))
    threads = max(2, min(ceil(THREADS_PER_WORKER * int(2 * cpus + 1) / workers), MAX_THREADS))

2 * cpus + 1 is gunicorn's rule of thumb; MAX_WORKERS keeps a big host from multiplying SQLite writers; a
worker costs PER_WORKER_MB (measured, below); fewer workers than the CPUs would want (memory-bound)
get more threads, so about THREADS_PER_WORKER * (2 * cpus + 1) requests can still be in flight.
WEB_CONCURRENCY and GUNICORN_THREADS, when set, win over the formula.

multiprocessing.cpu_count() is not used: it counts the host's CPUs and ignores `docker --cpus`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

# A worker of this app measured 52 MB RSS (40 MB PSS: the master's shared pages counted once) after the serving
# benchmark's load; 60 leaves room for growth until max_requests recycles it.
PER_WORKER_MB = 60
MEMORY_SHARE = 0.5
MAX_WORKERS = 8
THREADS_PER_WORKER = 4
MAX_THREADS = 8
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Sizing:
    workers: int
    threads: int
    reason: str


def formula(cpus: float, memory_mb: float) -> tuple[int, int]:
    """(workers, threads) for ``cpus`` CPUs (a quota may be fractional) and ``memory_mb`` of memory."""
    by_cpu = int(2 * max(cpus, 1) + 1)
    by_memory = int(memory_mb * MEMORY_SHARE // PER_WORKER_MB)
    workers = max(2, min(by_cpu, by_memory, MAX_WORKERS))
    threads = max(2, min(math.ceil(THREADS_PER_WORKER * by_cpu / workers), MAX_THREADS))
    return workers, threads


def quota_cpus(cpu_max: str | None = None, cfs_quota: str | None = None, cfs_period: str | None = None) -> float | None:
    """The CPU quota in CPUs, from cgroup v2's cpu.max ("max 100000" or "150000 100000") or v1's
    cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us; None when there is no quota."""
    if cpu_max is not None:
        quota, _, period = cpu_max.strip().partition(" ")
        if quota == "max" or not period:
            return None
        return int(quota) / int(period)
    if cfs_quota is not None and cfs_period is not None and int(cfs_quota) > 0:
        return int(cfs_quota) / int(cfs_period)
    return None


def limit_mb(memory_max: str | None = None, limit_in_bytes: str | None = None, total_mb: float | None = None
             ) -> float | None:
    """The cgroup's memory limit in MB (v2 memory.max, "max": none; v1 memory.limit_in_bytes, a huge number:
    none), or None when there is none or it is not below the machine's memory ``total_mb``."""
    text = memory_max if memory_max is not None else limit_in_bytes
    if text is None or text.strip() == "max":
        return None
    mb = int(text) / 2**20
    return None if total_mb is not None and mb >= total_mb else mb


def meminfo_total_mb(meminfo: str) -> float:
    """MemTotal from /proc/meminfo's text, in MB."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024
    raise ValueError("no MemTotal line in /proc/meminfo")


def env_count(name: str, environ: dict[str, str]) -> int | None:
    """A whole number >= 1 from the environment, None when unset or empty; anything else stops the start with
    one line saying what is wrong."""
    value = environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name}={value!r} is not a whole number >= 1: fix it in the env file, or remove it to "
                         f"let gunicorn size itself from the container's CPUs and memory")
    return int(value)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def available_cpus(root: Path = CGROUP) -> tuple[float, str]:
    """The CPUs this container may use, and where that came from."""
    affinity = len(os.sched_getaffinity(0))
    quota = quota_cpus(_read(root / "cpu.max"))
    if quota is None:
        for v1 in (root / "cpu", root / "cpu,cpuacct"):
            quota = quota_cpus(None, _read(v1 / "cpu.cfs_quota_us"), _read(v1 / "cpu.cfs_period_us"))
            if quota is not None:
                break
    if quota is not None and quota < affinity:
        return quota, f"{quota:g} CPUs (cgroup quota)"
    return float(affinity), f"{affinity} CPUs (affinity)"


def available_memory_mb(root: Path = CGROUP, meminfo: Path = Path("/proc/meminfo")) -> tuple[float, str]:
    """The memory this container may use in MB, and where that came from."""
    total = meminfo_total_mb(meminfo.read_text())
    limit = limit_mb(_read(root / "memory.max"), None, total)
    if limit is None:
        limit = limit_mb(None, _read(root / "memory/memory.limit_in_bytes"), total)
    if limit is not None:
        return limit, f"{limit:.0f} MB (cgroup limit)"
    return total, f"{total:.0f} MB (MemTotal)"


def choose(environ: dict[str, str] | None = None, root: Path = CGROUP,
           meminfo: Path = Path("/proc/meminfo")) -> Sizing:
    """Workers and threads for this container, with the one-line reason gunicorn logs at start."""
    environ = dict(os.environ if environ is None else environ)
    cpus, cpus_from = available_cpus(root)
    memory, memory_from = available_memory_mb(root, meminfo)
    workers, threads = formula(cpus, memory)
    chosen_workers, chosen_threads = env_count("WEB_CONCURRENCY", environ), env_count("GUNICORN_THREADS", environ)
    reason = (f"{cpus_from}, {memory_from}: formula {workers} workers x {threads} threads "
              f"(max(2, min(2*cpus+1, {MEMORY_SHARE:g}*memory // {PER_WORKER_MB} MB, {MAX_WORKERS})))")
    if chosen_workers is not None:
        reason += f"; WEB_CONCURRENCY={chosen_workers} set"
    if chosen_threads is not None:
        reason += f"; GUNICORN_THREADS={chosen_threads} set"
    return Sizing(chosen_workers or workers, chosen_threads or threads, reason)


if __name__ == "__main__":
    # start.sh runs this before gunicorn, which reads WEB_CONCURRENCY itself as it loads and fails on a value
    # that is not a number with a traceback: a bad override stops the start here, with one line.
    choose()
