"""deploy/adopt/django_settings.py: the settings imported by a subprocess of this Python; the refusals when
Django is missing or too old, or the settings do not import."""

import subprocess
import sys

import django
import pytest

from deploy.adopt import django_settings
from deploy.errors import DeployError
from testbed.adopt_projects import startproject, write

FAKE_OLD_DJANGO = {"django/__init__.py": "VERSION = (2, 1, 15, 'final', 0)\n\n"
                                         "def get_version():\n    return '2.1.15'\n"}


def refusal(root, files: dict[str, str]) -> str:
    """The one line django_settings.read refuses ``site_settings`` with, once ``files`` are written in ``root``."""
    write(root, files)
    with pytest.raises(DeployError) as refused:
        django_settings.read(root, "site_settings")
    return str(refused.value)


def test_a_startproject_s_settings(tmp_path):
    found = django_settings.read(startproject(tmp_path), "demo.settings")
    assert (found.module, found.django, found.django_version) == ("demo.settings", django.get_version(),
                                                                  tuple(django.VERSION[:2]))
    assert found.get("WSGI_APPLICATION") == "demo.wsgi.application"


def test_a_django_older_than_2_2_is_refused(tmp_path):
    # the project's folder comes first on the probe's path, as it does for manage.py: this Django is 2.1
    files = {**FAKE_OLD_DJANGO, "site_settings.py": "SECRET_KEY = 'x'\n"}
    assert refusal(tmp_path, files) == (
        "Django 2.1.15 is older than 2.2, the oldest the toolkit deploys: upgrade Django first")


def test_settings_that_do_not_import_are_refused_with_the_error_s_last_line(tmp_path):
    files = {"site_settings.py": "import missing_package_of_theirs\n"}
    assert refusal(tmp_path, files) == (
        "the settings site_settings do not import: ModuleNotFoundError: No module named "
        "'missing_package_of_theirs': fix them so that `python manage.py check` runs")


def test_a_python_without_django_is_refused(tmp_path, monkeypatch):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    python = str(bare / "bin" / "python")
    monkeypatch.setattr(sys, "executable", python)
    assert refusal(tmp_path, {"site_settings.py": "SECRET_KEY = 'x'\n"}) == (
        f"Django does not import in this Python ({python}): install the toolkit into the "
        "project's own environment (where its Django is) and run fab init from there")


def test_settings_that_end_the_process_are_refused(tmp_path):
    files = {"site_settings.py": "import sys\nsys.stderr.write('no database\\n')\nimport os\nos._exit(3)\n"}
    assert refusal(tmp_path, files) == (
        "the settings site_settings could not be read (exit 3: no database): fix them so "
        "that `python manage.py check` runs")
