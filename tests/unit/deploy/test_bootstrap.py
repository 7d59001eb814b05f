"""`fab bootstrap`: the exact remote command sequence per distribution, the no-op re-run, each refusal."""

import json

import pytest
from fabric import Connection
from fabric.testing.base import Command, MockRemote, Session
from invoke.exceptions import AuthFailure

from deploy import bootstrap, config, preflight
from deploy.commands import compose, files, shell, system
from deploy.errors import DeployError
from deploy.host import Host
from deploy.report import Report
from tests.harness.os_release import OS_RELEASE

SETTINGS = config.load({}, {})
ROOT = "/home/deploy/apps/mysite"
LAYOUT = [(ROOT, "755"), (f"{ROOT}/releases", "755"), (f"{ROOT}/shared", "755"),
          (f"{ROOT}/shared/.envs", "700"), (f"{ROOT}/backups", "700")]
SUDO_OK = Command(shell.sudo("true"))
DETECT = compose.detect()


def sudo(cmd, **kwargs):
    return Command(shell.sudo(cmd), **kwargs)


def os_release(name):
    return Command("cat /etc/os-release", out=OS_RELEASE[name].encode())


def after_install(kind="v1", member=False, layout_exists=False):
    """Everything after the install step, for a server where docker came up with the package."""
    compose = "docker compose" if kind == "v2" else "docker-compose"
    cmds = [
        Command("systemctl is-active --quiet docker"),
        Command("systemctl is-enabled --quiet docker"),
        sudo("docker info --format '{{.ServerVersion}}'", out=b"26.1.5\n"),
        Command(DETECT, out=f"{kind}\n".encode()),
        Command(f"{compose} version --short", out=b"2.26.1\n"),
        Command("id -nG deploy", out=b"deploy docker\n" if member else b"deploy\n"),
    ]
    if not member:
        cmds.append(sudo("usermod -aG docker deploy"))
    cmds += [Command("docker ps"), Command('printf %s "$HOME"', out=b"/home/deploy")]
    for path, mode in LAYOUT:
        if layout_exists:
            cmds.append(Command(files.dir_state(path), out=f"deploy {mode}\n".encode()))
        else:
            cmds += [Command(files.dir_state(path)), Command(files.make_dir(path, None, int(mode, 8)))]
    return cmds + sysctl_step(done=layout_exists)


def sysctl_step(done=False):
    """tcp_migrate_req=1 in its sysctl.d file and loaded; ``done``: both were already so."""
    cmds = [Command(system.has_sysctl(system.MIGRATE_REQ)),
            Command(files.read_file(system.SYSCTL_FILE), out=system.SYSCTL_TEXT.encode() if done else b"")]
    if not done:
        cmds.append(sudo(files.write_file(system.SYSCTL_FILE, system.SYSCTL_TEXT, 0o644)))
    cmds.append(Command(system.sysctl_value(system.MIGRATE_REQ), out=b"1\n" if done else b"0\n"))
    if not done:
        cmds.append(sudo(system.load_sysctl(system.SYSCTL_FILE)))
    return cmds


def test_the_sysctl_file_and_its_value_exactly():
    assert system.SYSCTL_FILE == "/etc/sysctl.d/60-mysite.conf"
    assert system.SYSCTL_TEXT.endswith("\nnet.ipv4.tcp_migrate_req = 1\n")
    assert system.has_sysctl(system.MIGRATE_REQ) == "test -e /proc/sys/net/ipv4/tcp_migrate_req"
    assert system.sysctl_value(system.MIGRATE_REQ) == "cat /proc/sys/net/ipv4/tcp_migrate_req"
    assert system.load_sysctl(system.SYSCTL_FILE) == "sysctl -p /etc/sysctl.d/60-mysite.conf"


def test_a_kernel_without_tcp_migrate_req_is_told_and_nothing_is_written(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[Command(system.has_sysctl(system.MIGRATE_REQ), exit=1)]))
        bootstrap.hand_over_waiting_connections(remote(), Report())
    assert "this kernel has no net.ipv4.tcp_migrate_req (Linux >= 5.14)" in capsys.readouterr().out


def test_a_file_in_place_but_not_loaded_is_loaded(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(system.has_sysctl(system.MIGRATE_REQ)),
            Command(files.read_file(system.SYSCTL_FILE), out=system.SYSCTL_TEXT.encode()),
            Command(system.sysctl_value(system.MIGRATE_REQ), out=b"0\n"),
            sudo(system.load_sysctl(system.SYSCTL_FILE))]))
        report = Report()
        bootstrap.hand_over_waiting_connections(remote(), report)
        report.summary()
    assert "changed: net.ipv4.tcp_migrate_req=1 in /etc/sysctl.d/60-mysite.conf" in capsys.readouterr().out


def remote(**kwargs):
    return Host(Connection("deploy@srv.example"), **kwargs)


def run_bootstrap(cmds, **kwargs):
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=cmds))
        host = remote()
        bootstrap.bootstrap(host, SETTINGS, **kwargs)
        return mock.sessions[0].client


INSTALLS = {
    "centos7": ["yum install -y yum-utils device-mapper-persistent-data lvm2",
                "yum-config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo",
                "yum install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin"],
    "rocky9": ["dnf install -y dnf-plugins-core",
               "dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo",
               "dnf install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin"],
    "debian12": ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose"],
    "debian13": ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose"],
    "ubuntu2404": ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose-v2"],
}


@pytest.mark.parametrize("name", sorted(INSTALLS))
def test_fresh_server_gets_the_exact_command_sequence(name, capsys):
    kind = "v1" if name == "debian12" else "v2"
    # rpm installs do not start docker: systemctl says inactive and bootstrap starts it
    started_by_package = name.startswith(("debian", "ubuntu"))
    tail = after_install(kind)
    if not started_by_package:
        tail[:2] = [Command("systemctl is-active --quiet docker", exit=3),
                    Command("systemctl is-enabled --quiet docker", exit=1),
                    sudo("systemctl enable --now docker")]
    run_bootstrap([SUDO_OK, os_release(name), Command("docker --version", exit=127),
                   *[sudo(c) for c in INSTALLS[name]], *tail])
    out = capsys.readouterr().out
    assert "changed: installed" in out and "changed: deploy in the docker group" in out
    assert "nothing changed" not in out


def test_second_run_installs_nothing_and_says_so(capsys):
    run_bootstrap([SUDO_OK, os_release("debian12"), Command("docker --version", out=b"Docker 20.10\n"),
                   Command(DETECT, out=b"v1\n"), *after_install("v1", member=True, layout_exists=True)])
    out = capsys.readouterr().out
    assert "already in place: Docker and Compose are installed" in out
    assert "nothing changed: everything was already in place" in out


def test_new_group_member_reconnects_before_docker_ps():
    client = run_bootstrap([SUDO_OK, os_release("debian13"), Command("docker --version"),
                            Command(DETECT, out=b"v2\n"), *after_install("v2", layout_exists=True)])
    client.close.assert_called_once_with()


def test_no_sudo_is_one_line_and_nothing_else_runs():
    with pytest.raises(DeployError) as info:
        run_bootstrap([Command(shell.sudo("true"), err=b"sudo: a password is required\n", exit=1)])
    assert str(info.value) == (
        "deploy@srv.example has no passwordless sudo: add `deploy ALL=(ALL) NOPASSWD:ALL` with visudo (as root), "
        "or run `fab --prompt-for-sudo-password -H ... TASK` if deploy may use sudo with a password")


def test_wrong_sudo_password_is_one_line(monkeypatch):
    host = Host(Connection("deploy@srv.example", config=_sudo_password_config()))

    def refuse(*args, **kwargs):
        raise AuthFailure(result=None, prompt="[sudo] password: ")

    monkeypatch.setattr(host.conn, "sudo", refuse)
    with pytest.raises(DeployError, match="sudo on deploy@srv.example refused the password"):
        preflight.check_sudo(host)


def _sudo_password_config():
    from fabric import Config
    return Config(overrides={"sudo": {"password": "secret"}})


def test_unsupported_distribution_is_refused_before_any_change():
    with pytest.raises(DeployError, match="Alpine Linux v3.20 is not supported .* supported are Debian 12-13"):
        run_bootstrap([SUDO_OK, os_release("alpine"), Command("docker --version", exit=127)])


@pytest.mark.parametrize("url", ["ftp://mirror.example", "mirror.example", "https://", "https://u:p@m.example",
                                 "https://m.example/?x=1", "https://m.example/'; rm -rf /"])
def test_bad_mirror_url_is_refused_before_connecting(url):
    with MockRemote() as mock:
        with pytest.raises(DeployError, match="is not a usable mirror URL"):
            bootstrap.bootstrap(remote(), SETTINGS, registry_mirror=url)
        client = mock.sessions[0].client
    client.connect.assert_not_called()


def test_mirror_is_merged_keeping_other_keys_and_docker_restarts():
    current = '{"log-driver": "journald", "registry-mirrors": ["https://a.example"]}'
    merged = json.dumps({"log-driver": "journald", "registry-mirrors": ["https://a.example", "http://m.example:5000"]},
                        indent=2) + "\n"
    assert bootstrap.merge_mirror(current, "http://m.example:5000") == merged
    tail = after_install("v1", member=True, layout_exists=True)
    run_bootstrap([SUDO_OK, os_release("debian12"), Command("docker --version"), Command(DETECT, out=b"v1\n"),
                   *tail[:2], Command(files.read_file("/etc/docker/daemon.json"), out=current.encode()),
                   sudo(files.write_file("/etc/docker/daemon.json", merged, 0o644)),
                   sudo("systemctl restart docker"), *tail[2:]],
                  registry_mirror="http://m.example:5000/")


def test_mirror_already_there_does_not_restart_docker():
    tail = after_install("v1", member=True, layout_exists=True)
    run_bootstrap([SUDO_OK, os_release("debian12"), Command("docker --version"), Command(DETECT, out=b"v1\n"),
                   *tail[:2], Command(files.read_file("/etc/docker/daemon.json"),
                                      out=b'{"registry-mirrors": ["https://m.example/"]}'), *tail[2:]],
                  registry_mirror="https://m.example")


@pytest.mark.parametrize("text, words", [("{oops", "not valid JSON"), ("[1]", "not a JSON object")])
def test_broken_daemon_json_is_never_overwritten(text, words):
    with pytest.raises(DeployError, match=words):
        bootstrap.merge_mirror(text, "https://m.example")


def test_app_path_outside_home_uses_sudo_and_chown():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command('printf %s "$HOME"', out=b"/home/deploy"),
            *[c for path, mode in [("/srv/blog", 0o755), ("/srv/blog/releases", 0o755), ("/srv/blog/shared", 0o755),
                                   ("/srv/blog/shared/.envs", 0o700), ("/srv/blog/backups", 0o700)]
              for c in (Command(files.dir_state(path)), sudo(files.make_dir(path, "deploy", mode)))]]))
        bootstrap.create_app_layout(remote(), config.load({"app_path": "/srv/blog"}, {}), Report())


def test_dry_run_reads_the_server_but_only_prints_changes(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            SUDO_OK, os_release("debian12"), Command("docker --version", exit=127),
            Command("systemctl is-active --quiet docker", exit=3),
            Command("systemctl is-enabled --quiet docker", exit=1),
            Command("id -nG deploy", out=b"deploy\n"),
            Command('printf %s "$HOME"', out=b"/home/deploy"),  # a read-only probe, real in a dry run too
            *[Command(files.dir_state(path)) for path, _ in LAYOUT],
            Command(system.has_sysctl(system.MIGRATE_REQ)), Command(files.read_file(system.SYSCTL_FILE)),
            Command(system.sysctl_value(system.MIGRATE_REQ), out=b"0\n")]))
        bootstrap.bootstrap(remote(dry_run=True), SETTINGS)
    out = capsys.readouterr().out
    assert "[dry-run] sudo -n sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose'" in out
    assert "would change: installed docker.io docker-compose" in out
