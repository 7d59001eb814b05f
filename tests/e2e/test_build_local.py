"""`fab deploy --build local`: built here once, and only the layers a server lacks cross the wire, over SSH.

One story on two fresh servers (bootstrapped in parallel; no base image is loaded into them, since
nothing is built there): the first deploy ships every layer to one server; a code-only change deployed
under load ships only the new layers, counted by the server's own network counters, with 0 failed
requests; then `deploy.images.ship` puts the same images on both servers at once, each through its own
tunnel; while a server pulls, another user there gets 401 from the tunnel and even the deploy's login
cannot write; the registry here keeps only the last release and stops; last, an sshd that refuses
tunnels, or would open them to the network (GatewayPorts), is refused before the server changes.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy import images as shipping
from deploy.commands import images as registry
from deploy.config import DeployConfig
from deploy.host import Host
from deploy.local import Local
from deploy.names import Names
from testbed import images as standins
from testbed.servers import record_timing
from tests.harness import flows
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import DOMAIN
from tests.reliability.checks import assert_unchanged, current_release, snapshot

BLOG = Names.of(DeployConfig(), "/home/deploy")  # the blog's image names (the app folder plays no part)

pytestmark = pytest.mark.e2e
SHIPPED: dict[str, int] = {}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    return flows.make_checkout(tmp_path_factory.mktemp("build-local") / "mysite", head_only=True)


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    return flows.make_laptop(tmp_path_factory.mktemp("build-local-laptop"))


@pytest.fixture(scope="module")
def pair(module_server_factory, server_image, checkout, laptop):
    """Two fresh servers after `fab bootstrap`, with empty engines; this machine has the bases and registry:2."""
    standins.ensure_base_images()
    standins.ensure_image(standins.REGISTRY_IMAGE)
    servers = [module_server_factory("bookworm", image=server_image) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda s: flows.fab(s, checkout, laptop, "bootstrap", "--accept-new-host-key"), servers))
    assert all(d.returncode == 0 for d in done), [d.stdout + d.stderr for d in done]
    return servers


def received(server) -> int:
    """Bytes the server's network interface has received (the server's own counter)."""
    return int(server.exec("cat /sys/class/net/eth0/statistics/rx_bytes").stdout)


def image_id(image: str, server=None) -> str:
    command = f"docker image inspect -f '{{{{.Id}}}}' {image}"
    if server is not None:
        return server.exec(command).stdout.strip()
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout.strip()


def same_images(server, release: str) -> None:
    for image in (f"mysite-django:{release}", f"mysite-nginx:{release}"):
        assert image_id(image, server) == image_id(image), image
    tags = server.exec("docker images --format '{{.Repository}}:{{.Tag}}'").stdout
    assert "127.0.0.1:" not in tags, tags  # the registry's names are gone


def test_first_deploy_builds_here_and_ships_every_layer(pair, checkout, laptop):
    server = pair[0]
    before = received(server)
    done = flows.fab(server, checkout, laptop, "deploy", "--build", "local")
    assert done.returncode == 0, done.stdout + done.stderr
    SHIPPED["first"] = received(server) - before
    record_timing("fab deploy --build local, first deploy", done.seconds)
    print(f"first deploy: {SHIPPED['first'] / MB:.1f} MB received by the server in {done.seconds:.1f}s")
    assert "here, from commit" in done.stdout and "build images" not in done.stdout
    release = current_release(server)
    same_images(server, release)
    assert server.exec("docker image inspect python:3.11-slim-bookworm", check=False).returncode != 0  # never built
    assert flows.get(server, "/healthz") == (200, '{"status": "ok"}')
    assert SHIPPED["first"] > 50 * MB  # it really carried the layers


def test_a_code_only_change_ships_a_tenth_of_the_bytes_with_no_failed_request(pair, checkout, laptop):
    server = pair[0]
    base = checkout / "blog/templates/base.html"
    base.write_text(base.read_text().replace("</body>", "<!-- shipped from here --></body>"))
    flows.commit(checkout, "a code-only change")
    before = received(server)
    done, load = flows.under_load(
        server, lambda: flows.fab(server, checkout, laptop, "deploy", "--build", "local"))
    SHIPPED["change"] = received(server) - before
    print(f"code-only change: {SHIPPED['change'] / MB:.2f} MB received in {done.seconds:.1f}s; {load}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert load.failed == 0 and load.total > 0, load
    assert SHIPPED["change"] * 10 <= SHIPPED["first"], SHIPPED
    assert "shipped from here" in flows.get(server, "/")[1]
    same_images(server, current_release(server))


def test_one_build_goes_to_both_servers_at_once_through_their_own_tunnels(pair):
    release = current_release(pair[0])
    here = Local()
    built = shipping.inspect(here, BLOG, release)
    before = [received(server) for server in pair]
    shipping.ship([Host(server.connection()) for server in pair], here, built)
    got = [received(server) - start for server, start in zip(pair, before, strict=True)]
    print(f"shipped {release} to both: {got[0] / MB:.2f} MB (had it) and {got[1] / MB:.1f} MB (had nothing)")
    for server in pair:
        same_images(server, release)
    assert got[0] * 10 < got[1]  # only the server that lacked the layers received them


class Watched(Host):
    """A Host that runs ``during_pull(port, password)`` just before each pull goes through the tunnel."""

    def __init__(self, conn, during_pull):
        super().__init__(conn)
        self.during_pull, self.password = during_pull, None

    def run(self, command, **kwargs):
        if "--password-stdin" in command:
            self.password = kwargs.get("stdin")
        elif command.startswith("docker pull "):
            self.during_pull(int(re.search(r"127\.0\.0\.1:(\d+)/", command).group(1)), self.password)
        return super().run(command, **kwargs)


def test_while_a_server_pulls_another_user_there_gets_401_and_nobody_can_push(pair):
    server, release = pair[1], current_release(pair[0])
    seen = []

    def probe(port, password):
        url = f"http://127.0.0.1:{port}/v2"
        anonymous = f"curl -s -o /dev/null -w '%{{http_code}}' {url}/_catalog"
        seen.append(server.exec(anonymous, user="nosudo").stdout)  # another local user, as it would
        login = f"curl -s -o /dev/null -w '%{{http_code}}' -u {shipping.REGISTRY_USER}:{password}"
        seen.append(server.exec(f"{login} {url}/_catalog").stdout)
        seen.append(server.exec(f"{login} -X POST {url}/intruder/blobs/uploads/").stdout)  # a push starts so

    host = Watched(server.connection(), probe)
    shipping.ship([host], Local(), shipping.inspect(Local(), BLOG, release))
    same_images(server, release)
    assert host.password and seen[:3] == ["401", "200", "405"], seen  # no login; this deploy's; read-only
    docker_config = server.exec("cat /home/deploy/.docker/config.json", check=False).stdout
    assert "127.0.0.1:" not in docker_config, docker_config  # logged out after the pull
    assert subprocess.run(["sh", "-c", registry.registry_state()], capture_output=True, text=True).stdout.strip() == ""
    tags = subprocess.run(["docker", "run", "--rm", "-v", f"{registry.REGISTRY_VOLUME}:/var/lib/registry",
                           "--entrypoint", "ls", registry.REGISTRY_IMAGE,
                           "/var/lib/registry/docker/registry/v2/repositories/mysite-django/_manifests/tags"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert tags == [release], tags  # the two earlier deploys pushed two releases: only the last one stays


@pytest.mark.parametrize(("setting", "said"), [
    ("GatewayPorts yes", "has `GatewayPorts yes`"),  # the tunnel would be open to the network
    ("AllowTcpForwarding no", "refuses to open the SSH tunnel"),
], ids=["gateway-ports", "no-tunnels"])
def test_an_sshd_unfit_for_the_tunnel_is_refused_before_the_server_changes(pair, checkout, laptop, setting, said):
    server = pair[1]
    server.exec(f"echo '{setting}' >> /etc/ssh/sshd_config && systemctl reload ssh")
    try:
        before = snapshot(server)
        done = flows.fab(server, checkout, laptop, "deploy", "--build", "local")
        assert done.returncode != 0
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
        assert said in errors[0] and "--build server" in errors[0], errors[0]
        assert "here, from commit" not in done.stdout  # refused in preflight, before the build
        assert_unchanged(before, snapshot(server))
    finally:
        server.exec(f"sed -i '/^{setting}$/d' /etc/ssh/sshd_config && systemctl reload ssh")
    assert DOMAIN
