"""Adopt benchmark: each kind of Django project (testbed/project_kinds.py) and the blog, each on a fresh server, from
`mysite-deploy init` to its first page answering through nginx, then a code-only redeploy.

    python -m bench.adopt [--save] [--kinds shop,cms]

Per project, one fresh systemd server at a time (the machine has 2 CPUs), started before the clock runs:
- init: `mysite-deploy init` in the project's environment, the env file written, committed (the blog: none, its
  deploy files are its own); the project itself (startproject, the lock, `wagtail start`) is made beforehand;
- bootstrap: `fab bootstrap --accept-new-host-key` (installs Docker, the app's folders);
- first deploy: `fab deploy` (the server builds the images with nothing cached but the base image);
- init->serving: init + bootstrap + first deploy + the wait for the page to answer 200 through nginx;
- image MB: the serving app container's image (`docker image inspect`);
- code-only redeploy: a one-line comment in ``<package>/urls.py``, committed, `fab deploy` again.
The base images are copied into the server's engine between bootstrap and the first deploy (there is no registry
here, a real server pulls them during the build): that copy is timed apart and left out of init->serving.
Ratios are each project's number over the blog's from the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import report
from bench.deploy import DOMAIN, FAB, Run
from bench.stack import BenchError, say
from deploy.envfile import new_secret_key

BLOG = "mysite"  # the blog's package: its row's name and where its one-line change goes
RATIOS = ("bootstrap_s", "first_deploy_s", "serving_s", "image_mb", "redeploy_s")


def image_mb(size: str) -> float:
    """`docker image inspect --format '{{.Size}}'` (bytes) -> MB."""
    found = re.fullmatch(r"\s*(\d+)\s*", size)
    if not found:
        raise BenchError(f"docker image inspect gave no size: {size!r}")
    return round(int(found.group(1)) / 1e6, 1)


def one_line_change(text: str, n: int = 1) -> str:
    """A Python file with one comment line more: a code-only change, nothing else rebuilt."""
    return text + ("" if text.endswith("\n") or not text else "\n") + f"# bench: one-line change {n}\n"


def with_ratios(rows: list[dict], base: str = BLOG) -> list[dict]:
    """Each row with ``ratios``: its number over the ``base`` row's, for RATIOS (None when either is missing)."""
    blog = next((row for row in rows if row["kind"] == base), {})
    out = []
    for row in rows:
        ratios = {}
        for key in RATIOS:
            mine, theirs = row.get(key), blog.get(key)
            ratios[key] = round(mine / theirs, 2) if mine is not None and theirs else None
        out.append({**row, "ratios": ratios})
    return out


class Project(Run):
    """A fresh server and a project that `fab` deploys with this checkout's toolkit (PYTHONPATH), as its own
    environment would."""

    def __init__(self, tmp: Path, root: Path, fab: str):  # no copy of the blog: the project is its own checkout
        self.tmp, self.repo, self.server, self.fab_path = tmp, root, None, fab
        self.laptop = tmp / "laptop"
        (self.laptop / ".ssh").mkdir(parents=True, mode=0o700)
        (self.laptop / ".ssh/known_hosts").write_text("")

    def git(self, *args: str) -> str:
        from testbed.adopt_projects import GIT

        return subprocess.run([*GIT, *args], cwd=self.repo, check=True, capture_output=True, text=True).stdout

    def fab_command(self, *args: str) -> tuple[list[str], dict[str, str]]:
        from testbed.project_kinds import TOOLKIT

        argv, env = super().fab_command(*args)
        return [self.fab_path, *argv[1:]], {**env, **TOOLKIT}


def production_env() -> str:
    return f"DJANGO_SECRET_KEY={new_secret_key()}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\nWEB_CONCURRENCY=2\n"


def measure(site: Run, name: str, page: str, init=None) -> dict:
    """One project on ``site`` (its server started): init (``init()``, when given), bootstrap, first deploy, the
    wait for ``page``, the image's size, a code-only redeploy."""
    from testbed import images
    from testbed.project_kinds import PYTHON

    row: dict = {"kind": name, "page": page, "init_s": None}
    started = time.monotonic()
    if init:
        init()
        row["init_s"] = round(time.monotonic() - started, 1)
    bootstrap = site.deploy_phase("bootstrap", "--accept-new-host-key")
    copied = time.monotonic()
    site.server.load_images(images.PYTHON_IMAGE, images.NGINX_IMAGE)
    # the stand-in of python:3.11-slim, the image `init`'s Dockerfile names (the server's engine has no registry)
    site.server.exec(f"docker tag {images.PYTHON_IMAGE} python:{PYTHON}-slim")
    row["base_images_copy_s"] = round(time.monotonic() - copied, 1)
    first = site.deploy_phase("deploy")
    status = wait_for(site, page)
    row.update(bootstrap_s=bootstrap["total_s"], first_deploy_s=first["total_s"], first_build_s=first["build_s"],
               serving_s=round(time.monotonic() - started - row["base_images_copy_s"], 1), status=status)
    row["image_mb"] = image_mb(site.server.exec(
        f"docker ps --filter label={name}.project={name} --format '{{{{.Image}}}}' | head -n 1 | "
        "xargs docker image inspect --format '{{.Size}}'").stdout)
    urls = site.repo / name / "urls.py"
    urls.write_text(one_line_change(urls.read_text()))
    site.git("commit", "-qam", "bench: a one-line change")
    redeploy = site.deploy_phase("deploy")
    row.update(redeploy_s=redeploy["total_s"], redeploy_build_s=redeploy["build_s"])
    return row


def wait_for(site: Run, page: str, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = site.get(page)[0]
        except OSError:
            status = None
        if status == 200 or time.monotonic() > deadline:
            if status != 200:
                raise BenchError(f"{page} answered {status} through nginx after the first deploy")
            return status
        time.sleep(0.2)


def on_fresh_server(image: str, site: Run, work) -> dict:
    from testbed import servers

    site.server = servers.start_server("bookworm", name=f"bench-{uuid.uuid4().hex[:8]}", image=image)
    try:
        return work()
    finally:
        if os.environ.get("MYSITE_BENCH_KEEP") == "1":
            say(f"MYSITE_BENCH_KEEP=1: keeping {site.server.name}")
        else:
            site.server.remove()


def failure(name: str, error: BaseException) -> dict:
    """A project that did not make it: its row says why, in one line (the traceback goes to the terminal)."""
    traceback.print_exception(error)
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return {"kind": name, "error": f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]}


def run(kinds: list[str] | None = None) -> dict:
    from bench.stack import ensure_engine_and_bases
    from testbed import servers
    from testbed.project_kinds import KINDS, init, tool

    chosen = [kind for kind in KINDS if kinds is None or kind.name in kinds]
    ensure_engine_and_bases()
    image = servers.build_server_image("bookworm")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="mysite-bench-adopt-") as tmp:
        tmp = Path(tmp)
        say("making the projects (their tools lock from PyPI)")
        for kind in chosen:
            (tmp / kind.name).mkdir()
        with ThreadPoolExecutor(max(1, len(chosen))) as pool:  # the locks wait on PyPI, not the CPU
            made = {kind.name: pool.submit(kind.make, tmp / kind.name) for kind in chosen}
            for future in made.values():
                future.exception()  # each made (or failed) before any server starts
        if kinds is None or BLOG in kinds:
            say("the blog")
            blog = Run(tmp / BLOG)
            (blog.repo / ".envs/.production").write_text(production_env())  # the kinds' env file: same workers
            try:
                rows.append(on_fresh_server(image, blog, lambda: measure(blog, BLOG, "/")))
            except Exception as error:  # noqa: BLE001 - one project failing leaves the others' numbers
                rows.append(failure(BLOG, error))
            say(f"{rows[-1]}")
        for kind in chosen:
            say(f"kind {kind.name}")
            try:
                root = made[kind.name].result()
                # fab in the project's environment (its migration check imports the project: wagtail)
                fab = str(tool(*kind.init_python) / "fab") if kind.init_python else FAB
                site = Project(tmp / f"{kind.name}-laptop", root, fab)
                env = production_env()
                rows.append(on_fresh_server(image, site, lambda kind=kind, root=root, env=env, site=site: measure(
                    site, kind.name, kind.page, init=lambda: init(kind, root, env))))
            except Exception as error:  # noqa: BLE001
                rows.append(failure(kind.name, error))
            say(f"{rows[-1]}")  # each row as it comes: a run cut short keeps what it measured
    return {"server": "bookworm (systemd container, Docker 20.10, Compose v1), a fresh one per project",
            "rows": with_ratios(rows)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.adopt", description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>-adopt.json")
    parser.add_argument("--kinds", help=f"comma-separated names (the kinds' and {BLOG}); default: all")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",") if args.kinds else None
    payload = report.envelope({"adopt": run(kinds)}, quick=False)
    print(report.render(payload))
    if args.save:
        print(f"wrote {report.write(payload, suffix='adopt')}")


if __name__ == "__main__":
    main()
