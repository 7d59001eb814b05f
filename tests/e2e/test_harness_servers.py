"""Smoke test of the e2e harness: fresh systemd servers over real SSH (testbed/servers.py).

The tests of one server run in file order on a module-scoped server: boot, SSH, sudo, docker
install, nested run, reboot, and last the host-key change that breaks strict connections.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request

import paramiko
import pytest

from testbed import servers
from tests.harness.fixtures import *  # noqa: F403  (the harness fixtures, for this module)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

TINY_IMAGE = "mysite-e2e-server:tiny-echo"
# A two-megabyte image: /usr/bin/echo and the libraries it links, copied from wherever this runs.
TINY_ROOTFS = (
    "set -e; d=$(mktemp -d); "
    "for f in /usr/bin/echo $(ldd /usr/bin/echo | grep -o '/[^ ]*'); do "
    'mkdir -p "$d$(dirname "$f")"; cp -L "$f" "$d$f"; done; '
)


def install_docker(server: servers.Server, *packages: str) -> None:
    pkgs = " ".join(("docker.io", *packages))
    with servers.timed(f"apt-get install {pkgs} on {server.suite}"):
        server.ssh(
            f"sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q {pkgs}",
            timeout=900,
        )


def tiny_image_on_host() -> str:
    if not servers.image_exists(TINY_IMAGE):
        subprocess.run(
            ["bash", "-c", TINY_ROOTFS + f'tar -C "$d" -c . | docker import - {TINY_IMAGE}; rm -rf "$d"'],
            check=True,
            capture_output=True,
        )
    return TINY_IMAGE


# --- a bookworm server, step by step ----------------------------------------------------------------
def test_boots_with_systemd(module_fresh_server):
    srv = module_fresh_server
    state = srv.exec("systemctl is-system-running", check=False).stdout.strip()
    assert state in ("running", "degraded"), state
    assert srv.failed_units() == [], srv.failed_units()
    assert srv.exec("cat /etc/os-release").stdout.count("bookworm") >= 1
    assert srv.host_string == f"deploy@127.0.0.1:{srv.ssh_port}"
    assert all(18000 <= p <= 18999 for p in (srv.ssh_port, srv.http_port, srv.https_port))


def test_ssh_strict_host_key_checking(module_fresh_server):
    srv = module_fresh_server
    assert srv.ssh("whoami").stdout.strip() == "deploy"
    # the known_hosts file holds this server's own key, in [host]:port form
    lines = open(srv.known_hosts).read().split("\n")
    assert any(line.startswith(f"[127.0.0.1]:{srv.ssh_port} ssh-ed25519 ") for line in lines)
    # the OpenSSH client with the harness ssh_config (StrictHostKeyChecking yes) gets in too
    done = subprocess.run([*srv.ssh_argv(), "echo", "openssh-ok"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "openssh-ok", done.stderr
    # and a Fabric Connection
    with srv.connection() as conn:
        assert conn.run("hostname", hide=True, in_stream=False).stdout.strip()  # pytest owns our stdin


def test_sudo_per_user(module_fresh_server):
    srv = module_fresh_server
    assert srv.ssh("sudo -n true").returncode == 0
    assert srv.ssh("sudo -n true", user="nosudo", check=False).returncode != 0
    assert srv.ssh("sudo -n true", user="pwsudo", check=False).returncode != 0
    done = srv.ssh(f"echo {servers.PWSUDO_PASSWORD} | sudo -S -p '' whoami", user="pwsudo")
    assert done.stdout.strip() == "root"


def test_each_server_has_its_own_host_keys(module_fresh_server, server_factory, server_image):
    other = server_factory("bookworm", image=server_image)
    assert set(other.host_key_lines()).isdisjoint(module_fresh_server.host_key_lines())


def test_docker_installs_and_runs_nested_containers(module_fresh_server):
    srv = module_fresh_server
    install_docker(srv)
    assert srv.ssh("systemctl is-active docker").stdout.strip() == "active"
    assert srv.ssh("sudo docker info --format '{{.Driver}}'").stdout.strip() == "overlay2"
    # an image made inside the server
    srv.exec(TINY_ROOTFS + 'tar -C "$d" -c . | docker import - tiny:inside >/dev/null; rm -rf "$d"')
    assert srv.ssh("sudo docker run --rm tiny:inside /usr/bin/echo nested-ok").stdout.strip() == "nested-ok"
    # an image loaded from the host engine
    srv.load_images(tiny_image_on_host())
    done = srv.ssh(f"sudo docker run --rm {TINY_IMAGE} /usr/bin/echo loaded-ok")
    assert done.stdout.strip() == "loaded-ok"


def test_reboot_keeps_nested_docker_images(module_fresh_server):
    srv = module_fresh_server
    keys_before = srv.host_key_lines()
    srv.restart()
    assert srv.host_key_lines() == keys_before
    assert srv.ssh("systemctl is-active docker").stdout.strip() == "active"
    kept = srv.ssh(f"sudo docker image inspect {TINY_IMAGE} tiny:inside >/dev/null && echo kept")
    assert kept.stdout.strip() == "kept"
    assert srv.ssh(f"sudo docker run --rm {TINY_IMAGE} /usr/bin/echo again").stdout.strip() == "again"


def test_changed_host_key_is_refused(module_fresh_server):
    srv = module_fresh_server
    srv.regenerate_host_keys()
    with pytest.raises(paramiko.BadHostKeyException):
        srv.ssh("true")
    done = subprocess.run([*srv.ssh_argv(), "true"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in done.stderr
    srv.write_known_hosts()  # accepting the new key makes it work again
    assert srv.ssh("echo back").stdout.strip() == "back"


# --- the article's legacy stack -----------------------------------------------------------------------
def test_legacy_server_serves_the_old_site(legacy_server):
    srv = legacy_server
    with urllib.request.urlopen(f"{srv.http_url}/", timeout=10) as resp:
        assert resp.status == 200
        assert "legacy mysite" in resp.read().decode()
    status = srv.ssh(servers.LEGACY_STATUS).stdout
    assert "mysite" in status and "RUNNING" in status, status
    assert srv.exec("systemctl is-active nginx").stdout.strip() == "active"
    # supervisord runs as deploy, started by hand with -c ~/etc/supervisord.conf (the shell expands ~)
    ps = srv.exec("ps -o user=,args= -C supervisord").stdout
    assert any(
        line.split()[0] == "deploy" and "-c /home/deploy/etc/supervisord.conf" in line for line in ps.splitlines()
    ), ps


# --- trixie: Docker 26 and Compose v2 -----------------------------------------------------------------
def test_trixie_server_gets_compose_v2(fresh_trixie_server):
    srv = fresh_trixie_server
    assert "trixie" in srv.exec("cat /etc/os-release").stdout
    srv.ssh("sudo apt-get update -q")
    policy = srv.ssh("apt-cache policy docker-compose docker-compose-v2 docker-compose-plugin docker-buildx").stdout
    servers.say(f"trixie compose packages:\n{policy}")
    install_docker(srv, "docker-compose")
    version = srv.ssh("sudo docker compose version").stdout
    assert "v2." in version or "version 2." in version, version
    deadline = time.monotonic() + 30
    while srv.ssh("systemctl is-active docker", check=False).stdout.strip() != "active":
        assert time.monotonic() < deadline
        time.sleep(1)
    srv.exec(TINY_ROOTFS + 'tar -C "$d" -c . | docker import - tiny:inside >/dev/null; rm -rf "$d"')
    assert srv.ssh("sudo docker run --rm tiny:inside /usr/bin/echo ok").stdout.strip() == "ok"
