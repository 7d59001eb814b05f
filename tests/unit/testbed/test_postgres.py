"""testbed/postgres.py: the reasons it gives when it cannot, and (as root, where it can) the real thing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import postgres

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def state(tmp_path, monkeypatch):
    path = tmp_path / "mysite-test.url"
    monkeypatch.setattr(postgres, "STATE_FILE", path)
    return path


def test_not_root_and_nothing_set_up_names_the_way_out(state, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(postgres.PostgresUnavailable, match="not root, and no PostgreSQL was set up for the tests"):
        postgres.ensure_postgres()


def test_not_root_and_a_url_it_cannot_read(state, monkeypatch):
    state.write_text("postgres://u:p@127.0.0.1:5432/db\n")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(postgres, "_saved_url", lambda: (_ for _ in ()).throw(PermissionError()))
    with pytest.raises(postgres.PostgresUnavailable, match="is not readable: run `python -m testbed.postgres` once"):
        postgres.ensure_postgres()


def test_not_root_and_a_server_that_does_not_answer(state, monkeypatch):
    state.write_text("postgres://u:p@127.0.0.1:1/db\n")  # nothing listens on port 1
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(postgres.PostgresUnavailable, match="does not answer .*only root can start it"):
        postgres.ensure_postgres()


def test_not_installed_and_not_debian(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(postgres.PostgresUnavailable, match="not installed and this is not Debian"):
        postgres._install()


def test_a_failing_command_is_one_line_with_its_exit_code():
    with pytest.raises(postgres.PostgresUnavailable) as raised:
        postgres._run([sys.executable, "-c", "import sys; print('bad\\nthing', file=sys.stderr); sys.exit(3)"], "x")
    assert "exit 3" in str(raised.value) and "bad thing" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "stale"),
    [("test_mysite_test_123", True), ("test_mysite_test_123_copy_ab12", True), ("mysite_test", False),
     ("test_mysite_test", False), ("test_other_123", False), ("test_mysite_test_12x", False)],
)
def test_what_counts_as_a_test_run_database(name, stale):
    assert bool(postgres.STALE_DATABASE.fullmatch(name)) is stale


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None,
                    reason="needs root and Debian's PostgreSQL packages (CI installs them)")
def test_two_processes_at_once_get_the_same_running_server():
    argv = [sys.executable, "-m", "testbed.postgres"]
    runs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outs
    urls = {out.strip() for out, _ in outs}
    assert len(urls) == 1
    url = urls.pop()
    assert url.startswith(f"postgres://{postgres.ROLE}:") and url.endswith(f"@127.0.0.1:{url.rsplit(':', 1)[1]}")
    assert postgres.login_problem(url) is None
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() \
            == (True, False)
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert owner.fetchone()[0] == postgres.ROLE
    assert oct(postgres.STATE_FILE.stat().st_mode & 0o777) == "0o600"
