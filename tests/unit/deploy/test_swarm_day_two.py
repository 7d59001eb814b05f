"""`fab swarm.*` after the deploy: a restore migrates like a deploy, and the day-two tasks carry on without a
dead worker (but never without the manager or the database node)."""

import json
import socket

import pytest
from fabric import Connection
from paramiko.ssh_exception import AuthenticationException

from deploy import swarm as cluster
from deploy.backups import HEADERS, POSTGRES
from deploy.commands import swarm
from deploy.config import DeployConfig, SwarmConfig
from deploy.errors import DeployError
from deploy.host import Host
from tests.harness.mockremote import names

P = names()
SPEC = {"Image": "mysite-django:20261124100509-bbbbbbb",
        "Env": ["DJANGO_SECRET_KEY_FILE=/run/secrets/django_secret_key", "DJANGO_ALLOWED_HOSTS=blog.example"],
        "Secrets": [{"File": {"Name": "django_secret_key"}, "SecretName": "mysite_django_secret_key_aaaaaaaaaaaa"},
                    {"File": {"Name": "database_url"}, "SecretName": "mysite_database_url_bbbbbbbbbbbb"}]}
MIGRATE = "mysite_migrate_20261124100509_bbbbbbb"


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


def manager_with(spec: dict | None) -> Node:
    return Node("deploy@a:22", {
        swarm.task_container(P, swarm.POSTGRES_SERVICE): "pg1\n",
        swarm.container_spec(P, P.alias): json.dumps(spec) + "\n" if spec else "",
        swarm.job_state(MIGRATE): "Complete 2 seconds ago\n"})


def restore(tmp_path, manager):
    dump = tmp_path / "site.pgdump"
    dump.write_bytes(HEADERS[POSTGRES] + b"rest of the dump")
    cluster.restore([manager], DeployConfig(), str(dump), yes=True)


def test_a_restore_migrates_with_the_serving_releases_one_off_task(tmp_path):
    manager = manager_with(SPEC)
    restore(tmp_path, manager)
    kinds = [next((kind for kind in ("pg_dump", "upload", "pg_restore", "service create", "service rm", "lock")
                   if kind in command), command) for command in manager.sent]
    assert kinds == ["lock", "pg_dump", "upload", "pg_restore", "service rm", "service create", "service rm", "lock"]
    secrets = {target: item["SecretName"] for item in SPEC["Secrets"] for target in [item["File"]["Name"]]}
    assert manager.sent[5] == swarm.job(P, MIGRATE, "mysite-django:20261124100509-bbbbbbb",
                                        "python manage.py migrate --noinput", secrets,
                                        cluster.job_env(cluster.envfile.EnvFile("", {
                                            "DJANGO_ALLOWED_HOSTS": "blog.example"})))


def test_a_restore_before_the_first_deploy_leaves_the_migration_to_it(tmp_path, capsys):
    manager = manager_with(None)
    restore(tmp_path, manager)
    assert not any("service create" in command for command in manager.sent)
    assert "the first `fab swarm.deploy` migrates the restored database" in capsys.readouterr().out


def test_a_migration_that_fails_after_a_restore_says_the_data_is_restored(tmp_path):
    manager = manager_with(SPEC)
    manager.answers[swarm.job_state(MIGRATE)] = "Failed 1 second ago\n"
    with pytest.raises(DeployError, match="the database is restored, but migrating it to 20261124100509-bbbbbbb "
                                          "failed: .* run `fab swarm.manage migrate`"):
        restore(tmp_path, manager)


def cluster_of(*failures):
    return [Node(f"deploy@{name}:22", {}, failure) for name, failure in zip("abc", failures, strict=False)]


def test_a_dead_worker_is_named_and_left_out(capsys):
    nodes = cluster_of(None, None, ConnectionRefusedError(111, "refused"))
    assert cluster.answering(nodes, DeployConfig(), database=True) == nodes[:2]
    assert "down (no answer over SSH), left out: deploy@c:22" in capsys.readouterr().out


def test_a_dead_manager_or_database_node_stops_the_task_in_one_line():
    with pytest.raises(DeployError, match="^the manager does not answer, and this task needs it: cannot connect"):
        cluster.answering(cluster_of(TimeoutError(), None), DeployConfig())
    config = DeployConfig(swarm=SwarmConfig(db_node="deploy@b:22"))
    nodes = cluster_of(None, TimeoutError())
    with pytest.raises(DeployError, match="^the database node does not answer"):
        cluster.answering(nodes, config, database=True)
    assert cluster.answering(nodes, config) == nodes[:1]  # status, logs and manage need only the manager


def test_a_refused_login_is_never_taken_for_a_dead_node():
    with pytest.raises(DeployError, match="cannot connect to deploy@b:22"):
        cluster.answering(cluster_of(None, AuthenticationException("no")), DeployConfig())


def test_a_closed_port_on_a_real_connection_counts_as_down(capsys):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed once the block ends: connecting is refused
    alive = Node("deploy@a:22", {})
    dead = Host(Connection(f"deploy@127.0.0.1:{port}", connect_timeout=5))
    assert cluster.answering([alive, dead], DeployConfig()) == [alive]
    assert f"left out: deploy@127.0.0.1:{port}" in capsys.readouterr().out
