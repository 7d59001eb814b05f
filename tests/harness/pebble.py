"""Pebble, Let's Encrypt's ACME test server (docs/TESTING.md), in a container on a network the test creates.

    with start_pebble(server) as acme:     # server: a testbed.servers.Server
        fab https --acme-server acme.directory --acme-ca-bundle acme.listener_ca
        acme.root()                        # PEM of the root that signs the issued certificates

The image is the nginx base image (Debian) plus Debian's `pebble`: the machine's own binary when it is
installed (CI apt-installs it; it only needs libc), else `apt-get install pebble` in the build. Cached
by tag. The server container is attached to the test's network; containers nested in it reach Pebble
through the server's NAT, by IP (names do not resolve there), so Pebble's listener certificate (made
here with openssl) names that IP. With PEBBLE_VA_ALWAYS_VALID=1 Pebble never calls back the domain.

``start_pebble(server, validate_at=node)`` makes Pebble really validate HTTP-01 instead: ``node`` joins the
network too, `pebble-challtestsrv` (in the same package) answers every A query with its address there, and
Pebble (`-dnsserver`) fetches the challenge from that node's port 80.
Traffic goes only to these containers (docs/TESTING.md, network rules).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testbed import images

PREFIX = "mysite-e2e-https"
IMAGE_REPO = f"{PREFIX}-pebble"
HOST_PEBBLE = Path("/usr/bin/pebble")
HOST_CHALLTESTSRV = Path("/usr/bin/pebble-challtestsrv")  # Pebble's mock DNS, in Debian's pebble package
CONFIG = {
    "pebble": {
        "listenAddress": "0.0.0.0:14000",
        "managementListenAddress": "0.0.0.0:15000",
        "certificate": "/pebble/cert.pem",
        "privateKey": "/pebble/key.pem",
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
}
ENV = {
    "PEBBLE_VA_ALWAYS_VALID": "1",  # no callback to the domain (there is no DNS for it here)
    "PEBBLE_VA_NOSLEEP": "1",
    "PEBBLE_WFE_NONCEREJECT": "0",  # Pebble rejects 5% of good nonces by default: no flakes
}
START = ("while [ ! -f /pebble/ready ]; do sleep 0.2; done; "
         "exec pebble -config /pebble/config.json $(cat /pebble/args 2>/dev/null)")
DNS = "127.0.0.1:8053"  # pebble-challtestsrv's DNS, in Pebble's container


def docker(*args: str, check: bool = True, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)[:300]} failed: {done.stderr.strip()[-1500:]}")
    return done


def image() -> str:
    """The Pebble image, built once per pebble binary (or per apt install) and cached by tag."""
    base = images.ensure_image(images.NGINX_IMAGE)
    if HOST_PEBBLE.is_file() and HOST_CHALLTESTSRV.is_file():
        digest = hashlib.sha256(HOST_PEBBLE.read_bytes() + HOST_CHALLTESTSRV.read_bytes()).hexdigest()[:12]
        dockerfile = f"FROM {base}\nCOPY pebble pebble-challtestsrv /usr/bin/\n"
    else:
        digest = "apt-challtestsrv"
        dockerfile = (f"FROM {base}\nRUN apt-get update && apt-get install -y --no-install-recommends pebble "
                      "&& rm -rf /var/lib/apt/lists/*\n")
    tag = f"{IMAGE_REPO}:{digest}"
    with images._lock(tag):
        if images.image_exists(tag):
            return tag
        with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as ctx:
            (Path(ctx) / "Dockerfile").write_text(dockerfile)
            if HOST_PEBBLE.is_file() and HOST_CHALLTESTSRV.is_file():
                shutil.copy(HOST_PEBBLE, Path(ctx) / "pebble")
                shutil.copy(HOST_CHALLTESTSRV, Path(ctx) / "pebble-challtestsrv")
            subprocess.run(["docker", "build", "-q", "-t", tag, ctx], check=True, capture_output=True, text=True,
                           env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=900)
    return tag


def make_listener_cert(folder: Path, ip: str) -> None:
    """A small CA, and a certificate for Pebble's listener at ``ip`` signed by it (openssl)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, timeout=120)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mysite e2e pebble CA",
            "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pebble", "-keyout", "key.pem", "-out", "req.csr")
    (folder / "ext.cnf").write_text(f"subjectAltName=IP:{ip},DNS:pebble\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-out", "cert.pem", "-extfile", "ext.cnf")


@dataclass
class Pebble:
    name: str
    network: str
    ip: str
    folder: Path
    server: str  # the server container attached to the network
    others: tuple[str, ...] = ()  # more server containers attached (the node Pebble validates at)

    @property
    def directory(self) -> str:
        return f"https://{self.ip}:14000/dir"

    @property
    def listener_ca(self) -> str:
        return str(self.folder / "ca.pem")

    def fetch(self, path: str, port: int = 15000) -> str:
        """GET from Pebble inside the test network (from the server container, which has curl)."""
        done = docker("exec", self.server, "curl", "-sS", "--fail", "--cacert", "/tmp/mysite-e2e-pebble-ca.pem",
                      f"https://{self.ip}:{port}{path}", timeout=60)
        return done.stdout

    def root(self) -> str:
        """The root that signs the certificates Pebble issues (new at every Pebble start)."""
        return self.fetch("/roots/0")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                if "newAccount" in self.fetch("/dir", port=14000):
                    return
            except RuntimeError as error:
                last = str(error)
            time.sleep(1)
        logs = docker("logs", "--tail", "30", self.name, check=False)
        raise RuntimeError(f"pebble did not answer in {timeout:.0f}s: {last}\n{logs.stdout}{logs.stderr}")

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False)
        for server in (self.server, *self.others):
            docker("network", "disconnect", "-f", self.network, server, check=False)
        docker("network", "rm", self.network, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def create_network(network: str) -> None:
    """A test network whose subnet the server's own (nested) engine never uses.

    Left to Docker, the first test network on a clean engine gets 172.18.0.0/16, which is exactly what
    the nested engine gives the deployed compose project inside the server: connecting the server to
    it then fails ("conflicts with existing route"). A /24 at the top of Docker's pools avoids that.
    """
    last = ""
    for third in random.sample(range(256), 8):  # retry on a subnet the outer engine already uses
        done = docker("network", "create", "--label", f"{PREFIX}=1", "--subnet", f"172.31.{third}.0/24",
                      network, check=False)
        if done.returncode == 0:
            return
        last = done.stderr.strip()
    raise RuntimeError(f"could not create the test network {network}: {last}")


def ip_on(container: str, network: str) -> str:
    return docker("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}",
                  container).stdout.strip()


@contextmanager
def start_pebble(server, validate_at=None):
    """Pebble on a new network that ``server`` (a harness Server) joins; everything removed afterwards.

    ``validate_at``: a server Pebble validates HTTP-01 against (the domain resolves to it), not always-valid."""
    suffix = uuid.uuid4().hex[:8]
    network, name = f"{PREFIX}-net-{suffix}", f"{PREFIX}-pebble-{suffix}"
    tag = image()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-pebble-"))
    create_network(network)
    acme = Pebble(name, network, "", folder, server.name)
    try:
        run = ["run", "-d", "--name", name, "--network", network, "--label", f"{PREFIX}=1"]
        for key, value in ENV.items():
            if not (validate_at is not None and key == "PEBBLE_VA_ALWAYS_VALID"):
                run += ["-e", f"{key}={value}"]
        docker(*run, "--entrypoint", "sh", tag, "-c", START)
        acme.ip = ip_on(name, network)
        make_listener_cert(folder, acme.ip)
        (folder / "config.json").write_text(json.dumps(CONFIG))
        docker("exec", name, "mkdir", "-p", "/pebble")
        for file in ("cert.pem", "key.pem", "config.json"):
            docker("cp", str(folder / file), f"{name}:/pebble/{file}")
        docker("network", "connect", network, server.name)
        if validate_at is not None:
            if validate_at.name != server.name:
                docker("network", "connect", network, validate_at.name)
                acme.others = (validate_at.name,)
            docker("exec", "-d", name, "pebble-challtestsrv", "-defaultIPv4", ip_on(validate_at.name, network),
                   "-defaultIPv6", "", "-dns01", DNS, "-http01", "", "-https01", "", "-tlsalpn01", "",
                   "-management", "127.0.0.1:8055")
            docker("exec", name, "sh", "-c", f"echo -dnsserver {DNS} > /pebble/args")
        docker("exec", name, "touch", "/pebble/ready")
        docker("cp", acme.listener_ca, f"{server.name}:/tmp/mysite-e2e-pebble-ca.pem")
        acme.wait_ready()
        yield acme
    finally:
        acme.remove()
