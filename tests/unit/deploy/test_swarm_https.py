"""`fab swarm.https`'s steps on fake nodes: one order on the manager, its secret awaited on every node, each
node's nginx switched by a reload, and one certificate everywhere or a one-line error."""

import pytest

from deploy import swarm_https
from deploy.commands import certbot, swarm
from deploy.commands import swarm_https as commands
from deploy.errors import DeployError
from deploy.https import Request
from tests.harness.mockremote import names
from tests.harness.swarm_node import Node

P = names()
REQUEST = Request("blog.example", "me@blog.example", acme_server="https://10.0.0.9:14000/dir")
NGINX = swarm.task_container(P, swarm.NGINX_SERVICE)
CERTBOT = swarm.task_container(P, commands.CERTBOT_SERVICE)


class Fake(Node):
    """A node that also answers what it runs from ``outputs``."""

    def __init__(self, name, answers, outputs=None):
        super().__init__(name, answers)
        self.outputs = outputs or {}

    def run(self, command, **kwargs):
        super().run(command, **kwargs)
        return type("R", (), {"stdout": self.outputs.get(command, ""), "ok": True, "failed": False, "stderr": ""})()


def test_the_one_order_runs_in_the_certbot_task_on_the_manager_then_its_secret_is_published():
    manager = Fake("a", {CERTBOT: "cb1\n"}, {commands.publish("cb1", ["blog.example"]): "certs: mysite_certs_abc\n"})
    assert swarm_https.issue(manager, P, REQUEST) == "mysite_certs_abc"
    assert manager.sent == [certbot.forget_ca("cb1"),
                            commands.certonly("cb1", ["blog.example"], "me@blog.example",
                                              server="https://10.0.0.9:14000/dir"),
                            commands.publish("cb1", ["blog.example"])]


def test_without_the_certbot_task_on_the_manager_it_says_to_deploy_first():
    with pytest.raises(DeployError, match=r"certbot service does not run on a, the manager: run `fab swarm.deploy`"):
        swarm_https.issue(Fake("a", {}), P, REQUEST)


def test_every_node_must_have_copied_the_secret_before_any_nginx_switches(monkeypatch):
    monkeypatch.setattr(swarm_https, "COPY_SECONDS", 0)
    monkeypatch.setattr(swarm_https.time, "sleep", lambda _: None)
    done = [Fake(name, {NGINX: f"ng-{name}\n", commands.copied(f"ng-{name}"): "abc123ffff\n"}) for name in "ab"]
    assert swarm_https.wait_copied(done, P, "mysite_certs_abc123") == {"a": "ng-a", "b": "ng-b"}
    late = Fake("c", {NGINX: "ng-c\n", commands.copied("ng-c"): "0000\n"})
    with pytest.raises(DeployError, match=r"^c did not copy the certificate within 0s: see `fab swarm.logs"):
        swarm_https.wait_copied([*done, late], P, "mysite_certs_abc123")


def test_a_node_whose_nginx_finds_no_certificate_stops_the_task():
    found = Fake("b", {}, {commands.serve_https("ng-b"): "nginx entrypoint: serving 'blog.example' (https: 'none')"})
    with pytest.raises(DeployError, match=r"^nginx on b found no certificate"):
        swarm_https.serve_https([found], {"b": "ng-b"})
    ok = Fake("a", {}, {commands.serve_https("ng-a"): "(https: 'blog.example')"})
    swarm_https.serve_https([ok], {"a": "ng-a"})
    assert ok.sent == [commands.serve_https("ng-a")]


def test_two_nodes_serving_different_certificates_is_one_line():
    nodes = [Fake(name, {}, {certbot.served(f"ng-{name}", "blog.example"): f"serial={serial}\n"})
             for name, serial in (("a", "01"), ("b", "02"))]
    with pytest.raises(DeployError, match=r"the nodes serve different certificates"):
        swarm_https.show(nodes, {"a": "ng-a", "b": "ng-b"}, "blog.example")
    same = [Fake(n.name, {}, {certbot.served(f"ng-{n.name}", "blog.example"): "serial=01\n"}) for n in nodes]
    swarm_https.show(same, {"a": "ng-a", "b": "ng-b"}, "blog.example")
