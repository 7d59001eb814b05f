"""deploy.files: idempotent helpers as exact strings, and runners that change only what differs."""

import subprocess

import pytest
from fabric import Connection
from fabric.testing.base import Command, MockRemote, Session

from deploy import files
from deploy.remote import Remote


def _remote(**kwargs):
    return Remote(Connection("deploy@srv.example"), **kwargs)


# --- builders -----------------------------------------------------------------------------------

def test_exists():
    assert files.exists("/home/deploy/my apps") == "test -e '/home/deploy/my apps'"


def test_append_line_checks_the_whole_line_literally_first():
    assert files.append_line("/etc/hosts", "127.0.0.1 a.b # x") == (
        "grep -qxF -- '127.0.0.1 a.b # x' /etc/hosts 2>/dev/null || printf '%s\\n' '127.0.0.1 a.b # x' >> /etc/hosts")


def test_dir_state_prints_owner_and_mode():
    assert files.dir_state("/srv/a") == "test -d /srv/a && stat -c '%U %a' -- /srv/a || true"


def test_make_dir_with_and_without_owner():
    assert files.make_dir("/srv/a b", "deploy", 0o700) == (
        "mkdir -p -- '/srv/a b' && chmod 700 -- '/srv/a b' && chown deploy: -- '/srv/a b'")
    assert files.make_dir("/srv/a") == "mkdir -p -- /srv/a && chmod 755 -- /srv/a"


def test_write_file_goes_through_a_temp_file_and_install():
    assert files.write_file("/etc/docker/daemon.json", '{"a": 1}\n') == (
        'tmp=$(mktemp) && printf %s \'{"a": 1}\n\' > "$tmp" && '
        'mkdir -p -- "$(dirname -- /etc/docker/daemon.json)" && install -m 644 "$tmp" /etc/docker/daemon.json; '
        'rc=$?; rm -f "$tmp"; exit $rc')


def test_rsync_quotes_everything():
    assert files.rsync("./", "deploy@h:apps/my site/", port=18022, key_filename="/k/id ed",
                       excludes=(".git", "*.pyc")) == (
        "rsync -az --delete --exclude=.git --exclude='*.pyc' -e 'ssh -p 18022 -i '\"'\"'/k/id ed'\"'\"'' "
        "./ 'deploy@h:apps/my site/'")


def test_rsync_without_delete_or_key():
    assert files.rsync("a", "h:b", delete=False) == "rsync -az -e 'ssh -p 22' a h:b"


@pytest.mark.parametrize("content", ["plain\n", "it's \"quoted\" $HOME `x` \\n %s\n", "-starts-with-dash", ""])
def test_write_file_really_writes_the_exact_bytes(tmp_path, content):
    target = tmp_path / "sub dir" / "f.txt"
    subprocess.run(["sh", "-c", files.write_file(str(target), content, 0o600)], check=True)
    assert target.read_text() == content
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_append_line_really_is_idempotent(tmp_path):
    target = tmp_path / "f"
    target.write_text("a\n")
    for _ in range(2):
        subprocess.run(["sh", "-c", files.append_line(str(target), "b c")], check=True)
    assert target.read_text() == "a\nb c\n"


# --- runners ------------------------------------------------------------------------------------

def test_ensure_dir_already_right_changes_nothing():
    with MockRemote() as mock:
        mock.expect(cmd=files.dir_state("/home/deploy/apps"), out=b"deploy 755\n")
        assert files.ensure_dir(_remote(), "/home/deploy/apps", owner="deploy") is False


def test_ensure_dir_missing_creates_it_with_owner_under_sudo():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(files.dir_state("/srv/x")),
            Command("sudo -n sh -c 'mkdir -p -- /srv/x && chmod 700 -- /srv/x && chown deploy: -- /srv/x'"),
        ]))
        assert files.ensure_dir(_remote(), "/srv/x", owner="deploy", mode=0o700, sudo=True) is True


def test_ensure_line_present_is_left_alone():
    with MockRemote() as mock:
        mock.expect(cmd=files.has_line("/f", "x"))
        assert files.ensure_line(_remote(), "/f", "x") is False


def test_ensure_line_missing_is_appended():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[Command(files.has_line("/f", "x"), exit=1),
                                               Command(files.append_line("/f", "x"))]))
        assert files.ensure_line(_remote(), "/f", "x") is True


def test_ensure_file_same_content_is_not_rewritten():
    with MockRemote() as mock:
        mock.expect(cmd=files.read_file("/f"), out=b"same\n")
        assert files.ensure_file(_remote(), "/f", "same\n") is False


def test_ensure_file_different_content_is_written_with_sudo():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(files.read_file("/f"), out=b"old\n"),
            Command(f"sudo -n sh -c {__import__('shlex').quote(files.write_file('/f', 'new'))}"),
        ]))
        assert files.ensure_file(_remote(), "/f", "new", sudo=True) is True


def test_dry_run_reads_for_real_but_only_prints_the_change(capsys):
    with MockRemote() as mock:
        mock.expect(cmd=files.dir_state("/a"))
        assert files.ensure_dir(_remote(dry_run=True), "/a", owner="deploy") is True
    assert "[dry-run] mkdir -p -- /a && chmod 755 -- /a" in capsys.readouterr().out
