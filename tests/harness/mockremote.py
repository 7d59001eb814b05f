"""Shared helper for the deploy step tests: a Host over Fabric's MockRemote, with uploads recorded."""

from fabric import Connection
from fabric.testing.base import Command, Session

from deploy.commands import docker, health
from deploy.config import DeployConfig
from deploy.host import Host
from deploy.names import Names

HOST = "deploy@srv.example:2200"
HOME = "/home/deploy"


def session(*commands: str | Command) -> Session:
    """One SSH session expecting exactly these commands, in this order."""
    return Session(host="srv.example", user="deploy", port=2200,
                   commands=[c if isinstance(c, Command) else Command(c) for c in commands])


def names(config: DeployConfig | None = None) -> Names:
    """The naming contract of the test server's app (home /home/deploy)."""
    return Names.of(config or DeployConfig(), HOME)


def remote(monkeypatch=None, uploads: list | None = None, dry_run: bool = False) -> Host:
    host = Host(Connection(HOST), dry_run=dry_run)
    host._home = HOME
    if monkeypatch is not None:
        def put(local, remote_path, mode=None):
            with open(local, "rb") as handle:
                (uploads if uploads is not None else []).append((remote_path, handle.read()))
        monkeypatch.setattr(host, "put", put)
    return host


def routed(names: Names, container: str, nginx: str = "mysite_nginx_1") -> list[str]:
    """The switch's route step: the shared alias, nginx's link moved to the container's socket, then checked."""
    return [docker.route(names, container), docker.serve(container), health.serves(nginx, container)]
