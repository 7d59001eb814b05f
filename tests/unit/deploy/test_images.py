"""Building here and shipping only missing layers: exact builders, pure helpers, and the step sequences."""

import pytest

from deploy import images
from deploy.commands import images as commands
from deploy.errors import DeployError
from deploy.local import Local

REL = "20261124100509-bbbbbbb"
A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64


def test_registry_runs_on_loopback_only_with_its_storage_in_a_volume():
    assert commands.start_registry() == ("docker run -d --name mysite-registry "
                                         "-p 127.0.0.1::5000 -v mysite-registry:/var/lib/registry registry:2")
    assert commands.registry_port() == "docker port mysite-registry 5000"


def test_the_registry_servers_pull_from_is_read_only_and_needs_the_ships_login():
    assert commands.create_serving_registry() == (
        "docker create --name mysite-registry -p 127.0.0.1::5000 -v mysite-registry:/var/lib/registry "
        "-e 'REGISTRY_STORAGE_MAINTENANCE_READONLY={\"enabled\":true}' -e REGISTRY_AUTH=htpasswd "
        "-e REGISTRY_AUTH_HTPASSWD_REALM=mysite -e REGISTRY_AUTH_HTPASSWD_PATH=/etc/docker/registry/htpasswd "
        "registry:2")
    assert commands.copy_htpasswd("/tmp/x/htpasswd") == (
        "docker cp /tmp/x/htpasswd mysite-registry:/etc/docker/registry/htpasswd")
    assert commands.start_created_registry() == "docker start mysite-registry >/dev/null"
    assert commands.remove_registry() == "docker rm -f mysite-registry >/dev/null"


def test_the_servers_login_is_read_from_stdin_and_removed_after():
    assert commands.login(31337, "mysite-deploy") == (
        "docker login --username mysite-deploy --password-stdin 127.0.0.1:31337 >/dev/null")
    assert commands.logout(31337) == "docker logout 127.0.0.1:31337 >/dev/null"


def test_the_htpasswd_line_holds_a_bcrypt_hash_of_the_password_only():
    import bcrypt

    line = images.htpasswd_line("mysite-deploy", "s3cret")
    user, _, hashed = line.rstrip("\n").partition(":")
    assert user == "mysite-deploy" and line.endswith("\n") and "s3cret" not in line
    assert hashed.startswith("$2b$04$") and bcrypt.checkpw(b"s3cret", hashed.encode())


def test_prune_keeps_only_the_shipped_release_then_collects_garbage():
    assert commands.prune_registry(REL) == (
        "docker exec mysite-registry sh -c 'find /var/lib/registry/docker/registry/v2/repositories/*/_manifests/tags "
        f"-mindepth 1 -maxdepth 1 ! -name {REL} -exec rm -rf {{}} +; "
        "registry garbage-collect --delete-untagged /etc/docker/registry/config.yml >/dev/null'")


@pytest.mark.parametrize(("text", "setting"), [("gatewayports no\n", "no"), ("GatewayPorts yes\n", "yes"),
                                               ("gatewayports clientspecified\n", "clientspecified"), ("", "")])
def test_sshds_gateway_ports_setting_is_read_from_sshd_t(text, setting):
    assert commands.gateway_ports() == "sshd -T | grep -i '^gatewayports '"
    assert commands.parse_gateway_ports(text) == setting


@pytest.mark.parametrize(("text", "port"), [("127.0.0.1:49153\n", 49153), ("0.0.0.0:5000\n", 0), ("", 0),
                                            ("[::1]:6000\n127.0.0.1:6001\n", 6001)])
def test_only_a_loopback_binding_counts_as_the_registrys_port(text, port):
    assert commands.parse_port(text) == port


def test_a_server_pulls_through_its_tunnel_renames_and_reports_the_id():
    remote = commands.at(31337, f"mysite-django:{REL}")
    assert remote == f"127.0.0.1:31337/mysite-django:{REL}"
    assert commands.pull_as(remote, f"mysite-django:{REL}") == (
        f"docker pull -q {remote} >/dev/null && docker tag {remote} mysite-django:{REL} && "
        f"docker rmi {remote} >/dev/null && docker image inspect -f '{{{{.Id}}}}' mysite-django:{REL}")


def test_layers_of_an_engine_without_images_is_empty_not_an_error():
    assert commands.layers().startswith('ids=$(docker images -aq); [ -z "$ids" ] || ')


def test_history_sizes_pair_with_the_non_empty_layers_in_order():
    assert images.pair_sizes([A, images.EMPTY_LAYER, B], [0, 700, 0, 0, 30]) == [
        (A, 700), (images.EMPTY_LAYER, 0), (B, 30)]


def test_an_unusual_history_counts_every_layer_at_the_average():
    assert images.pair_sizes([A, B], [10, 20, 30]) == [(A, 30), (B, 30)]


def test_missing_bytes_counts_each_layer_once_and_only_what_the_host_lacks():
    built = images.Built(REL, {}, {"app": [(A, 100), (B, 10)], "nginx": [(A, 100), (C, 5)]})
    assert built.missing_bytes(set()) == 115
    assert built.missing_bytes({A}) == 15
    assert built.missing_bytes({A, B, C}) == 0


def test_no_engine_here_says_to_build_on_the_server(monkeypatch):
    local = Local()
    monkeypatch.setattr(local, "probe", lambda command: type("R", (), {"returncode": 1, "stdout": ""})())
    with pytest.raises(DeployError) as info:
        images.local_architecture(local)
    assert str(info.value) == ("no Docker engine answers on this machine (`docker info` failed), so it cannot build "
                               "the images: start Docker here, or deploy with --build server (the server builds)")


def test_a_server_that_refuses_port_forwarding_is_one_line(tmp_path):
    """A real SSH server that says no to every forwarding request, as sshd with `AllowTcpForwarding no` does."""
    from fabric import Connection

    from deploy.host import connect
    from tests.harness.sshserver import SSHServer, new_key_file

    identity = {"key_filename": [new_key_file(tmp_path / "id")], "look_for_keys": False, "allow_agent": False}
    with SSHServer() as server:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line())
        host = connect(Connection(f"deploy@127.0.0.1:{server.port}", connect_kwargs=identity),
                       known_hosts=str(known))
        with pytest.raises(DeployError) as info, images.tunnel(host, 5000):
            raise AssertionError("the block must not run without a tunnel")
    assert str(info.value) == (
        f"sshd on deploy@127.0.0.1:{server.port} refuses to open the SSH tunnel to this machine's registry "
        "(`AllowTcpForwarding no` in its sshd_config?): allow TCP forwarding for the deploy user, or deploy with "
        "--build server")


def test_a_dry_run_only_says_which_tunnel_it_would_open(capsys):
    from fabric import Connection

    from deploy.host import Host

    with images.tunnel(Host(Connection("deploy@srv.example"), dry_run=True), 5000) as port:
        assert 20000 <= port <= 60000
    assert f"[dry-run] tunnel: srv.example's 127.0.0.1:{port} -> 127.0.0.1:5000 here" in capsys.readouterr().out


class FakeLocal(Local):
    """This machine, recorded: probes answer from ``answers`` (by command), runs are only logged."""

    def __init__(self, answers=None):
        super().__init__()
        self.answers, self.log = answers or {}, []

    def run(self, command, **kwargs):
        self.log.append(command)
        return self.answers.get(command, "")

    def probe(self, command):
        self.log.append(command)
        out = self.answers.get(command, "")
        return type("Done", (), {"returncode": 0 if out else 1, "stdout": out})()


APP, NGINX = f"mysite-django:{REL}", f"mysite-nginx:{REL}"
BUILT = images.Built(REL, {APP: "sha256:app", NGINX: "sha256:nginx"}, {APP: [(A, 10)], NGINX: [(B, 5)]})


PASSWORD = "s3cret-for-one-ship"


class RegistryLocal(FakeLocal):
    """This machine with a registry container, which also keeps the htpasswd file each serving registry gets."""

    def __init__(self, port="127.0.0.1:49153\n"):
        super().__init__({commands.registry_state(): "running\n", commands.registry_port(): port})
        self.htpasswd = []

    def run(self, command, **kwargs):
        if command.startswith("docker cp "):
            with open(command.split()[2]) as handle:
                self.htpasswd.append(handle.read())
            command = commands.copy_htpasswd("HTPASSWD")
        return super().run(command, **kwargs)


def ship(host_commands, local, monkeypatch):
    from contextlib import nullcontext

    from fabric.testing.base import MockRemote

    from tests.harness.mockremote import remote, session

    monkeypatch.setattr(images.random, "randint", lambda low, high: 31337)
    monkeypatch.setattr(images.secrets, "token_urlsafe", lambda size: PASSWORD)
    monkeypatch.setattr(images, "wait_until_answers", lambda port: None)
    with MockRemote() as mock:
        mock.expect_sessions(session(*host_commands))
        host = remote()
        monkeypatch.setattr(host, "forward_remote", lambda remote_port, local_port: nullcontext())
        images.ship([host], local, BUILT)


def pulled(image, image_id, exit=0):
    from fabric.testing.base import Command

    return Command(commands.pull_as(commands.at(31337, image), image), out=f"{image_id}\n".encode(), exit=exit)


def logged_in():
    from fabric.testing.base import Command

    return Command(commands.login(31337, images.REGISTRY_USER), in_=PASSWORD.encode())


LOGGED_OUT = commands.logout(31337)


def served(port=49153):
    """This machine's commands from the start of a ship to the servers' pulls."""
    pushed = []
    for image in (APP, NGINX):
        pushed += [commands.tag(image, commands.at(port, image)), commands.push(commands.at(port, image)),
                   commands.untag(commands.at(port, image))]
    return [commands.registry_state(), commands.remove_registry(), commands.start_registry(),
            commands.registry_port(), *pushed,
            commands.registry_state(), commands.remove_registry(), commands.create_serving_registry(),
            commands.copy_htpasswd("HTPASSWD"), commands.start_created_registry(), commands.registry_port()]


def test_ship_pushes_to_a_writable_registry_then_serves_the_pulls_read_only_with_a_fresh_login(monkeypatch):
    import bcrypt

    local = RegistryLocal()
    ship([logged_in(), pulled(APP, "sha256:app"), pulled(NGINX, "sha256:nginx"), LOGGED_OUT], local, monkeypatch)
    assert local.log == [*served(), commands.prune_registry(REL), commands.registry_state(),
                         commands.remove_registry()]
    user, _, hashed = local.htpasswd[0].strip().partition(":")
    assert user == images.REGISTRY_USER and bcrypt.checkpw(PASSWORD.encode(), hashed.encode())


def test_a_failed_pull_still_logs_the_server_out_and_removes_the_registry(monkeypatch):
    local = RegistryLocal()
    with pytest.raises(DeployError) as info:
        ship([logged_in(), pulled(APP, "", exit=1), LOGGED_OUT], local, monkeypatch)
    assert str(info.value).startswith(f"deploy@srv.example:2200 could not pull {APP} through the tunnel")
    assert local.log == [*served(), commands.registry_state(), commands.remove_registry()]  # no prune


def test_an_image_id_that_differs_from_this_machines_stops_the_deploy(monkeypatch):
    local = RegistryLocal()
    with pytest.raises(DeployError) as info:
        ship([logged_in(), pulled(APP, "sha256:other"), LOGGED_OUT], local, monkeypatch)
    assert str(info.value) == (f"{APP} on deploy@srv.example:2200 is sha256:other, not sha256:app as built here: "
                               "deploy again")


def gateway_refusal(answer, monkeypatch=None):
    from fabric import Connection
    from fabric.testing.base import Command, MockRemote

    from deploy.commands.shell import sudo
    from tests.harness.mockremote import session

    with MockRemote() as mock:
        mock.expect_sessions(session(Command(sudo(commands.gateway_ports()), out=answer.encode(),
                                             exit=0 if answer else 1)))
        from deploy.host import Host

        with pytest.raises(DeployError) as info:
            images.check_tunnel(Host(Connection("deploy@srv.example:2200")))
    return str(info.value)


@pytest.mark.parametrize("setting", ["yes", "clientspecified"])
def test_an_sshd_that_lets_tunnels_listen_on_the_network_is_refused_before_any_tunnel(setting):
    assert gateway_refusal(f"gatewayports {setting}\n") == (
        f"sshd on deploy@srv.example:2200 has `GatewayPorts {setting}`, so the tunnel to this machine's registry "
        "would listen on the server's network, not only its loopback: set `GatewayPorts no` in its sshd_config "
        "(and reload sshd), or deploy with --build server")


def test_an_sshd_whose_settings_cannot_be_read_is_refused():
    assert gateway_refusal("") == (
        "could not read sshd's GatewayPorts on deploy@srv.example:2200 (`sudo sshd -T` failed), so the tunnel to this "
        "machine's registry might listen on the server's network: give the deploy user sudo (or pass "
        "--prompt-for-sudo-password), or deploy with --build server")


def test_a_host_on_another_architecture_is_refused_naming_both(monkeypatch):
    from fabric.testing.base import Command, MockRemote

    from tests.harness.mockremote import remote, session

    with MockRemote() as mock:
        mock.expect_sessions(session(Command(commands.architecture(), out=b"aarch64\n")))
        with pytest.raises(DeployError) as info:
            images.check_architecture(remote(), "x86_64")
    assert str(info.value) == ("deploy@srv.example:2200 runs aarch64 but this machine's Docker builds x86_64 images: "
                               "deploy with --build server (the server builds for itself)")


def test_a_host_without_room_for_the_new_layers_is_refused_with_both_numbers():
    from fabric.testing.base import Command, MockRemote

    from tests.harness.mockremote import remote, session

    built = images.Built(REL, {}, {APP: [(A, 900 * images.MB)], NGINX: [(B, 100 * images.MB)]})
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(commands.layers(), out=f"{B}\n".encode()),
                                     Command(commands.free_bytes(), out=f"{1000 * images.MB}\n".encode())))
        with pytest.raises(DeployError) as info:
            images.check_disk(remote(), built)
    assert str(info.value) == ("deploy@srv.example:2200 has 1000 MB free for Docker images and the new layers need "
                               "about 1350 MB (with their download): free some space there (`docker system prune`), "
                               "then deploy again")


def test_the_registry_is_used_once_it_answers_even_with_401(monkeypatch):
    import http.server
    import threading

    class Unauthorized(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args):
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Unauthorized) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        images.wait_until_answers(server.server_address[1], seconds=5)


def test_a_registry_that_never_answers_is_one_line():
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(DeployError) as info:
        images.wait_until_answers(port, seconds=0.5)
    assert str(info.value) == (f"the registry container mysite-registry did not answer on 127.0.0.1:{port} within "
                               "0.5s: see `docker logs mysite-registry`, then deploy again")


@pytest.mark.timeout(60)
def test_ctrl_c_while_servers_pull_ends_every_pull_and_tunnel_at_once(tmp_path, monkeypatch):
    """Real SSH connections whose pulls never finish: Ctrl-C must not wait for them (up to 30 minutes each)."""
    import signal
    import threading
    import time

    from fabric import Connection

    from deploy.host import connect
    from tests.harness.sshserver import SSHServer, new_key_file

    identity = {"key_filename": [new_key_file(tmp_path / "id")], "look_for_keys": False, "allow_agent": False}
    servers = [SSHServer(forwarding=True, hang="docker pull", reads="--password-stdin") for _ in range(2)]
    known = tmp_path / "known_hosts"
    known.write_text("".join(server.known_hosts_line() for server in servers))
    hosts = [connect(Connection(f"deploy@127.0.0.1:{server.port}", connect_kwargs=identity), known_hosts=str(known))
             for server in servers]

    sent = []

    def interrupt_when_both_pull():
        while not all(any("docker pull" in c for c in server.commands) for server in servers):
            time.sleep(0.05)
        time.sleep(0.2)
        sent.append(time.monotonic())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C

    monkeypatch.setattr(images, "wait_until_answers", lambda port: None)
    local = RegistryLocal()
    # Ctrl-C as in a terminal: a test run started in the background (nohup, `cmd &`) inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler (the pulls would wait for ever)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=interrupt_when_both_pull, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            images.ship(hosts, local, BUILT)
    finally:
        signal.signal(signal.SIGINT, previous)
    # at once: seconds at most on a busy machine, where each hanging pull would otherwise wait its 30 minutes
    assert time.monotonic() - sent[0] < 10
    for server in servers:
        # the tunnels are closed (the server's side sees the client's close a moment later on a busy machine)
        deadline = time.monotonic() + 10
        while any(t.is_active() for t in server.forwarded) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.forwarded and not any(t.is_active() for t in server.forwarded)
        assert server.commands[-1].startswith("docker logout 127.0.0.1:")  # and the login removed
        server.close()
    assert local.log[-2:] == [commands.registry_state(), commands.remove_registry()]
