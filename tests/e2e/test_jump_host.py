"""`fab` through a jump host (ProxyJump), over real SSH, as a user runs it: the jump host's key is checked too.

Two fresh servers on one user-defined network; the target is reached only by its container name,
which the jump host resolves (Docker's DNS). The laptop's ssh config (`fab -S FILE`) says:

    Host target
      HostName <target container>
      ProxyJump deploy@127.0.0.1:<jump host's published SSH port>

No bootstrap: sshd is all these tasks need. Each test uses a known_hosts of its own.
"""

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testbed.servers import record_timing
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import fab as run_fab
from tests.harness.flows import make_laptop

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def servers(module_server_network, module_server_factory, server_image):
    """(jump host, target), started side by side on one network."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        jump, target = pool.map(
            lambda _: module_server_factory("bookworm", image=server_image, network=module_server_network),
            range(2))
    record_timing("two servers for the jump-host tests", time.monotonic() - started)
    return jump, target


@pytest.fixture(scope="module")
def laptop(tmp_path_factory, servers):
    jump, target = servers
    home = make_laptop(tmp_path_factory.mktemp("laptop"))
    (home / "ssh_config").write_text(
        f"Host target\n  HostName {target.name}\n  User deploy\n  ProxyJump deploy@127.0.0.1:{jump.ssh_port}\n")
    return home


def fab(servers, laptop, known_hosts, *args):
    return run_fab(servers[1], REPO, laptop, "-S", str(laptop / "ssh_config"), *args, target="deploy@target",
                   known_hosts=known_hosts, timeout=300)


def jump_lines(jump) -> list[str]:
    return jump.known_hosts_lines()  # [127.0.0.1]:PORT KEY


def target_lines(target) -> list[str]:
    return [f"{target.name} {key}" for key in target.host_key_lines()]  # port 22, as the jump host reaches it


def key_of(server, kind="ssh-ed25519") -> str:
    return next(line for line in server.host_key_lines() if line.startswith(kind + " "))


def logins(server) -> list[str]:
    """sshd's accepted logins so far, as `journalctl` has them."""
    out = server.exec("journalctl -u ssh --no-pager -o cat", check=False).stdout
    return [line for line in out.splitlines() if line.startswith("Accepted publickey")]


def one_error(done) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_with_both_keys_known_a_read_only_task_runs_through_the_jump_host(servers, laptop, tmp_path):
    jump, target = servers
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(jump_lines(jump) + target_lines(target)) + "\n")
    done = fab(servers, laptop, known, "releases")
    assert done.returncode == 0, done.stderr
    record_timing("fab releases through a jump host", done.seconds)
    assert "no releases yet" in done.stdout
    jump_ip = target.exec(f"getent hosts {jump.name}").stdout.split()[0]
    assert f"from {jump_ip} " in logins(target)[-1]  # the login came through the jump host


def test_an_unknown_jump_host_key_is_refused_before_anything_runs(servers, laptop, tmp_path):
    jump, target = servers
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(target_lines(target)) + "\n")
    before = len(logins(target))
    error = one_error(fab(servers, laptop, known, "releases"))
    assert error.startswith(f"error: host key of the jump host 127.0.0.1:{jump.ssh_port} (ssh-")
    assert f"ssh-keyscan -p {jump.ssh_port} 127.0.0.1 >> {known}" in error and "--accept-new-host-key" in error
    assert len(logins(target)) == before
    assert known.read_text() == "\n".join(target_lines(target)) + "\n"


def test_a_changed_jump_host_key_is_refused_naming_its_entry(servers, laptop, tmp_path):
    jump, target = servers
    known = tmp_path / "known_hosts"
    wrong = f"[127.0.0.1]:{jump.ssh_port} {key_of(target)}"  # a real key, of another server
    known.write_text("\n".join([wrong, *target_lines(target)]) + "\n")
    before = len(logins(target))
    error = one_error(fab(servers, laptop, known, "migrate-legacy", "--accept-new-host-key"))
    assert error.startswith(f"error: host key of the jump host 127.0.0.1:{jump.ssh_port} has CHANGED")
    assert f"ssh-keygen -f {known} -R '[127.0.0.1]:{jump.ssh_port}'" in error
    assert len(logins(target)) == before


def test_a_changed_target_key_behind_the_jump_host_names_its_entry(servers, laptop, tmp_path):
    jump, target = servers
    known = tmp_path / "known_hosts"
    known.write_text("\n".join([*jump_lines(jump), f"{target.name} {key_of(jump)}"]) + "\n")
    error = one_error(fab(servers, laptop, known, "releases"))
    assert error.startswith(f"error: host key of {target.name}:22 has CHANGED")
    assert f"ssh-keygen -f {known} -R '{target.name}'" in error


def test_a_dry_run_accepts_both_new_keys_for_the_run_and_writes_nothing(servers, laptop, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    done = fab(servers, laptop, known, "migrate-legacy", "--dry-run", "--accept-new-host-key")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("would record the new host key of") == 2
    assert known.read_text() == ""
    assert '[dry-run, read-only probe] printf %s "$HOME"' in done.stdout


def test_accept_new_host_key_records_the_jump_host_and_the_target(servers, laptop, tmp_path):
    jump, target = servers
    known = tmp_path / "known_hosts"
    known.write_text("")
    done = fab(servers, laptop, known, "migrate-legacy", "--accept-new-host-key")
    assert done.returncode == 0, done.stderr
    assert f"accepted new host key for the jump host [127.0.0.1]:{jump.ssh_port}" in done.stdout
    assert f"accepted new host key for {target.name}" in done.stdout
    recorded = known.read_text().splitlines()
    assert recorded == [f"[127.0.0.1]:{jump.ssh_port} {key_of(jump)}", f"{target.name} {key_of(target)}"]
    again = fab(servers, laptop, known, "releases")  # recorded: no flag needed any more
    assert again.returncode == 0 and "accepted" not in again.stdout, again.stderr
    # OpenSSH agrees with what was recorded (its jump process reads the same -F file)
    config = tmp_path / "openssh_config"
    config.write_text(f"Host *\n  UserKnownHostsFile {known}\n  GlobalKnownHostsFile /dev/null\n"
                      f"  StrictHostKeyChecking yes\n  BatchMode yes\n  IdentityFile {jump.key_filename}\n"
                      "  IdentitiesOnly yes\n")
    ssh = subprocess.run(["ssh", "-F", str(config), "-J", f"deploy@127.0.0.1:{jump.ssh_port}",
                          f"deploy@{target.name}", "true"], capture_output=True, text=True, timeout=60)
    assert ssh.returncode == 0, ssh.stderr
