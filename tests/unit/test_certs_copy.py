"""The nginx entrypoint's cluster parts, run with sh in a temporary folder: `certs-copy` (the certs service) writes
the node's copy of the certificate secret, and `render` proxies the ACME challenge to the certbot service."""

import grp
import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

NGINX = Path(__file__).resolve().parents[1].parent / "compose/production/nginx"
CHAIN = "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n"
USER = os.environ.get("USER") or "root"


def env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "MYSITE_LETSENCRYPT": str(tmp_path / "le"), "MYSITE_NGINX_USER": USER,
            "MYSITE_CERTS_SECRET": str(tmp_path / "secret"), "MYSITE_NGINX_DIR": str(tmp_path / "nginx"),
            "MYSITE_NGINX_TEMPLATES": str(NGINX), **more}


def copy(tmp_path: Path, secret: str) -> Path:
    """Run certs-copy until it wrote its hash (it then waits for ever, as a service task does)."""
    (tmp_path / "secret").write_text(secret)
    done = tmp_path / "le/mysite/certs-sha256"
    task = subprocess.Popen(["sh", str(NGINX / "entrypoint.sh"), "certs-copy"], env=env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    until_written(task, done)
    return tmp_path / "le"


def until_written(task: subprocess.Popen, path: Path) -> None:
    """Wait (20 s at most) until the running ``task`` wrote ``path``, then stop it (it waits for ever)."""
    try:
        deadline = time.monotonic() + 20
        while not path.exists():
            assert task.poll() is None, task.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        task.terminate()
        task.wait(10)


def test_the_certificate_is_copied_where_nginx_reads_it_and_its_hash_is_written(tmp_path):
    secret = "# mysite certs: blog.example www.blog.example\n" + CHAIN + KEY
    le = copy(tmp_path, secret)
    assert (le / "mysite/blog.example.pem").read_text() == CHAIN + KEY  # what nginx reads at each handshake
    assert (le / "mysite/blog.example.pem").stat().st_mode & 0o777 == 0o640
    assert (le / "mysite/blog.example.pem").stat().st_gid == grp.getgrnam(
        subprocess.run(["id", "-gn", USER], capture_output=True, text=True).stdout.strip()).gr_gid
    assert (le / "live/blog.example/fullchain.pem").read_text() == CHAIN
    assert (le / "live/blog.example/privkey.pem").read_text() == KEY
    assert (le / "mysite/https-names").read_text() == "blog.example www.blog.example\n"
    assert (le / "mysite/certs-sha256").read_text() == hashlib.sha256(secret.encode()).hexdigest() + "\n"
    assert not list(le.rglob(".*.new"))  # every file renamed into place


def test_the_placeholder_only_marks_the_copy_done(tmp_path):
    le = copy(tmp_path, "no certificate yet\n")
    assert sorted(p.name for p in le.rglob("*") if p.is_file()) == ["certs-sha256"]


def test_a_cluster_nginx_proxies_the_challenge_to_the_certbot_service(tmp_path):
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], capture_output=True, text=True,
                          env=env(tmp_path, DJANGO_ALLOWED_HOSTS="blog.example", MYSITE_ACME_FROM="certbot:8080"))
    assert done.returncode == 0, done.stderr
    site = (tmp_path / "nginx/conf.d/mysite.conf").read_text()
    assert "set $mysite_acme http://certbot:8080;\n        proxy_pass $mysite_acme;" in site
    assert "root /var/www/acme;" not in site


@pytest.mark.parametrize("bad", ["certbot", "certbot:80:80", "cert bot:80", ":80"])
def test_a_bad_acme_address_is_one_line(tmp_path, bad):
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], capture_output=True, text=True,
                          env=env(tmp_path, DJANGO_ALLOWED_HOSTS="blog.example", MYSITE_ACME_FROM=bad))
    assert done.returncode == 1 and done.stderr.strip().endswith("host:port, e.g. certbot:8080"), done.stderr


def test_the_certbot_service_answers_the_image_s_health_check_where_it_asks(tmp_path):
    """The certbot service runs the nginx image, whose HEALTHCHECK asks nginx's checks socket: its small nginx must
    listen there, or Swarm kills the task as unhealthy every few seconds."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nginx").write_text(f'#!/bin/sh\ncp "$2" {tmp_path}/acme-server.conf\n')  # nginx -c FILE
    (fake / "certbot").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("nginx", "certbot"):
        (fake / tool).chmod(0o755)
    task = subprocess.Popen(["sh", str(NGINX / "entrypoint.sh"), "acme-server"],
                            env=env(tmp_path, PATH=f"{fake}:{os.environ['PATH']}",
                                    MYSITE_ACME_WEBROOT=str(tmp_path / "acme")),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    until_written(task, tmp_path / "acme-server.conf")
    asked = (NGINX / "Dockerfile").read_text().split("s.connect('", 1)[1].split("'", 1)[0]
    assert asked == "/run/nginx-checks.sock"
    config = (tmp_path / "acme-server.conf").read_text()
    assert f"listen unix:{asked};" in config and "location = /nginx-health" in config
