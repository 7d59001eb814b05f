"""PostgreSQL on the deploy side: the env file's rules, the bundled service in a deploy, dumps and restores."""

import os
import subprocess
from shlex import quote

import environ
import pytest
from fabric.testing.base import Command

from deploy import backups, envfile
from deploy.commands import backup, compose, docker, health
from deploy.errors import DeployError
from tests.harness import deploy_case
from tests.harness.mockremote import names

P = names()
KEY = deploy_case.KEY
PG = envfile.postgres_settings("S3cretPassw0rd")


def values(**extra):
    return {"DJANGO_SECRET_KEY": KEY, "DJANGO_ALLOWED_HOSTS": "blog.example", **extra}


def test_postgres_settings_for_the_bundled_service():
    assert PG == {"POSTGRES_USER": "mysite", "POSTGRES_PASSWORD": "S3cretPassw0rd", "POSTGRES_DB": "mysite",
                  "POSTGRES_INITDB_ARGS": "--encoding=UTF8 --locale=C.UTF-8", "DATABASE_URL": "postgres://mysite:S3cretPassw0rd@postgres:5432/mysite"}
    assert envfile.EnvFile("x", values(**PG)).database == envfile.BUNDLED
    assert envfile.EnvFile("x", values(DATABASE_URL="postgres://u:p@db.example.com:5432/blog")).database == (
        envfile.EXTERNAL)
    assert envfile.EnvFile("x", values()).database == envfile.SQLITE


def test_a_new_password_needs_no_quoting_anywhere():
    password = envfile.new_password()
    assert len(password) == 32 and password.isalnum()
    assert envfile.new_password() != password


def test_nothing_but_postgres_values_reach_the_postgres_container():
    assert envfile.EnvFile("x", values(**PG)).render_for_postgres() == (
        "POSTGRES_USER=mysite\nPOSTGRES_PASSWORD=S3cretPassw0rd\nPOSTGRES_DB=mysite\n"
        "POSTGRES_INITDB_ARGS=--encoding=UTF8 --locale=C.UTF-8\n")


@pytest.mark.parametrize(("extra", "words"), [
    ({"DATABASE_URL": "mysql://u:p@db:3306/x"}, "DATABASE_URL must be postgres://"),
    ({"DATABASE_URL": "postgres://mysite:pw@postgres:5432/"}, "DATABASE_URL must be postgres://"),
    ({**PG, "POSTGRES_PASSWORD": "other"}, "POSTGRES_PASSWORD does not match it"),
    ({k: v for k, v in PG.items() if k != "POSTGRES_PASSWORD"}, "POSTGRES_PASSWORD is missing"),
    ({**PG, "POSTGRES_DB": "blog"}, "POSTGRES_DB does not match it"),
])
def test_a_database_url_that_cannot_work_is_refused_before_the_server_changes(extra, words):
    with pytest.raises(DeployError, match=words):
        envfile.validate(values(**extra), ".envs/.production")


def test_a_managed_database_needs_no_postgres_values():
    envfile.validate(values(DATABASE_URL="postgresql://u:p@db.example.com:5432/blog"), ".envs/.production")


def test_inv_production_env_postgres_writes_the_four_lines(tmp_path):
    example = tmp_path / "example"
    example.write_text("DJANGO_SECRET_KEY=x\nDJANGO_ALLOWED_HOSTS=example.com\n")
    envfile.create(tmp_path / ".production", example, "blog.example", postgres=True)
    written = envfile.load(tmp_path / ".production")
    assert written.database == envfile.BUNDLED
    assert written.values["DATABASE_URL"] == (
        f"postgres://mysite:{written.values['POSTGRES_PASSWORD']}@postgres:5432/mysite")


def test_dump_and_restore_run_the_postgres_client_against_database_url():
    client = (f"docker run --rm --network mysite_default --env-file {P.env_file} postgres:17 "
              f"perl -e {quote(backup.URL_TO_LIBPQ)} ")
    assert backup.pg_dump(P, f"{P.backups}/x.pgdump") == (
        f"umask 077 && mkdir -p {P.backups} && {client}pg_dump --format=custom --no-owner"
        + f" > {P.backups}/x.pgdump.tmp; rc=$?; if [ $rc -eq 0 ]; then mv {P.backups}/x.pgdump.tmp "
        f"{P.backups}/x.pgdump; else rm -f {P.backups}/x.pgdump.tmp; fi; exit $rc")
    assert backup.pg_restore(P, "/u.pgdump") == (
        client.replace("--rm ", "--rm -i ")
        + "pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error"
        + " < /u.pgdump; rc=$?; rm -f /u.pgdump; exit $rc")
    for command in (backup.pg_dump(P, "/b/x.pgdump"), backup.pg_restore(P, "/u.pgdump")):
        assert "DATABASE_URL" not in command.replace("$ENV{DATABASE_URL}", "")  # read in the container only


SHOW_ARGUMENTS = '#!/bin/sh\nprintf "%s\\n" "$@"; printf "PGPASSWORD=%s\\n" "${PGPASSWORD-(unset)}"\n'


@pytest.mark.parametrize(("url", "dbname", "password"), [
    (PG["DATABASE_URL"], "postgres://mysite@postgres:5432/mysite", "S3cretPassw0rd"),
    ("postgres://blog:p%40ss%2Fw%3Ard@db.example.com:5432/blog?sslmode=require",  # percent-encoded; options kept
     "postgres://blog@db.example.com:5432/blog?sslmode=require", "p@ss/w:rd"),
    ("postgresql://blog:p@ss@db.example.com/blog", "postgresql://blog@db.example.com/blog", "p@ss"),  # last @
    ("postgres://blog:@db.example.com/blog", "postgres://blog@db.example.com/blog", ""),
    ("postgres://blog@db.example.com/blog", "postgres://blog@db.example.com/blog", None),  # none to move
])
def test_the_password_reaches_the_program_in_its_environment_never_its_arguments(tmp_path, url, dbname, password):
    """URL_TO_LIBPQ run by perl, as in the postgres image, with a program that prints what it was given."""
    program = tmp_path / "pg_dump"
    program.write_text(SHOW_ARGUMENTS)
    program.chmod(0o755)
    done = subprocess.run(["perl", "-e", backup.URL_TO_LIBPQ, str(program), "--format=custom"],
                          env={"PATH": os.environ["PATH"], "DATABASE_URL": url}, capture_output=True, text=True,
                          timeout=30, check=True)
    assert done.stdout.splitlines() == ["--format=custom", f"--dbname={dbname}",
                                        f"PGPASSWORD={'(unset)' if password is None else password}"]
    assert environ.Env.db_url_config(url)["PASSWORD"] == (password or "")  # what the app itself connects with


def test_backup_files_are_told_apart_by_their_first_bytes():
    assert backups.file_kind(b"SQLite format 3\x00...") == backups.SQLITE
    assert backups.file_kind(b"PGDMP\x01\x0e") == backups.POSTGRES
    assert backups.file_kind(b"<html>") == ""
    assert backup.parse_listing("a.sqlite3\nb.pgdump\n.restore-1.pgdump.tmp\nnotes\n") == ["a.sqlite3", "b.pgdump"]


ON_POSTGRES = deploy_case.until_build(url=PG["DATABASE_URL"].encode())  # deployed before, on PostgreSQL
POSTGRES_RUNNING = [Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"),
                    Command(docker.is_healthy("mysite_postgres_1"))]
DUMP = [Command(backup.pg_dump(P, f"{P.backups}/{deploy_case.NEW}.pgdump")),
        Command(backup.listing(P), out=f"{deploy_case.NEW}.pgdump\n".encode())]


@pytest.fixture
def local(tmp_path, monkeypatch):
    return deploy_case.pinned_project(tmp_path, monkeypatch)


def bundled(local):
    (local / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY='{KEY}'\nDJANGO_ALLOWED_HOSTS=blog.example\n" + envfile.render(PG))


def test_a_code_only_deploy_leaves_a_healthy_postgres_alone_and_dumps_it(local, monkeypatch, capsys):
    bundled(local)
    deploy_case.run_deploy(*ON_POSTGRES, deploy_case.BUILD, *POSTGRES_RUNNING, *DUMP,
                           *deploy_case.MIGRATE, *deploy_case.NGINX, *deploy_case.SWITCH,
                           deploy_case.commands.link_current(P, deploy_case.NEW), deploy_case.NO_COPIES,
                           *deploy_case.PRUNE, deploy_case.audit("deploy", deploy_case.NEW, "ok"), deploy_case.UNLOCK,
                           monkeypatch=monkeypatch)
    assert "mysite_postgres_1 already runs and is healthy: left alone" in capsys.readouterr().out


def test_a_first_postgres_start_waits_until_it_is_healthy(local, monkeypatch):
    bundled(local)
    wait = health.wait_until(docker.is_healthy("mysite_postgres_1"), 120)
    deploy_case.run_deploy(
        *ON_POSTGRES, deploy_case.BUILD, Command(docker.service_container("mysite", "postgres")),
        compose.stack(P, deploy_case.NEW, "--profile postgres up -d --no-deps postgres", kind="v1"),
        Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"), wait, *DUMP,
        *deploy_case.MIGRATE, *deploy_case.NGINX, *deploy_case.SWITCH,
        deploy_case.commands.link_current(P, deploy_case.NEW), deploy_case.NO_COPIES,
        *deploy_case.PRUNE, deploy_case.audit("deploy", deploy_case.NEW, "ok"), deploy_case.UNLOCK,
        monkeypatch=monkeypatch)


def test_a_postgres_that_never_gets_healthy_stops_the_deploy_before_the_switch(local, monkeypatch):
    bundled(local)
    wait = health.wait_until(docker.is_healthy("mysite_postgres_1"), 120)
    with pytest.raises(DeployError, match=r"PostgreSQL \(mysite_postgres_1\) did not become healthy within 120s"):
        deploy_case.run_deploy(
            *ON_POSTGRES, deploy_case.BUILD, Command(docker.service_container("mysite", "postgres")),
            compose.stack(P, deploy_case.NEW, "--profile postgres up -d --no-deps postgres", kind="v1"),
            Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"),
            Command(wait, exit=1), Command(docker.logs_tail("mysite_postgres_1", 20), out=b"FATAL: bad\n"),
            deploy_case.commands.remove_release(P, deploy_case.NEW),
            deploy_case.audit("deploy", deploy_case.NEW, "failed"), deploy_case.UNLOCK, monkeypatch=monkeypatch)


def test_a_deploy_never_moves_a_serving_sqlite_site_onto_an_empty_postgres(local, monkeypatch):
    bundled(local)
    with pytest.raises(DeployError) as info:
        deploy_case.run_deploy(*deploy_case.preflight(), *deploy_case.PORTS,
                               Command(deploy_case.commands.read_current(P), out=deploy_case.CURRENT_OLD),
                               Command(deploy_case.commands.env_value(P.env_file, "DATABASE_URL")),
                               monkeypatch=monkeypatch)
    assert "runs on SQLite but" in str(info.value) and "fab db.to-postgres" in str(info.value)


def test_nor_back_onto_the_old_sqlite_file(local, monkeypatch):
    with pytest.raises(DeployError, match="runs on PostgreSQL but .* has no DATABASE_URL"):
        deploy_case.run_deploy(*deploy_case.preflight(), *deploy_case.PORTS,
                               Command(deploy_case.commands.read_current(P), out=deploy_case.CURRENT_OLD),
                               Command(deploy_case.commands.env_value(P.env_file, "DATABASE_URL"),
                                       out=PG["DATABASE_URL"].encode()), monkeypatch=monkeypatch)
