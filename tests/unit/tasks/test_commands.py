"""The pure builders behind `inv` (tasks.commands, a new env file) and its compose detection: exact strings."""

import os
import stat
from pathlib import Path

import pytest
from invoke import MockContext, Result

from deploy import envfile
from deploy.commands import compose
from deploy.errors import DeployError
from tasks import _run
from tasks import commands as cmd

ROOT = Path(__file__).resolve().parents[3]


def detected(kind: str) -> MockContext:
    """A machine whose compose detection prints ``kind`` ('v2', 'v1' or nothing)."""
    return MockContext(run={compose.detect(): Result(f"{kind}\n")})


def test_v2_when_the_plugin_answers():
    c = detected("v2")
    assert compose.program(_run.compose_kind(c)) == "docker compose"


def test_v1_when_there_is_no_plugin():
    c = detected("v1")
    assert compose.program(_run.compose_kind(c)) == "docker-compose"


def test_v1_when_neither_answers():
    assert compose.program(_run.compose_kind(detected(""))) == "docker-compose"


def test_engine_available_asks_docker_info():
    asked = "docker info --format '{{.ServerVersion}}'"
    assert _run.engine_available(MockContext(run={asked: Result(exited=0)}))
    assert not _run.engine_available(MockContext(run={asked: Result(exited=1)}))


def test_compose_with_project_and_args():
    assert _run.compose(detected("v1"), "production.yml", "up", "--detach", project="mysite") == (
        "docker-compose -p mysite -f production.yml up --detach"
    )


def test_compose_quotes_paths():
    assert _run.compose(detected("v2"), "my stack.yml", "ps") == "docker compose -f 'my stack.yml' ps"


def test_manage_quotes_each_argument():
    assert cmd.manage("seed_demo", "--posts", "3") == "python manage.py seed_demo --posts 3"
    assert cmd.manage("shell", "-c", "print(1)") == "python manage.py shell -c 'print(1)'"


def test_production_env_variables():
    env = compose.environment(env_file=cmd.PRODUCTION_ENV, http_addr="127.0.0.1", http_port=8080, https_port=8443)
    assert env == {
        "MYSITE_HTTP_ADDR": "127.0.0.1",
        "MYSITE_HTTP_PORT": "8080",
        "MYSITE_HTTPS_PORT": "8443",
        "MYSITE_ENV_FILE": ".envs/.production",
        "MYSITE_NGINX_ENV_FILE": ".envs/.production",
        "MYSITE_POSTGRES_ENV_FILE": ".envs/.production",
        "MYSITE_LITESTREAM_ENV_FILE": ".envs/.production",
    }


def test_native_dev_server_is_the_start_script_plus_seed():
    assert cmd.native_dev_server("/venv/bin/python", posts=5) == [
        "/venv/bin/python manage.py migrate --noinput",
        "/venv/bin/python manage.py seed_demo --posts 5",
        "/venv/bin/python manage.py runserver 127.0.0.1:8000",
    ]


@pytest.mark.parametrize(
    ("fast", "extra", "expected"),
    [
        (False, [], "py -m pytest"),
        (True, [], "py -m pytest -m 'not e2e'"),
        (False, ["-m", "not e2e", "-x"], "py -m pytest -m 'not e2e' -x"),
    ],
)
def test_pytest_command(fast, extra, expected):
    assert cmd.pytest_command("py", fast=fast, extra=extra) == expected


@pytest.mark.parametrize(
    ("quick", "sections", "expected"),
    [
        (False, {}, "py -m bench.run"),
        (True, {"serving": True, "swarm": False}, "py -m bench.run --quick --no-swarm"),
        (False, {"deploy": False, "ship": False, "views": True}, "py -m bench.run --no-deploy --no-ship"),
    ],
)
def test_bench_command_runs_the_repository_s_bench_package(quick, sections, expected):
    assert cmd.bench_command("py", quick=quick, **sections) == expected


def test_remainder_is_what_follows_the_double_dash():
    assert cmd.remainder(["inv", "test", "--", "-k", "stack"]) == ["-k", "stack"]
    assert cmd.remainder(["inv", "test"]) == []


@pytest.mark.parametrize("domain", ["example.com", "www.example.com,example.com", ".example.com", "localhost"])
def test_check_domain_accepts_host_names(domain):
    assert envfile.check_domain(domain) == domain


@pytest.mark.parametrize("domain", ["", "bad domain", "-x.com", "a..b", "example.com/x", "ex$ample.com", "*"])
def test_check_domain_refuses_the_rest(domain):
    with pytest.raises(DeployError, match="is not a host name"):
        envfile.check_domain(domain)


def test_new_secret_key_is_strong_and_env_file_safe():
    from deploy.djangoapp.keycheck import weak_secret_key_reason

    keys = {envfile.new_secret_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert weak_secret_key_reason(key) is None
        assert not set(key) & set("$#'\" \\`")


def test_render_replaces_key_and_hosts_and_keeps_the_comments():
    example = "# note\nDJANGO_SECRET_KEY=change-me\nDJANGO_ALLOWED_HOSTS=example.com\n# DATABASE_URL=x\n"
    assert envfile.render_production_env(example, "blog.test", "K" * 60) == (
        f"# note\nDJANGO_SECRET_KEY={'K' * 60}\nDJANGO_ALLOWED_HOSTS=blog.test\n# DATABASE_URL=x\n"
    )


def test_render_adds_missing_lines():
    assert envfile.render_production_env("# empty\n", "a.test", "k") == (
        "# empty\nDJANGO_SECRET_KEY=k\nDJANGO_ALLOWED_HOSTS=a.test\n"
    )


def test_render_of_the_real_example_passes_the_key_rule():
    from deploy.djangoapp.keycheck import weak_secret_key_reason

    example = (ROOT / cmd.PRODUCTION_EXAMPLE).read_text()
    rendered = envfile.render_production_env(example, "example.org", envfile.new_secret_key())
    values = dict(line.split("=", 1) for line in rendered.splitlines() if line and not line.startswith("#"))
    assert values["DJANGO_ALLOWED_HOSTS"] == "example.org"
    assert weak_secret_key_reason(values["DJANGO_SECRET_KEY"]) is None
    # the example's own key is the placeholder the settings refuse
    assert "DJANGO_SECRET_KEY=change-me-to-a-long-random-string-of-at-least-50-characters-0000" in example


def test_write_secret_file_is_private_and_never_overwrites(tmp_path):
    target = tmp_path / ".envs" / ".production"
    envfile.write_secret_file(target, "A=1\n")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    with pytest.raises(DeployError, match="already exists: not overwriting"):
        envfile.write_secret_file(target, "A=2\n")
    assert target.read_text() == "A=1\n"
