"""testbed/stack.py: the compose command lines the e2e stacks and the benchmark run, without Docker."""

import subprocess
from types import SimpleNamespace

import pytest

from deploy.commands import compose
from testbed import stack
from testbed.stack import Stack, compose_argv


def test_compose_argv_is_project_then_file_then_one_word_per_argument():
    assert compose_argv("v2", "production.yml", "exec", "-T", "mysite", "python", "-c", "print('a b')",
                        project="mysite-bench") == [
        "docker", "compose", "-p", "mysite-bench", "-f", "production.yml",
        "exec", "-T", "mysite", "python", "-c", "print('a b')",
    ]  # fmt: skip
    assert compose_argv("v1", "my stack.yml", "ps") == ["docker-compose", "-f", "my stack.yml", "ps"]
    assert compose_argv("v2", ("production.yml", "/tmp/bench limits.yml"), "up", project="p") == [
        "docker", "compose", "-p", "p", "-f", "production.yml", "-f", "/tmp/bench limits.yml", "up",
    ]  # fmt: skip


@pytest.mark.parametrize(("printed", "kind"), [("v2\n", "v2"), ("v1\n", "v1"), ("", "")])
def test_compose_kind_runs_the_shared_detection(monkeypatch, printed, kind):
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, printed, "")

    monkeypatch.setattr(subprocess, "run", run)
    assert stack.compose_kind() == kind
    assert calls == [["sh", "-c", compose.detect()]]


@pytest.fixture
def recorded(monkeypatch):
    """subprocess.run replaced: every call is recorded and answered with ``recorded.answer``."""

    recorder = SimpleNamespace(calls=[], answer=subprocess.CompletedProcess([], 0, "c1\nc2\n", ""))

    def run(argv, **kwargs):
        recorder.calls.append((argv, kwargs))
        return recorder.answer

    monkeypatch.setattr(subprocess, "run", run)
    return recorder


def test_a_stack_runs_compose_in_its_copy_with_the_classic_builder_and_its_variables(tmp_path, recorded):
    s = Stack("v1", tmp_path, "production.yml", "mysite-e2e-x", env={"MYSITE_TAG": "e2e"})
    assert s.container("nginx") == "c1"
    s.down()
    [(ps, kwargs), (down, _)] = recorded.calls
    assert ps == ["docker-compose", "-p", "mysite-e2e-x", "-f", "production.yml", "ps", "-q", "nginx"]
    assert down[-3:] == ["down", "--volumes", "--remove-orphans"]
    assert kwargs["cwd"] == tmp_path
    assert kwargs["env"]["DOCKER_BUILDKIT"] == "0" and kwargs["env"]["COMPOSE_DOCKER_CLI_BUILD"] == "0"
    assert kwargs["env"]["MYSITE_TAG"] == "e2e"


def test_a_failed_command_raises_the_stacks_failure_with_the_output_tail(tmp_path, recorded):
    class Broken(RuntimeError):
        pass

    class BenchLike(Stack):
        failure = Broken

    recorded.answer = subprocess.CompletedProcess([], 1, "", "no such service: nginx\n")
    with pytest.raises(Broken, match="ps -q nginx failed:\n\nno such service: nginx"):
        BenchLike("v2", tmp_path, "production.yml", "p").compose("ps", "-q", "nginx")
    assert BenchLike("v2", tmp_path, "production.yml", "p").compose("ps", check=False).returncode == 1
    recorded.answer = subprocess.CompletedProcess([], 0, "", "")
    with pytest.raises(AssertionError, match="no container for nginx in p"):
        Stack("v2", tmp_path, "production.yml", "p").container("nginx")
