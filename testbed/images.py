"""Stand-in upstream images for an engine that cannot pull from a registry.

`docker pull` fails on these machines (docs/TESTING.md), so `FROM python:3.11-slim-bookworm` and
`FROM nginx:1.30` only build when images with those names are already in the engine, and
`registry:2` or `postgres:17` only run when they are there. When one is absent, we build a
look-alike from Debian packages with debootstrap and import it under the upstream tag. The
project's own files keep naming the real images; a stand-in is a test fixture.

A stand-in may also carry files from testbed/standins/ (a config, an entrypoint), a setup script
run in a chroot of its rootfs, and Dockerfile instructions that `docker import --change` cannot
set (STOPSIGNAL on Docker 20.10). Such a stand-in is labelled with a hash of its recipe, and one
built from an older recipe is rebuilt; python and nginx keep being cached by tag alone.

Also: `load_into(server, images)` copies images into a nested engine (a systemd test server).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PYTHON_IMAGE = "python:3.11-slim-bookworm"
NGINX_IMAGE = "nginx:1.30"
REGISTRY_IMAGE = "registry:2"
POSTGRES_IMAGE = "postgres:17"
STANDIN_LABEL = "mysite.standin"
RECIPE_LABEL = "mysite.standin.recipe"
STANDIN_FILES = Path(__file__).resolve().parent / "standins"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LOCK_DIR = Path(tempfile.gettempdir())
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class RootFile:
    """A file of testbed/standins/ (`source`) written into a stand-in's rootfs at `dest`."""

    source: str
    dest: str
    mode: int = 0o644


@dataclass(frozen=True)
class StandIn:
    """How to fake one upstream image from Debian packages."""

    tag: str
    packages: tuple[str, ...]
    changes: tuple[str, ...]  # `docker import --change` lines: make it look like the upstream image
    suite: str = "bookworm"
    files: tuple[RootFile, ...] = ()
    setup: str | None = None  # a script of testbed/standins/ run with /bin/sh in a chroot of the rootfs
    instructions: tuple[str, ...] = ()  # Dockerfile lines `docker import` cannot set, built on top

    @property
    def versioned(self) -> bool:
        """True when the recipe has parts besides packages: then images carry its hash (RECIPE_LABEL)."""
        return bool(self.files or self.setup or self.instructions)


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
    # Debian's distribution 2.8 with the upstream image's config and entrypoint (no auth)
    REGISTRY_IMAGE: StandIn(
        tag=REGISTRY_IMAGE,
        packages=("docker-registry", "ca-certificates"),
        changes=(
            f"ENV PATH={DEFAULT_PATH}",
            "EXPOSE 5000",
            "VOLUME /var/lib/registry",
            'ENTRYPOINT ["/entrypoint.sh"]',
            'CMD ["/etc/docker/registry/config.yml"]',
        ),
        files=(
            RootFile("registry-config.yml", "/etc/docker/registry/config.yml"),
            RootFile("registry-entrypoint.sh", "/entrypoint.sh", 0o755),
        ),
        setup="registry-setup.sh",
    ),
    # Debian 13's PostgreSQL 17 with an entrypoint that honours the upstream image's environment
    POSTGRES_IMAGE: StandIn(
        tag=POSTGRES_IMAGE,
        suite="trixie",
        packages=("postgresql-17", "postgresql-client-17", "util-linux", "locales", "ca-certificates"),
        changes=(
            f"ENV PATH={DEFAULT_PATH}:/usr/lib/postgresql/17/bin",
            "ENV PG_MAJOR=17",
            "ENV PGDATA=/var/lib/postgresql/data",
            "ENV LANG=en_US.utf8",
            "EXPOSE 5432",
            "VOLUME /var/lib/postgresql/data",
            'ENTRYPOINT ["docker-entrypoint.sh"]',
            'CMD ["postgres"]',
        ),
        files=(RootFile("postgres-entrypoint.sh", "/usr/local/bin/docker-entrypoint.sh", 0o755),),
        setup="postgres-setup.sh",
        instructions=("STOPSIGNAL SIGINT",),  # a fast shutdown, as upstream; not a `docker import` change
    ),
}


def say(message: str) -> None:
    """Loud on purpose: a stand-in in place of an upstream image must never go unnoticed."""
    print(f"[harness/images] {message}", file=sys.stderr, flush=True)


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def is_standin(tag: str) -> bool:
    labels = image_labels(tag)
    return labels is not None and STANDIN_LABEL in labels


def image_labels(tag: str) -> dict[str, str] | None:
    """The labels of image `tag` ({} for none), or None when the engine has no such image."""
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip() or "null") or {}


def recipe_hash(standin: StandIn, files_dir: Path = STANDIN_FILES) -> str:
    """12 hex digits that change with anything that shapes the stand-in (packages, files, scripts)."""
    recipe = {
        "tag": standin.tag,
        "suite": standin.suite,
        "packages": standin.packages,
        "changes": standin.changes,
        "files": [[f.dest, f.mode, (files_dir / f.source).read_text()] for f in standin.files],
        "setup": (files_dir / standin.setup).read_text() if standin.setup else None,
        "instructions": standin.instructions,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def stale_reason(standin: StandIn | None, labels: dict[str, str], files_dir: Path = STANDIN_FILES) -> str | None:
    """Why a cached image must be rebuilt, or None to use it.

    Only a stand-in of a versioned recipe is ever rebuilt: an upstream image (no STANDIN_LABEL)
    and the python and nginx stand-ins are used as they are.
    """
    if standin is None or not standin.versioned or STANDIN_LABEL not in labels:
        return None
    want = recipe_hash(standin, files_dir)
    have = labels.get(RECIPE_LABEL)
    if have == want:
        return None
    return f"built from recipe {have or '(none)'}, not the current {want}"


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


def debootstrap_command(standin: StandIn, root: Path, mirror: str, suite: str | None = None) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        "--include=" + ",".join(standin.packages),
        suite or standin.suite,
        str(root),
        mirror,
    ]


def import_command(standin: StandIn, files_dir: Path = STANDIN_FILES) -> list[str]:
    labels = [f"LABEL {STANDIN_LABEL}=debootstrap"]
    if standin.versioned:
        labels.append(f"LABEL {RECIPE_LABEL}={recipe_hash(standin, files_dir)}")
    cmd = ["docker", "import"]
    for change in (*standin.changes, *labels):
        cmd += ["--change", change]
    return [*cmd, "-", standin.tag]


def instructions_dockerfile(standin: StandIn) -> str:
    """The Dockerfile that adds what `docker import` cannot set, on top of the imported image."""
    return "".join(f"{line}\n" for line in (f"FROM {standin.tag}", *standin.instructions))


def rootfs_path(root: Path, dest: str) -> Path:
    """`dest` (absolute, in the image) under `root`, refusing a way out of the rootfs.

    The rootfs holds absolute symlinks (/var/run -> /run): followed on the host, a write through
    one would land outside the rootfs.
    """
    parts = PurePosixPath(dest).parts
    if not dest.startswith("/") or ".." in parts or len(parts) < 2:
        raise ValueError(f"not an absolute file path inside an image: {dest!r}")
    path = root
    for part in parts[1:]:
        path = path / part
        if path.is_symlink():
            raise ValueError(f"{dest} goes through the symlink {path} in the rootfs")
    return path


def _install_files(standin: StandIn, root: Path, files_dir: Path = STANDIN_FILES) -> None:
    for item in standin.files:
        target = rootfs_path(root, item.dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files_dir / item.source, target)
        target.chmod(item.mode)


def _run_setup(standin: StandIn, root: Path, files_dir: Path = STANDIN_FILES) -> None:
    if not standin.setup:
        return
    script = rootfs_path(root, "/tmp/mysite-standin-setup.sh")  # noqa: S108 - a path inside the rootfs
    shutil.copyfile(files_dir / standin.setup, script)
    try:
        done = subprocess.run(
            ["chroot", str(root), "/bin/sh", "/tmp/mysite-standin-setup.sh"],  # noqa: S108
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
    finally:
        script.unlink()
    if done.returncode != 0:
        raise RuntimeError(
            f"{standin.setup} failed in the rootfs of {standin.tag}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def _build_instructions(standin: StandIn) -> None:
    """Put `standin.instructions` on the imported image (classic builder, metadata only, no context)."""
    if not standin.instructions:
        return
    built = subprocess.run(
        ["docker", "build", "--quiet", "--tag", standin.tag, "-"],
        input=instructions_dockerfile(standin),
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        timeout=300,
    )
    if built.returncode != 0:
        raise RuntimeError(f"docker build of {standin.tag}'s {standin.instructions} failed: {built.stderr.strip()}")


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
    standin = STANDINS.get(tag)
    if standin is None:
        raise RuntimeError(f"{tag} is not in the engine and the harness has no stand-in for it")
    if os.geteuid() != 0:
        raise RuntimeError(f"{tag} is not in the engine and building a stand-in needs root (debootstrap)")
    if shutil.which("debootstrap") is None:
        raise RuntimeError(f"{tag} is not in the engine and debootstrap is not installed")
    mirror = mirror or debian_mirror()
    start = time.monotonic()
    say(
        f"STAND-IN: {tag} is not in the engine (no registry here); "
        f"building it with debootstrap of {standin.suite} from {mirror}"
    )
    with tempfile.TemporaryDirectory(prefix="mysite-standin-") as tmp:
        root = Path(tmp) / "rootfs"
        done = subprocess.run(debootstrap_command(standin, root, mirror), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap for {tag} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        _prepare_rootfs(root)
        _install_files(standin, root)
        _run_setup(standin, root)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(import_command(standin), stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import of {tag} failed: {imported.stderr.strip()}")
    _build_instructions(standin)
    took = time.monotonic() - start
    say(f"STAND-IN: {tag} is now a debootstrap image (label {STANDIN_LABEL}), built in {took:.0f}s")
    return took


def ensure_image(tag: str) -> str:
    """Make `tag` available: the real image if present, else a cached or freshly built stand-in."""
    with _lock(tag):
        labels = image_labels(tag)
        old_id = None
        if labels is not None:
            stale = stale_reason(STANDINS.get(tag), labels)
            if stale is None:
                if STANDIN_LABEL in labels:
                    say(f"STAND-IN: using the cached debootstrap stand-in for {tag}, not the upstream image")
                return tag
            say(f"STAND-IN: the cached stand-in for {tag} was {stale}: building it again")
            old_id = _image_id(tag)
        build_standin(tag)
        if old_id and old_id != _image_id(tag):
            # the outdated stand-in, now untagged; `rmi` without --force keeps it while a container uses it
            subprocess.run(["docker", "rmi", old_id], capture_output=True)
    return tag


def _image_id(tag: str) -> str | None:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


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
    # python -m testbed.images [TAG ...]: e.g. `registry:2 postgres:17`; no tag: python and nginx
    ensure_base_images(tuple(sys.argv[1:]) or (PYTHON_IMAGE, NGINX_IMAGE))
