"""The bundled PostgreSQL (production.yml's `postgres` service): started when a site uses it, never recreated."""

from deploy.commands import compose, docker, health
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step, tail


def ensure_postgres(host: Host, names: Names, release: str, kind: str) -> None:
    """The bundled PostgreSQL up and healthy; one that already runs healthy is left alone (never recreated)."""
    with step("the bundled PostgreSQL up and healthy"):
        name = host.probe(docker.service_container(names.project, "postgres")).stdout.strip().split("\n")[0]
        if name and host.probe(docker.is_healthy(name)).ok:
            say(f"    {name} already runs and is healthy: left alone")
            return
        if not name:
            host.run(compose.stack(names, release, compose.START_POSTGRES, kind=kind), timeout=600)
            name = (host.probe(docker.service_container(names.project, "postgres")).stdout.strip().split("\n")[0]
                    or names.one_off("postgres"))
        seconds = max(names.config.health_timeout, 120)
        if host.run(health.wait_until(docker.is_healthy(name), seconds), warn=True).failed:
            tail(f"{name} log", host.run(docker.logs_tail(name, 20), warn=True).stdout, 20)
            raise DeployError(f"PostgreSQL ({name}) did not become healthy within {seconds}s (its log is above); "
                              "nothing was switched: check POSTGRES_* in the env file and the disk space")
