"""When each top-level step of a command began: marks for a picture of a load timeline.

    timed = run_timed([FAB, ...], cwd=repo, env=env, zero=load.result.started)
    timed.marks  # [{"title": "preflight: ...", "at": 2.31, "seconds": 0.8}, ...]

The toolkit's commands print `--> title` when a step starts and `  ok title (1.2s)` (or
`  x title failed after 1.2s`) when it ends (deploy/output.py); steps nest, and a nested step's line looks
like a top-level one, so the depth comes from the steps still open. `run_timed` runs the command with
`subprocess.Popen`, reads its stdout line by line as it is printed and stamps each line with the seconds
since ``zero`` (a `time.monotonic()`, e.g. when a load started); `top_level_marks` (pure) keeps the
top-level steps: when each began and how long it took by its own line (None when it never ended).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

# the toolkit's step lines (deploy/output.py): bench/deploy.py reads them too
STEP_START = re.compile(r"^--> (?P<title>.+)$")
STEP_END = re.compile(r"^\s+(?P<ok>ok|x) (?P<title>.+?) (?:\((?P<s>[\d.]+)s\)|failed after (?P<f>[\d.]+)s)$")


def top_level_marks(lines: Iterable[tuple[float, str]]) -> list[dict]:
    """(seconds, line) pairs in the order printed -> [{title, at, seconds}] of the top-level steps, in start order.

    A step opened while another is open is nested in it, unless it is still open when that one ends: a nested
    step always ends first, so it ran beside that one, on its level (steps in parallel threads, e.g. the images
    shipped to several nodes at once). Levels found to be one are merged (union-find); level 0 is the top.
    """
    steps: list[dict] = []
    open_: list[dict] = []  # the open steps, in start order
    parent: list[int] = [0]  # union-find over levels; level 0 is the top

    def find(level: int) -> int:
        while parent[level] != level:
            parent[level] = parent[parent[level]]
            level = parent[level]
        return level

    for at, line in lines:
        line = line.rstrip("\n")
        if m := STEP_START.match(line):
            level = 0
            if open_:  # nested (until it turns out otherwise): a level of its own
                level = len(parent)
                parent.append(level)
            step = {"title": m["title"], "at": round(at, 2), "seconds": None, "level": level}
            steps.append(step)
            open_.append(step)
        elif (m := STEP_END.match(line)) and open_:
            # the innermost open step with this title ends; the ones opened after it and still open ran beside it
            for i in range(len(open_) - 1, -1, -1):
                if open_[i]["title"] == m["title"]:
                    ended = open_.pop(i)
                    ended["seconds"] = float(m["s"] or m["f"])
                    for later in open_[i:]:
                        if find(later["level"]) != 0:
                            parent[find(later["level"])] = find(ended["level"])
                    break
    return [{"title": s["title"], "at": s["at"], "seconds": s["seconds"]} for s in steps if find(s["level"]) == 0]


@dataclass
class TimedRun:
    """A finished command: its exit code, output, seconds, and the marks of its top-level steps."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    started: float  # seconds since ``zero`` when the command started
    marks: list[dict] = field(default_factory=list)
    timed_out: bool = False


def run_timed(argv: list[str], *, cwd=None, env: dict[str, str] | None = None, zero: float | None = None,
              timeout: float = 1800) -> TimedRun:
    """Run ``argv`` (stdin closed), stamping each stdout line with the seconds since ``zero`` (default: its start).

    stderr is read beside it (a thread), so neither pipe fills. After ``timeout`` seconds the command is
    killed and the run says ``timed_out``. Python children print as they go (PYTHONUNBUFFERED=1).
    """
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    begun = time.monotonic()
    zero = begun if zero is None else zero
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
    reader.start()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        process.kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    lines: list[tuple[float, str]] = []
    try:
        for line in process.stdout:
            lines.append((time.monotonic() - zero, line))
        process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    return TimedRun(
        argv=list(argv),
        returncode=process.returncode,
        stdout="".join(line for _, line in lines),
        stderr="".join(errors),
        seconds=round(time.monotonic() - begun, 2),
        started=round(begun - zero, 2),
        marks=top_level_marks(lines),
        timed_out=expired.is_set(),
    )
