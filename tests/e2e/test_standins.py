"""The registry:2 and postgres:17 stand-ins (testbed/images.py) do what the upstream images do.

One test per stand-in, each with its own containers, network and volumes (named
`mysite-e2e-standins-*`, removed at the end) on the shared engine. The stand-in images themselves
are shared caches and stay.
"""

from __future__ import annotations

import io
import secrets
import subprocess
import tarfile
import time

import pytest

from testbed import images
from tests.e2e.conftest import docker, e2e_unavailable, free_port, http_get, measure

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def ensure_standin(tag: str) -> str:
    start = time.monotonic()
    try:
        images.ensure_image(tag)
    except RuntimeError as exc:
        e2e_unavailable(f"{tag} unavailable: {exc}")
    kind = "STAND-IN (debootstrap)" if images.is_standin(tag) else "upstream image"
    size = int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout) / 1e6
    measure(f"{tag}: {kind}, {size:.0f} MB, ready in {time.monotonic() - start:.0f}s")
    return tag


def name(kind: str) -> str:
    return f"mysite-e2e-standins-{kind}-{secrets.token_hex(4)}"


def remove(containers: tuple[str, ...], networks: tuple[str, ...] = (), volumes: tuple[str, ...] = ()) -> None:
    """Everything this test made; -v also drops the anonymous volumes that VOLUME gives a container."""
    for container in containers:
        docker("rm", "--force", "--volumes", container, check=False)
    for network in networks:
        docker("network", "rm", network, check=False)
    for volume in volumes:
        docker("volume", "rm", volume, check=False)


def wait_for(what: str, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as error:  # connection refused/reset while the server starts
            last = error
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {last})")


def tiny_image(ref: str) -> str:
    """A one-file image imported as `ref`; returns its ID."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        payload = f"standin probe {secrets.token_hex(8)}\n".encode()
        info = tarfile.TarInfo("probe.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    done = subprocess.run(["docker", "import", "-", ref], input=data.getvalue(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return image_id(ref)


def image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def run_registry(container: str, port: int, volume: str) -> None:
    """As upstream documents it: no command, no config, only a port and a volume."""
    docker("run", "-d", "--name", container, "-p", f"127.0.0.1:{port}:5000", "-v", f"{volume}:/var/lib/registry",
           images.REGISTRY_IMAGE)  # fmt: skip
    wait_for("the registry answers /v2/", lambda: http_get(port, "/v2/").status == 200)


def test_registry_push_pull_round_trip_survives_a_new_container(docker_engine):
    ensure_standin(images.REGISTRY_IMAGE)
    container, volume = name("registry"), name("registry-data")
    port = free_port()
    ref = f"127.0.0.1:{port}/mysite-e2e/standin-probe:e2e-{secrets.token_hex(4)}"
    start = time.monotonic()
    try:
        docker("volume", "create", volume)
        run_registry(container, port, volume)

        config = docker("image", "inspect", "--format", "{{json .Config.ExposedPorts}} {{json .Config.Volumes}}",
                        images.REGISTRY_IMAGE).stdout  # fmt: skip
        assert '"5000/tcp"' in config and '"/var/lib/registry"' in config
        api = http_get(port, "/v2/")  # 200, not 401: no auth, as upstream's default config
        assert api.status == 200 and api.headers["docker-distribution-api-version"] == "registry/2.0"
        assert api.headers["x-content-type-options"] == "nosniff"
        # upstream's binary name works for `docker exec` too
        assert "2.8" in docker("exec", container, "registry", "--version").stdout

        pushed = tiny_image(ref)
        docker("push", ref)
        assert '"mysite-e2e/standin-probe"' in http_get(port, "/v2/_catalog").body

        # a new container on the same volume: the image is still there
        docker("rm", "--force", "--volumes", container)
        run_registry(container, port, volume)
        docker("rmi", ref)
        assert docker("image", "inspect", ref, check=False).returncode != 0
        docker("pull", ref)
        assert image_id(ref) == pushed
        measure(f"registry:2 push/pull round trip with a new container: {time.monotonic() - start:.1f}s")
    finally:
        docker("rmi", "--force", ref, check=False)
        remove((container,), volumes=(volume,))


class Postgres:
    """A postgres:17 server and a client container (the same image) on a network of their own."""

    def __init__(self) -> None:
        self.server, self.client, self.other = name("postgres"), name("psql"), name("nopw")
        self.network, self.volume = name("net"), name("pgdata")
        self.user, self.db, self.password = "blog", "blogdb", secrets.token_urlsafe(12)

    def start(self) -> None:
        docker("network", "create", self.network)
        docker("volume", "create", self.volume)
        docker("run", "-d", "--name", self.server, "--network", self.network,
               "-e", f"POSTGRES_PASSWORD={self.password}", "-e", f"POSTGRES_USER={self.user}",
               "-e", f"POSTGRES_DB={self.db}", "-v", f"{self.volume}:/var/lib/postgresql/data",
               images.POSTGRES_IMAGE)  # fmt: skip
        docker("run", "-d", "--name", self.client, "--network", self.network, "--entrypoint", "sleep",
               images.POSTGRES_IMAGE, "infinity")  # fmt: skip

    def psql(self, sql: str, password: str | None = None) -> subprocess.CompletedProcess:
        """psql from the client container over the network, with a password (never trust)."""
        return docker("exec", "-e", f"PGPASSWORD={password or self.password}", self.client,
                      "psql", "-h", self.server, "-U", self.user, "-d", self.db, "-v", "ON_ERROR_STOP=1",
                      "-tA", "-c", sql, check=False)  # fmt: skip

    def wait_ready(self) -> None:
        # over the network: the first start's setup server listens on its socket only
        wait_for("a password login from another container", lambda: self.psql("SELECT 1").returncode == 0)

    def logs(self) -> str:
        done = docker("logs", self.server)
        return done.stdout + done.stderr

    def remove(self) -> None:
        remove((self.server, self.client, self.other), networks=(self.network,), volumes=(self.volume,))


def test_postgres_scram_login_from_another_container_and_data_kept_across_a_restart(docker_engine):
    ensure_standin(images.POSTGRES_IMAGE)
    pg = Postgres()
    start = time.monotonic()
    try:
        pg.start()
        pg.wait_ready()
        measure(f"postgres:17 first start (initdb, database) to a remote login: {time.monotonic() - start:.1f}s")

        # the login was SCRAM, for the user and database of the environment
        assert pg.psql("SELECT system_user, current_user, current_database()").stdout.strip() == (
            f"scram-sha-256:{pg.user}|{pg.user}|{pg.db}"
        )
        assert pg.psql("SHOW password_encryption").stdout.strip() == "scram-sha-256"
        assert pg.psql("SHOW server_encoding").stdout.strip() == "UTF8"
        wrong = pg.psql("SELECT 1", password="not-the-password")
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr

        # PID 1 is postgres, as the postgres user (999, as upstream)
        assert docker("exec", pg.server, "cat", "/proc/1/comm").stdout.strip() == "postgres"
        status = docker("exec", pg.server, "cat", "/proc/1/status").stdout
        assert any(line.split()[:2] == ["Uid:", "999"] for line in status.splitlines()), status
        # what compose health checks and backups call, on PATH
        tools = docker("exec", pg.server, "bash", "-c", "type -P pg_isready pg_dump pg_restore psql").stdout.split()
        assert len(tools) == 4, tools
        docker("exec", pg.server, "pg_isready", "-U", pg.user, "-d", pg.db)
        assert pg.psql("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')").returncode == 0
        dump = docker("exec", "-e", f"PGPASSWORD={pg.password}", pg.client,
                      "pg_dump", "-h", pg.server, "-U", pg.user, "-t", "notes", pg.db).stdout  # fmt: skip
        assert "CREATE TABLE public.notes" in dump

        # a restart: SIGINT (fast shutdown), no second initdb, the row is still there
        fast_shutdowns = pg.logs().count("received fast shutdown request")
        restart = time.monotonic()
        docker("restart", pg.server)
        pg.wait_ready()
        measure(f"postgres:17 restart until a remote login: {time.monotonic() - restart:.1f}s")
        logs = pg.logs()
        assert logs.count("received fast shutdown request") == fast_shutdowns + 1
        assert "Skipping initialization" in logs
        assert pg.psql("SELECT body FROM notes").stdout.strip() == "kept"

        # no password, no initialization: refused at once, as upstream
        refused = docker("run", "--rm", "--name", pg.other, images.POSTGRES_IMAGE, check=False, timeout=120)
        assert refused.returncode == 1 and "POSTGRES_PASSWORD" in refused.stderr
    finally:
        pg.remove()
