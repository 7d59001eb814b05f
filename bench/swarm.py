"""Swarm benchmark: a code-only `fab swarm.deploy` on 3 nodes against a code-only `fab deploy` on one server.

    python -m bench.swarm [--save]

In one run, on fresh Debian 12 systemd servers (testbed/servers.py): three on one user-defined Docker
network made one swarm (`fab bootstrap` on each, `fab swarm.bootstrap`, a first `fab swarm.deploy`,
100 posts seeded with `fab swarm.manage`), and one more server on its own (`fab bootstrap`, the base
images copied into its engine, a first `fab deploy`, 100 posts). Both are prepared side by side; then,
one after the other, each gets two code-only releases (a one-line template change with a random token,
committed, so no earlier run built or pushed the same layer):
1. **under load**: 8 keep-alive clients of testbed/load.py (no retries, every non-2xx/3xx and connection
   error counted) on the index and a post, from 2 s before the deploy until every loaded node answers
   again plus 3 s: on the swarm four on each of two nodes' nginx, on the single server all eight on it.
   Measured: the deploy's seconds, failed/total requests, the requests per 100 ms (ok and failed, by the
   time each ended) and when each top-level `--> step` of the deploy began (bench/steps.py), in
   seconds since the load started, so a picture can mark the steps on the timeline;
2. **unloaded**: the bytes each node received (its `/sys/class/net/eth0/statistics/rx_bytes`, read with
   `docker exec` before and after the deploy; MB = 10^6 bytes) and the deploy's seconds. Without load,
   because the load's own requests, and on the swarm nginx's traffic to app tasks on other nodes, enter
   the same eth0 (the counters around the loaded deploy are kept too, as `received_mb_under_load`).
`fab swarm.deploy` builds here once and ships the layers a node lacks (as `--build local`); `fab deploy`
builds on the server by default: each as a user runs it. Both checkouts hold the committed HEAD (the
record's `commit`), not the working tree. Only ratios of this run compare: the machine is shared.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

from bench import report
from bench.deploy import DOMAIN, FAB
from bench.shipping import RX_BYTES, ShipRun
from bench.stack import ROOT, BenchError, say
from bench.steps import TimedRun, run_timed

NODES = 3
LOADED_NODES = (0, 1)  # the swarm's load goes to two nodes' nginx, four clients each
CLIENTS = 8
WIDTH = 0.1  # seconds per timeline bucket
_DEPLOYED = re.compile(r"^deployed (\S+) to ", re.MULTILINE)


# --- pure: what the numbers are ---------------------------------------------------------------------
def merged_timeline(loads: list[tuple[float, list[tuple[float, bool]]]], zero: float,
                    width: float = WIDTH) -> dict:
    """Several loads' (started, events) on one clock from ``zero``: {"width_s", "ok": [...], "failed": [...]},
    the requests that ended in each ``width`` seconds (as testbed/load.py's `Result.timeline`)."""
    from testbed.load import Result

    merged = Result(started=zero)
    merged.events = sorted((started - zero + at, failed) for started, events in loads for at, failed in events)
    buckets = merged.timeline(width)
    return {"width_s": width, "ok": [ok for ok, _ in buckets], "failed": [bad for _, bad in buckets]}


def received_mb(before: list[int], after: list[int]) -> list[float]:
    """Per node, the bytes its eth0 received between two readings, in MB (10^6 bytes)."""
    return [round((b - a) / 1e6, 2) for a, b in zip(before, after, strict=True)]


def load_phase(timed: TimedRun, results: list, zero: float, received: list[float]) -> dict:
    """One deploy under load: its seconds, the load's counts and timeline, the deploy's step marks."""
    reasons: Counter = Counter()
    for result in results:
        reasons.update(result.reasons)
    return {
        "seconds": round(timed.seconds, 1),
        "failed": sum(r.failed for r in results),
        "total": sum(r.total for r in results),
        "max_ms": round(max((r.max_latency for r in results), default=0.0) * 1000, 1),
        "reasons": dict(reasons),
        "first_failures": [f for r in results for f in r.first_failures][:5],
        "deploy_started_at": timed.started,  # seconds since the load started
        "steps": timed.marks,
        "timeline": merged_timeline([(r.started, r.events) for r in results], zero),
        "received_mb_under_load": received,
    }


def ratio(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 2) if top is not None and bottom else None


def compare(swarm: dict, single: dict) -> dict:
    """swarm / single of the same run: seconds under load and unloaded, and the MB of the busiest node."""
    return {
        "seconds_under_load": ratio(swarm["under_load"]["seconds"], single["under_load"]["seconds"]),
        "seconds_unloaded": ratio(swarm["unloaded"]["seconds"], single["unloaded"]["seconds"]),
        "max_mb_per_node": ratio(max(swarm["unloaded"]["received_mb"]), max(single["unloaded"]["received_mb"])),
    }


def release_of(output: str) -> str | None:
    """The release a deploy's output says it deployed (`deployed R to ...`)."""
    found = _DEPLOYED.findall(output)
    return found[-1] if found else None


# --- impure: servers, fab, load --------------------------------------------------------------------
class BenchRun(ShipRun):
    """bench.deploy's checkout, laptop and seed, shipping's random one-line change and eth0 counter, on several
    servers: `self.server` is the one fab's -H names (the manager of a swarm), `self.servers` all of them."""

    servers: list

    def __init__(self, tmp: Path):
        """Run's checkout, of the committed HEAD (as the e2e swarm test): never anyone's uncommitted edits."""
        from testbed.worktree import export_commit

        with mock.patch("bench.deploy.copy_tree", lambda dest: export_commit("HEAD", dest)):
            super().__init__(tmp)

    def timed_fab(self, *args: str, server=None, zero: float | None = None) -> TimedRun:
        """`fab -H SERVER ARGS` as Run.fab runs it (a swarm task without -H), read line by line: step marks in seconds
        since ``zero``."""
        server = server or self.server
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "MYSITE_"))}
        env.update(HOME=str(self.laptop), MYSITE_KNOWN_HOSTS=str(self.laptop / ".ssh/known_hosts"))
        # a swarm task takes its nodes from --nodes only (with -H it is refused: Fabric would run it once per host)
        hosts = [] if args and args[0].startswith("swarm.") else ["-H", f"deploy@127.0.0.1:{server.ssh_port}"]
        argv = [FAB, *hosts, "-i", server.key_filename, *args]
        say(f"fab {' '.join(args)}")
        done = run_timed(argv, cwd=self.repo, env=env, zero=zero, timeout=1800)
        if done.returncode != 0:
            why = "timed out" if done.timed_out else f"failed (exit {done.returncode})"
            raise BenchError(f"fab {' '.join(args)} {why}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        return done

    def counters(self) -> list[int]:
        return [int(s.exec(RX_BYTES).stdout) for s in self.servers]

    def post_path_from_index(self) -> None:
        status, body = self.get("/")
        found = re.search(r'href="(/posts/\d+/)"', body)
        if status != 200 or not found:
            raise BenchError(f"the index answered {status} after seeding")
        self.post_path = found.group(1)

    def deploy_under_load(self, deploy_args: tuple[str, ...], loaded: list, threads: int) -> tuple[dict, str]:
        """``threads`` clients on each server of ``loaded`` while `fab DEPLOY_ARGS` runs, until all answer again."""
        from testbed.load import Load

        loads = [Load("127.0.0.1", s.http_port, host=DOMAIN, paths=["/", self.post_path], threads=threads)
                 for s in loaded]
        for load in loads:
            load.start()
        try:
            zero = min(load.result.started for load in loads)
            time.sleep(2)
            before = self.counters()
            timed = self.timed_fab(*deploy_args, zero=zero)
            after = self.counters()
            for server in loaded:
                if not wait_http(server.http_port, timeout=180):
                    raise BenchError(f"{server.name} never answered through nginx on :{server.http_port} again")
            time.sleep(3)
        finally:
            for load in loads:
                load.stop()
        phase = load_phase(timed, [load.result for load in loads], zero, received_mb(before, after))
        phase["clients"] = {s.name: threads for s in loaded}
        return phase, timed.stdout

    def deploy_unloaded(self, deploy_args: tuple[str, ...]) -> tuple[dict, str]:
        before = self.counters()
        timed = self.timed_fab(*deploy_args)
        phase = {"seconds": round(timed.seconds, 1), "received_mb": received_mb(before, self.counters()),
                 "steps": timed.marks}
        return phase, timed.stdout

    def code_only(self, deploy_args: tuple[str, ...], loaded: list, threads: int) -> tuple[dict, list[str]]:
        """Two code-only releases: one under load, one unloaded (its bytes). Returns them and their releases."""
        self.change_template(1)
        under_load, out1 = self.deploy_under_load(deploy_args, loaded, threads)
        self.change_template(2)
        unloaded, out2 = self.deploy_unloaded(deploy_args)
        releases = [r for r in (release_of(out1), release_of(out2)) if r]
        return {"command": "fab " + " ".join(deploy_args), "under_load": under_load, "unloaded": unloaded}, releases


def prepare_swarm(run_: BenchRun, network: str, image: str) -> list[str]:
    """Three servers on ``network``, one swarm, a first release, 100 posts. Returns the releases built here."""
    from testbed import images, servers

    started: dict = {}

    def start(i: int) -> None:
        started[i] = servers.start_server("bookworm", name=f"bench-swarm-{i}-{uuid.uuid4().hex[:6]}", image=image,
                                          network=network)
        run_.servers.append(started[i])  # removed at the end even when another one fails to start

    with ThreadPoolExecutor(NODES) as pool:
        list(pool.map(start, range(NODES)))
        run_.servers[:] = [started[i] for i in range(NODES)]  # the manager first
        run_.server = run_.servers[0]
        list(pool.map(lambda s: run_.timed_fab("bootstrap", "--accept-new-host-key", server=s), run_.servers))
    run_.server.load_images(images.POSTGRES_IMAGE)  # the database node's image (no registry here)
    nodes = ",".join(f"deploy@127.0.0.1:{s.ssh_port}" for s in run_.servers)
    run_.timed_fab("swarm.bootstrap", "--nodes", nodes)
    first = run_.timed_fab("swarm.deploy", "--nodes", nodes)
    run_.timed_fab("swarm.manage", "--nodes", nodes, "seed_demo --posts 100")
    run_.post_path_from_index()
    return [r for r in (release_of(first.stdout),) if r]


def prepare_single(run_: BenchRun, image: str) -> None:
    """One server: bootstrap, the base images into its engine, a first deploy, 100 posts."""
    from testbed import images, servers

    run_.server = servers.start_server("bookworm", name=f"bench-single-{uuid.uuid4().hex[:6]}", image=image)
    run_.servers.append(run_.server)
    run_.timed_fab("bootstrap", "--accept-new-host-key")
    run_.server.load_images(images.PYTHON_IMAGE, images.NGINX_IMAGE)
    run_.timed_fab("deploy")
    run_.seed()


def run() -> dict:
    from bench.stack import ensure_engine_and_bases
    from deploy import envfile
    from testbed import images, servers

    ensure_engine_and_bases()
    images.ensure_image(images.REGISTRY_IMAGE)
    images.ensure_image(images.POSTGRES_IMAGE)
    image = servers.build_server_image("bookworm")
    result: dict = {
        "servers": f"{NODES} + 1 bookworm systemd containers (Docker 20.10); the swarm's on one user-defined network",
        "clients": CLIENTS,
        "checkout": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                   text=True).stdout.strip(),  # the commit both checkouts hold
    }
    built_here: list[str] = []
    network = servers.create_network(f"bench-swarm-{uuid.uuid4().hex[:6]}")
    with tempfile.TemporaryDirectory(prefix="mysite-bench-swarm-") as tmp:
        cluster = BenchRun(Path(tmp) / "swarm")
        env = cluster.repo / ".envs/.production"  # a cluster needs the bundled PostgreSQL
        env.write_text(env.read_text() + envfile.render(envfile.postgres_settings(envfile.new_password())))
        single = BenchRun(Path(tmp) / "single")
        cluster.servers, single.servers = [], []
        try:
            with ThreadPoolExecutor(2) as pool:
                preparing = pool.submit(prepare_swarm, cluster, network, image)
                pool.submit(prepare_single, single, image).result()
                built_here += preparing.result()
            nodes = ",".join(f"deploy@127.0.0.1:{s.ssh_port}" for s in cluster.servers)
            loaded = [cluster.servers[i] for i in LOADED_NODES]
            swarm, releases = cluster.code_only(("swarm.deploy", "--nodes", nodes), loaded, CLIENTS // len(loaded))
            built_here += releases
            swarm.update(command="fab swarm.deploy --nodes A,B,C", nodes=NODES, build="here, new layers shipped")
            result["cluster"] = swarm
            one, _ = single.code_only(("deploy",), [single.server], CLIENTS)
            one.update(nodes=1, build="on the server (fab deploy's default)")
            result["single"] = one
        finally:
            everyone = cluster.servers + single.servers
            if os.environ.get("MYSITE_BENCH_KEEP") == "1":
                say(f"MYSITE_BENCH_KEEP=1: keeping {', '.join(s.name for s in everyone)} and {network}")
            else:
                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(lambda s: s.remove(), everyone))
                servers.remove_network(network)
            for release in built_here:  # the tags swarm.deploy's build made here (its layers stay in the cache)
                subprocess.run(["docker", "rmi", f"mysite-django:{release}", f"mysite-nginx:{release}"],
                               capture_output=True)
    result["ratios"] = compare(result["cluster"], result["single"])
    result["notes"] = [
        "seconds: the whole fab command as a user waits for it; the swarm builds here once and ships the new "
        "layers to every node, the single server builds on itself (fab deploy's default)",
        "MB received: each node's eth0 rx counter around the unloaded code-only deploy (release files, SSH, "
        "layers, the swarm's own traffic); received_mb_under_load, around the loaded one, also counts the load's "
        "requests and, on the swarm, nginx's traffic to app tasks on other nodes",
        "timeline: requests per 100 ms by the time each ended, from the start of the load; steps: when each "
        "top-level step of the deploy began, in seconds on the same clock",
    ]
    return result


def wait_http(port: int, timeout: float = 60) -> bool:
    """Whether 127.0.0.1:``port`` answered /healthz 200 as the benchmark's domain within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": DOMAIN})
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return True
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> None:
    report.standalone("swarm", run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
