"""deploy/adopt/files.py: the files rendered from the shipped templates, and which are written: new ones, and
the one --force names; never another existing file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.util import yaml  # the YAML that Fabric reads fabric.yaml with

from deploy import config
from deploy.adopt import files
from deploy.adopt.detect import detect
from deploy.errors import DeployError
from testbed.adopt_projects import flat_project, split_project, write

ROOT = Path(__file__).resolve().parents[4]
SETTINGS_FILES = [".dockerignore", ".envs/.gitignore", ".envs/.production.example", "demo/deploy_gate_settings.py",
                  "demo/deploy_settings.py", "demo/deploy_urls.py", "fabfile.py", "fabric.yaml"]
START_FILES = ["gunicorn.conf.py", "gunicorn_sizing.py", "gzip_static.py", "healthcheck.py", "litestream.txt",
               "publish_static.py", "start.sh", "warm_worker.py"]
NGINX_FILES = sorted(path.name for path in (ROOT / "compose/production/nginx").iterdir() if path.is_file())
WRITTEN = sorted([*SETTINGS_FILES, "compose/production/django/Dockerfile", "production.yml",
                  *(f"compose/production/django/{name}" for name in START_FILES),
                  *(f"compose/production/nginx/{name}" for name in NGINX_FILES)])
STRONG_KEY = "k3y-" + "".join(chr(ord("a") + i % 26) + str(i % 10) for i in range(30))


def rendered(project) -> dict[str, str]:
    return {file.path: file.text for file in files.render(project)}


def test_the_files_of_a_startproject(tmp_path):
    found = rendered(detect(flat_project(tmp_path)))
    assert sorted(found) == WRITTEN
    assert found["fabfile.py"] == (ROOT / "fabfile.py").read_text(encoding="utf-8")  # the blog's two lines
    assert "from demo.settings import *" in found["demo/deploy_settings.py"]
    assert 'ROOT_URLCONF = "demo.deploy_urls"' in found["demo/deploy_settings.py"]
    assert "from demo.urls import urlpatterns as _yours" in found["demo/deploy_urls.py"]
    assert "from demo.settings import *" in found["demo/deploy_gate_settings.py"]
    assert "$" not in found["demo/deploy_settings.py"].replace('r"^healthz$"', "")  # every placeholder filled


def test_fabric_yaml_holds_the_detected_app_contract_that_the_engine_accepts(tmp_path):
    text = rendered(detect(split_project(tmp_path)))["fabric.yaml"]
    settings = yaml.safe_load(text)
    assert settings["tasks"] == {"executor_class": "deploy.cli.Executor"}
    loaded = config.load(settings["deploy"], environ={})
    assert loaded.app == config.AppConfig(name="shop", settings="shop.deploy_settings", wsgi="shop.wsgi:application",
                                          port=8000, health_path="/healthz", gate_settings="shop.deploy_gate_settings")
    assert loaded.env_file == ".envs/.production"


def run_settings(root, code: str, **environ: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python in ``root``, on the written deploy settings, with a strong key and ``environ``."""
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "demo.deploy_settings",
            "DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_ALLOWED_HOSTS": "example.com"}
    return subprocess.run([sys.executable, "-c", code], cwd=root, env={**base, **environ}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_deploy_settings_run_the_project_from_the_environment_with_healthz(tmp_path):
    root = detect(flat_project(tmp_path)).root
    files.write(root, files.render(detect(root)))
    code = ("import django; django.setup(); from django.conf import settings as s; from django.test import Client; "
            "r = Client().get('/healthz', HTTP_HOST='example.com'); "
            "print(s.DEBUG, s.ALLOWED_HOSTS, s.DATABASES['default']['NAME'], s.STATIC_ROOT, s.MEDIA_URL, "
            "s.INSTALLED_APPS[-1], s.CSRF_TRUSTED_ORIGINS[0], s.SECURE_SSL_REDIRECT, r.status_code)")
    done = run_settings(root, code, DJANGO_ALLOWED_HOSTS="example.com, www.example.com", DJANGO_HTTPS="true")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "False", "['example.com',", "'www.example.com']", f"{root}/database/db.sqlite3", f"{root}/staticfiles",
        "/media/", "deploy.djangoapp", "https://example.com", "True", "200"]

    weak = run_settings(root, "import django; django.setup()", DJANGO_SECRET_KEY="short")
    assert weak.returncode == 1 and "ImproperlyConfigured" in weak.stderr.strip().splitlines()[-1]


def test_the_deploy_settings_take_postgres_from_database_url(tmp_path):
    root = detect(flat_project(tmp_path)).root
    files.write(root, files.render(detect(root)))
    code = "from django.conf import settings as s; print(sorted(s.DATABASES['default'].items()))"
    done = run_settings(root, code, DATABASE_URL="postgres://demo:p%40ss@postgres:5432/demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted({
        "ENGINE": "django.db.backends.postgresql", "NAME": "demo", "USER": "demo", "PASSWORD": "p@ss",
        "HOST": "postgres", "PORT": "5432", "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}.items()))


def test_the_gate_settings_know_the_toolkit_s_command_without_a_secret(tmp_path):
    root = detect(flat_project(tmp_path)).root
    files.write(root, files.render(detect(root)))
    environ = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT),
               "DJANGO_SETTINGS_MODULE": "demo.deploy_gate_settings"}
    done = subprocess.run([sys.executable, "manage.py", "help", "unsafe_migrations"], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "--applied" in done.stdout


def test_existing_files_are_left_alone_and_force_replaces_one(tmp_path):
    project = detect(write(flat_project(tmp_path), {"fabric.yaml": "mine\n", ".dockerignore": "mine\n"}))
    plan = files.plan(project)
    assert [file.path for file in plan.kept] == ["fabric.yaml", ".dockerignore"]
    assert len(plan.write) == len(WRITTEN) - 2
    forced = files.plan(project, force="./fabric.yaml")
    assert [file.path for file in forced.kept] == [".dockerignore"]
    assert "fabric.yaml" in [file.path for file in forced.write]


def test_force_names_a_file_init_writes(tmp_path):
    project = detect(flat_project(tmp_path))
    with pytest.raises(DeployError) as refused:
        files.plan(project, force="settings.py")
    assert str(refused.value) == ("--force settings.py: fab init writes no such file; it writes fabric.yaml, "
                                  "fabfile.py, .dockerignore, .envs/.production.example, .envs/.gitignore, "
                                  "demo/*, compose/production/django/*, compose/production/nginx/*, production.yml")


def test_a_top_level_settings_module_gets_top_level_deploy_modules(tmp_path):
    write(tmp_path, {"manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")\n',
                     "settings.py": "SECRET_KEY = 'x'\nROOT_URLCONF = 'urls'\nINSTALLED_APPS = []\n"
                                    "WSGI_APPLICATION = 'wsgi.application'\n",
                     "requirements.txt": "django\n", ".git/HEAD": ""})
    found = rendered(detect(tmp_path))
    assert {"deploy_settings.py", "deploy_urls.py", "deploy_gate_settings.py"} <= set(found)
    assert "parents[0]" in found["deploy_settings.py"]
    assert "wsgi: wsgi:application" in found["fabric.yaml"]
