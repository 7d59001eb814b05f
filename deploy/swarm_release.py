"""`fab swarm.deploy` and `fab swarm.rollback`: a release on the cluster.

We write no scheduler: Swarm rolls updates out (the new task healthy before an old one stops) and rolls a
release back when it never becomes healthy. This module gets the images onto every node without a registry
(built here once, `deploy.images.ship`), keeps the secrets in Docker secrets, runs migrations once behind the
same gate as a single server, and reports what Swarm did.
"""

import hashlib
import os
import tempfile
import time

from deploy import envfile, images, lock, preparation, releases
from deploy.commands import database, docker, shell, swarm
from deploy.commands import releases as commands
from deploy.commands.images import tag
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step
from deploy.swarm_nodes import require_cluster
from deploy.swarm_stack import (
    CONVERGE_SECONDS,
    carry_https,
    current_image,
    dump_database,
    migrate_job,
    poll_until,
    run_job,
    show_tasks,
)

SECRETS = {"django_secret_key": "DJANGO_SECRET_KEY", "database_url": "DATABASE_URL",
           "postgres_password": "POSTGRES_PASSWORD"}  # the stack's secret -> the env file's value
DONE = ("completed", "rollback_completed", "rollback_paused", "paused")


def secret_names(names: Names, env: envfile.EnvFile) -> dict[str, str]:
    """The stack's secrets, named after a hash of their value: a changed value is a new secret (rotation)."""
    return {secret: names.scoped(f"{secret}_{hashlib.sha256(env.values[key].encode()).hexdigest()[:12]}")
            for secret, key in SECRETS.items()}


def stack_env(names: Names, env: envfile.EnvFile, release: str, nginx_tag: str, secrets: dict[str, str],
              replicas: int) -> dict[str, str]:
    """The variables swarm.yml reads."""
    values = {"MYSITE_TAG": release, "MYSITE_NGINX_TAG": nginx_tag, "MYSITE_REPLICAS": str(replicas),
              "MYSITE_UPDATE_MONITOR": f"{names.config.swarm.monitor}s",
              "MYSITE_HTTP_PORT": str(names.config.http_port), "MYSITE_HTTPS_PORT": str(names.config.https_port),
              "DJANGO_ALLOWED_HOSTS": env.values.get("DJANGO_ALLOWED_HOSTS", ""),
              "POSTGRES_USER": env.values.get("POSTGRES_USER", ""), "POSTGRES_DB": env.values.get("POSTGRES_DB", "")}
    for key in ("WEB_CONCURRENCY", "DJANGO_HTTPS"):
        if key in env.values:
            values[key] = env.values[key]
    values.update({f"MYSITE_SECRET_{secret.upper()}": name for secret, name in secrets.items()})
    values.update(names.stack_app_env)
    return values


def deploy(hosts: list[Host], config: DeployConfig, dirty: bool = False, allow_unsafe_migrations: bool = False) -> None:
    """Build here once, ship to every node, migrate once, let Swarm roll the release out; wait and report."""
    started = time.monotonic()
    manager = hosts[0]
    with step(f"preflight: env file, git commit, the swarm of {len(hosts)} node(s)"):
        source = preparation.local_preflight(config, dirty, swarm.STACK_FILE, check_env=require_bundled)
        root, env, sha = source.root, source.env, source.sha
        require_cluster(hosts)
        here = preparation.builder_here(hosts)
        names = Names.of(config, manager.home)
        serving = current_image(manager, names)
        say(f"    {'working tree as ' if source.dirty else 'commit '}{sha[:7]}, {len(hosts)} node(s), "
            f"serving {serving or 'nothing yet (first deploy)'}")
    release = source.release
    built = preparation.images_here(here, hosts, names, source)
    with lock.held(manager, names, lock.holder(sha)):
        result = "failed"
        try:
            images.ship(hosts, here, built)
            nginx_tag = swarm.nginx_tag(built.ids[names.nginx_image(release)])
            with step(f"tag nginx by its image ID on every node ({nginx_tag}: unchanged nginx, untouched ports)"):
                for host in hosts:
                    host.run(tag(names.nginx_image(release), names.nginx_image(nginx_tag)))
            secrets = ensure_secrets(manager, names, env)
            certs, env = carry_https(manager, names, env)  # https, once on, stays on (docs/SWARM.md)
            secrets.update(certs)
            folder = ship_stack_file(manager, names, release, sha, root)
            first = not manager.probe(swarm.service_exists(names, swarm.POSTGRES_SERVICE)).ok
            if first:
                with step("first deploy: the stack with no app task yet, PostgreSQL up and healthy"):
                    manager.run(swarm.stack_deploy(names, folder, stack_env(names, env, release, nginx_tag,
                                                                            secrets, replicas=0)))
                    wait_postgres(manager, names)
            elif serving:
                gate(manager, names, serving, secrets, source, allow_unsafe_migrations, config.gate_settings)
                with step("back up the database (pg_dump on the node that holds it)"):
                    dump_database(hosts, names, config, label=release)
            migrate_job(manager, names, release, secrets, env, check=True,
                        title="check --deploy, then migrate the database once, in a one-off task on the stack's "
                              "network")
            with step(f"roll {release} out: {config.swarm.replicas} app task(s), new before old (Swarm)"):
                manager.run(swarm.stack_deploy(names, folder, stack_env(names, env, release, nginx_tag, secrets,
                                                                        replicas=config.swarm.replicas)))
            outcome = wait_converged(manager, names, release)
            show_tasks(manager, names)
            if outcome.startswith("rollback"):
                raise DeployError(f"{release} never became healthy on the cluster: Swarm rolled the app back by "
                                  f"itself ({outcome}), the previous release keeps serving; see `fab swarm.logs`")
            with step(f"record current -> {release}"):
                manager.run(commands.link_current(names, release))
            prune_secrets(manager, names, secrets)
            result = "ok"
        finally:
            preparation.audit(manager, names, action="swarm-deploy", sha=sha, release=release, result=result,
                              started=started)
    say(f"deployed {release} to {len(hosts)} node(s) in {time.monotonic() - started:.1f}s")


def require_bundled(env: envfile.EnvFile) -> None:
    if env.database != envfile.BUNDLED:
        raise DeployError(f"{env.path}: a cluster needs the bundled PostgreSQL (SQLite cannot be shared between "
                          "servers): `inv production.env --postgres` writes it for a new site; an existing "
                          "one moves with `fab db.to-postgres` first (docs/SWARM.md)")


def ensure_secrets(manager: Host, names: Names, env: envfile.EnvFile) -> dict[str, str]:
    wanted = secret_names(names, env)
    with step("secrets: Docker secrets, named after their value (a changed one rotates)"):
        for name, secret in wanted.items():
            if not manager.probe(swarm.secret_exists(secret)).ok:
                manager.run(swarm.create_secret(secret, names.project), stdin=env.values[SECRETS[name]])
                say(f"    created {secret}")
    return wanted


def prune_secrets(manager: Host, names: Names, keep: dict[str, str]) -> None:
    old = [n for n in manager.probe(swarm.secrets(names.project)).stdout.split() if n not in keep.values()]
    if old:
        manager.run(swarm.remove_secrets(old), warn=True)


def ship_stack_file(manager: Host, names: Names, release: str, sha: str, root: str) -> str:
    """swarm.yml of the commit into releases/<release>/ on the manager; returns that folder."""
    folder = names.release(release)
    with step(f"the stack file of {sha[:7]} to {folder}"), tempfile.TemporaryDirectory() as tree:
        manager.run(commands.prepare_dirs(names))
        manager.run(shell.make_folder(folder))
        releases.export(sha, tree, cwd=root)
        manager.put(os.path.join(tree, swarm.STACK_FILE), f"{folder}/{swarm.STACK_FILE}")
    return folder


def gate(manager: Host, names: Names, serving: str, secrets: dict[str, str], source: preparation.Source,
         allow: bool, settings: str) -> None:
    """The migration gate, the serving release's applied migrations read in a one-off task of its image."""
    preparation.migration_gate(
        source, settings, allow=allow, title="the migration gate: nothing that breaks the release still serving",
        applied=lambda: run_job(manager, names, names.scoped("plan"), names.app_image(serving),
                                database.migration_plan(), secrets, source.env,
                                title=f"read the migrations {serving} has applied (a one-off task)"))


def wait_postgres(manager: Host, names: Names) -> None:
    _, healthy = poll_until(300, lambda: postgres_healthy(manager, names), bool, dry_run=manager.dry_run)
    if not healthy and not manager.dry_run:
        raise DeployError("PostgreSQL did not become healthy on the database node within 300s: see "
                          "`fab swarm.logs --service postgres`")


def postgres_healthy(manager: Host, names: Names) -> bool:
    if "Running" not in manager.probe(swarm.service_states(names, swarm.POSTGRES_SERVICE)).stdout:
        return False
    container = db_container(manager, names)
    return bool(container) and manager.probe(docker.is_healthy(container)).ok


def db_container(manager: Host, names: Names) -> str:
    """PostgreSQL's container, on the manager when it runs there ('' elsewhere)."""
    return manager.probe(swarm.task_container(names, swarm.POSTGRES_SERVICE)).stdout.strip()


def wait_converged(manager: Host, names: Names, release: str) -> str:
    """Until the app's update is done (or rolled back) and every service runs all its tasks; the outcome."""
    with step("wait until every node converged (Swarm's rolling update; new before old, health-checked)"):
        def finished(state: str) -> bool:
            if state.startswith("rollback"):
                return state in DONE
            return (state in DONE or not state) and manager.probe(swarm.converged(names)).ok \
                and current_image(manager, names) == release

        state, done = poll_until(CONVERGE_SECONDS, lambda: update_state(manager, names), finished,
                                 dry_run=manager.dry_run)
        if done:
            return state or "created"
        if manager.dry_run:
            return "completed"
        raise DeployError(f"the cluster did not converge within {CONVERGE_SECONDS}s (update state {state or '?'}): "
                          "see `fab swarm.status`")


def rollback(hosts: list[Host], config: DeployConfig) -> None:
    """Swarm's own rollback of the app to its previous spec (the release before), new before old."""
    manager = hosts[0]
    require_cluster(hosts)
    names = Names.of(config, manager.home)
    before = current_image(manager, names)
    with lock.held(manager, names, lock.holder(before.split("-")[-1] if before else "rollback", action="rollback")):
        with step(f"roll the app back from {before or '?'} (Swarm)"):
            manager.run(swarm.rollback(names), what="Swarm has no earlier app spec to roll back to")
        outcome = wait_rollback(manager, names)
        show_tasks(manager, names)
        now = current_image(manager, names)
        manager.run(commands.link_current(names, now or "RELEASE"), warn=True)
    say(f"rolled back to {now} ({outcome})")


def wait_rollback(manager: Host, names: Names) -> str:
    state, _ = poll_until(CONVERGE_SECONDS, lambda: update_state(manager, names),
                          lambda found: found in ("rollback_completed", "rollback_paused")
                          and manager.probe(swarm.converged(names)).ok, dry_run=manager.dry_run)
    return state or "completed"


def update_state(manager: Host, names: Names) -> str:
    """Where the app service's update (or Swarm's rollback of it) stands: 'completed', 'rollback_paused', ..."""
    return manager.probe(swarm.update_state(names)).stdout.strip()
