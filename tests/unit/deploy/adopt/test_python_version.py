"""deploy/adopt/python_version.py: the project's pinned Python wins, in order; else what its Django supports."""

import pytest

from deploy.adopt.python_version import PythonVersion, detect, supported_by
from testbed.adopt_projects import write

DJANGO = (5, 2)


@pytest.mark.parametrize(("files", "expected"), [
    ({"Pipfile": '[requires]\npython_version = "3.11"\n'}, PythonVersion("3.11", "Pipfile")),
    ({"Pipfile": '[requires]\npython_full_version = "3.12.4"\n'}, PythonVersion("3.12", "Pipfile")),
    ({".python-version": "# pyenv\n3.11.4\n"}, PythonVersion("3.11", ".python-version")),
    ({"runtime.txt": "python-3.10.13\n"}, PythonVersion("3.10", "runtime.txt")),
    ({"pyproject.toml": '[project]\nrequires-python = ">=3.10,<3.12"\n'},
     PythonVersion("3.11", "pyproject.toml requires-python")),
    ({"pyproject.toml": '[project]\nrequires-python = "~=3.12.0"\n'},
     PythonVersion("3.12", "pyproject.toml requires-python")),
    ({}, PythonVersion("3.13", "default for Django 5.2")),
])
def test_each_source(tmp_path, files, expected):
    assert detect(write(tmp_path, files), DJANGO) == expected


def test_the_pipfile_comes_before_the_other_files(tmp_path):
    write(tmp_path, {"Pipfile": '[requires]\npython_version = "3.11"\n', ".python-version": "3.12\n",
                     "runtime.txt": "python-3.10.1\n"})
    assert detect(tmp_path, DJANGO) == PythonVersion("3.11", "Pipfile")


def test_a_requires_python_no_supported_version_meets_falls_back_to_the_default(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nrequires-python = ">=3.99"\n'})
    assert detect(tmp_path, DJANGO) == PythonVersion("3.13", "default for Django 5.2")


def test_unreadable_files_are_passed_over(tmp_path):
    write(tmp_path, {"Pipfile": "not toml [", "pyproject.toml": '[project]\nrequires-python = "nonsense"\n'})
    assert detect(tmp_path, (4, 2)) == PythonVersion("3.12", "default for Django 4.2")


@pytest.mark.parametrize(("django", "newest"), [
    ((2, 2), "3.9"), ((3, 2), "3.10"), ((4, 1), "3.11"), ((4, 2), "3.12"), ((5, 0), "3.12"), ((5, 2), "3.13"),
    ((6, 0), "3.13"), ((7, 1), "3.13"),
])
def test_the_default_is_the_newest_python_the_django_supports(django, newest):
    assert supported_by(django)[-1] == newest


def test_django_6_no_longer_runs_on_3_10():
    assert supported_by((6, 0)) == ("3.12", "3.13")
