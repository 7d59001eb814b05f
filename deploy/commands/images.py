"""Images built on this machine and shipped to servers through a registry on loopback, over an SSH tunnel.

Only the layers a server lacks cross the wire: the laptop runs the upstream ``registry:2`` image on
127.0.0.1 (storage in a volume, so pushes are incremental too), and each server's engine pulls from its
own 127.0.0.1:PORT, which the deploy's SSH connection forwards back to that registry. Docker talks
plain HTTP to a registry on 127.0.0.0/8 without any configuration, so no TLS.

The registry lives for one ship only: writable and without a password for the push (no tunnel is
open then), then read-only behind htpasswd auth with a fresh random password while servers pull
(anyone else on a server can reach the tunnel's port), then pruned to the release just shipped and
removed. Its volume stays, so the next push writes only new layers.
"""

from shlex import quote

from deploy.names import TOOLKIT

REGISTRY_IMAGE = "registry:2"
# One registry on this machine for every app (one ship at a time: deploy.images.registry_lock): the toolkit's
REGISTRY_CONTAINER = f"{TOOLKIT}-registry"
REGISTRY_VOLUME = f"{TOOLKIT}-registry"
REGISTRY_PORT = 5000  # inside the container
REGISTRY_CONFIG = "/etc/docker/registry/config.yml"
HTPASSWD = "/etc/docker/registry/htpasswd"
STORAGE = "/var/lib/registry"
# the registry's configuration by environment: read-only storage, and htpasswd (bcrypt) logins
SERVING = ('REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled":true}', "REGISTRY_AUTH=htpasswd",
           f"REGISTRY_AUTH_HTPASSWD_REALM={TOOLKIT}", f"REGISTRY_AUTH_HTPASSWD_PATH={HTPASSWD}")


def architecture() -> str:
    """The engine's CPU architecture as Go names it (x86_64 engines say x86_64, arm ones aarch64)."""
    return "docker info --format '{{.Architecture}}'"


def engine_answers() -> str:
    return "docker info --format '{{.ServerVersion}}'"


def registry_state() -> str:
    """'running' / 'exited' / nothing, for the laptop's registry container."""
    return f"docker inspect -f '{{{{.State.Status}}}}' {REGISTRY_CONTAINER} 2>/dev/null || true"


def _registry(verb: str, *environment: str) -> str:
    # 127.0.0.1 only, on a port Docker picks: nothing outside this machine reaches it but through a tunnel
    settings = "".join(f" -e {quote(setting)}" for setting in environment)
    return (f"docker {verb} --name {REGISTRY_CONTAINER} -p 127.0.0.1::{REGISTRY_PORT} "
            f"-v {REGISTRY_VOLUME}:{STORAGE}{settings} {REGISTRY_IMAGE}")


def start_registry() -> str:
    """Writable and open, for this machine's push only (no tunnel is open while it runs)."""
    return _registry("run -d")


def create_serving_registry() -> str:
    """Read-only, htpasswd logins only; started by ``start_created_registry`` once the password file is in."""
    return _registry("create", *SERVING)


def copy_htpasswd(path: str) -> str:
    return f"docker cp {quote(path)} {REGISTRY_CONTAINER}:{HTPASSWD}"


def start_created_registry() -> str:
    return f"docker start {REGISTRY_CONTAINER} >/dev/null"


def remove_registry() -> str:
    """The container only: its volume (every layer pushed) stays for the next push."""
    return f"docker rm -f {REGISTRY_CONTAINER} >/dev/null"


def prune_registry(release: str) -> str:
    """Untag every release but ``release`` in the registry's storage, then delete what no tag needs.

    garbage-collect needs the registry read-only (it is, while it serves) and runs with its config.
    """
    tags = f"{STORAGE}/docker/registry/v2/repositories/*/_manifests/tags"
    untag_others = f"find {tags} -mindepth 1 -maxdepth 1 ! -name {quote(release)} -exec rm -rf {{}} +"
    collect = f"registry garbage-collect --delete-untagged {REGISTRY_CONFIG} >/dev/null"
    return f"docker exec {REGISTRY_CONTAINER} sh -c {quote(f'{untag_others}; {collect}')}"


def registry_port() -> str:
    """Prints the host port the registry is published on, e.g. 127.0.0.1:49153."""
    return f"docker port {REGISTRY_CONTAINER} {REGISTRY_PORT}"


def parse_port(text: str) -> int:
    """The port of the first 127.0.0.1 binding in ``docker port`` output; 0 when there is none."""
    for line in text.splitlines():
        host, _, port = line.strip().rpartition(":")
        if host == "127.0.0.1" and port.isdigit():
            return int(port)
    return 0


def at(port: int, image: str) -> str:
    """``image`` as named in the registry on 127.0.0.1:``port``."""
    return f"127.0.0.1:{int(port)}/{image}"


def image_id(image: str) -> str:
    return f"docker image inspect -f '{{{{.Id}}}}' {quote(image)}"


def tag(source: str, target: str) -> str:
    return f"docker tag {quote(source)} {quote(target)}"


def push(image: str) -> str:
    return f"docker push {quote(image)}"


def untag(*images: str) -> str:
    """Remove tags only: an image that still has another name stays."""
    return f"docker rmi {' '.join(quote(i) for i in images)} >/dev/null"


def login(port: int, user: str) -> str:
    """Log the server's Docker in to the tunnel's registry; the password comes on stdin."""
    return f"docker login --username {quote(user)} --password-stdin 127.0.0.1:{int(port)} >/dev/null"


def logout(port: int) -> str:
    """Remove the login from the user's ~/.docker/config.json."""
    return f"docker logout 127.0.0.1:{int(port)} >/dev/null"


def gateway_ports() -> str:
    """sshd's effective GatewayPorts (root reads sshd's host keys, which `sshd -T` needs)."""
    return "sshd -T | grep -i '^gatewayports '"


def parse_gateway_ports(text: str) -> str:
    """'no', 'yes', 'clientspecified', or '' when sshd did not say."""
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key.lower() == "gatewayports":
            return value.strip().lower()
    return ""


def pull(image: str) -> str:
    return f"docker pull -q {quote(image)}"


def pull_as(remote: str, image: str) -> str:
    """Pull ``remote`` through the tunnel, name it ``image``, drop the registry's name, print the image ID."""
    return f"{pull(remote)} >/dev/null && {tag(remote, image)} && {untag(remote)} && {image_id(image)}"


def layers() -> str:
    """Every layer (diff ID) the engine holds, one a line."""
    return ("ids=$(docker images -aq); [ -z \"$ids\" ] || "
            "docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' $ids | sort -u")


def image_layers(image: str) -> str:
    return f"docker image inspect -f '{{{{range .RootFS.Layers}}}}{{{{println .}}}}{{{{end}}}}' {quote(image)}"


def free_bytes() -> str:
    """Free bytes where the engine keeps its images."""
    return "df -B1 --output=avail \"$(docker info --format '{{.DockerRootDir}}')\" | tail -n 1"


def layer_sizes(image: str) -> str:
    """Sizes of the image's layers (bytes, oldest first): `docker history` with the empty ones left out."""
    return (f"docker history --no-trunc --format '{{{{.Size}}}}' {quote(image)} | tac")
