"""The warm container: its commands by exact string, the deploy that keeps one, the rollback that uses it,
and the server's timer run for real in sh against a fake `docker`."""

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import lock, operations, pipeline, releases
from deploy import switch as sw
from deploy.commands import docker, health, warm
from deploy.commands import releases as commands
from deploy.config import AppConfig, DeployConfig
from deploy.errors import DeployError
from deploy.names import Names
from tests.harness import deploy_case as case
from tests.harness.mockremote import names, remote, routed, session

N = names(DeployConfig())
A, B = "20261123090000-aaaaaaa", "20261124100509-bbbbbbb"
A_C, B_C = f"mysite-{A}", f"mysite-{B}"
STARTED = "2026-11-24T10:05:09.123456789Z"
LIST, WARM = docker.app_containers("mysite"), warm.listing("mysite")


def test_listing_and_its_parse_keep_only_the_running_ones_without_a_restart_policy():
    assert WARM == ("docker ps -q --filter label=mysite.project=mysite --filter status=running | xargs -r docker "
                    "inspect -f '{{.Name}} {{.HostConfig.RestartPolicy.Name}} {{.State.StartedAt}}'")
    assert warm.parse(f"/{A_C} no {STARTED}\n/{B_C} unless-stopped {STARTED}\n\n") == {A_C: STARTED}


def test_keep_starts_a_new_container_of_the_release_out_of_the_alias_without_restart_policy_after_dns():
    assert warm.keep(N, A, 3) == f"sleep 3 && {docker.run_app(N, A, restart='no')} >/dev/null"
    assert "--network-alias mysite " not in warm.keep(N, A, 3) and f"--network-alias {A_C} " in warm.keep(N, A, 3)
    assert docker.run_app(N, A).replace("--restart unless-stopped", "--restart no") == docker.run_app(N, A, "no")


def test_claim_gives_back_the_serving_policy():
    assert warm.claim(A_C) == f"docker update --restart unless-stopped {A_C} >/dev/null"


def test_expire_is_a_detached_timer_under_the_deploy_lock():
    command = warm.expire(N, A_C, 600)
    assert command.startswith("setsid -f sh -c '") and command.endswith("' </dev/null >/dev/null 2>&1")
    assert "sleep 600;" in command and f"until mkdir {N.lock} 2>/dev/null" in command
    assert "docker stop -t 30 \"$c\" >/dev/null; docker rm \"$c\"" in command
    assert command.index("sleep 600") < command.index("mkdir") < command.index("docker stop")


# --- the timer, run for real: sh, a fake docker that answers from files and logs what it is asked ------------

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$STATE/calls"
case "$1" in
  inspect) cat "$STATE/inspect" 2>/dev/null || exit 1;;
  stop|rm) rm -f "$STATE/inspect";;
esac
"""


def run_timer(tmp_path: Path, inspect_after, *, lock_held: bool = False) -> list[str]:
    """The timer with 0 seconds; ``inspect_after`` (text) is what docker inspect says once it wakes up."""
    state, bin_dir = tmp_path / "state", tmp_path / "bin"
    state.mkdir()
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    # no waiting: the window and the lock's pauses are instant, and each is written down
    (bin_dir / "sleep").write_text('#!/bin/sh\necho "$1" >> "$STATE/slept"\n')
    (bin_dir / "sleep").chmod(0o755)
    here = Names.of(DeployConfig(app_path=str(tmp_path / "app")), "/home/deploy")
    (tmp_path / "app").mkdir()
    if lock_held:
        Path(here.lock).mkdir()
    (state / "inspect").write_text("ID1 T1\n")  # at its start: id and start time
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STATE": str(state)}
    # the first inspect happens before the timer's sleep: switch the answer right after it
    command = warm.expire(here, A_C, 0).replace("setsid -f ", "", 1)
    script = command.replace("sleep 0;", f'printf %s "{inspect_after}" > $STATE/inspect; sleep 0;', 1)
    subprocess.run(["sh", "-c", script], env=env, check=True, timeout=60)
    calls = (state / "calls").read_text().splitlines()
    assert lock_held or not Path(here.lock).exists(), "the timer left the deploy lock behind"
    return [c.split()[0] for c in calls]


def test_the_timer_stops_and_removes_a_container_still_warm(tmp_path):
    assert run_timer(tmp_path, f"ID1 T1 no {A_C}") == ["inspect", "inspect", "stop", "rm"]


@pytest.mark.parametrize("later", [
    f"ID1 T1 unless-stopped mysite {A_C}",  # a rollback claimed it: it serves
    f"ID1 T1 no mysite {A_C}",  # in the alias, whatever its policy says
    f"ID1 T2 no {A_C}",  # started again since (a later deploy warmed it again: that deploy's timer decides)
    f"ID2 T1 no {A_C}",  # another container of the same name
    "",  # gone already
])
def test_the_timer_leaves_a_container_that_is_no_longer_its_warm_one(tmp_path, later):
    assert run_timer(tmp_path, later) == ["inspect", "inspect"]


def test_the_timer_waits_for_the_lock_and_gives_up_after_an_hour(tmp_path):
    assert run_timer(tmp_path, f"ID1 T1 no {A_C}", lock_held=True) == ["inspect"]
    window, *pauses = (tmp_path / "state" / "slept").read_text().split()
    assert window == "0" and 3550 <= sum(map(int, pauses)) <= 3600  # it waited an hour for the lock, then gave up


# --- the deploy keeps the replaced container warm; restarts do not ----------------------------------

NEW_DIRECT = health.direct_check(B_C, "blog.example", 60, AppConfig())
VIA_NGINX = health.nginx_check("mysite_nginx_1", "blog.example", 60, AppConfig())


def deploy_switch(*commands, keep_warm=600):
    with MockRemote() as mock:
        mock.expect_sessions(session(*commands))
        sw.switch(remote(), N, B, "blog.example", "mysite_nginx_1", keep_warm=keep_warm)


def test_a_deploy_stops_the_serving_one_gracefully_then_warms_it_and_removes_the_older_warm_one(capsys):
    older = "mysite-20261120000000-0000000"
    deploy_switch(
        Command(LIST, out=f"{A_C} Up 1 hour\n{older} Up 2 hours\n".encode()),
        Command(WARM, out=f"/{A_C} unless-stopped {STARTED}\n/{older} no {STARTED}\n".encode()),
        docker.run_app(N, B), NEW_DIRECT, *routed(N, B_C), VIA_NGINX,
        f"docker stop -t 30 {A_C} {older} && docker rm {A_C} {older}", warm.keep(N, A, 3), warm.expire(N, A_C, 600))
    assert f"start {B_C} beside {A_C} (" in capsys.readouterr().out  # the warm one is not counted as serving


def test_a_container_that_cannot_be_warmed_is_removed_and_the_deploy_still_succeeds(capsys):
    deploy_switch(
        Command(LIST, out=f"{A_C} Up 1 hour\n".encode()), Command(WARM),
        docker.run_app(N, B), NEW_DIRECT, *routed(N, B_C), VIA_NGINX,
        f"docker stop -t 30 {A_C} && docker rm {A_C}",
        Command(warm.keep(N, A, 3), err=b"Error: no such image\n", exit=1),
        docker.discard(A_C))
    assert "could not keep" in capsys.readouterr().out


def test_keep_warm_zero_is_the_old_switch():
    deploy_switch(Command(LIST, out=f"{A_C} Up 1 hour\n".encode()), docker.run_app(N, B), NEW_DIRECT,
                  *routed(N, B_C), VIA_NGINX, f"docker stop -t 30 {A_C} && docker rm {A_C}",
                  keep_warm=0)


def test_a_deploy_whose_release_has_a_warm_container_replaces_it():
    deploy_switch(
        Command(LIST, out=f"{B_C} Up 1 hour\n{A_C} Up 1 hour\n".encode()),
        Command(WARM, out=f"/{B_C} no {STARTED}\n/{A_C} unless-stopped {STARTED}\n".encode()),
        docker.discard(B_C), docker.run_app(N, B), NEW_DIRECT, *routed(N, B_C), VIA_NGINX,
        f"docker stop -t 30 {A_C} && docker rm {A_C}", warm.keep(N, A, 3), warm.expire(N, A_C, 600))


def test_a_restart_with_new_settings_keeps_nothing_warm():
    aside = f"{B_C}-before-https"
    with MockRemote() as mock:
        mock.expect_sessions(session(
            docker.rename(B_C, aside), Command(LIST, out=f"{aside} Up 1 hour\n{A_C} Up 1 hour\n".encode()),
            docker.run_app(N, B), NEW_DIRECT, *routed(N, B_C), VIA_NGINX,
            f"docker stop -t 30 {aside} {A_C} && docker rm {aside} {A_C}"))  # the warm A goes too: old settings
        sw.restart(remote(), N, B, "blog.example", "mysite_nginx_1", [B_C], aside="before-https")


# --- the rollback to the warm container ---------------------------------------------------------------

OLD_DIRECT = health.direct_check(A_C, "blog.example", 60, AppConfig())
ROLLBACK_PRE = [*case.preflight(), Command(commands.listing(N), out=f"{A}\n{B}\n".encode()),
                Command(commands.read_current(N), out=f"releases/{B}".encode()), commands.image_exists(N, A),
                Command(f"sed -n 's/^DJANGO_ALLOWED_HOSTS=//p' {N.env_file}", out=b"blog.example\n")]
NGINX = [Command(docker.nginx_container("mysite"), out=b"mysite_nginx_1\n"),
         Command(docker.image_ids("mysite_nginx_1", f"mysite-nginx:{A}"), out=b"sha256:1\nsha256:1\n")]
LOCK = case.lock_commands.take(N.root, N.lock, "HOLDER")
UNLOCK = case.lock_commands.release_lock(N.lock)
FOUND = [Command(WARM, out=f"/{A_C} no {STARTED}\n/{B_C} unless-stopped {STARTED}\n".encode()),
         Command(LIST, out=f"{B_C} Up 5 minutes\n{A_C} Up 5 minutes\n".encode())]


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: "HOLDER")
    monkeypatch.setattr(releases, "audit_line", lambda **k: f"{k['action']} {k['release']} {k['result']}")


def rollback(*commands):
    with MockRemote() as mock:
        mock.expect_sessions(session(*ROLLBACK_PRE, LOCK, *NGINX, *commands))
        pipeline.rollback(remote(), DeployConfig())


def test_rollback_claims_checks_routes_verifies_the_warm_container_then_stops_the_bad_one(pinned, capsys):
    rollback(*FOUND, warm.claim(A_C), OLD_DIRECT, *routed(N, A_C), VIA_NGINX,
             f"docker stop -t 30 {B_C} && docker rm {B_C}", commands.link_current(N, A),
             commands.append_audit(N, f"rollback {A} ok"), UNLOCK)
    out = capsys.readouterr().out
    assert f"using the warm container {A_C}" in out and "(its warm container was used)" in out


def test_a_failed_check_of_the_warm_container_removes_it_and_keeps_the_current_release(pinned, capsys):
    abort = [docker.logs_tail(A_C, sw.LOG_SEARCHED), docker.discard(A_C), f"docker start {B_C}"]
    with pytest.raises(DeployError) as info:
        rollback(*FOUND, warm.claim(A_C), OLD_DIRECT, *routed(N, A_C),
                 Command(VIA_NGINX, out=b"/healthz: 502\n", exit=1), *abort,
                 commands.append_audit(N, f"rollback {A} failed"), UNLOCK)
    assert str(info.value) == (
        f"nginx could not serve the warm release (/healthz: 502); rolled back: the warm container {A_C} removed, "
        f"still serving: {B_C} (its last log lines are above); `fab rollback` again starts a fresh one")


# --- fab status ------------------------------------------------------------------------------------

def test_status_says_when_the_warm_container_goes():
    now = datetime(2026, 11, 24, 10, 10, 9, tzinfo=UTC)
    assert operations.warm_until(STARTED, DeployConfig(), now) == (
        "removed at about 10:15:09 UTC (in 300s, keep_warm 600s)")
    assert operations.warm_until("?", DeployConfig(keep_warm=60)) == "removed 60s after it started"
