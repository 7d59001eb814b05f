"""`fab rollback` to the warm container, over real SSH against a fresh systemd server.

One story on one module server: deploy A, deploy B under load (A stays warm: running, out of the
`mysite` alias, no request reaches it), `fab rollback` under load through the warm A (0 failed
requests, B gone, A serving again with its restart policy back), then a deploy with a short keep_warm
whose warm container the server removes by itself after the window, with the laptop long gone, and a
deploy with keep_warm 0 that keeps nothing. Timings are printed, never asserted (a shared 2-CPU machine).
"""

import time
from pathlib import Path

import pytest

from testbed.servers import record_timing
from tests.harness import prepared
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import APP, commit, fab, get, under_load
from tests.harness.story import *  # noqa: F403 - project, laptop, site: one bootstrapped site

pytestmark = pytest.mark.e2e
RESULTS: dict[str, str] = {}
SHORT = 15  # seconds of keep_warm in the expiry case


def inspect(server, name: str) -> str:
    """'running|exited restart-policy alias...' of a container; '' once it is gone."""
    template = ("{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}"
                "{{range .NetworkSettings.Networks}}{{range .Aliases}} {{.}}{{end}}{{end}}")
    return server.exec(f"docker inspect -f '{template}' {name} 2>/dev/null", check=False).stdout.strip()


def containers(server) -> list[str]:
    out = server.exec("docker ps -a --filter label=mysite.project=mysite --format '{{.Names}}'").stdout
    return sorted(out.split())


def current(server) -> str:
    return "mysite-" + server.exec(f"basename $(readlink {APP}/current)").stdout.strip()


def change(project: Path, marker: str) -> None:
    base = project / "blog/templates/base.html"
    base.write_text(base.read_text().replace("</body>", f'<p id="e2e-release">{marker}</p>\n</body>'))
    commit(project, f"template: {marker}")


def index_requests(server, name: str, since: str) -> int:
    """Requests for / in the container's access log since ``since``: only nginx (or a rollback's check) asks /."""
    logs = server.exec(f"docker logs --since {since} {name} 2>&1").stdout
    return logs.count('"GET / HTTP')


def test_a_deploy_keeps_the_replaced_container_warm_and_out_of_traffic(site, project, laptop):
    first = fab(site, project, laptop, "deploy")
    assert first.returncode == 0, first.stdout + first.stderr
    a = current(site)
    RESULTS["a"] = a
    # a prepared server: its first build reused the dependency layers that the preparation built
    assert prepared.dependency_layer_age(site, f"mysite-django:{a.removeprefix('mysite-')}") > 0
    change(project, "release B")
    done, load = under_load(site, lambda: fab(site, project, laptop, "deploy"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert load.failed == 0 and load.total > 100, load
    RESULTS["b"], RESULTS["deploy seconds"] = current(site), f"{done.seconds:.1f}"
    record_timing("fab deploy, code-only change (rollback case)", done.seconds)
    assert f"keep {a} warm for 600s" in done.stdout
    b = RESULTS["b"]
    assert inspect(site, a).split()[:2] == ["running", "no"], inspect(site, a)  # warm: up, no restart policy
    assert "mysite" not in inspect(site, a).split()[2:], inspect(site, a)  # out of the alias nginx resolves
    assert "mysite" in inspect(site, b).split()[2:], inspect(site, b)
    assert containers(site) == sorted([a, b])
    warm_since = site.exec(f"docker inspect -f '{{{{.State.StartedAt}}}}' {a}").stdout.strip()
    _, more = under_load(site, lambda: time.sleep(5))
    assert more.failed == 0 and more.total > 50, more
    assert index_requests(site, b, warm_since) > 50  # the serving one logs nginx's requests ...
    assert index_requests(site, a, warm_since) == 0  # ... the warm one gets none
    status = fab(site, project, laptop, "status")
    assert status.returncode == 0 and f"warm: {a}" in status.stdout, status.stdout


def test_rollback_under_load_uses_the_warm_container(site, project, laptop):
    a, b = RESULTS["a"], RESULTS["b"]
    assert inspect(site, b).split()[:2] == ["running", "unless-stopped"]
    done, load = under_load(site, lambda: fab(site, project, laptop, "rollback"))
    assert done.returncode == 0, done.stdout + done.stderr
    RESULTS["rollback"] = f"{done.seconds:.1f}s (deploy {RESULTS['deploy seconds']}s), load {load}"
    record_timing("fab rollback to the warm container", done.seconds)
    assert load.failed == 0 and load.total > 50, load
    assert f"using the warm container {a}" in done.stdout and "its warm container was used" in done.stdout
    assert f"start {a} beside" not in done.stdout  # nothing started from scratch
    assert current(site) == a
    state = inspect(site, a).split()
    assert state[:2] == ["running", "unless-stopped"] and "mysite" in state[2:], state
    assert containers(site) == [a] and inspect(site, b) == ""  # the bad release's container stopped and removed
    assert "release B" not in get(site, "/")[1]


def test_a_short_keep_warm_ends_on_the_server_after_the_window(site, project, laptop):
    a = RESULTS["a"]
    change(project, "release C")
    done = fab(site, project, laptop, "deploy", env={"MYSITE_KEEP_WARM": str(SHORT)})
    assert done.returncode == 0, done.stdout + done.stderr
    c = current(site)
    assert inspect(site, a).split()[:2] == ["running", "no"]  # warm, and the laptop's fab has exited
    deadline = time.monotonic() + SHORT + 30
    while inspect(site, a) and time.monotonic() < deadline:
        time.sleep(1)
    assert inspect(site, a) == "", f"{a} still there {SHORT + 30}s after a {SHORT}s window: {inspect(site, a)}"
    assert containers(site) == [c] and "mysite" in inspect(site, c).split()[2:]
    assert site.exec(f"test -d {APP}/.deploy.lock", check=False).returncode != 0  # the timer released the lock
    assert get(site, "/")[0] == 200


def test_keep_warm_zero_keeps_nothing_and_rollback_then_starts_a_fresh_container(site, project, laptop):
    c = current(site)
    change(project, "release D")
    done = fab(site, project, laptop, "deploy", env={"MYSITE_KEEP_WARM": "0"})
    assert done.returncode == 0, done.stdout + done.stderr
    d = current(site)
    assert containers(site) == [d] and "warm" not in done.stdout
    back, load = under_load(site, lambda: fab(site, project, laptop, "rollback"))
    assert back.returncode == 0, back.stdout + back.stderr
    assert load.failed == 0, load
    assert "a fresh container of its image" in back.stdout and current(site) == c
    RESULTS["rollback without a warm container"] = f"{back.seconds:.1f}s"
    print("\n".join(f"[rollback] {k}: {v}" for k, v in RESULTS.items()))
