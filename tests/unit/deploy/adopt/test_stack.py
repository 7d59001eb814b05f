"""deploy/adopt/stack.py: the app image's start files and the nginx folder are the blog's own files, and
production.yml is the blog's stack named after the app."""

import difflib
from pathlib import Path

from invoke.util import yaml

from deploy.adopt import stack
from deploy.adopt.dependencies import Dependencies
from deploy.adopt.detect import Project
from deploy.adopt.django_settings import DjangoSettings
from deploy.adopt.layout import Layout
from deploy.adopt.python_version import PythonVersion

ROOT = Path(__file__).resolve().parents[4]
PIP = Dependencies("pip", "requirements.txt", False, frozenset({"django"}))


def project(name: str, package: str, python: str = "3.12", deps: Dependencies = PIP) -> Project:
    settings = DjangoSettings(f"{package}.settings", "5.2", (5, 2), {"WSGI_APPLICATION": f"{package}.wsgi.application"})
    return Project(Layout(ROOT, f"{package}.settings", None, None), name, deps, settings,
                   PythonVersion(python, ".python-version"), [])


def test_the_start_files_are_the_blogs_and_the_lock_script_comes_with_a_pipfile_lock():
    files = stack.start_files(project("shop", "shop"))
    assert [path for path, _ in files] == [f"compose/production/django/{name}" for name in stack.START_FILES]
    assert all(text == (ROOT / path).read_text(encoding="utf-8") for path, text in files)
    locked = stack.start_files(project("shop", "shop", deps=Dependencies("pipenv", "Pipfile.lock", True, frozenset())))
    assert [path for path, _ in locked][-1] == "compose/production/django/lock2req.py"


def test_the_nginx_folder_is_the_blogs():
    blog = sorted(path for path in (ROOT / "compose/production/nginx").iterdir() if path.is_file())
    assert stack.nginx_files() == [(f"compose/production/nginx/{path.name}", path.read_text(encoding="utf-8"))
                                   for path in blog]


def test_production_yml_for_the_blog_differs_from_the_blogs_in_four_places_only():
    ours = stack.production_yml(project("mysite", "mysite", python="3.11")).splitlines()
    blog = (ROOT / "production.yml").read_text(encoding="utf-8").splitlines()
    changed = [line for line in difflib.unified_diff(blog, ours, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == [
        "-# Production stack: docker-compose -f production.yml [-p mysite] up -d --build",
        "-# Works with docker-compose 1.29 (v1) and `docker compose` (v2). See docs/ARCHITECTURE.md for names.",
        "+# Production stack (written by `fab init`; yours now): docker-compose -f production.yml -p mysite up -d "
        "--build",
        "+# Works with docker-compose 1.29 (v1) and `docker compose` (v2). The names follow the toolkit's contract",
        "+# (its docs/ARCHITECTURE.md, \"Runtime names\"): the app service is the app's name, mysite.",
        "-        PYTHON_IMAGE: ${PYTHON_IMAGE:-python:3.11-slim-bookworm}",
        "+        PYTHON_IMAGE: ${PYTHON_IMAGE:-python:3.11-slim}",
        "-    # the app contract (fabric.yaml's app:; a deploy passes them, these defaults are the blog's). The "
        "settings",
        "+    # the app contract (fabric.yaml's app:; a deploy passes them, these defaults are fabric.yaml's). The "
        "settings",
        "+      MYSITE_APP_ALIAS: mysite  # the app's service: where nginx's templates say mysite",
    ]


def test_production_yml_names_everything_after_the_app():
    stack_file = yaml.safe_load(stack.production_yml(project("shop", "shopsite")))
    assert list(stack_file["services"]) == ["shop", "nginx", "postgres", "litestream", "certbot"]
    app, nginx = stack_file["services"]["shop"], stack_file["services"]["nginx"]
    assert app["image"] == "shop-django:${MYSITE_TAG:-latest}"
    assert app["build"] == {"context": ".", "dockerfile": "compose/production/django/Dockerfile",
                            "args": {"PYTHON_IMAGE": "${PYTHON_IMAGE:-python:3.12-slim}"}}
    assert app["environment"]["MYSITE_APP_WSGI"] == "${MYSITE_APP_WSGI:-shopsite.wsgi:application}"
    assert app["volumes"] == ["database:/app/database", "static:/srv/static", "media:/app/media",
                              "sockets:/run/app-sockets"]
    assert nginx["image"] == "shop-nginx:${MYSITE_TAG:-latest}"
    assert nginx["environment"]["MYSITE_APP_ALIAS"] == "shop"
    assert nginx["depends_on"] == ["shop"]
    assert nginx["volumes"][:2] == ["static:/srv/static:ro", "media:/srv/media:ro"]  # nginx serves both
    assert sorted(stack_file["volumes"]) == ["acme", "database", "letsencrypt", "media", "postgres", "sockets",
                                             "static"]
