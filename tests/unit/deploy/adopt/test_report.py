"""deploy/adopt/report.py: the aligned table, the warnings, the files, what is still the user's, what to run."""

from dataclasses import replace
from pathlib import Path

from deploy.adopt import files, report
from deploy.adopt.dependencies import Dependencies
from deploy.adopt.detect import Project
from deploy.adopt.django_settings import DjangoSettings
from deploy.adopt.layout import Layout
from deploy.adopt.python_version import PythonVersion
from deploy.adopt.services import Unserved

FACTS = {"WSGI_APPLICATION": "shop.wsgi.application", "ROOT_URLCONF": "shop.urls", "STATIC_URL": "/static/",
         "STATIC_ROOT": None, "MEDIA_URL": "/", "MEDIA_ROOT": "/srv/media",
         "DATABASE_ENGINE": "django.db.backends.postgresql"}
LAYOUT = Layout(Path("/src/shop"), "shop.settings.dev", "shop.settings.production", "shop.settings.production")
PROJECT = Project(LAYOUT, "shop", Dependencies("poetry", "poetry.lock", True, frozenset({"django"})),
                  DjangoSettings("shop.settings.production", "4.2.11", (4, 2), FACTS),
                  PythonVersion("3.12", "default for Django 4.2"), [Unserved("Celery", "run it yourself")])


def test_the_table_is_aligned_and_says_what_was_detected():
    lines = report.lines(PROJECT, files.Plan([], []))
    table = lines[1:lines.index("")]
    assert [line[2:16] for line in table] == [label.ljust(12) + "  " for label, _ in report.detected(PROJECT)]
    assert table == [
        "  project       /src/shop (app name shop)",
        "  Django        4.2.11",
        "  Python        3.12 (default for Django 4.2)",
        "  dependencies  poetry: poetry.lock (locked; no gunicorn: the image must add it)",
        "  settings      shop.settings.production (the production settings); manage.py: shop.settings.dev",
        "  deploys with  shop.deploy_settings (your settings + the environment)",
        "  WSGI          shop.wsgi:application",
        "  database      django.db.backends.postgresql",
        "  static        yours /static/ in no root; deployed /static/ in <project>/staticfiles (a volume)",
        "  media         yours / in /srv/media; deployed /media/ in <project>/media (a volume)",
    ]


def test_warnings_files_and_next_commands():
    written = files.File("fabric.yaml", "", "the app contract")
    kept = files.File(".dockerignore", "", "keeps secrets out")
    text = "\n".join(report.lines(replace(PROJECT, settings=DjangoSettings(
        "shop.settings.production", "4.2.11", (4, 2), {**FACTS, "STATIC_URL": "https://cdn.example.com/s/"})),
        files.Plan([written], [kept])))
    assert "  ! Celery: run it yourself" in text
    assert ("  ! STATIC_URL is a full URL (https://cdn.example.com/s/: a CDN or a storage service?): "
            "shop.deploy_settings sets /static/") in text
    assert "  write       fabric.yaml: the app contract" in text
    assert "  left alone  .dockerignore: it exists (fab init --force .dockerignore replaces it)" in text
    assert "your poetry.lock plus gunicorn and mysite-deploy installed" in text
    assert "gunicorn serving shop.wsgi:application on port 8000" in text
    assert text.endswith("  fab -H deploy@server deploy                        # once the Dockerfile and "
                         "production.yml are in")


def test_no_warning_section_without_warnings():
    lines = report.lines(replace(PROJECT, unserved=[]), files.Plan([], []))
    assert not any(line.startswith("Warnings") for line in lines)


def test_settings_that_manage_py_and_wsgi_py_share_are_named_once():
    flat = replace(PROJECT, layout=Layout(Path("/src/shop"), "shop.settings", "shop.settings", None))
    assert dict(report.detected(flat))["settings"] == "shop.settings (manage.py's)"
    by_wsgi = replace(PROJECT, layout=Layout(Path("/src/shop"), "shop.settings.dev", "shop.settings.live", None))
    assert dict(report.detected(by_wsgi))["settings"] == "shop.settings.live (wsgi.py's); manage.py: shop.settings.dev"
