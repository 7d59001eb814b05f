"""Shipping benchmark: three ways to get the app's images onto one fresh server, in one run.

    python -m bench.shipping [--save]

On one fresh Debian 12 systemd server (testbed/servers.py) after `fab bootstrap`, in this order:
1. **build local**: `fab deploy --build local` (the images are built here, pushed to the registry on
   this machine's loopback, and the server pulls the layers it lacks through an SSH tunnel);
2. **save|load**: `docker save mysite-django:R mysite-nginx:R | gzip | ssh deploy@server docker load`,
   the registry-less classic, over the server's real sshd (the harness key, strict host keys), with
   the images method 1 built here;
3. **build server**: `fab deploy --build server` (the server builds from the shipped commit). It needs
   the base images in the server's engine: they are copied there first the harness's way
   (`docker save | docker exec SERVER docker load`), which does not pass through the server's eth0.

Each method ships twice: **first**, to an engine that lacks the app images (before it, every container
is removed from the server's engine, then the app images, then the dangling layers; the base images of
method 3 stay), and **code-only**, after a one-line template change committed in the checkout (for
save|load: the images of method 1's code-only release). Measured: bytes received by the server (its
own `/sys/class/net/eth0/statistics/rx_bytes`, read before and after with `docker exec`) and seconds:
for the fab methods the whole `fab deploy` and the steps read from its `  ok <title> (N.Ns)` lines,
for save|load the pipeline. The targets are ratios of numbers taken in the same run (`RATIOS`).

The `mysite-registry` container here is shared with every earlier `--build local` deploy on this
machine, so method 1's first push usually finds its layers there already (a laptop that deployed
before). A laptop's very first push is measured too, outside every deploy: the first release's images
pushed into an empty registry of our own (`cold_push_s`), giving `ship_cold_s` = its ship steps with
that push instead.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench import report
from bench.deploy import APP, TEMPLATE, Run, parse_steps
from bench.stack import BenchError, say
from deploy.config import DeployConfig
from deploy.names import Names

LOCAL, SAVE_LOAD, SERVER = "build local", "save|load", "build server"
BLOG = Names.of(DeployConfig(), APP)  # the blog, as bench.deploy deploys it: its image names
METHODS = (LOCAL, SAVE_LOAD, SERVER)
SHIPMENTS = ("first", "code_only")

# The steps of `fab deploy --build local` that get the built images onto the server (deploy/images.py):
# the registry here, the push into it, the server's pull through the tunnel. Not "ship <sha> to <folder>",
# the release's files, which every deploy ships.
REGISTRY_STEP = re.compile(r"^registry on this machine's loopback")
PUSH_STEP = re.compile(r"^push .+ to 127\.0\.0\.1:\d+$")
PULL_STEP = re.compile(r"^ship the images to ")
BUILD_HERE_STEP = re.compile(r"^build .+ here, from commit ")
BUILD_SERVER_STEP = re.compile(r"^build images ")

# (name, numerator, denominator, at most): each number is (method, shipment, key); at most None = context
RATIOS: tuple[tuple[str, tuple[str, str, str], tuple[str, str, str], float | None], ...] = (
    ("code-only bytes: build local / save|load",
     (LOCAL, "code_only", "received_bytes"), (SAVE_LOAD, "code_only", "received_bytes"), 1 / 10),
    ("code-only seconds: build local ship steps / save|load pipeline",
     (LOCAL, "code_only", "ship_s"), (SAVE_LOAD, "code_only", "seconds"), 1 / 3),
    ("first seconds: build local ship steps / save|load pipeline",
     (LOCAL, "first", "ship_s"), (SAVE_LOAD, "first", "seconds"), 1.0),
    ("code-only seconds: build local whole fab deploy / save|load pipeline",
     (LOCAL, "code_only", "deploy_s"), (SAVE_LOAD, "code_only", "seconds"), None),
    ("first seconds: build local whole fab deploy / save|load pipeline",
     (LOCAL, "first", "deploy_s"), (SAVE_LOAD, "first", "seconds"), None),
    ("first seconds: build local ship steps, push into an empty registry / save|load pipeline",
     (LOCAL, "first", "ship_cold_s"), (SAVE_LOAD, "first", "seconds"), None),
    ("first bytes: build local / save|load",
     (LOCAL, "first", "received_bytes"), (SAVE_LOAD, "first", "received_bytes"), None),
    ("first seconds: build server whole fab deploy / build local whole fab deploy",
     (SERVER, "first", "deploy_s"), (LOCAL, "first", "deploy_s"), None),
    ("code-only seconds: build server whole fab deploy / build local whole fab deploy",
     (SERVER, "code_only", "deploy_s"), (LOCAL, "code_only", "deploy_s"), None),
)  # fmt: skip


# --- pure: what the numbers are ---------------------------------------------------------------------
def step_seconds(steps: list[dict], pattern: re.Pattern) -> float | None:
    """Seconds of the top-level steps whose title matches ``pattern``; None when no such step finished."""
    found = [s["seconds"] for s in steps if s["depth"] == 0 and s["seconds"] is not None and pattern.search(s["title"])]
    return round(sum(found), 1) if found else None


def fab_phase(method: str, output: str, seconds: float, received: int) -> dict:
    """One `fab deploy` of ``method`` (LOCAL or SERVER): its bytes, its seconds and its steps' seconds.

    LOCAL: ``ship_s`` = registry + push + pull (everything that moves the built images to the server),
    ``build_s`` = the build here. SERVER: ``build_s`` = the build on the server, no ``ship_s``.
    """
    steps = parse_steps(output)
    phase: dict = {"received_bytes": received, "deploy_s": round(seconds, 1)}
    if method == LOCAL:
        parts = {"registry_s": REGISTRY_STEP, "push_s": PUSH_STEP, "pull_s": PULL_STEP}
        phase.update({key: step_seconds(steps, pattern) for key, pattern in parts.items()})
        found = [phase[key] for key in parts if phase[key] is not None]
        phase["ship_s"] = round(sum(found), 1) if found else None
        phase["build_s"] = step_seconds(steps, BUILD_HERE_STEP)
    elif method == SERVER:
        phase["build_s"] = step_seconds(steps, BUILD_SERVER_STEP)
    else:
        raise ValueError(f"{method!r} is not shipped by fab deploy")
    phase["steps"] = [{"title": s["title"], "seconds": s["seconds"]} for s in steps if s["depth"] == 0]
    return phase


def with_cold_push(phase: dict, cold: dict) -> dict:
    """``phase`` (build local, first) plus the push into an empty registry, and its ship steps with that push."""
    phase = {**phase, "cold_push_s": cold.get("seconds"), "cold_push_received_bytes": cold.get("received_bytes")}
    if None not in (phase.get("ship_s"), phase.get("push_s"), phase["cold_push_s"]):
        phase["ship_cold_s"] = round(phase["ship_s"] - phase["push_s"] + phase["cold_push_s"], 1)
    return phase


def number(methods: dict, path: tuple[str, str, str]) -> float | None:
    method, shipment, key = path
    value = methods.get(method, {}).get(shipment, {}).get(key)
    return value if isinstance(value, int | float) else None


def ratios(methods: dict) -> list[dict]:
    """Every ratio of RATIOS that this run can compute; ``met`` is None for context ratios (no target)."""
    rows = []
    for name, top, bottom, at_most in RATIOS:
        numerator, denominator = number(methods, top), number(methods, bottom)
        ratio = numerator / denominator if numerator is not None and denominator else None
        rows.append({
            "name": name,
            "ratio": None if ratio is None else round(ratio, 3),
            "at_most": None if at_most is None else round(at_most, 3),
            "met": None if ratio is None or at_most is None else ratio <= at_most,
        })
    return rows


def save_load_command(images: list[str], ssh_argv: list[str]) -> str:
    """The classic: both images in one tar (shared layers once), gzip'd, into the server's engine over SSH."""
    return f"docker save {' '.join(shlex.quote(i) for i in images)} | gzip | {shlex.join(ssh_argv)} docker load"


# what a server's engine must lose before a method's first shipment: every container (ours: the app and
# nginx, which keep their images alive), the app images, and the layers nothing names any more
CLEAR_APP_IMAGES = (
    "docker ps -aq | xargs -r docker rm -f >/dev/null; "
    "docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(mysite-django|mysite-nginx):' "
    "| xargs -r docker rmi >/dev/null; "
    "docker image prune -f >/dev/null; "
    "docker images -q mysite-django; docker images -q mysite-nginx"
)
RX_BYTES = "cat /sys/class/net/eth0/statistics/rx_bytes"


# --- impure: one run on one server ------------------------------------------------------------------
class ShipRun(Run):
    """bench.deploy's checkout, laptop and fab, with the server's received bytes counted around each shipment."""

    def received(self) -> int:
        return int(self.server.exec(RX_BYTES).stdout)

    def change_template(self, n: int) -> None:
        """A one-line template change no earlier run made, so its layer is new to the build cache and the
        registry here (bench.deploy's fixed text would be found in both after its first run)."""
        path = self.repo / TEMPLATE
        path.write_text(path.read_text() + f"{{# bench shipping: one-line change {n} {uuid.uuid4().hex} #}}\n")
        self.git("commit", "-qam", f"bench: one-line template change {n}")

    def clear_app_images(self) -> None:
        left = self.server.exec(CLEAR_APP_IMAGES, timeout=600).stdout.split()
        if left:
            raise BenchError(f"the server's engine still holds app images after clearing: {left}")

    def current_release(self) -> str:
        return self.server.exec(f"basename $(readlink -f {APP}/current)").stdout.strip()

    def fab_deploy(self, method: str) -> tuple[dict, str]:
        before = self.received()
        took, out = self.fab("deploy", "--build", "local" if method == LOCAL else "server")
        phase = fab_phase(method, out, took, self.received() - before)
        return phase, self.current_release()

    def save_load(self, release: str) -> dict:
        images = [BLOG.app_image(release), BLOG.nginx_image(release)]
        command = save_load_command(images, self.server.ssh_argv())
        say(f"save|load {' '.join(images)}")
        before = self.received()
        started = time.monotonic()
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True,
                              timeout=1800, stdin=subprocess.DEVNULL)
        took = time.monotonic() - started
        received = self.received() - before
        if done.returncode != 0:
            raise BenchError(f"{command} failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        for image in images:  # the same images arrived, not just bytes
            here = _local(f"docker image inspect -f '{{{{.Id}}}}' {image}")
            there = self.server.exec(f"docker image inspect -f '{{{{.Id}}}}' {image}").stdout.strip()
            if here != there:
                raise BenchError(f"{image} is {there} on the server after save|load, {here} here")
        return {"received_bytes": received, "seconds": round(took, 1)}

    def load_bases(self) -> dict:
        """The base images into the server's engine the harness's way (docker save | docker exec ... load)."""
        from testbed import images

        before = self.received()
        started = time.monotonic()
        self.server.load_images(images.PYTHON_IMAGE, images.NGINX_IMAGE)
        return {"seconds": round(time.monotonic() - started, 1), "eth0_received_bytes": self.received() - before}


def _local(command: str, check: bool = False) -> str:
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=1800)
    if check and done.returncode != 0:
        raise BenchError(f"{command} failed (exit {done.returncode}): {done.stderr.strip()[-1000:]}")
    return done.stdout.strip()


def cold_push(release: str) -> dict:
    """Seconds to push the release's images into an empty registry (a registry:2 container of our own on a
    free loopback port, removed with its volume afterwards), and the bytes that registry received."""
    from deploy.commands import images as commands

    name = f"mysite-bench-registry-{uuid.uuid4().hex[:8]}"
    _local(f"docker run -d --name {name} -p 127.0.0.1::{commands.REGISTRY_PORT} {commands.REGISTRY_IMAGE}", check=True)
    try:
        port = commands.parse_port(_local(f"docker port {name} {commands.REGISTRY_PORT}"))
        deadline = time.monotonic() + 60
        while _local(f"curl -fsS -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/v2/") != "200":
            if time.monotonic() > deadline:
                raise BenchError(f"the empty registry {name} never answered on 127.0.0.1:{port}")
            time.sleep(0.5)
        rx = f"docker exec {name} cat /sys/class/net/eth0/statistics/rx_bytes"
        before = int(_local(rx, check=True))
        started = time.monotonic()
        for image in (BLOG.app_image(release), BLOG.nginx_image(release)):
            remote = commands.at(port, image)
            _local(commands.tag(image, remote), check=True)
            try:
                _local(commands.push(remote), check=True)
            finally:
                _local(commands.untag(remote))
        took = time.monotonic() - started
        return {"seconds": round(took, 1), "received_bytes": int(_local(rx, check=True)) - before}
    finally:
        _local(f"docker rm -f -v {name}")


def registry_received() -> int | None:
    """Bytes the registry container here has received (its eth0): what pushes wrote into it. Shared with
    anyone else deploying --build local on this machine, so a hint, not a measure."""
    done = subprocess.run(["docker", "exec", "mysite-registry", "cat", "/sys/class/net/eth0/statistics/rx_bytes"],
                          capture_output=True, text=True)
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else None


def run() -> dict:
    from bench.stack import ensure_engine_and_bases, image_size_mb
    from testbed import images, servers

    ensure_engine_and_bases()
    images.ensure_image(images.REGISTRY_IMAGE)
    image = servers.build_server_image("bookworm")
    methods: dict = {LOCAL: {"command": "fab deploy --build local"}, SAVE_LOAD: {}, SERVER: {
        "command": "fab deploy --build server"}}
    result: dict = {"server": "bookworm (systemd container, Docker 20.10, Compose v1)", "methods": methods}
    releases: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mysite-bench-shipping-") as tmp:
        run_ = ShipRun(Path(tmp))
        run_.server = servers.start_server("bookworm", name=f"bench-ship-{uuid.uuid4().hex[:8]}", image=image)
        try:
            run_.fab("bootstrap", "--accept-new-host-key")

            # 1. built here, only the missing layers through the tunnel
            run_.clear_app_images()
            for shipment in SHIPMENTS:
                if shipment == "code_only":
                    run_.change_template(1)
                pushed = registry_received()
                phase, release = run_.fab_deploy(LOCAL)
                after = registry_received()
                phase["registry_received_bytes"] = after - pushed if pushed is not None and after is not None else None
                methods[LOCAL][shipment] = phase
                releases.append(release)
            result["images_mb"] = {f"{repo}:<release>": image_size_mb(f"{repo}:{releases[-1]}")
                                   for repo in ("mysite-django", "mysite-nginx")}
            say("push the first release's images into an empty registry (a laptop's first push)")
            methods[LOCAL]["first"] = with_cold_push(methods[LOCAL]["first"], cold_push(releases[0]))

            # 2. the same two releases' images, the classic way
            run_.clear_app_images()
            shape = ["ssh", "-F", "SSH_CONFIG", "-p", "PORT", "deploy@127.0.0.1"]
            methods[SAVE_LOAD]["command"] = save_load_command(["mysite-django:RELEASE", "mysite-nginx:RELEASE"], shape)
            for shipment, release in zip(SHIPMENTS, releases, strict=True):
                methods[SAVE_LOAD][shipment] = run_.save_load(release)

            # 3. the server builds, from the bases copied in beside the network
            run_.clear_app_images()
            result["base_images_copy"] = run_.load_bases()
            for shipment in SHIPMENTS:
                if shipment == "code_only":
                    run_.change_template(2)
                methods[SERVER][shipment], _release = run_.fab_deploy(SERVER)
        finally:
            if os.environ.get("MYSITE_BENCH_KEEP") == "1":
                say(f"MYSITE_BENCH_KEEP=1: keeping {run_.server.name}")
            else:
                run_.server.remove()
            for release in releases:  # the tags our --build local deploys made here (not the layers' other names)
                subprocess.run(["docker", "rmi", BLOG.app_image(release), BLOG.nginx_image(release)],
                               capture_output=True)
    result["ratios"] = ratios(methods)
    result["notes"] = [
        "bytes: the server's eth0 rx counter around each shipment (whole fab deploy for the fab methods: the "
        "release's files and SSH too; the pipeline alone for save|load)",
        "build server: the base images were copied into the server's engine beforehand with docker save | "
        "docker exec docker load, which does not pass through its eth0 (not counted); its bytes are the release "
        "archive, SSH and what the build downloads (pip)",
        "build local: the registry here and the build cache are shared with earlier runs, so the first push "
        "and build may find layers already there (registry_received_bytes hints at what was pushed); "
        "cold_push_s is a push of the first release into an empty registry, ship_cold_s the ship steps with it",
    ]
    return result


def main(argv: list[str] | None = None) -> None:
    report.standalone("shipping", run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
