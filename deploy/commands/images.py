"""Images built on this machine and shipped to servers through a registry on loopback, over an SSH tunnel.

Only the layers a server lacks cross the wire: the laptop runs the upstream ``registry:2`` image on
127.0.0.1 (storage in a volume, so pushes are incremental too), and each server's engine pulls from its
own 127.0.0.1:PORT, which the deploy's SSH connection forwards back to that registry. Docker talks
plain HTTP to a registry on 127.0.0.0/8 without any configuration, so no TLS and no credentials.
"""

from shlex import quote

REGISTRY_IMAGE = "registry:2"
REGISTRY_CONTAINER = "mysite-registry"
REGISTRY_VOLUME = "mysite-registry"
REGISTRY_PORT = 5000  # inside the container


def architecture() -> str:
    """The engine's CPU architecture as Go names it (x86_64 engines say x86_64, arm ones aarch64)."""
    return "docker info --format '{{.Architecture}}'"


def engine_answers() -> str:
    return "docker info --format '{{.ServerVersion}}'"


def registry_state() -> str:
    """'running' / 'exited' / nothing, for the laptop's registry container."""
    return f"docker inspect -f '{{{{.State.Status}}}}' {REGISTRY_CONTAINER} 2>/dev/null || true"


def start_registry() -> str:
    # 127.0.0.1 only, on a port Docker picks: nothing outside this machine ever reaches it
    return (f"docker run -d --name {REGISTRY_CONTAINER} --restart unless-stopped "
            f"-p 127.0.0.1::{REGISTRY_PORT} -v {REGISTRY_VOLUME}:/var/lib/registry {REGISTRY_IMAGE}")


def restart_registry() -> str:
    return f"docker start {REGISTRY_CONTAINER}"


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
