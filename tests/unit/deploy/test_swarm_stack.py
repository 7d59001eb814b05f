"""What every swarm release shares: the one wait loop of the cluster's steps (the rollout, Swarm's rollback,
PostgreSQL, one-off tasks, a drain), and `carry_https`, which keeps the cluster's HTTPS through a later
`swarm.deploy`."""

import pytest

from deploy import envfile, swarm_stack
from deploy.commands import swarm, swarm_https
from tests.harness.mockremote import names
from tests.harness.swarm_node import Node

P = names()
ENV = envfile.EnvFile(".envs/.production", {"DJANGO_ALLOWED_HOSTS": "blog.example"})


@pytest.fixture
def clock(monkeypatch):
    """A clock that moves only when the loop sleeps; returns the sleeps."""
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(swarm_stack.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(swarm_stack.time, "sleep", sleep)
    return slept


def test_it_looks_until_done_and_returns_what_it_saw(clock):
    answers = iter(["updating", "updating", "completed"])
    assert swarm_stack.poll_until(600, lambda: next(answers), lambda state: state == "completed") == (
        "completed", True)
    assert clock == [2, 2]


def test_out_of_time_it_returns_the_last_look_not_done(clock):
    looks = []
    found = swarm_stack.poll_until(5, lambda: looks.append(1) or "paused", lambda state: False, every=1)
    assert found == ("paused", False) and len(looks) == 5 and clock == [1] * 5


def test_a_dry_run_looks_at_nothing(clock):
    assert swarm_stack.poll_until(600, lambda: pytest.fail("looked"), bool, dry_run=True) == (None, False)
    assert clock == []


class Manager(Node):
    """A node whose probes fail (exit non-zero) unless listed in ``answers``."""

    def probe(self, command):
        return type("R", (), {"stdout": self.answers.get(command, ""), "ok": command in self.answers})()


def test_before_any_certificate_the_stack_gets_a_placeholder_secret_made_once_and_django_stays_on_http():
    manager = Manager("a", {})
    secrets, env = swarm_stack.carry_https(manager, P, ENV)
    assert secrets == {"certs": "mysite_certs_none"} and env is ENV
    assert manager.sent == [swarm.create_secret("mysite_certs_none", "mysite")]
    existing = Manager("a", {swarm.secret_exists("mysite_certs_none"): ""})
    assert swarm_stack.carry_https(existing, P, ENV)[0] == {"certs": "mysite_certs_none"} and existing.sent == []


def test_once_the_cluster_has_a_certificate_a_deploy_keeps_its_secret_and_tells_django_https():
    manager = Manager("a", {swarm_https.certs_secret(P): "mysite_certs_0123456789ab\n"})
    secrets, env = swarm_stack.carry_https(manager, P, ENV)
    assert secrets == {"certs": "mysite_certs_0123456789ab"}
    assert env.values == {"DJANGO_ALLOWED_HOSTS": "blog.example", "DJANGO_HTTPS": "true"}
    assert ENV.values == {"DJANGO_ALLOWED_HOSTS": "blog.example"}  # the env file read from disk is left alone
    assert manager.sent == []


JOB = "mysite_migrate_20261124100509_bbbbbbb"
SECRETS = {name: f"mysite_{name}_aaaaaaaaaaaa" for name in swarm_stack.APP_SECRETS}
REPORT = ("System check identified some issues:\n\nWARNINGS:\n?: (security.W004) You have not set a value for the "
          "SECURE_HSTS_SECONDS setting. If...\n\nSystem check identified 1 issue (0 silenced).\n")


def migrate(state, logs, check=True):
    manager = Node("deploy@a:22", {swarm.job_state(JOB): state, swarm.job_logs(JOB): logs})
    swarm_stack.migrate_job(manager, P, "20261124100509-bbbbbbb", SECRETS, ENV, title="migrate", check=check)
    return manager


def test_a_deploys_migrate_task_runs_check_deploy_first_and_says_its_warnings(capsys):
    manager = migrate("Complete 1 second ago\n", f"{REPORT}check-deploy:done\nOperations to perform:\n")
    assert manager.sent[1] == swarm.job(
        P, JOB, "mysite-django:20261124100509-bbbbbbb", "sh -c 'python manage.py check --deploy --no-color 2>&1 && "
        "echo check-deploy:done && exec python manage.py migrate --noinput'", swarm_stack.job_secrets(SECRETS),
        swarm_stack.job_env(ENV))
    assert "    check --deploy: 1 warning (security.W004)\n" in capsys.readouterr().out


@pytest.mark.parametrize("logs, why", [
    ("SystemCheckError: System check identified some issues:\n\nERRORS:\n?: (admin.E403) A 'DjangoTemplates' "
     "instance must be configured.\n\nSystem check identified 1 issue (0 silenced).\n",
     "check --deploy found 1 error (admin.E403) in the new image with the production env"),
    (f"{REPORT}check-deploy:done\nRuntimeError: this migration fails\n",
     f"the one-off task {JOB} ended Failed 1 second ago"),
])
def test_a_failed_task_says_whether_the_checks_or_the_migration_failed(logs, why):
    with pytest.raises(swarm_stack.DeployError) as refused:
        migrate("Failed 1 second ago\n", logs)
    assert str(refused.value) == f"{why} (output above); nothing was rolled out: the previous release keeps serving"


def test_a_restores_migrate_task_runs_migrate_alone():
    manager = migrate("Complete 1 second ago\n", "", check=False)
    assert manager.sent[1].endswith(" mysite-django:20261124100509-bbbbbbb python manage.py migrate --noinput "
                                    ">/dev/null")
