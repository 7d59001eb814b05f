"""production.yml end to end: build, start, seed, and look at it through nginx as a visitor would.

One stack per module (project `mysite-e2e-stack`), built cold (--no-cache) from a copy of the repo,
on a free port in 18000-18999, with a generated env file (never the real .envs/.production).
"""

from __future__ import annotations

import re
import socket
import time

import pytest

from deploy.commands import compose
from tests.e2e.conftest import (
    Stack,
    docker,
    free_port,
    http_get,
    image_layers,
    image_size_mb,
    measure,
    remove_images,
    wait_http,
    write_env_file,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

PROJECT = "mysite-e2e-stack"
TAG = "e2e-stack"
DOMAIN = "mysite.test"
DJANGO_IMAGE = f"mysite-django:{TAG}"
NGINX_IMAGE = f"mysite-nginx:{TAG}"


@pytest.fixture(scope="module")
def stack(base_images, compose_kind, repo_copy_factory, workdir):
    src = repo_copy_factory("stack-src")
    port = free_port()
    env_file = write_env_file(workdir / "stack.env", f"{DOMAIN},www.{DOMAIN}")
    s = Stack(
        kind=compose_kind,
        src=src,
        file="production.yml",
        project=PROJECT,
        port=port,
        env=compose.environment(tag=TAG, env_file=str(env_file), http_addr="127.0.0.1", http_port=port,
                                https_port=free_port(exclude=(port,))),
    )
    s.teardown()  # a previous run that was killed may have left the project behind
    try:
        took, _ = s.timed("build", "--no-cache")
        measure(f"cold build (--no-cache, both images, {compose.program(compose_kind)}): {took:.1f}s")
        measure(
            f"image sizes: {DJANGO_IMAGE} {image_size_mb(DJANGO_IMAGE):.0f} MB, "
            f"{NGINX_IMAGE} {image_size_mb(NGINX_IMAGE):.0f} MB"
        )
        s.compose("up", "--detach")  # the article's command, as it is
        s.wait_healthy("mysite", "nginx")
        seeded = s.compose("run", "--rm", "mysite", "python", "manage.py", "seed_demo", "--posts", "5")
        assert "seed_demo" in seeded.stdout
        yield s
    finally:
        s.teardown()
        remove_images(DJANGO_IMAGE, NGINX_IMAGE)


def post_links(html: str) -> list[str]:
    return sorted(set(re.findall(r'href="(/posts/\d+/)"', html)))


def test_healthz_through_nginx_and_containers_healthy(stack):
    answer = http_get(stack.port, "/healthz", host=DOMAIN)
    assert answer.status == 200
    assert answer.body.replace(" ", "") == '{"status":"ok"}'
    assert stack.health("mysite") == "healthy"
    assert stack.health("nginx") == "healthy"


def test_a_plain_up_starts_the_app_and_nginx_only(stack):
    """On a SQLite site without HTTPS, the article's `up -d` runs neither PostgreSQL nor certbot (nor pulls them)."""
    services = docker("ps", "--all", "--filter", f"label=com.docker.compose.project={PROJECT}",
                      "--format", '{{.Label "com.docker.compose.service"}}').stdout.split()
    assert sorted(services) == sorted(compose.APP_SERVICES) == ["mysite", "nginx"]


def test_index_and_post_pages_on_seeded_data(stack):
    index = http_get(stack.port, "/", host=DOMAIN)
    assert index.status == 200
    links = post_links(index.body)
    assert len(links) >= 3, index.body[:2000]
    post = http_get(stack.port, links[0], host=DOMAIN)
    assert post.status == 200
    assert "<h1" in post.body or "<article" in post.body
    # the second allowed host is served too
    assert http_get(stack.port, "/", host=f"www.{DOMAIN}").status == 200


def test_css_is_served_by_nginx_with_long_cache_headers(stack):
    index = http_get(stack.port, "/", host=DOMAIN)
    css = re.findall(r'href="(/static/[^"]+\.css)"', index.body)
    assert css, "no stylesheet link in the page"
    hashed = [u for u in css if re.search(r"\.[0-9a-f]{12}\.css$", u)]
    assert hashed, f"static names are not hashed (ManifestStaticFilesStorage?): {css}"
    answer = http_get(stack.port, hashed[0], host=DOMAIN)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.headers["server"] == "nginx"  # server_tokens off: no version
    cache = answer.headers.get("cache-control", "")
    assert "immutable" in cache and "max-age=315360000" in cache, answer.headers
    assert answer.headers.get("x-content-type-options") == "nosniff"
    # not Django: gunicorn's access log never saw the request
    app_log = docker("logs", stack.container("mysite")).stdout + docker("logs", stack.container("mysite")).stderr
    assert hashed[0] not in app_log
    # an unhashed name gets a short cache only
    plain = re.sub(r"\.[0-9a-f]{12}\.css$", ".css", hashed[0])
    short = http_get(stack.port, plain, host=DOMAIN)
    assert short.status == 200
    assert "immutable" not in short.headers.get("cache-control", "")
    assert "max-age=3600" in short.headers.get("cache-control", "")


def test_gzip_and_security_headers(stack):
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}/", headers={"Host": DOMAIN, "Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        headers = {k.lower(): v for k, v in answer.headers.items()}
        # nginx sends these once; Django's copies are hidden (a repeated X-Frame-Options is invalid)
        for name, value in (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
                            ("Referrer-Policy", "same-origin")):
            assert answer.headers.get_all(name) == [value], (name, answer.headers.get_all(name))
    assert headers.get("content-encoding") == "gzip"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "permissions-policy" in headers


def test_unknown_host_gets_nothing(stack):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        assert conn.recv(65536) == b""  # 444: nginx closes the connection without a word
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")  # no Host at all (a scanner hitting the IP)
        assert conn.recv(65536) == b""


def test_app_port_is_not_published(stack):
    assert docker("port", stack.container("mysite")).stdout.strip() == ""
    # nginx publishes nothing: on the host's network it binds MYSITE_HTTP_ADDR:MYSITE_HTTP_PORT itself
    nginx = stack.container("nginx")
    assert docker("port", nginx).stdout.strip() == ""
    assert docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", nginx).stdout.strip() == "host"
    assert http_get(stack.port, "/healthz", host=DOMAIN).status == 200  # on 127.0.0.1:<the stack's port>


def test_app_runs_as_non_root(stack):
    uid = docker("exec", stack.container("mysite"), "id", "-u").stdout.strip()
    assert uid == "10001"
    # the code is not writable by the app, its data directories are
    probe = docker(
        "exec",
        stack.container("mysite"),
        "sh",
        "-c",
        "test -w /app/database && test -w /app/staticfiles && test -w /srv/static && test -w /app/media "
        "&& ! test -w /app/manage.py",
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    gunicorn = docker("exec", stack.container("mysite"), "cat", "/proc/1/cmdline").stdout
    assert "gunicorn" in gunicorn  # exec'd: PID 1 gets docker stop's SIGTERM


# Renames in a folder of the static volume, as fast as Python goes: a listing of it is out of date at once
CHURN = """
import os
d = "/churn/e2e-churn"
os.makedirs(d, exist_ok=True)
for i in range(2000):
    open(f"{d}/a{i}", "w").close()
n = 0
while True:
    old, new = ("a", "b") if n % 2 == 0 else ("b", "a")
    for i in range(2000):
        os.replace(f"{d}/{old}{i}", f"{d}/{new}{i}")
    n += 1
"""


def test_workers_restart_while_another_start_writes_the_static_volume(stack):
    """WhiteNoise lists the collected files as each worker starts. In the volume that another release's start
    writes, a file renamed away during the listing fails the worker's boot, and gunicorn then stops (the
    container restarts: seconds of 502s). The app lists its own folder; only nginx reads the volume."""
    app = stack.container("mysite")
    mounts = {line.split()[4] for line in docker("exec", app, "cat", "/proc/self/mountinfo").stdout.splitlines()}
    assert "/srv/static" in mounts and "/app/staticfiles" not in mounts, sorted(mounts)
    assert docker("exec", app, "test", "-f", "/srv/static/staticfiles.json", check=False).returncode == 0
    before = docker("inspect", "-f", "{{.RestartCount}} {{.State.StartedAt}}", app).stdout
    churn = docker("run", "-d", "--user", "10001", "--entrypoint", "python", "-v", f"{PROJECT}_static:/churn",
                   DJANGO_IMAGE, "-c", CHURN).stdout.strip()
    try:
        time.sleep(1)
        for _ in range(5):
            docker("kill", "-s", "HUP", app)  # gunicorn starts new workers: each loads the app, WhiteNoise too
            time.sleep(2)
    finally:
        docker("rm", "-f", churn)
        docker("run", "--rm", "--entrypoint", "rm", "-v", f"{PROJECT}_static:/churn", DJANGO_IMAGE,
               "-rf", "/churn/e2e-churn")
    log = docker("logs", app).stderr + docker("logs", app).stdout
    assert "Worker failed to boot" not in log, log[-3000:]
    assert docker("inspect", "-f", "{{.RestartCount}} {{.State.StartedAt}}", app).stdout == before
    assert http_get(stack.port, "/healthz", host=DOMAIN).status == 200


def find_in_image(image: str, *names: str) -> str:
    """Paths in the image's filesystem with any of these names (as root, so nothing is unreadable)."""
    tests = " -o ".join(f"-name '{name}'" for name in names)
    script = f"find / -xdev \\( {tests} \\) -print"
    return docker("run", "--rm", "--user", "0", "--entrypoint", "sh", image, "-c", script).stdout.strip()


def test_no_secrets_or_vcs_in_the_images(stack):
    listing = docker("run", "--rm", "--entrypoint", "ls", DJANGO_IMAGE, "-A", "/app").stdout.split()
    for unwanted in (".envs", ".git", ".venv", "tests", "testbed", "tasks", "fabfile.py", "production.yml"):
        assert unwanted not in listing, listing
    # of the deploy toolkit, only its Django app, which the site installs (.dockerignore): not the engine
    toolkit = docker("run", "--rm", "--entrypoint", "ls", DJANGO_IMAGE, "-A", "/app/deploy").stdout.split()
    assert toolkit == ["__init__.py", "djangoapp"], toolkit
    assert find_in_image(DJANGO_IMAGE, "*.sqlite3", ".envs", ".git", ".production", "_credentials.py") == ""
    assert docker("run", "--rm", "--entrypoint", "ls", DJANGO_IMAGE, "/app/database").stdout.strip() == ""
    assert find_in_image(NGINX_IMAGE, ".envs", ".git", ".production") == ""
    compilers = docker(
        "run", "--rm", "--entrypoint", "sh", DJANGO_IMAGE, "-c", "command -v gcc cc || true"
    ).stdout.strip()
    assert compilers == ""


def test_posts_survive_down_and_up(stack):
    before = post_links(http_get(stack.port, "/", host=DOMAIN).body)
    assert before
    stack.compose("down")  # no --volumes: what a redeploy or a reboot does
    stack.compose("up", "--detach")
    stack.wait_healthy("mysite", "nginx")
    after = wait_http(stack.port, "/", host=DOMAIN)
    assert post_links(after.body) == before
    assert http_get(stack.port, before[0], host=DOMAIN).status == 200


def test_check_deploy_passes_inside_the_image(stack):
    """What `inv production.check` runs: Django's deploy checks with the production env file."""
    done = stack.compose("run", "--rm", "--no-deps", "mysite", "python", "manage.py", "check", "--deploy")
    assert "System check identified" in done.stdout + done.stderr


def test_code_only_rebuild_reuses_the_dependency_layer(stack):
    """Touch a code file, rebuild: every layer up to the venv comes from the cache."""
    before = image_layers(DJANGO_IMAGE)
    views = stack.src / "blog" / "views.py"
    views.write_text(views.read_text() + f"\n# e2e code-only change {time.time()}\n")
    took, done = stack.timed("build", "mysite")
    measure(f"code-only rebuild (mysite image): {took:.1f}s")
    after = image_layers(DJANGO_IMAGE)
    output = done.stdout
    # classic builder: the pip install step is followed by "Using cache"
    pip_step = re.search(r"Step \d+/\d+ : RUN python lock2req\.py.*?\n(.*?)\n", output, re.S)
    assert pip_step and "Using cache" in pip_step.group(1), output[-3000:]
    assert before[:-1] == after[:-1], "a layer below the code changed"
    assert before[-1] != after[-1], "the code layer did not change"
    measure(f"code-only rebuild reused {len(after) - 1} of {len(after)} layers of {DJANGO_IMAGE}")
