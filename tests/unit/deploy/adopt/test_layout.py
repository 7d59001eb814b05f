"""deploy/adopt/layout.py: manage.py and wsgi.py read without running them, the production settings found,
git found, the app name made valid."""

import pytest

from deploy.adopt import layout
from deploy.config import APP_NAME
from deploy.errors import DeployError
from testbed.adopt_projects import commit, flat_project, split_project, write


def test_a_startproject_names_its_settings_in_manage_py_and_wsgi_py(tmp_path):
    found = layout.read(flat_project(tmp_path))
    assert (found.development, found.wsgi_default, found.production) == ("demo.settings", "demo.settings", None)
    assert (found.base, found.package) == ("demo.settings", "demo")


def test_a_split_settings_package_deploys_its_production_module(tmp_path):
    found = layout.read(split_project(tmp_path))
    assert (found.development, found.wsgi_default, found.production) == (
        "shop.settings.dev", "shop.settings.production", "shop.settings.production")
    assert found.base == "shop.settings.production"


@pytest.mark.parametrize(("settings", "files", "expected"), [
    ("site.settings", ["site/settings/__init__.py", "site/settings/prod.py"], "site.settings.prod"),
    ("site.settings.local", ["site/settings/__init__.py", "site/settings/production.py", "site/settings/prod.py"],
     "site.settings.production"),
    ("site.settings", ["site/settings.py", "site/production.py"], None),  # a flat module has no settings package
    ("site.config.dev", ["site/config/__init__.py", "site/config/production.py"], None),
])
def test_the_production_module_is_beside_the_settings_in_a_settings_package(tmp_path, settings, files, expected):
    write(tmp_path, dict.fromkeys(files, ""))
    assert layout.production_module(tmp_path, settings) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "a.b")\n', "a.b"),
    ("from os import environ\nenviron.setdefault('DJANGO_SETTINGS_MODULE', 'x.settings.dev')\n", "x.settings.dev"),
    ('import os\nos.environ.setdefault("OTHER", "a.b")\n', None),
    ("this is not python(", None),
])
def test_the_settings_default_is_read_from_the_source(tmp_path, source, expected):
    path = write(tmp_path, {"manage.py": source}) / "manage.py"
    assert layout.settings_default(path) == expected


def test_git_is_found_above_the_project_and_as_a_worktree_s_file(tmp_path):
    write(tmp_path, {"repo/.git": "gitdir: /elsewhere\n", "repo/site/manage.py": ""})
    assert layout.git_folder(tmp_path / "repo" / "site") == tmp_path / "repo"
    assert layout.git_folder(tmp_path) is None


@pytest.mark.parametrize(("folder", "expected"), [
    ("demo", "demo"), ("My Shop", "my-shop"), ("shop_v2", "shop-v2"), ("__", "app"), ("--Blog--", "blog"),
    ("a" * 45, "a" * 40), ("x" * 39 + "-y", "x" * 39),
])
def test_the_app_name_comes_from_the_folder_and_is_valid(tmp_path, folder, expected):
    name = layout.app_name(tmp_path / folder)
    assert name == expected
    assert APP_NAME.match(name)


def test_a_folder_without_manage_py_is_refused(tmp_path):
    with pytest.raises(DeployError) as refused:
        layout.read(commit(tmp_path))
    assert str(refused.value) == (f"no manage.py in {tmp_path}: run fab init at the root of a Django project (the "
                                  "folder that holds manage.py)")


def test_a_project_outside_git_is_refused(tmp_path):
    write(tmp_path, {"manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "a.settings")\n'})
    with pytest.raises(DeployError) as refused:
        layout.read(tmp_path)
    assert str(refused.value) == (f"{tmp_path} is not in a git repository: a deploy ships the committed HEAD; run "
                                  "`git init && git add -A && git commit -m 'first commit'` first")


def test_a_manage_py_that_names_no_settings_is_refused(tmp_path):
    write(tmp_path, {"manage.py": "print('hello')\n"})
    with pytest.raises(DeployError) as refused:
        layout.read(commit(tmp_path))
    assert str(refused.value) == ('manage.py does not name its settings (os.environ.setdefault('
                                  '"DJANGO_SETTINGS_MODULE", "...")): add that line as django-admin startproject '
                                  'writes it')
