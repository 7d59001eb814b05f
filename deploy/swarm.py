"""`fab swarm.*`: several servers as one Docker Swarm, from the same images and the same steps.

We write no scheduler: Swarm places the app's replicas, rolls updates out (the new task healthy before an
old one stops), rolls a release back when it never becomes healthy, and reschedules the tasks of a lost
node. This module turns fresh servers into the cluster, gets the images onto every node without a
registry (built here once, `deploy.images.ship`), keeps the secrets in Docker secrets, runs migrations
once behind the same gate as a single server, and reports what Swarm did. The first node is the manager.
"""

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from paramiko.ssh_exception import AuthenticationException, BadHostKeyException, SSHException

from deploy import checks, envfile, images, lock, migrations, releases
from deploy.backups import HEADERS, POSTGRES, file_kind
from deploy.commands import backup, docker, shell, swarm
from deploy.commands import releases as commands
from deploy.commands.images import tag
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.local import Local
from deploy.names import Names, label
from deploy.output import confirmed, say, step, tail
from deploy.preflight import check_sudo
from deploy.report import Report

SECRETS = {"django_secret_key": "DJANGO_SECRET_KEY", "database_url": "DATABASE_URL",
           "postgres_password": "POSTGRES_PASSWORD"}  # the stack's secret -> the env file's value
APP_SECRETS = ("django_secret_key", "database_url")
CONVERGE_SECONDS = 600
DONE = ("completed", "rollback_completed", "rollback_paused", "paused")


# --- the cluster --------------------------------------------------------------------------------------------

def node_id(host: Host) -> tuple[str, str]:
    """(LocalNodeState, NodeID) of a node."""
    state, node, _ = swarm.parse_state(host.probe(swarm.state()).stdout)
    return state, node


def address(host: Host, configured: str = "") -> str:
    found = configured or host.probe(swarm.private_address()).stdout.strip()
    if not found and not host.dry_run:
        raise DeployError(f"{host.name} has no IPv4 route to tell the other nodes its address: set "
                          "`advertise_addr` under `swarm:` in fabric.yaml")
    return found or "ADVERTISE-ADDR"


def bootstrap(hosts: list[Host], config: DeployConfig, db_node: str | None = None) -> None:
    """Make the nodes (already bootstrapped for Docker) one swarm; safe to run again, and with one node more."""
    report = Report(hosts[0].dry_run)
    manager, workers = hosts[0], hosts[1:]
    with step("the workers that join have curl (the join token goes to Docker's API on stdin, never in `ps`)"):
        joining = [worker for worker in workers if node_id(worker)[0] != "active"]
        for worker in joining:
            check_curl(worker)
    with step(f"the manager: {manager.name}"):
        check_sudo(manager)
        state, _ = node_id(manager)
        manager_addr = address(manager, config.swarm.advertise_addr)
        if state != "active":
            manager.run(swarm.init(manager_addr), what=f"`docker swarm init` failed on {manager.name}")
        report.note(state != "active", f"{manager.name} manages the swarm, advertising {manager_addr}")
        token = manager.output(swarm.join_token()) if joining else ""  # kept in memory only
    try:
        for worker in workers:
            with step(f"a worker: {worker.name}"):
                if worker in joining:
                    join(worker, manager_addr, token)
                report.note(worker in joining, f"{worker.name} is in the swarm")
    except BaseException:
        if joining:  # the token went out: make it worthless, without hiding why the join failed
            manager.run(swarm.rotate_join_token(), warn=True)
        raise
    if joining:
        with step("rotate the worker join token (the one just used no longer joins)"):
            manager.run(swarm.rotate_join_token(), what="rotating the worker join token failed: run "
                        "`docker swarm join-token --rotate worker` on the manager")
        report.note(True, "the worker join token rotated")
    with step("label the node that holds the database"):
        wanted = host_by_name(hosts, db_node or config.swarm.db_node) if (db_node or config.swarm.db_node) else manager
        ids = {host.name: node_id(host)[1] for host in hosts}
        listed = parse_nodes(manager.probe(swarm.nodes()).stdout)
        db_label = label(config.app_name, "db")
        labelled = [node for node, info in listed.items() if f"{db_label}=true" in info["labels"]]
        target = ids[wanted.name]
        for node in labelled:
            if node != target:
                manager.run(swarm.unlabel_db(config.app_name, node))
        if target not in labelled:
            manager.run(swarm.label_db(config.app_name, target or "NODE"))
        report.note(target not in labelled, f"{wanted.name} holds PostgreSQL's data ({db_label}=true)")
    report.summary()


def check_db_node(config: DeployConfig, db_node: str | None) -> None:
    """``--db-node`` names one of the nodes: checked before connecting."""
    if db_node is not None:
        checks.node_named(config.swarm.nodes, db_node, "--db-node")


def check_curl(worker: Host) -> None:
    found = swarm.parse_curl_version(worker.probe(swarm.curl_version()).stdout)
    if found < swarm.CURL_UNIX_SOCKET and not worker.dry_run:
        have = "has no curl" if not found else f"has curl {'.'.join(map(str, found))}, older than 7.40"
        raise DeployError(f"{worker.name} {have}: a worker joins through Docker's API with curl 7.40+ (so the join "
                          "token never shows in `ps`); install it (`sudo apt-get install curl` or `sudo dnf install "
                          "curl`), then run `fab swarm.bootstrap` again")


def join(worker: Host, manager_addr: str, token: str) -> None:
    """Join ``worker`` through the Engine API on its own socket: the token travels in the request body, on stdin."""
    api = worker.probe(swarm.api_version()).stdout.strip()
    if not re.fullmatch(r"\d+\.\d+", api) and not worker.dry_run:
        raise DeployError(f"{worker.name}: `docker version` gave no Engine API version ({api[:60]!r}): is Docker "
                          "running there, and is the deploy user in the docker group? (fab bootstrap)")
    failed = (f"{worker.name} could not join the swarm at {manager_addr}:2377 (is that address reachable from it, "
              "and port 2377 open?)")
    done = worker.run(swarm.join(api or "1.41"), stdin=swarm.join_request(token, manager_addr, address(worker)),
                      what=failed)
    code, message = swarm.parse_join(done.stdout)
    if code != "200" and not worker.dry_run:
        raise DeployError(f"{failed}: Docker said {code} {message.replace(token, 'TOKEN') if token else message}")


def parse_nodes(text: str) -> dict[str, dict[str, str]]:
    """node ID -> hostname, state, availability, address, labels (from ``swarm.nodes()``)."""
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 5:
            found[words[0]] = {"hostname": words[1], "state": words[2], "availability": words[3],
                               "address": words[4], "labels": words[5] if len(words) > 5 else ""}
    return found


def host_by_name(hosts: list[Host], name: str) -> Host:
    """The connected node ``name`` names (as ``checks.node_named`` matched it before connecting)."""
    wanted = checks.host(name, "--nodes")
    for host in hosts:
        if any(wanted.names(given, host.conn.port) for given in (host.conn.original_host, host.conn.host)):
            return host
    raise DeployError(f"{name!r} is not one of the nodes ({', '.join(h.name for h in hosts)}): name one of them")


def distinct_node_ids(hosts: list[Host]) -> list[str]:
    """Each node's swarm node ID; two entries that reach one machine (an alias, another address) are refused."""
    found: dict[str, str] = {}
    ids = []
    for host in hosts:
        _, node = node_id(host)
        if node and node in found:
            raise DeployError(f"{found[node]} and {host.name} are one swarm node ({node}): list each node once")
        found[node] = host.name
        ids.append(node)
    return ids


def require_cluster(hosts: list[Host]) -> None:
    """Every node in the swarm, the first one its manager: else say to run swarm.bootstrap."""
    manager = hosts[0]
    state, _, control = swarm.parse_state(manager.probe(swarm.state()).stdout)
    if (state != "active" or not control) and not manager.dry_run:
        raise DeployError(f"{manager.name} is not a swarm manager: run `fab swarm.bootstrap` first")
    for host in hosts[1:]:
        if node_id(host)[0] != "active" and not host.dry_run:
            raise DeployError(f"{host.name} is not in the swarm: run `fab swarm.bootstrap` (it adds new nodes)")


# --- deploy -------------------------------------------------------------------------------------------------

def secret_names(names: Names, env: envfile.EnvFile) -> dict[str, str]:
    """The stack's secrets, named after a hash of their value: a changed value is a new secret (rotation)."""
    return {secret: names.scoped(f"{secret}_{hashlib.sha256(env.values[key].encode()).hexdigest()[:12]}")
            for secret, key in SECRETS.items()}


def stack_env(names: Names, env: envfile.EnvFile, release: str, nginx_tag: str, secrets: dict[str, str],
              replicas: int) -> dict[str, str]:
    """The variables swarm.yml reads."""
    values = {"MYSITE_TAG": release, "MYSITE_NGINX_TAG": nginx_tag, "MYSITE_REPLICAS": str(replicas),
              "MYSITE_HTTP_PORT": str(names.config.http_port),
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
        root = str(releases.repo_root())
        env = envfile.load(os.path.join(root, config.env_file))
        if env.database != envfile.BUNDLED:
            raise DeployError(f"{env.path}: a cluster needs the bundled PostgreSQL (SQLite cannot be shared between "
                              "servers): `inv production.env --postgres` writes it for a new site; an existing "
                              "one moves with `fab db.to-postgres` first (docs/SWARM.md)")
        sha, is_dirty = releases.source(dirty, cwd=root)
        if not releases.has_file(sha, swarm.STACK_FILE, cwd=root):
            raise DeployError(f"{swarm.STACK_FILE} is not in commit {sha[:7]}: commit it")
        require_cluster(hosts)
        here = Local(dry_run=manager.dry_run)
        arch = images.local_architecture(here)
        for host in hosts:
            images.check_architecture(host, arch)
            images.check_tunnel(host)
        names = Names.of(config, manager.home)
        serving = current_image(manager, names)
        say(f"    {'working tree as ' if is_dirty else 'commit '}{sha[:7]}, {len(hosts)} node(s), "
            f"serving {serving or 'nothing yet (first deploy)'}")
    release = releases.name(sha)
    built = images.build_here(here, names, root, sha, release)
    for host in hosts:
        with step(f"check that {host.name} has room for the new layers"):
            images.check_disk(host, built)
    with lock.held(manager, names, lock.holder(sha)):
        result = "failed"
        try:
            images.ship(hosts, here, built)
            nginx_tag = swarm.nginx_tag(built.ids[names.nginx_image(release)])
            with step(f"tag nginx by its image ID on every node ({nginx_tag}: unchanged nginx, untouched ports)"):
                for host in hosts:
                    host.run(tag(names.nginx_image(release), names.nginx_image(nginx_tag)))
            secrets = ensure_secrets(manager, names, env)
            folder = ship_stack_file(manager, names, release, sha, root)
            first = not manager.probe(swarm.service_exists(names, swarm.POSTGRES_SERVICE)).ok
            if first:
                with step("first deploy: the stack with no app task yet, PostgreSQL up and healthy"):
                    manager.run(swarm.stack_deploy(names, folder, stack_env(names, env, release, nginx_tag,
                                                                            secrets, replicas=0)))
                    wait_postgres(manager, names)
            elif serving:
                gate(manager, names, serving, secrets, env, root, sha, allow_unsafe_migrations, config.gate_settings)
                with step("back up the database (pg_dump on the node that holds it)"):
                    dump_database(hosts, names, config, label=release)
            run_job(manager, names, names.scoped(f"migrate_{release.replace('-', '_')}"),
                    names.app_image(release), "python manage.py migrate --noinput", secrets, env,
                    title="migrate the database once, in a one-off task on the stack's network")
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
            manager.run(commands.append_audit(names, releases.audit_line(
                who=lock.who(), action="swarm-deploy", sha=sha, release=release, result=result,
                seconds=time.monotonic() - started)), warn=True)
    say(f"deployed {release} to {len(hosts)} node(s) in {time.monotonic() - started:.1f}s")


def current_image(manager: Host, names: Names) -> str:
    """The release the app service runs now ('' before the first deploy)."""
    image = manager.probe(swarm.service_image(names, names.alias)).stdout.strip()
    return image.split(":", 1)[1].split("@")[0] if ":" in image else ""


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


def job_secrets(secrets: dict[str, str]) -> dict[str, str]:
    return {target: secrets[target] for target in APP_SECRETS}


def job_env(env: envfile.EnvFile) -> dict[str, str]:
    return {"DJANGO_SECRET_KEY_FILE": "/run/secrets/django_secret_key",
            "DATABASE_URL_FILE": "/run/secrets/database_url",
            "DJANGO_ALLOWED_HOSTS": env.values.get("DJANGO_ALLOWED_HOSTS", ""), "MYSITE_MIGRATE_ON_START": "0"}


def run_job(manager: Host, names: Names, name: str, image: str, command: str, secrets: dict[str, str],
            env: envfile.EnvFile, *, title: str, seconds: int = 900) -> str:
    """A one-off task (the app's secrets, the stack's network), waited for; returns its output."""
    with step(title):
        manager.run(swarm.remove_service(name))
        manager.run(swarm.job(names, name, image, command, job_secrets(secrets), job_env(env)))
        try:
            deadline = time.monotonic() + seconds
            state = ""
            while time.monotonic() < deadline and not manager.dry_run:
                state = manager.probe(swarm.job_state(name)).stdout.strip()
                if state.startswith(("Complete", "Failed", "Rejected", "Shutdown")):
                    break
                time.sleep(1)
            output = manager.probe(swarm.job_logs(name)).stdout
            if not state.startswith("Complete") and not manager.dry_run:
                tail(f"{name} output", output, 20)
                raise DeployError(f"the one-off task {name} ended {state or 'without finishing'} (output above); "
                                  "nothing was rolled out: the previous release keeps serving")
            return output
        finally:
            manager.run(swarm.remove_service(name))


def gate(manager: Host, names: Names, serving: str, secrets: dict[str, str], env: envfile.EnvFile, root: str,
         sha: str, allow: bool, settings: str) -> None:
    if allow:
        say("    migrations: not checked (--allow-unsafe-migrations)")
        return
    plan = run_job(manager, names, names.scoped("plan"), names.app_image(serving),
                   "python manage.py showmigrations --plan", secrets, env,
                   title=f"read the migrations {serving} has applied (a one-off task)")
    with step("the migration gate: nothing that breaks the release still serving"):
        migrations.judge(plan, root, sha, settings)


def wait_postgres(manager: Host, names: Names) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not manager.dry_run:
        if "Running" in manager.probe(swarm.service_states(names, swarm.POSTGRES_SERVICE)).stdout:
            container = db_container(manager, names)
            if container and manager.probe(docker.is_healthy(container)).ok:
                return
        time.sleep(2)
    if not manager.dry_run:
        raise DeployError("PostgreSQL did not become healthy on the database node within 300s: see "
                          "`fab swarm.logs --service postgres`")


def db_container(manager: Host, names: Names) -> str:
    """PostgreSQL's container, on the manager when it runs there ('' elsewhere)."""
    return manager.probe(swarm.task_container(names, swarm.POSTGRES_SERVICE)).stdout.strip()


def wait_converged(manager: Host, names: Names, release: str) -> str:
    """Until the app's update is done (or rolled back) and every service runs all its tasks; the outcome."""
    with step("wait until every node converged (Swarm's rolling update; new before old, health-checked)"):
        deadline = time.monotonic() + CONVERGE_SECONDS
        state = ""
        while time.monotonic() < deadline and not manager.dry_run:
            state = manager.probe(swarm.update_state(names)).stdout.strip()
            if state.startswith("rollback"):
                if state in DONE:
                    return state
            elif (state in DONE or not state) and manager.probe(swarm.converged(names)).ok \
                    and current_image(manager, names) == release:
                return state or "created"
            time.sleep(2)
        if manager.dry_run:
            return "completed"
        raise DeployError(f"the cluster did not converge within {CONVERGE_SECONDS}s (update state {state or '?'}): "
                          "see `fab swarm.status`")


def show_tasks(manager: Host, names: Names) -> None:
    for line in manager.probe(swarm.tasks(names)).stdout.splitlines():
        say(f"    {line}")


# --- day two ------------------------------------------------------------------------------------------------

def status(hosts: list[Host], config: DeployConfig) -> None:
    manager = hosts[0]
    names = Names.of(config, manager.home)
    say(f"current release: {current_image(manager, names) or 'none'}")
    for node in parse_nodes(manager.probe(swarm.nodes()).stdout).values():
        say(f"node {node['hostname']} {node['address']}: {node['state']}, {node['availability']}"
            f"{', database' if names.label('db') in node['labels'] else ''}")
    show_tasks(manager, names)


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
    deadline = time.monotonic() + CONVERGE_SECONDS
    state = ""
    while time.monotonic() < deadline and not manager.dry_run:
        state = manager.probe(swarm.update_state(names)).stdout.strip()
        if state in ("rollback_completed", "rollback_paused") and manager.probe(swarm.converged(names)).ok:
            return state
        time.sleep(2)
    return state or "completed"


def db_host(hosts: list[Host], config: DeployConfig) -> Host:
    return host_by_name(hosts, config.swarm.db_node) if config.swarm.db_node else hosts[0]


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


def backup_to(hosts: list[Host], config: DeployConfig, output: str | None = None) -> str:
    names = Names.of(config, hosts[0].home)
    node = db_host(hosts, config)
    with step("take a fresh pg_dump on the database node"):
        target = dump_database(hosts, names, config, label="manual")
    local = output or os.path.join("backups", f"cluster-{time.strftime('%Y%m%d%H%M%S')}{backup.PG_SUFFIX}")
    with step(f"download it to {local}"):
        if output is None:
            os.makedirs("backups", mode=0o700, exist_ok=True)
        if not node.dry_run:
            os.close(os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        node.get(target, local)
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
        run_job(manager, names, names.scoped(f"migrate_{release.replace('-', '_')}"), names.app_image(release),
                "python manage.py migrate --noinput", secrets or {name: name for name in APP_SECRETS}, env,
                title=f"migrate the restored database to {release} (a one-off task, as swarm.deploy runs it)")
    except DeployError as error:
        raise DeployError(f"the database is restored, but migrating it to {release} failed: fix the cause (the "
                          "one-off task's output is above), then run `fab swarm.manage migrate`") from error


def manage(hosts: list[Host], config: DeployConfig, command: list[str]) -> None:
    """manage.py in a running app task, on whichever node runs one."""
    names = Names.of(config, hosts[0].home)
    for host in hosts:
        container = host.probe(swarm.task_container(names, names.alias)).stdout.strip()
        if container or host.dry_run:
            tty = sys.stdin.isatty() and sys.stdout.isatty()
            result = host.run(docker.manage(container or "APP", command, tty), hide=False, pty=tty, warn=True)
            if result.failed:
                raise DeployError(f"manage.py {' '.join(command)} failed (exit {result.exited}) on {host.name}: see "
                                  "its output above")
            return
    raise DeployError("no app task runs on any node: see `fab swarm.status`, then `fab swarm.deploy`")


def check_service(service: str) -> str:
    if service not in (*checks.APP_SERVICES, swarm.NGINX_SERVICE, swarm.POSTGRES_SERVICE):
        raise DeployError(f"--service {checks.shown(service)} is not a service of the stack: use mysite (the app), "
                          "nginx or postgres")
    return service


def logs(hosts: list[Host], config: DeployConfig, service: str = "mysite", lines: int = 100,
         follow: bool = False) -> None:
    check_service(service)
    names = Names.of(config, hosts[0].home)
    service = names.alias if service in checks.APP_SERVICES else service
    hosts[0].run(swarm.logs(names, service, lines, follow), hide=False, pty=follow and sys.stdin.isatty())


def check_leaving(config: DeployConfig, node: str) -> None:
    """``--host`` names one of the nodes, not the manager: checked before connecting."""
    if checks.node_named(config.swarm.nodes, node, "--host") == 0:
        raise DeployError(manager_leaves(node))


def manager_leaves(node: str) -> str:
    return (f"--host {checks.shown(node)} is the manager (the first node): it cannot leave while the others stay; "
            "move the manager role first (docs/SWARM.md)")


def remove_node(hosts: list[Host], config: DeployConfig, node: str) -> None:
    """Drain the node (Swarm moves its tasks to the others first), then take it out of the swarm."""
    manager = hosts[0]
    leaving = host_by_name(hosts, node)
    ids = distinct_node_ids(hosts)  # one machine under two names would drain and remove the manager
    node_ref = ids[hosts.index(leaving)]
    if leaving is manager:
        raise DeployError(manager_leaves(node))
    names = Names.of(config, manager.home)
    with step(f"drain {leaving.name}: its tasks start elsewhere before they stop there"):
        manager.run(swarm.drain(node_ref or "NODE"))
        deadline = time.monotonic() + CONVERGE_SECONDS
        while time.monotonic() < deadline and not manager.dry_run:
            if not leaving.probe(swarm.task_container(names, names.alias)).stdout.strip() and \
                    manager.probe(swarm.converged(names)).ok:
                break
            time.sleep(2)
    with step(f"{leaving.name} leaves the swarm"):
        leaving.run(swarm.leave(), warn=True)
        manager.run(swarm.remove_node(node_ref or "NODE"))
    show_tasks(manager, names)


def answering(hosts: list[Host], config: DeployConfig, *, database: bool = False) -> list[Host]:
    """The nodes that answer over SSH (opened at once, host keys checked), the manager first; one line names
    those that do not. A day-two task needs the manager (and, with ``database``, the database node), not the
    others: without one of those it stops, in one line."""
    needed = {hosts[0].name: "the manager"}
    if database:
        needed.setdefault(db_host(hosts, config).name, "the database node")
    with step(f"connect to {len(hosts)} node(s) (host keys checked against {config.known_hosts})"):
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            failures = list(pool.map(open_failure, hosts))
    down = []
    for host, error in zip(hosts, failures, strict=True):
        if error is None:
            continue
        if not unreachable(error):
            raise error  # a changed host key or a refused login is never "down"
        if host.name in needed:
            raise DeployError(f"{needed[host.name]} does not answer, and this task needs it: {error}")
        down.append(host)
    if down:
        say(f"    down (no answer over SSH), left out: {', '.join(host.name for host in down)}")
    return [host for host in hosts if host not in down]


def open_failure(host: Host) -> DeployError | None:
    try:
        host.open()
    except DeployError as error:
        return error
    return None


def unreachable(error: DeployError) -> bool:
    """The node is down or cut off (refused, silent, reset), as opposed to refusing who we are."""
    cause = error.__cause__
    if isinstance(cause, AuthenticationException | BadHostKeyException):
        return False
    return isinstance(cause, OSError | EOFError | SSHException)


def connected(hosts: list[Host]) -> list[Host]:
    """Open every node's SSH connection at once (host keys checked), so an unreachable one stops us first."""
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(lambda host: host.open(), hosts))
    return hosts
