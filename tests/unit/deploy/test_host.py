"""deploy/host.py against real SSH servers on 127.0.0.1 (paramiko in threads, tests/unit/deploy/sshserver.py).

Jump hosts (ProxyJump) are checked like the target; low-level failures of either become one line.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import fabric.runners
import paramiko
import pytest
from fabric import Config, Connection
from fabric.testing.base import Command, MockRemote, Session

from deploy import hostkeys
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.host import Host, connect, connection_error
from tests.harness.sshserver import SSHServer, new_key, new_key_file

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def identity(tmp_path):
    return {"key_filename": [new_key_file(tmp_path / "id_ed25519")], "look_for_keys": False, "allow_agent": False}


@pytest.fixture
def gateway():
    with SSHServer() as server:
        yield server


@pytest.fixture
def target():
    with SSHServer(reply=b"from the target\n") as server:
        yield server


@pytest.fixture
def known(tmp_path):
    return tmp_path / "known_hosts"


def through(gateway, target, identity, name="app.internal"):
    """A Connection to ``name``:22, which only ``gateway`` can reach (it forwards to ``target``)."""
    gateway.routes[(name, 22)] = target.address
    jump = Connection(f"deploy@127.0.0.1:{gateway.port}", connect_kwargs=dict(identity))
    return Connection(f"deploy@{name}", gateway=jump, connect_kwargs=dict(identity))


def refused(conn, known, **kwargs) -> str:
    with pytest.raises(DeployError) as info:
        connect(conn, known_hosts=str(known), **kwargs).open()
    message = str(info.value)
    assert "\n" not in message
    return message


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


# --- ProxyJump: the jump host's key is checked like the target's ---------------------------------

def test_both_keys_known_a_command_runs_through_the_jump_host_of_ssh_config(gateway, target, identity, known,
                                                                            tmp_path):
    gateway.routes[("app.internal", 22)] = target.address
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host app\n  HostName app.internal\n  User deploy\n"
                          f"  ProxyJump deploy@127.0.0.1:{gateway.port}\n")
    known.write_text(gateway.known_hosts_line() + target.known_hosts_line("app.internal"))
    config = Config(runtime_ssh_path=str(ssh_config), overrides={"connect_kwargs": dict(identity)})
    host = connect(Connection("app", config=config), known_hosts=str(known))
    host.open()
    assert host.output("uname -s") == "from the target"
    assert target.commands == ["uname -s"] and gateway.commands == []
    assert gateway.logins == ["deploy"] and target.logins == ["deploy"]


def test_an_unknown_jump_host_key_is_refused_before_the_target_is_contacted(gateway, target, identity, known):
    known.write_text(target.known_hosts_line("app.internal"))
    message = refused(through(gateway, target, identity), known)
    assert message.startswith(f"host key of the jump host 127.0.0.1:{gateway.port} (ssh-ed25519 SHA256:")
    assert f"ssh-keyscan -p {gateway.port} 127.0.0.1 >> {known}" in message
    assert "--accept-new-host-key" in message
    assert target.logins == [] and gateway.logins == []
    assert known.read_text() == target.known_hosts_line("app.internal")


def test_a_changed_jump_host_key_is_refused_naming_its_known_hosts_entry(gateway, target, identity, known):
    old = new_key()
    known.write_text(f"[127.0.0.1]:{gateway.port} ssh-ed25519 {old.get_base64()}\n"
                     + target.known_hosts_line("app.internal"))
    message = refused(through(gateway, target, identity), known, accept_new_host_key=True)
    assert message.startswith(f"host key of the jump host 127.0.0.1:{gateway.port} has CHANGED "
                              f"(known ssh-ed25519 {hostkeys.fingerprint(old)}, "
                              f"offered ssh-ed25519 {hostkeys.fingerprint(gateway.key)})")
    assert f"ssh-keygen -f {known} -R '[127.0.0.1]:{gateway.port}'" in message
    assert target.logins == []


def test_a_jump_host_behind_a_jump_host_is_checked_too(gateway, target, identity, known):
    with SSHServer() as outer:
        outer.routes[("gw.internal", 22)] = gateway.address
        conn = through(gateway, target, identity)
        conn.gateway = Connection("deploy@gw.internal", gateway=Connection(
            f"deploy@127.0.0.1:{outer.port}", connect_kwargs=dict(identity)), connect_kwargs=dict(identity))
        known.write_text(outer.known_hosts_line() + target.known_hosts_line("app.internal"))
        message = refused(conn, known)
    assert message.startswith("host key of the jump host gw.internal:22 (ssh-ed25519 SHA256:")
    assert f"reached through the jump host 127.0.0.1:{outer.port}" in message and "ssh-keyscan" not in message
    assert outer.logins == ["deploy"] and gateway.logins == [] and target.logins == []


def test_accept_new_records_the_jump_host_and_the_target(gateway, target, identity, known, capsys):
    host = connect(through(gateway, target, identity), accept_new_host_key=True, known_hosts=str(known))
    host.open()
    assert known.read_text() == gateway.known_hosts_line() + target.known_hosts_line("app.internal")
    out = capsys.readouterr().out
    assert f"accepted new host key for the jump host [127.0.0.1]:{gateway.port}: ssh-ed25519" in out
    assert "accepted new host key for app.internal: ssh-ed25519" in out
    assert host.output("true") == "from the target"


def test_a_dry_run_accepts_new_keys_for_the_run_only(gateway, target, identity, known, capsys):
    known.write_text("")
    host = connect(through(gateway, target, identity), accept_new_host_key=True, dry_run=True, known_hosts=str(known))
    host.open()
    assert host.probe("cat /etc/os-release").stdout == "from the target\n"  # read-only probes are real
    assert known.read_text() == ""
    out = capsys.readouterr().out
    assert out.count("would record the new host key of") == 2 and "accepted new host key" not in out


def test_a_jump_host_that_cannot_reach_the_target_is_one_line(gateway, target, identity, known):
    conn = through(gateway, target, identity)
    gateway.routes.clear()
    known.write_text(gateway.known_hosts_line() + target.known_hosts_line("app.internal"))
    message = refused(conn, known)
    assert message.startswith(f"the jump host 127.0.0.1:{gateway.port} could not connect to app.internal:22")


def test_a_jump_host_that_is_down_is_named(gateway, target, identity, known, monkeypatch):
    known.write_text(gateway.known_hosts_line() + target.known_hosts_line("app.internal"))
    conn = through(gateway, target, identity)
    monkeypatch.setattr(conn.gateway, "port", _closed_port())
    message = refused(conn, known)
    assert message.startswith(f"cannot connect to the jump host 127.0.0.1:{conn.gateway.port}: connection refused")


def test_connect_sets_the_timeouts_on_every_hop(gateway, target, identity, known):
    conn = through(gateway, target, identity)
    connect(conn, known_hosts=str(known))
    for hop in (conn, conn.gateway):
        assert hop.connect_timeout == 10 and hop.connect_kwargs["banner_timeout"] == 10


# --- ProxyCommand: its own ssh checks the gateway; we still check the target --------------------

RELAY = """\
import socket, sys, threading
upstream = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def forward():
    while data := sys.stdin.buffer.read1(65536):
        upstream.sendall(data)
threading.Thread(target=forward, daemon=True).start()
while data := upstream.recv(65536):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
"""


def test_behind_a_proxycommand_the_target_key_is_still_checked(target, identity, known, tmp_path):
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    command = f"{sys.executable} {relay} 127.0.0.1 {target.port}"
    known.write_text("")
    message = refused(Connection("deploy@app.internal", gateway=command, connect_kwargs=dict(identity)), known)
    assert message.startswith("host key of app.internal:22 (ssh-ed25519") and "a ProxyCommand" in message
    known.write_text(target.known_hosts_line("app.internal"))
    host = connect(Connection("deploy@app.internal", gateway=command, connect_kwargs=dict(identity)),
                   known_hosts=str(known))
    assert host.output("true") == "from the target"


@pytest.mark.parametrize("command, reason", [
    ("false", ""),  # no answer, a closed pipe or a broken one: it depends on when `false` ends
    ("/nonexistent/proxy", "No such file or directory"),
])
def test_a_proxycommand_that_fails_is_one_line_naming_it(known, command, reason):
    message = refused(Connection("deploy@app.internal", gateway=command, connect_timeout=1), known)
    assert message.startswith(f"the ProxyCommand for app.internal:22 gave no SSH connection ({reason}"), message
    assert message.endswith(f"): run `{command}` by hand to see why")


# --- a changed key names the entry that really is in known_hosts ---------------------------------

def test_a_changed_key_on_another_port_names_that_port(target, identity, known):
    old = new_key()
    known.write_text(f"[127.0.0.1]:{target.port} ssh-ed25519 {old.get_base64()}\n")
    message = refused(Connection(f"deploy@127.0.0.1:{target.port}", connect_kwargs=dict(identity)), known)
    assert message.startswith(f"host key of 127.0.0.1:{target.port} has CHANGED")
    assert f"ssh-keygen -f {known} -R '[127.0.0.1]:{target.port}'" in message
    assert target.logins == []


# --- ports that are not SSH: one line, and nothing from paramiko's thread ------------------------

@pytest.fixture
def not_ssh():
    """``not_ssh(mode)``: a port on 127.0.0.1 that speaks HTTP, closes at once, or never says anything."""
    listeners, held = [], []

    def start(mode: str) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve():
            while True:
                try:
                    sock, _ = listener.accept()
                except OSError:
                    return
                if mode == "http":
                    sock.recv(1024)
                    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    sock.close()
                elif mode == "close":
                    sock.close()
                else:
                    held.append(sock)

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    for sock in listeners + held:
        sock.close()


@pytest.mark.parametrize("mode, words", [
    ("http", "closed the connection without speaking SSH: is {port} the SSH port"),
    ("close", "closed the connection without speaking SSH: is {port} the SSH port"),
    ("silent", "did not answer as an SSH server within 1s: is {port} the SSH port"),
])
def test_a_port_that_does_not_speak_ssh_is_one_line(not_ssh, known, mode, words):
    port = not_ssh(mode)
    started = time.monotonic()
    message = refused(Connection(f"deploy@127.0.0.1:{port}", connect_timeout=1), known)
    assert message.startswith(f"127.0.0.1:{port} {words.format(port=port)} of 127.0.0.1?"), message
    assert time.monotonic() - started < 5


USER = """\
import socket, sys, threading
from fabric import Connection
from deploy.errors import DeployError
from deploy.host import connect

listener = socket.create_server(("127.0.0.1", 0))
def serve():
    while True:
        sock, _ = listener.accept()
        sock.recv(1024)
        sock.sendall(b"HTTP/1.1 400 Bad Request\\r\\nConnection: close\\r\\n\\r\\n")
        sock.close()
threading.Thread(target=serve, daemon=True).start()
try:
    connect(Connection(f"deploy@127.0.0.1:{listener.getsockname()[1]}"), known_hosts=sys.argv[1]).open()
except DeployError as error:
    print(f"error: {error}")
"""


def test_paramikos_thread_prints_no_traceback(known):
    # a process of its own: pytest's log capture would hide what a user's terminal shows
    done = subprocess.run([sys.executable, "-c", USER, str(known)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.stderr == ""
    assert done.stdout.startswith("error: 127.0.0.1:") and "without speaking SSH" in done.stdout


# --- the home folder is read, also in a dry run --------------------------------------------------

def test_a_dry_run_reads_the_real_home_with_a_probe(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(Session(user="root", commands=[Command('printf %s "$HOME"', out=b"/root")]))
        host = Host(Connection("root@srv.example"), dry_run=True)
        assert host.home == "/root"
        assert host.home == "/root"  # read once
    assert '[dry-run, read-only probe] printf %s "$HOME"' in capsys.readouterr().out


def test_an_empty_home_is_one_line():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[Command('printf %s "$HOME"', out=b"")]))
        with pytest.raises(DeployError, match="could not read the home folder of deploy@srv.example:22"):
            _ = Host(Connection("deploy@srv.example"), dry_run=True).home


# --- a command that runs longer than its timeout -------------------------------------------------

def _dump_past_its_timeout(identity, known, sudo_password: str = "") -> tuple[DeployError, int]:
    """A pg_dump with a password in its command line, on a server that answers after 30 s, given 1 s;
    with ``sudo_password``, run through `sudo` with that password (--prompt-for-sudo-password)."""
    secret = "postgres://mysite:S3cretPassw0rd@postgres:5432/mysite"
    with SSHServer(delay=30) as server:  # far past the 1 s, however busy the machine
        known.write_text(server.known_hosts_line())
        conn = Connection(f"deploy@127.0.0.1:{server.port}", connect_kwargs=dict(identity))
        if sudo_password:
            conn.config.sudo.password = sudo_password
        host = connect(conn, known_hosts=str(known))
        with pytest.raises(DeployError) as info:
            (host.sudo if sudo_password else host.run)(f"pg_dump --dbname={secret}", timeout=1)
    return info.value, server.port


def test_a_timeout_is_one_line_that_never_shows_the_command(identity, known):
    error, port = _dump_past_its_timeout(identity, known)
    assert str(error) == (f"a command on deploy@127.0.0.1:{port} did not finish within 1 s (it may "
                          "still be running there): see `fab status`, then run this again")
    assert error.__cause__ is None and error.__suppress_context__  # invoke's message is not chained


def test_a_timeout_is_one_line_also_when_invoke_asks_before_its_timer_has_finished(identity, known, monkeypatch):
    # on a busy machine invoke's timer thread may still be closing the channel when invoke asks whether the
    # timer fired (Runner.timed_out: "not alive"): it then reports a result without an exit status, no timeout
    monkeypatch.setattr(fabric.runners.Remote, "timed_out", property(lambda self: False))
    error, port = _dump_past_its_timeout(identity, known)
    assert str(error) == (f"a command on deploy@127.0.0.1:{port} did not finish within 1 s (it may "
                          "still be running there): see `fab status`, then run this again")
    assert error.__cause__ is None and error.__suppress_context__  # the same error as the timeout's, in every way


def test_a_sudo_with_a_password_past_its_timeout_is_the_same_one_line(identity, known, monkeypatch):
    monkeypatch.setattr(fabric.runners.Remote, "timed_out", property(lambda self: False))  # the busy machine's race
    error, port = _dump_past_its_timeout(identity, known, sudo_password="pw")
    assert str(error) == (f"a command on deploy@127.0.0.1:{port} did not finish within 1 s (it may "
                          "still be running there): see `fab status`, then run this again")


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
