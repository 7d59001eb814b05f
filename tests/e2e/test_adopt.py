"""`fab init` on the kinds of Django project users have, then `fab bootstrap` and `fab deploy`, over real SSH.

The user's story, once per kind (testbed/project_kinds.py): a flat startproject with a requirements.txt
(Django only, no gunicorn); a split settings package locked by pipenv; a Poetry project and a uv project, each with
its lock; `wagtail start`'s CMS. The real tools write the locks and the scaffold. `mysite-deploy init` writes every
deploy file; the user fills .envs/.production, commits, bootstraps and deploys. The page answers through nginx, its
stylesheet comes from nginx (Django serves no static files with DEBUG off), an upload in the media volume too, and
every container of the app is named after it. One prepared server (a bootstrapped server copied,
tests/harness/prepared.py) takes the kinds in turn: each test removes the previous kind's containers first, and
each app image builds from nothing there but the base image. The projects are made and adopted in threads while
the server starts. The last kind, the startproject, goes on to day two: a code change deployed under load, a
rollback, and a row and an upload kept through `fab backup` / `fab restore`.
"""

import re
import shlex
import sqlite3
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django
import pytest

from testbed.adopt_projects import GIT
from testbed.project_kinds import KINDS, PYTHON, TOOLKIT, adopt
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import DOMAIN, fab, get, under_load
from tests.harness.story import *  # noqa: F403 - laptop, site: one prepared server

pytestmark = pytest.mark.e2e
KEY = "e2e-adopt-" + "".join(chr(ord("a") + i * 7 % 26) + str(i % 10) for i in range(30))
ENV = f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\nWEB_CONCURRENCY=2\n"
ROOTS: dict[str, Path] = {}  # each kind's project, for the story that goes on with the last one
USER = "from django.contrib.auth.models import User; "


def app_container(server, name: str) -> str:
    found = server.exec(f"docker ps --filter label={name}.project={name} --format '{{{{.Names}}}}'").stdout.split()
    assert len(found) == 1 and found[0].startswith(f"{name}-"), found
    return found[0]


def manage(server, name: str, *args: str) -> str:
    """``manage.py`` in the app's container (its deploy settings), as a user runs one by hand."""
    return server.exec(f"docker exec -e DJANGO_SUPERUSER_PASSWORD=e2e-pass {app_container(server, name)} "
                       f"python manage.py {shlex.join(args)}").stdout


def answer(server, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"{server.http_url}{path}", headers={"Host": DOMAIN})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the test server's http URL
        return response.status, dict(response.headers), response.read()


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Every kind's project, adopted in threads while the server starts (the locks wait on PyPI, not the CPU)."""
    pool = ThreadPoolExecutor(len(KINDS))
    yield {kind.name: pool.submit(adopt, kind, tmp_path_factory.mktemp(kind.name), ENV) for kind in KINDS}
    pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_a_project_adopted_by_init_bootstraps_and_deploys_like_the_blog(projects, site, laptop, kind):
    root = ROOTS[kind.name] = projects[kind.name].result(timeout=600)
    site.exec("docker ps -aq | xargs -r docker rm -f")  # the previous kind's app: the server takes one at a time
    # the stand-in of python:3.11-slim (the Dockerfile names the upstream image; the server's engine has no registry)
    site.exec(f"docker tag python:{PYTHON}-slim-bookworm python:{PYTHON}-slim")
    bootstrap = fab(site, root, laptop, "bootstrap", env=TOOLKIT)  # the app's folders: bootstrap is per app
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
    deploy = fab(site, root, laptop, "deploy", env=TOOLKIT)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    status, page = get(site, kind.page)
    assert status == 200 and kind.title in page, page[:2000]
    css = re.search(f'href="({kind.css})"', page)
    assert css, page[:2000]
    status, headers, body = answer(site, css.group(1))
    source = (root / kind.css_source if kind.css_source else
              Path(django.__file__).parent / "contrib/admin/static/admin/css/base.css")
    assert (status, body) == (200, source.read_bytes())
    assert headers["Cache-Control"] == kind.cache  # nginx's /static/ location: the app sets no such header

    name = kind.name
    site.exec(f"docker exec {app_container(site, name)} sh -c 'echo uploaded > /app/media/e2e.txt'")
    status, headers, body = answer(site, "/media/e2e.txt")
    assert (status, body) == (200, b"uploaded\n")  # the media volume, served by nginx
    names = site.exec("docker ps --format '{{.Names}}'").stdout.split()
    assert len(names) == 2 and all(each.startswith(name) for each in names), names  # the app's and its nginx
    volumes = site.exec(f"docker volume ls -q --filter name={name}_").stdout.split()
    assert {f"{name}_database", f"{name}_media", f"{name}_static"} <= set(volumes), volumes


def test_the_startproject_redeploys_under_load_rolls_back_and_keeps_its_data(site, laptop, tmp_path):
    """Day two of the last kind (its app still runs): a code change under load, `fab rollback`, and a row of its
    database and an upload in its media surviving all of it and `fab backup` / `fab restore`."""
    name, root = KINDS[-1].name, ROOTS[KINDS[-1].name]
    manage(site, name, "createsuperuser", "--noinput", "--username", "e2e", "--email", "e2e@example.invalid")
    urls = root / name / "urls.py"
    urls.write_text(urls.read_text() + "\nfrom django.http import HttpResponse  # noqa: E402\n\n"
                    "urlpatterns.append(path('release/', lambda request: HttpResponse('release two')))\n")
    subprocess.run([*GIT, "commit", "-qam", "release two: a page of its own"], cwd=root, check=True)
    paths = ("/admin/login/", "/healthz")  # the project has no page at /
    deploy, load = under_load(site, lambda: fab(site, root, laptop, "deploy", env=TOOLKIT), paths=paths)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert load.failed == 0 and load.total > 100, load
    assert get(site, "/release/") == (200, "release two")

    rollback, load = under_load(site, lambda: fab(site, root, laptop, "rollback", env=TOOLKIT), paths=paths)
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert load.failed == 0 and load.total > 100, load
    assert get(site, "/release/")[0] == 404

    backup = tmp_path / "db.sqlite3"
    done = fab(site, root, laptop, "backup", "--output", str(backup), env=TOOLKIT)
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(backup) as db:
        assert [row[0] for row in db.execute("SELECT username FROM auth_user")] == ["e2e"]
    manage(site, name, "shell", "-c", USER + "User.objects.all().delete()")
    done = fab(site, root, laptop, "restore", str(backup), "--yes", env=TOOLKIT)
    assert done.returncode == 0, done.stdout + done.stderr
    users = manage(site, name, "shell", "-c", USER + "print(*User.objects.values_list('username', flat=True))")
    assert users.splitlines()[-1] == "e2e", users  # after Django's line on the models its shell imported
    assert answer(site, "/media/e2e.txt")[::2] == (200, b"uploaded\n")  # the media volume, kept all along
