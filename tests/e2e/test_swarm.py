"""Three fresh servers as one Docker Swarm, through the real `fab swarm.*` CLI, as a user runs it.

One story on one cluster (the servers share a user-defined network; Swarm's ingress routing mesh needs
IPVS, which these machines lack, so nginx publishes in host mode and the services resolve through Swarm's
DNS): bootstrap, first deploy answering on every node, a comment written through one node and read through
another, a code-only deploy under load spread over two nodes, a broken release rolled back by Swarm itself,
a backup/restore round trip, `fab swarm.https` with Pebble (one ACME order, the challenge answered through any
node, one certificate on every node, a forced renewal in the cluster under https load on every node, a node with
no copy yet), a node drained under load, and a worker killed hard (the other nodes keep serving and its tasks are
rescheduled within 60 s). The load client never retries.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy import envfile
from deploy.commands import swarm as swarm_commands
from deploy.commands import swarm_https as https_commands
from deploy.config import DeployConfig
from deploy.names import Names
from testbed import images as standins
from testbed.load import Load
from testbed.servers import record_timing
from tests.harness import flows
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import DOMAIN
from tests.harness.pebble import start_pebble
from tests.reliability.checks import COMMENT, post_comment

pytestmark = pytest.mark.e2e
EMAIL = "admin@blog.example"
NUMBERS: dict[str, str] = {}
NAMES = Names.of(DeployConfig(), "/home/deploy")  # the default names every node uses


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    repo = flows.make_checkout(tmp_path_factory.mktemp("swarm") / "mysite", head_only=True)
    env = repo / ".envs/.production"
    env.write_text(env.read_text() + envfile.render(envfile.postgres_settings(envfile.new_password())))
    return repo


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    return flows.make_laptop(tmp_path_factory.mktemp("swarm-laptop"))


@pytest.fixture(scope="module")
def cluster(module_server_network, module_server_factory, server_image, checkout, laptop):
    """Three servers after `fab bootstrap` (in parallel); the manager's engine has postgres:17 (no registry)."""
    standins.ensure_base_images()
    standins.ensure_image(standins.REGISTRY_IMAGE)
    standins.ensure_image(standins.POSTGRES_IMAGE)
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        servers = list(pool.map(lambda _: module_server_factory("bookworm", image=server_image,
                                                                network=module_server_network), range(3)))
        done = list(pool.map(lambda s: flows.fab(s, checkout, laptop, "bootstrap", "--accept-new-host-key"),
                             servers))
    assert all(d.returncode == 0 for d in done), [d.stdout + d.stderr for d in done]
    servers[0].load_images(standins.POSTGRES_IMAGE)
    record_timing("three servers bootstrapped for the swarm", time.monotonic() - started)
    return servers


def nodes(cluster) -> str:
    return ",".join(f"deploy@{s.host}:{s.ssh_port}" for s in cluster)


# Swarm watches each new app task this long after it is healthy (fabric.yaml swarm: monitor, 20 s by default):
# Docker's own default here, since no test needs a crash after health to be caught, and every rollout is
# two tasks' monitors shorter (docs/TESTING.md)
MONITOR = {"MYSITE_SWARM_MONITOR": "5"}


def swarm(cluster, checkout, laptop, task, *args, env=None, **kwargs):
    return flows.fab(cluster[0], checkout, laptop, f"swarm.{task}", "--nodes", nodes(cluster), *args,
                     env={**MONITOR, **(env or {})}, **kwargs)


def manager(cluster, command: str) -> str:
    return cluster[0].exec(command).stdout


def fingerprint(cluster, checkout, laptop) -> dict:
    done = swarm(cluster, checkout, laptop, "manage", "db_fingerprint")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def quiet_fingerprint(cluster, checkout, laptop, batch_seconds: float = 2) -> dict:
    """The fingerprint once the views the app tasks counted are written (blog/viewcount.py writes them in batches,
    every VIEW_COUNT_FLUSH_SECONDS, 2 by default): two reads a batch apart that agree, so that a backup or a restore
    that follows does not race a batch."""
    last = fingerprint(cluster, checkout, laptop)
    for _ in range(10):
        time.sleep(batch_seconds + 1)
        now = fingerprint(cluster, checkout, laptop)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the database kept changing with no request for {10 * (batch_seconds + 1):g}s")


def loads(cluster, servers=(0, 1), timeout=10.0):
    """Keep-alive clients on two nodes' nginx at once (no retries), four each."""
    return [Load("127.0.0.1", cluster[i].http_port, host=DOMAIN, paths=["/", "/healthz"], threads=4,
                 timeout=timeout) for i in servers]


def run_loads(clients, action, after: float = 2):
    """action() while ``clients`` (testbed.load.Load) run: (its outcome, failed, total). The action starts once
    every load flows (not after a fixed 2 s); the loads go on ``after`` seconds past it."""
    for client in clients:
        client.__enter__()
    try:
        for client in clients:
            flows.load_flowing(client)
        outcome = action()
        time.sleep(after)
    finally:
        for client in clients:
            client.__exit__(None, None, None)
    return outcome, sum(c.result.failed for c in clients), sum(c.result.total for c in clients)


def under_load(cluster, action, servers=(0, 1), timeout=10.0, clients=None):
    """action() under loads() on ``servers``: (its outcome, failed, total); ``clients`` (a list) gets the loads."""
    clients = [] if clients is None else clients
    clients.extend(loads(cluster, servers, timeout))
    outcome, failed, total = run_loads(clients, action)
    print(f"load on nodes {servers}: {failed} failed / {total}; " + "; ".join(str(c.result) for c in clients))
    return outcome, failed, total


# Every process's argv on a node, sampled every 50 ms while it runs: only the lines that show a join or a join
# token are kept (the brackets keep the sampler's own argv from matching itself).
ARGV_SAMPLER = ("while [ ! -e /tmp/argv-stop ]; do cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | "
                "grep -E 'SWMTK[N]|swarm/joi[n]|^joi[n]$'; sleep 0.05; done > /tmp/argv-samples")


def argv_during(servers, action):
    """action() while every process's argv on ``servers`` is sampled; (its outcome, each server's samples)."""
    samplers = [subprocess.Popen(["docker", "exec", s.name, "bash", "-c", ARGV_SAMPLER]) for s in servers]
    try:
        outcome = action()
    finally:
        for server, sampler in zip(servers, samplers, strict=True):
            server.exec("touch /tmp/argv-stop")
            sampler.wait(timeout=30)
    return outcome, [s.exec("cat /tmp/argv-samples; rm -f /tmp/argv-samples /tmp/argv-stop").stdout for s in servers]


def worker_token(cluster) -> str:
    return manager(cluster, "docker swarm join-token -q worker").strip()


def leaves(cluster, server) -> None:
    """``server`` leaves the swarm and the manager forgets it, as a node that never joined."""
    node, _ = node_of(server)
    server.exec("docker swarm leave")
    manager(cluster, f"docker node rm --force {node}")


def test_bootstrap_makes_one_swarm_and_running_it_again_changes_nothing(cluster, checkout, laptop):
    done, samples = argv_during(cluster[1:], lambda: swarm(cluster, checkout, laptop, "bootstrap"))
    assert done.returncode == 0, done.stdout + done.stderr
    for server, seen in zip(cluster[1:], samples, strict=True):
        assert "SWMTKN" not in seen, (server.name, seen)  # no join token in any process's argv
        assert "join" in seen, (server.name, seen)  # while the sampler saw the join run
    listed = manager(cluster, "docker node ls --format '{{.Status}} {{.Availability}} {{.ManagerStatus}}'").split("\n")
    assert sorted(line.strip() for line in listed if line.strip()) == [
        "Ready Active", "Ready Active", "Ready Active Leader"]
    assert "mysite.db=true" in manager(cluster, "docker node inspect self --format '{{.Spec.Labels}}'").replace(
        ":", "=")
    assert "join-token" not in done.stdout and "SWMTKN" not in done.stdout + done.stderr  # never printed

    # the token a node joins with is rotated once it joined: it no longer joins anything
    used = worker_token(cluster)
    leaves(cluster, cluster[2])
    rejoined = swarm(cluster, checkout, laptop, "bootstrap")
    assert rejoined.returncode == 0 and "the worker join token rotated" in rejoined.stdout, rejoined.stdout
    assert worker_token(cluster) not in ("", used)
    leaves(cluster, cluster[2])
    address = manager(cluster, "docker info --format '{{.Swarm.NodeAddr}}'").strip()
    refused = cluster[2].exec(f"docker swarm join --token {used} {address}:2377", check=False, timeout=60)
    assert refused.returncode != 0 and "token" in (refused.stdout + refused.stderr).lower(), refused
    back = swarm(cluster, checkout, laptop, "bootstrap")
    assert back.returncode == 0, back.stdout + back.stderr

    again = swarm(cluster, checkout, laptop, "bootstrap")
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr


def test_the_first_deploy_answers_on_every_node(cluster, checkout, laptop):
    done = swarm(cluster, checkout, laptop, "deploy")
    NUMBERS["first swarm.deploy"] = f"{done.seconds:.1f}s"
    assert done.returncode == 0, done.stdout + done.stderr
    for server in cluster:
        assert flows.get(server, "/healthz") == (200, '{"status": "ok"}'), server.name
    listed = manager(cluster, "docker secret ls --format '{{.Name}}'").split()
    # the app's three, and the certs service's placeholder until `swarm.https` got a certificate
    assert len([name for name in listed if name.startswith("mysite_")]) == 4 and "mysite_certs_none" in listed
    key = envfile.load(checkout / ".envs/.production").values["DJANGO_SECRET_KEY"]
    spec = manager(cluster, "docker service inspect mysite_mysite")
    assert "DJANGO_SECRET_KEY_FILE=/run/secrets/django_secret_key" in spec and key not in spec  # a secret, not env
    monitor = manager(cluster, "docker service inspect -f '{{.Spec.UpdateConfig.Monitor}}' mysite_mysite").strip()
    assert monitor == "5s", monitor  # swarm: monitor reached the stack
    for server in cluster:  # each node's nginx reuses ports in TIME_WAIT (a connection to the app per request)
        nginx = server.exec(swarm_commands.task_container(NAMES, swarm_commands.NGINX_SERVICE)).stdout.strip()
        reuse = server.exec(f"docker exec {nginx} cat /proc/sys/net/ipv4/tcp_tw_reuse").stdout.strip()
        assert reuse == "1", server.name


def test_a_comment_written_through_one_node_is_read_through_another(cluster, checkout, laptop):
    seeded = swarm(cluster, checkout, laptop, "manage", "seed_demo --posts 3")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    post = flows.first_post(cluster[1])
    status, _ = post_comment(cluster[1], post, text=COMMENT)
    assert status == 200
    assert COMMENT in flows.get(cluster[2], post)[1]


def test_a_code_only_deploy_under_load_on_two_nodes_loses_nothing(cluster, checkout, laptop):
    base = checkout / "blog/templates/base.html"
    base.write_text(base.read_text().replace("</body>", "<!-- swarm release two --></body>"))
    flows.commit(checkout, "a code-only change")
    nginx_tasks = "docker service ps -q --filter desired-state=running mysite_nginx | sort"
    nginx_before = manager(cluster, nginx_tasks)
    done, failed, total = under_load(cluster, lambda: swarm(cluster, checkout, laptop, "deploy"))
    NUMBERS["code-only swarm.deploy"] = f"{done.seconds:.1f}s, {failed} failed / {total}"
    record_timing("fab swarm.deploy, code-only, three nodes", done.seconds)
    assert done.returncode == 0, done.stdout + done.stderr
    assert failed == 0 and total > 100
    assert manager(cluster, nginx_tasks) == nginx_before  # nginx untouched: no node dropped a connection
    for server in cluster:
        assert "swarm release two" in flows.get(server, "/")[1]


def test_a_broken_release_is_rolled_back_by_swarm_and_the_task_says_so(cluster, checkout, laptop):
    good = flows.git(checkout, "rev-parse", "HEAD")
    wsgi = checkout / "mysite/wsgi.py"
    wsgi.write_text(wsgi.read_text() + '\nraise RuntimeError("a release that cannot start")\n')
    flows.commit(checkout, "a release that raises at import")
    try:
        done, failed, total = under_load(cluster, lambda: swarm(cluster, checkout, laptop, "deploy"))
        NUMBERS["broken release"] = f"{failed} failed / {total} in {done.seconds:.1f}s"
        assert done.returncode != 0
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "rolled the app back" in errors[0], done.stdout + done.stderr
        assert failed == 0 and total > 100
        assert "swarm release two" in flows.get(cluster[2], "/")[1]
    finally:
        flows.git(checkout, "reset", "-q", "--hard", good)


def test_backup_then_restore_round_trips_the_data(cluster, checkout, laptop, tmp_path):
    saved = quiet_fingerprint(cluster, checkout, laptop)  # the views of earlier loads written first
    dump = tmp_path / "cluster.pgdump"
    done = swarm(cluster, checkout, laptop, "backup", "--output", str(dump))
    assert done.returncode == 0, done.stdout + done.stderr
    status, _ = post_comment(cluster[0], flows.first_post(cluster[0]), text="after the backup")
    assert status == 200 and quiet_fingerprint(cluster, checkout, laptop) != saved  # its page's view written too
    done = swarm(cluster, checkout, laptop, "restore", str(dump), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "migrate the restored database to" in done.stdout  # the serving release's migrate task, as a deploy
    assert fingerprint(cluster, checkout, laptop) == saved
    assert COMMENT in flows.get(cluster[1], flows.first_post(cluster[1]))[1]


@pytest.fixture(scope="module")
def acme(cluster):
    """Pebble on a network the manager joins (its certbot task reaches it through the manager's NAT). Pebble
    really validates HTTP-01, at a worker: its mock DNS answers the domain with the second node's address."""
    with start_pebble(cluster[0], validate_at=cluster[1]) as pebble:
        yield pebble


def issued(acme) -> int:
    """Certificates Pebble issued: one per finalized ACME order."""
    logs = subprocess.run(["docker", "logs", acme.name], capture_output=True, text=True, timeout=60)
    return (logs.stdout + logs.stderr).count("Issued certificate serial")


def served(server, context: ssl.SSLContext) -> str:
    """SHA-256 fingerprint of the certificate a node's nginx presents for DOMAIN on its https port."""
    with socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def answer(server, path: str, context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], str]:
    """One request to a node (http, or https with ``context``), redirects not followed."""
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", server.https_port, timeout=10, context=context)
        connection.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", server.https_port), 10),
                                              server_hostname=DOMAIN)
    try:
        connection.request("GET", path, headers={"Host": DOMAIN})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def nginx_log(server) -> str:
    nginx = server.exec(swarm_commands.task_container(NAMES, swarm_commands.NGINX_SERVICE)).stdout.strip()
    done = server.exec(f"docker logs {nginx} 2>&1")
    return done.stdout


def certbot_task(cluster) -> str:
    return manager(cluster, swarm_commands.task_container(NAMES, https_commands.CERTBOT_SERVICE)).strip()


def test_the_acme_challenge_reaches_the_one_certbot_through_every_node(cluster):
    token = f"e2e-{time.monotonic_ns()}"
    certbot = certbot_task(cluster)
    assert certbot, manager(cluster, "docker service ps mysite_certbot")
    manager(cluster, f"docker exec {certbot} sh -c 'mkdir -p /var/www/acme/.well-known/acme-challenge && "
                     f"echo {token} > /var/www/acme/.well-known/acme-challenge/{token}'")
    for server in cluster:
        assert answer(server, f"/.well-known/acme-challenge/{token}")[::2] == (200, token + "\n"), server.name


def test_swarm_https_orders_once_and_every_node_serves_the_certificate(cluster, checkout, laptop, acme):
    assert issued(acme) == 0
    done = swarm(cluster, checkout, laptop, "https", "--domain", DOMAIN, "--email", EMAIL, "--acme-server",
                 acme.directory, "--acme-ca-bundle", acme.listener_ca)
    NUMBERS["swarm.https"] = f"{done.seconds:.1f}s"
    record_timing("fab swarm.https, three nodes", done.seconds)
    assert done.returncode == 0, done.stdout + done.stderr
    assert issued(acme) == 1  # one ACME order for the cluster
    # Pebble fetched the challenge from the worker its DNS named, whose nginx proxied it to the manager's certbot
    # (the earlier test's own tokens start with e2e-)
    fetched = {server.name: [line for line in nginx_log(server).splitlines()
                             if "/.well-known/acme-challenge/" in line and "/acme-challenge/e2e-" not in line]
               for server in cluster}
    assert fetched[cluster[1].name] and all(" 200 " in line for line in fetched[cluster[1].name]), fetched
    assert not fetched[cluster[0].name] and not fetched[cluster[2].name], fetched
    context = ssl.create_default_context(cadata=acme.root())
    prints = {server.name: served(server, context) for server in cluster}
    NUMBERS["fingerprints after swarm.https"] = ", ".join(f"{p[:16]}..." for p in prints.values())
    assert len(set(prints.values())) == 1, prints  # the same certificate on every node
    for server in cluster:
        status, headers, _ = answer(server, "/")
        assert (status, headers.get("location")) == (301, f"https://{DOMAIN}/"), (server.name, status, headers)
        status, headers, body = answer(server, "/healthz", context)
        assert (status, body) == (200, '{"status": "ok"}'), server.name
        assert headers.get("strict-transport-security", "").startswith("max-age="), headers
    assert "DJANGO_HTTPS=true" in manager(cluster, "docker service inspect mysite_mysite")
    again = swarm(cluster, checkout, laptop, "https", "--domain", DOMAIN, "--email", EMAIL, "--acme-server",
                  acme.directory, "--acme-ca-bundle", acme.listener_ca)
    assert again.returncode == 0, again.stdout + again.stderr
    assert issued(acme) == 1  # run again: no new order (certbot keeps a certificate not yet due)
    assert {server.name: served(server, context) for server in cluster} == prints


def test_a_forced_renewal_in_the_cluster_reaches_every_node_under_https_load(cluster, acme):
    context = ssl.create_default_context(cadata=acme.root())
    before = served(cluster[0], context)
    certbot = certbot_task(cluster)
    renewed = {}

    def renew():
        started = time.monotonic()
        manager(cluster, https_commands.renew(certbot, DOMAIN))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            now = {server.name: served(server, context) for server in cluster}
            if before not in now.values() and len(set(now.values())) == 1:
                renewed.update(now)
                renewed["seconds"] = time.monotonic() - started
                return True
            time.sleep(1)
        return False

    # new handshakes all along (a connection every 5 requests) on every node, over TLS checked against Pebble's root
    clients = [Load("127.0.0.1", server.https_port, host=DOMAIN, paths=["/", "/healthz"], threads=3,
                    tls=context, reconnect_every=5) for server in cluster]
    reached, failed, total = run_loads(clients, renew, after=3)
    NUMBERS["forced renewal"] = (f"{failed} failed / {total} https requests on 3 nodes; every node on the new "
                                 f"certificate {renewed.get('seconds', 0):.0f}s after certbot renew began")
    print("renewal: " + "; ".join(str(c.result) for c in clients))
    assert reached, renewed
    assert failed == 0 and total > 100, [str(c.result) for c in clients]
    assert issued(acme) == 2  # the renewal: one more order, made once for the cluster


def test_a_later_deploy_keeps_https_and_restarts_no_nginx(cluster, checkout, laptop, acme):
    context = ssl.create_default_context(cadata=acme.root())
    prints = {server.name: served(server, context) for server in cluster}
    secret = manager(cluster, https_commands.certs_secret(NAMES)).strip()
    nginx_tasks = "docker service ps -q --filter desired-state=running mysite_nginx | sort"
    nginx_before = manager(cluster, nginx_tasks)
    done = swarm(cluster, checkout, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert manager(cluster, https_commands.certs_secret(NAMES)).strip() == secret
    assert "DJANGO_HTTPS=true" in manager(cluster, "docker service inspect mysite_mysite")
    assert manager(cluster, nginx_tasks) == nginx_before
    assert {server.name: served(server, context) for server in cluster} == prints
    assert issued(acme) == 2


def test_a_node_with_no_copy_yet_serves_the_certificate_once_its_certs_task_wrote_it(cluster, acme):
    """What a node that joins meets: an empty certs volume; its nginx waits for the certs task's first copy."""
    context = ssl.create_default_context(cadata=acme.root())
    expected = served(cluster[0], context)
    worker, hostname = node_of(cluster[2])
    manager(cluster, f"docker node update --availability drain {worker}")
    deadline = time.monotonic() + 90
    while cluster[2].exec("docker ps -q --filter label=com.docker.stack.namespace=mysite").stdout.strip():
        assert time.monotonic() < deadline, "the drained node kept its tasks"
        time.sleep(1)
    # the drained tasks' containers stay as Swarm's task history: they go first, then the node's copy
    cluster[2].exec("docker ps -aq --filter volume=mysite_certs | xargs -r docker rm -f >/dev/null")
    cluster[2].exec("docker volume rm mysite_certs")
    manager(cluster, f"docker node update --availability active {worker}")
    deadline = time.monotonic() + 120
    while True:
        try:
            if served(cluster[2], context) == expected:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, cluster[2].exec("docker ps -a").stdout
        time.sleep(1)
    assert answer(cluster[2], "/healthz", context)[0] == 200


def node_of(server) -> tuple[str, str]:
    """(node ID, hostname) of a server in the swarm."""
    found = server.exec("docker info --format '{{.Swarm.NodeID}} {{.Name}}'").stdout.split()
    return found[0], found[1]


def app_replicas(cluster) -> str:
    return manager(cluster, "docker service ls --filter name=mysite_mysite --format '{{.Replicas}}'").strip()


def app_nodes(cluster) -> list[str]:
    return manager(cluster, "docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' "
                            "mysite_mysite").split("\n")


def test_a_node_drained_under_load_loses_nothing(cluster):
    worker, hostname = node_of(cluster[2])

    def drain():
        manager(cluster, f"docker node update --availability drain {worker}")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            running = [line for line in app_nodes(cluster) if "Running" in line]
            if app_replicas(cluster) == "2/2" and not any(line.startswith(hostname + " ") for line in running):
                return True
            time.sleep(1)
        return False

    # the drained node's own nginx stops too: the clients use the other two nodes
    moved, failed, total = under_load(cluster, drain, servers=(0, 1))
    manager(cluster, f"docker node update --availability active {worker}")
    NUMBERS["drain"] = f"{failed} failed / {total}"
    assert moved and failed == 0 and total > 100


def test_a_worker_killed_hard_does_not_stop_the_others_and_its_tasks_come_back_elsewhere(cluster, checkout, laptop,
                                                                                         tmp_path):
    victim = cluster[2]
    _, hostname = node_of(victim)
    manager(cluster, "docker service scale --detach mysite_mysite=3")  # spread: one app task on every node
    deadline = time.monotonic() + 120
    while not (app_replicas(cluster) == "3/3" and any(line.startswith(hostname + " ") and "Running" in line
                                                      for line in app_nodes(cluster))):
        assert time.monotonic() < deadline, app_nodes(cluster)
        time.sleep(1)
    started = {}

    def kill():
        killed = started["killed"] = time.monotonic()
        subprocess.run(["docker", "kill", victim.name], check=True, capture_output=True)
        started["dead"] = time.monotonic()
        while time.monotonic() < killed + 60:
            down = "Down" in manager(cluster, "docker node ls --format '{{.Status}}'")
            elsewhere = [line for line in app_nodes(cluster) if "Running" in line and not line.startswith(hostname)]
            if down and len(elsewhere) == 3:
                started["rescheduled after"] = time.monotonic() - killed
                return True
            time.sleep(1)
        return False

    # A request sent to the killed node that has no answer yet is retried elsewhere by nginx (at once when the
    # kernel resets the connection, after its read timeout of 15 s when the node is silent), so the clients wait up
    # to 30 s, as a browser does, and count anything slower as failed. A response the killed node had already
    # begun is cut: nginx has passed its headers on and cannot retry it. Only such requests, in flight at the
    # kill, may fail; every request sent after it must succeed.
    clients = []
    rescheduled, failed, total = under_load(cluster, kill, servers=(0, 1), timeout=30.0, clients=clients)
    in_flight, later = [], []
    for client in clients:
        cut, others = client.result.failures_in_flight(started["killed"], started["dead"])
        in_flight += cut
        later += others
    NUMBERS["worker killed"] = (f"{failed} failed / {total} ({len(in_flight)} cut in flight at the kill); its app "
                                f"task running elsewhere after {started.get('rescheduled after', 0):.0f}s")
    print("\n".join(f"[swarm] {k}: {v}" for k, v in NUMBERS.items()))
    assert rescheduled, started
    assert len(in_flight) + len(later) == failed, (in_flight, later, failed)  # every failure told apart
    assert later == [] and total > 100, later
    assert len(in_flight) <= sum(client.threads for client in clients), in_flight  # one per connection at most
    assert {reason for *_, reason in in_flight} <= {"IncompleteRead", "RemoteDisconnected", "ConnectionResetError"}

    # the day-two tasks need the manager and the database node, not the dead worker: they run, and name it down
    dump = tmp_path / "after-the-kill.pgdump"
    for task, *args in (("backup", "--output", str(dump)), ("status",)):
        done = swarm(cluster, checkout, laptop, task, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        down = [line for line in done.stdout.splitlines() if "down" in line and victim.host_string in line]
        assert len(down) == 1, done.stdout
    assert dump.read_bytes().startswith(b"PGDMP")
