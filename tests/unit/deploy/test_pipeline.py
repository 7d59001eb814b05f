"""`fab deploy` and `fab rollback`: the exact command sequences, including the failure paths."""

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import lock, pipeline, releases
from deploy.commands import compose, database, docker, health, shell, system
from deploy.commands import lock as lock_commands
from deploy.commands import releases as commands
from deploy.config import AppConfig, DeployConfig
from deploy.errors import DeployError
from tests.harness.deploy_case import (
    BACKUP,
    BUILD,
    CFG,
    CHECK_THEN_MIGRATE,
    CURRENT_OLD,
    DIRECT,
    KEY,
    LOCK,
    MIGRATE,
    NEW,
    NEW_C,
    NGINX,
    NO_COPIES,
    OLD,
    OLD_C,
    OLDEST,
    PORTS,
    PRUNE,
    STARTED,
    SWITCH,
    UNLOCK,
    VIA_NGINX,
    WARM,
    P,
    audit,
    pinned_project,
    port,
    preflight,
    run_deploy,
    until_build,
)
from tests.harness.mockremote import remote, routed, session


@pytest.fixture
def local(tmp_path, monkeypatch):
    return pinned_project(tmp_path, monkeypatch)


def test_deploy_runs_every_step_in_order(local, monkeypatch, capsys):
    uploads = []
    run_deploy(*until_build(), BUILD, *BACKUP, *MIGRATE, *NGINX, *SWITCH, commands.link_current(P, NEW), NO_COPIES,
               *PRUNE, audit("deploy", NEW, "ok"), UNLOCK, uploads=uploads, monkeypatch=monkeypatch)
    assert uploads == [(f"{P.releases}/.{NEW}.tar", b"TAR"), (f"{P.env_file}.upload",
                       f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n".encode()),
                       (f"{P.nginx_env}.upload", b"DJANGO_ALLOWED_HOSTS=blog.example\n"),  # never the secret key
                       (f"{P.postgres_env}.upload", b"")]  # on SQLite: nothing for PostgreSQL
    out = capsys.readouterr().out
    assert f"release {NEW}, previous {OLD}" in out and f"deployed {NEW}" in out
    assert "  ok build images" in out
    assert "    check --deploy: 2 warnings (security.W004, security.W008)\n" in out


def test_first_deploy_skips_the_backup_and_starts_nginx_after_migrating(local, monkeypatch, capsys):
    up = compose.stack(P, NEW, "up -d --no-deps nginx", kind="v1")
    run_deploy(*until_build(current=b""), BUILD,
               Command("docker volume inspect mysite_database >/dev/null 2>&1", exit=1), *MIGRATE,
               Command(docker.nginx_container("mysite")), up,
               Command(docker.nginx_container("mysite"), out=b"mysite_nginx_1\n"),
               Command(docker.app_containers("mysite")), Command(WARM), docker.run_app(P, NEW), DIRECT,
               *routed(P, NEW_C), VIA_NGINX, commands.link_current(P, NEW), NO_COPIES,
               Command(commands.listing(P), out=f"{NEW}\n".encode()), Command(commands.image_tags(P)),
               audit("deploy", NEW, "ok"), UNLOCK, monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "previous none (first deploy)" in out and "nothing to back up" in out


def test_failed_build_changes_nothing_and_releases_the_lock(local, monkeypatch, capsys):
    with pytest.raises(DeployError, match="building the images failed .* previous release keeps serving"):
        run_deploy(*until_build(), Command(BUILD, out=b"Step 7/12 : RUN pip install\nERROR: no such package\n",
                                           exit=1),
                   commands.remove_release(P, NEW), audit("deploy", NEW, "failed"), UNLOCK, monkeypatch=monkeypatch)
    assert "| ERROR: no such package" in capsys.readouterr().out


def test_failed_migration_switches_nothing(local, monkeypatch, capsys):
    failed = Command(CHECK_THEN_MIGRATE, out=b"System check identified no issues (0 silenced).\ncheck-deploy:done\n",
                     err=b"django.db.utils.OperationalError: table blog_post already exists\n", exit=1)
    with pytest.raises(DeployError) as refused:
        run_deploy(*until_build(), BUILD, *BACKUP, failed,
                   commands.remove_release(P, NEW), audit("deploy", NEW, "failed"), UNLOCK, monkeypatch=monkeypatch)
    assert str(refused.value) == ("migrations failed (output above); nothing was switched and the previous release "
                                  "keeps serving: fix the migration and deploy again")
    assert "| django.db.utils.OperationalError: table blog_post already exists" in capsys.readouterr().out


CHECK_ERRORS = (b"SystemCheckError: System check identified some issues:\n\nERRORS:\n?: (admin.E403) A "
                b"'django.template.backends.django.DjangoTemplates' instance must be configured in TEMPLATES in order "
                b"to use the admin application.\n\nWARNINGS:\n?: (security.W004) You have not set a value for the "
                b"SECURE_HSTS_SECONDS setting.\n\nSystem check identified 2 issues (0 silenced).\n")


@pytest.mark.parametrize("output, message", [
    (CHECK_ERRORS, "check --deploy found 1 error (admin.E403) in the new image with the production env (output "
                   "above); nothing was migrated or switched and the previous release keeps serving: fix it and "
                   "deploy again"),
    (b"django.core.exceptions.ImproperlyConfigured: DJANGO_ALLOWED_HOSTS is missing\n",
     "check --deploy could not run in the new image with the production env (output above); nothing was migrated "
     "or switched and the previous release keeps serving: fix it and deploy again"),
])
def test_an_error_of_check_deploy_refuses_before_any_migration_or_switch(local, monkeypatch, output, message):
    # one container runs both: the checks' failure ends it before migrate starts (the && in the command)
    with pytest.raises(DeployError) as refused:
        run_deploy(*until_build(), BUILD, *BACKUP, Command(CHECK_THEN_MIGRATE, out=output, exit=1),
                   commands.remove_release(P, NEW), audit("deploy", NEW, "failed"), UNLOCK, monkeypatch=monkeypatch)
    assert str(refused.value) == message


def test_unhealthy_release_is_removed_old_untouched_and_exit_is_non_zero(local, monkeypatch):
    abort = [docker.logs_tail(NEW_C, 200),
             f"docker stop -t 10 {NEW_C} >/dev/null 2>&1; docker rm -f {NEW_C} >/dev/null 2>&1 || true",
             f"docker start {OLD_C}"]
    with pytest.raises(DeployError, match=f"{NEW_C} failed its health check .* still serving: {OLD_C}"):
        run_deploy(*until_build(), BUILD, *BACKUP, *MIGRATE, *NGINX, *SWITCH[:3], Command(DIRECT, exit=1), *abort,
                   commands.remove_release(P, NEW), audit("deploy", NEW, "failed"), UNLOCK, monkeypatch=monkeypatch)


def test_concurrent_deploy_is_refused_with_the_holder_and_its_lock_kept(local, monkeypatch):
    with pytest.raises(DeployError, match=r"another deploy holds the lock .*\(deploy by bob@desk"):
        run_deploy(*preflight(), *PORTS, Command(commands.read_current(P), out=CURRENT_OLD),
                   Command(commands.env_value(P.env_file, "DATABASE_URL")),
                   Command(database.applied_migrations(OLD_C)), Command(LOCK, exit=1), f"test -d {P.lock}",
                   Command(lock_commands.read_lock(P.lock), out=b"deploy by bob@desk, 2026, 1111111\n"),
                   monkeypatch=monkeypatch)


def test_bad_env_file_fails_before_anything_on_the_server(local, monkeypatch):
    (local / ".envs/.production").write_text("DJANGO_SECRET_KEY=short\nDJANGO_ALLOWED_HOSTS=x\n")
    with pytest.raises(DeployError, match="DJANGO_SECRET_KEY is weak"):
        run_deploy(monkeypatch=monkeypatch)


def test_a_compose_file_missing_from_the_commit_fails_before_anything_on_the_server(local, monkeypatch):
    with pytest.raises(DeployError) as info:
        pipeline.deploy(remote(monkeypatch), DeployConfig(compose_file="stack.yml"))
    assert str(info.value) == ("compose_file stack.yml is not in commit bbbbbbb: commit it, or set compose_file in "
                               "fabric.yaml to the project's stack file (production.yml)")


def test_has_file_asks_the_commit_not_the_working_tree(tmp_path):
    import subprocess
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "production.yml").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    (tmp_path / "later.yml").write_text("y")
    assert releases.has_file("HEAD", "production.yml", cwd=str(tmp_path))
    assert not releases.has_file("HEAD", "later.yml", cwd=str(tmp_path))


NGINX_80 = (b'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=812,fd=6),("nginx",pid=811,fd=6))\n'
            b'LISTEN 0 511 [::]:80 [::]:* users:(("nginx",pid=812,fd=7),("nginx",pid=811,fd=7))\n')


def test_a_port_held_by_a_host_process_is_refused_before_anything_changes(local, monkeypatch):
    with pytest.raises(DeployError) as info:
        run_deploy(*preflight(), port(80, NGINX_80), monkeypatch=monkeypatch)
    assert str(info.value) == (
        "port 80 on deploy@srv.example:2200 is taken by nginx (pid 812, 811): stop it there, run "
        "`fab migrate-legacy` if it is the article's old nginx, or set http_port in fabric.yaml to a free port")


def test_a_port_published_by_another_container_is_refused(local, monkeypatch):
    other = (b"container shop-nginx-1 shop/nginx\n"
             b'LISTEN 0 4096 0.0.0.0:443 0.0.0.0:* users:(("docker-proxy",pid=9,fd=4))\n')
    with pytest.raises(DeployError, match=r"port 443 on .* is taken by the container shop-nginx-1: .* https_port"):
        run_deploy(*preflight(), port(80, b"container mysite_nginx_1 mysite/nginx\n"), port(443, other),
                   monkeypatch=monkeypatch)


def test_without_root_the_ports_are_read_as_the_user(local, monkeypatch):
    with pytest.raises(DeployError, match=r"taken by a process \(`sudo ss -ltnp` on the server names it\)"):
        run_deploy(*preflight(), port(80, exit=1), Command(system.port_holders(80), out=b"LISTEN 0 511 *:80 *:*\n"),
                   monkeypatch=monkeypatch)


def test_server_without_compose_says_run_bootstrap(local, monkeypatch):
    with pytest.raises(DeployError, match="run `fab bootstrap` first"):
        run_deploy(compose.detect(), monkeypatch=monkeypatch)


def test_dry_run_prints_and_survives_empty_probes(local, monkeypatch, capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(*[Command(c) for c in (
            compose.detect(), shell.sudo(system.port_holders(80)), shell.sudo(system.port_holders(443)),
            commands.read_current(P),
            "docker volume inspect mysite_database >/dev/null 2>&1",
            f"ls -1 {P.backups}",
            docker.nginx_container("mysite"), docker.nginx_container("mysite"), docker.app_containers("mysite"), WARM,
            commands.listing(P), commands.image_tags(P))]))
        pipeline.deploy(remote(monkeypatch, [], dry_run=True), CFG)
    out = capsys.readouterr().out
    assert "[dry-run] " + docker.run_app(P, NEW) in out
    assert "[dry-run] " + LOCK in out and "[dry-run] " + UNLOCK in out


# --- rollback ----------------------------------------------------------------------------------

ROLLBACK_PRE = [*preflight(), Command(commands.listing(P), out=f"{OLD}\n{NEW}\n".encode()),
                Command(commands.read_current(P), out=f"releases/{NEW}".encode()), commands.image_exists(P, OLD),
                Command(f"sed -n 's/^DJANGO_ALLOWED_HOSTS=//p' {P.env_file}", out=b"blog.example,www.blog.example\n")]


def test_rollback_switches_back_to_the_previous_release(monkeypatch):
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: "HOLDER")
    monkeypatch.setattr(releases, "audit_line", lambda **k: f"{k['action']} {k['release']} {k['result']}")
    direct = health.direct_check(OLD_C, "blog.example", CFG.health_timeout, AppConfig())
    with MockRemote() as mock:
        mock.expect_sessions(session(
            *ROLLBACK_PRE, LOCK, Command(docker.nginx_container("mysite"), out=b"mysite_nginx_1\n"),
            Command(docker.image_ids("mysite_nginx_1", f"mysite-nginx:{OLD}"), out=b"sha256:1\nsha256:1\n"),
            Command(WARM, out=f"/{NEW_C} unless-stopped {STARTED}\n".encode()),  # no warm container: expired
            Command(docker.app_containers("mysite"), out=f"{NEW_C} Up 1 hour\n".encode()),
            docker.run_app(P, OLD), direct, *routed(P, OLD_C), VIA_NGINX,
            f"docker stop -t 30 {NEW_C} && docker rm {NEW_C}", commands.link_current(P, OLD),
            audit("rollback", OLD, "ok"), UNLOCK))
        pipeline.rollback(remote(), CFG)


def test_rollback_is_refused_when_the_image_is_gone():
    with MockRemote() as mock:
        mock.expect_sessions(session(*ROLLBACK_PRE[:4], Command(commands.image_exists(P, OLD), exit=1)))
        with pytest.raises(DeployError, match=f"the image of release {OLD} is gone"):
            pipeline.rollback(remote(), CFG)


@pytest.mark.parametrize("found, current, to, words", [
    ([OLD, NEW], NEW, "nope", "no release 'nope'"),
    ([OLD, NEW], NEW, NEW, "already the current release"),
    ([NEW], NEW, None, "no release before the current one"),
])
def test_rollback_target_errors(found, current, to, words):
    with pytest.raises(DeployError, match=words):
        pipeline.pick_target(found, current, to)


def test_rollback_target_defaults_to_the_one_before_current():
    assert pipeline.pick_target([OLDEST, OLD, NEW], NEW, None) == OLD
    assert pipeline.pick_target([OLDEST, OLD, NEW], OLD, None) == OLDEST


def test_restore_from_the_target_needs_a_target_and_connects_to_nothing_without_one():
    with pytest.raises(DeployError, match="restore-from-target restores from `backup: target:` in fabric.yaml, and "
                                          "none is set"):
        pipeline.restore_from_target(remote(), DeployConfig(), None, yes=True)  # MockRemote absent: no connection


def test_verify_backup_needs_a_target_and_connects_to_nothing_without_one():
    from deploy import operations

    with pytest.raises(DeployError, match=r"^fab verify-backup checks `backup: target:` in fabric.yaml, and none is "
                                          r"set$"):
        operations.verify_backup(remote(), DeployConfig(), None)  # MockRemote absent: no connection
