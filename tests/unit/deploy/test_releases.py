"""Releases: names, layout, the commit shipped, listing, current, pruning and the audit line."""

import subprocess
import tarfile
from datetime import UTC, datetime

import pytest

from deploy import releases, wheel
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.names import Names
from tests.harness.mockremote import names

P = names()
NOW = datetime(2026, 11, 24, 10, 5, 9, tzinfo=UTC)


def test_name_is_timestamp_and_short_sha():
    assert releases.name("abcdef0123456789", NOW) == "20261124100509-abcdef0"
    assert releases.NAME.match("20261124100509-abcdef0")


def test_paths_relative_to_home_or_absolute():
    assert Names.of(DeployConfig(), "/home/deploy").root == "/home/deploy/apps/mysite"
    assert Names.of(DeployConfig(app_path="/srv/blog/"), "/home/deploy").root == "/srv/blog"
    assert (P.release("r1"), P.env_file, P.lock, P.audit, P.backups, P.current) == (
        "/home/deploy/apps/mysite/releases/r1", "/home/deploy/apps/mysite/shared/.envs/.production",
        "/home/deploy/apps/mysite/.deploy.lock", "/home/deploy/apps/mysite/audit.log",
        "/home/deploy/apps/mysite/backups", "/home/deploy/apps/mysite/current")


def test_server_side_builders_are_exact():
    assert commands.unpack(P, "r1", "/tmp/r1.tar") == (
        "mkdir -p /home/deploy/apps/mysite/releases/r1 && tar -xf /tmp/r1.tar -C /home/deploy/apps/mysite/releases/r1"
        " && rm -f /tmp/r1.tar")
    assert commands.prepare_dirs(P) == (
        "mkdir -p /home/deploy/apps/mysite/releases /home/deploy/apps/mysite/backups "
        "/home/deploy/apps/mysite/shared/.envs && chmod 700 /home/deploy/apps/mysite/shared/.envs "
        "/home/deploy/apps/mysite/backups")
    assert commands.install_env("/a/.production.upload", "/a/.production") == (
        "chmod 600 /a/.production.upload && mv -f /a/.production.upload /a/.production")
    assert commands.link_current(P, "r1") == (
        "ln -sfn releases/r1 /home/deploy/apps/mysite/current.tmp && "
        "mv -Tf /home/deploy/apps/mysite/current.tmp /home/deploy/apps/mysite/current")
    assert commands.remove_release(P, "r1") == (
        "rm -rf /home/deploy/apps/mysite/releases/r1; docker rmi mysite-django:r1 mysite-nginx:r1 >/dev/null 2>&1"
        " || true")
    assert commands.listing(P) == "ls -1 /home/deploy/apps/mysite/releases 2>/dev/null || true"
    assert commands.read_current(P) == "readlink /home/deploy/apps/mysite/current 2>/dev/null || true"
    assert commands.image_tags(P) == "docker images mysite-django --format '{{.Tag}}'"
    assert commands.image_exists(P, "r1") == "docker image inspect mysite-django:r1 >/dev/null 2>&1"


def test_listing_keeps_release_names_only_sorted():
    text = "20261124100509-abcdef0\n.20261124-x.tar\nlost+found\n20261101000000-1234567\n"
    assert releases.parse_listing(text) == ["20261101000000-1234567", "20261124100509-abcdef0"]


@pytest.mark.parametrize("link, expected", [("releases/20261124100509-abcdef0", "20261124100509-abcdef0"),
                                            ("releases/20261124100509-abcdef0/", "20261124100509-abcdef0"),
                                            ("", ""), ("releases/garbage", "")])
def test_current_from_the_symlink(link, expected):
    assert releases.parse_current(link + "\n") == expected


def test_prune_keeps_the_newest_and_never_the_protected():
    names = [f"2026110{i}000000-aaaaaaa" for i in range(1, 8)]
    assert releases.to_prune(names, 5, set()) == names[:2]
    assert releases.to_prune(names, 5, {names[0]}) == [names[1]]
    assert releases.to_prune(names[:3], 5, set()) == []


def test_audit_line_and_append():
    line = releases.audit_line(who="ann@laptop", action="deploy", sha="abcdef0123456789", release="r1",
                               result="ok", seconds=12.345, now=NOW)
    assert line == "2026-11-24T10:05:09Z deploy by=ann@laptop sha=abcdef012345 release=r1 result=ok seconds=12.3"
    assert commands.append_audit(P, "a b") == "printf '%s\\n' 'a b' >> /home/deploy/apps/mysite/audit.log"


@pytest.fixture
def repo(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / ".gitignore").write_text("secret\n")
    (tmp_path / "secret").write_text("never shipped\n")
    git("add", "a.txt", ".gitignore")
    git("commit", "-qm", "first")
    return tmp_path


def test_clean_tree_ships_head(repo):
    sha, dirty = releases.source(False, cwd=str(repo))
    assert (len(sha), dirty) == (40, False)


def test_uncommitted_changes_are_refused_without_dirty(repo):
    (repo / "a.txt").write_text("two\n")
    with pytest.raises(DeployError, match=r"uncommitted changes \(e.g. a.txt\): commit them, or .*--dirty"):
        releases.source(False, cwd=str(repo))


def test_dirty_ships_the_working_tree_without_touching_it(repo, tmp_path_factory):
    (repo / "a.txt").write_text("two\n")
    sha, dirty = releases.source(True, cwd=str(repo))
    out = tmp_path_factory.mktemp("t") / "r.tar"
    releases.archive(sha, str(out), cwd=str(repo))
    with tarfile.open(out) as tar:
        assert tar.extractfile("a.txt").read() == b"two\n"
        assert "secret" not in tar.getnames()
    assert dirty and (repo / "a.txt").read_text() == "two\n"


def test_the_archive_carries_the_toolkits_django_app_as_a_wheel(repo, tmp_path_factory):
    sha, _ = releases.source(False, cwd=str(repo))
    out = tmp_path_factory.mktemp("t") / "r.tar"
    releases.archive(sha, str(out), cwd=str(repo))
    name, content = wheel.build()
    with tarfile.open(out) as tar:
        assert tar.getnames()[-1] == f"deploy-toolkit/{name}"
        assert tar.extractfile(f"deploy-toolkit/{name}").read() == content
        assert tar.extractfile("a.txt").read() == b"one\n"


def test_a_commit_that_holds_the_toolkits_folder_is_refused(repo, tmp_path_factory):
    (repo / "deploy-toolkit").mkdir()
    (repo / "deploy-toolkit" / "x.whl").write_text("mine\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "mine"], cwd=repo, check=True)
    sha, _ = releases.source(False, cwd=str(repo))
    with pytest.raises(DeployError) as refused:
        releases.archive(sha, str(tmp_path_factory.mktemp("t") / "r.tar"), cwd=str(repo))
    assert str(refused.value) == (f"commit {sha[:7]} holds deploy-toolkit/, the folder every release gets the "
                                  "toolkit's Django app in: rename yours")


def test_not_a_repository_is_one_line(tmp_path):
    with pytest.raises(DeployError, match="not a git repository with a commit"):
        releases.source(False, cwd=str(tmp_path))
