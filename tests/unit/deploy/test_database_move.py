"""`fab db.to-postgres`: the exact command sequence of a move, of a failed copy (undone), and of a second run."""

import pytest
from fabric.testing.base import Command, MockRemote
from invoke.runners import Result

from deploy import backups, database_move, envfile, lock, releases
from deploy.commands import backup, compose, database, docker, health, shell
from deploy.commands import lock as lock_commands
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from tests.unit.deploy.mockremote import names, remote, routed, session

KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
REL = "20261124100509-bbbbbbb"
APP, NGINX = f"mysite-{REL}", "mysite_nginx_1"
P = names()
PG = envfile.postgres_settings("S3cretPassw0rd")
FINGERPRINT = '{"counts": {"blog_post": 3, "blog_comment": 1}, "posts": "ab12cd34ef56aa", "comments": "99"}'


@pytest.fixture
def local(tmp_path, monkeypatch):
    (tmp_path / ".envs").mkdir()
    (tmp_path / ".envs/.production").write_text(f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n")
    monkeypatch.setattr(releases, "repo_root", lambda cwd=None: tmp_path)
    monkeypatch.setattr(envfile, "new_password", lambda length=32: "S3cretPassw0rd")
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: "HOLDER")
    monkeypatch.setattr(releases, "audit_line", lambda **k: f"{k['action']} {k['release']} {k['result']}")
    monkeypatch.setattr(backup, "backup_name", lambda label, now=None, suffix=".sqlite3": f"T-{label}{suffix}")
    return tmp_path


PREFLIGHT = [Command(compose.detect(), out=b"v1\n"), "docker info --format '{{.ServerVersion}}'",
             Command(commands.read_current(P), out=f"releases/{REL}\n".encode()),
             Command(commands.env_value(P.env_file, "DATABASE_URL"))]
SERVING = [Command(docker.nginx_container("mysite"), out=f"{NGINX}\n".encode()),
           Command(docker.app_containers("mysite"), out=f"{APP} Up 2 hours (healthy)\n".encode())]
LOCK = lock_commands.take(P.root, P.lock, "HOLDER")
BACKUP = [Command(docker.volume_exists("mysite_database")),
          backup.backup(P, REL, f"{P.backups}/T-before-postgres.sqlite3"),
          Command(backup.listing(P), out=b"T-before-postgres.sqlite3\n")]
START = [commands.install_env(f"{P.postgres_env}.upload", P.postgres_env),
         Command(docker.service_container("mysite", "postgres")),
         compose.stack(P, REL, compose.START_POSTGRES, kind="v1"),
         Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"),
         health.wait_until(docker.is_healthy("mysite_postgres_1"), 120)]
READ_ONLY = [database.read_only(P, REL), shell.wait(2)]
COPY = database.copy(P, REL)
ASIDE = f"{APP}-on-sqlite"
SWITCH = [commands.install_env(f"{P.env_file}.upload", P.env_file), docker.rename(APP, ASIDE),
          Command(docker.app_containers("mysite"), out=f"{APP} Up 2 hours (healthy)\n".encode()),
          docker.run_app(P, REL), health.direct_check(APP, "blog.example", 60), *routed(P, APP, NGINX),
           health.nginx_check(NGINX, "blog.example", 60, at_least=3), docker.stop([ASIDE], 30)]


def move(*commands_, uploads=None, monkeypatch=None):
    with MockRemote() as mock:
        mock.expect_sessions(session(*commands_))
        database_move.to_postgres(remote(monkeypatch, uploads if uploads is not None else []), DeployConfig())


def test_a_move_copies_under_read_only_compares_then_switches_and_keeps_the_settings(local, monkeypatch, capsys):
    uploads = []
    move(*PREFLIGHT, *SERVING, LOCK, *BACKUP, *START, *READ_ONLY, Command(COPY, out=f"{FINGERPRINT}\n".encode()),
         *SWITCH, database.writable(P, REL), commands.append_audit(P, f"to-postgres {REL} ok"),
         lock_commands.release_lock(P.lock), uploads=uploads, monkeypatch=monkeypatch)
    assert [path for path, _ in uploads] == [f"{P.postgres_env}.upload", f"{P.env_file}.upload"]
    assert uploads[0][1] == (b"POSTGRES_USER=mysite\nPOSTGRES_PASSWORD=S3cretPassw0rd\nPOSTGRES_DB=mysite\n"
                             b"POSTGRES_INITDB_ARGS=--encoding=UTF8 --locale=C.UTF-8\n")
    assert b"DATABASE_URL=postgres://mysite:S3cretPassw0rd@postgres:5432/mysite\n" in uploads[1][1]
    kept = envfile.load(local / ".envs/.production")
    assert kept.database == envfile.BUNDLED and kept.values["DJANGO_SECRET_KEY"] == KEY
    assert oct((local / ".envs/.production").stat().st_mode & 0o777) == "0o600"
    out = capsys.readouterr().out
    assert "blog_comment 1, blog_post 3; comments 99, posts ab12cd34ef56" in out
    assert "serves from PostgreSQL now" in out


def test_the_copy_gets_the_target_url_on_stdin_never_on_a_command_line(monkeypatch):
    assert COPY == (f"docker run --rm -i --network mysite_default --env-file {P.env_file} "
                    f"-v mysite_database:/app/database -v mysite_media:/app/media mysite-django:{REL} "
                    "python manage.py db_copy")
    host, sent = remote(), []
    monkeypatch.setattr(host, "run", lambda command, **options: sent.append((command, options)) or Result(
        stdout=f"{FINGERPRINT}\n"))
    database_move.copy(host, P, REL, PG["DATABASE_URL"])
    assert sent == [(COPY, {"stdin": f"{PG['DATABASE_URL']}\n", "timeout": 3600})]


def test_a_copy_that_fails_is_undone_and_the_site_stays_on_sqlite(local, monkeypatch):
    with pytest.raises(DeployError) as info:
        move(*PREFLIGHT, *SERVING, LOCK, *BACKUP, *START, *READ_ONLY,
             Command(COPY, err=b"the fingerprints differ: blog_comment 1 vs 0\n", exit=1),
             database.remove_postgres(P, REL, "v1"), database.writable(P, REL), lock_commands.release_lock(P.lock),
             monkeypatch=monkeypatch)
    assert str(info.value) == (
        "the copy into PostgreSQL failed (the fingerprints differ: blog_comment 1 vs 0); nothing was switched: the "
        "site serves SQLite as before and the PostgreSQL this move started is removed")
    assert envfile.load(local / ".envs/.production").database == envfile.SQLITE


def test_a_second_run_is_a_no_op_with_one_clear_line(local, monkeypatch, capsys):
    (local / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n" + envfile.render(PG))
    pg = [*PREFLIGHT[:3], Command(commands.env_value(P.env_file, "DATABASE_URL"), out=PG["DATABASE_URL"].encode())]
    move(*pg, monkeypatch=monkeypatch)
    assert "already serves from PostgreSQL: nothing to move" in capsys.readouterr().out


def test_a_laptop_that_missed_the_move_gets_the_servers_settings(local, monkeypatch):
    pg = [*PREFLIGHT[:3], Command(commands.env_value(P.env_file, "DATABASE_URL"), out=PG["DATABASE_URL"].encode())]
    move(*pg, *[Command(commands.env_value(P.env_file, key), out=PG[key].encode())
                for key in (*envfile.POSTGRES_KEYS, "DATABASE_URL")], monkeypatch=monkeypatch)
    assert envfile.load(local / ".envs/.production").values["POSTGRES_PASSWORD"] == "S3cretPassw0rd"


def test_nothing_deployed_yet_says_how_a_new_site_starts_on_postgres(local, monkeypatch):
    with pytest.raises(DeployError, match="inv production.env --postgres"):
        move(*PREFLIGHT[:2], Command(commands.read_current(P)), monkeypatch=monkeypatch)


def test_fingerprint_summary_is_one_line():
    assert database_move.summary({"counts": {"b": 2, "a": 1}, "posts": "x" * 64}) == f"a 1, b 2; posts {'x' * 12}"
    assert backups.POSTGRES == "postgres"
