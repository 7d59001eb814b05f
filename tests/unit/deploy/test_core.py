"""The deploy engine's core: config merging, command strings, host keys and the Host runner."""

import os

import paramiko
import pytest
from fabric import Connection
from fabric.testing.base import Command, MockRemote, Session
from invoke.exceptions import Exit

from deploy import config, hostkeys
from deploy.cli import guarded
from deploy.commands import compose, lock, shell
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.host import Host, connect, connection_error

# --- config -------------------------------------------------------------------------------------

def test_config_defaults_then_file_then_env_then_flags():
    cfg = config.load({"keep_releases": "3", "app_name": "blog"}, {"MYSITE_KEEP_RELEASES": "4"}, health_timeout=9)
    assert (cfg.app_name, cfg.keep_releases, cfg.health_timeout, cfg.keep_backups) == ("blog", 4, 9, 10)


def test_config_flags_left_unset_do_not_override():
    assert config.load({"http_port": 8080}, {}, http_port=None).http_port == 8080


@pytest.mark.parametrize("key, suggestion", [("keep_release", "keep_releases"), ("helth_timeout", "health_timeout"),
                                             ("app_nmae", "app_name")])
def test_misspelled_key_names_the_nearest_known_key(key, suggestion):
    with pytest.raises(DeployError, match=f"unknown deploy key '{key}' \\(did you mean {suggestion}\\?\\)"):
        config.load({key: 1}, {})


def test_unknown_key_without_near_match_lists_known_keys():
    with pytest.raises(DeployError, match="known keys: app_name, app_path"):
        config.load({"zzz": 1}, {})


@pytest.mark.parametrize("settings, message", [
    ({"http_port": 0}, "http_port=0 is not a TCP port"),
    ({"https_port": 70000}, "https_port=70000 is not a TCP port"),
    ({"http_port": "eighty"}, "http_port must be a whole number"),
    ({"http_port": 8000, "https_port": 8000}, "same port"),
    ({"app_name": "My Site"}, "not usable as a Docker name"),
    ({"keep_releases": 0}, "keep_releases must be at least 1"),
    ({"app_path": "../etc"}, "without '..'"),
])
def test_bad_settings_are_one_clear_line(settings, message):
    with pytest.raises(DeployError, match=message) as info:
        config.load(settings, {})
    assert "\n" not in str(info.value)


def test_bad_env_value_is_reported():
    with pytest.raises(DeployError, match="keep_releases must be a whole number"):
        config.load({}, {"MYSITE_KEEP_RELEASES": "many"})


# --- commands -----------------------------------------------------------------------------------

def test_sudo_never_prompts_and_quotes_the_whole_command():
    assert shell.sudo("apt-get install -y docker.io && echo 'x'") == (
        "sudo -n sh -c 'apt-get install -y docker.io && echo '\"'\"'x'\"'\"''")


@pytest.mark.parametrize("v2, expected", [
    (True, "docker compose -p mysite -f production.yml up -d nginx"),
    (False, "docker-compose -p mysite -f production.yml up -d nginx"),
])
def test_compose_v1_and_v2(v2, expected):
    assert compose.command("v2" if v2 else "v1", ["production.yml"], "up", "-d", "nginx", project="mysite") == expected


def test_compose_quotes_paths_with_spaces():
    assert compose.command("v2", ["/srv/my site/production.yml"]) == "docker compose -f '/srv/my site/production.yml'"


def test_lock_is_one_atomic_mkdir():
    assert lock.take_lock("/srv/a/.lock", "ann@laptop 2026-11-24") == (
        "mkdir /srv/a/.lock && printf '%s\\n' 'ann@laptop 2026-11-24' > /srv/a/.lock/holder")


# --- host keys ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_key():
    return paramiko.Ed25519Key.from_private_key_file(_make_ed25519())


def _make_ed25519():
    import tempfile

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=".key")
    handle.write(pem)
    handle.close()
    return handle.name


def test_fingerprint_matches_openssh_format(server_key):
    value = hostkeys.fingerprint(server_key)
    assert value.startswith("SHA256:") and len(value) == 50 and not value.endswith("=")


def test_unknown_key_is_refused_with_how_to_accept(server_key, tmp_path):
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(tmp_path / "known_hosts"), accept_new=False)
    with pytest.raises(DeployError) as info:
        client._policy.missing_host_key(client, "[127.0.0.1]:18022", server_key)
    message = str(info.value)
    assert "host key of 127.0.0.1:18022 (ssh-ed25519 SHA256:" in message
    assert f"ssh-keyscan -p 18022 127.0.0.1 >> {tmp_path / 'known_hosts'}" in message
    assert "--accept-new-host-key" in message
    assert not (tmp_path / "known_hosts").exists()


def test_accept_new_records_the_key_once(server_key, tmp_path):
    known = tmp_path / "ssh" / "known_hosts"
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(known), accept_new=True)
    client._policy.missing_host_key(client, "[127.0.0.1]:18022", server_key)
    assert known.read_text() == f"[127.0.0.1]:18022 ssh-ed25519 {server_key.get_base64()}\n"
    assert oct(known.stat().st_mode & 0o777) == "0o600"
    assert client.get_host_keys().lookup("[127.0.0.1]:18022")["ssh-ed25519"] == server_key  # pinned now
    reloaded = paramiko.SSHClient()
    hostkeys.secure(reloaded, {}, str(known), accept_new=False)
    assert reloaded._system_host_keys.lookup("[127.0.0.1]:18022")["ssh-ed25519"] == server_key


def test_ssh_config_accept_new_counts_as_explicit(tmp_path):
    client = paramiko.SSHClient()
    hostkeys.secure(client, {"stricthostkeychecking": "accept-new"}, str(tmp_path / "kh"), accept_new=False)
    assert isinstance(client._policy, hostkeys.AcceptNew)


def test_user_known_hosts_files_from_ssh_config_are_loaded():
    assert hostkeys.known_hosts_files("~/.ssh/known_hosts", {"userknownhostsfile": ["/a /b", "/c"]}) == [
        "~/.ssh/known_hosts", "/a", "/b", "/c"]


def test_changed_key_is_always_refused(server_key):
    other = paramiko.Ed25519Key.from_private_key_file(_make_ed25519())
    error = hostkeys.changed_host_key_error("[10.0.0.5]:2200", other, server_key, "~/.ssh/known_hosts")
    assert "has CHANGED" in str(error) and "man-in-the-middle" in str(error)
    assert "ssh-keygen -f ~/.ssh/known_hosts -R '[10.0.0.5]:2200'" in str(error)


# --- Host over a mocked SSH session -----------------------------------------------------------

def _remote(**kwargs):
    return Host(Connection("deploy@srv.example:2200"), **kwargs)


def test_run_sends_the_exact_command_and_returns_output():
    with MockRemote() as mock:
        mock.expect(host="srv.example", user="deploy", port=2200, cmd="uname -s", out=b"Linux\n")
        assert _remote().output("uname -s") == "Linux"


def test_failed_command_raises_one_line_with_the_tail_of_output():
    with MockRemote() as mock:
        mock.expect(cmd="false-ish", err=b"line1\nline2\nboom\n", exit=3)
        with pytest.raises(RemoteCommandFailed) as info:
            _remote().run("false-ish")
    assert info.value.returncode == 3
    assert str(info.value) == "remote command failed (exit 3): false-ish: line1 | line2 | boom"


def test_sudo_without_password_uses_sudo_n():
    with MockRemote() as mock:
        mock.expect(commands=[Command("sudo -n sh -c 'systemctl enable --now docker'")])
        _remote().sudo("systemctl enable --now docker")


def test_ok_is_a_probe_that_never_raises():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[Command("test -d /x", exit=1), Command("test -d /y")]))
        remote = _remote()
        assert (remote.ok("test -d /x"), remote.ok("test -d /y")) == (False, True)


def test_dry_run_prints_and_runs_nothing(capsys):
    with MockRemote() as mock:
        remote = _remote(dry_run=True)
        remote.run("rm -rf /")
        remote.sudo("reboot")
        client = mock.sessions[0].client
    client.connect.assert_not_called()  # nothing was even connected
    out = capsys.readouterr().out
    assert "[dry-run] rm -rf /" in out and "[dry-run] sudo -n sh -c reboot" in out


@pytest.mark.parametrize("error, words", [
    (paramiko.AuthenticationException("no"), "SSH login as deploy on srv.example:2200 was refused"),
    (ConnectionRefusedError(111, "Connection refused"), "connection refused; is sshd running"),
    (TimeoutError("timed out"), "did not answer within"),
    (EOFError(), "SSH connection to srv.example:2200 failed or was lost"),
    (__import__("socket").gaierror(-2, "Name or service not known"), "cannot resolve host"),
])
def test_connection_failures_become_one_line(error, words):
    message = str(connection_error(_remote(), error))
    assert words in message and "\n" not in message


def test_connect_without_host_is_a_clear_error():
    from invoke import Context
    with pytest.raises(DeployError, match="no host given"):
        connect(Context())


def test_connect_replaces_fabrics_auto_add_policy(tmp_path):
    conn = Connection("deploy@127.0.0.1:18022")
    connect(conn, known_hosts=str(tmp_path / "kh"))
    assert isinstance(conn.client._policy, hostkeys.RefuseUnknown)
    assert conn.connect_timeout == 10


def test_guarded_turns_deploy_errors_into_exit_with_one_line():
    @guarded
    def body():
        raise DeployError("something is wrong:\n  do this")

    with pytest.raises(Exit) as info:
        body()
    assert info.value.message == "error: something is wrong: do this" and info.value.code == 1
    assert os.path.basename(__file__)  # the module imports cleanly without Django


def test_probe_runs_even_in_dry_run_and_never_raises():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[Command("cat /etc/os-release", out=b"ID=debian\n"),
                                               Command("test -e /x", exit=1)]))
        remote = _remote(dry_run=True)
        assert remote.probe("cat /etc/os-release").stdout == "ID=debian\n"
        assert remote.probe("test -e /x").failed


def test_reconnect_closes_the_open_connection():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[Command("usermod-ish"), Command("docker ps")]))
        remote = _remote()
        remote.run("usermod-ish")
        remote.reconnect()
        remote.run("docker ps")
        client = mock.sessions[0].client
    client.close.assert_called_once_with()


def test_reconnect_in_dry_run_does_nothing():
    with MockRemote() as mock:
        _remote(dry_run=True).reconnect()
        client = mock.sessions[0].client
    client.connect.assert_not_called()


class ServerFiles:
    """The calls Fabric's transfer makes on paramiko's SFTP client; every file there is 644 (made under umask 022)."""

    def __init__(self):
        self.fetched = []

    def getcwd(self):
        return "/home/deploy"

    def get(self, remotepath, localpath):  # as paramiko does: the local file opened for writing, its mode kept
        self.fetched.append(remotepath)
        with open(localpath, "wb") as handle:
            handle.write(b"PGDMP")

    def stat(self, path):
        return os.stat_result((0o100644, 0, 0, 1, 0, 0, 5, 0, 0, 0))


def test_get_downloads_readable_by_its_owner_only_and_dry_run_only_prints(tmp_path, capsys):
    conn = Connection("deploy@srv.example:2200")
    server = ServerFiles()
    conn.sftp = lambda: server
    made, new = tmp_path / "made.pgdump", tmp_path / "new.pgdump"
    made.touch(mode=0o600)  # what `fab backup` does first
    umask = os.umask(0o022)
    try:
        Host(conn).get("/srv/a.pgdump", str(made))
        Host(conn).get("/srv/b.pgdump", str(new))
        Host(conn, dry_run=True).get("/srv/c", str(tmp_path / "d"))
    finally:
        os.umask(umask)
    assert server.fetched == ["/srv/a.pgdump", "/srv/b.pgdump"]
    assert made.read_bytes() == new.read_bytes() == b"PGDMP"
    assert oct(made.stat().st_mode & 0o777) == oct(new.stat().st_mode & 0o777) == "0o600"  # not the server's 644
    assert not (tmp_path / "d").exists()
    assert f"[dry-run] download /srv/c -> {tmp_path / 'd'}" in capsys.readouterr().out


def test_reconnect_reloads_known_hosts_so_an_accepted_key_is_pinned(server_key, tmp_path):
    known = tmp_path / "known_hosts"
    conn = Connection("deploy@127.0.0.1:18022")
    remote = connect(conn, accept_new_host_key=True, known_hosts=str(known))
    conn.client._policy.missing_host_key(conn.client, "[127.0.0.1]:18022", server_key)  # first contact
    remote.reconnect()
    assert conn.client._system_host_keys.lookup("[127.0.0.1]:18022")["ssh-ed25519"] == server_key


def test_sudo_with_a_password_never_forwards_local_stdin(monkeypatch):
    from fabric import Config
    from invoke.runners import Result

    remote = Host(Connection("deploy@srv.example", config=Config(overrides={"sudo": {"password": "pw"}})))
    seen = {}

    def fake_sudo(command, **kwargs):
        seen.update(kwargs, command=command)
        return Result(stdout="", stderr="", exited=0, command=command)

    monkeypatch.setattr(remote.conn, "sudo", fake_sudo)
    remote.sudo("true", hide=False)
    # local stdin at EOF would close the remote stdin before the password watcher answers sudo
    assert seen == {"command": "sh -c true", "in_stream": False, "hide": False, "warn": True}
