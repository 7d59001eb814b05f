"""`fab deploy --build local`: build the release's images here once, ship only the layers a server lacks.

Shared by the single-server deploy and anything that deploys to several servers: ``build_here`` once,
then ``ship(hosts, ...)`` to every host in parallel, each through its own SSH tunnel to the registry on
this machine's loopback (``deploy.commands.images`` says how). A host is checked (architecture, disk,
sshd's GatewayPorts) before anything on it changes, and every image ID is compared with this
machine's before the deploy goes on.
"""

import fcntl
import http.client
import os
import random
import secrets
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import bcrypt  # a dependency of paramiko, Fabric's SSH

from deploy import releases
from deploy.commands import compose
from deploy.commands import images as commands
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.host import Host
from deploy.local import Local
from deploy.names import TOOLKIT, Names
from deploy.output import say, step, tail
from deploy.preflight import root_probe

EMPTY_LAYER = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
EXAMPLE_ENV = ".envs/.production.example"  # what `inv production.build` builds with: images hold no secrets
TUNNEL_PORTS = (20000, 60000)
TUNNEL_TRIES = 3
MB = 1024 * 1024
REGISTRY_USER = f"{TOOLKIT}-deploy"
REGISTRY_LOCK = os.path.join(tempfile.gettempdir(), f"{TOOLKIT}-registry.lock")
# Every request of a pull checks the password; a cost of 4 keeps that fast, and a random 192-bit
# password needs no slow hash to resist guessing.
BCRYPT_ROUNDS = 4


@dataclass(frozen=True)
class Login:
    """One ship's own registry account: a fresh random password each time."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Built:
    """The release's images on this machine: name -> image ID, and what each layer weighs."""

    release: str
    ids: dict[str, str]
    layers: dict[str, list[tuple[str, int]]]  # image -> [(diff ID, bytes)], oldest first

    def missing_bytes(self, present: set[str]) -> int:
        """Bytes (unpacked) of the layers a host with the layers ``present`` still needs."""
        seen, total = set(present), 0
        for pairs in self.layers.values():
            for layer, size in pairs:
                if layer not in seen:
                    seen.add(layer)
                    total += size
        return total


def images(names: Names, release: str) -> list[str]:
    return [names.app_image(release), names.nginx_image(release)]


def local_architecture(local: Local) -> str:
    """This machine's engine architecture; one clear line when there is no engine."""
    found = local.probe(commands.architecture())
    if found.returncode != 0 or not found.stdout.strip():
        raise DeployError("no Docker engine answers on this machine (`docker info` failed), so it cannot build the "
                          "images: start Docker here, or deploy with --build server (the server builds)")
    return found.stdout.strip()


def check_architecture(host: Host, here: str) -> None:
    there = host.probe(commands.architecture()).stdout.strip()
    if there and there != here and not host.dry_run:
        raise DeployError(f"{host.name} runs {there} but this machine's Docker builds {here} images: deploy with "
                          "--build server (the server builds for itself)")


def check_disk(host: Host, built: Built) -> None:
    """The layers the host lacks, unpacked, plus room for their download must fit in Docker's folder."""
    present = set(host.probe(commands.layers()).stdout.split())
    needed = built.missing_bytes(present)
    free = host.probe(commands.free_bytes()).stdout.strip()
    if free.isdigit() and needed * 3 // 2 > int(free) and not host.dry_run:
        raise DeployError(f"{host.name} has {int(free) // MB} MB free for Docker images and the new layers need "
                          f"about {needed * 3 // 2 // MB} MB (with their download): free some space there "
                          "(`docker system prune`), then deploy again")
    say(f"    {host.name}: {len(present)} layers there, about {needed // MB} MB of new layers to fetch")


def local_compose(local: Local) -> str:
    kind = compose.parse_kind(local.probe(compose.detect()).stdout)
    if not kind and not local.dry_run:
        raise DeployError("neither `docker compose` nor `docker-compose` answers on this machine, so it cannot build "
                          "the images: install Compose here, or deploy with --build server")
    return kind or "v2"


def build_here(local: Local, names: Names, root: str, sha: str, release: str) -> Built:
    """Build both images from exactly ``sha`` (an export of the commit, not the working tree), tagged ``release``."""
    kind = local_compose(local)
    with step(f"build {' and '.join(images(names, release))} here, from commit {sha[:7]}"), \
            tempfile.TemporaryDirectory(prefix=f"{TOOLKIT}-build-") as tree:
        if not local.dry_run:
            releases.export(sha, tree, cwd=root)
        env = {**compose.BUILD_ENV, **compose.environment(tag=release, env_file=EXAMPLE_ENV,
                                                           nginx_env_file=EXAMPLE_ENV, http_addr="127.0.0.1",
                                                           http_port=80, https_port=443)}
        command = compose.command(kind, [names.config.compose_file], compose.BUILD, project=names.project)
        try:
            local.run(command, env=env, cwd=tree, timeout=3600)
        except RemoteCommandFailed as error:
            tail("build output", error.output, 20)
            raise DeployError("building the images here failed (output above); nothing on the server changed: "
                              "fix the build and deploy again") from None
    return inspect(local, names, release)


def inspect(local: Local, names: Names, release: str) -> Built:
    ids, layers = {}, {}
    for image in images(names, release):
        ids[image] = local.probe(commands.image_id(image)).stdout.strip() or f"sha256:DRY-RUN-{image}"
        diff_ids = local.probe(commands.image_layers(image)).stdout.split()
        sizes = [int(s) for s in local.probe(commands.layer_sizes(image)).stdout.split() if s.isdigit()]
        layers[image] = pair_sizes(diff_ids, sizes)
    return Built(release, ids, layers)


def pair_sizes(diff_ids: list[str], sizes: list[int]) -> list[tuple[str, int]]:
    """Match layers to `docker history` sizes: history's non-zero rows are the non-empty layers, in order."""
    filled = [layer for layer in diff_ids if layer != EMPTY_LAYER]
    nonzero = [size for size in sizes if size > 0]
    if len(filled) != len(nonzero):  # an unusual history: count every layer at the image's average
        average = sum(sizes) // max(len(diff_ids), 1)
        return [(layer, average) for layer in diff_ids]
    weights = dict(zip(filled, nonzero, strict=True))
    return [(layer, weights.get(layer, 0)) for layer in diff_ids]


@contextmanager
def registry_lock() -> Iterator[None]:
    """One ship at a time from this machine: each one replaces the registry container."""
    with open(os.open(REGISTRY_LOCK, os.O_RDONLY | os.O_CREAT, 0o644)) as handle:  # read-only: any user's file
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("    another deploy from this machine is shipping images: waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def remove_registry(local: Local) -> None:
    if local.probe(commands.registry_state()).stdout.strip():
        local.run(commands.remove_registry(),
                  what=f"could not remove the registry container {commands.REGISTRY_CONTAINER} here: "
                       f"remove it by hand (`docker rm -f {commands.REGISTRY_CONTAINER}`) and deploy again")


def htpasswd_line(user: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()
    return f"{user}:{hashed}\n"


def registry(local: Local, login: Login | None = None) -> int:
    """A new registry container on 127.0.0.1, on the port returned: writable, or read-only for ``login`` only."""
    mode = "read-only, this deploy's login only" if login else "writable, for the push"
    with step(f"registry on this machine's loopback ({commands.REGISTRY_IMAGE}, volume {commands.REGISTRY_VOLUME}, "
              f"{mode})"):
        remove_registry(local)
        failed = f"the registry container {commands.REGISTRY_CONTAINER} did not start here"
        if login is None:
            local.run(commands.start_registry(), what=failed)
        else:
            local.run(commands.create_serving_registry(), what=failed)
            with tempfile.TemporaryDirectory(prefix=f"{TOOLKIT}-registry-") as folder:
                path = os.path.join(folder, "htpasswd")
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                    handle.write(htpasswd_line(login.user, login.password))
                local.run(commands.copy_htpasswd(path), what=failed)
            local.run(commands.start_created_registry(), what=failed)
        port = commands.parse_port(local.probe(commands.registry_port()).stdout)
        if not port and not local.dry_run:
            raise DeployError(f"the registry container {commands.REGISTRY_CONTAINER} publishes no 127.0.0.1 port: "
                              f"remove it (`docker rm -f {commands.REGISTRY_CONTAINER}`) and deploy again")
        if not local.dry_run:
            wait_until_answers(port)
        say(f"    127.0.0.1:{port}")
        return port or 5000


def wait_until_answers(port: int, seconds: float = 30) -> None:
    """A new registry container takes a moment to listen: until then its port resets every connection."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).close()  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # 401 without a login: it answers
        except (OSError, http.client.HTTPException):  # refused, reset, or closed before an answer
            if time.monotonic() > deadline:
                raise DeployError(f"the registry container {commands.REGISTRY_CONTAINER} did not answer on "
                                  f"127.0.0.1:{port} within {seconds:g}s: see `docker logs "
                                  f"{commands.REGISTRY_CONTAINER}`, then deploy again") from None
            time.sleep(0.2)


def push(local: Local, port: int, built: Built) -> None:
    """Into the registry: only layers it does not hold yet are written."""
    with step(f"push {' and '.join(built.ids)} to 127.0.0.1:{port}"):
        for image in built.ids:
            remote = commands.at(port, image)
            local.run(commands.tag(image, remote))
            try:
                local.run(commands.push(remote), timeout=1800)
            finally:
                local.run(commands.untag(remote))


@contextmanager
def tunnel(host: Host, port: int) -> Iterator[int]:
    """The host's 127.0.0.1:<returned port> forwarded to this machine's registry, for the block only.

    sshd answers "denied" both for a port in use and for `AllowTcpForwarding no`: a few random ports tell
    them apart.
    """
    for attempt in range(TUNNEL_TRIES):
        remote_port = random.randint(*TUNNEL_PORTS)  # noqa: S311 - a free port, not a secret
        opened = ExitStack()
        try:
            opened.enter_context(host.forward_remote(remote_port, port))
        except DeployError as error:
            if "denied" not in str(error).lower():
                raise
            if attempt == TUNNEL_TRIES - 1:
                raise DeployError(f"sshd on {host.name} refuses to open the SSH tunnel to this machine's registry "
                                  "(`AllowTcpForwarding no` in its sshd_config?): allow TCP forwarding for the "
                                  "deploy user, or deploy with --build server") from None
            continue
        with opened:
            yield remote_port
        return


def check_tunnel(host: Host) -> None:
    """Before the server changes: sshd keeps tunnels on its loopback, and opens one (opened and closed now)."""
    check_gateway_ports(host)
    with tunnel(host, commands.REGISTRY_PORT):
        pass


def check_gateway_ports(host: Host) -> None:
    """A tunnel must listen on the server's loopback only: sshd's GatewayPorts would open it to the network."""
    found = root_probe(host, commands.gateway_ports())
    setting = commands.parse_gateway_ports(found.stdout)
    if setting == "no" or (not setting and host.dry_run):
        return
    if setting:
        raise DeployError(f"sshd on {host.name} has `GatewayPorts {setting}`, so the tunnel to this machine's "
                          "registry would listen on the server's network, not only its loopback: set "
                          "`GatewayPorts no` in its sshd_config (and reload sshd), or deploy with --build server")
    raise DeployError(f"could not read sshd's GatewayPorts on {host.name} (`sudo sshd -T` failed), so the tunnel to "
                      "this machine's registry might listen on the server's network: give the deploy user sudo "
                      "(or pass --prompt-for-sudo-password), or deploy with --build server")


def pull(host: Host, port: int, login: Login, built: Built) -> None:
    """Log in, pull through the tunnel, rename to the normal names, check each image ID equals this machine's.

    The login lasts for the pulls only: it is removed from the server's ~/.docker/config.json even when
    a pull fails or the ship is interrupted.
    """
    with step(f"ship the images to {host.name} (only the layers it lacks, through an SSH tunnel)"), \
            tunnel(host, port) as remote_port:
        try:
            host.run(commands.login(remote_port, login.user), stdin=login.password,
                     what=f"{host.name} could not log in to this machine's registry through the tunnel: "
                          "check `fab status` there, then deploy again")
            for image, expected in built.ids.items():
                pull_one(host, remote_port, image, expected)
        finally:
            host.run(commands.logout(remote_port), warn=True)
        say(f"    {host.name} has {' and '.join(built.ids)} with the image IDs built here")


def pull_one(host: Host, remote_port: int, image: str, expected: str) -> None:
    try:
        found = host.run(commands.pull_as(commands.at(remote_port, image), image), timeout=1800).stdout
    except RemoteCommandFailed as error:
        raise DeployError(f"{host.name} could not pull {image} through the tunnel "
                          f"({error.output.strip().splitlines()[-1:] or '?'}): check `fab status` and its "
                          "disk space, then deploy again") from None
    got = found.strip().splitlines()[-1:] or [""]
    if got[0] != expected and not host.dry_run:
        raise DeployError(f"{image} on {host.name} is {got[0] or 'missing'}, not {expected} as built here: "
                          "deploy again")


def ship(hosts: list[Host], local: Local, built: Built) -> None:
    """Push once, then every host pulls in parallel through its own tunnel; any failure names its host.

    The registry runs for this ship only: it is pruned to ``built``'s release after the pulls, and
    removed whatever happens.
    """
    with registry_lock():
        try:
            push(local, registry(local), built)
            login = Login(REGISTRY_USER, secrets.token_urlsafe(24))
            port = registry(local, login)
            pull_everywhere(hosts, port, login, built)
            prune(local, built.release)
        finally:
            remove_registry(local)


def prune(local: Local, release: str) -> None:
    """Keep only ``release`` (what the next push builds on). The servers have their images: a failure only warns."""
    with step(f"prune the registry here to {release}"):
        try:
            local.run(commands.prune_registry(release), timeout=600)
        except DeployError as error:
            say(f"    warning: the registry here was not pruned ({error}); the next deploy prunes it")


def pull_everywhere(hosts: list[Host], port: int, login: Login, built: Built) -> None:
    """Every host at once. Ctrl-C (or any error here) drops every host's connection, so that its pull and
    tunnel end now instead of after the pull's own timeout; the next command on a host reconnects."""
    pool = ThreadPoolExecutor(max_workers=max(len(hosts), 1))
    futures = [pool.submit(_ship_one, host, port, login, built) for host in hosts]
    try:
        while wait(futures, timeout=0.5).not_done:  # short waits: the main thread sees Ctrl-C at once
            pass
        failed = [message for message in (future.result() for future in futures) if message]
    except BaseException:
        for future in futures:
            future.cancel()
        for host in hosts:
            host.reconnect()
        raise
    finally:
        pool.shutdown(wait=True)  # quick even after Ctrl-C: each worker's command has lost its connection
    if failed:
        raise DeployError("; ".join(failed))


def _ship_one(host: Host, port: int, login: Login, built: Built) -> str:
    try:
        pull(host, port, login, built)
    except DeployError as error:
        return str(error)
    return ""
