"""Settings read from files (Docker secrets in /run/secrets): NAME_FILE names a file whose text is NAME's value.

The rule is django-environ's FileAwareEnv: NAME_FILE, when set and not empty, wins over NAME. Each case
imports the settings in a fresh process, because settings are read once, at import.
"""

import json

import pytest

from tests.harness.settings_env import STRONG_KEY, run_python

OTHER_KEY = "Zq8!xW3#rT6@yU1^iO4&pA7*sD0(fG2)hJ5_kL9+mN3=bV6-cX1zQ8wE4rT7yU2iO5"
PRODUCTION = "mysite.settings.production"


def settings_of(module, names, **env):
    code = f"import json, {module} as s; print(json.dumps({{n: getattr(s, n) for n in {names!r}}}, default=str))"
    return run_python(code, **env)


def values_of(module, names, **env):
    result = settings_of(module, names, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def last_error(result):
    assert result.returncode != 0, result.stdout
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def secret(tmp_path):
    """secret(name, text) -> the path of a file holding text, as Docker mounts a secret."""

    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        path.chmod(0o400)
        return str(path)

    return write


def test_the_secret_key_from_a_file(secret):
    # `echo KEY | docker secret create` leaves a line end: it is not part of the key
    path = secret("django_secret_key", STRONG_KEY + "\n")
    values = values_of(PRODUCTION, ["SECRET_KEY"], DJANGO_SECRET_KEY_FILE=path, DJANGO_ALLOWED_HOSTS="example.com")
    assert values["SECRET_KEY"] == STRONG_KEY


def test_database_url_from_a_file(secret):
    path = secret("database_url", "postgres://blog:s3cr%2Ft@postgres:5432/blog\r\n")
    db = values_of("mysite.settings.common", ["DATABASES"], DATABASE_URL_FILE=path)["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["HOST"], db["PORT"]) == ("blog", "postgres", 5432)
    assert (db["USER"], db["PASSWORD"]) == ("blog", "s3cr/t")
    assert db["CONN_MAX_AGE"] == 60  # the same defaults as a DATABASE_URL in the environment


def test_any_value_can_come_from_a_file(secret):
    path = secret("allowed_hosts", "blog.example,www.blog.example\n")
    values = values_of(PRODUCTION, ["ALLOWED_HOSTS", "SITE_DOMAIN"], DJANGO_SECRET_KEY=STRONG_KEY,
                       DJANGO_ALLOWED_HOSTS_FILE=path)
    assert values == {"ALLOWED_HOSTS": ["blog.example", "www.blog.example"], "SITE_DOMAIN": "blog.example"}


def test_the_file_wins_when_both_are_set(secret):
    """FileAwareEnv's rule: NAME_FILE, when set, is read and NAME is never looked at."""
    key = secret("django_secret_key", STRONG_KEY)
    url = secret("database_url", "postgres://u:p@from-file:5432/blog")
    values = values_of(PRODUCTION, ["SECRET_KEY", "DATABASES"], DJANGO_SECRET_KEY=OTHER_KEY, DJANGO_SECRET_KEY_FILE=key,
                       DATABASE_URL="postgres://u:p@from-env:5432/blog", DATABASE_URL_FILE=url,
                       DJANGO_ALLOWED_HOSTS="example.com")
    assert values["SECRET_KEY"] == STRONG_KEY
    assert values["DATABASES"]["default"]["HOST"] == "from-file"


def test_an_empty_file_variable_is_not_set():
    values = values_of(PRODUCTION, ["SECRET_KEY"], DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_SECRET_KEY_FILE="",
                       DJANGO_ALLOWED_HOSTS="example.com")
    assert values["SECRET_KEY"] == STRONG_KEY


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is missing or empty"),
        ("\n", "is missing or empty"),
        ("too-short\n", "is weak (fewer than 50 characters (9))"),
        ("django-insecure-" + "q7w8e9r0t1" * 6, "is weak (it has the 'django-insecure-' prefix"),
    ],
)
def test_production_refuses_a_weak_key_from_a_file(secret, text, reason):
    path = secret("django_secret_key", text)
    line = last_error(settings_of(PRODUCTION, ["SECRET_KEY"], DJANGO_SECRET_KEY_FILE=path,
                                  DJANGO_ALLOWED_HOSTS="example.com"))
    assert line.startswith(
        f"django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY (read from DJANGO_SECRET_KEY_FILE={path}) "
        + reason
    ), line
    assert "get_random_secret_key" in line  # the fix is named on the same line


def test_a_weak_key_in_a_file_is_refused_even_beside_a_strong_one(secret):
    path = secret("django_secret_key", "too-short")
    line = last_error(settings_of(PRODUCTION, ["SECRET_KEY"], DJANGO_SECRET_KEY=STRONG_KEY,
                                  DJANGO_SECRET_KEY_FILE=path, DJANGO_ALLOWED_HOSTS="example.com"))
    assert f"DJANGO_SECRET_KEY (read from DJANGO_SECRET_KEY_FILE={path}) is weak" in line


@pytest.mark.parametrize(
    ("name", "module"),
    [("DJANGO_SECRET_KEY", PRODUCTION), ("DATABASE_URL", PRODUCTION), ("DATABASE_URL", "mysite.settings.local"),
     ("DJANGO_ALLOWED_HOSTS", PRODUCTION)],
)
def test_a_missing_file_stops_the_start_with_one_line(tmp_path, name, module):
    missing = tmp_path / "run/secrets/nothing-here"
    env = {"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_ALLOWED_HOSTS": "example.com", f"{name}_FILE": str(missing)}
    line = last_error(settings_of(module, ["SECRET_KEY"], **env))
    assert line == (
        f"django.core.exceptions.ImproperlyConfigured: {name}_FILE={missing} cannot be read (No such file or "
        f"directory): mount the secret there, or unset {name}_FILE to read {name} itself"
    )


def test_a_folder_or_a_binary_file_is_refused_too(tmp_path):
    line = last_error(settings_of(PRODUCTION, ["SECRET_KEY"], DJANGO_SECRET_KEY_FILE=str(tmp_path),
                                  DJANGO_ALLOWED_HOSTS="example.com"))
    assert f"DJANGO_SECRET_KEY_FILE={tmp_path} cannot be read (Is a directory)" in line
    binary = tmp_path / "key.bin"
    binary.write_bytes(b"\xff\xfe" * 40)
    line = last_error(settings_of(PRODUCTION, ["SECRET_KEY"], DJANGO_SECRET_KEY_FILE=str(binary),
                                  DJANGO_ALLOWED_HOSTS="example.com"))
    assert f"DJANGO_SECRET_KEY_FILE={binary} cannot be read (not UTF-8 text)" in line


def test_the_wsgi_application_starts_with_secrets_from_files(secret):
    """What gunicorn imports, with the key and the database URL as a swarm service gets them."""
    key = secret("django_secret_key", STRONG_KEY + "\n")
    url = secret("database_url", "sqlite:////tmp/mysite-not-opened.sqlite3\n")
    code = "import mysite.wsgi; from django.conf import settings as s; print(s.DATABASES['default']['NAME'])"
    result = run_python(code, DJANGO_SECRET_KEY_FILE=key, DATABASE_URL_FILE=url, DJANGO_ALLOWED_HOSTS="example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "/tmp/mysite-not-opened.sqlite3"
