"""Off-site backups: Litestream copies the SQLite database to another server over SFTP, and a fresh server
gets the site back from there, to the latest copy or to a point in time.

One story on three servers of one network: A (prepared) deploys with `backup: target:` set and takes comments
from two writers; A's container is killed hard (`docker kill`) while they write; C (prepared: as `fab bootstrap`
left it) runs `fab restore-from-target` and serves every comment answered more than RPO_CLAIM seconds before
the kill; then comments are written on C, deleted on purpose, and a restore to a time before the DELETE brings
them back. The vault is a plain server: sshd and the deploy user's folder. Recovery point and time are printed
and kept in .e2e/timings.log, never asserted beyond the claim (a shared 2-CPU machine).
"""

import base64
import json
import re
import threading
import time
from datetime import UTC, datetime

import pytest

from testbed import servers
from testbed.servers import record_timing
from tests.harness import prepared
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import commit, fab, first_post
from tests.harness.story import laptop, project  # noqa: F401 - fixtures
from tests.reliability.checks import app_containers, post_comment

pytestmark = pytest.mark.e2e
RPO_CLAIM = 5  # seconds: Litestream ships each change within its 1 s sync interval; the rest is a busy machine's
FOLDER = "/home/deploy/replica"
RESULTS: dict[str, object] = {}


def address(server, network: str) -> str:
    template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return servers.run(["docker", "inspect", "-f", template, server.name]).stdout.strip()


@pytest.fixture(scope="module")
def vault(module_server_network, module_server_factory, server_image):
    """The SFTP target: sshd and the deploy user (who logs in with the harness key), nothing else."""
    return module_server_factory("bookworm", network=module_server_network)


@pytest.fixture(scope="module")
def configured(project, laptop, vault, module_server_network):  # noqa: F811 - pytest fixtures
    """The checkout with `backup: target:` committed, the login in its env file, and the vault's host keys in the
    laptop's known_hosts (the user's explicit choice: nothing accepts a new key by itself)."""
    where = address(vault, module_server_network)
    yaml = project / "fabric.yaml"
    yaml.write_text(yaml.read_text() + f"  backup:\n    target: sftp://deploy@{where}{FOLDER}\n")
    commit(project, "off-site backups to the vault")
    key, _ = servers.harness_keypair()
    secret = base64.b64encode(key.read_bytes()).decode()
    env = project / ".envs/.production"
    env.write_text(env.read_text() + f"LITESTREAM_SFTP_KEY={secret}\n")
    with (laptop / ".ssh" / "known_hosts").open("a") as known:
        known.writelines(f"{where} {line}\n" for line in vault.host_key_lines())
    return secret


def comments(server, prefix: str) -> set[str]:
    code = f"from blog.models import Comment; import json; print(json.dumps(list(Comment.objects.filter(text__startswith={prefix!r}).values_list('text', flat=True))))"  # noqa: E501
    out = server.exec(f"docker exec {app_containers(server)[0]} python manage.py shell -c {json.dumps(code)}").stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def write_until(server, post: str, stop: threading.Event, answered: list, writer: int) -> None:
    """Comments one after another until ``stop`` (or the server is gone): (text, monotonic time of the answer)."""
    number = 0
    while not stop.is_set():
        number += 1
        text = f"offsite-{writer}-{number}"
        try:
            status, page = post_comment(server, post, text=text)
        except (OSError, AssertionError, AttributeError):  # the server was killed under the writer
            return
        if status == 200 and text in page:
            answered.append((text, time.monotonic()))


def test_a_killed_server_comes_back_on_a_fresh_one_from_the_target(
        project, laptop, configured, vault, module_server_factory, module_server_network):  # noqa: F811
    first = prepared.start_prepared(module_server_factory, laptop, network=module_server_network)
    done = fab(first, project, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "continuous off-site copies to sftp://deploy@" in done.stdout and "not encrypted" in done.stdout
    seeded = fab(first, project, laptop, "manage", "seed_demo --posts 2")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    post = first_post(first)
    stop, answered = threading.Event(), []
    writers = [threading.Thread(target=write_until, args=(first, post, stop, answered, n)) for n in (1, 2)]
    for writer in writers:
        writer.start()
    time.sleep(10)
    servers.run(["docker", "kill", first.name])  # the whole server, at once: no graceful stop of anything
    killed = time.monotonic()
    stop.set()
    for writer in writers:
        writer.join(30)
    assert len(answered) > 20, answered

    fresh = prepared.start_prepared(module_server_factory, laptop, network=module_server_network)
    booted = time.monotonic() - killed
    restored = fab(fresh, project, laptop, "restore-from-target", "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "nothing is deployed here yet" in restored.stdout
    back = comments(fresh, "offsite-")
    lost = [(text, killed - when) for text, when in answered if text not in back]
    kept = [killed - when for text, when in answered if text in back]
    assert all(before <= RPO_CLAIM for _, before in lost), (lost, RPO_CLAIM)
    RESULTS.update(answered=len(answered), lost=len(lost), rpo=max((b for _, b in lost), default=0.0),
                   newest_kept=min(kept), restore=restored.seconds, boot=booted,
                   recovery=time.monotonic() - killed)
    record_timing("off-site: fab restore-from-target on a fresh server (a deploy with the restored database)",
                  restored.seconds)
    print(f"recovery point: {len(lost)} of {len(answered)} answered comments lost, answered at most "
          f"{RESULTS['rpo']:.1f} s before the kill (newest kept: {RESULTS['newest_kept']:.1f} s before); "
          f"recovery time: {restored.seconds:.1f} s of fab restore, {RESULTS['recovery']:.1f} s from the kill")

    status = fab(fresh, project, laptop, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "off-site backup: sftp://deploy@" in status.stdout and "not encrypted on the target" in status.stdout
    assert re.search(r"replication: mysite[-_]litestream[-_]1 running ", status.stdout), status.stdout
    assert "lag: " in status.stdout, status.stdout
    arguments = fresh.exec("ps -eo args").stdout
    assert configured not in arguments and "PRIVATE KEY" not in arguments

    # a point in time: comments written, a DELETE by mistake, the database as it was before it
    for number in range(3):
        status_code, _ = post_comment(fresh, first_post(fresh), text=f"pitr-{number}")
        assert status_code == 200
    time.sleep(4)  # past Litestream's 1 s sync: the comments are on the target
    before = datetime.now(UTC).replace(microsecond=0)
    everything = comments(fresh, "")
    time.sleep(2)
    fresh.exec(f"docker exec {app_containers(fresh)[0]} python manage.py shell -c "
               "'from blog.models import Comment; Comment.objects.all().delete()'")
    assert comments(fresh, "") == set()
    time.sleep(4)
    at = before.strftime("%Y-%m-%d %H:%M:%S")
    # the copy of that time, restored beside the live database and checked; the live one stays as it is
    verified = fab(fresh, project, laptop, "verify-backup", "--at", at)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    found = re.search(r"passes SQLite's integrity check: (\d+) tables, (\d+) rows \(the live database: (\d+) "
                      r"tables, (\d+) rows\)", verified.stdout)
    assert found, verified.stdout
    tables, rows, live_tables, live_rows = map(int, found.groups())
    assert tables == live_tables and rows > live_rows, found.group(0)  # the deleted comments are in the copy
    assert comments(fresh, "") == set()
    RESULTS["verify"] = verified.seconds
    refused = fab(fresh, project, laptop, "restore-from-target", "--at", "2000-01-01 00:00:00", "--yes")
    assert refused.returncode == 1 and "outside what the backup target holds" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    pitr = fab(fresh, project, laptop, "restore-from-target", "--at", at, "--yes")
    assert pitr.returncode == 0, pitr.stdout + pitr.stderr
    assert comments(fresh, "") == everything and {f"pitr-{n}" for n in range(3)} <= everything
    RESULTS["pitr restore"] = pitr.seconds
    record_timing("off-site: fab restore-from-target --at (in place, serving)", pitr.seconds)
    print(f"point-in-time restore: {len(everything)} comments back in {pitr.seconds:.1f} s")
