"""deploy/hostkeys.py: known_hosts files, the two policies, and every hop of a ProxyJump route."""

import paramiko
import pytest

from deploy import hostkeys
from deploy.errors import DeployError
from tests.unit.deploy.sshserver import new_key

ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.fixture(scope="module")
def key():
    return new_key()


# --- known_hosts files --------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("ok.example ssh-ed25519 " + ED25519 + "\nbroken.example ssh-ed25519 AAAA!!!notbase64\n",
     "line 2 is not a valid host key entry"),
    ("|1|abc|def ssh-ed25519 " + ED25519 + "\n", "line 1 is not a valid host key entry"),
    ("|1|!!!|def ssh-ed25519 " + ED25519 + "\n", "line 1 is not a valid host key entry"),
])
def test_a_malformed_known_hosts_is_one_line_naming_the_line(tmp_path, text, words):
    known = tmp_path / "known_hosts"
    known.write_text(text)
    with pytest.raises(DeployError) as info:
        hostkeys.secure(paramiko.SSHClient(), {}, str(known), accept_new=False)
    message = str(info.value)
    assert f"{known} {words}" in message and "fix or delete that line" in message and "\n" not in message


def test_a_binary_known_hosts_is_one_line(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_bytes(b"\x00\xff\xfe binary \x89PNG\r\n")
    with pytest.raises(DeployError, match=f"{known} is not a text file"):
        hostkeys.secure(paramiko.SSHClient(), {}, str(known), accept_new=False)


def test_a_known_hosts_that_is_a_directory_is_one_line(tmp_path):
    known = tmp_path / "known_hosts"
    known.mkdir()
    with pytest.raises(DeployError, match=f"{known} is a directory, not a file: move it aside"):
        hostkeys.secure(paramiko.SSHClient(), {}, str(known), accept_new=True)


def test_lines_paramiko_skips_do_not_stop_a_connection(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("# a comment\n\nhello\nhost ssh-foo AAAAB3NzaC1yc2E=\nok.example ssh-ed25519 " + ED25519 + "\n")
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(known), accept_new=False)
    assert client.get_host_keys().lookup("ok.example") is None  # system keys, not the client's own
    assert client._system_host_keys.lookup("ok.example") is not None


def test_accept_new_that_cannot_write_known_hosts_is_one_line(key, tmp_path):
    (tmp_path / "file").write_text("")
    known = tmp_path / "file" / "known_hosts"  # its folder is a file
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(known), accept_new=True)
    with pytest.raises(DeployError, match=f"cannot record the host key of 127.0.0.1:18022 in {known}"):
        client._policy.missing_host_key(client, "[127.0.0.1]:18022", key)


# --- the two policies ---------------------------------------------------------------------------

def test_dry_run_accept_new_pins_the_key_for_the_run_and_writes_nothing(key, tmp_path, capsys):
    known = tmp_path / "ssh" / "known_hosts"
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(known), accept_new=True, dry_run=True)
    client._policy.missing_host_key(client, "[127.0.0.1]:18022", key)
    assert not known.exists() and not known.parent.exists()
    assert client.get_host_keys().lookup("[127.0.0.1]:18022")["ssh-ed25519"] == key  # pinned in memory
    out = capsys.readouterr().out
    assert f"would record the new host key of 127.0.0.1:18022 (ssh-ed25519 {hostkeys.fingerprint(key)}) " \
           f"in {known}" in out
    assert "dry run: not written" in out


def test_ssh_config_accept_new_in_a_dry_run_writes_nothing_either(key, tmp_path):
    known = tmp_path / "known_hosts"
    client = paramiko.SSHClient()
    hostkeys.secure(client, {"stricthostkeychecking": "accept-new"}, str(known), accept_new=False, dry_run=True)
    client._policy.missing_host_key(client, "[127.0.0.1]:18022", key)
    assert not known.exists()


def test_connect_in_a_dry_run_accepts_new_keys_for_the_run_only(key, tmp_path):
    from fabric import Connection

    from deploy.host import connect

    conn = Connection("deploy@127.0.0.1:18022")
    connect(conn, accept_new_host_key=True, dry_run=True, known_hosts=str(tmp_path / "known_hosts"))
    conn.client._policy.missing_host_key(conn.client, "[127.0.0.1]:18022", key)
    assert not (tmp_path / "known_hosts").exists()


@pytest.mark.parametrize("host, port, name", [
    ("127.0.0.1", 18022, "[127.0.0.1]:18022"), ("app.internal", 22, "app.internal"), ("::1", 2200, "[::1]:2200"),
])
def test_known_hosts_name_is_what_ssh_and_paramiko_write(host, port, name):
    assert hostkeys.known_hosts_name(host, port) == name
