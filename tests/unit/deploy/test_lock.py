"""The deploy lock: one atomic mkdir, refused with the holder, released on every way out."""

from datetime import UTC, datetime

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import lock
from deploy.commands import lock as commands
from deploy.errors import DeployError
from tests.harness.mockremote import names, remote, session

APP = "/home/deploy/apps/mysite"
LOCK = f"{APP}/.deploy.lock"
HOLDER = "deploy by ann@laptop, 2026-11-24T10:00:00Z, abc1234"
TAKE = f"mkdir -p {APP} && mkdir {LOCK} && printf '%s\\n' '{HOLDER}' > {LOCK}/holder"


def test_holder_names_who_when_and_commit(monkeypatch):
    monkeypatch.setattr(lock, "who", lambda: "ann@laptop")
    assert lock.holder("abc1234def", now=datetime(2026, 11, 24, 10, 0, tzinfo=UTC)) == HOLDER


def test_take_creates_the_app_folder_then_one_atomic_mkdir():
    assert commands.take(APP, LOCK, HOLDER) == TAKE


def test_held_releases_the_lock_after_the_block():
    with MockRemote() as mock:
        mock.expect_sessions(session(TAKE, f"rm -rf {LOCK}"))
        with lock.held(remote(), names(), HOLDER):
            pass


@pytest.mark.parametrize("error", [DeployError("boom"), KeyboardInterrupt()])
def test_held_releases_the_lock_on_failure_and_ctrl_c(error):
    with MockRemote() as mock:
        mock.expect_sessions(session(TAKE, f"rm -rf {LOCK}"))
        with pytest.raises(type(error)), lock.held(remote(), names(), HOLDER):
            raise error


def test_concurrent_deploy_is_refused_showing_the_holder_and_the_lock_is_kept():
    with MockRemote() as mock:
        mock.expect_sessions(session(
            Command(TAKE, err=b"mkdir: cannot create directory: File exists\n", exit=1),
            f"test -d {LOCK}",
            Command(f"cat {LOCK}/holder 2>/dev/null || true",
                    out=b"deploy by bob@desk, 2026-11-24T09:59:00Z, 1111111\n"),
        ))
        with pytest.raises(DeployError) as info, lock.held(remote(), names(), HOLDER):
            raise AssertionError("must not run")
    assert str(info.value) == (
        "another deploy holds the lock on deploy@srv.example:2200 (deploy by bob@desk, 2026-11-24T09:59:00Z, "
        "1111111): wait for it to finish, or run `fab unlock` if that deploy is no longer running")


def test_lock_that_cannot_be_created_says_why():
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(TAKE, err=b"mkdir: Permission denied\n", exit=1),
                                     Command(f"test -d {LOCK}", exit=1)))
        with pytest.raises(DeployError, match="Permission denied; check that the deploy user owns"):
            lock.acquire(remote(), names(), HOLDER)


def test_unlock_removes_and_reports_the_holder():
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(f"cat {LOCK}/holder 2>/dev/null || true", out=HOLDER.encode()),
                                     f"test -d {LOCK}", f"rm -rf {LOCK}"))
        assert lock.unlock(remote(), names()) == HOLDER


def test_unlock_without_a_lock_changes_nothing():
    with MockRemote() as mock:
        mock.expect_sessions(session(f"cat {LOCK}/holder 2>/dev/null || true", Command(f"test -d {LOCK}", exit=1)))
        assert lock.unlock(remote(), names()) == ""
