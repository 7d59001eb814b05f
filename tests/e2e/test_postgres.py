"""PostgreSQL over real SSH on two fresh servers, as a user runs it.

A new site on PostgreSQL (`inv production.env --postgres`, then `fab deploy`): a comment, a code-only
redeploy under load (0 failed, the database never restarted, the comment kept), a backup then restore
round trip (the same fingerprint; the backup 600 on the server and here; the password in no process's
arguments while they run), and an unsafe migration refused with the server unchanged. Beside it,
a blog seeded on SQLite moved with `fab db.to-postgres` under reads and comment writes: no read fails,
every write either lands in PostgreSQL or gets the 503 "try again in a moment", the new password is in no
process's arguments during the copy, and a second run is a no-op.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from deploy import envfile
from testbed.load import CommentLoad, Load
from tests.harness import flows, prepared
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import APP, DOMAIN
from tests.reliability.checks import COMMENT, assert_unchanged, current_release, post_comment, snapshot

pytestmark = pytest.mark.e2e
INV = str(Path(sys.executable).parent / "inv")
VIEW_BATCH_SECONDS = 2  # VIEW_COUNT_FLUSH_SECONDS' default: the app writes the views it counted this often
NUMBERS: dict[str, str] = {}


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    return flows.make_laptop(tmp_path_factory.mktemp("pg-laptop"))


@pytest.fixture(scope="module")
def new_site(tmp_path_factory):
    """A checkout whose .envs/.production was written by `inv production.env --postgres`."""
    checkout = flows.make_checkout(tmp_path_factory.mktemp("pg-new") / "mysite", head_only=True)
    (checkout / ".envs/.production").unlink()
    done = subprocess.run([INV, "production.env", "--domain", DOMAIN, "--postgres"], cwd=checkout,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "on the bundled PostgreSQL" in done.stderr, done.stdout + done.stderr
    return checkout


@pytest.fixture(scope="module")
def old_site(tmp_path_factory):
    return flows.make_checkout(tmp_path_factory.mktemp("pg-old") / "mysite", head_only=True)


@pytest.fixture(scope="module")
def servers(module_server_factory, server_image, laptop):
    """Two prepared servers (bootstrapped, with the base images and postgres:17 in their engines)."""
    pair = [prepared.start_prepared(module_server_factory, laptop) for _ in range(2)]
    mine, other = (prepared.identity(server) for server in pair)
    assert all(a != b for a, b in zip(mine, other, strict=True)), (mine, other)  # copies, each its own machine
    return pair


def manage(server, *args: str) -> str:
    app = server.exec("docker ps --filter label=mysite.project=mysite --format '{{.Names}}'").stdout.split()[0]
    return server.exec(f"docker exec {app} python manage.py {' '.join(args)}").stdout


def fingerprint(server) -> dict:
    return json.loads(manage(server, "db_fingerprint").strip().splitlines()[-1])


def quiet_fingerprint(server) -> dict:
    """The fingerprint once the views the app counted are written (blog/viewcount.py writes them in batches):
    two reads a batch apart that agree, so a backup or a restore that follows does not race a batch."""
    last = fingerprint(server)
    for _ in range(10):
        time.sleep(VIEW_BATCH_SECONDS + 1)
        now = fingerprint(server)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the database kept changing with no request for {10 * (VIEW_BATCH_SECONDS + 1)}s")


def postgres(server) -> str:
    """The bundled PostgreSQL's container ID and start time (a recreate or restart changes them)."""
    return server.exec("docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.State.Health.Status}}' "
                       "$(docker ps -q --filter label=com.docker.compose.service=postgres)").stdout.strip()


@contextmanager
def process_arguments(server) -> Iterator[list[str]]:
    """For the block: every process's arguments on ``server``, read back to back from its /proc (which shows
    its containers' processes too), as any user there could; the list gets the samples that caught a
    PostgreSQL client or the move's copy running (the patterns are bracketed so the sampler never matches
    itself)."""
    folder = "/tmp/argument-samples"
    script = (f"rm -rf {folder} && mkdir {folder} && while [ ! -e {folder}/stop ]; do "
              "s=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' '); "
              f"case $s in *pg_[d]ump*|*pg_[r]estore*|*db_[c]opy*) printf '%s\\n' \"$s\" >> {folder}/caught;; esac; "
              f"echo >> {folder}/rounds; done")
    sampler = subprocess.Popen(["docker", "exec", server.name, "sh", "-c", script])
    caught: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while server.exec(f"test -s {folder}/rounds", check=False).returncode != 0:
            assert time.monotonic() < deadline and sampler.poll() is None, "the process sampler did not start"
            time.sleep(0.2)
        yield caught
    finally:
        server.exec(f"touch {folder}/stop")
        sampler.wait(timeout=30)
        caught.extend(server.exec(f"cat {folder}/caught", check=False).stdout.splitlines())
        print(f"process lists sampled: {server.exec(f'wc -l < {folder}/rounds').stdout.strip()}, "
              f"{len(caught)} of them with a PostgreSQL client or the copy running")


def secret_free(caught: list[str], password: str, *programs: str) -> None:
    """Each of ``programs`` was caught running, and no sample shows ``password``."""
    for program in programs:
        assert any(program in sample for sample in caught), f"{program} never caught running: sample faster"
    shown = [sample for sample in caught if password in sample]
    assert not shown, f"the password is in a process's arguments: {shown[0][:2000]}"


def mode(server, path: str) -> str:
    return server.exec(f"stat -c %a {path}").stdout.strip()


def comment_texts(server, marker: str) -> int:
    code = f"from blog.models import Comment; print(Comment.objects.filter(text__startswith={marker!r}).count())"
    return int(manage(server, "shell", "-c", shlex.quote(code)).strip().splitlines()[-1])


# --- a new site on PostgreSQL -------------------------------------------------------------------------------

def test_a_new_site_on_postgres_starts_its_database_and_serves(servers, new_site, laptop):
    server = servers[0]
    done = flows.fab(server, new_site, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the bundled PostgreSQL up and healthy" in done.stdout
    assert postgres(server).endswith(" healthy")
    assert server.exec("docker port $(docker ps -q --filter label=com.docker.compose.service=postgres)"
                       ).stdout.strip() == ""  # never published
    code = "from django.conf import settings; d = settings.DATABASES['default']; print('@' + d['HOST'] + ':5432/')"
    assert "@postgres:5432/" in manage(server, "shell", "-c", shlex.quote(code))
    seeded = flows.fab(server, new_site, laptop, "manage", "seed_demo --posts 5")
    assert seeded.returncode == 0, seeded.stderr
    status, page = post_comment(server, flows.first_post(server), text=COMMENT)
    assert status == 200 and COMMENT in page


def test_a_code_only_redeploy_under_load_never_touches_the_database(servers, new_site, laptop):
    server = servers[0]
    before = postgres(server)
    base = new_site / "blog/templates/base.html"
    base.write_text(base.read_text().replace("</body>", "<!-- on postgres, release two --></body>"))
    flows.commit(new_site, "a code-only change")
    done, load = flows.under_load(server, lambda: flows.fab(server, new_site, laptop, "deploy"))
    NUMBERS["code-only redeploy on PostgreSQL"] = f"{load} in {done.seconds:.1f}s"
    assert done.returncode == 0, done.stdout + done.stderr
    assert load.failed == 0 and load.total > 50, load
    assert "already runs and is healthy: left alone" in done.stdout
    assert postgres(server) == before  # the same container, never restarted
    assert COMMENT in flows.get(server, flows.first_post(server))[1]


def test_backup_then_restore_round_trips_the_rows(servers, new_site, laptop, tmp_path):
    server = servers[0]
    password = envfile.load(new_site / ".envs/.production").values["POSTGRES_PASSWORD"]
    saved = quiet_fingerprint(server)  # the views of the redeploy's load written first
    dump = tmp_path / "site.pgdump"
    with process_arguments(server) as caught:
        done = flows.fab(server, new_site, laptop, "backup", "--output", str(dump))
    assert done.returncode == 0, done.stdout + done.stderr
    secret_free(caught, password, "pg_dump --format=custom --no-owner --dbname=postgres://mysite@postgres:5432/")
    assert dump.read_bytes()[:5] == b"PGDMP"
    made = server.exec(f"ls -t {APP}/backups/*-manual.pgdump").stdout.split()[0]
    assert (mode(server, made), oct(dump.stat().st_mode & 0o777)) == ("600", "0o600")  # on both ends
    status, _ = post_comment(server, flows.first_post(server), text="written after the backup")
    assert status == 200 and quiet_fingerprint(server) != saved  # the comment, and its page's view written
    with process_arguments(server) as caught:
        done = flows.fab(server, new_site, laptop, "restore", str(dump), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    secret_free(caught, password, "pg_restore --clean")
    assert fingerprint(server) == saved
    kept = server.exec(f"ls {APP}/backups").stdout
    assert "before-restore.pgdump" in kept, kept  # what the restore replaced
    assert mode(server, f"{APP}/backups/*-before-restore.pgdump") == "600"


def test_an_unsafe_migration_is_refused_with_the_server_unchanged(servers, new_site, laptop):
    server = servers[0]
    good = flows.git(new_site, "rev-parse", "HEAD")
    migration = new_site / "blog/migrations/0099_remove_post_views.py"
    latest = sorted(p.stem for p in (new_site / "blog/migrations").glob("0*.py"))[-1]
    migration.write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        f"    dependencies = [('blog', '{latest}')]\n    operations = [migrations.RemoveField('post', 'views')]\n")
    flows.git(new_site, "add", "-A")
    flows.commit(new_site, "drop the views column at once")
    try:
        before = snapshot(server)
        done = flows.fab(server, new_site, laptop, "deploy")
        assert done.returncode != 0
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
        assert "blog.0099_remove_post_views" in errors[0] and "--allow-unsafe-migrations" in errors[0], errors[0]
        assert_unchanged(before, snapshot(server))
    finally:
        flows.git(new_site, "reset", "-q", "--hard", good)


# --- an SQLite blog moved while it serves --------------------------------------------------------------------

def test_a_sqlite_blog_moves_to_postgres_under_reads_and_writes(servers, old_site, laptop):
    server = servers[1]
    done = flows.fab(server, old_site, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    seeded = flows.fab(server, old_site, laptop, "manage", "seed_demo --posts 5")
    assert seeded.returncode == 0, seeded.stderr
    post = flows.first_post(server)
    status, page = post_comment(server, post, text=COMMENT)
    assert status == 200
    on_sqlite = fingerprint(server)
    pk = post.strip("/").split("/")[-1]
    with Load("127.0.0.1", server.http_port, host=DOMAIN, paths=["/", post, "/healthz"]) as reads, \
            CommentLoad("127.0.0.1", server.http_port, host=DOMAIN, post_path=post, comment_path=f"/comment/{pk}",
                        marker="moved", threads=2) as writes, process_arguments(server) as caught:
        moved = flows.fab(server, old_site, laptop, "db.to-postgres")
    NUMBERS["move"] = f"reads {reads.result}; writes {dict(writes.result.statuses)} in {moved.seconds:.1f}s"
    print(NUMBERS["move"])
    assert moved.returncode == 0, moved.stdout + moved.stderr
    secret_free(caught, envfile.load(old_site / ".envs/.production").values["POSTGRES_PASSWORD"],
                "python manage.py db_copy")
    assert reads.result.failed == 0 and reads.result.total > 50, reads.result
    answered = writes.result.statuses
    assert set(answered) <= {"GET 200", "POST 302", "POST 503"}, answered  # stored, or "try again in a moment"
    assert writes.result.failed == answered["POST 503"], writes.result  # no other failure, no connection error
    assert answered["POST 302"] > 0
    assert comment_texts(server, "moved ") == answered["POST 302"]  # every accepted write is in PostgreSQL
    compared = [line.strip() for line in moved.stdout.splitlines() if "blog_post " in line]
    assert len(compared) == 2 and compared[0] == compared[1], moved.stdout  # SQLite and its copy, at the copy
    on_postgres = fingerprint(server)  # views and comments moved on since: counts, not checksums
    assert on_postgres["counts"]["blog_post"] == on_sqlite["counts"]["blog_post"]
    stored = on_postgres["counts"]["blog_comment"] - on_sqlite["counts"]["blog_comment"]
    assert stored == answered["POST 302"], (stored, answered)
    assert "DATABASE_URL=postgres://" in (old_site / ".envs/.production").read_text()
    assert server.exec("docker volume inspect mysite_database").returncode == 0  # the SQLite file stays


def test_moving_again_is_a_no_op_and_the_next_deploy_stays_on_postgres(servers, old_site, laptop):
    server = servers[1]
    again = flows.fab(server, old_site, laptop, "db.to-postgres")
    assert again.returncode == 0 and "nothing to move" in again.stdout, again.stdout + again.stderr
    done = flows.fab(server, old_site, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert current_release(server)
    assert comment_texts(server, COMMENT[:10]) >= 1
