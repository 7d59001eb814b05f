"""Stand-in base images for an engine that cannot pull from a registry.

`docker pull` fails on these machines (docs/TESTING.md), so `FROM python:3.11-slim-bookworm` and
`FROM nginx:1.30` only build when images with those names are already in the engine. When they are
absent, we build look-alikes from Debian packages with debootstrap and import them under the
upstream tags. The production Dockerfiles keep naming the real images; a stand-in is a test fixture.

Also: `load_into(server, images)` copies images into a nested engine (a systemd test server).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PYTHON_IMAGE = "python:3.11-slim-bookworm"
NGINX_IMAGE = "nginx:1.30"
STANDIN_LABEL = "mysite.standin"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LOCK_DIR = Path(tempfile.gettempdir())


@dataclass(frozen=True)
class StandIn:
    """How to fake one upstream image from Debian packages."""

    tag: str
    packages: tuple[str, ...]
    changes: tuple[str, ...]  # `docker import --change` lines: make it look like the upstream image


STANDINS: dict[str, StandIn] = {
    PYTHON_IMAGE: StandIn(
        tag=PYTHON_IMAGE,
        packages=("python3", "python3-venv", "python3-pip", "python-is-python3", "ca-certificates"),
        changes=(
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
        ),
    ),
    NGINX_IMAGE: StandIn(
        tag=NGINX_IMAGE,
        packages=("nginx", "ca-certificates"),
        changes=(
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "EXPOSE 80",
            'CMD ["nginx", "-g", "daemon off;"]',
        ),
    ),
}


def say(message: str) -> None:
    """Loud on purpose: a stand-in in place of an upstream image must never go unnoticed."""
    print(f"[harness/images] {message}", file=sys.stderr, flush=True)


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def is_standin(tag: str) -> bool:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return False
    labels = json.loads(out.stdout.strip() or "null") or {}
    return STANDIN_LABEL in labels


def debian_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str:
    """The machine's Debian mirror (first `URIs:` of debian.sources), else deb.debian.org."""
    try:
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                uri = line.split(":", 1)[1].split()[0]
                if "security" not in uri:
                    return uri
    except OSError:
        pass
    return DEFAULT_MIRROR


def debootstrap_command(standin: StandIn, root: Path, mirror: str, suite: str = "bookworm") -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        "--include=" + ",".join(standin.packages),
        suite,
        str(root),
        mirror,
    ]


def import_command(standin: StandIn) -> list[str]:
    cmd = ["docker", "import"]
    for change in (*standin.changes, f"LABEL {STANDIN_LABEL}=debootstrap"):
        cmd += ["--change", change]
    return [*cmd, "-", standin.tag]


def _prepare_rootfs(root: Path) -> None:
    """Make the rootfs usable for our builds: the proxy's CA for pip, apt that accepts the snapshot."""
    if HOST_CA_BUNDLE.exists():
        # PyPI is reached through a proxy with its own CA: pip in a build needs the machine's bundle.
        shutil.copy(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        local_ca = root / "usr/local/share/ca-certificates"
        local_ca.mkdir(parents=True, exist_ok=True)
        # keeps the proxy CA when a later apt-get runs update-ca-certificates
        shutil.copy(HOST_CA_BUNDLE, local_ca / "host-bundle.crt")
    (root / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    (root / "etc/apt/apt.conf.d/99mysite-standin").write_text(
        'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n'
    )
    for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for entry in (root / junk).glob("*"):
            if entry.is_file():
                entry.unlink()


@contextmanager
def _lock(tag: str):
    """Several harnesses share the engine: only one of them builds a given stand-in."""
    path = LOCK_DIR / f"mysite-standin-{tag.replace(':', '_').replace('/', '_')}.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_standin(tag: str, mirror: str | None = None) -> float:
    """Build and import the stand-in for `tag`; returns the seconds it took."""
    standin = STANDINS[tag]
    if os.geteuid() != 0:
        raise RuntimeError(f"{tag} is not in the engine and building a stand-in needs root (debootstrap)")
    if shutil.which("debootstrap") is None:
        raise RuntimeError(f"{tag} is not in the engine and debootstrap is not installed")
    mirror = mirror or debian_mirror()
    start = time.monotonic()
    say(f"STAND-IN: {tag} is not in the engine (no registry here); building it with debootstrap from {mirror}")
    with tempfile.TemporaryDirectory(prefix="mysite-standin-") as tmp:
        root = Path(tmp) / "rootfs"
        done = subprocess.run(debootstrap_command(standin, root, mirror), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap for {tag} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        _prepare_rootfs(root)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(import_command(standin), stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import of {tag} failed: {imported.stderr.strip()}")
    took = time.monotonic() - start
    say(f"STAND-IN: {tag} is now a debootstrap image (label {STANDIN_LABEL}), built in {took:.0f}s")
    return took


def ensure_image(tag: str) -> str:
    """Make `tag` available: the real image if present, else a cached or freshly built stand-in."""
    with _lock(tag):
        if image_exists(tag):
            if is_standin(tag):
                say(f"STAND-IN: using the cached debootstrap stand-in for {tag}, not the upstream image")
            return tag
        build_standin(tag)
    return tag


def ensure_base_images(tags: tuple[str, ...] = (PYTHON_IMAGE, NGINX_IMAGE)) -> dict[str, str]:
    """Ensure every base image in parallel (each debootstrap takes about a minute)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(tags)) as pool:
        return dict(zip(tags, pool.map(ensure_image, tags), strict=True))


def load_into(server: str, images: list[str] | tuple[str, ...]) -> None:
    """Copy images into the Docker engine that runs inside container `server` (a nested engine)."""
    for image in images:
        say(f"loading {image} into the engine inside {server}")
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        load = subprocess.run(
            ["docker", "exec", "-i", server, "docker", "load"], stdin=save.stdout, capture_output=True, text=True
        )
        save.stdout.close()
        save.wait()
        if save.returncode != 0 or load.returncode != 0:
            raise RuntimeError(f"could not load {image} into {server}: {load.stderr.strip()}")


if __name__ == "__main__":
    ensure_base_images(tuple(sys.argv[1:]) or (PYTHON_IMAGE, NGINX_IMAGE))
