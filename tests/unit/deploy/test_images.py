"""Building here and shipping only missing layers: exact builders, pure helpers, and the step sequences."""

import pytest

from deploy import images
from deploy.commands import images as commands
from deploy.errors import DeployError
from deploy.local import Local

REL = "20261124100509-bbbbbbb"
A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64


def test_registry_runs_on_loopback_only_with_its_storage_in_a_volume():
    assert commands.start_registry() == ("docker run -d --name mysite-registry --restart unless-stopped "
                                         "-p 127.0.0.1::5000 -v mysite-registry:/var/lib/registry registry:2")
    assert commands.registry_port() == "docker port mysite-registry 5000"


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
    from tests.unit.deploy.sshserver import SSHServer, new_key_file

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


def ship(host_commands, local, monkeypatch):
    from contextlib import nullcontext

    from fabric.testing.base import MockRemote

    from tests.unit.deploy.mockremote import remote, session

    monkeypatch.setattr(images.random, "randint", lambda low, high: 31337)
    with MockRemote() as mock:
        mock.expect_sessions(session(*host_commands))
        host = remote()
        monkeypatch.setattr(host, "forward_remote", lambda remote_port, local_port: nullcontext())
        images.ship([host], local, BUILT)


def pulled(image, image_id):
    from fabric.testing.base import Command

    return Command(commands.pull_as(commands.at(31337, image), image), out=f"{image_id}\n".encode())


def test_ship_pushes_once_then_the_host_pulls_through_its_tunnel_and_checks_every_id(monkeypatch):
    local = FakeLocal({commands.registry_state(): "exited\n", commands.registry_port(): "127.0.0.1:49153\n"})
    ship([pulled(APP, "sha256:app"), pulled(NGINX, "sha256:nginx")], local, monkeypatch)
    assert local.log == [
        commands.registry_state(), commands.restart_registry(), commands.registry_port(),
        commands.tag(APP, commands.at(49153, APP)), commands.push(commands.at(49153, APP)),
        commands.untag(commands.at(49153, APP)),
        commands.tag(NGINX, commands.at(49153, NGINX)), commands.push(commands.at(49153, NGINX)),
        commands.untag(commands.at(49153, NGINX))]


def test_a_first_ship_starts_the_registry(monkeypatch):
    local = FakeLocal({commands.registry_port(): "127.0.0.1:49153\n"})
    ship([pulled(APP, "sha256:app"), pulled(NGINX, "sha256:nginx")], local, monkeypatch)
    assert local.log[:3] == [commands.registry_state(), commands.start_registry(), commands.registry_port()]


def test_an_image_id_that_differs_from_this_machines_stops_the_deploy(monkeypatch):
    local = FakeLocal({commands.registry_state(): "running\n", commands.registry_port(): "127.0.0.1:49153\n"})
    with pytest.raises(DeployError) as info:
        ship([pulled(APP, "sha256:other")], local, monkeypatch)
    assert str(info.value) == (f"{APP} on deploy@srv.example:2200 is sha256:other, not sha256:app as built here: "
                               "deploy again")


def test_a_host_on_another_architecture_is_refused_naming_both(monkeypatch):
    from fabric.testing.base import Command, MockRemote

    from tests.unit.deploy.mockremote import remote, session

    with MockRemote() as mock:
        mock.expect_sessions(session(Command(commands.architecture(), out=b"aarch64\n")))
        with pytest.raises(DeployError) as info:
            images.check_architecture(remote(), "x86_64")
    assert str(info.value) == ("deploy@srv.example:2200 runs aarch64 but this machine's Docker builds x86_64 images: "
                               "deploy with --build server (the server builds for itself)")


def test_a_host_without_room_for_the_new_layers_is_refused_with_both_numbers():
    from fabric.testing.base import Command, MockRemote

    from tests.unit.deploy.mockremote import remote, session

    built = images.Built(REL, {}, {APP: [(A, 900 * images.MB)], NGINX: [(B, 100 * images.MB)]})
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(commands.layers(), out=f"{B}\n".encode()),
                                     Command(commands.free_bytes(), out=f"{1000 * images.MB}\n".encode())))
        with pytest.raises(DeployError) as info:
            images.check_disk(remote(), built)
    assert str(info.value) == ("deploy@srv.example:2200 has 1000 MB free for Docker images and the new layers need "
                               "about 1350 MB (with their download): free some space there (`docker system prune`), "
                               "then deploy again")
