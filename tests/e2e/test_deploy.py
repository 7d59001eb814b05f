"""`fab deploy` / `fab rollback` over real SSH against a fresh systemd server, as a user runs them.

One story, in order, on one module server: `fab bootstrap`, the first deploy, seed posts and post a
comment, a code-only deploy under load (with a second deploy refused by the lock), a broken release
under load (rolled back by itself), `fab rollback` under load, then the day-two tasks. The load
client never retries and counts every non-2xx/3xx and connection error: each switch must lose none.
"""

import re
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from deploy.commands import docker
from testbed.servers import record_timing
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import APP, DOMAIN, KEY, commit, fab, first_post, get, git, under_load  # noqa: F401
from tests.harness.story import *  # noqa: F403 - project, laptop
from tests.harness.story import cold_site

# This story keeps the cold path: a real `fab bootstrap`, and a first deploy that builds with no build cache.
site = cold_site

pytestmark = pytest.mark.e2e
RESULTS: dict[str, str] = {}


def test_first_deploy_serves_the_blog_through_nginx(site, project, laptop):
    done = fab(site, project, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    RESULTS["first deploy"] = f"{done.seconds:.1f}s"
    record_timing("fab deploy, first deploy to a fresh server", done.seconds)
    assert "preflight" in done.stdout
    assert get(site, "/healthz") == (200, '{"status": "ok"}')
    assert get(site, "/")[0] == 200
    env_mode = site.exec(f"stat -c '%a %U' {APP}/shared/.envs/.production").stdout.strip()
    assert env_mode == "600 deploy"
    assert site.exec(f"test -e {APP}/current/.envs/.production", check=False).returncode != 0  # not in a release
    image_has_env = site.exec(
        f"docker run --rm mysite-django:$(basename $(readlink {APP}/current)) test -e /app/.envs/.production",
        check=False,
    )
    assert image_has_env.returncode == 1, image_has_env  # nor in an image
    # nginx binds the server's ports itself (the host's network), and bootstrap made the kernel hand the
    # connections waiting in a stopping nginx's accept queue to the new one
    nginx = site.exec(docker.nginx_container("mysite")).stdout.strip()
    assert site.exec(f"docker inspect -f '{{{{.HostConfig.NetworkMode}}}}' {nginx}").stdout.strip() == "host"
    migrate = site.exec(f"docker exec {nginx} cat /proc/sys/net/ipv4/tcp_migrate_req")
    assert migrate.stdout.strip() == "1", migrate
    app_log = site.exec("docker logs $(docker ps -q --filter label=mysite.project=mysite) 2>&1").stdout
    assert "Booting worker" in app_log and "[ERROR]" not in app_log, app_log  # a clean start logs no error


def test_seed_posts_and_comment_through_the_form(site, project, laptop):
    done = fab(site, project, laptop, "manage", "seed_demo --posts 5")
    assert done.returncode == 0, done.stdout + done.stderr
    post = first_post(site)
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, body = get(site, post, opener)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    pk = re.search(r"/posts/(\d+)/", post).group(1)
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "name": "Ann",
            "email": "ann@example.com",
            "url": "",
            "text": "a comment that must survive every deploy",
        }
    ).encode()
    request = urllib.request.Request(
        f"{site.http_url}/comment/{pk}", data=form, headers={"Host": DOMAIN, "Referer": f"http://{DOMAIN}{post}"}
    )
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200
    assert "a comment that must survive every deploy" in get(site, post)[1]
    RESULTS["post"] = post


def test_code_only_deploy_under_load_loses_nothing_and_a_second_deploy_is_refused(site, project, laptop):
    base = project / "blog/templates/base.html"
    base.write_text(base.read_text().replace("</body>", '<p id="e2e-marker">release two</p>\n</body>'))
    commit(project, "template: release two")

    def deploy_with_a_second_one():
        started = time.monotonic()
        first = fab(site, project, laptop, "deploy", wait=False)
        deadline = time.monotonic() + 120
        while site.exec(f"test -d {APP}/.deploy.lock", check=False).returncode != 0:
            assert time.monotonic() < deadline and first.poll() is None, "the deploy never took the lock"
            time.sleep(0.2)
        second = fab(site, project, laptop, "deploy")
        out, err = first.communicate(timeout=1800)
        print(f"$ fab deploy (first) -> exit {first.returncode}\n{out}{err}")
        return first.returncode, out + err, time.monotonic() - started, second

    (code, output, seconds, second), load = under_load(site, deploy_with_a_second_one)
    assert second.returncode != 0
    assert "error: another deploy holds the lock" in second.stderr and "deploy by " in second.stderr
    assert code == 0, output
    assert "left alone, no reload" in output  # a code-only deploy never touches nginx
    RESULTS["code-only deploy"] = f"{seconds:.1f}s"
    RESULTS["code-only deploy load"] = str(load)
    record_timing("fab deploy, code-only change", seconds)
    assert load.failed == 0 and load.total > 100, load
    assert 'id="e2e-marker">release two' in get(site, "/")[1]
    assert "a comment that must survive every deploy" in get(site, RESULTS["post"])[1]


def test_broken_release_is_rolled_back_by_itself_under_load(site, project, laptop):
    views = project / "blog/views.py"
    views.write_text(
        views.read_text() + "\n\ndef _broken(self, request, *args, **kwargs):\n"
        "    raise RuntimeError('e2e: this release is broken')\n\n\nIndexView.get = _broken\n"
    )
    commit(project, "broken: the index page raises; /healthz still answers")
    done, load = under_load(site, lambda: fab(site, project, laptop, "deploy"))
    RESULTS["broken deploy load"] = str(load)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "failed its health check" in errors[0] and "rolled back" in errors[0], done.stderr
    assert "/: 500, 10 times in a row" in errors[0]  # judged broken, not waited on until the deadline
    assert "last lines of mysite-" in done.stdout  # the new app's log is shown
    assert load.failed == 0 and load.total > 100, load
    assert 'id="e2e-marker">release two' in get(site, "/")[1]
    assert "result=failed" in fab(site, project, laptop, "audit").stdout
    git(project, "revert", "--no-edit", "HEAD")


def test_rollback_under_load(site, project, laptop):
    names = re.findall(r"^[* ] (\d{14}-[0-9a-f]{7})$", fab(site, project, laptop, "releases").stdout, re.M)
    assert len(names) == 2, names
    done, load = under_load(site, lambda: fab(site, project, laptop, "rollback"))
    RESULTS["rollback load"] = str(load)
    assert done.returncode == 0, done.stdout + done.stderr
    assert load.failed == 0 and load.total > 100, load
    assert "e2e-marker" not in get(site, "/")[1]
    assert "a comment that must survive every deploy" in get(site, RESULTS["post"])[1]
    listed = fab(site, project, laptop, "releases").stdout
    assert f"* {names[0]}" in listed


def test_an_nginx_update_under_load_loses_nothing(site, project, laptop):
    """A release whose nginx image differs (its config changed) replaces the running nginx under load.

    The load client never retries a request, with one exception a browser makes too (testbed/load.py,
    retry_idle_close): a GET that met a reused keep-alive connection the old nginx closed while it was idle
    (nginx's graceful stop does that) is sent again on a new connection. Anything else fails the test: a
    refused or reset new connection, a 502/503, a timeout. Stop-first (the old nginx stopped, then the new one
    started) refuses connections meanwhile."""
    before = site.exec(docker.nginx_container("mysite")).stdout.strip()
    headers = project / "compose/production/nginx/security-headers.conf"
    headers.write_text(headers.read_text() + 'add_header X-Nginx-Release "e2e-two" always;\n')
    commit(project, "nginx: a header of its own (a new nginx image)")
    done, load = under_load(site, lambda: fab(site, project, laptop, "deploy"), retry_idle_close=True)
    RESULTS["nginx update load"] = str(load)
    RESULTS["nginx update deploy"] = f"{done.seconds:.1f}s"
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nginx: its image changed: start the new nginx beside" in done.stdout
    assert load.failed == 0 and load.total > 100, load
    after = site.exec(docker.nginx_container("mysite")).stdout.strip()
    assert after and after != before
    release = site.exec(f"basename $(readlink {APP}/current)").stdout.strip()
    image = site.exec(f"docker inspect -f '{{{{.Image}}}}' {after}").stdout.strip()
    assert image == site.exec(f"docker image inspect -f '{{{{.Id}}}}' mysite-nginx:{release}").stdout.strip()
    assert site.exec(f"docker ps -aq --filter name=^{before}$").stdout.strip() == ""  # the old one is gone
    answer = urllib.request.urlopen(urllib.request.Request(f"{site.http_url}/", headers={"Host": DOMAIN}),
                                    timeout=10)
    assert answer.headers["X-Nginx-Release"] == "e2e-two"


def test_day_two_tasks(site, project, laptop, tmp_path):
    status = fab(site, project, laptop, "status")
    assert status.returncode == 0 and "current release:" in status.stdout
    local = tmp_path / "db.sqlite3"
    done = fab(site, project, laptop, "backup", "--output", str(local))
    assert done.returncode == 0, done.stderr
    import sqlite3

    with sqlite3.connect(local) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM blog_comment")]
    assert "a comment that must survive every deploy" in texts
    done = fab(site, project, laptop, "restore", str(local), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "a comment that must survive every deploy" in get(site, RESULTS["post"])[1]
    audit = fab(site, project, laptop, "audit").stdout
    assert audit.count("result=ok") >= 3 and "rollback" in audit
    print("\n".join(f"[e2e deploy] {k}: {v}" for k, v in RESULTS.items()))
