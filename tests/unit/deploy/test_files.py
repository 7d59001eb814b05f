"""deploy.commands.files as exact strings, and deploy.files' runners that change only what differs."""

import subprocess

import pytest
from fabric import Connection
from fabric.testing.base import Command, MockRemote, Session

from deploy import files
from deploy.commands import files as file_commands
from deploy.host import Host


def _remote(**kwargs):
    return Host(Connection("deploy@srv.example"), **kwargs)


# --- builders -----------------------------------------------------------------------------------

def test_exists():
    assert file_commands.exists("/home/deploy/my apps") == "test -e '/home/deploy/my apps'"


def test_dir_state_prints_owner_and_mode():
    assert file_commands.dir_state("/srv/a") == "test -d /srv/a && stat -c '%U %a' -- /srv/a || true"


def test_make_dir_with_and_without_owner():
    assert file_commands.make_dir("/srv/a b", "deploy", 0o700) == (
        "mkdir -p -- '/srv/a b' && chmod 700 -- '/srv/a b' && chown deploy: -- '/srv/a b'")
    assert file_commands.make_dir("/srv/a") == "mkdir -p -- /srv/a && chmod 755 -- /srv/a"


def test_write_file_goes_through_a_temp_file_and_install():
    assert file_commands.write_file("/etc/docker/daemon.json", '{"a": 1}\n') == (
        'tmp=$(mktemp) && printf %s \'{"a": 1}\n\' > "$tmp" && '
        'mkdir -p -- "$(dirname -- /etc/docker/daemon.json)" && install -m 644 "$tmp" /etc/docker/daemon.json; '
        'rc=$?; rm -f "$tmp"; exit $rc')


@pytest.mark.parametrize("content", ["plain\n", "it's \"quoted\" $HOME `x` \\n %s\n", "-starts-with-dash", ""])
def test_write_file_really_writes_the_exact_bytes(tmp_path, content):
    target = tmp_path / "sub dir" / "f.txt"
    subprocess.run(["sh", "-c", file_commands.write_file(str(target), content, 0o600)], check=True)
    assert target.read_text() == content
    assert oct(target.stat().st_mode & 0o777) == "0o600"


# --- runners ------------------------------------------------------------------------------------

def test_ensure_dir_already_right_changes_nothing():
    with MockRemote() as mock:
        mock.expect(cmd=file_commands.dir_state("/home/deploy/apps"), out=b"deploy 755\n")
        assert files.ensure_dir(_remote(), "/home/deploy/apps", owner="deploy") is False


def test_ensure_dir_missing_creates_it_with_owner_under_sudo():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(file_commands.dir_state("/srv/x")),
            Command("sudo -n sh -c 'mkdir -p -- /srv/x && chmod 700 -- /srv/x && chown deploy: -- /srv/x'"),
        ]))
        assert files.ensure_dir(_remote(), "/srv/x", owner="deploy", mode=0o700, sudo=True) is True


def test_ensure_file_same_content_is_not_rewritten():
    with MockRemote() as mock:
        mock.expect(cmd=file_commands.read_file("/f"), out=b"same\n")
        assert files.ensure_file(_remote(), "/f", "same\n") is False


def test_ensure_file_different_content_is_written_with_sudo():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(file_commands.read_file("/f"), out=b"old\n"),
            Command(f"sudo -n sh -c {__import__('shlex').quote(file_commands.write_file('/f', 'new'))}"),
        ]))
        assert files.ensure_file(_remote(), "/f", "new", sudo=True) is True


def test_dry_run_reads_for_real_but_only_prints_the_change(capsys):
    with MockRemote() as mock:
        mock.expect(cmd=file_commands.dir_state("/a"))
        assert files.ensure_dir(_remote(dry_run=True), "/a", owner="deploy") is True
    assert "[dry-run] mkdir -p -- /a && chmod 755 -- /a" in capsys.readouterr().out
