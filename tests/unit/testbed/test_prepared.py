"""The prepared server's pieces without Docker: its cache key, its build, its snapshot and copies, the laptop's key."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

import paramiko
import pytest
from paramiko import SSHClient

from deploy import hostkeys
from deploy.commands import compose
from testbed import servers
from tests.harness import prepared

FILES = {"deploy/host.py": b"one", "Pipfile.lock": b"{}"}
LOADED = {"python:3.11-slim-bookworm": "sha256:a", "postgres:17": "sha256:b"}


def test_the_cache_key_follows_every_input():
    key = prepared.recipe_hash(FILES, "mysite-e2e-server:bookworm-1", LOADED)
    assert key == prepared.recipe_hash(dict(reversed(FILES.items())), "mysite-e2e-server:bookworm-1", LOADED)
    changed = [
        prepared.recipe_hash({**FILES, "Pipfile.lock": b"{ }"}, "mysite-e2e-server:bookworm-1", LOADED),
        prepared.recipe_hash({**FILES, "tasks/new.py": b""}, "mysite-e2e-server:bookworm-1", LOADED),
        prepared.recipe_hash(FILES, "mysite-e2e-server:bookworm-2", LOADED),
        prepared.recipe_hash(FILES, "mysite-e2e-server:bookworm-1", {**LOADED, "postgres:17": "sha256:c"}),
    ]
    assert len({key, *changed}) == 5


def test_the_inputs_are_the_files_a_checkout_carries_under_the_inputs(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name, text in {"deploy/a.py": "a", "deploy/new.py": "n", "deploy/x.pyc": "c", "blog/views.py": "v",
                       ".gitignore": "*.pyc\n", "Pipfile.lock": "{}"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git("add", "deploy/a.py", ".gitignore")
    # tracked or not, as make_checkout copies them; never an ignored file, nothing outside INPUTS
    assert prepared.input_files(tmp_path) == {"Pipfile.lock": b"{}", "deploy/a.py": b"a", "deploy/new.py": b"n"}


def test_the_build_uses_the_deploys_own_compose_command_and_keeps_only_the_layers():
    script = prepared.build_cache_script("v1")
    assert compose.command("v1", ["production.yml"], "build", project="mysite") in script
    assert "COMPOSE_DOCKER_CLI_BUILD" not in script and "DOCKER_BUILDKIT" not in script  # as the deploy builds
    assert "docker rmi --no-prune mysite-django:prepare mysite-nginx:prepare" in script  # untagged, layers kept
    assert script.endswith(f"rm -rf {prepared.BUILD_DIR} {prepared.BUILD_ENV_FILE}")


def test_the_laptop_gets_the_line_that_fab_bootstrap_records(tmp_path, monkeypatch):
    key = paramiko.Ed25519Key.from_private_key_file(str(_ed25519(tmp_path)))
    server = servers.Server("srv", "bookworm", "img", 18022, 18080, 18443, "k", "kh")
    rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"
    monkeypatch.setattr(servers.Server, "host_key_lines",
                        lambda self: [rsa, f"{key.get_name()} {key.get_base64()}"])
    recorded = tmp_path / "known_hosts"
    hostkeys.AcceptNew(str(recorded)).missing_host_key(SSHClient(), "[127.0.0.1]:18022", key)
    assert prepared.known_hosts_line(server) + "\n" == recorded.read_text()


def _ed25519(folder: Path) -> Path:
    path = folder / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def test_a_server_from_a_template_gets_a_copy_of_it_before_it_boots(monkeypatch, tmp_path):
    calls = []
    _no_docker(monkeypatch, tmp_path, calls)
    server = servers.start_server(image="mysite-e2e-server:prepared-1", name="x", docker_from="template")
    copy = servers.copy_volume_argv("template", server.volume, "mysite-e2e-server:prepared-1")
    runs = [i for i, argv in enumerate(calls) if argv[:2] == ["docker", "run"]]
    assert calls[runs[0]] == copy and calls[runs[1]][-2:] == ["mysite-e2e-server:prepared-1", "/sbin/init"]
    assert calls[runs[0] - 1] == ["docker", "volume", "create", "--label", f"{servers.LABEL}=1", server.volume]


def _template(monkeypatch, tmp_path, kept: list[bool]) -> list[tuple[str, str]]:
    """prepared() with no Docker: its lock in ``tmp_path``, the template there once ``kept`` says so; what it made."""
    made = []
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(prepared, "loaded_images", lambda: list(LOADED))
    monkeypatch.setattr(prepared, "image_id", LOADED.get)
    monkeypatch.setattr(prepared, "input_files", lambda: FILES)
    monkeypatch.setattr(servers, "build_server_image", lambda suite: "mysite-e2e-server:bookworm-1")
    monkeypatch.setattr(servers, "image_exists", lambda tag: kept[0])
    monkeypatch.setattr(servers, "volume_exists", lambda name: kept[0])
    monkeypatch.setattr(servers, "run", lambda argv, **kw: subprocess.CompletedProcess(argv, 0, "", ""))
    monkeypatch.setattr(servers, "record_timing", lambda *args: None)
    monkeypatch.setattr(prepared, "remove_stale", lambda keep: None)

    def prepare(tag, volume):
        made.append((tag, volume))
        kept[0] = True

    monkeypatch.setattr(prepared, "prepare", prepare)
    return made


def test_a_copy_under_way_does_not_hold_up_another_servers_look_at_the_template(monkeypatch, tmp_path):
    """Copies hold the lock shared (start_prepared): a look that took it exclusively waited for every copy, so
    three servers started at once were copied two, then one."""
    made = _template(monkeypatch, tmp_path, kept=[True])
    found = []
    with servers._file_lock(prepared.LOCK, shared=True):  # a copy under way
        look = threading.Thread(target=lambda: found.append(prepared.prepared()), daemon=True)
        look.start()
        look.join(timeout=10)
    assert found and found[0][1].startswith(prepared.VOLUME_PREFIX) and made == []


def test_a_missing_template_is_made_once_under_the_lock_alone(monkeypatch, tmp_path):
    made = _template(monkeypatch, tmp_path, kept=[False])
    assert prepared.prepared() == prepared.prepared() == made[0] and len(made) == 1


def test_a_volume_copy_keeps_what_overlay2_needs():
    argv = servers.copy_volume_argv("a", "b", "img")
    assert argv[-4:] == ["-a", "--preserve=xattr", "/from/.", "/to/"]  # links, devices, and xattrs or an error
    assert ["-v", "a:/from:ro"] == argv[argv.index("a:/from:ro") - 1:argv.index("a:/from:ro") + 1]
    assert "ALL" in argv and "seccomp=unconfined" in argv  # mknod for whiteouts, trusted.* xattrs


def test_a_snapshot_forgets_the_servers_identity_before_it_stops(monkeypatch):
    calls = []
    monkeypatch.setattr(servers, "run", lambda argv, **kw: calls.append(argv))
    monkeypatch.setattr(servers, "volume_exists", lambda name: True)
    monkeypatch.setattr(servers, "record_timing", lambda *args: None)
    monkeypatch.setattr(servers.Server, "exec", lambda self, cmd, **kw: calls.append(cmd))
    server = servers.Server("srv", "bookworm", "img", 1, 2, 3, "k", "kh", volume="srv-docker")
    servers.snapshot_server(server, "mysite-e2e-server:prepared-1", "template")
    assert calls[0] == servers.FORGET_IDENTITY
    assert calls[1][:2] == ["docker", "stop"]
    assert calls[2] == ["docker", "commit", "srv", "mysite-e2e-server:prepared-1"]
    assert calls[-1] == servers.copy_volume_argv("srv-docker", "template", "mysite-e2e-server:prepared-1")
    for identity in ("/etc/ssh/ssh_host_*", ": > /etc/machine-id", "/etc/docker/key.json", "/var/lib/docker/engine-id",
                     "/var/lib/docker/network/files/local-kv.db"):  # docker0's subnet: picked again at each boot
        assert identity in servers.FORGET_IDENTITY
    # the engine stops first: its store is not rewritten after it is gone
    assert servers.FORGET_IDENTITY.index("systemctl stop docker.socket docker.service") < (
        servers.FORGET_IDENTITY.index("local-kv.db"))


def test_a_missing_template_is_an_error_not_an_empty_engine(monkeypatch):
    """`docker run -v NAME:/from` would create the missing volume empty, and the copy would be a server without
    images: refused before anything runs."""
    calls = []
    monkeypatch.setattr(servers, "run", lambda argv, **kw: calls.append(argv))
    monkeypatch.setattr(servers, "volume_exists", lambda name: False)
    with pytest.raises(servers.HarnessError, match="no such volume"):
        servers.copy_volume("gone", "new", "img")
    assert calls == []


def test_dockers_time_stamps_read_as_the_same_second():
    forms = ("2026-12-07T05:23:34Z", "2026-12-07T05:23:34.123456789Z", "2026-12-07T05:23:34+00:00")
    assert {servers.epoch(f) for f in forms} == {1796621014}


def _no_docker(monkeypatch, tmp_path, calls: list) -> None:
    """start_server with every docker command recorded and nothing waited for."""
    def run(argv, **kwargs):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    monkeypatch.setattr(servers, "E2E_DIR", tmp_path)
    monkeypatch.setattr(servers, "run", run)
    monkeypatch.setattr(servers, "volume_exists", lambda name: True)
    monkeypatch.setattr(servers, "record_timing", lambda *args: None)
    monkeypatch.setattr(servers, "harness_keypair", lambda: (tmp_path / "key", "ssh-ed25519 AAAA"))
    monkeypatch.setattr(servers.Server, "_inject_keys", lambda self: None)
    monkeypatch.setattr(servers.Server, "write_known_hosts", lambda self: "")
    monkeypatch.setattr(servers.Server, "wait_ready", lambda self: None)
    monkeypatch.setattr(servers.Server, "exec", lambda self, cmd, **kw: subprocess.CompletedProcess(cmd, 0, "", ""))


def test_a_server_given_a_copy_made_ahead_copies_nothing_and_owns_that_volume(monkeypatch, tmp_path):
    calls = []
    _no_docker(monkeypatch, tmp_path, calls)
    server = servers.start_server(image="mysite-e2e-server:prepared-1", name="x", docker_volume="made-ahead")
    assert server.volume == "made-ahead"
    assert [argv for argv in calls if argv[:2] == ["docker", "run"] and argv[-1] != "/sbin/init"] == []
    assert "made-ahead:/var/lib/docker" in " ".join(next(argv for argv in calls if argv[-1] == "/sbin/init"))
    server.remove()
    assert ["docker", "volume", "rm", "-f", "made-ahead"] in calls


def test_the_next_prepared_server_takes_a_copy_made_ahead_and_another_is_begun(monkeypatch, tmp_path):
    made, started = [], []
    monkeypatch.setattr(prepared, "prepared", lambda suite=prepared.SUITE: ("tag", "template"))
    monkeypatch.setattr(prepared, "known_hosts_line", lambda server: "line")
    monkeypatch.setattr(prepared, "_SPARES", [])
    monkeypatch.setattr(servers, "copy_volume", lambda source, target, image: made.append((source, target, image)))

    def factory(suite, **kwargs):
        started.append(kwargs)
        return object()

    (tmp_path / ".ssh").mkdir()
    prepared.start_prepared(factory, tmp_path)
    assert started == [{"image": "tag", "docker_from": "template"}]  # the first copies for itself
    prepared.start_prepared(factory, tmp_path)
    assert started[1]["docker_volume"] == made[0][1] and "docker_from" not in started[1]
    assert made[0][0] == "template" and made[0][1].startswith(servers.CONTAINER_PREFIX + "spare-")
    assert len(prepared._SPARES) == prepared.SPARES  # refilled for the next one

    removed = []
    monkeypatch.setattr(servers, "remove_volume_later", removed.append)
    spares = [copy.result() for _, copy in prepared._SPARES]
    prepared.discard_spares()
    assert prepared._SPARES == [] and removed == spares


def test_a_volume_removed_later_is_gone_before_a_server_of_that_name_starts(monkeypatch, tmp_path):
    calls, gate = [], threading.Event()

    def slow_run(argv, **kwargs):
        gate.wait(5)
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    monkeypatch.setattr(servers, "run", slow_run)
    servers.remove_volume_later("mysite-e2e-srv-x-docker")
    assert calls == []  # still going, in the background
    gate.set()
    _no_docker(monkeypatch, tmp_path, calls)
    servers.start_server(image="img", name="x")
    assert calls[0] == ["docker", "volume", "rm", "-f", "mysite-e2e-srv-x-docker"]  # before anything of the new one


def test_only_old_unused_server_volumes_are_stale(monkeypatch):
    volumes = {"mysite-e2e-srv-spare-1-docker": "2026-12-01T10:00:00Z",
               "mysite-e2e-srv-a-docker": "2026-12-07T11:00:00Z",  # half an hour old: a running test's
               "mysite-e2e-prepared-abc": "2026-12-01T10:00:00Z"}  # a template
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        out = " ".join(volumes) if argv[2] == "ls" else volumes.get(argv[-1], "")
        return subprocess.CompletedProcess(argv, 0, stdout=out, stderr="")

    monkeypatch.setattr(servers, "run", run)
    monkeypatch.setattr(servers.time, "time", lambda: 1796643000.0)  # 2026-12-07 11:30 UTC
    assert servers.remove_stale_volumes(6) == ["mysite-e2e-srv-spare-1-docker"]
    assert ["docker", "volume", "rm", "mysite-e2e-srv-spare-1-docker"] in calls
    assert "dangling=true" in calls[0] and f"label={servers.LABEL}=1" in calls[0]
