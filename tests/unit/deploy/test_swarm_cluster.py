"""`fab swarm.bootstrap` keeps the join token out of every command line, and the day-two tasks carry on
without a dead worker (but never without the manager or the database node)."""

import socket

import pytest
from fabric import Connection
from paramiko.ssh_exception import AuthenticationException

from deploy import swarm_cluster
from deploy.commands import swarm
from deploy.config import DeployConfig, SwarmConfig
from deploy.errors import DeployError
from deploy.host import Host
from tests.harness.mockremote import names
from tests.harness.swarm_node import Node

P = names()


class FakeHost:
    """A node that answers probes from a table and records what runs (with what it got on stdin)."""

    dry_run = False
    joined = ""  # what the Engine API's join answers

    def __init__(self, name, answers):
        self.name, self.answers, self.sent = name, answers, []

    def probe(self, command):
        return type("R", (), {"stdout": self.answers.get(command, ""), "ok": True, "failed": False})()

    def run(self, command, stdin=None, **kwargs):
        self.sent.append((command, stdin))
        stdout = self.joined if command.startswith("curl ") else ""
        return type("R", (), {"stdout": stdout, "ok": True, "failed": False})()

    def output(self, command, **kwargs):
        self.sent.append((command, None))
        return self.answers.get(command, "").strip()


WORKER = {swarm.state(): "inactive  false\n", swarm.private_address(): "10.0.0.6\n",
          swarm.curl_version(): "curl 7.88.1 (x86_64-pc-linux-gnu)\n", swarm.api_version(): "1.41\n"}


def cluster_of_two(worker_answers=WORKER):
    manager = FakeHost("manager", {swarm.state(): "active n1 true\n", swarm.private_address(): "10.0.0.5\n",
                                   swarm.join_token(): "SWMTKN-1-secret\n",
                                   swarm.nodes(): "n1 srv1 ready active 10.0.0.5 \nn2 srv2 ready active 10.0.0.6 \n"})
    return manager, FakeHost("worker", worker_answers)


def test_bootstrap_sends_the_join_token_only_on_stdin_then_rotates_it(monkeypatch, capsys):
    monkeypatch.setattr(swarm_cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two()
    worker.joined = "\n200"
    swarm_cluster.bootstrap([manager, worker], DeployConfig())
    assert worker.sent == [(swarm.join("1.41"), swarm.join_request("SWMTKN-1-secret", "10.0.0.5", "10.0.0.6"))]
    assert manager.sent == [(swarm.join_token(), None), (swarm.rotate_join_token(), None),
                            (swarm.label_db(P.project, "n1"), None)]
    # the token is in no argv, not even through a shell variable that the remote shell expands into one
    assert not any("SWMTKN" in command or "--token" in command for command, _ in worker.sent + manager.sent)
    out = capsys.readouterr().out
    assert "SWMTKN" not in out and "changed: worker is in the swarm" in out
    assert "changed: the worker join token rotated" in out


def test_a_refused_join_is_one_line_and_the_token_is_rotated_all_the_same(monkeypatch):
    monkeypatch.setattr(swarm_cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two()
    worker.joined = '{"message":"rpc error: A valid join token is necessary to join this cluster"}\n400'
    with pytest.raises(DeployError, match="could not join the swarm at 10.0.0.5:2377 .*: Docker said 400 rpc error"):
        swarm_cluster.bootstrap([manager, worker], DeployConfig())
    assert manager.sent[-1] == (swarm.rotate_join_token(), None)


def test_a_worker_without_curl_is_refused_before_anything_changes(monkeypatch):
    monkeypatch.setattr(swarm_cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two({**WORKER, swarm.curl_version(): ""})
    with pytest.raises(DeployError, match="worker has no curl: .* install it"):
        swarm_cluster.bootstrap([manager, worker], DeployConfig())
    assert manager.sent == [] and worker.sent == []


def test_a_second_bootstrap_neither_joins_nor_rotates(monkeypatch):
    monkeypatch.setattr(swarm_cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two({**WORKER, swarm.state(): "active n2 false\n"})
    swarm_cluster.bootstrap([manager, worker], DeployConfig())
    assert worker.sent == [] and manager.sent == [(swarm.label_db(P.project, "n1"), None)]


def cluster_of(*failures):
    return [Node(f"deploy@{name}:22", {}, failure) for name, failure in zip("abc", failures, strict=False)]


def test_a_dead_worker_is_named_and_left_out(capsys):
    nodes = cluster_of(None, None, ConnectionRefusedError(111, "refused"))
    assert swarm_cluster.answering(nodes, DeployConfig(), database=True) == nodes[:2]
    assert "down (no answer over SSH), left out: deploy@c:22" in capsys.readouterr().out


def test_a_dead_manager_or_database_node_stops_the_task_in_one_line():
    with pytest.raises(DeployError, match="^the manager does not answer, and this task needs it: cannot connect"):
        swarm_cluster.answering(cluster_of(TimeoutError(), None), DeployConfig())
    config = DeployConfig(swarm=SwarmConfig(db_node="deploy@b:22"))
    nodes = cluster_of(None, TimeoutError())
    with pytest.raises(DeployError, match="^the database node does not answer"):
        swarm_cluster.answering(nodes, config, database=True)
    assert swarm_cluster.answering(nodes, config) == nodes[:1]  # status, logs and manage need only the manager


def test_a_refused_login_is_never_taken_for_a_dead_node():
    with pytest.raises(DeployError, match="cannot connect to deploy@b:22"):
        swarm_cluster.answering(cluster_of(None, AuthenticationException("no")), DeployConfig())


def test_a_closed_port_on_a_real_connection_counts_as_down(capsys):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed once the block ends: connecting is refused
    alive = Node("deploy@a:22", {})
    dead = Host(Connection(f"deploy@127.0.0.1:{port}", connect_timeout=5))
    assert swarm_cluster.answering([alive, dead], DeployConfig()) == [alive]
    assert f"left out: deploy@127.0.0.1:{port}" in capsys.readouterr().out
