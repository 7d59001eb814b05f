"""production.yml on this machine under the compose project `mysite-bench`, for the benchmarks.

Names we own on the shared engine: the project `mysite-bench` (containers, volumes, network) and the
images `mysite-django:bench` / `mysite-nginx:bench`. The env file is generated in a temp dir (never
the real .envs/.production) and handed to compose through MYSITE_ENV_FILE. nginx is published on
127.0.0.1 only, on a free port in 18900-18999. With ``postgres=True`` the stack also runs production.yml's
`postgres` service (its POSTGRES_* values in an env file of their own, MYSITE_POSTGRES_ENV_FILE, with a
fresh password; never published), and ``use_database`` moves the app between SQLite and it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy.commands import compose
from deploy.envfile import new_password, new_secret_key, postgres_settings
from testbed import stack, worktree

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mysite-bench"
TAG = "bench"
DOMAIN = "bench.mysite.test"
PORT_RANGE = (18900, 18999)
IMAGES = (f"mysite-django:{TAG}", f"mysite-nginx:{TAG}")
DATABASES = ("sqlite", "postgres")
# One stack of project mysite-bench at a time on this engine: a second run's `down` would remove the first's.
PROJECT_LOCK = Path(tempfile.gettempdir()) / "mysite-bench.lock"
LIMITS = ROOT / "bench/limits.yml"  # a small server's resources, merged over production.yml (``limits=True``)


class BenchError(RuntimeError):
    """The benchmark could not run: the message says why."""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port(exclude: tuple[int, ...] = ()) -> int:
    """A port in 18900-18999 that nothing on 127.0.0.1 listens on (e2e servers use the range too)."""
    return worktree.free_port(exclude, within=PORT_RANGE)


copy_tree = worktree.copy_worktree  # the checkout's tracked and untracked-but-not-ignored files
export_ref = worktree.export_commit  # the files of a commit, e.g. to measure the code before a tuning step


def cgroup_cpu_seconds(container_id: str) -> float | None:
    """Robust to a noisy machine: CPU seconds a container used, from its cgroup (v1 cpuacct or v2)."""
    root = Path("/sys/fs/cgroup")
    v1 = root / "cpuacct/docker" / container_id / "cpuacct.usage"
    if v1.exists():
        return int(v1.read_text()) / 1e9
    for v2 in (
        root / "system.slice" / f"docker-{container_id}.scope/cpu.stat",
        root / "docker" / container_id / "cpu.stat",
    ):
        if v2.exists():
            for line in v2.read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
    return None


def parse_memory_stat(text: str) -> dict[str, int]:
    """A cgroup's memory.stat ("name value" lines) as a dict."""
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[name] = int(value)
    return out


def memory_mb(usage_bytes: int, stat: dict[str, int]) -> dict[str, float]:
    """A container's memory in MB (2**20 bytes): ``usage`` as its cgroup counts it (page cache included),
    ``inactive_file`` (cache the kernel reclaims first) and ``mb`` = usage - inactive_file, what `docker stats`
    shows (v1: total_inactive_file, v2: inactive_file)."""
    inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
    mib = 2**20
    return {"mb": round(max(usage_bytes - inactive, 0) / mib, 1), "usage_mb": round(usage_bytes / mib, 1),
            "inactive_file_mb": round(inactive / mib, 1)}


def memory_limit_mb(text: str | None) -> float | None:
    """A cgroup's memory limit in MB (v2 memory.max, v1 memory.limit_in_bytes), None when there is none."""
    if text is None or text.strip() == "max" or int(text) >= 2**60:
        return None
    return round(int(text) / 2**20, 1)


def cgroup_memory(container_id: str) -> dict | None:
    """A container's memory now, from its cgroup (v1 or v2), with its limit; None when unreadable."""
    root = Path("/sys/fs/cgroup")
    v1 = root / "memory/docker" / container_id
    for folder, usage, limit in (
        (v1, "memory.usage_in_bytes", "memory.limit_in_bytes"),
        (root / "system.slice" / f"docker-{container_id}.scope", "memory.current", "memory.max"),
        (root / "docker" / container_id, "memory.current", "memory.max"),
    ):
        if (folder / usage).exists():
            try:
                used = int((folder / usage).read_text())
                stat = parse_memory_stat((folder / "memory.stat").read_text())
                cap = (folder / limit).read_text()
            except (OSError, ValueError):
                return None
            return {**memory_mb(used, stat), "limit_mb": memory_limit_mb(cap)}
    return None


def hold_project_lock(path: Path = PROJECT_LOCK, timeout: float = 3600, poll: float = 2) -> int:
    """An exclusive lock on ``path`` (a file descriptor, released by closing it or by the process's end): two
    benchmarks started at once take turns with the one compose project instead of removing each other's."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise BenchError(f"another benchmark held {PROJECT} for {timeout:g}s ({path}): try again when it "
                                 f"ends") from None
            if not waiting:
                say(f"another benchmark runs the compose project {PROJECT}: waiting for it ({path})")
                waiting = True
            time.sleep(poll)


def ensure_engine_and_bases() -> None:
    """A Docker engine and the base images (stand-ins when no registry): the e2e harness's job."""
    from testbed import engine, images

    try:
        engine.ensure_engine()
        images.ensure_base_images()
    except (engine.EngineUnavailable, RuntimeError) as exc:
        raise BenchError(str(exc)) from exc


def image_size_mb(tag: str) -> float:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"no image {tag}")
    return round(int(done.stdout.strip()) / 1e6, 1)


class Stack(stack.Stack):
    """production.yml as project mysite-bench, on free ports, with an env file of its own."""

    failure = BenchError
    timeout = 1200.0

    def __init__(self, extra_env: dict[str, str] | None = None, ref: str = "", postgres: bool = False,
                 limits: bool = False):
        """``extra_env``: lines added to the env file (WEB_CONCURRENCY...); ``ref``: a git commit to build
        instead of the working tree (before/after comparisons); ``postgres``: run the postgres service too
        (the app starts on SQLite; ``use_database("postgres")`` puts it on PostgreSQL); ``limits``: merge
        bench/limits.yml (the app on 1 CPU, the stack in 600 MB), a small server's resources."""
        self.lock = hold_project_lock()  # released by cleanup() (or when the process ends)
        self.extra_env = extra_env or {}
        self.secret_key = new_secret_key()  # one key for the stack's life: rewriting the env file keeps it
        # POSTGRES_USER/PASSWORD/DB and the DATABASE_URL that names the bundled service (deploy/envfile.py)
        self.postgres = postgres_settings(new_password()) if postgres else {}
        self.database = "sqlite"
        self.tmp = Path(tempfile.mkdtemp(prefix="mysite-bench-"))
        # A private copy of the working tree: other engineers' edits mid-run don't change what we build,
        # and the code-only rebuild can edit a template without touching the shared checkout.
        src = export_ref(ref, self.tmp / "src") if ref else copy_tree(self.tmp / "src")
        port = free_port()
        self.https_port = free_port(exclude=(port,))
        self.env_file = self.tmp / "production.env"
        self.postgres_env_file = self.tmp / "postgres.env"
        env = compose.environment(env_file=str(self.env_file), http_addr="127.0.0.1", http_port=port,
                                  https_port=self.https_port, tag=TAG,
                                  postgres_env_file=str(self.postgres_env_file) if postgres else None)
        if postgres:  # production.yml's postgres service is in its profile: every command here may name it
            env["COMPOSE_PROFILES"] = compose.POSTGRES_PROFILE
        files = ("production.yml", str(LIMITS)) if limits else "production.yml"
        super().__init__(stack.compose_kind(), src, files, PROJECT, port=port, env=env)
        self.write_env_file()

    def write_env_file(self) -> None:
        """The app's env file (on PostgreSQL: with the four lines `inv production.env --postgres` writes),
        and PostgreSQL's own (its POSTGRES_* values only, as a deploy writes it)."""
        lines = [f"DJANGO_SECRET_KEY={self.secret_key}", f"DJANGO_ALLOWED_HOSTS={DOMAIN}"]
        if self.database == "postgres":
            lines += [f"{k}={v}" for k, v in self.postgres.items()]
        lines += [f"{k}={v}" for k, v in self.extra_env.items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o600)
        if self.postgres:
            own = [f"{k}={v}" for k, v in self.postgres.items() if k.startswith("POSTGRES_")]
            self.postgres_env_file.write_text("\n".join(own) + "\n")
            self.postgres_env_file.chmod(0o600)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def finish(self, keep: bool) -> None:
        """Down and cleaned up, or with --keep left up (and said so)."""
        if keep:
            say(f"--keep: leaving {self.url} up; remove it with: python -m bench.stack down")
        else:
            self.down()
            self.cleanup()

    def build(self, no_cache: bool = False) -> float:
        return self.timed("build", *(["--no-cache"] if no_cache else []))[0]

    def up(self) -> None:
        """`up mysite nginx` (and `postgres`, named, when the stack has it), until /healthz answers."""
        if self.database == "postgres":  # the app migrates as it starts: its database first
            self.compose("up", "--detach", "--no-build", "postgres")
            self.wait_postgres()
        services = (*compose.APP_SERVICES, "postgres") if self.postgres else compose.APP_SERVICES
        self.compose("up", "--detach", "--no-build", *services)
        if self.postgres:
            self.wait_postgres()
        self.wait_ready()

    def use_database(self, database: str) -> None:
        """Put the app on "sqlite" (the `database` volume) or "postgres" (the service): its env file rewritten
        and its container recreated, so it starts as a fresh one would (migrate, then gunicorn); nginx and
        both databases stay up, and nginx finds the new container by name."""
        if database not in DATABASES or (database == "postgres" and not self.postgres):
            raise BenchError(f"no database {database!r} in this stack (it has: {', '.join(self.databases)})")
        self.database = database
        self.write_env_file()
        self.compose("up", "--detach", "--no-deps", "--force-recreate", "--no-build", "mysite")
        self.wait_ready()

    @property
    def databases(self) -> tuple[str, ...]:
        return DATABASES if self.postgres else DATABASES[:1]

    def postgres_url(self, name: str = "") -> str:
        """The DATABASE_URL of the bundled service's database ``name`` (default: the app's)."""
        url = self.postgres["DATABASE_URL"]
        return url.rsplit("/", 1)[0] + "/" + name if name else url

    def wait_postgres(self, timeout: float = 120) -> None:
        """Until a password login over the network works: during its first start the stand-in's setup server
        answers pg_isready on the socket before the real one listens (docs/TESTING.md)."""
        login = ('PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" '
                 '-tAc "SELECT 1"')
        deadline = time.monotonic() + timeout
        done = None
        while time.monotonic() < deadline:
            done = self.compose("exec", "-T", "postgres", "sh", "-c", login, check=False)
            if done.returncode == 0 and done.stdout.strip() == "1":
                return
            time.sleep(1)
        logs = self.compose("logs", "--tail=30", "postgres", check=False).stdout
        last = "" if done is None else (done.stdout + done.stderr).strip()[-300:]
        raise BenchError(f"PostgreSQL never accepted a login within {timeout:g}s ({last}):\n{logs[-3000:]}")

    def psql(self, sql: str) -> str:
        """One SQL command as the service's superuser (POSTGRES_USER), over the container's own socket."""
        script = 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -tAc "$0"'
        return self.compose("exec", "-T", "postgres", "sh", "-c", script, sql).stdout

    def get(self, path: str, timeout: float = 10) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers={"Host": DOMAIN})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = self.get("/healthz", timeout=5)
                if last[0] == 200:
                    return
            except OSError as exc:
                last = exc
            time.sleep(0.5)
        logs = self.compose("logs", "--tail=40", "mysite", check=False).stdout
        raise BenchError(f"{self.url}/healthz never answered 200 ({last}):\n{logs[-3000:]}")

    def manage(self, *args: str) -> str:
        return self.compose("exec", "-T", "mysite", "python", "manage.py", *args).stdout

    def gunicorn_settings(self) -> dict:
        """workers/threads as the running container computes them (env file + gunicorn.conf.py), and why."""
        code = (
            "import json, runpy; ns = runpy.run_path('/app/compose/production/django/gunicorn.conf.py'); "
            "out = {k: ns.get(k) for k in ('workers', 'threads', 'worker_class', 'keepalive')}; "
            "out['sizing'] = getattr(ns.get('sizing'), 'reason', None); print(json.dumps(out))"
        )
        out = self.compose("exec", "-T", "mysite", "python", "-c", code).stdout
        return json.loads(out.strip().splitlines()[-1])

    def cpu_seconds(self, service: str) -> float | None:
        """CPU time the service's container has used so far (cgroup v1 or v2), None when unreadable."""
        return cgroup_cpu_seconds(self.container(service))

    def memory(self, services: tuple[str, ...] = ("mysite", "nginx")) -> dict:
        """Each service's memory now (``cgroup_memory``; None when unreadable) and ``total_mb``, their sum."""
        out: dict = {service: cgroup_memory(self.container(service)) for service in services}
        readable = [m["mb"] for m in out.values() if m]
        out["total_mb"] = round(sum(readable), 1) if len(readable) == len(services) else None
        return out

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def remove_images(self) -> None:
        subprocess.run(["docker", "rmi", "--force", *IMAGES], capture_output=True)


def down_project() -> None:
    """Remove whatever a killed or --keep run left behind (project mysite-bench only)."""
    env = {**os.environ, **compose.environment(env_file=".envs/.production.example", http_addr="127.0.0.1",
                                               http_port=80, https_port=443, tag=TAG)}
    argv = stack.compose_argv(stack.compose_kind(), "production.yml", *shlex.split(compose.EVERY_PROFILE), "down",
                              "--volumes", "--remove-orphans", project=PROJECT)
    subprocess.run(argv, cwd=ROOT, env=env)


if __name__ == "__main__":
    if sys.argv[1:] != ["down"]:
        sys.exit("usage: python -m bench.stack down")
    down_project()
