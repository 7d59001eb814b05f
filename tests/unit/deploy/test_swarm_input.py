"""`fab swarm.*` options checked before anything connects: the nodes (one machine never twice, in any spelling),
--db-node, --host, --service and the dump to restore; and the node IDs that keep the manager in the swarm.

The real fabfile.py runs in this process against the net's faked machine, which records every connection
and every command.
"""

import pytest
from fabric import Connection
from invoke import Result

from deploy import checks, config
from deploy.commands import swarm
from deploy.errors import DeployError
from tests.harness.machine import Machine, Run
from tests.harness.machine import refused as one_line

A, B = "deploy@a.example", "deploy@b.example"


@pytest.fixture
def machine(monkeypatch, tmp_path) -> Machine:
    return Machine(monkeypatch, tmp_path)


def refused(done: Run, *words: str) -> str:
    """One `error:` line, exit 1, no connection opened and nothing sent."""
    line = one_line(done, *words)
    assert line.startswith("error: ") and done.connected == [], done
    return line


def node_ids(monkeypatch, machine: Machine, ids: dict[str, str]) -> None:
    """Each host answers `docker info` with its own swarm node ID (an active node; the first one manages)."""
    answer = machine._remote_command("run")

    def run(conn, command, **kwargs):
        if command == swarm.state():
            machine.remote.append(f"run: {command}")
            return Result(stdout=f"active {ids[conn.host]} true\n", stderr="", exited=0, command=command)
        return answer(conn, command, **kwargs)
    monkeypatch.setattr(Connection, "run", run)


def changes(done: Run) -> list[str]:
    return [sent for sent in done.remote if "docker node update" in sent or "docker node rm" in sent
            or "swarm leave" in sent]


# --- one machine, two spellings -----------------------------------------------------------------------------


@pytest.mark.parametrize("nodes", [f"{A},deploy@A.EXAMPLE", f"{A},root@a.example:22", f"{A}:2222,{A}:2222"])
def test_one_machine_listed_twice_is_refused_before_connecting(machine, nodes):
    line = refused(machine.fab("swarm.remove-node", f"--nodes={nodes}", "--host=deploy@A.EXAMPLE"),
                   "--nodes lists one node twice")
    assert "give each node once" in line


def test_the_manager_named_in_another_case_is_refused_before_connecting(machine):
    refused(machine.fab("swarm.remove-node", f"--nodes={A},{B}", "--host=DEPLOY@A.Example:22"),
            "--host 'DEPLOY@A.Example:22' is the manager", "move the manager role first")


def test_two_names_of_one_machine_are_one_node_id_and_nothing_is_drained(machine, monkeypatch):
    node_ids(monkeypatch, machine, {"a.example": "n1", "b.example": "n1"})  # b.example: another name of a
    done = machine.fab("swarm.remove-node", f"--nodes={A},{B}", f"--host={B}")
    assert done.code == 1 and done.err.splitlines() == [
        f"error: {A}:22 and {B}:22 are one swarm node (n1): list each node once"], done
    assert done.remote == [f"run: {swarm.state()}"] * 2, done  # only asked, nothing changed


def test_a_worker_is_drained_and_removed_by_its_own_node_id(machine, monkeypatch):
    node_ids(monkeypatch, machine, {"a.example": "n1", "b.example": "n2"})
    done = machine.fab("swarm.remove-node", f"--nodes={A},{B}", "--host=B.example")
    assert done.code == 0, done
    assert changes(done) == [f"run: {swarm.drain('n2')}", f"run: {swarm.leave()}", f"run: {swarm.remove_node('n2')}"]


# --- every option before connecting -------------------------------------------------------------------------


def test_a_db_node_that_is_not_a_node_is_refused_before_connecting(machine):
    refused(machine.fab("swarm.bootstrap", f"--nodes={A},{B}", "--db-node=deploy@c.example"),
            "--db-node 'deploy@c.example' is not one of the nodes", "name one of them")


def test_a_db_node_is_named_in_any_case():
    nodes = (A, f"{B}:2222")
    assert checks.node_named(nodes, "B.EXAMPLE", "--db-node") == 1
    assert checks.node_named(nodes, "deploy@b.example:2222", "--db-node") == 1
    with pytest.raises(DeployError, match="is not one of the nodes"):
        checks.node_named(nodes, "b.example:22", "--db-node")
    with pytest.raises(DeployError, match="names 2 nodes .*: add the port"):
        checks.node_named((f"{A}:2201", f"{A}:2202"), "a.example", "--host")


def test_a_host_to_remove_that_is_not_a_node_is_refused_before_connecting(machine):
    refused(machine.fab("swarm.remove-node", f"--nodes={A},{B}", "--host=deploy@c.example"),
            "--host 'deploy@c.example' is not one of the nodes")


def test_an_unknown_service_is_refused_before_connecting(machine):
    refused(machine.fab("swarm.logs", f"--nodes={A},{B}", "--service=web"),
            "--service 'web' is not a service of the stack", "use app, nginx or postgres")


def test_a_sqlite_backup_is_refused_by_a_cluster_before_connecting(machine):
    refused(machine.fab("swarm.restore", f"--nodes={A},{B}", f"--file={machine.backup}", "--yes"),
            "is not a PostgreSQL dump (pg_dump -Fc)")


def test_a_pg_dump_reaches_the_cluster(machine):
    done = machine.fab("swarm.restore", f"--nodes={A},{B}", f"--file={machine.dump}", "--yes")
    assert len(done.connected) == 2, done


def test_a_swarm_task_refuses_hosts_given_with_h(machine):
    refused(machine.fab("-H", A, "swarm.status", f"--nodes={A},{B}"), "takes its nodes from --nodes", "not -H")


# --- what the messages name ---------------------------------------------------------------------------------


def test_a_malformed_node_is_named_where_it_was_given(machine, monkeypatch):
    line = refused(machine.fab("swarm.status", "--nodes=deploy@h;id"), "--nodes 'deploy@h;id'")
    assert "-H" not in line
    monkeypatch.setenv("MYSITE_SWARM_NODES", "deploy@h;id")
    refused(machine.fab("swarm.status"), "MYSITE_SWARM_NODES 'deploy@h;id'")
    with pytest.raises(DeployError, match="fabric.yaml swarm nodes 'deploy@h;id'"):
        config.load({"swarm": {"nodes": ["deploy@h;id"]}}, environ={})


@pytest.mark.parametrize(("given", "reached"), [
    ("deploy@::1", "deploy@::1:22"),
    ("deploy@[::1]", "deploy@::1:22"),
    ("deploy@[2001:db8::7]:2222", "deploy@2001:db8::7:2222"),
])
def test_an_ipv6_node_is_reached_bare_or_in_brackets_with_a_port(machine, given, reached):
    assert machine.fab("swarm.status", f"--nodes={given}").connected == [reached]
    assert machine.fab("-H", given, "releases").connected == [reached]


@pytest.mark.parametrize(("given", "words"), [
    ("deploy@[::1]:abc", ["port 'abc'"]),
    ("deploy@[example.com]:22", ["'example.com' is not an IPv6 address"]),
    ("deploy@[::1", ["'[::1' is not an IPv6 address"]),
])
def test_a_malformed_ipv6_node_is_one_line(machine, given, words):
    refused(machine.fab("swarm.status", f"--nodes={given}"), f"--nodes {given!r}", *words)
