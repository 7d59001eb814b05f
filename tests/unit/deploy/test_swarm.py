"""`fab swarm.*`: the builders by exact string, the secrets' names, the stack's variables, and the sequences
that keep the join token and the secret values out of every command line."""

from deploy import envfile
from deploy import swarm as cluster
from deploy.commands import swarm
from deploy.config import DeployConfig
from tests.unit.deploy.mockremote import names

P = names()
KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
ENV = envfile.EnvFile(".envs/.production", {"DJANGO_SECRET_KEY": KEY, "DJANGO_ALLOWED_HOSTS": "blog.example",
                                            **envfile.postgres_settings("S3cretPassw0rd")})


def test_a_worker_joins_with_the_token_on_its_stdin_never_in_the_command():
    assert swarm.join("10.0.0.5", "10.0.0.6") == (
        'read -r token && exec docker swarm join --token "$token" --advertise-addr 10.0.0.6 10.0.0.5:2377 >/dev/null')


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

    def __init__(self, name, answers):
        self.name, self.answers, self.sent = name, answers, []

    def probe(self, command):
        return type("R", (), {"stdout": self.answers.get(command, ""), "ok": True, "failed": False})()

    def run(self, command, stdin=None, **kwargs):
        self.sent.append((command, stdin))
        return type("R", (), {"stdout": "", "ok": True, "failed": False})()

    def output(self, command, **kwargs):
        self.sent.append((command, None))
        return self.answers.get(command, "").strip()


def test_bootstrap_sends_the_join_token_only_on_stdin(monkeypatch, capsys):
    monkeypatch.setattr(cluster, "check_sudo", lambda host: None)
    manager = FakeHost("manager", {swarm.state(): "active n1 true\n", swarm.private_address(): "10.0.0.5\n",
                                   swarm.join_token(): "SWMTKN-1-secret\n",
                                   swarm.nodes(): "n1 srv1 ready active 10.0.0.5 \nn2 srv2 ready active 10.0.0.6 \n"})
    worker = FakeHost("worker", {swarm.state(): "inactive  false\n", swarm.private_address(): "10.0.0.6\n"})
    cluster.bootstrap([manager, worker], DeployConfig())
    assert worker.sent == [(swarm.join("10.0.0.5", "10.0.0.6"), "SWMTKN-1-secret\n")]
    assert manager.sent == [(swarm.join_token(), None), (swarm.label_db("n1"), None)]
    out = capsys.readouterr().out
    assert "SWMTKN" not in out and "changed: worker is in the swarm" in out
