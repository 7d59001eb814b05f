"""Fixtures for the compose-stack e2e tests: a Docker engine, base images, a copy of the repo, stacks.

No engine: the tests skip with a loud reason, or FAIL under MYSITE_E2E=require (CI).
Names we own on the shared engine: compose projects `mysite-e2e-*`, images tagged `:e2e-*`.
Measurements (image sizes, build times) are printed at the end of the run and written to .e2e/.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.envfile import new_secret_key
from testbed import engine, images
from testbed import stack as compose_stack
from testbed.worktree import copy_worktree, free_port  # noqa: F401 - free_port is used by the stack tests

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENTS: list[str] = []


def measure(line: str) -> None:
    """Record a number for the end-of-run summary (and show it with -s)."""
    MEASUREMENTS.append(line)
    print(f"[e2e] {line}", flush=True)


def pytest_terminal_summary(terminalreporter):
    if not MEASUREMENTS:
        return
    terminalreporter.section("mysite e2e measurements")
    for line in MEASUREMENTS:
        terminalreporter.write_line(line)
    out = ROOT / ".e2e"
    out.mkdir(exist_ok=True)
    (out / "measurements.txt").write_text("\n".join(MEASUREMENTS) + "\n")


def e2e_unavailable(reason: str) -> None:
    """Fail under MYSITE_E2E=require, else skip; either way the reason is loud."""
    message = f"E2E NOT RUN: {reason}"
    if os.environ.get("MYSITE_E2E") == "require":
        pytest.fail(f"{message} (MYSITE_E2E=require)", pytrace=False)
    pytest.skip(f"{message} (set MYSITE_E2E=require to make this a failure)")


@pytest.fixture(scope="session")
def docker_engine() -> str:
    try:
        return engine.ensure_engine()
    except engine.EngineUnavailable as exc:
        e2e_unavailable(str(exc))


@pytest.fixture(scope="session")
def base_images(docker_engine) -> dict[str, str]:
    """python:3.11-slim-bookworm and nginx:1.30: the real ones if present, else debootstrap stand-ins."""
    start = time.monotonic()
    try:
        found = images.ensure_base_images()
    except RuntimeError as exc:
        e2e_unavailable(f"base images unavailable: {exc}")
    standins = [tag for tag in found if images.is_standin(tag)]
    if standins:
        measure(
            f"base images: STAND-INS (debootstrap) for {', '.join(standins)}; ready in {time.monotonic() - start:.0f}s"
        )
    return found


@pytest.fixture(scope="session")
def compose_kind(docker_engine) -> str:
    """'v2' or 'v1': the compose this machine has."""
    return compose_stack.compose_kind()


def copy_repo(dest: Path) -> Path:
    """The repo's tracked and untracked-but-not-ignored files (no .venv, no .envs/.production)."""
    return copy_worktree(dest)


def write_env_file(path: Path, hosts: str) -> Path:
    path.write_text(f"DJANGO_SECRET_KEY={new_secret_key()}\nDJANGO_ALLOWED_HOSTS={hosts}\nWEB_CONCURRENCY=2\n")
    path.chmod(0o600)
    return path


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def image_size_mb(tag: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip()) / 1e6


def image_layers(tag: str) -> list[str]:
    return json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", tag).stdout)


class Stack(compose_stack.Stack):
    """A compose project in a copy of the repo (testbed.stack), plus Docker's health checks."""

    def health(self, service: str) -> str:
        return docker("inspect", "--format", "{{.State.Health.Status}}", self.container(service)).stdout.strip()

    def wait_healthy(self, *services: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {s: self.health(s) for s in services}
            if all(state == "healthy" for state in states.values()):
                return
            time.sleep(1)
        logs = self.compose("logs", "--tail=60", check=False).stdout
        raise AssertionError(f"not healthy after {timeout:.0f}s: {states}\n{logs[-4000:]}")

    def teardown(self) -> None:
        if os.environ.get("MYSITE_E2E_KEEP") == "1":
            print(f"[e2e] MYSITE_E2E_KEEP=1: leaving compose project {self.project} in {self.src}")
            return
        self.down(timeout=180)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


def merged_headers(headers) -> dict[str, str]:
    """Lower-case names; a header sent twice (e.g. two Cache-Control lines) is joined with ", "."""
    merged: dict[str, str] = {}
    for name, value in headers.items():
        name = name.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def http_get(port: int, path: str = "/", host: str | None = None, timeout: float = 10) -> Response:
    """GET http://127.0.0.1:PORT/PATH with a Host header; never follows redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host} if host else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as answer:
            return Response(answer.status, merged_headers(answer.headers), answer.read().decode())
    except urllib.error.HTTPError as error:
        return Response(error.code, merged_headers(error.headers), error.read().decode())


def wait_http(port: int, path: str = "/", host: str | None = None, timeout: float = 120, want: int = 200) -> Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = http_get(port, path, host)
            if last.status == want:
                return last
        except OSError as error:
            last = error
        time.sleep(1)
    raise AssertionError(f"http://127.0.0.1:{port}{path} (Host {host}) never answered {want}: {last}")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mysite-e2e")


def remove_images(*tags: str) -> None:
    if os.environ.get("MYSITE_E2E_KEEP") == "1":
        return
    for tag in tags:
        docker("rmi", "--force", tag, check=False)


@pytest.fixture(scope="session")
def repo_copy_factory(workdir):
    def make(name: str) -> Path:
        return copy_repo(workdir / name)

    return make
