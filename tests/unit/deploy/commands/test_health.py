"""deploy/commands/health.py: the wait loop around a check, run by sh as the server runs it; the probes' strings."""

import subprocess
from shlex import quote

from deploy.commands import health
from deploy.config import AppConfig
from deploy.scripts import source


def run_wait(tmp_path, answers: str, broken_after: int) -> tuple[int, int]:
    """``health.wait_until`` run by sh on a check that exits with each of ``answers`` in turn, then 0."""
    left = tmp_path / "answers"
    left.write_text(answers)
    check = (f"sh -c 'a=$(cat {left}); [ -z \"$a\" ] && exit 0; printf %s \"${{a#?}}\" > {left}; "
             "exit ${a%\"${a#?}\"}'")
    command = health.wait_until(check, 30, broken_after=broken_after).replace("sleep 1", "sleep 0.01")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20)
    return done.returncode, len(answers) - len(left.read_text())


def test_a_release_that_keeps_answering_a_server_error_is_judged_broken_without_waiting_out_the_deadline(tmp_path):
    assert run_wait(tmp_path, "3333333", broken_after=3) == (3, 3)
    # "not up yet" between breaks the run: only answers in a row count
    assert run_wait(tmp_path, "3313313330", broken_after=3) == (3, 9)
    assert run_wait(tmp_path, "33133", broken_after=3) == (0, 5)  # then healthy: it passes


def test_without_a_limit_a_broken_answer_is_just_not_yet(tmp_path):
    assert run_wait(tmp_path, "3333", broken_after=0) == (0, 4)


SHOP = AppConfig(name="shop", settings="shop.settings.prod", port=9000, health_path="/up")


def test_the_direct_check_asks_the_apps_port_and_health_path():
    assert health.direct_check("shop-r1", "shop.example", 30, SHOP) == (
        "broken=0; end=$(($(date +%s)+30)); until docker exec shop-r1 python -c " + quote(source("probe"))
        + " http://127.0.0.1:9000 shop.example /up; do "
        "if [ $? -eq 3 ]; then broken=$((broken+1)); else broken=0; fi; if [ $broken -ge 10 ]; then exit 3; fi; "
        "if [ \"$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' shop-r1 2>/dev/null)\" != 'running 0' ]; "
        "then echo 'shop-r1 is not running (crashed or restarting)'; exit 2; "
        "fi; if [ \"$(date +%s)\" -ge \"$end\" ]; then exit 1; fi; sleep 1; done")


def test_the_check_through_nginx_asks_the_apps_health_path_on_nginxs_port():
    assert health.nginx_check("shop-nginx", "shop.example", 30, SHOP) == (
        "end=$(($(date +%s)+30)); until docker exec shop-nginx python3 -c " + quote(source("probe"))
        + " unix:/run/nginx-checks.sock shop.example /up; "
        "do if [ \"$(date +%s)\" -ge \"$end\" ]; then exit 1; fi; sleep 1; done")


def test_the_wait_loop_counts_the_exit_the_probe_gives_for_up_but_broken():
    # the probe runs on the server from its source (deploy/scripts): it cannot import the builder's constant
    from deploy.scripts import source

    assert f"UP_BUT_BROKEN = {health.UP_BUT_BROKEN}\n" in source("probe")
