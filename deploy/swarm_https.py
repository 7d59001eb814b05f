"""`fab swarm.https`: one certificate for the whole cluster, one ACME order, on every node.

The stack's certbot service (one task, on the manager) answers the HTTP-01 challenge whichever node the CA
reaches (every nginx proxies it there), orders the certificate once and renews it. Its deploy hook makes the
certificate a Docker secret of the certs service (one task per node, a node that joins gets one), which copies
it into the node's volume; nginx reads it there at each handshake. Turning https on is a graceful reload of
each node's nginx, never a restart: nginx holds the node's ports. A later `swarm.deploy` keeps it all:
the cluster itself records that https is on (the certs service's secret), as the letsencrypt volume
does on one server (`deploy.swarm_stack.carry_https`). ``request`` is what `deploy.https.check` returns.
"""

import json
import time
from typing import Any

from deploy import acme, lock
from deploy.commands import certbot, files, swarm
from deploy.commands import swarm_https as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step, tail
from deploy.swarm_nodes import require_cluster
from deploy.swarm_stack import CONVERGE_SECONDS, show_tasks

COPY_SECONDS = 180
LOG_LINES = 15


def certbot_task(manager: Host, names: Names) -> str:
    container = manager.probe(swarm.task_container(names, commands.CERTBOT_SERVICE)).stdout.strip()
    if not container and not manager.dry_run:
        raise DeployError(f"the certbot service does not run on {manager.name}, the manager: run `fab swarm.deploy` "
                          "first (the stack brings it), then `fab swarm.https` again")
    return container or "CERTBOT"


def nginx_task(host: Host, names: Names) -> str:
    container = host.probe(swarm.task_container(names, swarm.NGINX_SERVICE)).stdout.strip()
    if not container and not host.dry_run:
        raise DeployError(f"nginx does not run on {host.name}: see `fab swarm.status`, then `fab swarm.deploy`")
    return container or "NGINX"


def issue(manager: Host, names: Names, request: Any) -> str:
    """The one ACME order, in the certbot task; returns the certs secret now published to every node."""
    container = certbot_task(manager, names)
    if request.ca_bundle:
        with step(f"the ACME CA bundle for the certbot task (kept for renewals in {certbot.STORED_CA})"):
            manager.put(request.ca_bundle, names.ca_bundle)
            manager.run(files.chmod(names.ca_bundle, 0o644))
            manager.run(certbot.store_ca(container, names.ca_bundle))
    else:
        manager.run(certbot.forget_ca(container))
    with step(f"obtain a certificate for {', '.join(request.names)} from {request.ca_name} (one order, in the "
              "certbot task; HTTP-01 answered by it through whichever node the CA reaches)"):
        command = commands.certonly(container, request.names, request.email, staging=request.staging,
                                    server=request.acme_server or None)
        acme.order(manager, command, request.names, "the cluster",
                   "the names point at the nodes and port 80 is open on them")
    with step("the certificate as a Docker secret of the certs service (one task per node)"):
        try:
            done = manager.run(commands.publish(container, request.names), timeout=120)
        except RemoteCommandFailed as error:
            tail("certs-publish output", error.output, LOG_LINES)
            raise DeployError("the certificate could not be handed to the nodes (output above): the cluster keeps "
                              "serving http; run `fab swarm.https` again") from None
        secret = commands.parse_published(done.stdout)
        if not secret and not manager.dry_run:
            raise DeployError("certs-publish named no secret: run `fab swarm.https` again")
        say(f"    {secret}")
    return secret or "SECRET"


def wait_copied(hosts: list[Host], names: Names, secret: str) -> dict[str, str]:
    """Until every node's certs task copied ``secret`` (its hash in the name); each node's nginx container."""
    digest = secret.rsplit("_", 1)[-1]
    nginx = {host.name: nginx_task(host, names) for host in hosts}
    with step(f"wait until every node's certs task copied {secret}"):
        deadline = time.monotonic() + COPY_SECONDS
        waiting = list(hosts)
        while waiting and not hosts[0].dry_run:
            waiting = [host for host in waiting
                       if not host.probe(commands.copied(nginx[host.name])).stdout.strip().startswith(digest)]
            if waiting and time.monotonic() > deadline:
                raise DeployError(f"{', '.join(h.name for h in waiting)} did not copy the certificate within "
                                  f"{COPY_SECONDS}s: see `fab swarm.logs --service certs`; the nodes serve as before")
            if waiting:
                time.sleep(2)
    return nginx


def serve_https(hosts: list[Host], nginx: dict[str, str]) -> None:
    for host in hosts:
        with step(f"{host.name}: nginx serves https (config tested, then one graceful reload)"):
            try:
                done = host.run(commands.serve_https(nginx[host.name]))
            except RemoteCommandFailed as error:
                tail("nginx output", error.output, LOG_LINES)
                raise DeployError(f"nginx on {host.name} rejected the https config (output above); it keeps serving "
                                  "as before") from None
            if "(https: 'none'" in done.stdout and not host.dry_run:
                raise DeployError(f"nginx on {host.name} found no certificate to serve: see `fab swarm.logs "
                                  "--service certs`")


def tell_django(manager: Host, names: Names) -> None:
    """DJANGO_HTTPS=true for the app tasks (a rolling update, new before old); kept by later deploys (carry)."""
    spec = manager.probe(swarm.container_spec(names, names.alias)).stdout.strip()
    env = (json.loads(spec).get("Env") or []) if spec else []
    if "DJANGO_HTTPS=true" in env:
        say("    the app already runs with DJANGO_HTTPS=true: no update")
        return
    with step("Django behind https: DJANGO_HTTPS=true in the app service (Swarm's rolling update, new before old)"):
        manager.run(commands.app_https(names))
        deadline = time.monotonic() + CONVERGE_SECONDS
        while not manager.dry_run:
            state = manager.probe(swarm.update_state(names)).stdout.strip()
            if state.startswith("rollback"):
                raise DeployError(f"the app did not become healthy with DJANGO_HTTPS=true: Swarm rolled it back "
                                  f"({state}); see `fab swarm.logs`")
            if state in ("completed", "") and manager.probe(swarm.converged(names)).ok:
                break
            if time.monotonic() > deadline:
                raise DeployError(f"the app's update did not finish within {CONVERGE_SECONDS}s: see `fab swarm.status`")
            time.sleep(2)


def show(hosts: list[Host], nginx: dict[str, str], domain: str) -> None:
    """The certificate each node serves for ``domain``: one serial everywhere, else stop."""
    serials = {}
    for host in hosts:
        found = certbot.parse_served(host.run(certbot.served(nginx[host.name], domain), warn=True).stdout)
        serials[host.name] = found.get("serial", "")
        say(f"    {host.name}: serial {found.get('serial', '?')}, expires {found.get('expires', '?')}")
    if len(set(serials.values())) != 1 and not hosts[0].dry_run:
        raise DeployError(f"the nodes serve different certificates ({serials}): run `fab swarm.https` again")


def https(hosts: list[Host], config: DeployConfig, request: Any) -> None:
    manager = hosts[0]
    require_cluster(hosts)
    names = Names.of(config, manager.home)
    with lock.held(manager, names, lock.holder(request.domain, action="swarm-https")):
        secret = issue(manager, names, request)
        nginx = wait_copied(hosts, names, secret)
        serve_https(hosts, nginx)
        tell_django(manager, names)
    with step(f"check the certificate every node serves for {request.domain}"):
        show(hosts, nginx, request.domain)
    show_tasks(manager, names)
    say(f"https://{request.domain}/ is served over https by {len(hosts)} node(s); the certbot service renews it "
        "and hands it to every node")
