"""`fab swarm.deploy`: the secrets' names and the stack's variables (names of secrets, never their values)."""

from deploy import envfile, swarm_release
from deploy.config import DeployConfig
from tests.harness.mockremote import names

P = names()
KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
ENV = envfile.EnvFile(".envs/.production", {"DJANGO_SECRET_KEY": KEY, "DJANGO_ALLOWED_HOSTS": "blog.example",
                                            **envfile.postgres_settings("S3cretPassw0rd")})


def test_secrets_are_named_after_their_value_so_a_change_rotates_them():
    first = swarm_release.secret_names(P, ENV)
    assert set(first) == {"django_secret_key", "database_url", "postgres_password"}
    assert all(name.startswith(f"mysite_{secret}_") and len(name) == len(f"mysite_{secret}_") + 12
               for secret, name in first.items())
    rotated = envfile.EnvFile(ENV.path, {**ENV.values, "DJANGO_SECRET_KEY": KEY[::-1]})
    second = swarm_release.secret_names(P, rotated)
    assert second["django_secret_key"] != first["django_secret_key"]
    assert second["database_url"] == first["database_url"]


def test_the_stack_reads_names_never_values_of_secrets():
    env = swarm_release.stack_env(P, ENV, "20261124100509-bbbbbbb", "id-0123456789ab",
                                  swarm_release.secret_names(P, ENV), 2)
    assert env["MYSITE_TAG"] == "20261124100509-bbbbbbb" and env["MYSITE_REPLICAS"] == "2"
    assert env["MYSITE_UPDATE_MONITOR"] == "20s"  # swarm: monitor, as the stack file's duration
    assert env["POSTGRES_USER"] == "mysite" and env["DJANGO_ALLOWED_HOSTS"] == "blog.example"
    assert KEY not in env.values() and "S3cretPassw0rd" not in "".join(env.values())


def test_the_stack_publishes_the_configured_http_and_https_ports():
    ports = names(DeployConfig(http_port=8080, https_port=8443))
    env = swarm_release.stack_env(ports, ENV, "20261124100509-bbbbbbb", "id-0123456789ab",
                                  swarm_release.secret_names(ports, ENV), 2)
    assert (env["MYSITE_HTTP_PORT"], env["MYSITE_HTTPS_PORT"]) == ("8080", "8443")
