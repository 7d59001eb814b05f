"""certbot's deploy hook on a cluster (compose/production/nginx/swarm-certs.py): the secret's content, and the
Docker API calls that make it the certs service's secret, on a fake API."""

import base64
import hashlib
import importlib.util
import json
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("swarm_certs", ROOT / "compose/production/nginx/swarm-certs.py")
swarm_certs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(swarm_certs)

CHAIN = b"-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n"


def test_the_secret_holds_the_names_the_certificate_first_then_the_chain_and_the_key(tmp_path):
    lineage = tmp_path / "live/blog.example"
    lineage.mkdir(parents=True)
    (lineage / "fullchain.pem").write_bytes(CHAIN)
    (lineage / "privkey.pem").write_bytes(KEY)
    assert swarm_certs.bundle(str(lineage), ["www.blog.example", "blog.example"]) == (
        b"# mysite certs: blog.example www.blog.example\n" + CHAIN + KEY)


def test_a_new_certificate_becomes_a_secret_the_certs_service_points_at_and_old_ones_go(monkeypatch):
    data = b"# mysite certs: blog.example\n" + CHAIN + KEY
    name = f"mysite_certs_{hashlib.sha256(data).hexdigest()[:12]}"
    calls = []
    old_ref = {"File": {"Name": "certs", "UID": "0", "GID": "0", "Mode": 292}, "SecretID": "s0",
               "SecretName": "mysite_certs_none"}
    service = {"ID": "svc1", "Version": {"Index": 7},
               "Spec": {"Name": "mysite_certs", "TaskTemplate": {"ContainerSpec": {"Secrets": [old_ref]}}}}
    answers = {
        ("GET", "/secrets?filters=" + quote(json.dumps({"name": [name]}))): [],
        ("POST", "/secrets/create"): {"ID": "s1"},
        ("GET", "/services/mysite_certs"): service,
        ("POST", "/services/svc1/update?version=7"): {},
        ("GET", "/secrets?filters=" + quote(json.dumps({"label": ["mysite.certs=true"]}))): [
            {"ID": "s1", "Spec": {"Name": name}}, {"ID": "s9", "Spec": {"Name": "mysite_certs_0123456789ab"}}],
        ("DELETE", "/secrets/s9"): None,
    }

    def api(method, path, body=None, ok=(200, 201)):
        calls.append((method, path, body))
        return answers[(method, path)]

    monkeypatch.setattr(swarm_certs, "api", api)
    assert swarm_certs.publish("mysite", data) == name
    assert [call[:2] for call in calls] == list(answers)
    created = calls[1][2]
    assert created == {"Name": name, "Data": base64.b64encode(data).decode(),
                       "Labels": {"mysite.project": "mysite", "mysite.certs": "true"}}
    assert calls[3][2]["TaskTemplate"]["ContainerSpec"]["Secrets"] == [
        {"File": {"Name": "certs", "UID": "0", "GID": "0", "Mode": 0o444}, "SecretID": "s1", "SecretName": name}]


def test_the_same_certificate_again_changes_no_service(monkeypatch):
    data = b"# mysite certs: blog.example\n" + CHAIN + KEY
    name = f"mysite_certs_{hashlib.sha256(data).hexdigest()[:12]}"
    ref = {"File": {"Name": "certs", "UID": "0", "GID": "0", "Mode": 292}, "SecretID": "s1", "SecretName": name}
    service = {"ID": "svc1", "Version": {"Index": 7}, "Spec": {"TaskTemplate": {"ContainerSpec": {"Secrets": [ref]}}}}
    calls = []

    def api(method, path, body=None, ok=(200, 201)):
        calls.append((method, path))
        if path.startswith("/secrets?filters="):
            return [{"ID": "s1", "Spec": {"Name": name}}]
        return service

    monkeypatch.setattr(swarm_certs, "api", api)
    assert swarm_certs.publish("mysite", data) == name
    assert [method for method, _ in calls] == ["GET", "GET", "GET"]  # no create, no update, no delete
