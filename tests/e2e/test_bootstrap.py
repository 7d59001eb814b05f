"""`fab bootstrap` and `fab migrate-legacy` over real SSH against fresh systemd servers, as a user runs them.

One story per module server, in order: the Debian 12 server runs the article's legacy stack (host
nginx on :80, gunicorn under a user-level supervisord) until `fab migrate-legacy` stops it.
"""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testbed.servers import PWSUDO_PASSWORD, record_timing
from tests.harness import flows
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import FAB
from tests.reliability.checks import assert_unchanged, snapshot

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    """A HOME the test controls: no ssh keys, no agent, an empty known_hosts."""
    home = tmp_path_factory.mktemp("laptop")
    (home / ".ssh").mkdir(mode=0o700)
    known = home / ".ssh" / "known_hosts"
    known.write_text("")
    return home


def fab(server, laptop, *args, user="deploy", known_hosts=None, timeout=900, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "MYSITE_"))}
    env.update(HOME=str(laptop), MYSITE_KNOWN_HOSTS=str(known_hosts or laptop / ".ssh" / "known_hosts"))
    argv = [FAB, "-H", f"{user}@{server.host}:{server.ssh_port}", "-i", server.key_filename, *args]
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, input=stdin, start_new_session=True
    )  # no tty: getpass reads stdin
    done.seconds = time.monotonic() - started
    print(
        f"$ fab {' '.join(args)} as {user} -> exit {done.returncode} in {done.seconds:.1f}s\n{done.stdout}{done.stderr}"
    )
    return done


def page(server):
    try:
        with urllib.request.urlopen(server.http_url + "/", timeout=5) as response:
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError) as error:
        return f"unreachable: {error}"


def docker_absent(server):
    return server.exec("command -v docker", check=False).returncode != 0


def test_unknown_host_key_is_refused_with_nothing_installed(module_legacy_server, laptop):
    done = fab(module_legacy_server, laptop, "bootstrap")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "is not in" in lines[0] and "--accept-new-host-key" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert docker_absent(module_legacy_server)
    assert (laptop / ".ssh" / "known_hosts").read_text() == ""


def test_user_without_sudo_gets_one_line_and_nothing_changes(module_legacy_server, laptop):
    done = fab(module_legacy_server, laptop, "bootstrap", user="nosudo", known_hosts=module_legacy_server.known_hosts)
    assert done.returncode != 0
    assert "error: nosudo@127.0.0.1 has no passwordless sudo: add `nosudo ALL=(ALL) NOPASSWD:ALL`" in done.stderr
    assert "Traceback" not in done.stderr
    assert docker_absent(module_legacy_server)
    assert module_legacy_server.exec("test -e /home/nosudo/apps", check=False).returncode != 0


def test_bootstrap_installs_docker_for_real(module_legacy_server, laptop):
    done = fab(module_legacy_server, laptop, "bootstrap", "--accept-new-host-key")
    assert done.returncode == 0, done.stderr
    record_timing("fab bootstrap, fresh Debian 12 server", done.seconds)
    assert done.stdout.count("accepted new host key") == 1  # the reconnect for the docker group re-checks it
    assert len((laptop / ".ssh" / "known_hosts").read_text().splitlines()) == 1
    assert "changed: installed docker.io docker-compose" in done.stdout
    assert "changed: deploy in the docker group" in done.stdout
    assert "Compose 1.29" in done.stdout and "(v1)" in done.stdout
    assert "hello-world" not in module_legacy_server.exec("journalctl -u docker --no-pager", check=False).stdout
    assert module_legacy_server.exec("systemctl is-enabled docker && systemctl is-active docker").returncode == 0


def test_second_run_changes_nothing(module_legacy_server, laptop):
    done = fab(module_legacy_server, laptop, "bootstrap")
    assert done.returncode == 0, done.stderr
    record_timing("fab bootstrap, second run", done.seconds)
    assert "nothing changed: everything was already in place" in done.stdout
    assert "changed:" not in done.stdout.replace("nothing changed:", "")


def test_deploy_runs_docker_without_sudo_and_has_the_app_layout(module_legacy_server):
    assert module_legacy_server.ssh("docker ps --format '{{.Names}}'").returncode == 0
    modes = module_legacy_server.ssh(
        "cd ~/apps/mysite && stat -c '%n %U %a' . releases shared shared/.envs backups"
    ).stdout.split("\n")
    assert modes[:5] == [
        ". deploy 755",
        "releases deploy 755",
        "shared deploy 755",
        "shared/.envs deploy 700",
        "backups deploy 700",
    ]


def test_deploy_while_another_nginx_holds_port_80_changes_nothing(module_legacy_server, laptop, tmp_path):
    """The legacy host nginx still serves :80: the deploy's preflight names it before the server changes."""
    server = module_legacy_server
    checkout = flows.make_checkout(tmp_path / "mysite", head_only=True)
    before = snapshot(server)
    done = flows.fab(server, checkout, laptop, "deploy")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert re.search(r"port 80 on deploy@127\.0\.0\.1:\d+ is taken by nginx \(pid [\d, ]+\): stop it there, "
                     r"run `fab migrate-legacy`", errors[0]), errors[0]
    assert "ship" not in done.stdout and "build images" not in done.stdout
    assert_unchanged(before, snapshot(server))
    assert "legacy mysite" in page(server)


def test_migrate_legacy_stops_the_old_stack_and_frees_port_80(module_legacy_server, laptop):
    server = module_legacy_server
    assert "legacy mysite" in page(server)
    done = fab(server, laptop, "migrate-legacy")
    assert done.returncode == 0, done.stderr
    assert "changed: host nginx stopped and disabled at boot" in done.stdout
    assert "program mysite stopped" in done.stdout
    assert "undo: sudo systemctl enable --now nginx" in done.stdout
    assert "port 80 is free" in done.stdout and "port 443 is free" in done.stdout
    assert "legacy mysite" not in page(server)
    assert server.exec("ss -ltnH 'sport = :80'").stdout.strip() == ""
    assert server.exec("systemctl is-enabled nginx", check=False).stdout.strip() == "disabled"
    assert server.exec("test -f /home/deploy/etc/supervisor/conf.d/mysite.ini.disabled-by-mysite").returncode == 0
    again = fab(server, laptop, "migrate-legacy")
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stderr


def test_sudo_with_a_password_works_when_prompted_and_a_wrong_one_is_one_line(module_legacy_server, laptop):
    server = module_legacy_server
    good = fab(
        server, laptop, "--prompt-for-sudo-password", "migrate-legacy", user="pwsudo", stdin=PWSUDO_PASSWORD + "\n"
    )
    assert good.returncode == 0 and "nothing changed" in good.stdout, good.stderr
    bad = fab(server, laptop, "--prompt-for-sudo-password", "migrate-legacy", user="pwsudo", stdin="wrong\n")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "error: sudo on pwsudo@127.0.0.1 refused the password" in bad.stderr


def test_systemd_before_any_deploy_is_refused(module_legacy_server, laptop):
    done = fab(module_legacy_server, laptop, "systemd")
    assert done.returncode != 0 and "error: no release is deployed yet" in done.stderr
    assert module_legacy_server.exec("test -e /etc/systemd/system/mysite.service", check=False).returncode != 0


def test_debian13_ends_with_compose_v2(fresh_trixie_server, laptop, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    done = fab(fresh_trixie_server, laptop, "bootstrap", "--accept-new-host-key", known_hosts=known)
    assert done.returncode == 0, done.stderr
    record_timing("fab bootstrap, fresh Debian 13 server", done.seconds)
    assert "(v2)" in done.stdout
    version = fresh_trixie_server.ssh("docker compose version --short").stdout.strip()
    assert version.startswith("2."), version
