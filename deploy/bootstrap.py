"""`fab bootstrap`: the article's "install Docker on the server" part, as idempotent, verified steps.

Each step reads the server's state first and changes only what is missing; the summary at the end
says what changed and what was already in place, so a second run says "nothing changed".
"""

import json
from posixpath import join, normpath
from shlex import quote
from urllib.parse import urlsplit

from invoke.exceptions import AuthFailure

from deploy import commands, distro, files
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.output import say, step
from deploy.remote import Remote

DAEMON_JSON = "/etc/docker/daemon.json"


class Report:
    """What a run changed and what it found already in place."""

    def __init__(self, dry_run: bool = False) -> None:
        self.changed: list[str] = []
        self.in_place: list[str] = []
        self.verb = "would change" if dry_run else "changed"

    def note(self, changed: bool, what: str) -> None:
        (self.changed if changed else self.in_place).append(what)
        say(f"    {self.verb if changed else 'already in place'}: {what}")

    def summary(self, undo: list[str] | None = None) -> None:
        say("--> summary")
        for what in self.changed:
            say(f"    {self.verb}: {what}")
        for what in self.in_place:
            say(f"    already in place: {what}")
        if not self.changed:
            say("    nothing changed: everything was already in place")
        for line in undo or []:
            say(f"    undo: {line}")


def sudo_error(server: Remote) -> DeployError:
    user, host = server.conn.user, server.conn.host
    if server.has_sudo_password:
        return DeployError(f"sudo on {user}@{host} refused the password given by --prompt-for-sudo-password "
                           f"(or {user} may not use sudo): check the password, or ask an admin to add {user} "
                           "to the sudoers with visudo")
    return DeployError(f"{user}@{host} has no passwordless sudo: add `{user} ALL=(ALL) NOPASSWD:ALL` with "
                       f"visudo (as root), or run `fab --prompt-for-sudo-password -H ... TASK` if {user} may "
                       "use sudo with a password")


def check_sudo(server: Remote) -> None:
    """Root is needed for everything after this: fail before anything changes, with the fix."""
    with step(f"check sudo for {server.conn.user}"):
        if not server.has_sudo_password:
            ok = server.probe(commands.sudo("true")).ok  # real even in dry-run: nothing changes
        else:
            try:
                ok = server.sudo("true", warn=True).ok
            except DeployError as error:
                if isinstance(error.__cause__, AuthFailure):
                    raise sudo_error(server) from None
                raise
        if not ok:
            raise sudo_error(server)


def detect_distribution(server: Remote) -> distro.OsRelease:
    with step("detect the distribution"):
        found = server.probe("cat /etc/os-release")
        if found.failed:
            raise DeployError(f"{server.conn.host} has no readable /etc/os-release: "
                              f"`fab bootstrap` supports {distro.SUPPORTED}")
        release = distro.parse_os_release(found.stdout)
        say(f"    {release.label}")
        return release


def compose_kind(server: Remote) -> str:
    """'v2', 'v1' or '' (none), from ``commands.detect_compose()``."""
    return server.probe(commands.detect_compose()).stdout.strip()


def install_docker(server: Remote, release: distro.OsRelease, report: Report, *, docker_ce: bool) -> None:
    with step("install Docker and Compose"):
        if server.probe("docker --version").ok and compose_kind(server):
            report.note(False, "Docker and Compose are installed")
            return
        plan = distro.plan(release, docker_ce=docker_ce)
        say(f"    plan: {plan.name}")
        for command in plan.commands:
            if not server.dry_run:
                say(f"    # {command}")
            server.sudo(command, what=f"installing Docker failed at `{command}`")
        report.note(True, f"installed {' '.join(plan.packages)}")


def start_docker(server: Remote, report: Report) -> None:
    with step("enable and start docker with systemd"):
        active = server.probe("systemctl is-active --quiet docker").ok
        enabled = server.probe("systemctl is-enabled --quiet docker").ok
        if not (active and enabled):
            server.sudo("systemctl enable --now docker", what="`systemctl enable --now docker` failed; "
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


def set_registry_mirror(server: Remote, url: str, report: Report) -> None:
    """The article's mirror step for servers in China, as a merge into daemon.json instead of a script."""
    with step(f"registry mirror {url}"):
        current = server.probe(files.read_file(DAEMON_JSON))
        if current.failed and server.probe(files.exists(DAEMON_JSON)).ok:
            current = server.sudo(files.read_file(DAEMON_JSON))  # unreadable for us: never overwrite blind
        merged = merge_mirror(current.stdout, url)
        if merged is not None:
            server.sudo(files.write_file(DAEMON_JSON, merged, 0o644))
            server.sudo("systemctl restart docker", what="docker did not restart with the new daemon.json; "
                        f"check {DAEMON_JSON} and `sudo journalctl -u docker`")
        report.note(merged is not None, f"registry mirror {url} in {DAEMON_JSON}")


def verify_docker(server: Remote) -> None:
    """Ask the daemon itself (no hello-world: the server may have no registry access)."""
    with step("verify docker and compose"):
        if server.dry_run:
            say("    [dry-run] docker info and compose version are not checked")
            return
        engine = server.sudo("docker info --format '{{.ServerVersion}}'",
                             what="the Docker daemon does not answer; see `sudo journalctl -u docker`")
        kind = compose_kind(server)
        if not kind:
            raise DeployError("Docker is installed but neither `docker compose` nor `docker-compose` answers: "
                              "install the compose package for your distribution, then run again")
        version = server.output(f"{'docker compose' if kind == 'v2' else 'docker-compose'} version --short")
        say(f"    Docker {engine.stdout.strip()}, Compose {version} ({kind})")


def join_docker_group(server: Remote, report: Report) -> None:
    """The article's `usermod -aG docker`, then reconnect so the new group applies, then prove it."""
    user = server.conn.user
    with step(f"let {user} run docker without sudo"):
        member = "docker" in server.probe(f"id -nG {quote(user)}").stdout.split()
        if not member:
            server.sudo(f"usermod -aG docker {quote(user)}")
            server.reconnect()
        if not server.dry_run:
            server.run("docker ps", what=f"`docker ps` as {user} failed even after joining the docker group; "
                       "check that the docker group owns /var/run/docker.sock")
        report.note(not member, f"{user} in the docker group")


def app_root(server: Remote, settings: DeployConfig) -> str:
    """``app_path`` made absolute: relative paths are under the SSH user's home."""
    return normpath(join(server.home, settings.app_path))


def create_app_layout(server: Remote, settings: DeployConfig, report: Report) -> None:
    root = app_root(server, settings)
    with step(f"create the app layout in {root}"):
        user = server.conn.user
        outside_home = not root.startswith(server.home.rstrip("/") + "/")
        # shared/.envs holds the secrets and backups/ the database copies: owner only
        wanted = [(root, 0o755), (f"{root}/releases", 0o755), (f"{root}/shared", 0o755),
                  (f"{root}/shared/.envs", 0o700), (f"{root}/backups", 0o700)]
        changed = [path for path, mode in wanted
                   if files.ensure_dir(server, path, owner=user, mode=mode, sudo=outside_home)]
        report.note(bool(changed), f"{root}/{{releases,shared/.envs,backups}} owned by {user}")


def bootstrap(server: Remote, settings: DeployConfig, *, docker_ce: bool = False,
              registry_mirror: str | None = None) -> None:
    """Turn a fresh server into one ready for deploys; safe to run again (then it changes nothing)."""
    mirror = check_mirror_url(registry_mirror) if registry_mirror else None
    report = Report(server.dry_run)
    check_sudo(server)
    release = detect_distribution(server)
    install_docker(server, release, report, docker_ce=docker_ce)
    start_docker(server, report)
    if mirror:
        set_registry_mirror(server, mirror, report)
    verify_docker(server)
    join_docker_group(server, report)
    create_app_layout(server, settings, report)
    report.summary()
