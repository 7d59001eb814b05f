"""`fab swarm.*`: the builders by exact string, the secrets' names, the stack's variables, and the sequences
that keep the join token and the secret values out of every command line."""

import json

import pytest

from deploy import envfile
from deploy import swarm as cluster
from deploy.commands import swarm
from deploy.config import DeployConfig
from deploy.errors import DeployError
from tests.harness.mockremote import names

P = names()
KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
ENV = envfile.EnvFile(".envs/.production", {"DJANGO_SECRET_KEY": KEY, "DJANGO_ALLOWED_HOSTS": "blog.example",
                                            **envfile.postgres_settings("S3cretPassw0rd")})


def test_a_worker_joins_through_the_engine_api_with_the_request_on_stdin_never_in_the_command():
    assert swarm.join("1.41") == (
        "curl -sS --unix-socket /var/run/docker.sock -X POST -H 'Content-Type: application/json' --data-binary @- "
        "-w '\\n%{http_code}' http://localhost/v1.41/swarm/join")
    assert json.loads(swarm.join_request("SWMTKN-1-secret", "10.0.0.5", "10.0.0.6")) == {
        "ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "10.0.0.6", "RemoteAddrs": ["10.0.0.5:2377"],
        "JoinToken": "SWMTKN-1-secret"}
    assert swarm.parse_join("\n200") == ("200", "")
    assert swarm.parse_join('{"message":"This node is already part of a swarm."}\n503') == (
        "503", "This node is already part of a swarm.")
    assert swarm.rotate_join_token() == "docker swarm join-token --rotate -q worker >/dev/null"


def test_curl_versions_are_read():
    assert swarm.parse_curl_version("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1\n") == (7, 88)
    assert swarm.parse_curl_version("curl 7.29.0 (x86_64-redhat-linux-gnu)") < swarm.CURL_UNIX_SOCKET
    assert swarm.parse_curl_version("") == ()


def test_a_secret_is_created_from_stdin():
    assert swarm.create_secret("mysite_database_url_0123456789ab", "mysite") == (
        "docker secret create --label mysite.project=mysite mysite_database_url_0123456789ab - >/dev/null")


def test_secrets_are_named_after_their_value_so_a_change_rotates_them():
    first = cluster.secret_names(P, ENV)
    assert set(first) == {"django_secret_key", "database_url", "postgres_password"}
    assert all(name.startswith(f"mysite_{secret}_") and len(name) == len(f"mysite_{secret}_") + 12
               for secret, name in first.items())
    rotated = envfile.EnvFile(ENV.path, {**ENV.values, "DJANGO_SECRET_KEY": KEY[::-1]})
    second = cluster.secret_names(P, rotated)
    assert second["django_secret_key"] != first["django_secret_key"]
    assert second["database_url"] == first["database_url"]


def test_the_stack_reads_names_never_values_of_secrets():
    env = cluster.stack_env(P, ENV, "20261124100509-bbbbbbb", "id-0123456789ab", cluster.secret_names(P, ENV), 2)
    assert env["MYSITE_TAG"] == "20261124100509-bbbbbbb" and env["MYSITE_REPLICAS"] == "2"
    assert env["POSTGRES_USER"] == "mysite" and env["DJANGO_ALLOWED_HOSTS"] == "blog.example"
    assert KEY not in env.values() and "S3cretPassw0rd" not in "".join(env.values())


def test_nginx_is_tagged_by_its_image_id():
    assert swarm.nginx_tag("sha256:" + "ab" * 32) == "id-abababababab"


def test_a_stack_deploy_never_resolves_images_from_a_registry():
    assert swarm.stack_deploy(P, "/srv/r", {"MYSITE_TAG": "r1"}) == (
        "cd /srv/r && MYSITE_TAG=r1 docker stack deploy --resolve-image never --prune -c swarm.yml mysite >/dev/null")


def test_a_one_off_job_gets_the_apps_secrets_and_the_stacks_network():
    assert swarm.job(P, "mysite_migrate_r1", "mysite-django:r1", "python manage.py migrate --noinput",
                     {"django_secret_key": "mysite_django_secret_key_x"}, {"DJANGO_ALLOWED_HOSTS": "a b"}) == (
        "docker service create --detach --quiet --name mysite_migrate_r1 --mode replicated-job "
        "--restart-condition none --network mysite_default --label mysite.project=mysite "
        "--secret source=mysite_django_secret_key_x,target=django_secret_key --env 'DJANGO_ALLOWED_HOSTS=a b' "
        "--env DJANGO_SETTINGS_MODULE=mysite.settings.production "
        "mysite-django:r1 python manage.py migrate --noinput >/dev/null")


def test_node_states_and_listings_are_parsed():
    assert swarm.parse_state("active abc123 true\n") == ("active", "abc123", True)
    assert swarm.parse_state("inactive  false\n")[0] == "inactive"
    assert cluster.parse_nodes("id1 srv1 ready active 10.0.0.5 mysite.db=true,\nid2 srv2 down drain 10.0.0.6\n") == {
        "id1": {"hostname": "srv1", "state": "ready", "availability": "active", "address": "10.0.0.5",
                "labels": "mysite.db=true,"},
        "id2": {"hostname": "srv2", "state": "down", "availability": "drain", "address": "10.0.0.6", "labels": ""}}


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
    monkeypatch.setattr(cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two()
    worker.joined = "\n200"
    cluster.bootstrap([manager, worker], DeployConfig())
    assert worker.sent == [(swarm.join("1.41"), swarm.join_request("SWMTKN-1-secret", "10.0.0.5", "10.0.0.6"))]
    assert manager.sent == [(swarm.join_token(), None), (swarm.rotate_join_token(), None),
                            (swarm.label_db(P.project, "n1"), None)]
    # the token is in no argv, not even through a shell variable that the remote shell expands into one
    assert not any("SWMTKN" in command or "--token" in command for command, _ in worker.sent + manager.sent)
    out = capsys.readouterr().out
    assert "SWMTKN" not in out and "changed: worker is in the swarm" in out
    assert "changed: the worker join token rotated" in out


def test_a_refused_join_is_one_line_and_the_token_is_rotated_all_the_same(monkeypatch):
    monkeypatch.setattr(cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two()
    worker.joined = '{"message":"rpc error: A valid join token is necessary to join this cluster"}\n400'
    with pytest.raises(DeployError, match="could not join the swarm at 10.0.0.5:2377 .*: Docker said 400 rpc error"):
        cluster.bootstrap([manager, worker], DeployConfig())
    assert manager.sent[-1] == (swarm.rotate_join_token(), None)


def test_a_worker_without_curl_is_refused_before_anything_changes(monkeypatch):
    monkeypatch.setattr(cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two({**WORKER, swarm.curl_version(): ""})
    with pytest.raises(DeployError, match="worker has no curl: .* install it"):
        cluster.bootstrap([manager, worker], DeployConfig())
    assert manager.sent == [] and worker.sent == []


def test_a_second_bootstrap_neither_joins_nor_rotates(monkeypatch):
    monkeypatch.setattr(cluster, "check_sudo", lambda host: None)
    manager, worker = cluster_of_two({**WORKER, swarm.state(): "active n2 false\n"})
    cluster.bootstrap([manager, worker], DeployConfig())
    assert worker.sent == [] and manager.sent == [(swarm.label_db(P.project, "n1"), None)]
