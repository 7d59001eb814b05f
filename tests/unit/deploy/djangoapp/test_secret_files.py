"""Settings read from files (deploy/djangoapp/secret_files.py): NAME_FILE names a file whose text is NAME's value.

The blog's settings are tested with it in tests/integration/test_settings_from_files.py; here the helper alone.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from deploy.djangoapp import secret_files
from tests.harness.settings_env import run_python


@pytest.fixture
def env(monkeypatch):
    for name in ("SHOP_KEY", "SHOP_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return secret_files.environment()


def test_a_value_from_its_file_without_the_line_end(env, monkeypatch, tmp_path):
    path = tmp_path / "shop_key"
    path.write_text("from-the-file\r\n")
    monkeypatch.setenv("SHOP_KEY", "from-the-environment")
    monkeypatch.setenv("SHOP_KEY_FILE", str(path))
    assert env.str("SHOP_KEY") == "from-the-file"  # the file wins
    assert secret_files.env_source("SHOP_KEY") == f"SHOP_KEY (read from SHOP_KEY_FILE={path})"


def test_an_empty_file_variable_is_unset(env, monkeypatch):
    monkeypatch.setenv("SHOP_KEY", "plain")
    monkeypatch.setenv("SHOP_KEY_FILE", "")
    assert env.str("SHOP_KEY") == "plain"
    assert secret_files.env_source("SHOP_KEY") == "SHOP_KEY"
    assert env.str("SHOP_OTHER", default="x") == "x"


def test_a_file_that_cannot_be_read_is_one_line_naming_it(env, monkeypatch, tmp_path):
    monkeypatch.setenv("SHOP_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured) as info:
        env.str("SHOP_KEY")
    assert str(info.value) == (f"SHOP_KEY_FILE={tmp_path / 'missing'} cannot be read (No such file or directory): "
                               "mount the secret there, or unset SHOP_KEY_FILE to read SHOP_KEY itself")


def test_settings_import_it_before_django_is_configured():
    result = run_python("from deploy.djangoapp import secret_files; print(secret_files.environment().str('HOME'))")
    assert result.returncode == 0, result.stderr
