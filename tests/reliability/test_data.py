"""Data: posts and comments survive deploy + rollback, a bootstrap re-run, a server reboot, the
stack stopped and started, and a backup/restore round trip gives back identical content.

"Identical" is a digest of every post's title and body and every comment's post, name and text.
"""

from __future__ import annotations

import sqlite3

import pytest

from deploy.commands.compose import assignments
from deploy.config import DeployConfig
from deploy.names import Names
from tests.harness import flows
from tests.harness.flows import APP, commit
from tests.reliability.checks import (
    COMMENT,
    app_containers,
    content,
    current_release,
    post_comment,
    wait_serving,
)

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]


@pytest.fixture(scope="module")
def baseline(deployed):
    found = content(deployed)
    assert found["posts"] >= 3 and found["comments"] >= 1, found
    return found


def test_deploy_then_rollback(deployed, baseline, checkout, laptop):
    first = current_release(deployed)
    page = checkout / "blog/templates/base.html"
    page.write_text(page.read_text().replace("</body>", '<p id="rel-data">data release</p>\n</body>'))
    commit(checkout, "a second release")
    assert flows.fab(deployed, checkout, laptop, "deploy").returncode == 0
    assert content(deployed) == baseline
    assert 'id="rel-data"' in flows.get(deployed, "/")[1]
    done = flows.fab(deployed, checkout, laptop, "rollback")
    assert done.returncode == 0, done.stdout + done.stderr
    assert current_release(deployed) == first
    assert content(deployed) == baseline
    assert 'id="rel-data"' not in flows.get(deployed, "/")[1]


def test_bootstrap_rerun(deployed, baseline, checkout, laptop):
    done = flows.fab(deployed, checkout, laptop, "bootstrap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing changed: everything was already in place" in done.stdout
    assert content(deployed) == baseline
    assert flows.get(deployed, "/")[0] == 200


def test_server_reboot_brings_the_blog_back_by_itself(deployed, baseline):
    assert deployed.exec("systemctl is-enabled docker").stdout.strip() == "enabled"
    app = app_containers(deployed)[0]
    assert deployed.exec(f"docker inspect -f '{{{{.HostConfig.RestartPolicy.Name}}}}' {app}").stdout.strip() == (
        "unless-stopped")
    deployed.restart()
    wait_serving(deployed)  # no manual action: docker at boot, restart policies
    assert flows.get(deployed, "/healthz") == (200, '{"status": "ok"}')
    assert app_containers(deployed) == [app]
    assert content(deployed) == baseline


def test_stack_down_and_up(deployed, baseline):
    """Stop everything the way the project's systemd unit does (compose stop nginx, docker stop app), then start it."""
    release = current_release(deployed)
    names = Names.of(DeployConfig(), "/home/deploy")
    assert names.root == APP
    compose = (f"cd {APP}/current && {assignments(names.compose_env(release))} "
               "docker-compose -p mysite -f production.yml")
    deployed.ssh(f"{compose} stop -t 30 nginx certbot && docker stop -t 30 mysite-{release}")
    assert deployed.ssh("docker ps -q --filter label=mysite.project=mysite").stdout.strip() == ""
    status = None
    try:
        status = flows.get(deployed, "/")[0]
    except OSError:
        pass
    assert status != 200, "the blog still answered with the stack down"
    deployed.ssh(f"docker start mysite-{release} && {compose} up -d --no-deps nginx")
    wait_serving(deployed)
    assert content(deployed) == baseline


def test_backup_restore_round_trip(deployed, baseline, checkout, laptop, tmp_path):
    saved = tmp_path / "backup.sqlite3"
    done = flows.fab(deployed, checkout, laptop, "backup", "--output", str(saved))
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(saved) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (COMMENT,) in db.execute("SELECT text FROM blog_comment").fetchall()
    status, _ = post_comment(deployed, flows.first_post(deployed), text="written after the backup")
    assert status == 200
    assert content(deployed) != baseline
    done = flows.fab(deployed, checkout, laptop, "restore", str(saved), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert content(deployed) == baseline
    assert "written after the backup" not in flows.get(deployed, flows.first_post(deployed))[1]
