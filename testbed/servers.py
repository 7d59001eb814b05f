"""Fresh servers for end-to-end tests: systemd Debian containers reached over real SSH.

A container that runs systemd as PID 1 behaves like a fresh Debian VPS (docs/TESTING.md): `apt-get
install docker.io` inside it starts a real nested Docker engine through systemd. This module builds
such a server image with debootstrap (cached by a hash of the recipe), runs servers from it with
published 127.0.0.1 ports, and talks to them over real SSH with strict host-key checking.

    from testbed.servers import start_server
    srv = start_server("bookworm")
    srv.ssh("sudo -n true")                    # real SSH as deploy, strict known_hosts
    srv.exec("systemctl is-system-running")    # docker exec as root (setup and inspection only)
    srv.remove()

Users on every server: `deploy` (passwordless sudo), `nosudo` (no sudo), `pwsudo` (sudo with the
password PWSUDO_PASSWORD). All three accept the harness key (`harness_keypair()`), injected at start.
Host keys are generated at each server's first boot, so every server has its own.

/var/lib/docker is a named volume (`<container>-docker`), not a tmpfs: a reboot
(`Server.restart()`, i.e. `docker restart`) keeps the nested engine's images and volumes like a real
disk. The nested engine uses overlay2 on it (checked on Debian 12 and 13).

A legacy server (legacy=True) runs the article's stack: host nginx (a systemd service, enabled) on :80
in front of gunicorn on 127.0.0.1:8000 under deploy's user-level supervisord. Like in the article,
that supervisord is started by hand, so it does not come back after `restart()` (nginx does).
"""

from __future__ import annotations

import calendar
import concurrent.futures
import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from testbed import engine
from testbed.worktree import free_ports

REPO_ROOT = Path(__file__).resolve().parents[1]
E2E_DIR = Path(os.environ.get("MYSITE_E2E_DIR", REPO_ROOT / ".e2e"))
MIRROR = os.environ.get("MYSITE_E2E_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("MYSITE_E2E_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_REPO = "mysite-e2e-server"
CONTAINER_PREFIX = "mysite-e2e-srv-"
LABEL = "mysite-e2e-server"
SUITES = ("bookworm", "trixie")
USERS = ("deploy", "nosudo", "pwsudo")
PWSUDO_PASSWORD = "pw-sudo-secret"  # noqa: S105 - a throwaway test server's sudo password
BOOT_TIMEOUT = float(os.environ.get("MYSITE_E2E_BOOT_TIMEOUT", "120"))

PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "ca-certificates",
    "curl",
    "iproute2",
    "procps",
    "python3",
)
LEGACY_PACKAGES = ("nginx", "supervisor", "python3-gunicorn")

# Units that have nothing to do in a container and only fail or hang there.
MASKED_UNITS = (
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "getty.target",
    "getty@tty1.service",
    "console-getty.service",
    "serial-getty@.service",
    "systemd-modules-load.service",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "systemd-remount-fs.service",
    "systemd-firstboot.service",
    "systemd-hwdb-update.service",
    "e2scrub_reap.service",
)

# --- files baked into the base image -------------------------------------------------------------
SSHD_CONFIG = """\
# mysite e2e server: keys only, no DNS lookups (the client is always 127.0.0.1 through docker-proxy)
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
"""

# Host keys are not in the image: each server creates its own at first boot.
HOSTKEYS_UNIT = """\
[Unit]
Description=Generate this server's SSH host keys (first boot)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=ssh.service multi-user.target
"""

APT_CONF = """\
// The test mirror may serve a dated snapshot: do not refuse it for an expired Release file.
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
"""

CONFIGURE_SCRIPT = f"""\
set -eu
rm -f /etc/apt/sources.list
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
useradd --create-home --shell /bin/bash deploy
useradd --create-home --shell /bin/bash nosudo
useradd --create-home --shell /bin/bash --groups sudo pwsudo
usermod -p '*' deploy
usermod -p '*' nosudo
echo "pwsudo:{PWSUDO_PASSWORD}" | chpasswd
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-deploy
chmod 0440 /etc/sudoers.d/90-deploy
for u in deploy nosudo pwsudo; do
  install -d -m 700 -o "$u" -g "$u" "/home/$u/.ssh"
done
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
"""


def sources_file(suite: str, signed_by: bool) -> str:
    sig = "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" if signed_by else ""
    return (
        f"Types: deb\nURIs: {MIRROR}\nSuites: {suite} {suite}-updates\nComponents: main\n{sig}\n"
        f"Types: deb\nURIs: {SECURITY_MIRROR}\nSuites: {suite}-security\nComponents: main\n{sig}"
    )


# --- the legacy stack, as the article runs it ------------------------------------------------------
LEGACY_APP = '''\
"""The old mysite, as it ran before Docker: gunicorn under a user-level supervisord."""


def application(environ, start_response):
    body = b"<html><body><h1>legacy mysite</h1></body></html>\\n"
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]
'''

LEGACY_SUPERVISORD_CONF = """\
; ~/etc/supervisord.conf -- started by hand: supervisord -c ~/etc/supervisord.conf
[unix_http_server]
file=/home/deploy/etc/supervisor/var/supervisor.sock

[supervisord]
logfile=/home/deploy/etc/supervisor/var/log/supervisord.log
pidfile=/home/deploy/etc/supervisor/var/supervisord.pid

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///home/deploy/etc/supervisor/var/supervisor.sock

[include]
files = /home/deploy/etc/supervisor/conf.d/*.ini
"""

LEGACY_PROGRAM_INI = """\
[program:mysite]
command=/usr/bin/python3 -m gunicorn legacy_app:application -w 2 -b 127.0.0.1:8000
directory=/home/deploy/apps/mysite-legacy
autostart=true
autorestart=unexpected
user=deploy
stdout_logfile=/home/deploy/etc/supervisor/var/log/mysite-stdout.log
stderr_logfile=/home/deploy/etc/supervisor/var/log/mysite-stderr.log
"""

LEGACY_NGINX_SITE = """\
server {
    listen 80 default_server;
    server_name _;

    location / {
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_pass http://127.0.0.1:8000;
    }
}
"""

LEGACY_DOCKERFILE = """\
FROM {base}
RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {packages} \\
 && rm -f /usr/sbin/policy-rc.d && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY rootfs/ /
RUN rm -f /etc/nginx/sites-enabled/default \\
 && ln -s /etc/nginx/sites-available/mysite /etc/nginx/sites-enabled/mysite \\
 && mkdir -p /home/deploy/etc/supervisor/var/log \\
 && chown -R deploy:deploy /home/deploy/etc /home/deploy/apps
"""

LEGACY_FILES = {
    "home/deploy/apps/mysite-legacy/legacy_app.py": LEGACY_APP,
    "home/deploy/etc/supervisord.conf": LEGACY_SUPERVISORD_CONF,
    "home/deploy/etc/supervisor/conf.d/mysite.ini": LEGACY_PROGRAM_INI,
    "etc/nginx/sites-available/mysite": LEGACY_NGINX_SITE,
}
LEGACY_START = "supervisord -c ~/etc/supervisord.conf"
LEGACY_STATUS = "supervisorctl -c ~/etc/supervisord.conf status"

RECIPE_VERSION = "3"


# --- small helpers ---------------------------------------------------------------------------------
class HarnessError(RuntimeError):
    """Something in the e2e harness itself went wrong (not the code under test)."""


def say(message: str) -> None:
    print(f"[harness/servers] {message}", file=sys.stderr, flush=True)


def _tail(text: str | bytes | None, lines: int = 25) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(argv: list[str], *, check: bool = True, timeout: float | None = None, **kw) -> subprocess.CompletedProcess:
    """subprocess.run with captured text output and an error that shows the stderr tail."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    try:
        done = subprocess.run(argv, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"timed out after {timeout}s: {shlex.join(argv)}\n{_tail(exc.stderr)}") from exc
    if check and done.returncode != 0:
        raise HarnessError(
            f"command failed (exit {done.returncode}): {shlex.join(argv)[:300]}\n"
            f"--- stdout tail ---\n{_tail(done.stdout)}\n--- stderr tail ---\n{_tail(done.stderr)}"
        )
    return done


TIMINGS: list[tuple[str, float]] = []


def record_timing(phase: str, seconds: float) -> None:
    """Remember how long a phase took; printed and appended to .e2e/timings.log."""
    TIMINGS.append((phase, seconds))
    say(f"{phase}: {seconds:.1f}s")
    with contextlib.suppress(OSError):
        E2E_DIR.mkdir(parents=True, exist_ok=True)
        with open(E2E_DIR / "timings.log", "a") as log:
            log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{phase}\t{seconds:.1f}\n")


@contextlib.contextmanager
def timed(phase: str):
    start = time.monotonic()
    yield
    record_timing(phase, time.monotonic() - start)


@contextlib.contextmanager
def _file_lock(name: str, shared: bool = False):
    """Serialise builds across processes (two pytest runs must not build the same image twice).

    The lock lives in /tmp, not in the checkout: two clones that share one engine share the lock too.
    shared=True: many holders at once, none while someone holds it exclusively (e.g. copies of a template
    that only an exclusive holder makes or removes).
    """
    with open(Path(tempfile.gettempdir()) / f"mysite-e2e-{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def engine_problem() -> str | None:
    """None when a Docker engine answers (`engine.ensure_engine` asks `docker info`), else the reason."""
    try:
        engine.ensure_engine()
    except Exception as exc:  # noqa: BLE001 - any failure is a reason to report
        return f"the Docker engine could not be started: {exc}"
    return None


def build_problem() -> str | None:
    """None when server images can be built here, else why not (debootstrap needs root)."""
    if os.geteuid() != 0:
        return "building server images needs root (debootstrap, chroot)"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (apt-get install debootstrap)"
    return None


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


# --- the harness SSH key ---------------------------------------------------------------------------
def harness_keypair() -> tuple[Path, str]:
    """(private key path, public key line) of the harness's ed25519 key, created once in .e2e/ssh/."""
    key = E2E_DIR / "ssh" / "id_ed25519"
    with _file_lock("ssh-key"):
        if not key.exists():
            key.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(key.parent, 0o700)
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mysite-e2e-harness", "-f", str(key)])
    return key, key.with_suffix(".pub").read_text().strip()


# --- images ----------------------------------------------------------------------------------------
def recipe_hash(suite: str) -> str:
    recipe = json.dumps(
        {
            "v": RECIPE_VERSION,
            "suite": suite,
            "mirror": MIRROR,
            "security": SECURITY_MIRROR,
            "packages": PACKAGES,
            "masked": MASKED_UNITS,
            "sshd": SSHD_CONFIG,
            "hostkeys": HOSTKEYS_UNIT,
            "apt": APT_CONF,
            "configure": CONFIGURE_SCRIPT,
            "sources": sources_file(suite, True),
            "code": [inspect.getsource(f) for f in (_configure_rootfs, _import_rootfs)],
        },
        sort_keys=True,
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def legacy_recipe_hash(suite: str) -> str:
    recipe = json.dumps(
        {
            "base": recipe_hash(suite),
            "packages": LEGACY_PACKAGES,
            "files": LEGACY_FILES,
            "dockerfile": LEGACY_DOCKERFILE,
        },
        sort_keys=True,
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def image_tag(suite: str, legacy: bool = False) -> str:
    if legacy:
        return f"{IMAGE_REPO}:{suite}-legacy-{legacy_recipe_hash(suite)}"
    return f"{IMAGE_REPO}:{suite}-{recipe_hash(suite)}"


def _check_suite(suite: str) -> None:
    if suite not in SUITES:
        raise HarnessError(f"unknown suite {suite!r}: the harness builds {', '.join(SUITES)}")


def _configure_rootfs(root: Path, suite: str) -> None:
    etc = root / "etc"
    signed = (root / "usr/share/keyrings/debian-archive-keyring.gpg").exists()
    (etc / "apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (etc / "apt/sources.list.d/debian.sources").write_text(sources_file(suite, signed))
    (etc / "apt/apt.conf.d/99mysite-e2e-mirror").write_text(APT_CONF)
    (etc / "ssh/sshd_config.d").mkdir(parents=True, exist_ok=True)
    (etc / "ssh/sshd_config.d/50-mysite-e2e.conf").write_text(SSHD_CONFIG)
    units = etc / "systemd/system"
    units.mkdir(parents=True, exist_ok=True)
    (units / "mysite-e2e-hostkeys.service").write_text(HOSTKEYS_UNIT)
    for target in ("ssh.service.wants", "multi-user.target.wants"):
        (units / target).mkdir(exist_ok=True)
        link = units / target / "mysite-e2e-hostkeys.service"
        if not link.is_symlink():
            link.symlink_to("/etc/systemd/system/mysite-e2e-hostkeys.service")
    for unit in MASKED_UNITS:
        path = units / unit
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to("/dev/null")
    run(["chroot", str(root), "/bin/sh", "-c", CONFIGURE_SCRIPT], timeout=300)


def _import_rootfs(root: Path, tag: str, suite: str) -> None:
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    try:
        run(
            [
                "docker",
                "import",
                "--change",
                "ENV container=docker",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                f"LABEL {LABEL}={suite}",
                "-",
                tag,
            ],
            stdin=tar.stdout,
            timeout=600,
        )
    finally:
        tar.stdout.close()
        tar.wait()
    if tar.returncode != 0:
        raise HarnessError(f"tar of {root} failed (exit {tar.returncode})")


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [p for p in points if p.startswith(prefix)]


def _remove_build_dir(build_dir: Path) -> None:
    """Delete a debootstrap tree, but only once nothing (proc, sys, a /dev bind) is mounted in it."""
    for point in sorted(_mounts_under(build_dir), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    left = _mounts_under(build_dir)
    if left:
        say(f"NOT deleting {build_dir}: still mounted: {left}")
        return
    shutil.rmtree(build_dir, ignore_errors=True)


def build_server_image(suite: str = "bookworm", *, force: bool = False) -> str:
    """Return the tag of the fresh-server image for `suite`, building it with debootstrap if needed.

    Cached by tag: `mysite-e2e-server:<suite>-<recipe hash>`; a changed recipe builds a new tag.
    """
    _check_suite(suite)
    tag = image_tag(suite)
    with _file_lock(f"image-{suite}"):
        if not force and image_exists(tag):
            say(f"using cached server image {tag}")
            return tag
        problem = build_problem()
        if problem:
            raise HarnessError(f"cannot build {tag}: {problem}")
        start = time.monotonic()
        say(f"building server image {tag} with debootstrap from {MIRROR} (about a minute)")
        cache = E2E_DIR / "debootstrap-cache" / suite
        cache.mkdir(parents=True, exist_ok=True)
        build_dir = Path(tempfile.mkdtemp(prefix=f"rootfs-{suite}-", dir=E2E_DIR))
        root = build_dir / "rootfs"
        try:
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--cache-dir={cache}",
                    "--include=" + ",".join(PACKAGES),
                    suite,
                    str(root),
                    MIRROR,
                ],
                timeout=1200,
            )
            _configure_rootfs(root, suite)
            _import_rootfs(root, tag, suite)
        finally:
            _remove_build_dir(build_dir)
        record_timing(f"build image {tag}", time.monotonic() - start)
        _prune_stale_tags(f"{suite}-", tag)
    return tag


def _prune_stale_tags(prefix: str, keep: str) -> None:
    """Drop older recipes' images of one kind (`docker rmi` without -f: an image in use stays)."""
    pattern = re.compile(re.escape(prefix) + r"[0-9a-f]{12}")
    out = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPO], check=False).stdout
    for tag in out.split():
        if tag != keep and pattern.fullmatch(tag.split(":", 1)[1]):
            if run(["docker", "rmi", tag], check=False).returncode == 0:
                say(f"removed the stale server image {tag}")


def build_legacy_image(suite: str = "bookworm", *, force: bool = False) -> str:
    """The server image plus the article's legacy stack (host nginx, supervisor, gunicorn) baked in."""
    base = build_server_image(suite)
    tag = image_tag(suite, legacy=True)
    with _file_lock(f"image-{suite}-legacy"):
        if not force and image_exists(tag):
            say(f"using cached legacy server image {tag}")
            return tag
        start = time.monotonic()
        E2E_DIR.mkdir(parents=True, exist_ok=True)  # a fresh checkout whose engine already holds the server image
        with tempfile.TemporaryDirectory(prefix="legacy-ctx-", dir=E2E_DIR) as ctx:
            ctx_path = Path(ctx)
            (ctx_path / "Dockerfile").write_text(
                LEGACY_DOCKERFILE.format(base=base, packages=" ".join(LEGACY_PACKAGES))
            )
            for rel, content in LEGACY_FILES.items():
                target = ctx_path / "rootfs" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
            run(
                ["docker", "build", "--network", "host", "-t", tag, str(ctx_path)],
                env={**os.environ, "DOCKER_BUILDKIT": "0"},
                timeout=1200,
            )
        record_timing(f"build image {tag}", time.monotonic() - start)
        _prune_stale_tags(f"{suite}-legacy-", tag)
    return tag


def prebuild_images(suites: tuple[str, ...] = SUITES, legacy: bool = True) -> dict[str, str]:
    """Build (or find cached) every server image, the suites in parallel. Returns {kind: tag}."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(suites)) as pool:
        tags = dict(zip(suites, pool.map(build_server_image, suites), strict=True))
    if legacy:
        tags["bookworm-legacy"] = build_legacy_image("bookworm")
    return tags


def remove_images(suite: str | None = None) -> None:
    """Remove this harness's cached images (all suites, or one)."""
    out = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPO]).stdout.split()
    for tag in out:
        if suite is None or tag.split(":", 1)[1].startswith(f"{suite}-"):
            run(["docker", "rmi", tag], check=False)


# --- servers ---------------------------------------------------------------------------------------
@dataclass
class Server:
    """One running fresh server. Create it with `start_server()`."""

    name: str  # the container name: mysite-e2e-srv-<short name>
    suite: str
    image: str
    ssh_port: int
    http_port: int
    https_port: int
    key_filename: str
    known_hosts: str
    legacy: bool = False
    host: str = "127.0.0.1"
    user: str = "deploy"
    volume: str = ""
    workdir: Path = field(default_factory=Path)

    # -- addresses --
    @property
    def host_string(self) -> str:
        return f"{self.user}@{self.host}:{self.ssh_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def ssh_config(self) -> str:
        """An OpenSSH client config for this server (strict host keys, the harness key only)."""
        return str(self.workdir / "ssh_config")

    def ssh_argv(self, user: str = "deploy") -> list[str]:
        """argv prefix for the OpenSSH client: `[*srv.ssh_argv(), "uptime"]`."""
        return ["ssh", "-F", self.ssh_config, "-p", str(self.ssh_port), f"{user}@{self.host}"]

    # -- root access through docker (setup and inspection, not the code under test) --
    def exec(
        self, cmd: str, check: bool = True, timeout: float | None = 600, input: str | None = None, user: str = "root"
    ) -> subprocess.CompletedProcess:
        """Run `cmd` with `bash -lc` inside the server through `docker exec` (as root by default)."""
        argv = ["docker", "exec", *(["-i"] if input is not None else []), "-u", user, self.name, "bash", "-lc", cmd]
        return run(argv, check=check, timeout=timeout, input=input)

    # -- real SSH --
    def _client(self, user: str, known_hosts: str | None, timeout: float):
        import paramiko

        client = paramiko.SSHClient()
        client.load_host_keys(known_hosts or self.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            self.host,
            port=self.ssh_port,
            username=user,
            key_filename=self.key_filename,
            look_for_keys=False,
            allow_agent=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
        return client

    def ssh(
        self, cmd: str, user: str = "deploy", check: bool = True, timeout: float = 600, known_hosts: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run `cmd` over real SSH (paramiko, strict host-key checking against `known_hosts`).

        Returns a CompletedProcess (returncode, stdout, stderr). Connection and host-key failures
        raise paramiko's exceptions (e.g. `paramiko.BadHostKeyException`).
        """
        client = self._client(user, known_hosts, timeout=30)
        try:
            _stdin, stdout, stderr = client.exec_command(cmd, timeout=timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            code = stdout.channel.recv_exit_status()
        finally:
            client.close()
        done = subprocess.CompletedProcess(cmd, code, out, err)
        if check and code != 0:
            raise HarnessError(
                f"ssh {user}@{self.host}:{self.ssh_port} {cmd!r} failed (exit {code})\n"
                f"--- stdout tail ---\n{_tail(out)}\n--- stderr tail ---\n{_tail(err)}"
            )
        return done

    def connection(self, user: str = "deploy", **kwargs):
        """A Fabric Connection with strict host-key checking against this server's known_hosts."""
        import fabric
        import paramiko

        connect_kwargs = {"key_filename": self.key_filename, "look_for_keys": False, "allow_agent": False}
        connect_kwargs.update(kwargs.pop("connect_kwargs", {}))
        conn = fabric.Connection(self.host, user=user, port=self.ssh_port, connect_kwargs=connect_kwargs, **kwargs)
        conn.client.load_host_keys(self.known_hosts)
        conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return conn

    def host_key_lines(self) -> list[str]:
        """This server's CURRENT public host keys, read through docker (not over the network)."""
        out = self.exec("cat /etc/ssh/ssh_host_*_key.pub").stdout
        return [" ".join(line.split()[:2]) for line in out.splitlines() if line.strip()]

    def known_hosts_lines(self) -> list[str]:
        return [f"[{self.host}]:{self.ssh_port} {key}" for key in self.host_key_lines()]

    def write_known_hosts(self, path: str | Path | None = None) -> str:
        """Write the current host keys in known_hosts form to `path` (default: self.known_hosts)."""
        path = Path(path or self.known_hosts)
        path.write_text("\n".join(self.known_hosts_lines()) + "\n")
        return str(path)

    # -- lifecycle --
    def _inject_keys(self) -> None:
        _key, pub = harness_keypair()
        script = "; ".join(
            f"install -d -m 700 -o {u} -g {u} /home/{u}/.ssh && "
            f"printf '%s\\n' {shlex.quote(pub)} > /home/{u}/.ssh/authorized_keys && "
            f"chown {u}:{u} /home/{u}/.ssh/authorized_keys && chmod 600 /home/{u}/.ssh/authorized_keys"
            for u in USERS
        )
        self.exec(f"set -e; {script}")

    def wait_ready(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Wait until systemd finished booting, sshd has host keys, and the harness key logs in."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            done = run(["docker", "exec", self.name, "systemctl", "is-system-running"], check=False, timeout=30)
            state = done.stdout.strip()
            if state in ("running", "degraded"):
                break
            if state == "" and "is not running" in done.stderr:
                raise HarnessError(f"server {self.name} exited while booting:\n{self.logs(journal=False)}")
            time.sleep(0.5)
        else:
            raise HarnessError(
                f"server {self.name} did not finish booting in {timeout:.0f}s (systemd state {state!r})\n{self.logs()}"
            )
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.ssh("true", timeout=30)
                return
            except Exception as exc:  # noqa: BLE001 - keep the last reason for the error message
                last = exc
                time.sleep(0.5)
        raise HarnessError(
            f"sshd on {self.name} (port {self.ssh_port}) did not accept the harness key in "
            f"{timeout:.0f}s: {last!r}\n{self.logs()}"
        )

    def failed_units(self) -> list[str]:
        out = self.exec("systemctl list-units --failed --plain --no-legend", check=False).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def restart(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Reboot: `docker restart` (the disk and the docker volume survive); wait for SSH again."""
        with timed(f"reboot {self.name}"):
            run(["docker", "restart", "-t", "30", self.name], timeout=120)
            self.wait_ready(timeout)

    def regenerate_host_keys(self) -> None:
        """Simulate a man-in-the-middle/reinstall: new host keys, sshd restarted.

        `self.known_hosts` keeps the OLD keys, so a strict connection now fails.
        """
        self.exec("rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh")

    def load_images(self, *names: str) -> None:
        """Copy images from the host engine into the server's nested engine (docker must be installed)."""
        for image in names:
            with timed(f"load {image} into {self.name}"):
                save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
                try:
                    run(["docker", "exec", "-i", self.name, "docker", "load"], stdin=save.stdout, timeout=900)
                finally:
                    save.stdout.close()
                    save.wait()
                if save.returncode != 0:
                    raise HarnessError(f"docker save {image} failed (exit {save.returncode})")

    def logs(self, journal: bool = True, lines: int = 200) -> str:
        """The container's console output, plus the journal's last lines when it is running."""
        text = run(["docker", "logs", "--tail", str(lines), self.name], check=False).stdout
        if journal:
            j = run(
                ["docker", "exec", self.name, "journalctl", "--no-pager", "-n", str(lines)], check=False, timeout=60
            )
            text += "\n--- journal ---\n" + j.stdout + j.stderr
        return text

    def start_legacy_stack(self) -> None:
        """Start the article's user-level supervisord as deploy (over SSH); wait for the page and RUNNING."""
        self.ssh(LEGACY_START)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = self.exec("curl -fsS http://127.0.0.1:80/", check=False, timeout=30)
            # supervisor says STARTING until the program has lived `startsecs`, even once it serves
            if "legacy mysite" in done.stdout and "RUNNING" in self.ssh(LEGACY_STATUS, check=False).stdout:
                return
            time.sleep(0.5)
        status = self.ssh(LEGACY_STATUS, check=False)
        raise HarnessError(
            f"the legacy stack did not serve on {self.name}:\n{status.stdout}{status.stderr}\n"
            f"{self.exec('systemctl status nginx --no-pager', check=False).stdout}"
        )

    def remove(self, wait: bool = True) -> None:
        """Remove the container and its docker volume (idempotent). ``wait=False``: the container goes now (its
        name and ports are free on return), the volume in the background (`remove_volume_later`)."""
        run(["docker", "rm", "-f", "-v", self.name], check=False, timeout=120)
        if self.volume:
            if wait:
                run(["docker", "volume", "rm", "-f", self.volume], check=False, timeout=120)
            else:
                remove_volume_later(self.volume)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def docker_run_argv(
    name: str,
    image: str,
    volume: str,
    ssh_port: int,
    http_port: int,
    https_port: int,
    hostname: str,
    network: str | None = None,
) -> list[str]:
    """The `docker run` of a server: the flags docs/TESTING.md explains, with a named volume for /var/lib/docker.

    `network`: a user-defined network (`create_network()`) instead of the default bridge; servers on
    one reach each other by container name, and the ports are still published on 127.0.0.1.
    """
    argv = [
        "docker",
        "run",
        "-d",
        "--pull=never",
        "--name",
        name,
        "--hostname",
        hostname,
        "--label",
        f"{LABEL}=1",
        "--cap-add",
        "ALL",
        "--cap-drop",
        "SYS_RESOURCE",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "--security-opt",
        "systempaths=unconfined",
        "--device-cgroup-rule",
        "a *:* rwm",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "-v",
        f"{volume}:/var/lib/docker",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--cgroupns=host",
        "-e",
        "container=docker",
        "--stop-signal",
        "SIGRTMIN+3",
    ]
    if HOST_CA_BUNDLE.exists():
        argv += ["-v", f"{HOST_CA_BUNDLE}:/etc/ssl/certs/ca-certificates.crt:ro"]
    if network:
        argv += ["--network", network]
    argv += [
        "-p",
        f"127.0.0.1:{ssh_port}:22",
        "-p",
        f"127.0.0.1:{http_port}:80",
        "-p",
        f"127.0.0.1:{https_port}:443",
        image,
        "/sbin/init",
    ]
    return argv


# --- a server's volume, removed in the background ------------------------------------------------------
# Deleting a server's /var/lib/docker (1.2 GB and more of small files) is 5 to 17 s of disk work. A module's
# teardown hands it to this one thread and goes on with the next module's (CPU-bound) tests; a server started
# under the same name waits for it, and the interpreter waits for the thread before it exits.
_REMOVALS = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="volume-removal")
_PENDING_REMOVALS: dict[str, concurrent.futures.Future] = {}


def remove_volume_later(volume: str) -> None:
    """Remove docker volume ``volume`` in the background (its container must be gone)."""
    _PENDING_REMOVALS[volume] = _REMOVALS.submit(run, ["docker", "volume", "rm", "-f", volume], check=False,
                                                 timeout=600)


def wait_for_removals(volume: str | None = None) -> None:
    """Wait until ``volume``'s background removal (every pending one when None) has finished."""
    for name in [volume] if volume else list(_PENDING_REMOVALS):
        pending = _PENDING_REMOVALS.pop(name, None)
        if pending is not None:
            pending.result()


def start_server(
    suite: str = "bookworm",
    name: str | None = None,
    ssh_port: int | None = None,
    http_port: int | None = None,
    https_port: int | None = None,
    legacy: bool = False,
    image: str | None = None,
    network: str | None = None,
    docker_from: str | None = None,
    docker_volume: str | None = None,
) -> Server:
    """Start a fresh server and return it once SSH works. The caller must `remove()` it.

    docker_from: a template volume (`snapshot_server()`) copied into this server's own /var/lib/docker
    volume before it boots; `image` is then the snapshot's image. docker_volume: such a copy made already
    (`copy_volume`), which becomes this server's volume as it is (and goes with the server).

    network: run it on that user-defined network (`create_network()`), where other servers reach it
    by its container name (`Server.name`), port 22.

    legacy=True: the article's stack is running before this returns: host nginx on :80 in front of
    gunicorn on 127.0.0.1:8000 under deploy's user-level `supervisord -c ~/etc/supervisord.conf`.
    """
    _check_suite(suite)
    image = image or (build_legacy_image(suite) if legacy else build_server_image(suite))
    short = name or f"{suite}{'-legacy' if legacy else ''}-{uuid.uuid4().hex[:8]}"
    cname = f"{CONTAINER_PREFIX}{short}"
    volume = docker_volume or f"{cname}-docker"
    wait_for_removals(volume)  # a server of the same name removed in the background: its volume must be gone
    key, _pub = harness_keypair()
    workdir = E2E_DIR / "servers" / short
    workdir.mkdir(parents=True, exist_ok=True)
    fixed = {p for p in (ssh_port, http_port, https_port) if p}
    start = time.monotonic()
    if docker_from:
        try:
            copy_volume(docker_from, volume, image)
        except BaseException:
            run(["docker", "volume", "rm", "-f", volume], check=False)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    for attempt in range(5):
        ports = free_ports(3, exclude=fixed)
        sp, hp, tp = ssh_port or ports[0], http_port or ports[1], https_port or ports[2]
        run(["docker", "volume", "create", "--label", f"{LABEL}=1", volume])
        argv = docker_run_argv(cname, image, volume, sp, hp, tp, hostname=short[:63], network=network)
        done = run(argv, check=False, timeout=120)
        if done.returncode == 0:
            break
        run(["docker", "rm", "-f", cname], check=False)
        clash = "already allocated" in done.stderr or "address already in use" in done.stderr
        if not clash or fixed or attempt == 4:
            run(["docker", "volume", "rm", "-f", volume], check=False)
            shutil.rmtree(workdir, ignore_errors=True)
            raise HarnessError(f"docker run of server {cname} failed:\n{_tail(done.stderr)}")
    server = Server(
        name=cname,
        suite=suite,
        image=image,
        ssh_port=sp,
        http_port=hp,
        https_port=tp,
        key_filename=str(key),
        known_hosts=str(workdir / "known_hosts"),
        legacy=legacy,
        volume=volume,
        workdir=workdir,
    )
    try:
        server._inject_keys()
        # Host keys come from the server's first boot: read them through docker, never over the network.
        deadline = time.monotonic() + BOOT_TIMEOUT
        while not server.exec("test -s /etc/ssh/ssh_host_ed25519_key.pub", check=False).returncode == 0:
            if time.monotonic() > deadline:
                raise HarnessError(f"{cname} generated no SSH host keys in {BOOT_TIMEOUT:.0f}s\n{server.logs()}")
            time.sleep(0.3)
        server.write_known_hosts()
        (workdir / "ssh_config").write_text(
            textwrap.dedent(f"""\
            Host {server.host}
              Port {sp}
              User deploy
              IdentityFile {key}
              IdentitiesOnly yes
              UserKnownHostsFile {server.known_hosts}
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              BatchMode yes
            """)
        )
        server.wait_ready()
        record_timing(f"boot {cname}", time.monotonic() - start)
        if legacy:
            with timed(f"legacy stack on {cname}"):
                server.start_legacy_stack()
    except BaseException:
        with contextlib.suppress(Exception):
            say(f"server {cname} failed to start; last logs:\n{_tail(server.logs(), 60)}")
        server.remove()
        raise
    say(f"server {cname} ready: ssh -F {server.ssh_config} deploy@127.0.0.1 (http {hp}, https {tp})")
    return server


# --- snapshots: a server as it is now, for other servers to start from --------------------------------
# What makes a server this one server: removed before the snapshot, so each copy makes its own at first boot
# (SSH host keys by the hostkeys unit, machine-id by systemd, the nested engine's ID by dockerd). The nested
# engine's network store goes too: it holds docker0's subnet, which dockerd picked at the snapshot's boot to miss
# that server's own network (172.17 then: 172.18.0.1/16). Kept, a copy on an outer network of 172.18.0.0/16 gets
# docker0 on its own subnet, its default gateway's address: no packet leaves it and SSH is reset. Without the
# store, dockerd picks docker0's subnet again at each copy's boot, clear of the network it is on.
FORGET_IDENTITY = """\
set -e
systemctl stop docker.socket docker.service
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/docker/key.json /var/lib/docker/engine-id /var/lib/docker/network/files/local-kv.db
"""


def copy_volume_argv(source: str, target: str, image: str) -> list[str]:
    """A throwaway container that copies volume `source` into `target` as root, keeping what overlay2 needs.

    The nested engine's overlay2 layers hold whiteouts (0:0 character devices: CAP_MKNOD), opaque folders
    (`trusted.overlay.*` xattrs: CAP_SYS_ADMIN, and `--preserve=xattr` named so that a lost xattr is an error)
    and hard links (`-a`).
    """
    return [
        "docker", "run", "--rm", "--pull=never", "--network", "none", "--label", f"{LABEL}=1",
        "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "-v", f"{source}:/from:ro", "-v", f"{target}:/to",
        "--entrypoint", "cp", image, "-a", "--preserve=xattr", "/from/.", "/to/",
    ]  # fmt: skip


def copy_volume(source: str, target: str, image: str) -> None:
    """Create volume `target` as a copy of volume `source` (`image`: any image with GNU cp, e.g. a server's)."""
    if not volume_exists(source):  # `docker run -v` would make an empty one, and the copy would be empty
        raise HarnessError(f"cannot copy volume {source}: there is no such volume")
    with timed(f"copy volume {source} to {target}"):
        run(["docker", "volume", "create", "--label", f"{LABEL}=1", target])
        run(copy_volume_argv(source, target, image), timeout=900)


def volume_exists(name: str) -> bool:
    return subprocess.run(["docker", "volume", "inspect", name], capture_output=True).returncode == 0


def snapshot_server(server: Server, tag: str, volume: str) -> None:
    """Stop `server` and keep it as image `tag` (its root filesystem) and volume `volume` (its /var/lib/docker).

    `start_server(image=tag, docker_from=volume)` then starts a new server in that state, with its own
    container, /var/lib/docker volume, ports, SSH host keys, machine-id and engine ID.
    The server is stopped, not removed: the caller still removes it.
    """
    with timed(f"snapshot {server.name} as {tag}"):
        server.exec(FORGET_IDENTITY)
        run(["docker", "stop", "-t", "60", server.name], timeout=120)
        run(["docker", "commit", server.name, tag], timeout=600)
        copy_volume(server.volume, volume, tag)


def create_network(short: str | None = None) -> str:
    """Create a user-defined network for servers that must reach each other (e.g. a jump host); returns its name."""
    name = f"{CONTAINER_PREFIX}net-{short or uuid.uuid4().hex[:8]}"
    run(["docker", "network", "create", "--label", f"{LABEL}=1", name], timeout=60)
    return name


def remove_network(name: str) -> None:
    """Remove a network made by `create_network()` once its servers are gone (idempotent)."""
    run(["docker", "network", "rm", name], check=False, timeout=60)


def remove_stale_servers(max_age_hours: float = 6) -> list[str]:
    """Remove harness servers older than `max_age_hours` (left behind by a killed run); safe when shared."""
    out = run(
        ["docker", "ps", "-a", "--filter", f"label={LABEL}=1", "--format", "{{.Names}}\t{{.CreatedAt}}"], check=False
    ).stdout
    removed = []
    now = time.time()
    for line in out.splitlines():
        cname, _, created = line.partition("\t")
        try:
            stamp = calendar.timegm(time.strptime(" ".join(created.split()[:2]), "%Y-%m-%d %H:%M:%S"))
        except ValueError:
            continue
        if cname.startswith(CONTAINER_PREFIX) and now - stamp > max_age_hours * 3600:
            run(["docker", "rm", "-f", "-v", cname], check=False)
            run(["docker", "volume", "rm", "-f", f"{cname}-docker"], check=False)
            removed.append(cname)
    removed += remove_stale_volumes(max_age_hours)
    if removed:
        say(f"removed stale servers and volumes older than {max_age_hours}h: {', '.join(removed)}")
    # networks from create_network() that a killed run left behind (docker only prunes unused ones)
    run(["docker", "network", "prune", "-f", "--filter", f"label={LABEL}=1", "--filter", f"until={max_age_hours}h"],
        check=False, timeout=60)
    return removed


def epoch(stamp: str) -> float:
    """2026-12-07T05:23:34Z, 2026-12-07T05:23:34.123456789Z or 2026-12-07T05:23:34+00:00 (docker's forms)."""
    plain = stamp.strip().replace("Z", "+00:00").split("+")[0].split(".")[0]
    return calendar.timegm(time.strptime(plain, "%Y-%m-%dT%H:%M:%S"))


def remove_stale_volumes(max_age_hours: float) -> list[str]:
    """Servers' volumes no container uses, older than `max_age_hours`: a killed run's background removals and
    copies made ahead (`docker_volume`). Templates are named otherwise and stay."""
    listed = run(["docker", "volume", "ls", "-q", "--filter", f"label={LABEL}=1", "--filter", "dangling=true"],
                 check=False).stdout.split()
    removed = []
    for volume in (name for name in listed if name.startswith(CONTAINER_PREFIX)):
        created = run(["docker", "volume", "inspect", "-f", "{{.CreatedAt}}", volume], check=False).stdout
        try:
            stamp = epoch(created)
        except ValueError:
            continue
        if time.time() - stamp > max_age_hours * 3600:
            run(["docker", "volume", "rm", volume], check=False)
            removed.append(volume)
    return removed


def remove_all_servers() -> None:
    """Remove every harness server container and volume. Only for a machine where no one else tests."""
    names = run(["docker", "ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}"]).stdout.split()
    for cname in names:
        if cname.startswith(CONTAINER_PREFIX):
            run(["docker", "rm", "-f", "-v", cname], check=False)
    vols = run(["docker", "volume", "ls", "--filter", f"label={LABEL}", "--format", "{{.Name}}"]).stdout.split()
    for vol in vols:
        if vol.startswith(CONTAINER_PREFIX):
            run(["docker", "volume", "rm", "-f", vol], check=False)


if __name__ == "__main__":
    # python -m testbed.servers [bookworm trixie bookworm-legacy]: prebuild images (CI warm-up)
    wanted = sys.argv[1:]
    if not wanted:
        print(json.dumps(prebuild_images(), indent=2))
    for kind in wanted:
        print(
            build_legacy_image(kind.removesuffix("-legacy")) if kind.endswith("-legacy") else build_server_image(kind)
        )
