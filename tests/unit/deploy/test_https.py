"""`fab https`: local input checks, exact commands and their order, and nginx's http-only/https rendering."""

import getpass
import os
import subprocess
from pathlib import Path

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import envfile, lock
from deploy import https as tls
from deploy import switch as sw
from deploy.commands import certbot, compose, docker, health
from deploy.commands import lock as lock_commands
from deploy.config import AppConfig, DeployConfig
from deploy.errors import DeployError
from deploy.scripts import source
from tests.harness.mockremote import names, remote, routed, session

ROOT = Path(__file__).resolve().parents[3]
NGINX = ROOT / "compose/production/nginx"
KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
CFG = DeployConfig()
N = names(CFG)
REL = "20261124100509-bbbbbbb"
APP_C = f"mysite-{REL}"
ASIDE = f"{APP_C}-before-https"
NGINX_C = "mysite_nginx_1"
IMAGE = f"mysite-nginx:{REL}"
BUNDLE = f"{N.shared}/acme-ca.pem"
ACME = "https://10.9.8.7:14000/dir"
SERVED = b"serial=1a2b\nexpires=2099-01-01T00:00:00Z\nnames=blog.example\nissuer=CN=Pebble Intermediate CA\n"


def env(hosts="blog.example,www.blog.example,.shop.example"):
    return envfile.EnvFile(".envs/.production", {"DJANGO_SECRET_KEY": KEY, "DJANGO_ALLOWED_HOSTS": hosts})


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    return str(path)


# --- local checks -------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "words"), [
    ({"domain": "not a domain"}, "--domain 'not a domain' is not a domain name"),
    ({"domain": "https://blog.example/"}, "is not a domain name: give the bare name"),
    ({"domain": "blog.example:443"}, "is not a domain name"),
    ({"domain": "-bad.example"}, "is not a domain name"),
    ({"domain": "localhost"}, "is not a domain name"),
    ({"domain": "10.0.0.1"}, "is an IP address"),
    ({"domain": "other.example"}, "other.example is not in DJANGO_ALLOWED_HOSTS of .envs/.production"),
    ({"domain": "shop.example", "www": True, "email": "a@b.example"}, None),  # `.shop.example` covers both
    ({"domain": "blog.example"}, "--email is missing"),
    ({"domain": "blog.example", "email": "nobody"}, "--email 'nobody' does not look like an email address"),
    ({"domain": "blog.example", "email": "a@b"}, "does not look like an email address"),
    ({"domain": "blog.example", "email": "a@b.example", "acme_server": "http://acme.example/dir"},
     "--acme-server 'http://acme.example/dir' is not an https:// URL"),
    ({"domain": "blog.example", "email": "a@b.example", "acme_server": ACME, "staging": True},
     "--staging and --acme-server both choose the ACME server"),
    ({"domain": "blog.example", "email": "a@b.example", "acme_ca_bundle": "/nonexistent/ca.pem"},
     "--acme-ca-bundle /nonexistent/ca.pem: no such file"),
])
def test_each_bad_input_is_one_line(options, words):
    if words is None:
        assert tls.check(env(), **options).names == ["shop.example", "www.shop.example"]
        return
    with pytest.raises(DeployError) as error:
        tls.check(env(), **options)
    assert words in str(error.value)
    assert "\n" not in str(error.value)


def test_www_needs_its_own_allowed_host():
    with pytest.raises(DeployError, match="www.blog.example is not in DJANGO_ALLOWED_HOSTS"):
        tls.check(env("blog.example"), domain="blog.example", email="a@b.example", www=True)


def test_a_bundle_that_is_not_pem_is_refused(tmp_path):
    junk = tmp_path / "ca.der"
    junk.write_bytes(b"\x30\x82")
    with pytest.raises(DeployError, match="holds no PEM certificate"):
        tls.check(env(), domain="blog.example", email="a@b.example", acme_ca_bundle=str(junk))


def test_domain_defaults_to_the_first_allowed_host_and_status_needs_no_email(capsys):
    request = tls.check(env(), status=True)
    assert request.domain == "blog.example" and not request.issuing
    assert "--domain not given: using blog.example" in capsys.readouterr().out
    assert tls.check(env(), domain="Blog.Example.", renew=True).domain == "blog.example"


# --- builders -----------------------------------------------------------------------------------

def test_certonly_is_webroot_in_a_one_off_nginx_image_container():
    assert certbot.certonly(N, IMAGE, ["blog.example", "www.blog.example"], "a@b.example") == (
        "docker run --rm --name mysite-certbot-certonly -v mysite_letsencrypt:/etc/letsencrypt "
        f"-v mysite_acme:/var/www/acme --entrypoint certbot {IMAGE} certonly --webroot -w /var/www/acme "
        "--cert-name blog.example -d blog.example -d www.blog.example --email a@b.example --agree-tos "
        "--non-interactive --no-eff-email --reuse-key --deploy-hook '/mysite-entrypoint.sh certperms'")


def test_certonly_with_staging_or_a_private_acme_server_and_its_ca():
    assert " --staging " in certbot.certonly(N, IMAGE, ["blog.example"], "a@b.example", staging=True)
    command = certbot.certonly(N, IMAGE, ["blog.example"], "a@b.example", server=ACME, ca_bundle=BUNDLE)
    assert (f"-v {BUNDLE}:/etc/mysite/acme-ca.pem:ro -e REQUESTS_CA_BUNDLE=/etc/mysite/acme-ca.pem "
            f"--entrypoint certbot {IMAGE} ") in command
    assert f" --server {ACME} " in command


def test_renew_forces_one_lineage_through_the_entrypoint_wrapper():
    assert certbot.renew(N, IMAGE, "blog.example") == (
        "docker run --rm --name mysite-certbot-renew -v mysite_letsencrypt:/etc/letsencrypt "
        f"-v mysite_acme:/var/www/acme {IMAGE} certbot renew --cert-name blog.example --force-renewal --reuse-key "
        "--no-random-sleep-on-renew --non-interactive")


def test_nginx_and_env_builders():
    assert certbot.https_on(NGINX_C, ["blog.example", "www.blog.example"]) == (
        f"docker exec {NGINX_C} /mysite-entrypoint.sh https-on blog.example www.blog.example")
    assert certbot.reload(NGINX_C) == f"docker exec {NGINX_C} nginx -s reload"
    assert certbot.store_ca(NGINX_C, BUNDLE) == (
        f"docker exec -i {NGINX_C} sh -c 'mkdir -p /etc/letsencrypt/mysite && cat > "
        f"/etc/letsencrypt/mysite/acme-ca.pem' < {BUNDLE}")
    https_env = N.https_env
    assert certbot.write_env(https_env) == (
        f"umask 077 && printf %s 'DJANGO_HTTPS=true\n' > {https_env}.tmp && mv -f {https_env}.tmp {https_env}")
    assert certbot.parse_served(SERVED.decode() + "noise\n") == {
        "serial": "1a2b", "expires": "2099-01-01T00:00:00Z", "names": "blog.example",
        "issuer": "CN=Pebble Intermediate CA"}
    compile(source("served_cert"), "served", "exec")


# --- the steps: exact command sequences ---------------------------------------------------------

LOCK = lock_commands.take(N.root, N.lock, "HOLDER")
UNLOCK = lock_commands.release_lock(N.lock)
PREFLIGHT = [Command(compose.detect(), out=b"v1\n"), "docker info --format '{{.ServerVersion}}'",
             Command(f"readlink {N.current} 2>/dev/null || true", out=f"releases/{REL}\n".encode()),
             Command(docker.nginx_container(N.project), out=f"{NGINX_C}\n".encode())]
CERTONLY = certbot.certonly(N, IMAGE, ["blog.example"], "a@b.example", server=ACME, ca_bundle=BUNDLE)
SHOW = Command(certbot.served(NGINX_C, "blog.example"), out=SERVED)


def test_the_certificate_is_asked_where_nginx_binds_the_hosts_https_port():
    assert certbot.served("n", "blog.example").endswith(" blog.example 127.0.0.1 443")
    assert certbot.served("n", "blog.example", "10.0.0.5", 8443).endswith(" blog.example 10.0.0.5 8443")
LIST = docker.app_containers(N.project)
SWITCH = [Command(LIST, out=f"{ASIDE} Up 2 hours (healthy)\n".encode()), docker.run_app(N, REL),
          health.direct_check(APP_C, "blog.example", 60, AppConfig()), *routed(N, APP_C, NGINX_C),
          health.nginx_check(NGINX_C, "blog.example", 60, AppConfig()), docker.stop([ASIDE], 30)]


@pytest.fixture
def request_(bundle, monkeypatch):
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: "HOLDER")
    return tls.check(env(), domain="blog.example", email="a@b.example", acme_server=ACME, acme_ca_bundle=bundle)


def run(request, *commands_, uploads=None, monkeypatch=None):
    with MockRemote() as mock:
        mock.expect_sessions(session(*commands_))
        tls.https(remote(monkeypatch, uploads), CFG, request)


def test_fab_https_issues_then_switches_nginx_then_django(request_, monkeypatch, capsys):
    uploads = []
    run(request_, *PREFLIGHT, LOCK, f"chmod 644 {BUNDLE}", CERTONLY, certbot.store_ca(NGINX_C, BUNDLE),
        Command(certbot.https_on(NGINX_C, ["blog.example"]), out=b"nginx entrypoint: serving\n"),
        certbot.reload(NGINX_C),
        compose.stack(N, REL, "--profile https up -d --no-deps certbot", kind="v1"),
        certbot.write_env(N.https_env),
        Command(LIST, out=f"{APP_C} Up 2 hours (healthy)\n".encode()),
        Command(certbot.app_https(APP_C), out=b"\n"),
        f"docker rename {APP_C} {ASIDE}", *SWITCH, UNLOCK, SHOW,
        uploads=uploads, monkeypatch=monkeypatch)
    assert [path for path, _ in uploads] == [BUNDLE]
    out = capsys.readouterr().out
    assert "serial 1a2b, expires 2099-01-01T00:00:00Z" in out


def test_dry_run_on_a_deployed_http_site_reads_for_real_and_plans_the_whole_switch(request_, capsys):
    serving = Command(LIST, out=f"{APP_C} Up 2 hours (healthy)\n".encode())
    with MockRemote() as mock:  # only the read-only probes reach the server
        mock.expect_sessions(session(*PREFLIGHT, serving, Command(certbot.app_https(APP_C), out=b"\n"), serving))
        tls.https(remote(dry_run=True), CFG, request_)
    out = capsys.readouterr().out
    assert f"[dry-run] docker rename {APP_C} {ASIDE}" in out
    assert f"[dry-run] {docker.run_app(N, REL)}" in out  # the renamed container steps aside: no "already serving"
    assert f"[dry-run] {docker.stop([ASIDE], 30)}" in out


def test_running_it_again_neither_reloads_nor_restarts(request_, monkeypatch, capsys):
    run(request_, *PREFLIGHT, LOCK, f"chmod 644 {BUNDLE}", CERTONLY, certbot.store_ca(NGINX_C, BUNDLE),
        Command(certbot.https_on(NGINX_C, ["blog.example"]), out=b"https for 'blog.example' unchanged\n"),
        compose.stack(N, REL, "--profile https up -d --no-deps certbot", kind="v1"),
        certbot.write_env(N.https_env),
        Command(LIST, out=f"{APP_C} Up 2 hours (healthy)\n".encode()),
        Command(certbot.app_https(APP_C), out=b"true\n"), UNLOCK, SHOW, monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "no reload" in out and "no restart" in out


def test_a_failed_issuance_changes_nothing_in_nginx(request_, monkeypatch, capsys):
    with pytest.raises(DeployError) as error:
        run(request_, *PREFLIGHT, LOCK, f"chmod 644 {BUNDLE}",
            Command(CERTONLY, out=b"Requesting a certificate\nConnection refused\n", exit=1), UNLOCK,
            monkeypatch=monkeypatch)
    assert "certbot could not get a certificate for blog.example" in str(error.value)
    assert "nothing was changed and the site keeps serving http" in str(error.value)
    assert "| Connection refused" in capsys.readouterr().out


def test_nginx_rejecting_the_config_is_one_line_and_nothing_reloads(request_, monkeypatch):
    with pytest.raises(DeployError, match="nginx rejected the https config"):
        run(request_, *PREFLIGHT, LOCK, f"chmod 644 {BUNDLE}", CERTONLY, certbot.store_ca(NGINX_C, BUNDLE),
            Command(certbot.https_on(NGINX_C, ["blog.example"]), exit=1), UNLOCK, monkeypatch=monkeypatch)


def test_a_failed_restart_puts_the_serving_container_back_under_its_name(request_, monkeypatch):
    abort = [docker.logs_tail(APP_C, sw.LOG_SEARCHED),
             f"docker stop -t 10 {APP_C} >/dev/null 2>&1; docker rm -f {APP_C} >/dev/null 2>&1 || true",
             f"docker start {ASIDE}"]
    with pytest.raises(DeployError, match="rolled back"):
        run(request_, *PREFLIGHT, LOCK, f"chmod 644 {BUNDLE}", CERTONLY, certbot.store_ca(NGINX_C, BUNDLE),
            Command(certbot.https_on(NGINX_C, ["blog.example"]), out=b"ok\n"), certbot.reload(NGINX_C),
            compose.stack(N, REL, "--profile https up -d --no-deps certbot", kind="v1"),
            certbot.write_env(N.https_env),
            Command(LIST, out=f"{APP_C} Up 2 hours (healthy)\n".encode()),
            Command(certbot.app_https(APP_C), out=b"\n"), f"docker rename {APP_C} {ASIDE}",
            Command(LIST, out=f"{ASIDE} Up 2 hours\n".encode()), docker.run_app(N, REL),
            Command(health.direct_check(APP_C, "blog.example", 60, AppConfig()), exit=1), *abort,
            f"docker rename {ASIDE} {APP_C}", UNLOCK, monkeypatch=monkeypatch)


def test_status_only_reads(monkeypatch, capsys):
    run(tls.check(env(), status=True), *PREFLIGHT, SHOW)
    assert "certificate served for blog.example: serial 1a2b" in capsys.readouterr().out


def test_renew_shows_a_new_serial(monkeypatch, capsys):
    after = SERVED.replace(b"1a2b", b"3c4d")
    run(tls.check(env(), renew=True), *PREFLIGHT, SHOW, certbot.renew(N, IMAGE, "blog.example"),
        Command(certbot.served(NGINX_C, "blog.example"), out=after))
    out = capsys.readouterr().out
    assert "serial 1a2b" in out and "serial 3c4d" in out


def test_renew_that_serves_the_old_serial_is_an_error():
    with pytest.raises(DeployError, match="still serves serial 1a2b"):
        run(tls.check(env(), renew=True), *PREFLIGHT, SHOW, certbot.renew(N, IMAGE, "blog.example"), SHOW)


def test_nothing_deployed_yet_is_one_line():
    with pytest.raises(DeployError, match="nothing is deployed on .* yet: run `fab deploy` first"):
        run(tls.check(env(), status=True), *PREFLIGHT[:2], Command(f"readlink {N.current} 2>/dev/null || true"))


# --- nginx: the entrypoint renders http-only or https -------------------------------------------

def render(tmp_path, hosts="blog.example,www.blog.example", https_names=None, cert=True, **extra_env):
    """Run the real entrypoint's `render` into a temporary folder; return {file name: text}."""
    out, le = tmp_path / "nginx", tmp_path / "letsencrypt"
    (le / "live/blog.example").mkdir(parents=True)
    (le / "archive/blog.example").mkdir(parents=True)
    if cert:
        for name in ("fullchain", "privkey"):
            (le / f"archive/blog.example/{name}1.pem").write_text(f"{name.upper()} PEM\n")
            os.symlink(f"../../archive/blog.example/{name}1.pem", le / f"live/blog.example/{name}.pem")
    if https_names:
        (le / "mysite").mkdir()
        (le / "mysite/https-names").write_text(https_names + "\n")
    environment = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": hosts, "MYSITE_NGINX_TEMPLATES": str(NGINX),
                   "MYSITE_NGINX_DIR": str(out), "MYSITE_LETSENCRYPT": str(le),
                   "MYSITE_NGINX_USER": getpass.getuser(), **extra_env}
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], env=environment, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    files = {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()}
    files["stdout"] = done.stdout
    files["privkey mode"] = oct((le / "archive/blog.example/privkey1.pem").stat().st_mode & 0o777) if cert else ""
    combined = le / "mysite/blog.example.pem"
    if combined.exists():
        files["combined"] = combined.read_text()
        files["combined mode"] = oct(combined.stat().st_mode & 0o777)
    return files


def test_http_only_without_a_certificate(tmp_path):
    files = render(tmp_path)
    site = files["conf.d/mysite.conf"]
    assert "server_name blog.example www.blog.example;" in site
    assert "include /etc/nginx/mysite.d/*.conf;" in site
    assert "conf.d/mysite-https.conf" not in files and "mysite.d/https.conf" not in files
    assert "listen 443 ssl" not in site
    assert "(https: 'none'" in files["stdout"]
    # the zero-downtime routing stays as it was
    assert "resolver 127.0.0.11 valid=1s ipv6=off;" in site
    assert "set $app http://mysite:8000;" in site and "proxy_pass $app;" in site


def test_names_recorded_without_their_certificate_stay_http(tmp_path):
    files = render(tmp_path, https_names="blog.example", cert=False)
    assert "conf.d/mysite-https.conf" not in files


def test_https_with_a_certificate(tmp_path):
    files = render(tmp_path, https_names="blog.example")
    https = files["conf.d/mysite-https.conf"]
    server = files["mysite.d/https.conf"]
    assert "listen 443 ssl http2;" in server
    assert "ssl_certificate $mysite_cert;" in server and "ssl_certificate_key $mysite_cert_key;" in server
    assert "return 301 https://$host$request_uri;" in server
    # certificate and key from one file, replaced in one rename: a renewal never shows a handshake a new
    # certificate with the old key (certbot swaps live/'s two links one after the other)
    assert https.count("default /etc/letsencrypt/mysite/blog.example.pem;") == 2
    assert files["combined"] == "FULLCHAIN PEM\nPRIVKEY PEM\n" and files["combined mode"] == "0o640"
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in https
    assert "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" in https
    assert ":DHE-" not in https
    assert "ssl_prefer_server_ciphers off;" in https and "ssl_session_tickets off;" in https
    assert "ssl_session_cache shared:MozSSL:10m;" in https
    assert "ssl_reject_handshake on;" in https
    assert '"~^http 1 unix:"' in https  # the deploy's checks through nginx's own socket are not redirected
    assert "/\\.well-known/acme-challenge/" in https
    assert files["mysite.d/https-hosts"] == "blog.example 1;\n"  # www.blog.example stays http (not on the cert)
    assert "(https: 'blog.example'" in files["stdout"]
    assert files["privkey mode"] == "0o640"
    site = files["conf.d/mysite.conf"]
    assert '"max-age=63072000; includeSubDomains"' in site and "map $https $mysite_hsts" in site
    assert "include /etc/nginx/mysite/app-proxy.conf;" in code_of(site)
    assert "proxy_hide_header Strict-Transport-Security;" in (NGINX / "app-proxy.conf").read_text()
    headers = (NGINX / "security-headers.conf").read_text()
    assert "add_header Strict-Transport-Security $mysite_hsts always;" in headers


def test_https_for_the_domain_and_www(tmp_path):
    files = render(tmp_path, https_names="blog.example www.blog.example")
    assert files["mysite.d/https-hosts"] == "blog.example 1;\nwww.blog.example 1;\n"
    assert "server_name blog.example www.blog.example;" in files["conf.d/mysite.conf"]


# --- nginx: /static/ and /media/ from the volumes (one server) or from the app (a cluster) -----------

def location(conf, path):
    """The text of `location PATH { ... }` in conf (nginx's own braces only: none are in our strings)."""
    start = conf.index(f"location {path} {{")
    depth = 0
    for end in range(start, len(conf)):
        depth += {"{": 1, "}": -1}.get(conf[end], 0)
        if conf[end] == "}" and depth == 0:
            return conf[start:end + 1]
    raise AssertionError(f"location {path} is not closed")


def code_of(text):
    return "\n".join(line.split("#", 1)[0].rstrip() for line in text.splitlines() if line.split("#", 1)[0].strip())


SOCKET = "/run/app-sockets/serving.sock"


def in_a_container(template: str) -> str:
    """The template as rendered for nginx in its own network namespace: ports 80 (and 443), the test's names."""
    return (template.replace("__SERVER_NAME__", "blog.example www.blog.example")
            .replace("__HTTP__ default_server;", "80 default_server;").replace("__HTTP__;", "80;"))


def test_the_app_through_its_socket_when_told(tmp_path):
    """One server (production.yml sets MYSITE_APP_SOCKET): app-socket.conf in place of the DNS block, nothing else."""
    files = render(tmp_path, MYSITE_APP_SOCKET=SOCKET)
    site, template = files["conf.d/mysite.conf"], (NGINX / "mysite.conf.template").read_text()
    by_socket = (NGINX / "app-socket.conf").read_text().replace("__APP_SOCKET__", SOCKET)
    before, rest = template.split("    # >>> app:", 1)
    after = rest.split("    # <<< app\n", 1)[1]
    assert site == in_a_container(before + by_socket + after)
    code = code_of(site)
    assert f"proxy_pass http://unix:{SOCKET};" in code and "error_page 502 504 = @app_by_name;" in code
    fallback = code[code.index("location @app_by_name {"):]
    # by name only a request that changes nothing: a POST never goes twice, it gets the "try again" page
    assert "if ($request_method !~ ^(GET|HEAD)$) {\n            return 503;" in fallback
    assert "error_page 502 503 504 =503 /mysite-retry.html;" in fallback and "recursive_error_pages on;" in fallback
    assert f"app at {SOCKET}" in files["stdout"]


HOST_NETWORK = {"MYSITE_APP_SOCKET": SOCKET, "MYSITE_NGINX_HTTP": "0.0.0.0:8080", "MYSITE_NGINX_HTTPS": "0.0.0.0:8443"}


def test_on_the_hosts_network_nginx_listens_there_with_reuseport(tmp_path):
    """One server (production.yml): nginx binds the host's ports itself, `reuseport` once per address (on its
    default server), so a new nginx binds beside the running one; no Docker DNS there: no fallback by name."""
    files = render(tmp_path, https_names="blog.example", **HOST_NETWORK)
    site, code = files["conf.d/mysite.conf"], code_of(files["conf.d/mysite.conf"])
    assert "listen 0.0.0.0:8080 default_server reuseport;" in code and "listen 0.0.0.0:8080;" in code
    assert code.count("reuseport") == 1 and "listen 80" not in code
    assert code.count("listen unix:/run/nginx-checks.sock") == 2  # the health server's and the site's
    assert "listen 0.0.0.0:8443 ssl http2 default_server reuseport;" in files["conf.d/mysite-https.conf"]
    assert "listen 0.0.0.0:8443 ssl http2;" in files["mysite.d/https.conf"]
    fallback = site[site.index("location @app_by_name {"):]
    fallback = fallback[:fallback.index("\n    }\n")]
    assert "mysite:8000" not in fallback and "proxy_pass" not in fallback
    assert code_of(fallback).rstrip().endswith("return 503;")  # the "try again" page (error_page 503)
    assert f"proxy_pass http://unix:{SOCKET};" in code
    assert "on the host's network at 0.0.0.0:8080 and 0.0.0.0:8443, reuseport" in files["stdout"]


def test_the_deploys_checks_through_nginxs_socket_are_never_sent_to_https(tmp_path):
    https = render(tmp_path, https_names="blog.example", **HOST_NETWORK)["conf.d/mysite-https.conf"]
    to_https = https[https.index("$mysite_to_https {"):]
    assert to_https.index('"~^http 1 unix:"') < to_https.index('"~^http 1 "')
    assert "127" not in to_https  # on the host's network 127.0.0.1 is any client on the server: redirected too


@pytest.mark.parametrize(("env", "error"), [
    ({"MYSITE_NGINX_HTTP": "0.0.0.0:80"}, "set both MYSITE_NGINX_HTTP and MYSITE_NGINX_HTTPS"),
    ({"MYSITE_NGINX_HTTP": "80", "MYSITE_NGINX_HTTPS": "0.0.0.0:443"}, "'80' is not ADDR:PORT"),
    ({"MYSITE_NGINX_HTTP": "0.0.0.0:80;", "MYSITE_NGINX_HTTPS": "0.0.0.0:443"}, "'0.0.0.0:80;' is not ADDR:PORT"),
    ({"MYSITE_NGINX_HTTP": "0.0.0.0:", "MYSITE_NGINX_HTTPS": "0.0.0.0:443"}, "'0.0.0.0:' is not ADDR:PORT"),
])
def test_listen_values_that_are_not_an_address_and_port_are_refused(tmp_path, env, error):
    environment = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": "blog.example",
                   "MYSITE_NGINX_TEMPLATES": str(NGINX), "MYSITE_NGINX_DIR": str(tmp_path / "nginx"),
                   "MYSITE_LETSENCRYPT": str(tmp_path / "le"), "MYSITE_NGINX_USER": getpass.getuser(),
                   "MYSITE_APP_SOCKET": SOCKET, **env}
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], env=environment, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1 and error in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "nginx/conf.d/mysite.conf").exists()


@pytest.mark.parametrize("value", ["run/app.sock", "/run/app sockets/x.sock", "/run/a#b.sock", "/run/app/"])
def test_a_socket_that_is_not_an_absolute_plain_path_is_refused(tmp_path, value):
    environment = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": "blog.example",
                   "MYSITE_NGINX_TEMPLATES": str(NGINX), "MYSITE_NGINX_DIR": str(tmp_path / "nginx"),
                   "MYSITE_LETSENCRYPT": str(tmp_path / "le"), "MYSITE_NGINX_USER": getpass.getuser(),
                   "MYSITE_APP_SOCKET": value}
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], env=environment, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr == (f"nginx entrypoint: MYSITE_APP_SOCKET='{value}': a socket's absolute path, "
                           "e.g. /run/app-sockets/serving.sock\n")
    assert not (tmp_path / "nginx/conf.d/mysite.conf").exists()


@pytest.mark.parametrize("flag", [None, "", "0", "false", "no"])
def test_static_and_media_from_the_volumes_unless_told(tmp_path, flag):
    """One server (production.yml sets nothing): the template as it is, only the server names filled in."""
    files = render(tmp_path, **({} if flag is None else {"MYSITE_STATIC_FROM_APP": flag}))
    site = files["conf.d/mysite.conf"]
    template = (NGINX / "mysite.conf.template").read_text()
    assert site == in_a_container(template)
    static, media = location(site, "/static/"), location(site, "/media/")
    assert "alias /srv/static/;" in static and "gzip_static on;" in static and "proxy_pass" not in static
    assert "expires $mysite_static_expires;" in static
    assert "alias /srv/media/;" in media and "proxy_pass" not in media
    assert "from the app" not in files["stdout"]


@pytest.mark.parametrize("flag", ["1", "true", "yes"])
def test_static_and_media_from_the_app_on_a_cluster(tmp_path, flag):
    files = render(tmp_path, MYSITE_STATIC_FROM_APP=flag)
    site = files["conf.d/mysite.conf"]
    assert "/srv/static" not in site and "/srv/media" not in site and "alias " not in code_of(site)
    assert "gzip_static" not in code_of(site)
    assert "static and media from the app" in files["stdout"]
    for path in ("/static/", "/media/"):
        block = location(site, path)
        # the zero-downtime routing of `location /`: Docker's DNS on every request, a variable, retries
        for directive in ("set $app http://mysite:8000;", "proxy_pass $app;", "proxy_connect_timeout 1s;",
                          "proxy_next_upstream_tries 3;", "proxy_http_version 1.1;", 'proxy_set_header Connection "";',
                          "proxy_set_header Host $host;", "proxy_set_header X-Forwarded-Proto $scheme;",
                          "proxy_hide_header Cache-Control;", "proxy_hide_header X-Frame-Options;",
                          "include /etc/nginx/mysite/security-headers.conf;"):
            assert directive in block, (path, directive)
        assert "non_idempotent" not in code_of(block)
    static = location(site, "/static/")
    # the same cache headers as from the volume (the app's copies hidden), and gzip
    assert "expires $mysite_static_expires;" in static
    assert "add_header Cache-Control $mysite_static_immutable;" in static
    assert "access_log off;" in static
    assert "proxy_next_upstream error timeout http_502 http_503 http_404;" in static
    media = location(site, "/media/")
    assert "expires 1h;" in media and "proxy_next_upstream error timeout http_502 http_503;" in media
    # the rest is the template's: the server's resolver, `location /`, the health server, ACME, the 444 catch-all
    assert "resolver 127.0.0.11 valid=1s ipv6=off;" in site
    template = in_a_container((NGINX / "mysite.conf.template").read_text())
    for path in ("/", "= /nginx-health", "/.well-known/acme-challenge/"):
        assert location(site, path) == location(template, path)
    assert site.startswith(template[:template.index("    # >>> static and media")])
    assert site.endswith(template[template.index("    # <<< static and media"):])
    assert "listen unix:/run/nginx-checks.sock default_server;" in site and "return 444;" in site
    assert "listen 80 default_server;" in site and "reuseport" not in code_of(site)  # its own network namespace
    assert site.count("location /static/ {") == 1 and site.count("location /media/ {") == 1


def test_static_from_the_app_with_https(tmp_path):
    files = render(tmp_path, https_names="blog.example", MYSITE_STATIC_FROM_APP="1")
    assert "listen 443 ssl http2;" in files["mysite.d/https.conf"]
    assert "proxy_pass $app;" in location(files["conf.d/mysite.conf"], "/static/")
    assert "(https: 'blog.example'; static and media from the app;" in files["stdout"]


def test_a_value_that_is_neither_on_nor_off_is_refused(tmp_path):
    environment = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": "blog.example",
                   "MYSITE_NGINX_TEMPLATES": str(NGINX), "MYSITE_NGINX_DIR": str(tmp_path / "nginx"),
                   "MYSITE_LETSENCRYPT": str(tmp_path / "le"), "MYSITE_NGINX_USER": getpass.getuser(),
                   "MYSITE_STATIC_FROM_APP": "on-the-cluster"}
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], env=environment, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr == ("nginx entrypoint: MYSITE_STATIC_FROM_APP='on-the-cluster': set 1 (static and media from "
                           "the app, a cluster) or 0\n")
    assert not (tmp_path / "nginx/conf.d/mysite.conf").exists()


def test_the_image_carries_the_app_locations():
    dockerfile = (NGINX / "Dockerfile").read_text()
    copy = dockerfile[dockerfile.index("COPY compose/production/nginx/nginx.conf.template"):]
    copy = copy[:copy.index("/etc/nginx/mysite/")]
    assert "compose/production/nginx/static-from-app.conf" in copy
    # the image's own health check asks nginx's own socket (a cluster's nginx has it too)
    assert "s.connect('/run/nginx-checks.sock'); s.sendall(b'GET /nginx-health HTTP/1.0" in dockerfile


@pytest.mark.parametrize("flag", ["0", "1"])
def test_nginx_proxies_to_the_apps_own_name(tmp_path, flag):
    """Another app than the blog: its compose service (MYSITE_APP_ALIAS) wherever the blog's says mysite."""
    site = render(tmp_path, MYSITE_APP_ALIAS="shop", MYSITE_STATIC_FROM_APP=flag)["conf.d/mysite.conf"]
    assert "set $app http://shop:8000;" in site[site.rindex("location / {"):]  # the site's, after the health server's
    assert "http://mysite:" not in site
    if flag == "1":
        assert "set $app http://shop:8000;" in location(site, "/static/")


@pytest.mark.parametrize("extra", [{"MYSITE_STATIC_FROM_APP": "0"}, {"MYSITE_STATIC_FROM_APP": "1"},
                                   {"MYSITE_APP_SOCKET": "/run/app-sockets/serving.sock"}])
def test_nginx_proxies_to_the_apps_own_port(tmp_path, extra):
    """fabric.yaml's `app: port` (MYSITE_APP_PORT) wherever the templates reach the app by name on 8000."""
    site = render(tmp_path, MYSITE_APP_ALIAS="shop", MYSITE_APP_PORT="9000", **extra)["conf.d/mysite.conf"]
    assert "set $app http://shop:9000;" in site[site.rindex("location / {"):]
    assert ":8000" not in site


@pytest.mark.parametrize("port", ["http", "0", "08000", "70000", "90 00", ""])
def test_an_app_port_that_is_no_port_is_refused(tmp_path, port):
    environment = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": "blog.example", "MYSITE_APP_PORT": port,
                   "MYSITE_NGINX_TEMPLATES": str(NGINX), "MYSITE_NGINX_DIR": str(tmp_path / "nginx"),
                   "MYSITE_LETSENCRYPT": str(tmp_path / "le"), "MYSITE_NGINX_USER": getpass.getuser()}
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], env=environment, capture_output=True,
                          text=True, timeout=30)
    if port == "":  # unset and empty are the same to sh's ${:-}: the default port
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 1 and f"MYSITE_APP_PORT='{port}' is not a port" in done.stderr
    assert not (tmp_path / "nginx/conf.d/mysite.conf").exists()


def test_an_app_alias_that_is_no_host_name_is_refused(tmp_path):
    environment = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": "blog.example", "MYSITE_APP_ALIAS": "sh op",
                   "MYSITE_NGINX_TEMPLATES": str(NGINX), "MYSITE_NGINX_DIR": str(tmp_path / "nginx"),
                   "MYSITE_LETSENCRYPT": str(tmp_path / "le"), "MYSITE_NGINX_USER": getpass.getuser()}
    done = subprocess.run(["sh", str(NGINX / "entrypoint.sh"), "render"], env=environment, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1 and "MYSITE_APP_ALIAS='sh op' is not a host name" in done.stderr
    assert not (tmp_path / "nginx/conf.d/mysite.conf").exists()
