"""`fab https` over real SSH against a fresh systemd server, with Pebble as the ACME server.

One story, in order, on one module server (the deploy story's fixtures): bootstrap and a first deploy
(http), bad inputs refused with one line, an issuance that fails (http as before), `fab https`
(certificate issued, the blog over https through nginx with Pebble's root, http redirected, HSTS,
`check --deploy` clean), a deploy that rebuilds nginx (same certificate, same serial), and a forced
renewal under an https load that never retries (new serial, nothing failed).
"""
# ruff: noqa: F811 - the fixtures imported from test_deploy are arguments of the tests below

import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from testbed.load import Load
from testbed.servers import record_timing
from tests.e2e.conftest import docker, http_get
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import DOMAIN, commit, fab, get, load_flowing
from tests.harness.pebble import start_pebble
from tests.harness.story import *  # noqa: F403 - project, laptop, site: one bootstrapped site

pytestmark = pytest.mark.e2e
NGINX_FILES = Path(__file__).resolve().parents[2] / "compose/production/nginx"
EMAIL = "admin@blog.example"
LE = "/var/lib/docker/volumes/mysite_letsencrypt/_data"
RESULTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def acme(site):
    with start_pebble(site) as pebble:
        yield pebble


@pytest.fixture(scope="module")
def deployed(site, project, laptop):
    done = fab(site, project, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def https_args(acme, *extra: str) -> list[str]:
    return ["https", "--domain", DOMAIN, "--email", EMAIL, "--acme-server", acme.directory,
            "--acme-ca-bundle", acme.listener_ca, *extra]


def one_error(done) -> str:
    assert done.returncode != 0, done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    return errors[0]


def https_off(server) -> bool:
    return server.exec(f"test -e {LE}/mysite/https-names", check=False).returncode != 0


def tls_context(acme) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=acme.root())


def https_get(server, context: ssl.SSLContext, path: str = "/") -> tuple[int, dict[str, str], str, str]:
    """GET https://DOMAIN:PORT/PATH at 127.0.0.1 (like curl --resolve): status, headers, body, serial."""
    with socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
            serial = f"{tls.getpeercert()['serialNumber'].lower().lstrip('0')}"
            version = tls.version()
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    headers["x-tls-version"] = version
    return int(lines[0].split()[1]), headers, body.decode(errors="replace"), serial


def served_serial(server, context) -> str:
    return https_get(server, context, "/healthz")[3]


NGINX_T = """
set -e
mkdir -p /etc/letsencrypt/live/blog.example /etc/letsencrypt/mysite
cp /tls/privkey.pem /tls/fullchain.pem /etc/letsencrypt/live/blog.example/
sh /e.sh render && nginx -t
echo blog.example > /etc/letsencrypt/mysite/https-names
sh /e.sh render && nginx -t
grep -q 'listen 443 ssl http2' /etc/nginx/mysite.d/https.conf
"""


def test_nginx_accepts_the_http_only_and_the_https_config(base_images, tmp_path):
    """`nginx -t` on both renderings, in the nginx base image (Debian's 1.22 stand-in, or the real 1.30)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=blog.example", "-keyout", str(tmp_path / "privkey.pem"), "-out",
                    str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    done = docker("run", "--rm", "--name", f"mysite-e2e-https-nginx-t-{time.monotonic_ns()}",
                  "-e", "DJANGO_ALLOWED_HOSTS=blog.example,www.blog.example",
                  "-v", f"{NGINX_FILES}:/etc/nginx/mysite:ro", "-v", f"{NGINX_FILES / 'entrypoint.sh'}:/e.sh:ro",
                  "-v", f"{tmp_path}:/tls:ro", "--entrypoint", "sh", "nginx:1.30", "-c", NGINX_T, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count("test is successful") == 2, done.stderr
    assert "(https: 'blog.example'" in done.stdout


def test_first_deploy_serves_http(deployed):
    assert get(deployed, "/healthz") == (200, '{"status": "ok"}')
    assert https_off(deployed)


def test_bad_inputs_are_one_line_and_change_nothing(deployed, project, laptop, acme, tmp_path):
    cases = {
        ("https", "--domain", "not a domain", "--email", EMAIL): "is not a domain name",
        ("https", "--domain", "https://blog.example/", "--email", EMAIL): "is not a domain name",
        ("https", "--domain", DOMAIN): "--email is missing",
        ("https", "--domain", DOMAIN, "--email", "nobody"): "does not look like an email address",
        ("https", "--domain", "other.example", "--email", EMAIL): "is not in DJANGO_ALLOWED_HOSTS",
        ("https", "--domain", DOMAIN, "--email", EMAIL, "--www"): "www.blog.example is not in DJANGO_ALLOWED_HOSTS",
        ("https", "--domain", DOMAIN, "--email", EMAIL, "--acme-server", "http://acme.example/dir"):
            "is not an https:// URL",
        ("https", "--domain", DOMAIN, "--email", EMAIL, "--acme-ca-bundle", str(tmp_path / "none.pem")):
            "no such file",
    }
    for args, words in cases.items():
        done = fab(deployed, project, laptop, *args)
        line = one_error(done)
        assert words in line, (args, line)
        assert "connect to" not in done.stdout  # refused before any connection
    assert https_off(deployed)
    assert get(deployed, "/")[0] == 200


def test_a_failed_issuance_leaves_http_as_it_was(deployed, project, laptop, acme):
    wrong = acme.directory.replace(":14000/", ":14999/")  # nothing listens there
    done = fab(deployed, project, laptop, "https", "--domain", DOMAIN, "--email", EMAIL, "--acme-server", wrong,
               "--acme-ca-bundle", acme.listener_ca)
    line = one_error(done)
    assert "certbot could not get a certificate" in line and "keeps serving http" in line, line
    assert "nginx -s reload" not in done.stdout and "serve blog.example over https" not in done.stdout
    assert https_off(deployed)
    assert get(deployed, "/")[0] == 200  # still http, no redirect


def test_fab_https_issues_and_serves_the_blog_over_https(deployed, project, laptop, acme):
    done = fab(deployed, project, laptop, *https_args(acme))
    assert done.returncode == 0, done.stdout + done.stderr
    record_timing("fab https, first issuance (Pebble)", done.seconds)
    RESULTS["fab https"] = f"{done.seconds:.1f}s"
    assert deployed.exec(f"test -s {LE}/live/{DOMAIN}/fullchain.pem").returncode == 0
    context = tls_context(acme)
    status, headers, body, serial = https_get(deployed, context, "/")
    assert status == 200 and "<html" in body.lower(), (status, body[:500])
    assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains", headers
    assert headers["x-tls-version"] in ("TLSv1.2", "TLSv1.3")
    RESULTS["serial"] = serial
    assert f"serial {serial}" in done.stdout  # what `fab https` showed is what nginx serves
    # http -> https, except the ACME challenge
    assert http_get(deployed.http_port, "/", host=DOMAIN).status == 301
    location = deployed.exec(
        f"curl -s -o /dev/null -w '%{{redirect_url}}' -H 'Host: {DOMAIN}' http://127.0.0.1/posts/?page=2"
    ).stdout
    assert location == f"https://{DOMAIN}/posts/?page=2", location
    assert http_get(deployed.http_port, "/.well-known/acme-challenge/none", host=DOMAIN).status == 404  # webroot
    # the renewal service runs; Django knows it is behind https
    assert "Up" in deployed.exec("docker ps --filter name=mysite_certbot --format '{{.Status}}'").stdout
    check = fab(deployed, project, laptop, "manage", "check --deploy --fail-level WARNING")
    assert check.returncode == 0, check.stdout + check.stderr
    status = fab(deployed, project, laptop, "https", "--status")
    assert status.returncode == 0 and f"serial {serial}" in status.stdout, status.stdout + status.stderr


def test_running_fab_https_again_changes_nothing(deployed, project, laptop, acme):
    done = fab(deployed, project, laptop, *https_args(acme))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no reload" in done.stdout and "no restart" in done.stdout
    assert served_serial(deployed, tls_context(acme)) == RESULTS["serial"]


def test_a_deploy_that_rebuilds_nginx_keeps_the_same_certificate(deployed, project, laptop, acme):
    conf = project / "compose/production/nginx/nginx.conf.template"
    conf.write_text(conf.read_text() + "# e2e: a changed nginx image\n")
    commit(project, "nginx: a changed image")
    done = fab(deployed, project, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nginx: its image changed: start the new nginx beside" in done.stdout
    context = tls_context(acme)
    deadline = time.monotonic() + 60
    while True:
        try:
            status, headers, _, serial = https_get(deployed, context, "/")
            break
        except OSError:
            assert time.monotonic() < deadline, "https did not come back after nginx was recreated"
            time.sleep(1)
    assert status == 200 and serial == RESULTS["serial"]
    assert "strict-transport-security" in headers
    assert http_get(deployed.http_port, "/", host=DOMAIN).status == 301


def test_forced_renewal_under_https_load_gives_a_new_serial_and_loses_nothing(deployed, project, laptop, acme):
    context = tls_context(acme)
    before = served_serial(deployed, context)
    # reconnect often: the renewal must also be invisible to new TLS handshakes, not only to open connections
    with Load("127.0.0.1", deployed.https_port, host=DOMAIN, paths=["/", "/healthz"], tls=context,
              reconnect_every=10) as load:
        load_flowing(load)
        done = fab(deployed, project, laptop, "https", "--renew")
        time.sleep(3)
    print(f"load: {load.result}\n" + "\n".join(load.result.first_failures))
    assert done.returncode == 0, done.stdout + done.stderr
    after = served_serial(deployed, context)
    RESULTS["renewal"] = f"serial {before} -> {after}, load {load.result}"
    assert after != before
    assert load.result.failed == 0 and load.result.total > 100, load.result
    assert f"serial {after}" in done.stdout
    print("\n".join(f"[e2e https] {k}: {v}" for k, v in RESULTS.items()))

