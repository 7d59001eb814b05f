"""Fast checks of the build files: lock2req, the health check's Host, the nginx contract, stand-in builders."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DJANGO = ROOT / "compose/production/django"
NGINX = ROOT / "compose/production/nginx"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lock2req_pins_every_default_package_with_hashes():
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    lines = load(DJANGO / "lock2req.py").requirements(lock).splitlines()
    assert len(lines) == len(lock["default"])
    for line in lines:
        assert "==" in line and "--hash=sha256:" in line, line
    assert not any(line.startswith(("pytest", "fabric", "ruff")) for line in lines)


def test_lock2req_keeps_extras_and_markers():
    lock = {
        "default": {
            "psycopg": {
                "version": "==3.3.9",
                "extras": ["binary"],
                "markers": "python_version >= '3.10'",
                "hashes": ["sha256:aa", "sha256:bb"],
            }
        }
    }
    assert load(DJANGO / "lock2req.py").requirements(lock) == (
        "psycopg[binary]==3.3.9; python_version >= '3.10' --hash=sha256:aa --hash=sha256:bb\n"
    )


def test_lock2req_refuses_an_unhashed_entry():
    with pytest.raises(SystemExit, match="no pinned version with hashes"):
        load(DJANGO / "lock2req.py").requirements({"default": {"x": {"git": "https://example.com/x.git"}}})


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("example.com,www.example.com", "example.com"),
        (".example.com", "example.com"),
        ("*,a.test", "a.test"),
        ("", "localhost"),
        (" blog.test ", "blog.test"),
    ],
)
def test_healthcheck_host_is_the_first_usable_allowed_host(allowed, host):
    assert load(DJANGO / "healthcheck.py").health_host(allowed) == host


def test_dockerfiles_default_to_the_upstream_images():
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in (DJANGO / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in (ROOT / "compose/local/Dockerfile").read_text()
    assert "ARG NGINX_IMAGE=nginx:1.30" in (NGINX / "Dockerfile").read_text()


@pytest.mark.parametrize(
    "path", ["compose/production/django/Dockerfile", "compose/production/nginx/Dockerfile", "compose/local/Dockerfile",
             "deploy/adopt/templates/Dockerfile"]  # the last one: the app image `fab init` writes
)
def test_dockerfiles_build_with_the_classic_builder(path):
    text = (ROOT / path).read_text()
    for feature in ("--mount", "COPY --link", "<<"):
        assert feature not in text, f"{path} uses {feature}: Docker 20.10 without BuildKit cannot build it"


def test_nginx_routes_for_zero_downtime():
    parts = ("mysite.conf.template", "app-proxy.conf", "app-socket.conf")
    conf = "\n".join((NGINX / name).read_text() for name in parts)
    for directive in (
        "proxy_pass http://unix:__APP_SOCKET__;",
        "include /etc/nginx/mysite/app-proxy.conf;",
        "error_page 502 504 = @app_by_name;",
        "resolver 127.0.0.11 valid=1s ipv6=off;",
        "set $app http://mysite:8000;",
        "proxy_pass $app;",
        "proxy_next_upstream error timeout http_502 http_503;",
        "proxy_connect_timeout 1s;",
        "proxy_next_upstream_tries 3;",
        "listen __HTTP__ default_server;",
        "return 444;",
        "alias /srv/static/;",
        "alias /srv/media/;",
        "root /var/www/acme;",
    ):
        assert directive in conf, directive
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    assert "non_idempotent" not in code  # POSTs are never sent twice
    assert not re.search(r"^\s*upstream\s", code, re.M)  # a static upstream block would pin the old container's address


def test_dockerignore_keeps_secrets_and_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".*", ".git", ".envs", "**/*.sqlite3", "database/", "tests/", "testbed/", "fabfile.py",
                  "**/_credentials.py", "**/*.egg-info", "build/"):  # the last two: the toolkit's editable install
        assert entry in ignored, entry


def test_standin_builders():
    from testbed import images

    standin = images.STANDINS[images.PYTHON_IMAGE]
    assert images.debootstrap_command(standin, Path("/tmp/r"), "http://deb.debian.org/debian") == [
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates",
        "bookworm",
        "/tmp/r",
        "http://deb.debian.org/debian",
    ]
    command = images.import_command(images.STANDINS[images.NGINX_IMAGE])
    assert command[:2] == ["docker", "import"] and command[-2:] == ["-", "nginx:1.30"]
    assert "LABEL mysite.standin=debootstrap" in command


def test_debian_mirror_from_sources(tmp_path):
    from testbed import images

    sources = tmp_path / "debian.sources"
    sources.write_text("Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n")
    assert images.debian_mirror(sources) == "http://mirror.test/debian"
    assert images.debian_mirror(tmp_path / "missing") == "http://deb.debian.org/debian"
