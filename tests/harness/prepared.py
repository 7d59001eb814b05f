"""A prepared server: what a server module's own setup would make, made once and copied (docs/TESTING.md).

A fresh bookworm server on which the real `fab bootstrap --accept-new-host-key` ran from a checkout of
this repository, its nested engine holding the base images and postgres:17, and the build cache of the
release's images (the deploy's own build command, so a later deploy's build finds the dependency
layers). Then `servers.snapshot_server()` keeps it as an image and a template /var/lib/docker volume,
both named by a hash of what they depend on, so later sessions (and concurrent runs, through a file
lock) reuse them. `start_prepared()` starts a server from them: its own container, volume, ports, host
keys, machine-id and engine ID, its host key in the laptop's known_hosts as `fab bootstrap` records one.

The cold path stays covered elsewhere: test_bootstrap.py and test_harness_servers.py start truly fresh
servers, and test_deploy.py's first deploy builds on a server that never built anything.
"""

from __future__ import annotations

import calendar
import concurrent.futures
import contextlib
import hashlib
import inspect
import json
import shlex
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from deploy.commands import compose
from deploy.config import DeployConfig
from deploy.names import Names
from testbed import images, servers
from tests.harness import flows

SUITE = "bookworm"
TAG_PREFIX = "prepared-"
VOLUME_PREFIX = "mysite-e2e-prepared-"
# What the bootstrap and the build read: a change to any of them makes a new prepared server.
INPUTS = ("deploy", "tasks", "fabfile.py", "fabric.yaml", "Pipfile.lock", "production.yml", "compose/production")
BUILD_DIR = "/tmp/mysite-prepare"
BUILD_ENV_FILE = "/tmp/mysite-prepare.env"
BUILD_TAR = "/tmp/mysite-prepare.tar"
LOCK = "prepared-server"


class PreparationFailed(servers.HarnessError):
    """The prepared server could not be made: every test that needs it fails with this reason."""


def input_files(root: Path = flows.REPO) -> dict[str, bytes]:
    """{relative path: content} of every file under INPUTS that git does not ignore (tracked or not)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *INPUTS],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    return {name: (root / name).read_bytes() for name in sorted(set(listed)) if name and (root / name).is_file()}


def recipe_hash(files: dict[str, bytes], server_image: str, loaded: dict[str, str]) -> str:
    """12 hex digits over the inputs' contents, the server image, each loaded image's ID and this recipe."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"server": server_image, "loaded": loaded,
                              "recipe": [inspect.getsource(f) for f in (prepare, build_cache_script)],
                              "forget": servers.FORGET_IDENTITY},
                             sort_keys=True).encode())
    for name, content in sorted(files.items()):
        digest.update(f"\0{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:12]


def loaded_images() -> list[str]:
    """The images a prepared server's engine holds: the base images and postgres:17."""
    return [*images.ensure_base_images(), images.ensure_image(images.POSTGRES_IMAGE)]


def image_id(tag: str) -> str:
    return servers.run(["docker", "image", "inspect", "-f", "{{.Id}}", tag]).stdout.strip()


def build_cache_script(kind: str) -> str:
    """As a deploy does, over SSH: unpack the uploaded `git archive` (in an SSH session, whose umask a deploy's
    unpack has too: a `docker exec` may have another, and a COPY's cache key holds each file's mode and owner),
    then build the release's images with the deploy's own compose command, so a deploy's build finds these
    layers. Then drop the tags (`--no-prune` keeps the layers) and the folder. The server ends with no image
    of the app, only the build cache a first deploy would have left."""
    # the deploy's environment and nothing more: COMPOSE_DOCKER_CLI_BUILD=0 would tar the context with the files'
    # owners where the docker CLI (compose 1.29's default) says root, and no COPY would hit the cache
    env = compose.environment(tag="prepare", env_file=BUILD_ENV_FILE, http_addr="127.0.0.1", http_port=80,
                              https_port=443)
    names = Names.of(DeployConfig(), "/home/deploy")
    build = compose.command(kind, [names.config.compose_file], "build", project=names.project)
    tags = " ".join(shlex.quote(f"{repo}:prepare") for repo in (names.app_repository, names.nginx_repository))
    return (f"set -e; mkdir -p {BUILD_DIR}; tar -xf {BUILD_TAR} -C {BUILD_DIR}; rm -f {BUILD_TAR}; "
            f"cd {BUILD_DIR}; touch {BUILD_ENV_FILE}; {compose.assignments(env)} {build}; "
            f"docker rmi --no-prune {tags}; cd /; rm -rf {BUILD_DIR} {BUILD_ENV_FILE}")


def prepare(tag: str, volume: str) -> None:
    """Make the prepared server: a real bootstrap, the images loaded, the build cache; then snapshot it."""
    image = servers.build_server_image(SUITE)
    servers.E2E_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prepare-", dir=servers.E2E_DIR) as work:
        checkout = flows.make_checkout(Path(work) / "mysite")
        laptop = flows.make_laptop(Path(work) / "laptop")
        server = servers.start_server(SUITE, image=image, name=f"prepare-{uuid.uuid4().hex[:8]}")
        try:
            done = flows.fab(server, checkout, laptop, "bootstrap", "--accept-new-host-key")
            if done.returncode != 0:
                raise PreparationFailed(f"`fab bootstrap` of the prepared server failed (exit {done.returncode}):\n"
                                        f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
            server.load_images(*loaded_images())
            kind = compose.parse_kind(server.ssh(compose.detect()).stdout)
            servers.run(["sh", "-c", f"git archive --format=tar HEAD | docker exec -i -u deploy {server.name} "
                         f"sh -c {shlex.quote(f'cat > {BUILD_TAR}')}"], cwd=checkout, timeout=300)
            with servers.timed(f"build the release's images on {server.name} (the build cache)"):
                built = server.ssh(build_cache_script(kind), check=False, timeout=1800)
            if built.returncode != 0:
                raise PreparationFailed(f"the prepared server's build failed (exit {built.returncode}):\n"
                                        f"{built.stdout[-3000:]}{built.stderr[-3000:]}")
            servers.snapshot_server(server, tag, volume)
        finally:
            server.remove()


def prepared(suite: str = SUITE) -> tuple[str, str]:
    """(image tag, template volume) of the prepared server, made now if no run made it for these inputs."""
    if suite != SUITE:
        raise servers.HarnessError(f"a prepared server is {SUITE} only, not {suite}")
    loaded = {name: image_id(name) for name in loaded_images()}
    key = recipe_hash(input_files(), servers.build_server_image(SUITE), loaded)
    tag, volume = f"{servers.IMAGE_REPO}:{TAG_PREFIX}{key}", f"{VOLUME_PREFIX}{key}"
    with servers._file_lock(LOCK, shared=True):  # as the copies hold it: a look waits for no copy under way
        if kept(tag, volume):
            servers.say(f"using the prepared server {tag} (volume {volume})")
            return tag, volume
    with servers._file_lock(LOCK):
        if kept(tag, volume):  # another run made it meanwhile
            return tag, volume
        servers.run(["docker", "rmi", tag], check=False)
        servers.run(["docker", "volume", "rm", volume], check=False)
        with servers.timed(f"make the prepared server {tag}"):
            prepare(tag, volume)
        remove_stale(keep=key)
    return tag, volume


def kept(tag: str, volume: str) -> bool:
    """Whether the prepared server of this hash exists: its image and its template volume."""
    return servers.image_exists(tag) and servers.volume_exists(volume)


def remove_stale(keep: str, max_age_hours: float = 6) -> None:
    """Drop other hashes' prepared servers made more than `max_age_hours` ago: a younger one may be another
    checkout's (clones with other inputs share the engine). Called with the lock held exclusively, so no copy
    of a template runs meanwhile; an image a running server uses stays."""
    listed = servers.run(["docker", "images", "--format", "{{.Tag}}\t{{.CreatedAt}}", servers.IMAGE_REPO],
                         check=False).stdout
    for line in listed.splitlines():
        old, _, created = line.partition("\t")
        if not old.startswith(TAG_PREFIX) or old == TAG_PREFIX + keep:
            continue
        try:
            age = time.time() - calendar.timegm(time.strptime(" ".join(created.split()[:2]), "%Y-%m-%d %H:%M:%S"))
        except ValueError:
            continue
        if age > max_age_hours * 3600:
            servers.run(["docker", "rmi", f"{servers.IMAGE_REPO}:{old}"], check=False)
            servers.run(["docker", "volume", "rm", VOLUME_PREFIX + old.removeprefix(TAG_PREFIX)], check=False)


def known_hosts_line(server: servers.Server, key_type: str = "ssh-ed25519") -> str:
    """The line `fab bootstrap --accept-new-host-key` appends for this server (hostkeys.AcceptNew's format)."""
    found = [line for line in server.known_hosts_lines() if line.split()[1] == key_type]
    if not found:
        raise servers.HarnessError(f"{server.name} has no {key_type} host key")
    return found[0]


# Copies of the template made ahead, in the background, while the tests run: a copy is 10 to 20 s of disk work,
# and the next module that starts a prepared server finds one made. The first server of a run copies itself.
SPARES = 2
_COPIES = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="template-copy")
_SPARES: list[tuple[str, concurrent.futures.Future]] = []  # (template volume, its copy: a volume's name)
_SPARES_LOCK = threading.Lock()


def _copy_ahead(template: str, tag: str) -> str:
    spare = f"{servers.CONTAINER_PREFIX}spare-{uuid.uuid4().hex[:8]}-docker"
    try:
        with servers._file_lock(LOCK, shared=True):  # no one removes the template while it is copied
            servers.copy_volume(template, spare, tag)
    except BaseException:
        servers.run(["docker", "volume", "rm", "-f", spare], check=False)
        raise
    return spare


def take_spare(template: str) -> str | None:
    """A copy of ``template`` made ahead (waiting for it if it is being made), or None."""
    while True:
        with _SPARES_LOCK:  # servers may start in threads (a cluster)
            entry = next((entry for entry in _SPARES if entry[0] == template), None)
            if entry is None:
                return None
            _SPARES.remove(entry)
        try:
            return entry[1].result()
        except Exception as error:  # noqa: BLE001 - the next copy, or the caller's own; say why not this one
            servers.say(f"a copy of {template} made ahead failed: {error}")


def copy_ahead(template: str, tag: str) -> None:
    """Have ``SPARES`` copies of ``template`` made or being made in the background."""
    with _SPARES_LOCK:
        while sum(1 for source, _ in _SPARES if source == template) < SPARES:
            _SPARES.append((template, _COPIES.submit(_copy_ahead, template, tag)))


def discard_spares() -> None:
    """Drop the copies made ahead that no server took (at the end of a run): those not begun are cancelled, the
    others removed in the background once made."""
    with _SPARES_LOCK:
        left = _SPARES[:]
        _SPARES.clear()
    for _template, copy in left:
        if not copy.cancel():
            with contextlib.suppress(Exception):
                servers.remove_volume_later(copy.result())


def start_prepared(factory, laptop: Path, network: str | None = None):
    """A new server in the prepared state, started by `factory` (so it is removed with the others); the laptop
    knows its host key as if it had run `fab bootstrap --accept-new-host-key` against it. ``network``: a network
    of `create_network()` it joins, where other servers reach it."""
    tag, volume = prepared()
    joins = {"network": network} if network else {}
    spare = take_spare(volume)
    if spare:
        server = factory(SUITE, image=tag, docker_volume=spare, **joins)
    else:
        with servers._file_lock(LOCK, shared=True):  # no one removes the template while it is copied
            server = factory(SUITE, image=tag, docker_from=volume, **joins)
    copy_ahead(volume, tag)  # for the next servers, while this one's tests run
    known = laptop / ".ssh" / "known_hosts"
    with known.open("a") as handle:
        handle.write(known_hosts_line(server) + "\n")
    return server


def dependency_layer_age(server: servers.Server, image: str) -> float:
    """Seconds between the layer of ``image`` on ``server`` that copies the dependencies' /venv from the build
    stage and the server's start: positive when the layer was built before the server started (the preparation's
    build cache was reused, the build stage's `pip install` included: a rebuilt venv differs, its .pyc files too)."""
    history = server.exec(f"docker history --no-trunc --format '{{{{.CreatedAt}}}}|{{{{.CreatedBy}}}}' {image}")
    created = [line.split("|", 1)[0] for line in history.stdout.splitlines() if "COPY" in line and " in /venv" in line]
    assert created, f"no layer copies /venv in {image}:\n{history.stdout}"
    started = servers.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", server.name]).stdout.strip()
    return servers.epoch(started) - servers.epoch(created[0])



def identity(server: servers.Server) -> tuple[str, str, str]:
    """(machine-id, the nested engine's ID, the ed25519 host key): each copy of the prepared server has its own."""
    out = server.exec("cat /etc/machine-id; docker info -f '{{.ID}}'; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub")
    machine, engine, key = out.stdout.split()
    return machine, engine, key
