"""Shared helper for the deploy step tests: a Remote over Fabric's MockRemote, with uploads recorded."""

from fabric import Connection
from fabric.testing.base import Command, Session

from deploy.remote import Remote

HOST = "deploy@srv.example:2200"


def session(*commands: str | Command) -> Session:
    """One SSH session expecting exactly these commands, in this order."""
    return Session(host="srv.example", user="deploy", port=2200,
                   commands=[c if isinstance(c, Command) else Command(c) for c in commands])


def remote(monkeypatch=None, uploads: list | None = None, dry_run: bool = False) -> Remote:
    server = Remote(Connection(HOST), dry_run=dry_run)
    server._home = "/home/deploy"
    if monkeypatch is not None:
        def put(local, remote_path, mode=None):
            with open(local, "rb") as handle:
                (uploads if uploads is not None else []).append((remote_path, handle.read()))
        monkeypatch.setattr(server, "put", put)
    return server
