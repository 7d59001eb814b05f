"""Checks that several tasks run before they change anything: sudo, Docker and compose on the server."""

from invoke.exceptions import AuthFailure

from deploy.commands import compose, docker, shell, system
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step


def sudo_error(host: Host) -> DeployError:
    user, name = host.conn.user, host.conn.host
    if host.has_sudo_password:
        return DeployError(f"sudo on {user}@{name} refused the password given by --prompt-for-sudo-password "
                           f"(or {user} may not use sudo): check the password, or ask an admin to add {user} "
                           "to the sudoers with visudo")
    return DeployError(f"{user}@{name} has no passwordless sudo: add `{user} ALL=(ALL) NOPASSWD:ALL` with "
                       f"visudo (as root), or run `fab --prompt-for-sudo-password -H ... TASK` if {user} may "
                       "use sudo with a password")


def check_sudo(host: Host) -> None:
    """Root is needed for everything after this: fail before anything changes, with the fix."""
    with step(f"check sudo for {host.conn.user}"):
        if not host.has_sudo_password:
            ok = host.probe(shell.sudo(system.true())).ok  # real even in dry-run: nothing changes
        else:
            try:
                ok = host.sudo(system.true(), warn=True).ok
            except DeployError as error:
                if isinstance(error.__cause__, AuthFailure):
                    raise sudo_error(host) from None
                raise
        if not ok:
            raise sudo_error(host)


def root_probe(host: Host, command: str):
    """A read-only root command: real even in dry-run, never raises."""
    if host.has_sudo_password:
        return host.sudo(command, warn=True)
    return host.probe(shell.sudo(command))


def port_holders(host: Host, names: Names, port: int) -> list[str]:
    """Who holds ``port`` on the server, other than this site's nginx: containers and processes, in words."""
    command = system.port_holders(port)
    found = root_probe(host, command)  # as root, ss names every process
    if found.failed and not found.stdout.strip():
        found = host.probe(command)  # no root: containers, and listeners without their process
    return system.parse_port_holders(found.stdout, ours=f"{names.project}/nginx")


def require_free_ports(host: Host, names: Names) -> None:
    """nginx needs http_port and https_port: refuse before anything changes when something else has them."""
    config = names.config
    for port, key in ((config.http_port, "http_port"), (config.https_port, "https_port")):
        holders = port_holders(host, names, port)
        if holders:
            raise DeployError(f"port {port} on {host.name} is taken by {' and '.join(holders)}: stop it there, "
                              "run `fab migrate-legacy` if it is the article's old nginx, or set "
                              f"{key} in fabric.yaml to a free port")


def compose_kind(host: Host) -> str:
    """'v2', 'v1' or '' (none)."""
    return compose.parse_kind(host.probe(compose.detect()).stdout)


def docker_ready(host: Host) -> str:
    """The compose kind ('v2' or 'v1'); refuse a server without docker or compose, or whose engine we cannot use."""
    found = compose_kind(host)
    if not found and host.dry_run:
        say("    [dry-run] no compose answer: assuming `docker compose` (v2)")
        return "v2"
    if not found:
        raise DeployError(f"{host.name} has no docker compose: run `fab bootstrap` first")
    if not host.probe(docker.server_version()).ok and not host.dry_run:
        raise DeployError(f"{host.name}: the deploy user cannot reach the Docker engine: run `fab bootstrap` "
                          "(it starts Docker and adds the user to the docker group)")
    return found

