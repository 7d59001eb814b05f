"""The shipping benchmark's pure parts (bench/shipping.py, bench/report.py): step times, ratios, the tables."""

import shlex

import pytest

from bench import report, shipping
from bench.shipping import LOCAL, SAVE_LOAD, SERVER

LOCAL_OUTPUT = """\
--> preflight: env file, git commit, docker on the server
    commit abc1234, domain blog.example, compose v1, images built here
  ok preflight: env file, git commit, docker on the server (1.9s)
--> build mysite-django:r2 and mysite-nginx:r2 here, from commit abc1234
  ok build mysite-django:r2 and mysite-nginx:r2 here, from commit abc1234 (4.2s)
--> check that 127.0.0.1 has room for the new layers
    127.0.0.1: 41 layers there, about 0 MB of new layers to fetch
  ok check that 127.0.0.1 has room for the new layers (0.6s)
--> lock /home/deploy/apps/mysite/.deploy.lock
  ok lock /home/deploy/apps/mysite/.deploy.lock (0.2s)
--> ship abc1234 to /home/deploy/apps/mysite/releases/r2
  ok ship abc1234 to /home/deploy/apps/mysite/releases/r2 (1.1s)
--> registry on this machine's loopback (registry:2, volume mysite-registry)
    127.0.0.1:49153
  ok registry on this machine's loopback (registry:2, volume mysite-registry) (0.3s)
--> push mysite-django:r2 and mysite-nginx:r2 to 127.0.0.1:49153
  ok push mysite-django:r2 and mysite-nginx:r2 to 127.0.0.1:49153 (2.5s)
--> ship the images to 127.0.0.1 (only the layers it lacks, through an SSH tunnel)
    127.0.0.1 has mysite-django:r2 and mysite-nginx:r2 with the image IDs built here
  ok ship the images to 127.0.0.1 (only the layers it lacks, through an SSH tunnel) (3.1s)
--> back up the database
  ok back up the database (1.0s)
--> ensure nginx is up
--> start nginx
  ok start nginx (2.0s)
  ok ensure nginx is up (2.2s)
deployed r2 to 127.0.0.1 in 17.0s
"""

SERVER_OUTPUT = """\
--> ship abc1234 to /home/deploy/apps/mysite/releases/r3
  ok ship abc1234 to /home/deploy/apps/mysite/releases/r3 (1.0s)
--> build images mysite-django:r3 and mysite-nginx:r3 (the old containers keep serving)
  ok build images mysite-django:r3 and mysite-nginx:r3 (the old containers keep serving) (55.4s)
"""


def test_local_phase_sums_the_steps_that_move_the_images_not_the_release_files():
    phase = shipping.fab_phase(LOCAL, LOCAL_OUTPUT, seconds=18.04, received=3_400_000)
    assert (phase["registry_s"], phase["push_s"], phase["pull_s"]) == (0.3, 2.5, 3.1)
    assert phase["ship_s"] == 5.9  # not the 1.1 s of "ship abc1234 to .../releases/r2"
    assert phase["build_s"] == 4.2
    assert (phase["deploy_s"], phase["received_bytes"]) == (18.0, 3_400_000)
    titles = [s["title"] for s in phase["steps"]]
    assert "start nginx" not in titles and titles[-1] == "ensure nginx is up"  # top-level steps only


def test_server_phase_is_the_build_on_the_server():
    phase = shipping.fab_phase(SERVER, SERVER_OUTPUT, seconds=70.0, received=40_000_000)
    assert phase["build_s"] == 55.4
    assert "ship_s" not in phase
    with pytest.raises(ValueError):
        shipping.fab_phase(SAVE_LOAD, SERVER_OUTPUT, seconds=1.0, received=1)


def test_a_step_that_never_finished_has_no_seconds():
    failed = "--> push a to 127.0.0.1:5000\n  x push a to 127.0.0.1:5000 failed after 9.0s\n"
    phase = shipping.fab_phase(LOCAL, failed + "--> ship the images to h (only)\n", seconds=10.0, received=0)
    assert phase["push_s"] == 9.0  # a failed step still took its time
    assert phase["pull_s"] is None and phase["registry_s"] is None and phase["ship_s"] == 9.0
    assert shipping.fab_phase(LOCAL, "", seconds=1.0, received=0)["ship_s"] is None


METHODS = {
    LOCAL: {"first": {"received_bytes": 240_000_000, "ship_s": 40.0, "deploy_s": 70.0},
            "code_only": {"received_bytes": 3_000_000, "ship_s": 5.0, "deploy_s": 15.0}},
    SAVE_LOAD: {"first": {"received_bytes": 200_000_000, "seconds": 50.0},
                "code_only": {"received_bytes": 200_000_000, "seconds": 45.0}},
    SERVER: {"first": {"received_bytes": 60_000_000, "build_s": 80.0, "deploy_s": 95.0},
             "code_only": {"received_bytes": 1_000_000, "build_s": 2.0, "deploy_s": 12.0}},
}  # fmt: skip


def test_ratios_against_the_targets():
    rows = {r["name"]: r for r in shipping.ratios(METHODS)}
    assert rows["code-only bytes: build local / save|load"] == {
        "name": "code-only bytes: build local / save|load", "ratio": 0.015, "at_most": 0.1, "met": True}
    seconds = rows["code-only seconds: build local ship steps / save|load pipeline"]
    assert (seconds["ratio"], seconds["at_most"], seconds["met"]) == (0.111, 0.333, True)
    first = rows["first seconds: build local ship steps / save|load pipeline"]
    assert (first["ratio"], first["at_most"], first["met"]) == (0.8, 1.0, True)
    context = rows["code-only seconds: build local whole fab deploy / save|load pipeline"]
    assert (context["ratio"], context["at_most"], context["met"]) == (0.333, None, None)
    assert len(rows) == len(shipping.RATIOS)


def test_a_missed_target_and_a_missing_number():
    slow = {**METHODS, LOCAL: {**METHODS[LOCAL], "first": {**METHODS[LOCAL]["first"], "ship_s": 60.0}}}
    first = next(r for r in shipping.ratios(slow) if r["name"].startswith("first seconds: build local ship"))
    assert (first["ratio"], first["met"]) == (1.2, False)
    partial = shipping.ratios({LOCAL: METHODS[LOCAL], SAVE_LOAD: {"first": {"seconds": 0.0}}})
    assert all(r["ratio"] is None and r["met"] is None for r in partial)  # nothing to divide by: no verdict


def test_save_load_is_one_pipeline_over_the_given_ssh():
    command = shipping.save_load_command(["mysite-django:r1", "mysite-nginx:r1"],
                                         ["ssh", "-F", "/a b/ssh_config", "-p", "2200", "deploy@127.0.0.1"])
    assert command == ("docker save mysite-django:r1 mysite-nginx:r1 | gzip | "
                       "ssh -F '/a b/ssh_config' -p 2200 deploy@127.0.0.1 docker load")
    assert shlex.split(command.split("|")[-1]) == ["ssh", "-F", "/a b/ssh_config", "-p", "2200", "deploy@127.0.0.1",
                                                   "docker", "load"]  # fmt: skip


def test_clearing_keeps_the_base_images():
    assert "mysite-django|mysite-nginx" in shipping.CLEAR_APP_IMAGES
    assert "prune -f " in shipping.CLEAR_APP_IMAGES and "prune -a" not in shipping.CLEAR_APP_IMAGES
    assert "python" not in shipping.CLEAR_APP_IMAGES and "nginx:1" not in shipping.CLEAR_APP_IMAGES


def test_shipping_table_one_row_per_method_and_shipment():
    lines = report.shipping_table(METHODS).splitlines()
    assert lines[0].split()[:5] == ["method", "shipment", "MB", "received", "step"]
    rows = [line.split() for line in lines[2:]]
    assert rows[0][:7] == ["build", "local", "first", "240.0", "40.0", "-", "70.0"]
    assert rows[1][:7] == ["build", "local", "code-only", "3.00", "5.00", "-", "15.0"]
    assert rows[2][:5] == ["save|load", "first", "200.0", "50.0", "-"]  # the pipeline's seconds
    assert rows[5][:7] == ["build", "server", "code-only", "1.00", "2.00", "-", "12.0"]  # the build on the server
    with_build = {LOCAL: {"first": {**METHODS[LOCAL]["first"], "build_s": 3.5}}}
    assert report.shipping_table(with_build).splitlines()[2].split()[5] == "3.50"  # build here


def test_render_shows_the_shipping_section_and_verdicts():
    payload = {"date": "2026-12-02T01:00:00", "commit": "abc1234", "machine": {"cpus": 2, "load_avg": [1.0]},
               "shipping": {"methods": METHODS, "ratios": shipping.ratios(METHODS),
                            "base_images_copy": {"seconds": 12.0, "eth0_received_bytes": 900},
                            "notes": ["bytes: eth0"]}}  # fmt: skip
    out = report.render(payload)
    assert "## shipping the images to one fresh server" in out and "## shipping ratios (same run)" in out
    verdict = next(line for line in out.splitlines() if line.startswith("code-only bytes"))
    assert verdict.split()[-3:] == ["0.015", "0.100", "yes"]
    assert "not over eth0): 12.0s" in out and "shipping note: bytes: eth0" in out
    missed = shipping.ratios({**METHODS, SAVE_LOAD: {**METHODS[SAVE_LOAD], "first": {"seconds": 10.0}}})
    assert any(line.split()[-1] == "NO" for line in report.ratios_table(missed).splitlines())


def test_a_laptops_first_push_replaces_the_warm_one_in_the_ship_steps():
    first = shipping.with_cold_push({"ship_s": 26.2, "push_s": 0.2}, {"seconds": 14.0, "received_bytes": 510_000_000})
    assert (first["cold_push_s"], first["cold_push_received_bytes"], first["ship_cold_s"]) == (14.0, 510_000_000, 40.0)
    assert "ship_cold_s" not in shipping.with_cold_push({"ship_s": None, "push_s": None}, {"seconds": 3.0})
    row = next(r for r in shipping.ratios({LOCAL: {"first": first}, SAVE_LOAD: METHODS[SAVE_LOAD]})
               if "empty registry" in r["name"])
    assert (row["ratio"], row["at_most"], row["met"]) == (0.8, None, None)
    payload = {"date": "d", "machine": {}, "shipping": {"methods": {LOCAL: {"first": {**first, "ship_s": 26.2}}}}}
    assert "push 14.0s (510.0 MB written) instead of 0.2s, so ship steps 40.0s" in report.render(payload)
