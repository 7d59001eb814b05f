"""A fake swarm node for the swarm step tests."""

from fabric import Connection

from deploy.errors import DeployError


class Node:
    """A node that answers probes from a table and records every command it runs, and every upload."""

    dry_run = False
    home = "/home/deploy"

    def __init__(self, name, answers, failure=None):
        self.name, self.answers, self.failure, self.sent = name, answers, failure, []
        self.conn = Connection(name)

    def probe(self, command):
        return type("R", (), {"stdout": self.answers.get(command, ""), "ok": True, "failed": False})()

    def run(self, command, **kwargs):
        self.sent.append(command)
        return type("R", (), {"stdout": "", "ok": True, "failed": False, "stderr": ""})()

    def put(self, local, remote):
        self.sent.append(f"upload {remote}")

    def open(self):
        if self.failure:
            raise DeployError(f"cannot connect to {self.name}") from self.failure
