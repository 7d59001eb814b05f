"""Day-two tasks: exact commands for backup, restore, manage, logs, releases, unlock and audit."""

import os
import stat
import subprocess
from shlex import quote

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import lock, operations
from deploy.backups import backup_database
from deploy.commands import backup, docker
from deploy.commands import lock as lock_commands
from deploy.commands import releases as commands
from deploy.commands.releases import listing, read_current
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.names import Names
from deploy.scripts import source
from tests.harness.mockremote import names, remote, session

CFG = DeployConfig(keep_backups=2)
P = names(CFG)
REL = "20261124100509-bbbbbbb"
CURRENT = Command(read_current(P), out=f"releases/{REL}\n".encode())
VOLUME = "docker volume inspect mysite_database >/dev/null 2>&1"


def test_one_off_runs_the_release_image_with_the_data_volumes():
    assert docker.one_off(P, REL, "python manage.py migrate --noinput", env_file="/e", network=True) == (
        "docker run --rm --network mysite_default --env-file /e -e DJANGO_SETTINGS_MODULE=mysite.settings.production "
        "-v mysite_database:/app/database "
        f"-v mysite_media:/app/media mysite-django:{REL} python manage.py migrate --noinput")


def test_backup_streams_the_sqlite_backup_api_and_keeps_only_whole_files():
    assert backup.backup(P, REL, "/b/x.sqlite3") == (
        f"umask 077 && mkdir -p {P.backups} && "
        "docker run --rm --network none -e DJANGO_SETTINGS_MODULE=mysite.settings.production "
        "-v mysite_database:/app/database -v mysite_media:/app/media "
        f"mysite-django:{REL} python -c {quote(source('sqlite_backup'))} /app/database/db.sqlite3 "
        "> /b/x.sqlite3.tmp; rc=$?; "
        "if [ $rc -eq 0 ]; then mv /b/x.sqlite3.tmp /b/x.sqlite3; else rm -f /b/x.sqlite3.tmp; fi; exit $rc")
    compile(source("sqlite_backup"), "backup", "exec")
    compile(source("sqlite_restore"), "restore", "exec")


@pytest.mark.parametrize("made", [lambda n, t: backup.backup(n, REL, t), backup.pg_dump,
                                  lambda n, t: backup.pg_dump_in(n, "mysite_postgres.1.x", t)],
                         ids=["sqlite", "pg_dump", "pg_dump in swarm's container"])
def test_a_backup_is_made_readable_by_the_deploy_user_only(tmp_path, made):
    """The builder's command run by sh under the usual umask 022, a stand-in docker printing the 'database'."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/docker").write_text("#!/bin/sh\nprintf PGDMP\n")
    (tmp_path / "bin/docker").chmod(0o755)
    home = Names.of(CFG, str(tmp_path))
    target = f"{home.backups}/x.pgdump"
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    subprocess.run(["sh", "-c", f"umask 022; {made(home, target)}"], env=env, check=True, timeout=30)
    assert open(target, "rb").read() == b"PGDMP"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_backup_names_sort_by_time():
    assert backup.backup_name(REL, "20261206120000") == f"{REL}.sqlite3"
    assert backup.backup_name("manual", "20261206120000") == "20261206120000-manual.sqlite3"


def test_backup_without_a_database_is_a_note_not_an_error(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(
            VOLUME, Command(backup.backup(P, REL, f"{P.backups}/{REL}.sqlite3"), exit=3)))
        assert backup_database(remote(), P, REL, REL, database="sqlite") == ""
    assert "nothing to back up" in capsys.readouterr().out


@pytest.fixture
def manage_lock(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: f"{action} HOLDER")
    return lock_commands.take(P.root, P.lock, "manage HOLDER")


def test_manage_runs_in_the_current_app_container_with_arguments_quoted(manage_lock):
    with MockRemote() as mock:
        mock.expect_sessions(session(
            Command(docker.app_containers("mysite"), out=f"mysite-{REL} Up 1 hour\n".encode()), CURRENT, manage_lock,
            f"docker exec mysite-{REL} python manage.py seed_demo --posts 5 --title 'a b'",
            lock_commands.release_lock(P.lock)))
        operations.manage(remote(), CFG, ["seed_demo", "--posts", "5", "--title", "a b"])


def test_manage_is_refused_while_a_move_holds_the_lock(manage_lock):
    """manage.py writes past the move's read-only mode: a password changed during the copy would be lost."""
    holder = b"to-postgres by ann@laptop, 2026-11-24T10:05:09Z, 2026112\n"
    with MockRemote() as mock:
        mock.expect_sessions(session(
            Command(docker.app_containers("mysite"), out=f"mysite-{REL} Up 1 hour\n".encode()), CURRENT,
            Command(manage_lock, err=b"mkdir: cannot create directory: File exists\n", exit=1),
            lock_commands.is_held(P.lock), Command(lock_commands.read_lock(P.lock), out=holder)))
        with pytest.raises(DeployError) as info:
            operations.manage(remote(), CFG, ["changepassword", "ann"])
    assert str(info.value) == (
        "another deploy holds the lock on deploy@srv.example:2200 (to-postgres by ann@laptop, 2026-11-24T10:05:09Z, "
        "2026112): wait for it to finish, or run `fab unlock` if that deploy is no longer running")


def test_manage_failure_is_one_line(manage_lock):
    with MockRemote() as mock:
        mock.expect_sessions(session(
            Command(docker.app_containers("mysite"), out=f"mysite-{REL} Up 1 hour\n".encode()), CURRENT, manage_lock,
            Command(f"docker exec mysite-{REL} python manage.py nope", exit=1), lock_commands.release_lock(P.lock)))
        with pytest.raises(DeployError, match="manage.py nope failed \\(exit 1\\)"):
            operations.manage(remote(), CFG, ["nope"])


def test_nothing_deployed_yet_says_deploy_first():
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(docker.app_containers("mysite")), Command(read_current(P))))
        with pytest.raises(DeployError, match="nothing is deployed on .* run `fab deploy` first"):
            operations.manage(remote(), CFG, ["shell"])


def test_logs_of_nginx_and_unknown_service():
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(docker.nginx_container("mysite"), out=b"mysite_nginx_1\n"),
                                     "docker logs --tail 50 -f mysite_nginx_1"))
        operations.logs(remote(), CFG, follow=True, service="nginx", lines=50)
    with pytest.raises(DeployError, match="unknown service 'db': use app or nginx"):
        operations.service("db")


def test_releases_marks_current_and_gone_images(capsys):
    old = "20261101000000-aaaaaaa"
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(listing(P), out=f"{old}\n{REL}\n".encode()), CURRENT,
                                     Command(commands.image_tags(P), out=f"{REL}\n".encode())))
        operations.show_releases(remote(), CFG)
    assert capsys.readouterr().out == f"  {old}  (image gone)\n* {REL}\n"


def test_restore_refuses_a_file_that_is_not_sqlite(tmp_path):
    bad = tmp_path / "x.sqlite3"
    bad.write_text("not a database")
    with pytest.raises(DeployError, match="is not a SQLite database file"):
        operations.backup_file(str(bad), yes=True)


def test_restore_asks_only_where_it_can(tmp_path, monkeypatch):
    good = tmp_path / "x.sqlite3"
    good.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(DeployError, match="no terminal to ask on: pass --yes"):
        operations.backup_file(str(good), yes=False)
    assert operations.backup_file(str(good), yes=True) == good
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert operations.backup_file(str(good), yes=False) == good


def test_restore_takes_end_of_input_for_a_no(tmp_path, monkeypatch):
    good = tmp_path / "x.sqlite3"
    good.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)

    def end_of_input(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", end_of_input)
    with pytest.raises(DeployError, match="restore cancelled: nothing was changed"):
        operations.restore(remote(), CFG, good)


def test_restore_asks_and_a_no_changes_nothing(tmp_path, monkeypatch):
    good = tmp_path / "x.sqlite3"
    good.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(DeployError, match="restore cancelled: nothing was changed"):
        operations.restore(remote(), CFG, str(good))


def test_restore_keeps_a_backup_first_and_releases_the_lock(tmp_path, monkeypatch):
    good = tmp_path / "x.sqlite3"
    good.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: "HOLDER")
    monkeypatch.setattr(backup, "backup_name", lambda label, now=None, suffix=".sqlite3": f"T-{label}{suffix}")
    monkeypatch.setattr(operations.os, "getpid", lambda: 42)
    uploads = []
    upload = f"{P.backups}/.restore-42.sqlite3"
    restore = docker.one_off(P, REL, f"python -c {quote(source('sqlite_restore'))} /app/database/db.sqlite3",
                             stdin=True)
    with MockRemote() as mock:
        mock.expect_sessions(session(
            CURRENT, Command(commands.env_value(P.env_file, "DATABASE_URL")),  # no DATABASE_URL: SQLite
            lock_commands.take(P.root, P.lock, "HOLDER"), VOLUME,
            backup.backup(P, REL, f"{P.backups}/T-before-restore.sqlite3"),
            Command(f"ls -1 {P.backups}", out=b"T-before-restore.sqlite3\n"),
            Command(f"{restore} < {upload}; rc=$?; rm -f {upload}; exit $rc", exit=1),
            lock_commands.release_lock(P.lock)))
        with pytest.raises(DeployError, match="the restore failed; the live database is unchanged"):
            operations.restore(remote(monkeypatch, uploads), CFG, str(good), yes=True)
    assert uploads[0][0] == upload


def test_unlock_and_audit(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(lock_commands.read_lock(P.lock), out=b"deploy by ann\n"),
                                     f"test -d {P.lock}", lock_commands.release_lock(P.lock),
                                     Command(f"tail -n 5 {P.audit} 2>/dev/null")))
        server = remote()
        operations.unlock(server, CFG)
        operations.audit(server, CFG, lines=5)
    assert capsys.readouterr().out == "removed the deploy lock held by: deploy by ann\nno deploys yet\n"


def test_a_downloaded_backup_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(operations, "backup_database", lambda host, names, release, label: "/srv/b.sqlite3")
    monkeypatch.setattr(operations, "_current", lambda host, names: REL)
    host = remote()

    def get(remote_path, local):  # as Fabric's sftp get does: open for writing, keep the file's mode
        with open(local, "wb") as handle:
            handle.write(b"SQLite format 3\x00")

    monkeypatch.setattr(host, "get", get)
    umask = os.umask(0o022)
    try:
        saved = operations.download_backup(host, CFG)
        chosen = operations.download_backup(host, CFG, tmp_path / "mine.sqlite3")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and stat.S_IMODE(chosen.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700

