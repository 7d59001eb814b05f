"""Deploy benchmark: `fab bootstrap` + `fab deploy` on a fresh systemd server (the e2e harness), step by
step, and downtime during our deploy and during the article's method on the same server.

    python -m bench.deploy [--quick] [--save]

Phases:
- cold: `fab bootstrap`, then the first `fab deploy` (the server builds everything with no cache);
- warm: a one-line template change, committed, `fab deploy` (no load: the step timings);
- ours: another one-line change deployed while 8 keep-alive clients (testbed/load.py: no
  retries, every non-2xx/3xx and connection error counted) load nginx;
- rollback: right after it, on the same server and under the same load, `fab rollback` to the release
  just replaced, whose container the deploy kept warm (keep_warm); the warm container's memory
  (`docker stats`, once it is healthy) is what the window costs; rollback/deploy is the ratio to "ours";
- article: the same server, the app switched to a plain compose-managed container, then a one-line
  change shipped the article's way (`docker-compose -f production.yml up -d --build`, which recreates
  the app container) under the same load.
The base images are copied into the server's engine between bootstrap and the first deploy (there is
no registry here); that copy is timed and reported apart, it is not the toolkit's work.
`--quick`: cold and one warm deploy under load (no separate unloaded warm deploy, no article run).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench import report
from bench.stack import ROOT, BenchError, copy_tree, say
from bench.steps import STEP_END, STEP_START, run_timed
from deploy.commands import compose
from deploy.config import DeployConfig
from deploy.envfile import new_secret_key
from deploy.names import Names

DOMAIN = "bench.mysite.test"
BLOG = Names.of(DeployConfig(), "/home/deploy")  # the blog, deployed with fabric.yaml's settings
APP = BLOG.root
OURS = f"--filter label={BLOG.label('project')}={BLOG.project}"  # our app containers (deploy.commands.docker)
FAB = str(ROOT / ".venv" / "bin" / "fab")
TEMPLATE = "blog/templates/blog/detail.html"
# Steps that switch traffic (deploy/switch.py); "build images ..." is the build. Everything else the
# toolkit does (preflight, lock, ship, backup, migrate, record, prune, SSH) is its overhead.
SWITCH_PREFIXES = (
    "ensure nginx is up",
    "start ",
    "health-check ",
    "route traffic ",
    "verify through nginx",
    "stop the old",
    "keep ",  # the replaced container up again out of traffic (keep_warm)
)
BUILD_PREFIX = "build images"
ARTICLE_SERVICES = f"{BLOG.alias} nginx"  # the article's stack: the app and nginx (compose/production/{django,nginx})



def parse_steps(output: str) -> list[dict]:
    """`--> title` ... `  ok title (1.2s)` lines -> [{title, seconds, depth, ok}] in start order."""
    steps: list[dict] = []
    open_: list[dict] = []
    for line in output.splitlines():
        if m := STEP_START.match(line):
            step = {"title": m["title"], "seconds": None, "depth": len(open_), "ok": None}
            steps.append(step)
            open_.append(step)
        elif (m := STEP_END.match(line)) and open_:
            # the innermost open step with this title (titles end the way they started)
            for i in range(len(open_) - 1, -1, -1):
                if open_[i]["title"] == m["title"]:
                    step = open_.pop(i)
                    del open_[i:]
                    step["seconds"] = float(m["s"] or m["f"])
                    step["ok"] = m["ok"] == "ok"
                    break
    return steps


def summarize(steps: list[dict], total: float) -> dict:
    """build, switch and the toolkit's overhead (total - build - switch) from the top-level steps."""
    top = [s for s in steps if s["depth"] == 0 and s["seconds"] is not None]
    build = sum(s["seconds"] for s in top if s["title"].startswith(BUILD_PREFIX))
    switch = sum(s["seconds"] for s in top if s["title"].startswith(SWITCH_PREFIXES))
    return {
        "steps": [{"title": s["title"], "seconds": s["seconds"]} for s in top],
        "build_s": round(build, 1),
        "switch_s": round(switch, 1),
        "total_s": round(total, 1),
        "overhead_s": round(total - build - switch, 1),
    }


def timeline_record(result, marks: list[dict], width: float = 0.1) -> dict:
    """A load's requests per ``width`` seconds and the step marks of what ran meanwhile, as the record keeps them
    (and bench/pictures.py draws them): {"timeline": {"width_s", "ok", "failed"}, "steps": [...]}."""
    buckets = result.timeline(width)
    return {
        "timeline": {"width_s": width, "ok": [ok for ok, _ in buckets], "failed": [bad for _, bad in buckets]},
        "steps": list(marks or []),
    }


def switch_record(result, marks: list[dict]) -> dict:
    """The stall and the latency a switch adds, from a load's requests and the steps' marks (seconds since the start).

    ``longest_stall_s``: the longest run of 100 ms slots with no completed request while the load ran (its first and
    last half second left out). ``steady_p99_ms``: p99 of the requests that ended before the route step;
    ``switch_max_ms``: the slowest request that ended from the route step to 1 s after the old container's stop.
    """
    ends = [at for at, _ in result.events]
    record = {"longest_stall_s": result.longest_stall(0.5, max(ends) - 0.5) if ends else None}
    route = next((m for m in marks if m["title"].startswith("route traffic to ")), None)
    stop = next((m for m in marks if m["title"].startswith("stop the old container")), None)
    if route and stop:
        steady = result.latency_quantile(0.99, 0.5, route["at"])
        during = result.latency_quantile(1.0, route["at"], stop["at"] + (stop["seconds"] or 0) + 1.0)
        record.update(steady_p99_ms=round(steady * 1000, 1), switch_max_ms=round(during * 1000, 1),
                      switch_vs_p99=round(during / steady, 2) if steady else None)
    return record


class Run:
    """One benchmark run: a checkout, a laptop home, a fresh server."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.repo = copy_tree(tmp / "checkout" / "mysite")
        self.git("init", "-q")
        self.git("config", "user.email", "bench@example.com")
        self.git("config", "user.name", "bench")
        self.git("add", "-A")
        self.git("commit", "-qm", "the working tree under benchmark")
        (self.repo / ".envs").mkdir(exist_ok=True)
        (self.repo / ".envs/.production").write_text(
            f"DJANGO_SECRET_KEY={new_secret_key()}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\n"
        )
        self.laptop = tmp / "laptop"
        (self.laptop / ".ssh").mkdir(parents=True, mode=0o700)
        (self.laptop / ".ssh/known_hosts").write_text("")
        self.server = None

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.repo, check=True, capture_output=True, text=True).stdout

    def change_template(self, n: int) -> None:
        path = self.repo / TEMPLATE
        path.write_text(path.read_text() + f"{{# bench: one-line change {n} #}}\n")
        self.git("commit", "-qam", f"bench: one-line template change {n}")

    def fab_command(self, *args: str) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "MYSITE_"))}
        env.update(HOME=str(self.laptop), MYSITE_KNOWN_HOSTS=str(self.laptop / ".ssh/known_hosts"))
        argv = [FAB, "-H", f"deploy@127.0.0.1:{self.server.ssh_port}", "-i", self.server.key_filename, *args]
        say(f"fab {' '.join(args)}")
        return argv, env

    def fab(self, *args: str) -> tuple[float, str]:
        argv, env = self.fab_command(*args)
        started = time.monotonic()
        done = subprocess.run(argv, cwd=self.repo, env=env, capture_output=True, text=True, timeout=1800)
        took = time.monotonic() - started
        if done.returncode != 0:
            raise BenchError(
                f"fab {' '.join(args)} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
            )
        return took, done.stdout

    def deploy_phase(self, *args: str) -> dict:
        took, out = self.fab(*args)
        return summarize(parse_steps(out), took)

    def deploy_phase_timed(self, *args: str, zero: float) -> tuple[dict, list[dict]]:
        """`deploy_phase`, with fab read as it prints: also its top-level steps' marks, in seconds since ``zero``."""
        argv, env = self.fab_command(*args)
        done = run_timed(argv, cwd=self.repo, env=env, zero=zero, timeout=1800)
        if done.returncode != 0:
            why = "timed out after 1800s" if done.timed_out else f"exit {done.returncode}"
            raise BenchError(f"fab {' '.join(args)} failed ({why}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        return summarize(parse_steps(done.stdout), done.seconds), done.marks

    def get(self, path: str) -> tuple[int, str]:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.server.http_port}{path}", headers={"Host": DOMAIN})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    def wait_serving(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise BenchError(f"the site never answered through nginx on :{self.server.http_port}")

    def under_load(self, action) -> dict:
        """8 keep-alive clients on the index and a post while `action(zero)` runs, until the site is back.

        ``zero`` is the load's start (time.monotonic()); `action` returns its step marks in seconds since then
        (bench/steps.py), kept with the load's timeline for the picture (bench/pictures.py)."""
        from testbed.load import Load

        paths = ["/", self.post_path]
        started = time.monotonic()
        with Load("127.0.0.1", self.server.http_port, host=DOMAIN, paths=paths, threads=8) as load:
            time.sleep(2)
            marks = action(load.result.started)
            self.wait_serving()
            time.sleep(3)
        result = load.result
        return {
            **timeline_record(result, marks),
            **switch_record(result, marks or []),
            "failed": result.failed,
            "total": result.total,
            "max_ms": round(result.max_latency * 1000, 1),
            "seconds": round(time.monotonic() - started, 1),
            "reasons": dict(result.reasons),
            "first_failures": result.first_failures[:5],
        }

    def rollback(self, deploy_s: float) -> dict:
        """`fab rollback` under load to the container the last deploy kept warm, and that container's memory."""
        memory = {role: self.memory_mb(name) for role, name in self.roles().items()}
        took: dict = {}

        def back(zero: float) -> list[dict]:
            summary, marks = self.deploy_phase_timed("rollback", zero=zero)
            took.update(seconds=summary["total_s"], steps=summary["steps"],
                        used_warm=any(s["title"].startswith("claim ") for s in summary["steps"]))
            return marks

        load = self.under_load(back)
        return {**took, "deploy_s": deploy_s, "ratio": round(took["seconds"] / deploy_s, 2),
                "failed": load["failed"], "total": load["total"], "max_ms": load["max_ms"],
                "longest_stall_s": load.get("longest_stall_s"), "switch_vs_p99": load.get("switch_vs_p99"),
                "warm_memory_mb": memory.get("warm"), "serving_memory_mb": memory.get("serving"), "load": load}

    def roles(self) -> dict[str, str]:
        """'warm' and 'serving' app containers (a warm one has no restart policy), once the warm one is healthy."""
        deadline = time.monotonic() + 120
        while True:
            out = self.server.exec(f"docker ps -q {OURS} | xargs -r docker inspect -f "
                                   "'{{.Name}} {{.HostConfig.RestartPolicy.Name}} {{.State.Health.Status}}'").stdout
            rows = [line.split() for line in out.splitlines() if line.strip()]
            found = {("warm" if policy == "no" else "serving"): (name.lstrip("/"), health)
                     for name, policy, health in rows}
            if "warm" not in found or found["warm"][1] == "healthy" or time.monotonic() > deadline:
                return {role: name for role, (name, _) in found.items()}
            time.sleep(2)

    def memory_mb(self, name: str) -> float:
        """The container's memory as `docker stats` reports it (its cgroup's usage without the page cache)."""
        usage = self.server.exec(f"docker stats --no-stream --format '{{{{.MemUsage}}}}' {name}").stdout
        number, unit = re.match(r"\s*([\d.]+)\s*([KMG]i?B)", usage).groups()
        return round(float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 0.001, "MB": 1, "GB": 1000}
                     .get(unit, 1), 1)

    def app_container(self) -> str:
        out = self.server.exec(f"docker ps {OURS} --format '{{{{.Names}}}}'").stdout
        return out.split()[0]

    def article_method(self) -> dict:
        """Hand the app to plain compose (as the article runs it), then ship a change its way under load."""
        release = self.server.exec(f"readlink -f {APP}/current").stdout.strip()
        kind = compose.parse_kind(self.server.exec(compose.detect(), check=False).stdout)
        env = {**BLOG.compose_env("article"), **compose.BUILD_ENV}
        up = (f"cd {release} && {compose.assignments(env)} "
              f"{compose.command(kind, [BLOG.config.compose_file], project=BLOG.project)}")
        # our containers out, the article's in (same volumes, same network, same nginx published on :80)
        ours = self.server.exec(f"docker ps -q {OURS}").stdout.split()
        self.server.exec(f"{up} build", timeout=1200)
        nginx = self.server.exec("docker ps -q --filter label=com.docker.compose.service=nginx").stdout.split()
        self.server.exec(f"docker stop {' '.join(ours + nginx)} && docker rm {' '.join(ours + nginx)}")
        # the article's two services: production.yml's postgres (started by name only, when a site uses it) and
        # certbot (started by `fab https`) are no part of its method, and postgres:17 cannot be pulled here
        self.server.exec(f"{up} up -d {ARTICLE_SERVICES}", timeout=600)
        self.wait_serving()
        template = f"{release}/{TEMPLATE}"
        self.server.exec(f"echo '{{# bench: the article way #}}' >> {template}")
        command = compose.command(kind, ["production.yml"], "up", "-d", "--build", ARTICLE_SERVICES)

        def article(zero: float) -> list[dict]:
            begun = time.monotonic()
            self.server.exec(f"{up} up -d --build {ARTICLE_SERVICES}", timeout=1200)
            took = time.monotonic() - begun
            return [{"title": command, "label": "up -d --build", "at": round(begun - zero, 2),
                     "seconds": round(took, 1)}]

        result = self.under_load(article)
        result["command"] = command
        return result

    def seed(self) -> None:
        self.server.exec(f"docker exec {self.app_container()} python manage.py seed_demo --posts 100")
        status, body = self.get("/")
        found = re.search(r'href="(/posts/\d+/)"', body)
        if status != 200 or not found:
            raise BenchError(f"the index answered {status} after seeding")
        self.post_path = found.group(1)

    def images(self, phases: dict) -> dict:
        release = self.server.exec(f"basename $(readlink -f {APP}/current)").stdout.strip()
        sizes = {}
        for repo in (BLOG.app_repository, BLOG.nginx_repository):
            out = self.server.exec(f"docker image inspect --format '{{{{.Size}}}}' {repo}:{release}", check=False)
            if out.returncode == 0:
                sizes[f"{repo}:<release>"] = round(int(out.stdout.strip()) / 1e6, 1)
        return {
            "sizes_mb": sizes,
            "cold_build_s": phases["cold"]["build_s"],
            "code_only_rebuild_s": phases["warm"]["build_s"],
        }


def run(quick: bool = False) -> dict:
    from bench.stack import ensure_engine_and_bases
    from testbed import images, servers

    ensure_engine_and_bases()
    image = servers.build_server_image("bookworm")
    result: dict = {"server": "bookworm (systemd container, Docker 20.10, Compose v1)", "phases": {}, "downtime": {}}
    with tempfile.TemporaryDirectory(prefix="mysite-bench-deploy-") as tmp:
        run_ = Run(Path(tmp))
        run_.server = servers.start_server("bookworm", name=f"bench-{uuid.uuid4().hex[:8]}", image=image)
        try:
            bootstrap = run_.deploy_phase("bootstrap", "--accept-new-host-key")
            started = time.monotonic()
            run_.server.load_images(images.PYTHON_IMAGE, images.NGINX_IMAGE)
            result["base_images_copy_s"] = round(time.monotonic() - started, 1)
            first = run_.deploy_phase("deploy")
            result["phases"]["cold"] = {
                "steps": [
                    {"title": "fab bootstrap: " + s["title"], "seconds": s["seconds"]} for s in bootstrap["steps"]
                ]
                + first["steps"],
                "bootstrap_s": bootstrap["total_s"],
                "first_deploy_s": first["total_s"],
                "build_s": first["build_s"],
                "switch_s": first["switch_s"],
                "total_s": round(bootstrap["total_s"] + first["total_s"], 1),
                "overhead_s": round(bootstrap["total_s"] + first["overhead_s"], 1),
            }
            run_.seed()
            if not quick:
                run_.change_template(1)
                result["phases"]["warm"] = run_.deploy_phase("deploy")
            run_.change_template(2)
            phase: dict = {}

            def ours(zero: float) -> list[dict]:
                summary, marks = run_.deploy_phase_timed("deploy", zero=zero)
                phase.update(summary)
                return marks

            result["downtime"]["ours (fab deploy)"] = run_.under_load(ours)
            result["rollback"] = run_.rollback(phase["total_s"])
            result["downtime"]["ours (fab rollback, warm)"] = result["rollback"].pop("load")
            if quick:
                result["phases"]["warm under load"] = phase
            else:
                result["phases"]["warm under load"] = phase
                result["downtime"]["article (up -d --build)"] = run_.article_method()
            warm = result["phases"].get("warm") or phase
            result["images"] = run_.images({"cold": result["phases"]["cold"], "warm": warm})
        finally:
            if os.environ.get("MYSITE_BENCH_KEEP") == "1":
                say(f"MYSITE_BENCH_KEEP=1: keeping {run_.server.name}")
            else:
                run_.server.remove()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="cold + one warm deploy under load, no article run")
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>-deploy.json")
    args = parser.parse_args(argv)
    payload = report.envelope({"deploy": run(quick=args.quick)}, quick=args.quick)
    print(report.render(payload))
    if args.save:
        from bench import pictures

        path = report.write(payload, suffix="deploy")
        print(f"wrote {path}")
        for picture in pictures.draw_and_publish(path, payload):
            print(f"wrote {picture}")


if __name__ == "__main__":
    main()
