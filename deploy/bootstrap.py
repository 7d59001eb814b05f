"""`fab bootstrap`: the article's "install Docker on the server" part, as idempotent, verified steps.

Each step reads the server's state first and changes only what is missing; the summary at the end
says what changed and what was already in place, so a second run says "nothing changed".
"""

import json
from urllib.parse import urlsplit

from deploy.commands import compose, distro, docker, system
from deploy.commands import files as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.files import ensure_dir, ensure_file
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step
from deploy.preflight import check_sudo, compose_kind
from deploy.report import Report

DAEMON_JSON = "/etc/docker/daemon.json"


def detect_distribution(host: Host) -> distro.OsRelease:
    with step("detect the distribution"):
        found = host.probe(system.os_release())
        if found.failed:
            raise DeployError(f"{host.conn.host} has no readable /etc/os-release: "
                              f"`fab bootstrap` supports {distro.SUPPORTED}")
        release = distro.parse_os_release(found.stdout)
        say(f"    {release.label}")
        return release


def install_docker(host: Host, release: distro.OsRelease, report: Report, *, docker_ce: bool) -> None:
    with step("install Docker and Compose"):
        if host.probe(docker.installed()).ok and compose_kind(host):
            report.note(False, "Docker and Compose are installed")
            return
        plan = distro.plan(release, docker_ce=docker_ce)
        say(f"    plan: {plan.name}")
        for command in plan.commands:
            if not host.dry_run:
                say(f"    # {command}")
            host.sudo(command, what=f"installing Docker failed at `{command}`")
        report.note(True, f"installed {' '.join(plan.packages)}")


def start_docker(host: Host, report: Report) -> None:
    with step("enable and start docker with systemd"):
        active = host.probe(system.is_active("docker")).ok
        enabled = host.probe(system.is_enabled("docker")).ok
        if not (active and enabled):
            host.sudo(system.enable("docker", now=True), what="`systemctl enable --now docker` failed; "
                        "see `sudo journalctl -u docker` on the server")
        report.note(not (active and enabled), "docker enabled at boot and running")


def check_mirror_url(url: str) -> str:
    """A registry mirror must be a plain http(s) URL; checked before anything connects."""
    parts = urlsplit(url.strip())
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query
            or parts.fragment or any(c.isspace() or c in "\"'\\" for c in url.strip())):
        raise DeployError(f"--registry-mirror {url!r} is not a usable mirror URL: give http(s)://host[:port], "
                          "e.g. --registry-mirror https://mirror.example.com")
    return url.strip().rstrip("/")


def merge_mirror(current: str, url: str) -> str | None:
    """daemon.json text with ``url`` added to registry-mirrors (other keys kept); None if already there."""
    try:
        data = json.loads(current) if current.strip() else {}
    except json.JSONDecodeError as error:
        raise DeployError(f"{DAEMON_JSON} on the server is not valid JSON ({error.msg}, line {error.lineno}): "
                          "fix or remove it, then run again") from None
    if not isinstance(data, dict):
        raise DeployError(f"{DAEMON_JSON} on the server is not a JSON object: fix or remove it, then run again")
    mirrors = data.get("registry-mirrors") or []
    if url in (str(m).rstrip("/") for m in mirrors):
        return None
    data["registry-mirrors"] = [*mirrors, url]
    return json.dumps(data, indent=2) + "\n"


def set_registry_mirror(host: Host, url: str, report: Report) -> None:
    """The article's mirror step for servers in China, as a merge into daemon.json instead of a script."""
    with step(f"registry mirror {url}"):
        current = host.probe(commands.read_file(DAEMON_JSON))
        if current.failed and host.probe(commands.exists(DAEMON_JSON)).ok:
            current = host.sudo(commands.read_file(DAEMON_JSON))  # unreadable for us: never overwrite blind
        merged = merge_mirror(current.stdout, url)
        if merged is not None:
            host.sudo(commands.write_file(DAEMON_JSON, merged, 0o644))
            host.sudo(system.restart("docker"), what="docker did not restart with the new daemon.json; "
                        f"check {DAEMON_JSON} and `sudo journalctl -u docker`")
        report.note(merged is not None, f"registry mirror {url} in {DAEMON_JSON}")


def verify_docker(host: Host) -> None:
    """Ask the daemon itself (no hello-world: the server may have no registry access)."""
    with step("verify docker and compose"):
        if host.dry_run:
            say("    [dry-run] docker info and compose version are not checked")
            return
        engine = host.sudo(docker.server_version(),
                             what="the Docker daemon does not answer; see `sudo journalctl -u docker`")
        kind = compose_kind(host)
        if not kind:
            raise DeployError("Docker is installed but neither `docker compose` nor `docker-compose` answers: "
                              "install the compose package for your distribution, then run again")
        version = host.output(compose.version(kind))
        say(f"    Docker {engine.stdout.strip()}, Compose {version} ({kind})")


def join_docker_group(host: Host, report: Report) -> None:
    """The article's `usermod -aG docker`, then reconnect so the new group applies, then prove it."""
    user = host.conn.user
    with step(f"let {user} run docker without sudo"):
        member = "docker" in host.probe(system.groups(user)).stdout.split()
        if not member:
            host.sudo(system.add_to_group(user, "docker"))
            host.reconnect()
        if not host.dry_run:
            host.run(docker.usable(), what=f"`docker ps` as {user} failed even after joining the docker group; "
                       "check that the docker group owns /var/run/docker.sock")
        report.note(not member, f"{user} in the docker group")


def create_app_layout(host: Host, config: DeployConfig, report: Report) -> None:
    names = Names.of(config, host.home)
    root = names.root
    with step(f"create the app layout in {root}"):
        user = host.conn.user
        outside_home = not root.startswith(host.home.rstrip("/") + "/")
        # shared/.envs holds the secrets and backups/ the database copies: owner only
        wanted = [(root, 0o755), (names.releases, 0o755), (names.shared, 0o755),
                  (names.envs, 0o700), (names.backups, 0o700)]
        changed = [path for path, mode in wanted
                   if ensure_dir(host, path, owner=user, mode=mode, sudo=outside_home)]
        report.note(bool(changed), f"{root}/{{releases,shared/.envs,backups}} owned by {user}")


def hand_over_waiting_connections(host: Host, report: Report) -> None:
    """net.ipv4.tcp_migrate_req=1, now and at every boot: an nginx update loses no connection that was waiting."""
    key = system.MIGRATE_REQ
    with step(f"kernel: {key}=1 ({system.SYSCTL_FILE})"):
        if not host.probe(system.has_sysctl(key)).ok:
            say(f"  ! this kernel has no {key} (Linux >= 5.14): during an nginx update, connections waiting in "
                "the old nginx's accept queue are reset")
            return
        written = ensure_file(host, system.SYSCTL_FILE, system.SYSCTL_TEXT, sudo=True)
        loaded = host.probe(system.sysctl_value(key)).stdout.strip() == "1"
        if not loaded:
            host.sudo(system.load_sysctl(system.SYSCTL_FILE), what=f"`sysctl -p {system.SYSCTL_FILE}` failed")
        report.note(written or not loaded, f"{key}=1 in {system.SYSCTL_FILE}")


def bootstrap(host: Host, config: DeployConfig, *, docker_ce: bool = False,
              registry_mirror: str | None = None) -> None:
    """Turn a fresh server into one ready for deploys; safe to run again (then it changes nothing)."""
    mirror = check_mirror_url(registry_mirror) if registry_mirror else None
    report = Report(host.dry_run)
    check_sudo(host)
    release = detect_distribution(host)
    install_docker(host, release, report, docker_ce=docker_ce)
    start_docker(host, report)
    if mirror:
        set_registry_mirror(host, mirror, report)
    verify_docker(host)
    join_docker_group(host, report)
    create_app_layout(host, config, report)
    hand_over_waiting_connections(host, report)
    report.summary()
