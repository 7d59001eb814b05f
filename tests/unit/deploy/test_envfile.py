"""The production env file: parsed and checked locally, uploaded in one docker-safe shape."""

import pytest

from deploy import envfile
from deploy.djangoapp.keycheck import ARTICLE_SECRET_KEY, EXAMPLE_SECRET_KEY
from deploy.errors import DeployError

GOOD_KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"


def _write(tmp_path, text):
    path = tmp_path / ".production"
    path.write_text(text)
    return path


def test_parse_skips_comments_strips_quotes_and_export():
    text = "# comment\n\nexport A=1\nB='two words'\nC=\"x=y\"\n  D = spaced  \nE=\nF=a#b\n"
    assert envfile.parse(text) == {"A": "1", "B": "two words", "C": "x=y", "D": "spaced", "E": "", "F": "a#b"}


def test_parse_accepts_crlf_files():
    assert envfile.parse("A=1\r\nB=2\r\n") == {"A": "1", "B": "2"}


@pytest.mark.parametrize("line, words", [
    ("JUSTAWORD", "line 2 is not KEY=value"),
    ("1BAD=x", "line 2 is not KEY=value"),
    ("BAD KEY=x", "line 2 is not KEY=value"),
    ("A='unterminated", "never closes"),
])
def test_malformed_lines_name_the_line(line, words):
    with pytest.raises(DeployError, match=words):
        envfile.parse(f"OK=1\n{line}\n", "env")


def test_render_is_canonical_and_refuses_newlines():
    assert envfile.render({"A": "1", "B": "two words"}) == "A=1\nB=two words\n"
    with pytest.raises(DeployError, match="keep it on one line"):
        envfile.render({"A": "x\ny"})


def test_load_good_file_gives_domain_and_canonical_text(tmp_path):
    path = _write(tmp_path, f"DJANGO_SECRET_KEY='{GOOD_KEY}'\nDJANGO_ALLOWED_HOSTS=*, .blog.example,www.x\n")
    env = envfile.load(path)
    assert env.domain == "blog.example"
    assert env.render() == f"DJANGO_SECRET_KEY={GOOD_KEY}\nDJANGO_ALLOWED_HOSTS=*, .blog.example,www.x\n"


def test_missing_file_says_how_to_create_it(tmp_path):
    with pytest.raises(DeployError, match="is missing: create it with `inv production.env"):
        envfile.load(tmp_path / "nope")


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(DeployError, match="is empty"):
        envfile.load(_write(tmp_path, "# only comments\n\n"))


@pytest.mark.parametrize("key, words", [
    ("", "DJANGO_SECRET_KEY is missing or empty"),
    ("short", "fewer than 50 characters"),
    (ARTICLE_SECRET_KEY, "printed in the tutorial article"),
    (EXAMPLE_SECRET_KEY, "placeholder"),
    ("django-insecure-" + "x" * 50, "django-insecure-"),
    ("ab" * 30, "distinct characters"),
])
def test_weak_secret_keys_are_refused(tmp_path, key, words):
    with pytest.raises(DeployError, match=words) as info:
        envfile.load(_write(tmp_path, f"DJANGO_SECRET_KEY={key}\nDJANGO_ALLOWED_HOSTS=example.com\n"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("hosts", ["", "DJANGO_ALLOWED_HOSTS=\n", "DJANGO_ALLOWED_HOSTS=*\n"])
def test_allowed_hosts_is_required(tmp_path, hosts):
    with pytest.raises(DeployError, match="DJANGO_ALLOWED_HOSTS is not set"):
        envfile.load(_write(tmp_path, f"DJANGO_SECRET_KEY={GOOD_KEY}\n{hosts}"))


@pytest.mark.parametrize("hosts", ["https://blog.example/", "blog.example/", "my blog.example", "blog.example:8000",
                                   "example.com, http://www.example.com", "ann@example.com"])
def test_allowed_hosts_that_are_not_host_names_are_refused(tmp_path, hosts):
    # found by tests/reliability: a URL here passed the preflight, shipped and built, then failed the health check
    with pytest.raises(DeployError, match="is not a host name: list bare names") as info:
        envfile.load(_write(tmp_path, f"DJANGO_SECRET_KEY={GOOD_KEY}\nDJANGO_ALLOWED_HOSTS={hosts}\n"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("hosts", ["example.com", "*", ".example.com,www.example.com", "127.0.0.1", "[::1]",
                                   "localhost, blog.example,"])
def test_allowed_hosts_django_accepts_pass(tmp_path, hosts):
    envfile.load(_write(tmp_path, f"DJANGO_SECRET_KEY={GOOD_KEY}\nDJANGO_ALLOWED_HOSTS=example.com,{hosts}\n"))


def test_a_settings_module_in_the_env_file_must_be_fabric_yamls():
    envfile.check_settings_module(envfile.EnvFile(".production", {}), "shop.settings.prod")
    envfile.check_settings_module(envfile.EnvFile(".production", {"DJANGO_SETTINGS_MODULE": "shop.settings.prod"}),
                                  "shop.settings.prod")
    with pytest.raises(DeployError) as info:
        envfile.check_settings_module(envfile.EnvFile(".production", {"DJANGO_SETTINGS_MODULE": "shop.settings.x"}),
                                      "shop.settings.prod")
    assert str(info.value) == (".production: DJANGO_SETTINGS_MODULE=shop.settings.x but fabric.yaml's app settings is "
                               "shop.settings.prod: name the settings module once, as `app: settings:` in "
                               "fabric.yaml, and remove the line")
