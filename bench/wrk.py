"""wrk (Debian's `wrk` package) as the serving benchmark's load process: the command and its parser.

wrk never retries: every connection error (connect/read/write/timeout) and every answer that is not
2xx/3xx is counted, as docs/TESTING.md says a load client must.

    argv = command("http://127.0.0.1:18900/", connections=8, duration=10, host="mysite.test")
    result = parse(subprocess.run(argv, capture_output=True, text=True).stdout)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

# `wrk --script` that prints the 99.9th percentile after the run (`command(..., p999=True)`)
P999_SCRIPT = Path(__file__).with_name("wrk_p999.lua")

# wrk prints times with these units (format_time_us in wrk's stats code).
_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
# ... and byte counts with these (format_binary).
_BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}

_TIME = r"([\d.]+)(us|ms|s|m|h)"


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed something we cannot read."""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx_3xx: int = 0
    errors: dict[str, int] = field(default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0})
    transfer_bytes: int = 0
    p999_ms: float | None = None  # only when run with P999_SCRIPT

    @property
    def failed(self) -> int:
        """Every request a user would have seen fail: non-2xx/3xx answers plus socket errors."""
        return self.non_2xx_3xx + sum(self.errors.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "failed": self.failed}


def to_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def to_bytes(value: str, unit: str) -> int:
    return round(float(value) * _BYTE_UNITS[unit])


def _search(pattern: str, text: str, what: str) -> re.Match:
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        raise WrkError(f"wrk output has no {what}:\n{text[-1500:]}")
    return match


def parse(text: str) -> WrkResult:
    """Read `wrk --latency` output."""
    total = _search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read", text, "total")
    rps = _search(r"^Requests/sec:\s+([\d.]+)", text, "Requests/sec")
    latency = _search(rf"^\s+Latency\s+{_TIME}\s+{_TIME}\s+{_TIME}", text, "latency line")
    pct = {int(p): to_ms(v, u) for p, v, u in re.findall(rf"^\s+(50|75|90|99)%\s+{_TIME}\s*$", text, re.MULTILINE)}
    if set(pct) != {50, 75, 90, 99}:
        raise WrkError(f"wrk output has no latency distribution (was --latency given?):\n{text[-1500:]}")
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket_errors:
        errors = dict(zip(errors, map(int, socket_errors.groups()), strict=True))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    p999 = re.search(rf"^p99\.9 latency: {_TIME}$", text, re.MULTILINE)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=to_ms(total.group(2), total.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=pct[50],
        p75_ms=pct[75],
        p90_ms=pct[90],
        p99_ms=pct[99],
        max_ms=to_ms(latency.group(5), latency.group(6)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=errors,
        transfer_bytes=to_bytes(total.group(4), total.group(5)),
        p999_ms=to_ms(*p999.groups()) if p999 else None,
    )


def command(
    url: str,
    *,
    connections: int,
    duration: float,
    threads: int | None = None,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
    p999: bool = False,
) -> list[str]:
    """wrk's argv: one thread per connection up to 2 (this machine has 2 cores and serves too); ``p999``: with
    P999_SCRIPT, so that the result has p999_ms too."""
    threads = threads or min(connections, 2)
    argv = [
        "wrk",
        "--latency",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration:g}s",
        f"--timeout={timeout:g}s",
    ]
    for name, value in {**({"Host": host} if host else {}), **(headers or {})}.items():
        argv += ["--header", f"{name}: {value}"]
    if p999:
        argv += ["--script", str(P999_SCRIPT)]
    return [*argv, url]


def run(url: str, **kwargs) -> WrkResult:
    if shutil.which("wrk") is None:
        raise WrkError("wrk is not installed: apt-get install -y wrk")
    argv = command(url, **kwargs)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=kwargs["duration"] + 60)
    if done.returncode != 0:
        raise WrkError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return parse(done.stdout)
