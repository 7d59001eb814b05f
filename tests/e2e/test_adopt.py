"""`fab init` on a project `django-admin startproject` made, then `fab bootstrap` and `fab deploy`, over real SSH.

The user's story: a flat startproject with a requirements.txt (Django only, no gunicorn) in git; `mysite-deploy init`
writes every deploy file; the user fills .envs/.production, commits, bootstraps and deploys. The admin's login page
answers through nginx, its CSS comes from nginx (Django serves no static files with DEBUG off), an upload in the
media volume too, and every container of the app is named after it. The server is a prepared one (a bootstrapped
server copied, tests/harness/prepared.py); the app image builds from nothing there but the base image.
"""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import django
import pytest

from tests.harness.adopt_projects import GIT, commit, startproject, write
from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
from tests.harness.flows import DOMAIN, REPO, fab, get
from tests.harness.story import *  # noqa: F403 - laptop, site: one prepared server

pytestmark = pytest.mark.e2e
NAME = "shop"
KEY = "e2e-adopt-" + "".join(chr(ord("a") + i * 7 % 26) + str(i % 10) for i in range(30))
PYTHON = "3.11"  # the version the stand-in python image has (docs/TESTING.md): pinned as a user would pin theirs
# `fab` and `mysite-deploy` run the toolkit under test (this checkout), as the project's environment would
TOOLKIT = {"PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory) -> Path:
    """startproject + requirements.txt, committed; `mysite-deploy init`; the env file; committed again."""
    root = startproject(tmp_path_factory.mktemp("adopt"), NAME)
    commit(write(root, {"requirements.txt": "Django>=5.2,<6.0\n", ".python-version": f"{PYTHON}\n"}))
    init = subprocess.run([str(Path(sys.executable).parent / "mysite-deploy"), "init"], cwd=root, text=True,
                          capture_output=True, timeout=120, env={**os.environ, **TOOLKIT}, check=False)
    print(init.stdout, init.stderr)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "Wrote 31 file(s); left 0 alone." in init.stdout
    assert "Still yours" not in init.stdout
    write(root, {".envs/.production": f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\nWEB_CONCURRENCY=2\n"})
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "Deploy files from fab init"], cwd=root, check=True)
    return root


def answer(server, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"{server.http_url}{path}", headers={"Host": DOMAIN})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the test server's http URL
        return response.status, dict(response.headers), response.read()


def test_a_startproject_adopted_by_init_bootstraps_and_deploys_like_the_blog(site, laptop, adopted):
    # the stand-in of python:3.11-slim (the Dockerfile names the upstream image; the server's engine has no registry)
    site.exec(f"docker tag python:{PYTHON}-slim-bookworm python:{PYTHON}-slim")
    bootstrap = fab(site, adopted, laptop, "bootstrap", env=TOOLKIT)
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
    deploy = fab(site, adopted, laptop, "deploy", env=TOOLKIT)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    status, page = get(site, "/admin/login/")
    assert status == 200 and "Log in | Django site admin" in page, page[:2000]
    css = "/static/admin/css/base.css"
    assert f'href="{css}"' in page
    status, headers, body = answer(site, css)
    django_css = Path(django.__file__).parent / "contrib/admin/static/admin/css/base.css"
    assert (status, body) == (200, django_css.read_bytes())
    assert headers["Cache-Control"] == "max-age=3600"  # nginx's /static/ location: the app sets no such header

    app = site.exec(f"docker ps --filter label={NAME}.project={NAME} --format '{{{{.Names}}}}'").stdout.split()
    assert len(app) == 1 and app[0].startswith(f"{NAME}-"), app
    site.exec(f"docker exec {app[0]} sh -c 'echo uploaded > /app/media/e2e.txt'")
    status, headers, body = answer(site, "/media/e2e.txt")
    assert (status, body) == (200, b"uploaded\n")  # the media volume, served by nginx
    names = site.exec("docker ps --format '{{.Names}}'").stdout.split()
    assert len(names) == 2 and all(name.startswith(NAME) for name in names), names  # the app's and its nginx
    volumes = site.exec(f"docker volume ls -q --filter name={NAME}_").stdout.split()
    assert {f"{NAME}_database", f"{NAME}_media", f"{NAME}_static"} <= set(volumes), volumes
