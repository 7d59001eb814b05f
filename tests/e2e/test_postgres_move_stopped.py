"""`fab db.to-postgres` stopped after traffic reached PostgreSQL, on a real server: nothing is undone.

The old (SQLite) container's `docker stop` fails once, after routing: a `docker` wrapper in
/usr/local/bin on the server (first on the deploy user's PATH over SSH, checked) fails the stop of
the container stepped aside as `*-on-sqlite`, once. The move runs under comment writes: it stops with
one line saying what is left, the site keeps serving from PostgreSQL with every comment it accepted,
and `fab db.to-postgres` again finishes the move.
"""

from __future__ import annotations

import shlex

import pytest

from testbed.load import CommentLoad
from tests.harness import flows, prepared
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import DOMAIN
from tests.reliability.checks import COMMENT, post_comment

pytestmark = pytest.mark.e2e
MARKER = "/tmp/fail-docker-stop-once"
WRAPPER = f"""#!/bin/sh
# e2e: the first `docker stop` of the SQLite container stepped aside by db.to-postgres fails, once
if [ "$1" = stop ] && [ -e {MARKER} ]; then
  case "$*" in *-on-sqlite*) rm -f {MARKER}; echo "Error response from daemon: injected stop failure" >&2; exit 1;; esac
fi
exec /usr/bin/docker "$@"
"""


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    return flows.make_laptop(tmp_path_factory.mktemp("move-laptop"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return flows.make_checkout(tmp_path_factory.mktemp("move-site") / "mysite", head_only=True)


@pytest.fixture(scope="module")
def server(module_server_factory, server_image, laptop):
    """A prepared server: bootstrapped, with the base images and postgres:17 in its engine."""
    return prepared.start_prepared(module_server_factory, laptop)


def in_app(server, code: str) -> str:
    """Python in the release's own container (not the one stepped aside on SQLite)."""
    names = server.exec("docker ps --filter label=mysite.project=mysite --format '{{.Names}}'").stdout.split()
    app = [name for name in names if not name.endswith("-on-sqlite")][0]
    done = server.exec(f"docker exec {app} python manage.py shell -c {shlex.quote(code)}")
    return done.stdout.strip().splitlines()[-1]


def comments(server, marker: str) -> int:
    return int(in_app(server, f"from blog.models import Comment; "
                              f"print(Comment.objects.filter(text__startswith={marker!r}).count())"))


def test_a_move_stopped_after_routing_keeps_postgres_and_a_second_run_finishes_it(server, site, laptop):
    done = flows.fab(server, site, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    seeded = flows.fab(server, site, laptop, "manage", "seed_demo --posts 3")
    assert seeded.returncode == 0, seeded.stderr
    post = flows.first_post(server)
    assert post_comment(server, post, text=COMMENT)[0] == 200

    real = server.exec("command -v docker").stdout.strip()
    assert real == "/usr/bin/docker", real
    server.exec("cat > /usr/local/bin/docker && chmod 755 /usr/local/bin/docker", input=WRAPPER)
    try:
        assert server.ssh("command -v docker").stdout.strip() == "/usr/local/bin/docker"  # the deploy user's PATH
        server.exec(f"touch {MARKER}", user="deploy")
        pk = post.strip("/").split("/")[-1]
        with CommentLoad("127.0.0.1", server.http_port, host=DOMAIN, post_path=post, comment_path=f"/comment/{pk}",
                         marker="moved", threads=2) as writes:
            stopped = flows.fab(server, site, laptop, "db.to-postgres")
            assert server.exec(f"test -e {MARKER}", check=False).returncode == 1  # the wrapper failed the stop
            status, _ = flows.get(server, post)
            assert status == 200
        print(f"writes {dict(writes.result.statuses)}; the stopped move took {stopped.seconds:.1f}s")
        assert stopped.returncode == 1, stopped.stdout + stopped.stderr
        errors = [line for line in stopped.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and "Traceback" not in stopped.stdout + stopped.stderr, stopped.stderr
        assert errors[0].startswith("error: traffic moved to PostgreSQL at "), errors[0]
        assert "injected stop failure" in errors[0] and "run `fab db.to-postgres` again to finish" in errors[0]
        assert "undo" not in stopped.stdout

        # nothing was undone: PostgreSQL, its volume and the settings, here and on the server
        assert server.exec("docker volume inspect mysite_postgres", check=False).returncode == 0
        assert server.exec("docker ps -q --filter label=com.docker.compose.service=postgres").stdout.strip()
        assert "DATABASE_URL=postgres://" in server.exec("cat ~/apps/mysite/shared/.envs/.production",
                                                         user="deploy").stdout
        assert "DATABASE_URL=postgres://" in (site / ".envs/.production").read_text()
        engine = "from django.db import connection; print(connection.vendor)"
        assert in_app(server, engine) == "postgresql"

        answered = writes.result.statuses
        assert set(answered) <= {"GET 200", "POST 302", "POST 503"}, answered  # stored, or "try again in a moment"
        assert writes.result.failed == answered.get("POST 503", 0), writes.result
        assert answered["POST 302"] > 0
        assert comments(server, "moved ") == answered["POST 302"]  # every accepted comment is in PostgreSQL

        finished = flows.fab(server, site, laptop, "db.to-postgres")
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert "the move is finished" in finished.stdout, finished.stdout
        left = server.exec("docker ps -a --filter label=mysite.project=mysite --format '{{.Names}}'").stdout.split()
        assert len(left) == 1 and not left[0].endswith("-on-sqlite"), left
        status, page = post_comment(server, post, text="after the second run")
        assert status == 200 and "after the second run" in page  # writes are open again, on PostgreSQL
        assert comments(server, "after the second run") == 1
        assert comments(server, "moved ") == answered["POST 302"]

        again = flows.fab(server, site, laptop, "db.to-postgres")
        assert again.returncode == 0 and "nothing to move" in again.stdout, again.stdout + again.stderr
    finally:
        server.exec(f"rm -f /usr/local/bin/docker {MARKER}")
