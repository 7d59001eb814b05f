"""The toolkit's Fabric tasks, run from your laptop as `fab -H user@host TASK`. Wiring only; the engine is deploy/.

A project's fabfile.py is two lines: ``from deploy.fab import collection`` and ``ns = collection(__file__)``.
"""

from pathlib import Path

from invoke import Collection

from deploy import (
    backup_target,
    checks,
    database_move,
    legacy,
    operations,
    pipeline,
    services,
    swarm_cluster,
    swarm_operations,
    swarm_release,
)
from deploy import bootstrap as bootstrapping
from deploy import https as tls
from deploy import swarm_https as cluster_https
from deploy.arguments import POSITIVE
from deploy.cli import check_settings, guarded, target, targets, task

HOST_KEY = {"accept_new_host_key": "trust this server's host key on first contact and record it in known_hosts"}
DRY_RUN = {"dry_run": "print every remote command and run none"}


@task(help={**HOST_KEY, **DRY_RUN,
            "docker_ce": "install Docker from the docker-ce repository instead of the distribution's packages",
            "registry_mirror": "add a Docker registry mirror URL to /etc/docker/daemon.json (servers in China)"})
@guarded
def bootstrap(c, docker_ce=False, registry_mirror=None, accept_new_host_key=False, dry_run=False):
    """Turn a fresh server into one ready for deploys: Docker, compose, docker group, app folders."""
    if registry_mirror is not None:
        registry_mirror = bootstrapping.check_mirror_url(registry_mirror)
    host, config = target(c, accept_new_host_key=accept_new_host_key, dry_run=dry_run)
    bootstrapping.bootstrap(host, config, docker_ce=docker_ce, registry_mirror=registry_mirror)


@task(help={**HOST_KEY, **DRY_RUN})
@guarded
def migrate_legacy(c, accept_new_host_key=False, dry_run=False):
    """Stop the article's old host nginx and supervisor app so the containers can take ports 80/443."""
    host, config = target(c, accept_new_host_key=accept_new_host_key, dry_run=dry_run)
    legacy.migrate_legacy(host, config)


@task(help=DRY_RUN)
@guarded
def supervisor(c, dry_run=False):
    """Keep the stack running under supervisor (the article's way) instead of Docker restart policies."""
    host, config = target(c, dry_run=dry_run)
    services.install_supervisor(host, config)


@task(help=DRY_RUN)
@guarded
def systemd(c, dry_run=False):
    """Keep the stack running with a systemd unit instead of Docker restart policies."""
    host, config = target(c, dry_run=dry_run)
    services.install_systemd(host, config)


@task(help={**HOST_KEY, **DRY_RUN, "dirty": "deploy even with uncommitted changes (ships the working tree)",
            "build": "where the images are built: server (default; the server builds the shipped commit) or local "
                     "(this machine builds once and ships only the layers the server lacks)",
            "allow_unsafe_migrations": "migrate even when a migration breaks the release still serving during the "
                                       "switch (dropped or renamed columns, NOT NULL without a default)"})
@guarded
def deploy(c, dirty=False, build=None, allow_unsafe_migrations=False, accept_new_host_key=False, dry_run=False):
    """Ship HEAD with zero downtime; roll back by itself if the new release is unhealthy."""
    host, config = target(c, accept_new_host_key=accept_new_host_key, dry_run=dry_run, build=build)
    pipeline.deploy(host, config, dirty=dirty, allow_unsafe_migrations=allow_unsafe_migrations)


@task(help={**DRY_RUN, "to": "the release to go back to (default: the one before the current)"})
@guarded
def rollback(c, to=None, dry_run=False):
    """Switch back to an earlier release with zero downtime (seconds when its container is still warm)."""
    if to is not None:
        checks.release(to)
    host, config = target(c, dry_run=dry_run)
    pipeline.rollback(host, config, to=to)


@task(help={**DRY_RUN,
            "domain": "the site's domain (default: the first entry of DJANGO_ALLOWED_HOSTS)",
            "email": "where the ACME server (Let's Encrypt) sends expiry notices",
            "www": "also cover www.DOMAIN",
            "staging": "use Let's Encrypt's staging server (test certificates, generous rate limits)",
            "acme_server": "another ACME directory URL (step-ca, Pebble, ...) instead of Let's Encrypt",
            "acme_ca_bundle": "PEM file of the CA that signed the ACME server's own certificate",
            "status": "show the certificate nginx serves (serial, expiry) and change nothing",
            "renew": "renew the certificate now, without dropping a request"})
@guarded
def https(c, domain=None, email=None, www=False, staging=False, acme_server=None, acme_ca_bundle=None,
          status=False, renew=False, dry_run=False):
    """Get a Let's Encrypt certificate and serve HTTPS (HTTP/2, HSTS); renewals are automatic."""
    request = tls.check_context(c, domain=domain, email=email, www=www, staging=staging, acme_server=acme_server,
                                acme_ca_bundle=acme_ca_bundle, status=status, renew=renew)
    host, config = target(c, dry_run=dry_run)
    tls.https(host, config, request)


@task
@guarded
def releases(c):
    """List the releases on the server, marking the current one."""
    host, config = target(c)
    operations.show_releases(host, config)


@task
@guarded
def status(c):
    """Show containers, health, the current release and disk use."""
    host, config = target(c)
    operations.status(host, config)


@task(help={"follow": "keep streaming new lines", "service": "app (the default) or nginx",
            "lines": "how many past lines to show (default 100)"})
@guarded
def logs(c, follow=False, service="app", lines=100):
    """Show the app's (or nginx's) logs."""
    operations.service(service)
    host, config = target(c)
    operations.logs(host, config, follow=follow, service=service, lines=lines)


@task(help={"command": 'the manage.py command line, quoted, e.g. "createsuperuser"'})
@guarded
def manage(c, command):
    """Run a manage.py command in the app container (interactive on a terminal)."""
    words = checks.manage_command(command)
    host, config = target(c)
    operations.manage(host, config, words)


@task(help={"output": "where to save it (default: backups/<host>-<time>.sqlite3, or .pgdump on PostgreSQL)"})
@guarded
def backup(c, output=None):
    """Take a fresh database backup on the server and download it."""
    local = operations.backup_output(output)
    host, config = target(c)
    operations.download_backup(host, config, output=local)


@task(help={"file": "the backup to restore (.sqlite3, or .pgdump on PostgreSQL)", "yes": "do not ask for confirmation"})
@guarded
def restore(c, file, yes=False):
    """Replace the server's database with a backup, keeping a copy of what it replaces."""
    data = operations.backup_file(file, yes=yes)
    host, config = target(c)
    operations.restore(host, config, data, yes=yes)


# Its own task: invoke has no optional positional argument, and `fab restore FILE` stays as it was
@task(name="restore-from-target",
      help={"yes": "do not ask for confirmation",
            "at": 'the database as it was at this time, "YYYY-MM-DD HH:MM:SS" in UTC (default: the latest copy)'})
@guarded
def restore_from_target(c, at=None, yes=False):
    """Restore the database from the off-site backup target (on a server with nothing deployed: deploy HEAD with it)."""
    when = None if at is None else backup_target.parse_at(at)
    host, config = target(c)
    pipeline.restore_from_target(host, config, when, yes=yes)


@task(name="verify-backup",
      help={"at": 'check the copy of this time, "YYYY-MM-DD HH:MM:SS" in UTC (default: the latest copy)'})
@guarded
def verify_backup(c, at=None):
    """Restore the off-site target's copy into a scratch file on the server and check it; the site serves on."""
    when = None if at is None else backup_target.parse_at(at)
    host, config = target(c)
    operations.verify_backup(host, config, when)


@task
@guarded
def unlock(c):
    """Remove a stale deploy lock (after checking that no deploy is running)."""
    host, config = target(c)
    operations.unlock(host, config)


@task(help={"lines": "how many entries to show (default 20)"}, limits={"lines": POSITIVE})
@guarded
def audit(c, lines=20):
    """Show who deployed what and when, with the result and the time it took."""
    host, config = target(c)
    operations.audit(host, config, lines=lines)


@task(help=DRY_RUN)
@guarded
def to_postgres(c, dry_run=False):
    """Move the serving SQLite blog onto the bundled PostgreSQL: reads never fail, writes wait a moment."""
    host, config = target(c, dry_run=dry_run)
    database_move.to_postgres(host, config)


@task(help={"force": "replace this one file that fab init writes (e.g. fabric.yaml); it never overwrites the others"})
@guarded
def init(c, force=None):
    """Adopt the Django project in this folder: detect it, report, and write the deploy files it lacks."""
    from deploy.adopt import run  # imported here so that `fab --list` stays fast

    run.init(Path.cwd(), force=force)


NODES = {"nodes": "the cluster's nodes, the manager first: deploy@a,deploy@b:2222,... (default: swarm: nodes: in "
                  "fabric.yaml)"}


@task(name="bootstrap", help={**NODES, **HOST_KEY, **DRY_RUN,
                              "db_node": "the node that holds PostgreSQL's data (default: the manager)"})
@guarded
def swarm_bootstrap(c, nodes=None, db_node=None, accept_new_host_key=False, dry_run=False):
    """Make the nodes one Docker Swarm (the first manages it); run again to add a node."""
    hosts, config = targets(c, nodes, accept_new_host_key=accept_new_host_key, dry_run=dry_run,
                            check=lambda config: swarm_cluster.check_db_node(config, db_node))
    for host in hosts:
        bootstrapping.bootstrap(host, config)
    swarm_cluster.bootstrap(hosts, config, db_node=db_node)


@task(name="deploy", help={**NODES, **DRY_RUN, "dirty": "deploy even with uncommitted changes (ships the working tree)",
                           "allow_unsafe_migrations": "migrate even when a migration breaks the release still "
                                                      "serving during the rolling update"})
@guarded
def swarm_deploy(c, nodes=None, dirty=False, allow_unsafe_migrations=False, dry_run=False):
    """Build here once, ship to every node, migrate once, and let Swarm roll the release out."""
    hosts, config = targets(c, nodes, dry_run=dry_run)
    swarm_release.deploy(hosts, config, dirty=dirty, allow_unsafe_migrations=allow_unsafe_migrations)


@task(name="status", help=NODES)
@guarded
def swarm_status(c, nodes=None):
    """Show the cluster: nodes, the release, and each service's tasks per node."""
    hosts, config = targets(c, nodes, connect=False)
    hosts = swarm_cluster.answering(hosts, config)
    swarm_operations.status(hosts, config)


@task(name="rollback", help={**NODES, **DRY_RUN})
@guarded
def swarm_rollback(c, nodes=None, dry_run=False):
    """Roll the app back to the release before, with Swarm's rolling update."""
    hosts, config = targets(c, nodes, dry_run=dry_run)
    swarm_release.rollback(hosts, config)


@task(name="backup", help={**NODES, "output": "where to save it (default: backups/cluster-<time>.pgdump)"})
@guarded
def swarm_backup(c, nodes=None, output=None):
    """Take a fresh pg_dump of the cluster's database and download it."""
    if output is not None:
        output = str(checks.new_file(output, "--output"))
    hosts, config = targets(c, nodes, connect=False)
    hosts = swarm_cluster.answering(hosts, config, database=True)
    swarm_operations.backup_to(hosts, config, output=output)


@task(name="restore", help={**NODES, "file": "the .pgdump to restore", "yes": "do not ask for confirmation"})
@guarded
def swarm_restore(c, file, nodes=None, yes=False):
    """Replace the cluster's database with a dump, keeping a copy of what it replaces."""
    data = operations.backup_file(file, yes=yes)
    swarm_operations.check_dump(str(data))
    hosts, config = targets(c, nodes, connect=False)
    hosts = swarm_cluster.answering(hosts, config, database=True)
    swarm_operations.restore(hosts, config, str(data), yes=yes)


@task(name="manage", help={**NODES, "command": 'the manage.py command line, quoted, e.g. "createsuperuser"'})
@guarded
def swarm_manage(c, command, nodes=None):
    """Run a manage.py command in an app task (interactive on a terminal)."""
    words = checks.manage_command(command)
    hosts, config = targets(c, nodes, connect=False)
    hosts = swarm_cluster.answering(hosts, config)
    swarm_operations.manage(hosts, config, words)


@task(name="logs", help={**NODES, "service": "app (the default), nginx or postgres", "follow": "keep streaming",
                         "lines": "how many past lines to show"}, limits={"lines": POSITIVE})
@guarded
def swarm_logs(c, nodes=None, service="app", lines=100, follow=False):
    """Show a service's logs from every node."""
    swarm_operations.check_service(service)
    hosts, config = targets(c, nodes, connect=False)
    hosts = swarm_cluster.answering(hosts, config)
    swarm_operations.logs(hosts, config, service=service, lines=lines, follow=follow)


@task(name="https", help={**NODES, **DRY_RUN,
                          "domain": "the site's domain (default: the first entry of DJANGO_ALLOWED_HOSTS)",
                          "email": "where the ACME server (Let's Encrypt) sends expiry notices",
                          "www": "also cover www.DOMAIN",
                          "staging": "use Let's Encrypt's staging server (test certificates, generous rate limits)",
                          "acme_server": "another ACME directory URL (step-ca, Pebble, ...) instead of Let's Encrypt",
                          "acme_ca_bundle": "PEM file of the CA that signed the ACME server's own certificate"})
@guarded
def swarm_https(c, domain=None, email=None, www=False, staging=False, acme_server=None, acme_ca_bundle=None,
                nodes=None, dry_run=False):
    """One certificate for the cluster (one ACME order), served by every node's nginx; renewed in the cluster."""
    request = tls.check_context(c, domain=domain, email=email, www=www, staging=staging, acme_server=acme_server,
                                acme_ca_bundle=acme_ca_bundle)
    hosts, config = targets(c, nodes, dry_run=dry_run)
    cluster_https.https(hosts, config, request)


@task(name="remove-node", help={**NODES, "host": "the node to take out, as given in --nodes"})
@guarded
def swarm_remove_node(c, host, nodes=None):
    """Drain a node (its tasks move first), then take it out of the swarm."""
    hosts, config = targets(c, nodes, check=lambda config: swarm_cluster.check_leaving(config, host))
    swarm_cluster.remove_node(hosts, config, host)


def collection(fabfile: str) -> Collection:
    """`fab --list` of the project whose fabfile.py is ``fabfile``, after checking the fabric.yaml beside it.

    Fabric reads that fabric.yaml right after importing fabfile.py, and a broken one is a traceback there.
    The check runs on every call, not once at import: one process may load several projects' fabfiles.
    """
    check_settings(Path(fabfile).with_name("fabric.yaml"))
    return MENU


# the tasks above at the top level, the database's under `db.`, the cluster's under `swarm.`
MENU = Collection(init, bootstrap, migrate_legacy, supervisor, systemd, deploy, rollback, https, releases, status, logs,
                  manage, backup, restore, restore_from_target, verify_backup, unlock, audit,
                  Collection("db", to_postgres),
                  Collection("swarm", swarm_bootstrap, swarm_deploy, swarm_status, swarm_rollback, swarm_backup,
                             swarm_restore, swarm_manage, swarm_logs, swarm_https, swarm_remove_node))
