"""Security on the deployed server: secrets, users, ports, file modes, headers, hostile requests.

Hostile requests go through nginx on the server's published port, like a visitor's.
"""

from __future__ import annotations

import shlex
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.utils.html import escape

from testbed.servers import run
from tests.e2e.conftest import http_get
from tests.harness import flows
from tests.harness.flows import APP, DOMAIN, KEY
from tests.reliability.checks import app_containers, content, current_release, post_comment

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
PAYLOADS = [line for line in (Path(__file__).with_name("xss_payloads.txt").read_text().splitlines())
            if line and not line.startswith("# ")]


def test_payload_list_is_real():
    assert len(PAYLOADS) >= 20
    assert all(escape(p) != p for p in PAYLOADS)  # every one changes when escaped: the check below means something


def test_no_secret_in_any_image_layer(deployed):
    release = current_release(deployed)
    for image in (f"mysite-django:{release}", f"mysite-nginx:{release}"):
        scan = deployed.exec(
            f"d=$(mktemp -d) && docker save {image} | tar -x -C $d && "
            f"echo layers=$(find $d -name layer.tar | wc -l); "
            f"echo control=$(grep -rlaF -e {shlex.quote('nginx')} $d | wc -l); "
            f"grep -rlaF -e {shlex.quote(KEY)} $d | sed 's/^/LEAK /'; rm -rf $d", timeout=600).stdout
        print(image, scan)
        layers = int(scan.split("layers=")[1].split()[0])
        assert layers >= 3 and int(scan.split("control=")[1].split()[0]) > 0, scan  # we really read the layers
        assert "LEAK" not in scan, f"the secret key is in {image}: {scan}"


def test_app_runs_as_non_root(deployed):
    for app in app_containers(deployed):
        uid = deployed.exec(f"docker exec {app} id -u").stdout.strip()
        assert uid != "0" and uid == "10001", uid
        pid1 = deployed.exec(f"docker exec {app} grep ^Uid: /proc/1/status").stdout.split()  # gunicorn's master
        assert pid1[1:] == ["10001"] * 4, pid1


def test_app_port_is_not_reachable_from_outside(deployed):
    published = run(["docker", "port", deployed.name]).stdout  # the host sees only the server's 22/80/443
    assert sorted(line.split("/")[0] for line in published.splitlines()) == ["22", "443", "80"], published
    for app in app_containers(deployed):
        assert deployed.exec(f"docker port {app}").stdout.strip() == ""
    listening = deployed.exec("ss -ltnH | awk '{print $4}'").stdout.split()
    public = {addr.rsplit(":", 1)[1] for addr in listening if not addr.startswith(("127.", "[::1]"))}
    assert public <= {"22", "80", "443"}, listening
    address = deployed.exec("hostname -I").stdout.split()[0]
    outside = deployed.exec(f"curl -s -m 5 -o /dev/null http://{address}:8000/", check=False)
    assert outside.returncode != 0  # refused: port 8000 lives only on the compose network


def test_env_file_is_private(deployed):
    modes = deployed.exec(f"stat -c '%a %U %n' {APP}/shared/.envs {APP}/shared/.envs/.production").stdout.split("\n")
    assert modes[0].startswith("700 deploy") and modes[1].startswith("600 deploy"), modes


def test_nginx_holds_only_the_names_it_serves(deployed):
    nginx = deployed.exec("docker ps -q --filter label=com.docker.compose.service=nginx").stdout.split()[0]
    environment = deployed.exec(f"docker exec {nginx} env").stdout
    assert f"DJANGO_ALLOWED_HOSTS={DOMAIN}" in environment  # the env file really reached it
    assert "DJANGO_SECRET_KEY" not in environment and KEY not in environment, environment
    modes = deployed.exec(f"stat -c '%a %U' {APP}/shared/.envs/.nginx {APP}/backups").stdout.split("\n")
    assert modes[:2] == ["600 deploy", "700 deploy"], modes


def test_nginx_sends_security_headers(deployed):
    for path in ("/", "/healthz", "/posts/999999/"):
        headers = http_get(deployed.http_port, path, host=DOMAIN).headers
        # exactly one copy each (merged_headers joins repeats with ", "): nginx hides Django's
        for name, value in (("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"),
                            ("referrer-policy", "same-origin")):
            assert headers.get(name) == value, (path, name, headers)
        assert "default-src 'self'" in headers.get("content-security-policy", ""), (path, headers)
        assert "nginx/" not in headers.get("server", ""), headers  # no version advertised


def _no_raw(payload: str, page: str, where: str) -> None:
    assert payload not in page, f"{where}: the raw payload came back: {payload}"
    assert escape(payload) in page, f"{where}: the payload is not echoed escaped: {payload}"


@pytest.mark.parametrize("field", ["text", "name", "url"])
def test_xss_in_comments_comes_back_escaped(deployed, field):
    post = flows.first_post(deployed)
    for payload in PAYLOADS:
        status, page = post_comment(deployed, post, **{field: payload})
        assert status in (200, 400), status  # stored and shown, or refused with the form shown again
        _no_raw(payload, page, f"comment {field} ({status})")
    if field == "text":
        page = flows.get(deployed, post)[1]
        for payload in PAYLOADS:
            _no_raw(payload, page, "the post page")


def test_xss_in_search_comes_back_escaped(deployed):
    for payload in PAYLOADS:
        status, page = flows.get(deployed, "/search/?q=" + urllib.parse.quote(payload))
        assert status == 200
        _no_raw(payload, page, "search")


def test_post_without_csrf_is_refused(deployed):
    pk = flows.first_post(deployed).split("/")[2]
    form = urllib.parse.urlencode({"name": "Mallory", "email": "m@example.com", "text": "no token"}).encode()
    request = urllib.request.Request(f"{deployed.http_url}/comment/{pk}", data=form, headers={"Host": DOMAIN})
    status, body = 0, ""
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    assert status == 403
    assert "Traceback" not in body
    assert "no token" not in flows.get(deployed, flows.first_post(deployed))[1]


@pytest.mark.parametrize("query", ["' OR 1=1 --", "%", "_", "\\", "%_%", "\"; DROP TABLE blog_post; --",
                                   "1' UNION SELECT username, password FROM auth_user --", "x" * 4000])
def test_injection_shaped_search_is_harmless(deployed, query):
    before = content(deployed)["posts"]
    status, page = flows.get(deployed, "/search/?q=" + urllib.parse.quote(query))
    assert status == 200, page[:500]
    assert "Traceback" not in page
    assert content(deployed)["posts"] == before


@pytest.mark.parametrize("path", ["/posts/999999/", "/no/such/page", "/static/no-such-file.css", "/archives/2020/13/"])
def test_production_404_shows_no_traceback(deployed, path):
    answer = http_get(deployed.http_port, path, host=DOMAIN)
    assert answer.status == 404
    for leak in ("Traceback", "URLconf", "DEBUG", "settings.py", "site-packages"):
        assert leak not in answer.body, leak

