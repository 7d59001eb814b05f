"""What runs on the cluster, as the release and the day-two tasks both see it: the app service's release,
the tasks per node, one-off tasks with the app's secrets (the migration), a pg_dump on the database node, and
the one wait loop of the cluster's steps. The step modules share these; no task is wired to this module."""

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from deploy import envfile, releases
from deploy.commands import backup, database, django_check, swarm, swarm_https
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step, tail
from deploy.swarm_nodes import db_host

APP_SECRETS = ("django_secret_key", "database_url")
CONVERGE_SECONDS = 600
Seen = TypeVar("Seen")


def poll_until(seconds: float, look: Callable[[], Seen], done: Callable[[Seen], bool], *, every: float = 2,
               dry_run: bool = False) -> tuple[Seen | None, bool]:
    """``look()`` every ``every`` seconds until ``done`` says yes to what it saw, or ``seconds`` pass.

    Returns what it saw last (None when it never looked: a dry run looks at nothing) and whether it was done.
    """
    deadline = time.monotonic() + seconds
    seen = None
    while time.monotonic() < deadline and not dry_run:
        seen = look()
        if done(seen):
            return seen, True
        time.sleep(every)
    return seen, False


def current_image(manager: Host, names: Names) -> str:
    """The release the app service runs now ('' before the first deploy)."""
    image = manager.probe(swarm.service_image(names, names.alias)).stdout.strip()
    return image.split(":", 1)[1].split("@")[0] if ":" in image else ""


def show_tasks(manager: Host, names: Names) -> None:
    for line in manager.probe(swarm.tasks(names)).stdout.splitlines():
        say(f"    {line}")


def job_secrets(secrets: dict[str, str]) -> dict[str, str]:
    return {target: secrets[target] for target in APP_SECRETS}


def job_env(env: envfile.EnvFile) -> dict[str, str]:
    return {"DJANGO_SECRET_KEY_FILE": "/run/secrets/django_secret_key",
            "DATABASE_URL_FILE": "/run/secrets/database_url",
            "DJANGO_ALLOWED_HOSTS": env.values.get("DJANGO_ALLOWED_HOSTS", ""), "MYSITE_MIGRATE_ON_START": "0"}


def run_job(manager: Host, names: Names, name: str, image: str, command: str, secrets: dict[str, str],
            env: envfile.EnvFile, *, title: str, seconds: int = 900,
            explain: Callable[[str], str] | None = None) -> str:
    """A one-off task (the app's secrets, the stack's network), waited for; returns its output.

    ``explain``: why a failed task failed, from its output ('' when it cannot say)."""
    with step(title):
        manager.run(swarm.remove_service(name))
        manager.run(swarm.job(names, name, image, command, job_secrets(secrets), job_env(env)))
        try:
            state, _ = poll_until(seconds, lambda: manager.probe(swarm.job_state(name)).stdout.strip(),
                                  lambda found: found.startswith(("Complete", "Failed", "Rejected", "Shutdown")),
                                  every=1, dry_run=manager.dry_run)
            state = state or ""
            output = manager.probe(swarm.job_logs(name)).stdout
            if not state.startswith("Complete") and not manager.dry_run:
                tail(f"{name} output", output, 20)
                why = (explain and explain(output)) or f"the one-off task {name} ended {state or 'without finishing'}"
                raise DeployError(f"{why} (output above); nothing was rolled out: the previous release keeps serving")
            return output
        finally:
            manager.run(swarm.remove_service(name))


def migrate_job(manager: Host, names: Names, release: str, secrets: dict[str, str], env: envfile.EnvFile, *,
                title: str, check: bool = False) -> str:
    """Django's migrate, once, in a one-off task of ``release``'s app image (a deploy, a restore); with ``check``
    (a deploy), `check --deploy` first in the same task: its errors refuse before any migration, its warnings are
    one line."""
    command, explain = (django_check.then_migrate(), django_check.refusal) if check else (database.migrate(), None)
    output = run_job(manager, names, names.scoped(f"migrate_{release.replace('-', '_')}"), names.app_image(release),
                     command, secrets, env, title=title, explain=explain)
    line = django_check.passed(output) if check else None
    if line:
        say(line)
    return output


def dump_database(hosts: list[Host], names: Names, config: DeployConfig, label: str) -> str:
    """pg_dump in the PostgreSQL task's container, on the node that holds it; the dump stays there."""
    node = db_host(hosts, config)
    node_names = Names.of(config, node.home)
    container = node.probe(swarm.task_container(names, swarm.POSTGRES_SERVICE)).stdout.strip()
    if not container and not node.dry_run:
        raise DeployError(f"PostgreSQL does not run on {node.name}, the database node: see `fab swarm.status`")
    target = f"{node_names.backups}/{backup.backup_name(label, releases.stamp(), suffix=backup.PG_SUFFIX)}"
    node.run(backup.pg_dump_in(node_names, container or "POSTGRES", target), timeout=1800,
             what="the database backup failed; nothing was rolled out")
    say(f"    {node.name}:{target}")
    return target


def carry_https(manager: Host, names: Names, env: envfile.EnvFile) -> tuple[dict[str, str], envfile.EnvFile]:
    """For `swarm.deploy`: the certs secret the stack keeps (a placeholder, created here, until `fab swarm.https`
    got a certificate), and the env file with DJANGO_HTTPS=true once the cluster serves https."""
    current = manager.probe(swarm_https.certs_secret(names)).stdout.strip()
    if current and current != swarm_https.placeholder(names):
        return {"certs": current}, replace(env, values={**env.values, "DJANGO_HTTPS": "true"})
    name = swarm_https.placeholder(names)
    if not manager.probe(swarm.secret_exists(name)).ok:
        manager.run(swarm.create_secret(name, names.project), stdin=swarm_https.PLACEHOLDER)
    return {"certs": name}, env
