"""Load: 60 s of concurrent comment posting and reading at 16 connections through nginx.

No 5xx (no failure of any kind: the client never retries), no "database is locked" in the app's
logs, and the number of stored comments equals the number of POSTs the app accepted (302).
"""

from __future__ import annotations

import re
import time

import pytest

from testbed.load import CommentLoad
from tests.harness import flows
from tests.harness.flows import DOMAIN
from tests.reliability.checks import app_containers, comment_count

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
SECONDS = 60
MARKER = "rel-load"


def test_comments_under_concurrent_load(deployed):
    post = flows.first_post(deployed)
    pk = re.search(r"/posts/(\d+)/", post).group(1)
    before = comment_count(deployed, MARKER)
    since = deployed.exec("date -u +%Y-%m-%dT%H:%M:%S").stdout.strip()
    with CommentLoad("127.0.0.1", deployed.http_port, host=DOMAIN, post_path=post, comment_path=f"/comment/{pk}",
                     marker=MARKER, threads=16, timeout=30, max_seconds=SECONDS) as load:
        time.sleep(SECONDS)
    time.sleep(2)  # let the last answers be stored before counting (they all came back already)
    result = load.result
    print(f"comment load: {result}; statuses {dict(result.statuses)}\n" + "\n".join(result.first_failures))
    assert not [s for s in result.statuses if s.split()[1].startswith("5")], result.statuses
    assert result.failed == 0, result
    accepted = result.statuses["POST 302"]
    assert accepted > 100 and result.statuses["GET 200"] > 100, result.statuses
    assert comment_count(deployed, MARKER) - before == accepted
    logs = deployed.exec(f"docker logs --since {since} {app_containers(deployed)[0]} 2>&1").stdout
    assert "database is locked" not in logs
    assert "Traceback" not in logs, logs[-3000:]
