"""deploy/adopt/dependencies.py: the manager and the file the image installs from, and the packages it names."""

import json

import pytest

from deploy.adopt.dependencies import Dependencies, detect, requirement_files, requirements_file
from deploy.errors import DeployError
from testbed.adopt_projects import write

PIPFILE_LOCK = json.dumps({"_meta": {}, "default": {"django": {"version": "==5.2"}, "Gunicorn": {}},
                           "develop": {"pytest": {}}})
PACKAGES_LOCK = '[[package]]\nname = "Django"\nversion = "5.2"\n\n[[package]]\nname = "psycopg_binary"\nversion = "3"\n'


def uv_package(name: str, *dependencies: str, **optional: list[str]) -> str:
    """A ``[[package]]`` of uv.lock as uv writes it, from PyPI (its sdist and wheels left out); ``dependencies``
    and each extra's: inline tables."""
    def listed(key, entries):
        return f"{key} = [\n" + "".join(f"    {entry},\n" for entry in entries) + "]\n" if entries else ""

    extras = "".join(listed(extra, entries) for extra, entries in optional.items())
    return (f'[[package]]\nname = "{name}"\nversion = "1.0"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
            + listed("dependencies", dependencies) + ("\n[package.optional-dependencies]\n" + extras if extras else "")
            + "\n")


WIN32 = "marker = \"sys_platform == 'win32'\""
# `uv lock` of django and psycopg[binary], an extra (redis), a dev group (gunicorn, a toolbar, and sqlparse, which
# django needs too) and a lint group
UV_LOCK = 'version = 1\nrevision = 5\nrequires-python = ">=3.11"\n\n' + "".join([
    uv_package("asgiref"),
    uv_package("async-timeout"),
    uv_package("django", '{ name = "asgiref" }', '{ name = "sqlparse" }', f'{{ name = "tzdata", {WIN32} }}'),
    uv_package("django-debug-toolbar", '{ name = "django" }', '{ name = "sqlparse" }'),
    uv_package("gunicorn"),
    uv_package("psycopg", '{ name = "typing-extensions", marker = "python_full_version < \'3.13\'" }',
               f'{{ name = "tzdata", {WIN32} }}',
               binary=['{ name = "psycopg-binary", marker = "implementation_name != \'pypy\'" }']),
    uv_package("psycopg-binary"),
    uv_package("redis", '{ name = "async-timeout", marker = "python_full_version < \'3.11.3\'" }'),
    """[[package]]
name = "shop"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "django" },
    { name = "psycopg", extra = ["binary"] },
]

[package.optional-dependencies]
redis = [
    { name = "redis" },
]

[package.dev-dependencies]
dev = [
    { name = "django-debug-toolbar" },
    { name = "gunicorn" },
    { name = "sqlparse" },
]
lint = [
    { name = "redis" },
]

[package.metadata]
requires-dist = [
    { name = "django", specifier = ">=5.2,<5.3" },
    { name = "psycopg", extras = ["binary"], specifier = ">=3.2" },
    { name = "redis", marker = "extra == 'redis'", specifier = ">=5" },
]
provides-extras = ["redis"]

""",
    uv_package("sqlparse"),
    uv_package("typing-extensions"),
    uv_package("tzdata")])
UV_PYPROJECT = """[project]
name = "shop"
version = "0.1.0"
dependencies = ["django>=5.2,<5.3", "psycopg[binary]>=3.2"]

[project.optional-dependencies]
redis = ["redis>=5"]

[dependency-groups]
dev = ["gunicorn>=23", "django-debug-toolbar>=5", "sqlparse>=0.5"]
lint = ["redis"]
"""
# `uv export --no-dev --no-emit-project` of that lock: what the image installs (markers are pip's to weigh)
UV_EXPORTED = frozenset({"asgiref", "django", "psycopg", "psycopg-binary", "sqlparse", "typing-extensions", "tzdata"})


def poetry_package(name: str, marks: str, dependencies: str = "") -> str:
    """A ``[[package]]`` of poetry.lock as Poetry writes it (``marks``: its groups, category, optional)."""
    return (f'[[package]]\nname = "{name}"\nversion = "1.0"\ndescription = ""\npython-versions = ">=3.10"\n{marks}\n'
            + (f"\n[package.dependencies]\n{dependencies}\n" if dependencies else "") + "\n")


# `poetry lock` of the same project (Poetry 2.5, lock 2.1): each package names its groups; a root extra's is optional
POETRY_LOCK = "".join([
    poetry_package("asgiref", 'optional = false\ngroups = ["main", "dev"]'),
    poetry_package("async-timeout", 'optional = true\ngroups = ["main"]\nmarkers = "extra == \\"redis\\""'),
    poetry_package("django", 'optional = false\ngroups = ["main", "dev"]', 'asgiref = ">=3.8.1"\nsqlparse = ">=0.3.1"'),
    poetry_package("django-debug-toolbar", 'optional = false\ngroups = ["dev"]',
                   'django = ">=5.2"\nsqlparse = ">=0.2"'),
    poetry_package("gunicorn", 'optional = false\ngroups = ["dev"]'),
    poetry_package("psycopg", 'optional = false\ngroups = ["main"]',
                   'psycopg-binary = {version = "3.3.9", optional = true, markers = "extra == \\"binary\\""}'),
    poetry_package("psycopg-binary", 'optional = false\ngroups = ["main"]'),
    poetry_package("redis", 'optional = true\ngroups = ["main"]', 'async-timeout = {version = ">=4.0.3"}'),
    poetry_package("sqlparse", 'optional = false\ngroups = ["main", "dev"]'),
    '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.11,<4"\ncontent-hash = "932dd75a"\n'])
POETRY_PYPROJECT = """[tool.poetry]
name = "shop"
package-mode = false

[tool.poetry.dependencies]
python = ">=3.11,<4"
django = ">=5.2,<5.3"
psycopg = {version = ">=3.2", extras = ["binary"]}
redis = {version = ">=5", optional = true}

[tool.poetry.group.dev.dependencies]
gunicorn = ">=23"
django-debug-toolbar = ">=5"
sqlparse = ">=0.5"
"""


@pytest.mark.parametrize(("files", "expected"), [
    ({"Pipfile": '[packages]\ndjango = "*"\n', "Pipfile.lock": PIPFILE_LOCK},
     Dependencies("pipenv", "Pipfile.lock", True, frozenset({"django", "gunicorn"}))),
    ({"Pipfile": '[packages]\nDjango = "*"\n\n[dev-packages]\npytest = "*"\n'},
     Dependencies("pipenv", "Pipfile", False, frozenset({"django"}))),
    ({"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": POETRY_LOCK},  # what `poetry export --only main` writes
     Dependencies("poetry", "poetry.lock", True, frozenset({"asgiref", "django", "psycopg", "psycopg-binary",
                                                             "sqlparse"}))),
    ({"pyproject.toml": UV_PYPROJECT, "uv.lock": UV_LOCK}, Dependencies("uv", "uv.lock", True, UV_EXPORTED)),
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


@pytest.mark.parametrize("lock", [POETRY_LOCK, UV_LOCK])
def test_a_dev_only_gunicorn_is_not_the_images(tmp_path, lock):
    """The image installs the main group alone: a dev-only gunicorn leaves it without one (init adds it)."""
    files = {"pyproject.toml": UV_PYPROJECT, "uv.lock": lock} if lock is UV_LOCK else {
        "pyproject.toml": POETRY_PYPROJECT, "poetry.lock": lock}
    found = detect(write(tmp_path, files))
    assert not found.has("gunicorn") and not found.has("django-debug-toolbar") and found.has("sqlparse")


def test_an_older_poetry_lock_names_each_packages_category(tmp_path):
    lock = POETRY_LOCK.replace('groups = ["main", "dev"]', 'category = "main"').replace(
        'groups = ["dev"]', 'category = "dev"').replace('groups = ["main"]', 'category = "main"')
    assert detect(write(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": lock})).packages == {
        "asgiref", "django", "psycopg", "psycopg-binary", "sqlparse"}


def test_a_poetry_lock_without_groups_is_walked_from_the_main_dependencies(tmp_path):
    """Lock 2.0 (Poetry 1.5 to 1.8) names no group: what pyproject.toml's main dependencies reach; an optional
    dependency (an extra's: psycopg-binary, redis) is left out."""
    lock = "\n".join(line for line in POETRY_LOCK.splitlines() if not line.startswith("groups = "))
    assert detect(write(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": lock})).packages == {
        "asgiref", "django", "psycopg", "sqlparse"}


def test_uv_exports_the_default_groups_but_dev(tmp_path):
    pyproject = UV_PYPROJECT + '\n[tool.uv]\ndefault-groups = ["dev", "lint"]\n'
    assert detect(write(tmp_path, {"pyproject.toml": pyproject, "uv.lock": UV_LOCK})).packages == (
        UV_EXPORTED | {"redis", "async-timeout"})
    write(tmp_path, {"pyproject.toml": UV_PYPROJECT + '\n[tool.uv]\ndefault-groups = "all"\n'})
    assert detect(tmp_path).packages == UV_EXPORTED | {"redis", "async-timeout"}


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
