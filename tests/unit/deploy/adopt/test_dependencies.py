"""deploy/adopt/dependencies.py: the manager and the file the image installs from, and the packages it names."""

import json

import pytest

from deploy.adopt.dependencies import Dependencies, detect, requirement_files, requirements_file
from deploy.errors import DeployError
from testbed.adopt_projects import write

PIPFILE_LOCK = json.dumps({"_meta": {}, "default": {"django": {"version": "==5.2"}, "Gunicorn": {}},
                           "develop": {"pytest": {}}})
PACKAGES_LOCK = '[[package]]\nname = "Django"\nversion = "5.2"\n\n[[package]]\nname = "psycopg_binary"\nversion = "3"\n'


@pytest.mark.parametrize(("files", "expected"), [
    ({"Pipfile": '[packages]\ndjango = "*"\n', "Pipfile.lock": PIPFILE_LOCK},
     Dependencies("pipenv", "Pipfile.lock", True, frozenset({"django", "gunicorn"}))),
    ({"Pipfile": '[packages]\nDjango = "*"\n\n[dev-packages]\npytest = "*"\n'},
     Dependencies("pipenv", "Pipfile", False, frozenset({"django"}))),
    ({"pyproject.toml": "[tool.poetry]\n", "poetry.lock": PACKAGES_LOCK},
     Dependencies("poetry", "poetry.lock", True, frozenset({"django", "psycopg-binary"}))),
    ({"pyproject.toml": '[project]\ndependencies = ["django"]\n', "uv.lock": PACKAGES_LOCK},
     Dependencies("uv", "uv.lock", True, frozenset({"django", "psycopg-binary"}))),
    ({"requirements.txt": "Django==5.2.1 \\\n    --hash=sha256:abc\ngunicorn>=21 ; python_version > '3'  # web\n"
                          "-e .\n--index-url https://example.invalid\n"},
     Dependencies("pip", "requirements.txt", False, frozenset({"django", "gunicorn"}))),
    ({"requirements/production.txt": "-r base.txt\ngunicorn\n", "requirements/base.txt": "django\n-r base.txt\n",
      "requirements/local.txt": "pytest\n"},
     Dependencies("pip", "requirements/production.txt", False, frozenset({"django", "gunicorn"}))),
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["Django>=4.2", "whitenoise[brotli]"]\n'},
     Dependencies("pep621", "pyproject.toml", False, frozenset({"django", "whitenoise"}))),
    # Poetry without its lock, in Poetry 1's shape and in Poetry 2's (PEP 621): no lock to install, init says so
    ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nDjango = "^5.2"\n'},
     Dependencies("poetry", "pyproject.toml", False, frozenset({"django"}))),
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["django"]\n\n[tool.poetry]\npackage-mode = false\n'},
     Dependencies("poetry", "pyproject.toml", False, frozenset({"django"}))),
])
def test_each_manager(tmp_path, files, expected):
    assert detect(write(tmp_path, files)) == expected


def test_a_lock_comes_before_the_requirements_beside_it(tmp_path):
    write(tmp_path, {"poetry.lock": PACKAGES_LOCK, "requirements.txt": "django\n"})
    assert detect(tmp_path).manager == "poetry"


def test_has_compares_canonical_names(tmp_path):
    found = detect(write(tmp_path, {"requirements.txt": "Psycopg_Binary\n"}))
    assert found.has("psycopg-binary") and found.has("PSYCOPG.binary") and not found.has("gunicorn")


@pytest.mark.parametrize(("files", "expected"), [
    (["requirements/dev.txt", "requirements/prod.txt"], "requirements/prod.txt"),
    (["requirements/common.txt"], "requirements/common.txt"),
    (["requirements/a.txt", "requirements/b.txt"], None),  # which one the image installs is the user's to say
])
def test_the_requirements_folder(tmp_path, files, expected):
    assert requirements_file(write(tmp_path, dict.fromkeys(files, "django\n"))) == expected


def test_a_project_without_a_dependency_file_is_refused(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\nline-length = 120\n"})
    with pytest.raises(DeployError) as refused:
        detect(tmp_path)
    assert str(refused.value) == (
        f"no dependency file in {tmp_path} (Pipfile, poetry.lock, uv.lock, requirements.txt, requirements/*.txt or "
        "pyproject.toml with [project] dependencies): write one that lists Django, e.g. `pip freeze > "
        "requirements.txt`")


def test_a_requirements_folder_of_several_files_none_of_them_production_is_refused(tmp_path):
    write(tmp_path, {"requirements/a.txt": "django\n", "requirements/b.txt": "django\n"})
    with pytest.raises(DeployError) as refused:
        detect(tmp_path)
    assert str(refused.value) == (
        "requirements/ holds a.txt, b.txt: which one the image installs is not clear; name it "
        "requirements/production.txt (it may `-r base.txt`), or write requirements.txt")


def test_the_requirement_files_the_image_copies_follow_every_include(tmp_path):
    write(tmp_path, {"requirements/production.txt": "-r base.txt\n-r ../extra.txt\ngunicorn\n",
                     "requirements/base.txt": "django\n-r base.txt\n-r missing.txt\n", "extra.txt": "whitenoise\n",
                     "requirements/local.txt": "pytest\n"})
    assert requirement_files(tmp_path, "requirements/production.txt") == [
        "extra.txt", "requirements/base.txt", "requirements/production.txt"]
    write(tmp_path / "inner", {"requirements.txt": "-r ../extra.txt\ndjango\n"})
    assert requirement_files(tmp_path / "inner", "requirements.txt") == ["requirements.txt"]  # outside: left out
