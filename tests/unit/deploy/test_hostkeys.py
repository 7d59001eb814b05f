"""deploy/hostkeys.py: known_hosts files, the two policies, and every hop of a ProxyJump route."""


import paramiko
import pytest
from fabric import Connection

from deploy import hostkeys
from deploy.errors import DeployError
from tests.harness.keys import ed25519_key_file
from tests.harness.sshserver import new_key

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


def test_an_unknown_jump_host_is_named_as_one(key, tmp_path):
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(tmp_path / "kh"), accept_new=False, role="the jump host ")
    with pytest.raises(DeployError) as info:
        client._policy.missing_host_key(client, "[127.0.0.1]:18022", key)
    assert str(info.value).startswith("host key of the jump host 127.0.0.1:18022 (ssh-ed25519 SHA256:")
    assert f"ssh-keyscan -p 18022 127.0.0.1 >> {tmp_path / 'kh'}" in str(info.value)


def test_a_host_behind_a_jump_host_gets_no_keyscan_it_cannot_run(key, tmp_path):
    client = paramiko.SSHClient()
    hostkeys.secure(client, {}, str(tmp_path / "kh"), accept_new=False, behind="the jump host 127.0.0.1:18023")
    with pytest.raises(DeployError) as info:
        client._policy.missing_host_key(client, "app.internal", key)
    message = str(info.value)
    assert message.startswith("host key of app.internal:22 (ssh-ed25519 SHA256:")
    assert "ssh-keyscan" not in message
    assert "reached through the jump host 127.0.0.1:18023" in message and "--accept-new-host-key" in message


def test_changed_key_names_the_known_hosts_entry_of_a_port_22_host(key):
    other = new_key()
    error = hostkeys.changed_host_key_error("app.internal", other, key, "~/.ssh/known_hosts", role="the jump host ")
    assert str(error).startswith("host key of the jump host app.internal:22 has CHANGED")
    assert "ssh-keygen -f ~/.ssh/known_hosts -R 'app.internal'" in str(error)


@pytest.mark.parametrize("host, port, name", [
    ("127.0.0.1", 18022, "[127.0.0.1]:18022"), ("app.internal", 22, "app.internal"), ("::1", 2200, "[::1]:2200"),
])
def test_known_hosts_name_is_what_ssh_and_paramiko_write(host, port, name):
    assert hostkeys.known_hosts_name(host, port) == name


# --- every hop of a route -----------------------------------------------------------------------

def test_route_is_the_target_then_each_jump_host_nearest_first():
    outer = Connection("deploy@127.0.0.1:18001")
    inner = Connection("deploy@gw.internal", gateway=outer)
    target = Connection("deploy@app.internal", gateway=inner)
    assert hostkeys.route(target) == [target, inner, outer]
    proxied = Connection("deploy@app.internal", gateway="ssh -W %h:%p bastion")
    assert hostkeys.route(proxied) == [proxied]  # a ProxyCommand is not a connection of ours


def test_secure_route_replaces_fabrics_auto_add_policy_on_every_hop(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:18001 ssh-ed25519 {ED25519}\n")
    outer = Connection("deploy@127.0.0.1:18001")
    inner = Connection("deploy@gw.internal", gateway=outer)
    target = Connection("deploy@app.internal", gateway=inner)
    assert isinstance(outer.client._policy, paramiko.AutoAddPolicy)  # Fabric's default: what we replace
    hostkeys.secure_route(target, str(known), accept_new=False)
    for hop in (target, inner, outer):
        assert isinstance(hop.client._policy, hostkeys.RefuseUnknown), hop
        assert hop.client._system_host_keys.lookup("[127.0.0.1]:18001") is not None, hop
    assert target.client._policy.behind == "the jump host gw.internal:22"
    assert inner.client._policy.role == "the jump host " and inner.client._policy.behind == (
        "the jump host 127.0.0.1:18001")
    assert outer.client._policy.behind is None


def test_a_proxycommand_route_still_checks_the_target(tmp_path):
    target = Connection("deploy@app.internal", gateway="ssh -W %h:%p bastion")
    hostkeys.secure_route(target, str(tmp_path / "kh"), accept_new=True, dry_run=True)
    assert isinstance(target.client._policy, hostkeys.AcceptNew) and target.client._policy.dry_run
    assert target.client._policy.behind == "a ProxyCommand"
    assert "ProxyCommand" in hostkeys.__doc__ and "its own ssh" in hostkeys.__doc__


def test_secure_route_uses_each_hops_own_ssh_config(tmp_path):
    from fabric import Config

    gateways = tmp_path / "gateways"
    gateways.write_text(f"[127.0.0.1]:18001 ssh-ed25519 {ED25519}\n")
    config = tmp_path / "ssh_config"
    config.write_text(f"Host 127.0.0.1\n  UserKnownHostsFile {gateways}\n")
    outer = Connection("deploy@127.0.0.1:18001", config=Config(runtime_ssh_path=str(config)))
    target = Connection("deploy@app.internal", gateway=outer)
    hostkeys.secure_route(target, str(tmp_path / "kh"), accept_new=False)
    assert outer.client._system_host_keys.lookup("[127.0.0.1]:18001") is not None
    assert target.client._system_host_keys.lookup("[127.0.0.1]:18001") is None


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
    other = paramiko.Ed25519Key.from_private_key_file(ed25519_key_file())
    error = hostkeys.changed_host_key_error("[10.0.0.5]:2200", other, server_key, "~/.ssh/known_hosts")
    assert "has CHANGED" in str(error) and "man-in-the-middle" in str(error)
    assert "ssh-keygen -f ~/.ssh/known_hosts -R '[10.0.0.5]:2200'" in str(error)
