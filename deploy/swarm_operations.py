"""Day-two tasks on the cluster: `fab swarm.status`, `swarm.backup`, `swarm.restore` (migrated to the serving
release, as a deploy migrates), `swarm.manage` and `swarm.logs`."""

import json
import os
import sys
import time

from deploy import checks, envfile, lock
from deploy.backups import BACKUPS, HEADERS, POSTGRES, download, file_kind
from deploy.commands import backup, docker, swarm
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import confirmed, say, step
from deploy.swarm_nodes import db_host, parse_nodes
from deploy.swarm_stack import APP_SECRETS, current_image, dump_database, migrate_job, show_tasks


def status(hosts: list[Host], config: DeployConfig) -> None:
    manager = hosts[0]
    names = Names.of(config, manager.home)
    say(f"current release: {current_image(manager, names) or 'none'}")
    for node in parse_nodes(manager.probe(swarm.nodes()).stdout).values():
        say(f"node {node['hostname']} {node['address']}: {node['state']}, {node['availability']}"
            f"{', database' if names.label('db') in node['labels'] else ''}")
    show_tasks(manager, names)


def backup_to(hosts: list[Host], config: DeployConfig, output: str | None = None) -> str:
    names = Names.of(config, hosts[0].home)
    node = db_host(hosts, config)
    with step("take a fresh pg_dump on the database node"):
        target = dump_database(hosts, names, config, label="manual")
    local = output or os.path.join(BACKUPS, f"cluster-{time.strftime('%Y%m%d%H%M%S')}{backup.PG_SUFFIX}")
    download(node, target, local, folder=BACKUPS if output is None else None)
    return local


def check_dump(file: str) -> None:
    """A cluster restores only what its database can read: a pg_dump in custom format (what swarm.backup takes)."""
    with open(file, "rb") as handle:
        if file_kind(handle.read(len(HEADERS[POSTGRES]))) != POSTGRES:
            raise DeployError(f"{checks.shown(file)} is not a PostgreSQL dump (pg_dump -Fc): pass a .pgdump "
                              "`fab swarm.backup` or `fab backup` took")


def restore(hosts: list[Host], config: DeployConfig, file: str, yes: bool = False) -> None:
    check_dump(file)
    if not yes and not confirmed(f"Replace the cluster's database with {file}? [y/N] "):
        raise DeployError("restore cancelled: nothing was changed")
    manager = hosts[0]
    names = Names.of(config, manager.home)
    node = db_host(hosts, config)
    node_names = Names.of(config, node.home)
    with lock.held(manager, names, lock.holder("restore", action="restore")):
        with step("keep a dump of the database being replaced"):
            kept = dump_database(hosts, names, config, label="before-restore")
        container = node.probe(swarm.task_container(names, swarm.POSTGRES_SERVICE)).stdout.strip()
        upload = f"{node_names.backups}/.restore-{os.getpid()}{backup.PG_SUFFIX}"
        with step(f"restore {file} in one transaction (the replaced one is kept as {kept})"):
            node.put(file, upload)
            node.run(backup.pg_restore_in(container or "POSTGRES", upload), timeout=1800,
                     what="the restore failed; the live database is unchanged")
        migrate_restored(manager, names)


def migrate_restored(manager: Host, names: Names) -> None:
    """The restored database, migrated to the serving release: its one-off migrate task, as `swarm.deploy` runs it,
    with the image, secrets and hosts the app service runs with."""
    text = manager.probe(swarm.container_spec(names, names.alias)).stdout.strip()
    try:
        spec = json.loads(text) if text else {}
    except ValueError:
        raise DeployError(f"the database is restored, but the app service's spec on {manager.name} is unreadable "
                          f"({text[:60]!r}): run `fab swarm.deploy`, which migrates") from None
    release = spec.get("Image", "").split("@")[0].partition(":")[2]
    if not release and not manager.dry_run:
        say("    no release serves yet: the first `fab swarm.deploy` migrates the restored database")
        return
    release = release or "RELEASE"
    secrets = {item["File"]["Name"]: item["SecretName"] for item in spec.get("Secrets") or []}
    if not manager.dry_run and any(name not in secrets for name in APP_SECRETS):
        raise DeployError(f"the database is restored, but the app service lacks its secrets ({', '.join(APP_SECRETS)})"
                          " to migrate it: run `fab swarm.deploy`, which migrates")
    hosts = [item.partition("=")[2] for item in spec.get("Env") or [] if item.startswith("DJANGO_ALLOWED_HOSTS=")]
    env = envfile.EnvFile("the app service", {"DJANGO_ALLOWED_HOSTS": hosts[0] if hosts else ""})
    try:
        migrate_job(manager, names, release, secrets or {name: name for name in APP_SECRETS}, env,
                    title=f"migrate the restored database to {release} (a one-off task, as swarm.deploy runs it)")
    except DeployError as error:
        raise DeployError(f"the database is restored, but migrating it to {release} failed: fix the cause (the "
                          "one-off task's output is above), then run `fab swarm.manage migrate`") from error


def manage(hosts: list[Host], config: DeployConfig, command: list[str]) -> None:
    """manage.py in a running app task, on whichever node runs one; under the cluster's deploy lock (on the
    manager), as on one server: refused while a deploy, a rollback or a restore runs."""
    names = Names.of(config, hosts[0].home)
    for host in hosts:
        container = host.probe(swarm.task_container(names, names.alias)).stdout.strip()
        if container or host.dry_run:
            tty = sys.stdin.isatty() and sys.stdout.isatty()
            with lock.held(hosts[0], names, lock.holder("manage", action="manage")):
                result = host.run(docker.manage(container or "APP", command, tty), hide=False, pty=tty, warn=True)
            if result.failed:
                raise DeployError(f"manage.py {' '.join(command)} failed (exit {result.exited}) on {host.name}: see "
                                  "its output above")
            return
    raise DeployError("no app task runs on any node: see `fab swarm.status`, then `fab swarm.deploy`")


def check_service(service: str) -> str:
    if service not in (*checks.APP_SERVICES, swarm.NGINX_SERVICE, swarm.POSTGRES_SERVICE):
        raise DeployError(f"--service {checks.shown(service)} is not a service of the stack: use app, nginx or "
                          "postgres")
    return service


def logs(hosts: list[Host], config: DeployConfig, service: str = "app", lines: int = 100,
         follow: bool = False) -> None:
    check_service(service)
    names = Names.of(config, hosts[0].home)
    service = names.alias if service in checks.APP_SERVICES else service
    hosts[0].run(swarm.logs(names, service, lines, follow), hide=False, pty=follow and sys.stdin.isatty())
