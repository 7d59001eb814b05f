"""`fab swarm.bootstrap` and `fab swarm.remove-node`: fresh servers made one Docker Swarm (the first node
manages it; a worker joins with the token on stdin, never in `ps`), the database node labelled, a node drained
and taken out; and the nodes a day-two task can reach."""

import re
from concurrent.futures import ThreadPoolExecutor

from paramiko.ssh_exception import AuthenticationException, BadHostKeyException, SSHException

from deploy import checks
from deploy.commands import swarm
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names, label
from deploy.output import say, step
from deploy.preflight import check_sudo
from deploy.report import Report
from deploy.swarm_nodes import address, db_host, distinct_node_ids, host_by_name, node_id, parse_nodes
from deploy.swarm_stack import CONVERGE_SECONDS, poll_until, show_tasks


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
        poll_until(CONVERGE_SECONDS, lambda: not leaving.probe(swarm.task_container(names, names.alias)).stdout.strip()
                   and manager.probe(swarm.converged(names)).ok, bool, dry_run=manager.dry_run)
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
