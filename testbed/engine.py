"""Make sure a Docker engine answers, installing and starting one when we are root (docs/TESTING.md).

Machines start with no engine. As root we `apt-get install docker.io docker-compose debootstrap` and
start `dockerd` by hand (there is no systemd on the machine). Anything else fails with the reason.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ("docker.io", "docker-compose", "debootstrap")
DOCKERD_LOG = Path(tempfile.gettempdir()) / "dockerd.log"
START_TIMEOUT = 90


class EngineUnavailable(RuntimeError):
    """No Docker engine, and we could not get one: the message says why."""


def say(message: str) -> None:
    print(f"[harness/engine] {message}", file=sys.stderr, flush=True)


def engine_answers(timeout: float = 20) -> str | None:
    """None when `docker info` answers, else the reason it does not."""
    if shutil.which("docker") is None:
        return "the `docker` client is not installed"
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"`docker info` did not answer within {timeout:.0f} s"
    if done.returncode != 0:
        return "`docker info` failed: " + " ".join(done.stderr.strip().splitlines()[-2:])
    return None


def _dockerd_running(pidfile: Path = Path("/var/run/docker.pid")) -> bool:
    """A dockerd that does not answer must not get a twin: starting a second one cannot help."""
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def _install_packages() -> None:
    missing = [
        p
        for p, exe in zip(PACKAGES, ("dockerd", "docker-compose", "debootstrap"), strict=True)
        if shutil.which(exe) is None
    ]
    if not missing:
        return
    say(f"installing {' '.join(missing)} with apt-get (about a minute)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *missing]):
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise EngineUnavailable(f"`{' '.join(command)}` failed: {done.stderr.strip()[-500:]}")


def _start_dockerd() -> None:
    say(f"starting dockerd in the background (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    reason = engine_answers()
    while reason and time.monotonic() < deadline:
        time.sleep(1)
        reason = engine_answers()
    if reason:
        tail = DOCKERD_LOG.read_text(errors="replace").strip().splitlines()[-5:]
        raise EngineUnavailable(f"dockerd did not answer within {START_TIMEOUT} s ({reason}); log tail: {tail}")


def ensure_engine() -> str:
    """Return the engine's version; install/start it when root; raise EngineUnavailable otherwise."""
    reason = engine_answers()
    if reason is None:
        return _version()
    if os.geteuid() != 0:
        raise EngineUnavailable(f"no Docker engine ({reason}) and not root, so the harness cannot start one")
    if os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock") not in ("unix:///var/run/docker.sock", ""):
        raise EngineUnavailable(f"no Docker engine at DOCKER_HOST={os.environ['DOCKER_HOST']} ({reason})")
    if _dockerd_running():
        raise EngineUnavailable(f"dockerd is running but does not answer ({reason}); see {DOCKERD_LOG}")
    # one process installs and starts; the others wait on the lock and then find it running
    with open(Path(tempfile.gettempdir()) / "mysite-engine.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if engine_answers() is None:
            return _version()
        say(f"no Docker engine ({reason}): installing and starting one, as docs/TESTING.md describes")
        _install_packages()
        if shutil.which("dockerd") is None:
            raise EngineUnavailable("dockerd is still missing after installing docker.io")
        _start_dockerd()
    return _version()


def _version() -> str:
    done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    return done.stdout.strip()


if __name__ == "__main__":
    print(ensure_engine())
