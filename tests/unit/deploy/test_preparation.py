"""A release's shared preparation: the local preflight, the images built here, the migration gate, the audit line;
exact commands over Fabric's MockRemote."""

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import envfile, images, lock, migrations, preparation, releases
from deploy.commands import images as image_commands
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from tests.harness.mockremote import names, remote, session

KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
SHA = "bbbbbbb" + "0" * 33
P = names()
MB = 1024 * 1024


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with a good env file; git answers with SHA, whose commit holds production.yml only."""
    (tmp_path / ".envs").mkdir()
    (tmp_path / ".envs/.production").write_text(f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n")
    asked = []
    monkeypatch.setattr(releases, "repo_root", lambda cwd=None: tmp_path)
    monkeypatch.setattr(releases, "source", lambda dirty, cwd=None: asked.append(("source", dirty, cwd)) or (
        SHA, dirty))
    monkeypatch.setattr(releases, "has_file", lambda sha, path, cwd=None: path == "production.yml")
    monkeypatch.setattr(releases, "name", lambda sha, now=None: f"20261124100509-{sha[:7]}")
    return tmp_path, asked


def test_the_local_preflight_settles_the_env_file_the_commit_and_the_release(project):
    root, asked = project
    source = preparation.local_preflight(DeployConfig(), True, "production.yml")
    assert source == preparation.Source(str(root), source.env, SHA, True, "20261124100509-bbbbbbb")
    assert source.env.domain == "blog.example" and asked == [("source", True, str(root))]


def test_a_stack_file_missing_from_the_commit_names_the_setting_that_names_it(project):
    with pytest.raises(DeployError) as info:
        preparation.local_preflight(DeployConfig(), False, "stack.yml", setting="compose_file")
    assert str(info.value) == ("compose_file stack.yml is not in commit bbbbbbb: commit it, or set compose_file in "
                               "fabric.yaml to the project's stack file (production.yml)")
    with pytest.raises(DeployError) as info:
        preparation.local_preflight(DeployConfig(), False, "swarm.yml")
    assert str(info.value) == "swarm.yml is not in commit bbbbbbb: commit it"


def test_the_callers_env_file_rules_come_before_git_is_asked(project):
    _, asked = project

    def refuse(env: envfile.EnvFile) -> None:
        raise DeployError(f"{env.path}: no")

    with pytest.raises(DeployError, match=r"\.envs/\.production: no"):
        preparation.local_preflight(DeployConfig(), False, "production.yml", check_env=refuse)
    assert asked == []


def test_a_bad_env_file_stops_the_preflight_before_git(project):
    root, asked = project
    (root / ".envs/.production").write_text("DJANGO_SECRET_KEY=short\nDJANGO_ALLOWED_HOSTS=x\n")
    with pytest.raises(DeployError, match="DJANGO_SECRET_KEY is weak"):
        preparation.local_preflight(DeployConfig(), False, "production.yml")
    assert asked == []


def test_building_here_checks_each_host_architecture_then_its_tunnel(monkeypatch):
    tunnels = []
    monkeypatch.setattr(images, "local_architecture", lambda local: "x86_64")
    monkeypatch.setattr(images, "check_tunnel", lambda host: tunnels.append(host.name))
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(image_commands.architecture(), out=b"x86_64\n")))
        here = preparation.builder_here([remote()])
    assert not here.dry_run and tunnels == ["deploy@srv.example:2200"]
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(image_commands.architecture(), out=b"aarch64\n")))
        with pytest.raises(DeployError, match="runs aarch64 but this machine's Docker builds x86_64 images"):
            preparation.builder_here([remote()])
    assert tunnels == ["deploy@srv.example:2200"]  # no tunnel to a host that cannot run the images


def test_images_built_here_are_checked_against_the_room_on_each_host(monkeypatch, capsys):
    built = images.Built("R", {"mysite-django:R": "sha256:a"}, {"mysite-django:R": [("sha256:l1", 40 * MB),
                                                                                     ("sha256:l2", 60 * MB)]})
    calls = []
    monkeypatch.setattr(images, "build_here", lambda *args: calls.append(args) or built)
    source = preparation.Source("/repo", envfile.EnvFile("e", {}), SHA, False, "R")
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(image_commands.layers(), out=b"sha256:l1\n"),
                                     Command(image_commands.free_bytes(), out=f"{10 * MB}\n".encode())))
        with pytest.raises(DeployError, match="has 10 MB free for Docker images and the new layers need about 90 MB"):
            preparation.images_here("HERE", [remote()], P, source)
    assert calls == [("HERE", P, "/repo", SHA, "R")]
    assert "x check that deploy@srv.example:2200 has room for the new layers failed" in capsys.readouterr().out
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(image_commands.layers()),
                                     Command(image_commands.free_bytes(), out=f"{1000 * MB}\n".encode())))
        assert preparation.images_here("HERE", [remote()], P, source) is built


def test_the_gate_allowed_to_pass_reads_nothing(capsys):
    preparation.migration_gate(None, "s", allow=True, applied=lambda: pytest.fail("read the applied migrations"))
    assert capsys.readouterr().out == preparation.NOT_CHECKED + "\n"


def test_the_gate_judges_what_the_serving_release_applied(monkeypatch, capsys):
    judged = []
    monkeypatch.setattr(migrations, "judge", lambda *args: judged.append(args))
    source = preparation.Source("/repo", envfile.EnvFile("e", {}), SHA, False, "R")
    preparation.migration_gate(source, "mysite.settings.test", allow=False, applied=lambda: None)
    assert judged == []  # the serving release could not say: nothing to judge against
    preparation.migration_gate(source, "mysite.settings.test", allow=False, applied=lambda: "[X] blog.0001\n",
                               title="the gate")
    assert judged == [("[X] blog.0001\n", "/repo", SHA, "mysite.settings.test")]
    assert "--> the gate" in capsys.readouterr().out


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setattr(lock, "who", lambda: "ann@desk")
    monkeypatch.setattr(releases, "audit_line", lambda **k: " ".join(f"{key}={value}" for key, value in k.items()))
    monkeypatch.setattr(preparation.time, "monotonic", lambda: 107.5)


def test_the_audit_line_names_who_what_and_how_long(pinned):
    line = "who=ann@desk action=deploy sha=abc release=R result=ok seconds=7.5"
    with MockRemote() as mock:
        mock.expect_sessions(session(commands.append_audit(P, line)))
        preparation.audit(remote(), P, action="deploy", sha="abc", release="R", result="ok", started=100.0)


def test_an_audit_line_that_cannot_be_written_never_hides_the_error_that_ended_the_run(pinned, monkeypatch, capsys):
    host = remote()

    def lost(command, **kwargs):
        raise DeployError("the connection to srv.example was lost")

    monkeypatch.setattr(host, "run", lost)
    with pytest.raises(DeployError, match="the build failed"):
        try:
            raise DeployError("the build failed")
        finally:
            preparation.audit(host, P, action="deploy", sha="abc", release="R", result="failed", started=100.0)
    assert "  ! could not write the audit line (the connection to srv.example was lost)" in capsys.readouterr().out
