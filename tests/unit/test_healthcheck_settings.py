"""compose/production/django/healthcheck.py reads DJANGO_ALLOWED_HOSTS (host names, nothing secret) as the
settings do: from the file DJANGO_ALLOWED_HOSTS_FILE names when that is set (the file wins)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECK = ROOT / "compose/production/django/healthcheck.py"

spec = importlib.util.spec_from_file_location("healthcheck", HEALTHCHECK)
healthcheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(healthcheck)


def test_allowed_hosts_from_the_environment():
    assert healthcheck.setting("DJANGO_ALLOWED_HOSTS", {"DJANGO_ALLOWED_HOSTS": "a.test,b.test"}) == "a.test,b.test"
    assert healthcheck.setting("DJANGO_ALLOWED_HOSTS", {}) == ""


def test_allowed_hosts_from_a_file_win_and_lose_their_line_end(tmp_path):
    hosts = tmp_path / "allowed_hosts"
    hosts.write_text("blog.example,www.blog.example\n")
    env = {"DJANGO_ALLOWED_HOSTS": "other.test", "DJANGO_ALLOWED_HOSTS_FILE": str(hosts)}
    assert healthcheck.setting("DJANGO_ALLOWED_HOSTS", env) == "blog.example,www.blog.example"
    assert healthcheck.health_host(healthcheck.setting("DJANGO_ALLOWED_HOSTS", env)) == "blog.example"
    # an empty NAME_FILE is not set (as in the settings)
    assert healthcheck.setting("DJANGO_ALLOWED_HOSTS", {**env, "DJANGO_ALLOWED_HOSTS_FILE": ""}) == "other.test"


def test_a_missing_file_is_unhealthy_with_one_line(tmp_path):
    missing = tmp_path / "nothing-here"
    done = subprocess.run([sys.executable, str(HEALTHCHECK)], capture_output=True, text=True, timeout=30,
                          env={"DJANGO_ALLOWED_HOSTS_FILE": str(missing)})
    assert done.returncode == 1
    assert done.stderr.startswith("healthcheck: DJANGO_ALLOWED_HOSTS_FILE: [Errno 2] No such file or directory")


def test_the_health_check_reads_no_secret():
    """Only DJANGO_ALLOWED_HOSTS (names nginx serves too) and the app contract's port and health path; it never
    imports the settings, which need the key."""
    code = HEALTHCHECK.read_text()
    assert set(re.findall(r'"([A-Z][A-Z0-9_]+)"', code)) == {"DJANGO_ALLOWED_HOSTS", "MYSITE_APP_PORT",
                                                               "MYSITE_APP_HEALTH_PATH"}
    assert "import django" not in code and "mysite" not in code.split('"""', 2)[2]


def test_the_health_url_is_the_apps_port_and_path_else_the_blogs():
    assert healthcheck.health_url({}) == "http://127.0.0.1:8000/healthz"
    assert healthcheck.health_url({"MYSITE_APP_PORT": "9000", "MYSITE_APP_HEALTH_PATH": "/up"}) == (
        "http://127.0.0.1:9000/up")
