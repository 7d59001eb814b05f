"""`fab db.to-postgres`: the exact command sequence of a move, of a failed copy (undone), of a failure after
routing (never undone), and of a second run (finishing what was left)."""

import pytest
from fabric.testing.base import Command, MockRemote
from invoke.runners import Result

from deploy import backups, database_move, envfile, lock, releases
from deploy.commands import backup, compose, database, docker, files, health, shell
from deploy.commands import lock as lock_commands
from deploy.commands import releases as commands
from deploy.config import AppConfig, DeployConfig
from deploy.errors import DeployError
from tests.harness.mockremote import names, remote, routed, session

KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
REL = "20261124100509-bbbbbbb"
APP, NGINX = f"mysite-{REL}", "mysite_nginx_1"
P = names()
PG = envfile.postgres_settings("S3cretPassw0rd")
FINGERPRINT = ('{"counts": {"blog_post": 3, "blog_comment": 1}, '
               '"sha256": {"blog_post": "ab12cd34ef56aa", "blog_comment": "99", "auth_user": "5e7"}}')


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
NOTHING_BEFORE = [Command(files.read_file(P.postgres_env), exit=1),
                  Command(docker.service_container("mysite", "postgres")),
                  Command(docker.volume_exists("mysite_postgres"), exit=1)]
START = [*NOTHING_BEFORE, commands.install_env(f"{P.postgres_env}.upload", P.postgres_env),
         Command(docker.service_container("mysite", "postgres")),
         compose.stack(P, REL, compose.START_POSTGRES, kind="v1"),
         Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"),
         health.wait_until(docker.is_healthy("mysite_postgres_1"), 120)]
READ_ONLY = [database.read_only(P, REL), shell.wait(2)]
COPY = database.copy(P, REL)
ASIDE = f"{APP}-on-sqlite"
ROUTED = [commands.install_env(f"{P.env_file}.upload", P.env_file), docker.rename(APP, ASIDE),
          Command(docker.app_containers("mysite"), out=f"{APP} Up 2 hours (healthy)\n".encode()),
          docker.run_app(P, REL), health.direct_check(APP, "blog.example", 60, AppConfig()), *routed(P, APP, NGINX)]
VIA_NGINX = health.nginx_check(NGINX, "blog.example", 60, AppConfig())
SWITCH = [*ROUTED, VIA_NGINX, docker.stop([ASIDE], 30)]


ON_POSTGRES = [*PREFLIGHT[:3], Command(commands.env_value(P.env_file, "DATABASE_URL"),
                                      out=PG["DATABASE_URL"].encode())]
NOTHING_LEFT = [Command(docker.app_containers("mysite"), out=f"{APP} Up 1 hour (healthy)\n".encode()),
                database.on_postgres(APP), Command(database.is_read_only(APP), exit=1)]


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
    assert "blog_comment 1, blog_post 3; sha256 auth_user 5e7, blog_comment 99, blog_post ab12cd34" in out
    assert "serves from PostgreSQL now" in out


def test_the_copy_gets_the_target_url_on_stdin_never_on_a_command_line(monkeypatch):
    assert COPY == (f"docker run --rm -i --network mysite_default --env-file {P.env_file} "
                    "-e DJANGO_SETTINGS_MODULE=mysite.settings.production "
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
    assert database.remove_postgres(P, REL, "v1") == (
        f"{compose.stack(P, REL, '--profile postgres rm -sf postgres', kind='v1')}; "
        "docker volume rm mysite_postgres >/dev/null 2>&1; "
        f"rm -f {P.postgres_env}; true")
    assert str(info.value) == (
        "the copy into PostgreSQL failed (the fingerprints differ: blog_comment 1 vs 0); nothing was switched: the "
        "site serves SQLite as before and what this move added of PostgreSQL is removed")
    assert envfile.load(local / ".envs/.production").database == envfile.SQLITE


def test_a_second_run_is_a_no_op_with_one_clear_line(local, monkeypatch, capsys):
    (local / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n" + envfile.render(PG))
    move(*ON_POSTGRES, *NOTHING_LEFT, monkeypatch=monkeypatch)
    assert "already serves from PostgreSQL: nothing to move" in capsys.readouterr().out


def test_a_laptop_that_missed_the_move_gets_the_servers_settings(local, monkeypatch):
    move(*ON_POSTGRES, *[Command(commands.env_value(P.env_file, key), out=PG[key].encode())
                         for key in (*envfile.POSTGRES_KEYS, "DATABASE_URL")], *NOTHING_LEFT, monkeypatch=monkeypatch)
    assert envfile.load(local / ".envs/.production").values["POSTGRES_PASSWORD"] == "S3cretPassw0rd"


def test_nothing_deployed_yet_says_how_a_new_site_starts_on_postgres(local, monkeypatch):
    with pytest.raises(DeployError, match="inv production.env --postgres"):
        move(*PREFLIGHT[:2], Command(commands.read_current(P)), monkeypatch=monkeypatch)


def test_fingerprint_summary_is_one_line():
    assert database_move.summary({"counts": {"b": 2, "a": 1}, "sha256": {"b": "x" * 64, "a": "y" * 64}}) == (
        "a 1, b 2; sha256 a yyyyyyyy, b xxxxxxxx")
    assert backups.POSTGRES == "postgres"


# --- after routing, never undo ----------------------------------------------------------------------------------

def sent_nothing_that_undoes(uploads, sent=()):
    """No SQLite env file back on the server (only the two uploads of the move), PostgreSQL and its data kept."""
    assert [path for path, _ in uploads] == [f"{P.postgres_env}.upload", f"{P.env_file}.upload"]
    assert b"DATABASE_URL=postgres://" in uploads[1][1]
    assert not [command for command in sent if "docker volume rm" in command or "rm -sf postgres" in command]


def after_routing(local, monkeypatch, uploads, *tail, interrupt: str | None = None, sent=None):
    with MockRemote() as mock:
        mock.expect_sessions(session(*PREFLIGHT, *SERVING, LOCK, *BACKUP, *START, *READ_ONLY,
                                     Command(COPY, out=f"{FINGERPRINT}\n".encode()), *ROUTED, *tail,
                                     lock_commands.release_lock(P.lock)))
        server = remote(monkeypatch, uploads)
        real_run = server.run

        def run(command, **kwargs):
            (sent if sent is not None else []).append(command)
            if command == interrupt:
                raise KeyboardInterrupt
            return real_run(command, **kwargs)
        monkeypatch.setattr(server, "run", run)
        database_move.to_postgres(server, DeployConfig())


def test_the_old_containers_stop_failing_after_routing_keeps_postgres_and_says_what_is_left(local, monkeypatch):
    uploads, sent = [], []
    with pytest.raises(DeployError) as info:
        after_routing(local, monkeypatch, uploads, VIA_NGINX,
                      Command(docker.stop([ASIDE], 30), err=b"Error: cannot stop\n", exit=1), sent=sent)
    sent_nothing_that_undoes(uploads, sent)
    message = str(info.value)
    assert message.startswith("traffic moved to PostgreSQL at ")
    assert f"({APP}), then the move stopped (remote command failed (exit 1)" in message
    assert message.endswith(f"nothing was undone: PostgreSQL keeps every row it took, and the env files on "
                            f"deploy@srv.example:2200 and in {local / '.envs/.production'} name it; left to do: stop "
                            f"the SQLite container {ASIDE} (read-only until then) and open writes again: run "
                            "`fab db.to-postgres` again to finish")
    assert envfile.load(local / ".envs/.production").database == envfile.BUNDLED  # later deploys stay on it


def test_nginx_failing_after_routing_removes_nothing(local, monkeypatch):
    uploads, sent = [], []
    with pytest.raises(DeployError, match=r"^traffic moved to PostgreSQL at .*nginx could not serve the new release"):
        after_routing(local, monkeypatch, uploads, Command(VIA_NGINX, out=b"/healthz: 502\n", exit=1), sent=sent)
    sent_nothing_that_undoes(uploads, sent)
    assert envfile.load(local / ".envs/.production").database == envfile.BUNDLED


def test_ctrl_c_while_the_old_container_stops_removes_nothing(local, monkeypatch, capsys):
    uploads, sent = [], []
    with pytest.raises(KeyboardInterrupt):
        after_routing(local, monkeypatch, uploads, VIA_NGINX, interrupt=docker.stop([ASIDE], 30), sent=sent)
    sent_nothing_that_undoes(uploads, sent)
    assert "! traffic moved to PostgreSQL at " in capsys.readouterr().out
    assert envfile.load(local / ".envs/.production").database == envfile.BUNDLED


def test_ctrl_c_during_routing_counts_as_routed(local, monkeypatch):
    route, _, _ = routed(P, APP, NGINX)
    with MockRemote() as mock:
        mock.expect_sessions(session(*PREFLIGHT, *SERVING, LOCK, *BACKUP, *START, *READ_ONLY,
                                     Command(COPY, out=f"{FINGERPRINT}\n".encode()), *ROUTED[:-3],
                                     lock_commands.release_lock(P.lock)))
        uploads = []
        server = remote(monkeypatch, uploads)
        real_run = server.run

        def run(command, **kwargs):
            if command == route:
                raise KeyboardInterrupt
            return real_run(command, **kwargs)
        monkeypatch.setattr(server, "run", run)
        with pytest.raises(KeyboardInterrupt):
            database_move.to_postgres(server, DeployConfig())
    sent_nothing_that_undoes(uploads)


FINISH_LOCK = lock_commands.take(P.root, P.lock, "HOLDER")


def test_a_second_run_finishes_what_a_stopped_move_left(local, monkeypatch, capsys):
    (local / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n" + envfile.render(PG))
    both = f"{APP} Up 1 minute (healthy)\n{ASIDE} Up 2 hours (healthy)\n".encode()
    move(*ON_POSTGRES, Command(docker.app_containers("mysite"), out=both), database.on_postgres(APP),
         Command(database.is_read_only(APP)), FINISH_LOCK,
         Command(docker.nginx_container("mysite"), out=f"{NGINX}\n".encode()),
         Command(docker.app_containers("mysite"), out=both), health.direct_check(APP, "blog.example", 60, AppConfig()),
         health.serves(NGINX, APP), VIA_NGINX, docker.stop([ASIDE], 30),
         database.writable(P, REL), commands.append_audit(P, f"to-postgres {REL} finished"),
         lock_commands.release_lock(P.lock), monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "an earlier move stopped before the end: finishing it" in out
    assert "serves from PostgreSQL: the move is finished" in out


def test_a_second_run_routes_a_container_that_never_took_traffic(local, monkeypatch):
    both = f"{APP} Up 1 minute (healthy)\n{ASIDE} Up 2 hours (healthy)\n".encode()
    move(*ON_POSTGRES, *[Command(commands.env_value(P.env_file, key), out=PG[key].encode())
                         for key in (*envfile.POSTGRES_KEYS, "DATABASE_URL")],
         Command(docker.app_containers("mysite"), out=both), database.on_postgres(APP),
         Command(database.is_read_only(APP)), FINISH_LOCK,
         Command(docker.nginx_container("mysite"), out=f"{NGINX}\n".encode()),
         Command(docker.app_containers("mysite"), out=both), health.direct_check(APP, "blog.example", 60, AppConfig()),
         Command(health.serves(NGINX, APP), exit=1), *routed(P, APP, NGINX), VIA_NGINX,
         docker.stop([ASIDE], 30), database.writable(P, REL), commands.append_audit(P, f"to-postgres {REL} finished"),
         lock_commands.release_lock(P.lock), monkeypatch=monkeypatch)
    assert envfile.load(local / ".envs/.production").database == envfile.BUNDLED


def test_a_second_run_restarts_a_release_still_on_sqlite(local, monkeypatch):
    """The laptop went away after the env file was uploaded, before the restart: forward, never back."""
    (local / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS=blog.example\n" + envfile.render(PG))
    one = f"{APP} Up 2 hours (healthy)\n".encode()
    move(*ON_POSTGRES, Command(docker.app_containers("mysite"), out=one), Command(database.on_postgres(APP), exit=1),
         FINISH_LOCK, Command(docker.nginx_container("mysite"), out=f"{NGINX}\n".encode()), *SWITCH[1:],
         database.writable(P, REL), commands.append_audit(P, f"to-postgres {REL} finished"),
         lock_commands.release_lock(P.lock), monkeypatch=monkeypatch)


# --- a failed move removes only what it added -------------------------------------------------------------------

def test_a_refused_copy_leaves_a_postgres_that_ran_before_and_its_data(local, monkeypatch):
    uploads = []
    earlier = b"POSTGRES_USER=mysite\nPOSTGRES_PASSWORD=TheOldOne\nPOSTGRES_DB=mysite\n"
    with pytest.raises(DeployError, match=r"the target database already holds rows: it is not empty \(blog_post 3\)"):
        move(*PREFLIGHT, *SERVING, LOCK, *BACKUP,
             Command(files.read_file(P.postgres_env), out=earlier),
             Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"),
             docker.volume_exists("mysite_postgres"),
             commands.install_env(f"{P.postgres_env}.upload", P.postgres_env),
             Command(docker.service_container("mysite", "postgres"), out=b"mysite_postgres_1\n"),
             docker.is_healthy("mysite_postgres_1"), *READ_ONLY,
             Command(COPY, err=b"the target database already holds rows: it is not empty (blog_post 3)\n", exit=1),
             commands.install_env(f"{P.postgres_env}.upload", P.postgres_env),  # its own settings back
             database.writable(P, REL), lock_commands.release_lock(P.lock), uploads=uploads, monkeypatch=monkeypatch)
    assert uploads[-1] == (f"{P.postgres_env}.upload", earlier)
    assert envfile.load(local / ".envs/.production").database == envfile.SQLITE


def test_a_postgres_volume_that_was_there_is_kept_when_the_container_is_removed(local, monkeypatch):
    with pytest.raises(DeployError):
        move(*PREFLIGHT, *SERVING, LOCK, *BACKUP,
             Command(files.read_file(P.postgres_env), exit=1), Command(docker.service_container("mysite", "postgres")),
             docker.volume_exists("mysite_postgres"), *START[len(NOTHING_BEFORE):], *READ_ONLY,
             Command(COPY, err=b"cannot connect to the target database: password authentication failed\n", exit=1),
             database.remove_postgres(P, REL, "v1", volume=False), database.writable(P, REL),
             lock_commands.release_lock(P.lock), monkeypatch=monkeypatch)
    assert "docker volume rm" not in database.remove_postgres(P, REL, "v1", volume=False)
    assert "rm -sf postgres" in database.remove_postgres(P, REL, "v1", volume=False)
