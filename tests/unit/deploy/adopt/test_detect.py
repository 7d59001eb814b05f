"""deploy/adopt/detect.py on projects made by django-admin startproject: what is detected, and the refusals in
the order a user meets them."""

import django
import pytest

from deploy.adopt.detect import detect
from deploy.errors import DeployError
from testbed.adopt_projects import commit, flat_project, split_project, startproject, write


def test_a_flat_startproject_with_requirements(tmp_path):
    project = detect(flat_project(tmp_path))
    assert project.name == "demo"
    assert project.layout.base == "demo.settings"
    assert (project.dependencies.manager, project.dependencies.file) == ("pip", "requirements.txt")
    assert project.settings.django == django.get_version()
    assert project.python.source == f"default for Django {django.VERSION[0]}.{django.VERSION[1]}"
    assert project.wsgi == "demo.wsgi:application"
    assert project.unserved == []


def test_a_split_settings_package_with_a_pipfile(tmp_path):
    project = detect(split_project(tmp_path))
    assert (project.name, project.layout.base, project.layout.development) == (
        "shop", "shop.settings.production", "shop.settings.dev")
    assert project.settings.get("STATIC_ROOT") == str(project.root / "static")  # production's, not dev's
    assert (project.dependencies.manager, project.dependencies.file, project.dependencies.locked) == (
        "pipenv", "Pipfile", False)
    assert (project.python.version, project.python.source) == ("3.12", "Pipfile")


def test_a_service_we_do_not_run_is_detected_from_the_settings(tmp_path):
    root = flat_project(tmp_path)
    settings = root / "demo" / "settings.py"
    settings.write_text(settings.read_text() + "\nCELERY_BROKER_URL = 'redis://redis:6379/0'\n")
    (found,) = detect(commit(root)).unserved
    assert found.what == "Celery"


def test_no_git_is_refused_before_the_dependencies_are_looked_at(tmp_path):
    root = startproject(tmp_path)
    with pytest.raises(DeployError, match="is not in a git repository"):
        detect(root)


def test_no_dependency_file_is_refused_before_the_settings_are_imported(tmp_path):
    root = commit(startproject(tmp_path))
    write(root, {"demo/settings.py": "raise RuntimeError('imported')\n"})
    with pytest.raises(DeployError, match="^no dependency file in "):
        detect(root)
