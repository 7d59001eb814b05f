"""Settings: the secret-key rule, production refusing weak keys, check --deploy, the SQLite folder."""

import json
import sqlite3
import subprocess
import sys

import pytest

from deploy.djangoapp.keycheck import ARTICLE_SECRET_KEY, EXAMPLE_SECRET_KEY
from tests.harness.settings_env import REPO, STRONG_KEY, clean_env, copy_app, run_python


def import_production(**env):
    code = (
        "import json, mysite.settings.production as s;"
        "print(json.dumps({k: getattr(s, k) for k in ('DEBUG', 'ALLOWED_HOSTS', 'CSRF_TRUSTED_ORIGINS',"
        " 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS',"
        " 'SECURE_PROXY_SSL_HEADER', 'SITE_DOMAIN')}))"
    )
    return run_python(code, **env)


# --- production settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "DJANGO_SECRET_KEY is missing or empty"),
        ("too-short", "DJANGO_SECRET_KEY is weak (fewer than 50 characters (9))"),
        ("django-insecure-" + "q7w8e9r0t1" * 6, "DJANGO_SECRET_KEY is weak (it has the 'django-insecure-' prefix"),
        (
            EXAMPLE_SECRET_KEY,
            "DJANGO_SECRET_KEY is weak (public: it is the placeholder from .envs/.production.example)",
        ),
        (ARTICLE_SECRET_KEY, "DJANGO_SECRET_KEY is weak (public: it is the key printed in the tutorial article)"),
    ],
)
def test_production_refuses_weak_keys(key, reason):
    env = {"DJANGO_ALLOWED_HOSTS": "example.com"}
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    result = import_production(**env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: " + reason)
    assert "inv production.env --domain example.com" in last_line  # the fix is named on the same line
    assert "get_random_secret_key" in last_line


def test_production_refuses_missing_allowed_hosts():
    result = import_production(DJANGO_SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is missing" in result.stderr.strip().splitlines()[-1]


def test_production_accepts_a_strong_key_and_derives_csrf_origins():
    result = import_production(DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="example.com, www.example.com,*")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["example.com", "www.example.com", "*"]
    assert values["SITE_DOMAIN"] == "example.com"
    assert values["CSRF_TRUSTED_ORIGINS"] == [
        "https://example.com",
        "http://example.com",
        "https://www.example.com",
        "http://www.example.com",
    ]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_django_https_turns_on_everything_together():
    result = import_production(DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="example.com", DJANGO_HTTPS="true")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000


def check_deploy(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=clean_env(
            DJANGO_SETTINGS_MODULE="mysite.settings.production",
            DJANGO_SECRET_KEY=STRONG_KEY,
            DJANGO_ALLOWED_HOSTS="example.com",
            **env,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_https():
    result = check_deploy(DJANGO_HTTPS="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_without_https():
    # Plain HTTP (before a certificate exists) is allowed to run, but the deploy check says so.
    result = check_deploy()
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT
    assert "security.W004" in result.stderr  # HSTS


def test_healthz_is_reachable_over_http_with_https_on():
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz', HTTP_HOST='example.com');"
        "print(r.status_code)"
    )
    result = run_python(
        code,
        DJANGO_SETTINGS_MODULE="mysite.settings.production",
        DJANGO_SECRET_KEY=STRONG_KEY,
        DJANGO_ALLOWED_HOSTS="example.com",
        DJANGO_HTTPS="true",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "200"  # not a 301 to https


def test_manage_defaults_to_local_and_wsgi_to_production():
    manage = (REPO / "manage.py").read_text()
    assert 'setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.local")' in manage
    result = run_python(
        "import os, mysite.wsgi; print(os.environ['DJANGO_SETTINGS_MODULE'])",
        DJANGO_SECRET_KEY=STRONG_KEY,
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mysite.settings.production"
    weak = run_python("import mysite.wsgi", DJANGO_SECRET_KEY="weak", DJANGO_ALLOWED_HOSTS="example.com")
    assert weak.returncode != 0 and "DJANGO_SECRET_KEY is weak" in weak.stderr


# --- database --------------------------------------------------------------------------------------


@pytest.fixture
def project_copy(tmp_path):
    """A copy of the project without a database/ folder (a fresh clone, as the image holds it)."""
    copy_app(tmp_path)
    assert not (tmp_path / "database").exists()
    return tmp_path


def test_migrate_creates_the_database_folder_with_wal(project_copy):
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=project_copy,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    db_file = project_copy / "database" / "db.sqlite3"
    assert db_file.is_file()
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM django_migrations WHERE app='blog'").fetchone()[0] >= 1


def test_sqlite_options_and_database_url():
    code = "import json, mysite.settings.common as s; print(json.dumps(s.DATABASES['default'], default=str))"
    sqlite = json.loads(run_python(code).stdout)
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
    assert sqlite["NAME"] == str(REPO / "database" / "db.sqlite3")
    assert sqlite["OPTIONS"] == {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    pg = json.loads(run_python(code, DATABASE_URL="postgres://u:p@db:5432/blog").stdout)
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["HOST"], pg["PORT"], pg["USER"]) == ("blog", "db", 5432, "u")


def test_common_paths():
    code = (
        "import json, mysite.settings.common as s;"
        "print(json.dumps([str(s.BASE_DIR), s.STATIC_URL, str(s.STATIC_ROOT), s.MEDIA_URL, str(s.MEDIA_ROOT),"
        " 'django.contrib.sitemaps' in s.INSTALLED_APPS]))"
    )
    result = run_python(code)
    assert json.loads(result.stdout) == [
        str(REPO),
        "/static/",
        str(REPO / "staticfiles"),
        "/media/",
        str(REPO / "media"),
        True,
    ]


def test_production_stack_migrates_collects_and_serves(project_copy):
    """Like the container's start script: migrate, collectstatic (hashed names), then serve pages."""
    env = clean_env(
        DJANGO_SETTINGS_MODULE="mysite.settings.production",
        DJANGO_SECRET_KEY=STRONG_KEY,
        DJANGO_ALLOWED_HOSTS="example.com",
    )

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=project_copy, env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    manage("migrate", "--noinput", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    manage("seed_demo", "--posts", "3")
    assert (project_copy / "staticfiles" / "staticfiles.json").is_file()
    code = (
        "import django; django.setup();"
        "from django.test import Client; c = Client(HTTP_HOST='example.com');"
        "r = c.get('/'); print(r.status_code); html = r.content.decode();"
        "import re; print(re.search(r'/static/blog/css/site\\.[0-9a-f]{12}\\.css', html) is not None);"
        "print(c.get('/no-such-page/').status_code); print(c.get('/healthz').status_code);"
        "print(c.get('/posts/1/').status_code); print(Client(HTTP_HOST='evil.example.net').get('/').status_code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project_copy, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # Logs go to stdout too (production LOGGING): the answers are the lines that aren't log lines.
    answers = [line for line in result.stdout.splitlines() if line in {"200", "400", "404", "True", "False"}]
    assert answers == ["200", "True", "404", "200", "200", "400"]
    assert "Invalid HTTP_HOST header: 'evil.example.net'" in result.stdout  # logged to stdout
