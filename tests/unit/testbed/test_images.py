"""testbed/images.py and testbed/standins/: the stand-in recipes, without Docker or debootstrap."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from invoke.vendor import yaml

from testbed import images
from testbed.images import POSTGRES_IMAGE, REGISTRY_IMAGE, STANDIN_FILES, STANDINS

ENTRYPOINT = STANDIN_FILES / "postgres-entrypoint.sh"


def changes(tag: str) -> tuple[str, ...]:
    return STANDINS[tag].changes


# --- the python and nginx stand-ins are built exactly as before (their cached images stay valid) ---


def test_python_and_nginx_import_as_before_without_a_recipe_label():
    assert images.import_command(STANDINS[images.PYTHON_IMAGE]) == [
        "docker", "import",
        "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change", "ENV LANG=C.UTF-8",
        "--change", 'CMD ["python3"]',
        "--change", "LABEL mysite.standin=debootstrap",
        "-", "python:3.11-slim-bookworm",
    ]  # fmt: skip
    assert images.import_command(STANDINS[images.NGINX_IMAGE]) == [
        "docker", "import",
        "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change", "EXPOSE 80",
        "--change", 'CMD ["nginx", "-g", "daemon off;"]',
        "--change", "LABEL mysite.standin=debootstrap",
        "-", "nginx:1.30",
    ]  # fmt: skip
    for tag in (images.PYTHON_IMAGE, images.NGINX_IMAGE):
        standin = STANDINS[tag]
        assert standin.suite == "bookworm" and not standin.versioned
        assert images.debootstrap_command(standin, Path("/r"), "http://m")[3] == "bookworm"


# --- registry:2 ---


def test_registry_is_bookworms_docker_registry_with_upstreams_metadata():
    standin = STANDINS[REGISTRY_IMAGE]
    assert REGISTRY_IMAGE == "registry:2"
    assert images.debootstrap_command(standin, Path("/r"), "http://m") == [
        "debootstrap", "--variant=minbase", "--include=docker-registry,ca-certificates", "bookworm", "/r", "http://m",
    ]  # fmt: skip
    assert {"EXPOSE 5000", "VOLUME /var/lib/registry"} <= set(changes(REGISTRY_IMAGE))
    assert 'ENTRYPOINT ["/entrypoint.sh"]' in changes(REGISTRY_IMAGE)
    assert 'CMD ["/etc/docker/registry/config.yml"]' in changes(REGISTRY_IMAGE)
    written = {f.dest: (f.source, f.mode) for f in standin.files}
    assert written == {
        "/etc/docker/registry/config.yml": ("registry-config.yml", 0o644),
        "/entrypoint.sh": ("registry-entrypoint.sh", 0o755),
    }


def test_registry_config_is_the_upstream_default_without_auth():
    config = yaml.safe_load((STANDIN_FILES / "registry-config.yml").read_text())
    assert config == {
        "version": 0.1,
        "log": {"fields": {"service": "registry"}},
        "storage": {"cache": {"blobdescriptor": "inmemory"}, "filesystem": {"rootdirectory": "/var/lib/registry"}},
        "http": {"addr": ":5000", "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "health": {"storagedriver": {"enabled": True, "interval": "10s", "threshold": 3}},
    }


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        (["/etc/docker/registry/config.yml"], "docker-registry serve /etc/docker/registry/config.yml"),
        (["/srv/other.yaml"], "docker-registry serve /srv/other.yaml"),
        (["garbage-collect", "/c.yml"], "docker-registry garbage-collect /c.yml"),
        (["--version"], "docker-registry --version"),
        (["echo", "as", "given"], "as given"),  # anything else runs as it is
    ],
)
def test_registry_entrypoint_routes_its_arguments_like_upstreams(tmp_path, argv, runs):
    stub = tmp_path / "docker-registry"
    stub.write_text('#!/bin/sh\necho "docker-registry $*"\n')
    stub.chmod(0o755)
    done = subprocess.run(["sh", str(STANDIN_FILES / "registry-entrypoint.sh"), *argv], capture_output=True,
                          text=True, env={"PATH": f"{tmp_path}:/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == runs


# --- postgres:17 ---


def test_postgres_is_trixies_postgresql_17_with_upstreams_metadata():
    standin = STANDINS[POSTGRES_IMAGE]
    assert POSTGRES_IMAGE == "postgres:17"
    command = images.debootstrap_command(standin, Path("/r"), "http://m")
    assert command[3] == "trixie"
    assert {"postgresql-17", "postgresql-client-17", "util-linux", "locales"} <= set(command[2][10:].split(","))
    env = dict(c[4:].split("=", 1) for c in changes(POSTGRES_IMAGE) if c.startswith("ENV "))
    assert env["PATH"].split(":")[-1] == "/usr/lib/postgresql/17/bin"
    assert env["PGDATA"] == "/var/lib/postgresql/data"
    assert {"EXPOSE 5432", "VOLUME /var/lib/postgresql/data", 'CMD ["postgres"]'} <= set(changes(POSTGRES_IMAGE))
    assert 'ENTRYPOINT ["docker-entrypoint.sh"]' in changes(POSTGRES_IMAGE)
    assert [(f.dest, f.mode) for f in standin.files] == [("/usr/local/bin/docker-entrypoint.sh", 0o755)]
    # docker import cannot set STOPSIGNAL (Docker 20.10): a one-line build adds it
    assert images.instructions_dockerfile(standin) == "FROM postgres:17\nSTOPSIGNAL SIGINT\n"
    assert not any(c.startswith("STOPSIGNAL") for c in changes(POSTGRES_IMAGE))


# --- the files and scripts of testbed/standins/ ---


def test_every_standin_file_exists_and_every_script_parses():
    named = {f.source for s in STANDINS.values() for f in s.files} | {s.setup for s in STANDINS.values() if s.setup}
    assert named == {p.name for p in STANDIN_FILES.iterdir()}, "a file of testbed/standins/ no stand-in uses"
    for source in named:
        path = STANDIN_FILES / source
        if path.suffix == ".sh":
            shell = "bash" if path.read_text().startswith("#!/usr/bin/env bash") else "sh"
            done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
            assert done.returncode == 0, f"{source}: {done.stderr}"


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install shellcheck)"
)
def test_standin_scripts_pass_shellcheck():
    scripts = sorted(str(p) for p in STANDIN_FILES.glob("*.sh"))
    done = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_files_are_written_into_the_rootfs_with_their_modes(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    images._install_files(STANDINS[REGISTRY_IMAGE], root)
    config = root / "etc/docker/registry/config.yml"
    assert config.read_text() == (STANDIN_FILES / "registry-config.yml").read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "entrypoint.sh").stat().st_mode) == 0o755


def test_rootfs_paths_never_leave_the_rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "var").mkdir(parents=True)
    (root / "var/run").symlink_to("/run")  # as debootstrap makes it: absolute, so it points at the host
    assert images.rootfs_path(root, "/etc/x.conf") == root / "etc/x.conf"
    for bad in ("/var/run/x.pid", "etc/x.conf", "/etc/../../x", "/"):
        with pytest.raises(ValueError):
            images.rootfs_path(root, bad)


# --- the recipe hash: a changed file rebuilds the stand-in; other images are left alone ---


def test_recipe_hash_follows_the_files(tmp_path):
    files = tmp_path / "standins"
    shutil.copytree(STANDIN_FILES, files)
    standin = STANDINS[POSTGRES_IMAGE]
    before = images.recipe_hash(standin, files)
    assert before == images.recipe_hash(standin) and len(before) == 12
    assert f"LABEL mysite.standin.recipe={before}" in images.import_command(standin, files)
    (files / "postgres-entrypoint.sh").write_text((files / "postgres-entrypoint.sh").read_text() + "# changed\n")
    assert images.recipe_hash(standin, files) != before
    assert images.recipe_hash(STANDINS[REGISTRY_IMAGE], files) == images.recipe_hash(STANDINS[REGISTRY_IMAGE])


def test_only_an_outdated_versioned_standin_is_stale():
    postgres = STANDINS[POSTGRES_IMAGE]
    current = {"mysite.standin": "debootstrap", "mysite.standin.recipe": images.recipe_hash(postgres)}
    assert images.stale_reason(postgres, current) is None
    assert images.stale_reason(postgres, {}) is None  # the upstream image: used as it is
    assert images.stale_reason(None, {"mysite.standin": "debootstrap"}) is None  # a tag we have no recipe for
    assert images.stale_reason(STANDINS[images.PYTHON_IMAGE], {"mysite.standin": "debootstrap"}) is None
    assert "000000000000" in images.stale_reason(postgres, {**current, "mysite.standin.recipe": "000000000000"})
    assert images.stale_reason(postgres, {"mysite.standin": "debootstrap"}) is not None


@pytest.fixture
def engine(monkeypatch, tmp_path):
    """images.py against a fake engine: labels by tag, builds and removals recorded."""
    state = {"labels": {}, "ids": {}, "built": [], "removed": []}

    def build(tag, mirror=None):
        state["built"].append(tag)
        state["labels"][tag] = {"mysite.standin": "debootstrap", "mysite.standin.recipe": "new"}
        state["ids"][tag] = "sha256:new"
        return 1.0

    def run(argv, **kwargs):
        assert argv[:2] == ["docker", "rmi"], argv
        state["removed"].append(argv[2])
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(images, "LOCK_DIR", tmp_path)
    monkeypatch.setattr(images, "image_labels", lambda tag: state["labels"].get(tag))
    monkeypatch.setattr(images, "_image_id", lambda tag: state["ids"].get(tag))
    monkeypatch.setattr(images, "build_standin", build)
    monkeypatch.setattr(images.subprocess, "run", run)
    return state


def test_ensure_image_uses_an_upstream_image_or_a_current_standin(engine):
    engine["labels"][POSTGRES_IMAGE] = {}  # the real postgres:17
    engine["labels"][images.NGINX_IMAGE] = {"mysite.standin": "debootstrap"}  # an older stand-in, no hash
    assert images.ensure_image(POSTGRES_IMAGE) == POSTGRES_IMAGE
    assert images.ensure_base_images((images.NGINX_IMAGE,)) == {images.NGINX_IMAGE: images.NGINX_IMAGE}
    assert engine["built"] == [] and engine["removed"] == []


def test_ensure_image_builds_a_missing_standin_and_replaces_an_outdated_one(engine):
    assert images.ensure_image(REGISTRY_IMAGE) == REGISTRY_IMAGE
    engine["labels"][POSTGRES_IMAGE] = {"mysite.standin": "debootstrap", "mysite.standin.recipe": "old"}
    engine["ids"][POSTGRES_IMAGE] = "sha256:old"
    images.ensure_image(POSTGRES_IMAGE)
    assert engine["built"] == [REGISTRY_IMAGE, POSTGRES_IMAGE]
    assert engine["removed"] == ["sha256:old"]


def test_a_tag_without_a_recipe_is_refused_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "LOCK_DIR", tmp_path)
    monkeypatch.setattr(images, "image_labels", lambda tag: None)
    with pytest.raises(RuntimeError, match="no stand-in for it"):
        images.ensure_image("redis:7")


# --- the postgres entrypoint's contract, run with stand-in programs (no PostgreSQL here) ---

STUBS = {
    # not root: no chown, no setpriv
    "id": "echo 1000\n",
    "postgres": 'echo "exec postgres${*:+ $*}" >>"$LOG"\n',
    # initdb: record the superuser and the password it was given, make a data directory
    "initdb": (
        'for a; do case "$a" in --pwfile=*) echo "password=$(cat "${a#--pwfile=}")" >>"$LOG";; esac; done\n'
        'echo "initdb $*" | sed "s/--pwfile=[^ ]*/--pwfile=FILE/" >>"$LOG"\n'
        'mkdir -p "$PGDATA" && echo 17 >"$PGDATA/PG_VERSION" && echo "local all all trust" >"$PGDATA/pg_hba.conf"\n'
    ),
    "pg_ctl": 'echo "pg_ctl $*" >>"$LOG"\n',
    "psql": 'echo "psql $*" >>"$LOG"; sed "s/^/  sql: /" >>"$LOG"\n',
}


def entrypoint(tmp_path: Path, *argv: str, **env: str) -> tuple[subprocess.CompletedProcess, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in STUBS.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    log.touch()
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "PGDATA": str(tmp_path / "data"), "HOME": "/"}
    done = subprocess.run(["bash", str(ENTRYPOINT), *argv], capture_output=True, text=True, timeout=60,
                          env={**base, **env}, stdin=subprocess.DEVNULL)  # fmt: skip
    return done, log.read_text()


def test_postgres_first_start_initialises_with_the_password_then_execs_postgres(tmp_path):
    done, log = entrypoint(tmp_path, "postgres", POSTGRES_PASSWORD="s3 cret", POSTGRES_USER="blog")
    assert done.returncode == 0, done.stderr
    assert "password=s3 cret" in log
    assert "initdb --username=blog --pwfile=FILE" in log
    hba = (tmp_path / "data/pg_hba.conf").read_text()
    assert hba.splitlines()[-1] == "host all all all scram-sha-256"
    assert "-c listen_addresses='' -p 5432" in log and "-w start" in log and "-m fast -w stop" in log
    assert '  sql: CREATE DATABASE :"db";' in log and "--set db=blog" in log  # POSTGRES_DB defaults to the user
    assert log.splitlines()[-1] == "exec postgres"


def test_postgres_later_starts_skip_initialization(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/PG_VERSION").write_text("17\n")
    done, log = entrypoint(tmp_path, "-c", "shared_buffers=64MB")  # no password needed any more
    assert done.returncode == 0, done.stderr
    assert "Skipping initialization" in done.stderr
    assert log == "exec postgres -c shared_buffers=64MB\n"  # a flag means: postgres with that flag


def test_postgres_refuses_a_first_start_without_a_password(tmp_path):
    done, log = entrypoint(tmp_path, "postgres")
    assert done.returncode == 1 and "POSTGRES_PASSWORD" in done.stderr
    assert log == ""
    done, log = entrypoint(tmp_path, "postgres", POSTGRES_HOST_AUTH_METHOD="trust")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data/pg_hba.conf").read_text().splitlines()[-1] == "host all all all trust"


def test_postgres_reads_secrets_from_files_but_not_both(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file")
    done, log = entrypoint(tmp_path, "postgres", POSTGRES_PASSWORD_FILE=str(secret), POSTGRES_DB="blogdb")
    assert done.returncode == 0, done.stderr
    assert "password=from-a-file" in log and "--set db=blogdb" in log
    (tmp_path / "data/PG_VERSION").unlink()
    done, _ = entrypoint(tmp_path, "postgres", POSTGRES_PASSWORD="x", POSTGRES_PASSWORD_FILE=str(secret))
    assert done.returncode == 1 and "exclusive" in done.stderr


def test_postgres_runs_other_commands_as_given(tmp_path):
    done, log = entrypoint(tmp_path, "echo", "hello")
    assert done.returncode == 0 and done.stdout == "hello\n" and log == ""
    done, log = entrypoint(tmp_path, "postgres", "--version")
    assert done.returncode == 0 and log == "exec postgres --version\n"
