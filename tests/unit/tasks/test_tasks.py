"""The `inv` tasks with invoke's MockContext: the exact commands they run."""

import re
import shlex
import sys

import pytest
from invoke import Config, MockContext, Result

import tasks
from deploy.commands import compose
from tasks import benchmarks, local, production
from tasks._run import TaskError
from tests.harness.machine import Machine, refused

DETECT = compose.detect()


def commands(c):
    return [call.args[0] for call in c.run.call_args_list if call.args[0] != DETECT]


def kwargs(c, command):
    return next(call.kwargs for call in c.run.call_args_list if call.args[0] == command)


def anything():
    """A MockContext that answers every command with success, on a machine with compose v2."""
    return MockContext(config=Config(), run={DETECT: Result("v2\n"), re.compile(".*"): Result(exited=0)}, repeat=True)


# --- bench -------------------------------------------------------------------------------------------


def test_bench_runs_bench_as_a_program_from_the_repository_root():
    """bench/ is not part of the installed toolkit: `python -m` from the root finds it, whatever sys.path inv has."""
    c = anything()
    benchmarks.bench(c, quick=True, swarm=False)
    assert commands(c) == [f"{shlex.quote(sys.executable)} -m bench.run --quick --no-swarm"]


def test_a_failed_benchmark_is_one_line():
    c = MockContext(config=Config(), run=Result(exited=3))
    with pytest.raises(TaskError, match=r"the benchmark failed \(exit 3\)"):
        benchmarks.bench(c, quick=True)


# --- local ------------------------------------------------------------------------------------------


def test_local_build_uses_the_classic_builder():
    c = anything()
    local.build(c)
    assert commands(c) == ["docker compose -f local.yml build"]
    assert kwargs(c, "docker compose -f local.yml build")["env"] == {
        "DOCKER_BUILDKIT": "0",
        "COMPOSE_DOCKER_CLI_BUILD": "0",
    }


def test_local_build_no_cache_on_compose_v1():
    c = MockContext(config=Config(), run=[Result("v1\n"), Result(exited=0)])
    local.build(c, no_cache=True)
    assert [call.args[0] for call in c.run.call_args_list] == [
        DETECT,
        "docker-compose -f local.yml build --no-cache",
    ]


def test_local_up_with_an_engine():
    c = anything()
    local.up(c)
    assert commands(c) == ["docker info --format '{{.ServerVersion}}'", "docker compose -f local.yml up --build"]


def test_local_up_detached():
    c = anything()
    local.up(c, detach=True)
    assert commands(c)[-1] == "docker compose -f local.yml up --build --detach"


def test_local_up_without_an_engine_runs_natively_and_says_so(capsys):
    c = MockContext(config=Config(), run={"docker info --format '{{.ServerVersion}}'": Result(exited=1),
                                          re.compile(".*"): True})
    local.up(c, posts=3)
    py = sys.executable
    assert [call.args[0] for call in c.run.call_args_list] == [
        "docker info --format '{{.ServerVersion}}'",
        f"{py} manage.py migrate --noinput",
        f"{py} manage.py seed_demo --posts 3",
        f"{py} manage.py runserver 127.0.0.1:8000",
    ]
    assert kwargs(c, f"{py} manage.py runserver 127.0.0.1:8000")["env"] == {
        "DJANGO_SETTINGS_MODULE": "mysite.settings.local"
    }
    assert "no Docker engine is reachable: running the same dev server natively" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda c: local.down(c), "docker compose -f local.yml down"),
        (lambda c: local.down(c, volumes=True), "docker compose -f local.yml down --volumes"),
        (lambda c: local.logs(c), "docker compose -f local.yml logs --tail=200"),
        (lambda c: local.logs(c, follow=True, tail=5), "docker compose -f local.yml logs --tail=5 --follow"),
        (lambda c: local.ps(c), "docker compose -f local.yml ps"),
        (
            lambda c: local.manage(c, "showmigrations blog"),
            "docker compose -f local.yml run --rm mysite python manage.py showmigrations blog",
        ),
        (lambda c: local.shell(c), "docker compose -f local.yml run --rm mysite python manage.py shell"),
        (
            lambda c: local.seed(c, posts=7),
            "docker compose -f local.yml run --rm mysite python manage.py seed_demo --posts 7",
        ),
    ],
)
def test_local_tasks(call, expected):
    c = anything()
    call(c)
    assert commands(c) == [expected]


def test_compose_is_detected_once_per_run():
    c = anything()
    local.ps(c)
    local.ps(c)
    assert [call.args[0] for call in c.run.call_args_list].count(DETECT) == 1


# --- production -------------------------------------------------------------------------------------


@pytest.fixture
def prod_env(tmp_path, monkeypatch):
    """A repo root with an .envs/.production, so the production tasks find their env file."""
    (tmp_path / ".envs").mkdir()
    (tmp_path / ".envs/.production").write_text("DJANGO_SECRET_KEY=x\n")
    monkeypatch.setattr(production, "ROOT", tmp_path)
    return tmp_path


def test_production_build_tags_and_uses_the_example_env_file():
    c = anything()
    production.build(c, tag="r42")
    command = "docker compose -p mysite -f production.yml build"
    assert commands(c) == [command]
    assert kwargs(c, command)["env"] == {
        "DOCKER_BUILDKIT": "0",
        "COMPOSE_DOCKER_CLI_BUILD": "0",
        "MYSITE_TAG": "r42",
        "MYSITE_ENV_FILE": ".envs/.production.example",
        "MYSITE_NGINX_ENV_FILE": ".envs/.production.example",  # a clone without .envs/.production builds too
        "MYSITE_POSTGRES_ENV_FILE": ".envs/.production.example",
        "MYSITE_LITESTREAM_ENV_FILE": ".envs/.production.example",
    }


def test_production_up_on_a_port(prod_env):
    c = anything()
    production.up(c, port=9000)
    command = "docker compose -p mysite -f production.yml up --detach --build mysite nginx"  # never postgres
    assert commands(c) == [command]
    assert kwargs(c, command)["env"] == {
        "MYSITE_HTTP_ADDR": "127.0.0.1",
        "MYSITE_HTTP_PORT": "9000",
        "MYSITE_HTTPS_PORT": "8443",
        "MYSITE_ENV_FILE": ".envs/.production",
        "MYSITE_NGINX_ENV_FILE": ".envs/.production",
        "MYSITE_POSTGRES_ENV_FILE": ".envs/.production",
        "MYSITE_LITESTREAM_ENV_FILE": ".envs/.production",
        "DOCKER_BUILDKIT": "0",
        "COMPOSE_DOCKER_CLI_BUILD": "0",
    }


def test_production_up_without_env_file_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(production, "ROOT", tmp_path)
    c = anything()
    with pytest.raises(TaskError, match=r"inv production.env --domain"):
        production.up(c)
    assert commands(c) == []


PROFILED = "docker compose -p mysite -f production.yml --profile postgres --profile https --profile litestream"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        # every profile: compose v2's `down` and `logs` leave out the services of a profile that is off
        (lambda c: production.down(c), f"{PROFILED} down"),
        (lambda c: production.down(c, volumes=True), f"{PROFILED} down --volumes"),
        (lambda c: production.logs(c, follow=True), f"{PROFILED} logs --tail=200 --follow"),
        (
            lambda c: production.check(c),
            "docker compose -p mysite -f production.yml run --rm --no-deps mysite python manage.py check --deploy",
        ),
    ],
)
def test_production_tasks(prod_env, call, expected):
    c = anything()
    call(c)
    assert commands(c) == [expected]


def test_production_env_writes_a_fresh_private_file(tmp_path, monkeypatch):
    (tmp_path / ".envs").mkdir()
    (tmp_path / ".envs/.production.example").write_text(
        "DJANGO_SECRET_KEY=change-me-to-a-long-random-string-of-at-least-50-characters-0000\n"
        "DJANGO_ALLOWED_HOSTS=example.com\n"
    )
    monkeypatch.setattr(production, "ROOT", tmp_path)
    c = anything()
    production.env(c, domain="blog.example.org")
    text = (tmp_path / ".envs/.production").read_text()
    assert "DJANGO_ALLOWED_HOSTS=blog.example.org\n" in text
    assert "change-me" not in text
    assert (tmp_path / ".envs/.production").stat().st_mode & 0o777 == 0o600
    with pytest.raises(TaskError, match="already exists"):
        production.env(c, domain="other.example.org")
    assert "blog.example.org" in (tmp_path / ".envs/.production").read_text()
    assert commands(c) == []


def test_production_env_refuses_a_bad_domain_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(production, "ROOT", tmp_path)
    with pytest.raises(TaskError, match=r"^--domain 'bad domain' is not a host name \(e\.g\. example\.com"):
        production.env(anything(), domain="bad domain")
    assert not (tmp_path / ".envs").exists()


# --- top level --------------------------------------------------------------------------------------


def test_lint_runs_ruff():
    c = anything()
    tasks.lint(c, fix=True)
    assert commands(c) == [f"{sys.executable} -m ruff check --fix ."]


def test_the_menu_has_every_task_with_a_docstring_and_argument_help():
    names = set(tasks.ns.task_names)
    assert {
        "test",
        "lint",
        "local.build",
        "local.up",
        "local.down",
        "local.logs",
        "local.ps",
        "local.manage",
        "local.shell",
        "local.seed",
        "production.build",
        "production.up",
        "production.down",
        "production.logs",
        "production.env",
        "production.check",
    } <= names
    for name in names:
        task = tasks.ns[name]
        assert task.__doc__ and len(task.__doc__.strip().splitlines()) == 1, name
        params = [p for p in task.body.__code__.co_varnames[1 : task.body.__code__.co_argcount]]
        assert set(params) <= set(task.help), f"{name}: no help for {set(params) - set(task.help)}"


# --- the `inv` command line: a user's mistake is one line, exit 1, and nothing run ------------------


@pytest.fixture
def machine(monkeypatch, tmp_path) -> Machine:
    return Machine(monkeypatch, tmp_path)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["production.up", "--port", "abc"], ["--port 'abc' is not a whole number", "from 1 to 65535"]),
        (["production.up", "--port", "0"], ["--port 0 is too small", "at least 1"]),
        (["production.up", "--https-port", "70000"], ["--https-port 70000 is too large", "at most 65535"]),
        (["local.logs", "--tail", "abc"], ["--tail 'abc' is not a whole number"]),
        (["production.logs", "--tail=-1"], ["--tail '-1' is not a whole number"]),
        (["local.up", "--posts", str(10**30)], ["--posts", "is too large"]),
        (["local.seed", "--posts", "many"], ["--posts 'many' is not a whole number"]),
    ],
)
def test_a_bad_number_is_one_line(machine, argv, words):
    refused(machine.inv(*argv), *words)


def test_the_menu_shows_whole_number_options_as_such(machine):
    assert "--port=INT" in machine.inv("--help", "production.up").out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["local.manage", "shell -c 'x"], ["the manage.py command", "a quote that is never closed"]),
        (["local.manage", ""], ["the manage.py command is empty"]),
        (["test", "--args", "-k 'x"], ["--args", "a quote that is never closed"]),
    ],
)
def test_words_that_cannot_be_split_are_one_line(machine, argv, words):
    refused(machine.inv(*argv), *words)


def test_help_texts_survive_a_second_parse():
    arguments = [tasks.ns["production.up"].get_arguments() for _ in range(2)][-1]
    assert {a.name: a.help for a in arguments}["port"] == "host port for HTTP (default 8080)"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["production.build", "--tag", "v1 beta"], ["--tag 'v1 beta' is not a Docker image tag", "e.g. --tag latest"]),
        (["production.check", "--tag", "-x"], ["--tag '-x' is not a Docker image tag"]),
        (["production.build", "--tag", "t" * 129], ["is not a Docker image tag"]),
        (["production.up", "--addr", "localhost"], ["--addr 'localhost' is not an IPv4 address", "127.0.0.1"]),
        (["production.up", "--addr", "::1"], ["--addr '::1' is not an IPv4 address"]),
        (["production.up", "--port", "8443"], ["--port and --https-port are both 8443", "give two different ports"]),
    ],
)
def test_a_bad_tag_address_or_port_pair_is_one_line(machine, argv, words):
    refused(machine.inv(*argv), *words)
