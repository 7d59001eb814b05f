"""Faults during a deploy, on the package's deployed server, each under a load that never retries.

In every case: the deploy fails with one line and no traceback, the previous release keeps serving
with ZERO failed requests, nothing of the failed release stays behind, the lock is released (or the
output says to run `fab unlock`), and the comment is still there. One good deploy at the end proves
the next deploy succeeds.
"""

from __future__ import annotations

import time

import pytest

from tests.harness import flows
from tests.harness.flows import APP, commit, git
from tests.reliability.checks import (
    COMMENT,
    Running,
    all_app_containers,
    app_containers,
    current_release,
    one_error,
    warm_containers,
)

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
RESULTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def good(deployed, checkout):
    """The checkout's good commit; every case starts from it and goes back to it."""
    return git(checkout, "rev-parse", "HEAD")


@pytest.fixture
def change(checkout, good):
    """change({path: text or callable(old) -> new}, message): commit a change for one case; undone after."""

    def apply(edits: dict, message: str) -> None:
        for name, edit in edits.items():
            path = checkout / name
            path.parent.mkdir(parents=True, exist_ok=True)
            old = path.read_text() if path.exists() else ""
            path.write_text(edit(old) if callable(edit) else edit)
        git(checkout, "add", "-A")
        commit(checkout, message)

    yield apply
    git(checkout, "reset", "-q", "--hard", good)
    git(checkout, "clean", "-qfd", "-e", ".envs")


def releases(server) -> list[str]:
    return server.exec(f"ls -1 {APP}/releases").stdout.split()


def attempt(server, checkout, laptop, *, env=None, at: str | None = None, delay: float = 0.0, act=None):
    """`fab deploy` under load; at the first stdout line containing ``at`` (after ``delay``) call act(run)."""
    def deploy():
        run = Running(flows.fab(server, checkout, laptop, "deploy", wait=False, env=env))
        if at:
            run.wait_for(at)
            time.sleep(delay)
            act(run)
        return run.finish()

    return flows.under_load(server, deploy)


def assert_previous_release_kept(server, checkout, laptop, case: str, done, load, before: dict, *words: str):
    RESULTS[case] = f"{one_error(done, *words)} | load {load}"
    assert load.failed == 0 and load.total > 50, load
    assert current_release(server) == before["release"]
    assert app_containers(server) == before["containers"]  # the same container, never restarted
    assert all_app_containers(server) == before["containers"], "the failed release's container stayed behind"
    assert releases(server) == before["releases"], "the failed release's folder stayed behind"
    if server.exec(f"test -d {APP}/.deploy.lock", check=False).returncode == 0:
        assert "fab unlock" in done.stdout + done.stderr, "the lock was kept without saying so"
        unlocked = flows.fab(server, checkout, laptop, "unlock")
        assert unlocked.returncode == 0 and "removed the deploy lock" in unlocked.stdout, unlocked.stderr
        RESULTS[case] += " | lock reported, `fab unlock` removed it"
    assert COMMENT in flows.get(server, flows.first_post(server))[1] or COMMENT in _all_pages(server)


def _all_pages(server) -> str:
    return "".join(flows.get(server, f"/posts/{pk}/")[1] for pk in range(1, 5))


@pytest.fixture
def before(deployed):
    return {"release": current_release(deployed), "containers": app_containers(deployed),
            "releases": releases(deployed)}


DOCKERFILE = "compose/production/django/Dockerfile"
# a build that takes seconds on purpose, so that a fault timed "during the build" lands in it (a code-only
# build on a warm cache is done in about a second)
SLOW_BUILD = {DOCKERFILE: lambda old: old.replace("USER app\n", "RUN sleep 8\nUSER app\n")}


def test_build_failure(deployed, checkout, laptop, change, before):
    broken = "RUN echo 'e2e: a broken build step' && exit 3\nUSER app\n"
    change({DOCKERFILE: lambda old: old.replace("USER app\n", broken)}, "a Dockerfile step that fails")
    done, load = attempt(deployed, checkout, laptop)
    assert "e2e: a broken build step" in done.stdout  # the build's own output is shown
    assert_previous_release_kept(deployed, checkout, laptop, "build failure", done, load, before,
                                 "building the images failed", "previous release keeps serving")


def test_bad_requirement(deployed, checkout, laptop, change, before):
    # a requirement line pip cannot parse: it fails at once, before any download
    bad = "\nprint('e2e-not a requirement!! ==')\n"
    change({"compose/production/django/lock2req.py": lambda old: old + bad}, "a requirement that cannot be installed")
    done, load = attempt(deployed, checkout, laptop)
    assert_previous_release_kept(deployed, checkout, laptop, "bad requirement", done, load, before,
                                 "building the images failed")


MIGRATION = '''\
from django.db import migrations, models


def fail(apps, schema_editor):
    raise RuntimeError("e2e: this migration fails")


class Migration(migrations.Migration):
    dependencies = [("blog", "{latest}")]
    operations = [  # safe for the migration gate (nullable column, RunPython): it fails only when it runs
        migrations.AddField("comment", "e2e_flag", models.BooleanField(null=True)),
        migrations.RunPython(fail),
    ]
'''


def test_migration_failure(deployed, checkout, laptop, change, before):
    latest = sorted(p.stem for p in (checkout / "blog/migrations").glob("0*.py"))[-1]
    change({"blog/migrations/0099_e2e_fails.py": MIGRATION.replace("{latest}", latest)},
           "a migration that fails half-way")
    done, load = attempt(deployed, checkout, laptop)
    assert "e2e: this migration fails" in done.stdout
    assert_previous_release_kept(deployed, checkout, laptop, "migration failure", done, load, before,
                                 "migrations failed", "previous release keeps serving")
    columns = deployed.exec(
        f"docker exec {before['containers'][0]} python manage.py dbshell -- -cmd 'PRAGMA table_info(blog_comment)' "
        "</dev/null 2>/dev/null || true").stdout
    assert "e2e_flag" not in columns  # the half-done migration was rolled back with its transaction


def test_app_crashes_at_boot(deployed, checkout, laptop, change, before):
    # an exception at import, the common crash: gunicorn exits with its boot error and the container restarts (a
    # worker's SystemExit would only be respawned, forever, until the health deadline: test_health_check_times_out)
    change({"mysite/wsgi.py": lambda old: old + "\nraise RuntimeError('e2e: this release crashes at boot')\n"},
           "the app crashes at boot")
    done, load = attempt(deployed, checkout, laptop)
    assert "Worker failed to boot" in done.stdout  # gunicorn's reason, in the crashed container's log shown
    assert_previous_release_kept(deployed, checkout, laptop, "app crashes at boot", done, load, before,
                                 "failed its health check", "rolled back",
                                 "the app raised RuntimeError: e2e: this release crashes at boot")


DEPLOY_CHECK = '''

from django.core import checks  # noqa: E402


@checks.register(checks.Tags.security, deploy=True)  # run by `check --deploy` alone
def e2e_refuses_this_release(app_configs, **kwargs):
    return [checks.Error("e2e: this release fails its deploy check", id="e2e.E001")]
'''


def test_deploy_check_error(deployed, checkout, laptop, change, before):
    change({"blog/apps.py": lambda old: old + DEPLOY_CHECK}, "a deploy check that fails")
    done, load = attempt(deployed, checkout, laptop)
    assert "e2e.E001" in done.stdout and "e2e: this release fails its deploy check" in done.stdout  # its report
    assert_previous_release_kept(deployed, checkout, laptop, "deploy check error", done, load, before,
                                 "check --deploy found 1 error (e2e.E001)", "nothing was migrated or switched",
                                 "previous release keeps serving")


def test_health_check_times_out(deployed, checkout, laptop, change, before):
    change({"compose/production/django/gunicorn.conf.py": lambda old: "import time\n\ntime.sleep(300)\n" + old},
           "the app never answers")
    done, load = attempt(deployed, checkout, laptop, env={"MYSITE_HEALTH_TIMEOUT": "5"})
    assert "(/healthz and / as blog.example, 5s)" in done.stdout
    assert_previous_release_kept(deployed, checkout, laptop, "health check times out", done, load, before,
                                 "failed its health check", "rolled back")


def test_ssh_connection_dropped_during_the_build(deployed, checkout, laptop, change, before):
    change({"e2e-fault.txt": "ssh drop\n", **SLOW_BUILD}, "a build that takes seconds")

    def drop(run):
        deployed.exec("pkill -f 'sshd: deploy'", check=False)

    done, load = attempt(deployed, checkout, laptop, at="--> build images", delay=1.0, act=drop)
    assert "x build images" in done.stdout
    assert_previous_release_kept(deployed, checkout, laptop, "SSH dropped during build", done, load, before)


@pytest.mark.parametrize(("step", "at", "delay"), [
    ("ship", "--> ship", 0.0),
    ("build", "--> build images", 1.5),
    ("backup", "--> back up the database", 0.3),
    ("migrate", "--> check --deploy, then migrate the database", 1.0),
    ("switch", "--> health-check", 0.5),
])
def test_ctrl_c(step, at, delay, deployed, checkout, laptop, change, before):
    change({"e2e-fault.txt": f"ctrl-c during {step}\n", **(SLOW_BUILD if step == "build" else {})},
           "any change: the build has work to do")
    done, load = attempt(deployed, checkout, laptop, at=at, delay=delay, act=Running.interrupt)
    assert done.returncode == 130
    interrupted = [line for line in done.stdout.splitlines() if line.startswith("  x ")]
    RESULTS[f"ctrl-c at {step}: steps marked failed"] = "; ".join(interrupted)
    assert interrupted, done.stdout
    assert_previous_release_kept(deployed, checkout, laptop, f"Ctrl-C during {step}", done, load, before,
                                 "interrupted")


def test_the_next_deploy_succeeds_under_load(deployed, checkout, laptop, change, before):
    marker = '<p id="rel-marker">after faults</p>\n</body>'
    change({"blog/templates/base.html": lambda old: old.replace("</body>", marker)}, "a good release after the faults")
    done, load = attempt(deployed, checkout, laptop)
    assert done.returncode == 0, done.stdout + done.stderr
    assert load.failed == 0 and load.total > 50, load
    assert current_release(deployed) != before["release"]
    assert 'id="rel-marker">after faults' in flows.get(deployed, "/")[1]
    assert len(app_containers(deployed)) == 1
    assert warm_containers(deployed) == before["containers"]  # the replaced one, warm for a fast rollback
    RESULTS["next deploy"] = f"ok in {done.stdout.strip().splitlines()[-1]} | load {load}"
    print("\n".join(f"[reliability faults] {k}: {v}" for k, v in RESULTS.items()))
