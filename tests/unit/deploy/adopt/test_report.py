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
        "  dependencies  poetry: poetry.lock (locked; no gunicorn: the image adds it)",
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
    unlocked = Dependencies("poetry", "pyproject.toml", False, frozenset({"django"}))
    text = "\n".join(report.lines(replace(PROJECT, dependencies=unlocked, settings=DjangoSettings(
        "shop.settings.production", "4.2.11", (4, 2), {**FACTS, "STATIC_URL": "https://cdn.example.com/s/"})),
        files.Plan([written], [kept])))
    assert "  ! Celery: run it yourself" in text
    assert ("  ! STATIC_URL is a full URL (https://cdn.example.com/s/: a CDN or a storage service?): "
            "shop.deploy_settings sets /static/") in text
    assert "  write       fabric.yaml: the app contract" in text
    assert "  left alone  .dockerignore: it exists (fab init --force .dockerignore replaces it)" in text
    assert ("Still yours to provide before a deploy:\n  - compose/production/django/Dockerfile: a Poetry project "
            "without poetry.lock: the image installs the lock, hash-checked; run `poetry lock`, commit it, and run fab "
            "init again\n") in text
    assert text.endswith("  fab -H deploy@server bootstrap --accept-new-host-key\n  fab -H deploy@server deploy")


def test_a_folder_written_for_one_reason_is_one_line_and_the_projects_own_files_are_named(tmp_path):
    write = [files.File(f"compose/production/nginx/{name}", "", "the nginx image") for name in ("a", "b", "c")]
    write += [files.File("compose/production/django/Dockerfile", "", "the app image"), files.File("x/y", "", "y")]
    assert report.file_lines(files.Plan(write, [files.File("production.yml", "", "the stack")])) == [
        "  write       compose/production/nginx/ (3 files): the nginx image",
        "  write       compose/production/django/Dockerfile: the app image",
        "  write       x/y: y",
        "  left alone  production.yml: it exists (fab init --force production.yml replaces it)"]
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    assert report.theirs(replace(PROJECT, layout=replace(LAYOUT, root=tmp_path))) == [
        "  your Dockerfile stays as it is and the deploy does not use it: it builds "
        "compose/production/django/Dockerfile through production.yml",
        "  your docker-compose.yml stays as it is and the deploy does not use it: it builds "
        "compose/production/django/Dockerfile through production.yml"]


def test_a_supported_manager_leaves_nothing_to_provide():
    pip = replace(PROJECT, dependencies=Dependencies("pip", "requirements.txt", False, frozenset({"django"})))
    assert not any(line.startswith("Still yours") for line in report.lines(pip, files.Plan([], [])))


def test_no_warning_section_without_warnings():
    lines = report.lines(replace(PROJECT, unserved=[]), files.Plan([], []))
    assert not any(line.startswith("Warnings") for line in lines)


def test_settings_that_manage_py_and_wsgi_py_share_are_named_once():
    flat = replace(PROJECT, layout=Layout(Path("/src/shop"), "shop.settings", "shop.settings", None))
    assert dict(report.detected(flat))["settings"] == "shop.settings (manage.py's)"
    by_wsgi = replace(PROJECT, layout=Layout(Path("/src/shop"), "shop.settings.dev", "shop.settings.live", None))
    assert dict(report.detected(by_wsgi))["settings"] == "shop.settings.live (wsgi.py's); manage.py: shop.settings.dev"
