"""Shared e2e flows: a user's checkout and laptop, `fab` through the real CLI, pages through nginx.

Used by tests/e2e/test_deploy.py (and the suites that build on it) and tests/reliability/. Nothing
here is a fixture: modules wrap these in fixtures of the scope they need.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from testbed import images
from testbed.load import Load
from testbed.worktree import copy_worktree, export_commit

REPO = Path(__file__).resolve().parents[2]
# the fab of the environment running the tests (pipenv may keep it outside the project)
FAB = str(Path(sys.executable).parent / "fab")
DOMAIN = "blog.example"
APP = "/home/deploy/apps/mysite"
KEY = "e2e-" + "Zq8#vL2!pX9@tR4^wY7&nB3*cF6(hM1)sG5_eA0+uK" + "x7Yw"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> None:
    git(repo, "commit", "-qam", message)


def make_checkout(repo: Path, *, head_only: bool = False) -> Path:
    """A git repository at ``repo`` of the working tree (tracked + untracked, not ignored), as a user's checkout.

    ``head_only``: the committed tree of HEAD instead (no one's uncommitted work in progress).
    Writes a valid `.envs/.production` (git-ignored) for DOMAIN with KEY.
    """
    if head_only:
        export_commit("HEAD", repo)
    else:
        copy_worktree(repo)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "e2e@example.com")
    git(repo, "config", "user.name", "e2e")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the working tree under test")
    (repo / ".envs").mkdir(exist_ok=True)
    (repo / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY='{KEY}'\nDJANGO_ALLOWED_HOSTS={DOMAIN}\nWEB_CONCURRENCY=2\n"
    )
    return repo


def make_laptop(home: Path) -> Path:
    """A HOME the test controls: no ssh keys, no agent, an empty known_hosts."""
    (home / ".ssh").mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / ".ssh" / "known_hosts").write_text("")
    return home


def fab(server, project: Path, laptop: Path, *args: str, wait: bool = True, timeout: float = 1800,
        user: str = "deploy", target: str | None = None, env: dict[str, str] | None = None,
        known_hosts: str | Path | None = None, identity: str | None = None):
    """Run the real `fab` CLI from ``project`` with HOME=``laptop``, as ``user`` on ``server``.

    ``target`` replaces the -H host string (e.g. an unreachable host); ``env`` adds environment
    (e.g. MYSITE_HEALTH_TIMEOUT); ``known_hosts`` replaces the laptop's known_hosts file; ``identity``
    replaces the harness's SSH key.
    wait=False returns the Popen (stdout/stderr pipes, text), in its own process group.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "MYSITE_"))}
    environ.update(HOME=str(laptop), MYSITE_KNOWN_HOSTS=str(known_hosts or laptop / ".ssh" / "known_hosts"))
    environ.update(env or {})
    host = target or f"{user}@{server.host}:{server.ssh_port}"
    # a swarm task takes its nodes from --nodes only (with -H it is refused: Fabric would run it once per host)
    hosts = [] if args and args[0].startswith("swarm.") else ["-H", host]
    argv = [FAB, *hosts, "-i", identity or server.key_filename, *args]
    if not wait:
        return subprocess.Popen(argv, cwd=project, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True, preexec_fn=_ctrl_c_reaches_python)
    started = time.monotonic()
    done = subprocess.run(argv, cwd=project, env=environ, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    done.seconds = time.monotonic() - started
    print(f"$ fab {' '.join(args)} -> exit {done.returncode} in {done.seconds:.1f}s\n{done.stdout}{done.stderr}")
    return done


def _ctrl_c_reaches_python() -> None:
    """A run started in the background inherits SIGINT ignored, and Python then never raises KeyboardInterrupt:
    give `fab` the default, so the tests' Ctrl-C is what a user's is."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def bootstrap(server, project: Path, laptop: Path):
    """`fab bootstrap --accept-new-host-key`, then the base images into the server's engine (no registry here)."""
    base = images.ensure_base_images()
    done = fab(server, project, laptop, "bootstrap", "--accept-new-host-key")
    assert done.returncode == 0, done.stdout + done.stderr
    server.load_images(*base)
    return server


def get(server, path: str = "/", opener=None) -> tuple[int, str]:
    request = urllib.request.Request(f"{server.http_url}{path}", headers={"Host": DOMAIN})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


LOAD_CLIENTS = 8
AFTER_SECONDS = 2  # the load goes on this long after the action: a failure that trails the switch is seen


def load_flowing(load: Load, at_most: float = 2.0) -> None:
    """Return once ``load`` has had 4 answers per client (a fraction of a second), or after ``at_most`` seconds."""
    deadline = time.monotonic() + at_most
    while load.result.total < 4 * load.threads and time.monotonic() < deadline:
        time.sleep(0.02)


def under_load(server, action, paths=("/", "/healthz"), **options):
    """Run ``action()`` while 8 keep-alive clients hit nginx; return (action's result, load result).

    The action starts once the load flows (not after a fixed 2 s), and the load runs on 2 s after it.
    ``options`` go to testbed.load.Load (e.g. retry_idle_close=True)."""
    with Load("127.0.0.1", server.http_port, host=DOMAIN, paths=list(paths), threads=LOAD_CLIENTS,
              **options) as load:
        load_flowing(load)
        outcome = action()
        time.sleep(AFTER_SECONDS)
    ends = [at for at, _ in load.result.events]
    stall = load.result.longest_stall(0.5, max(ends) - 0.5) if ends else None
    print(f"load: {load.result}, longest stall {stall}s\n" + "\n".join(load.result.first_failures))
    if load.result.failed:  # a container that restarted meanwhile explains a burst of 502s: say so
        print(server.exec("docker ps -aq --filter label=mysite.project=mysite | xargs -r docker inspect -f "
                          "'{{.Name}} restarted {{.RestartCount}}x, up since {{.State.StartedAt}}'",
                          check=False).stdout)
    return outcome, load.result


def first_post(server) -> str:
    status, body = get(server, "/")
    assert status == 200
    found = re.search(r'href="(/posts/\d+/)"', body)
    assert found, body[:2000]
    return found.group(1)
