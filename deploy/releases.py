"""Releases: what gets shipped (a git commit, archived here), how a release is named, and what is kept.

The server side of releases is built in ``deploy.commands.releases``; names and paths are in ``deploy.names``.
"""

import io
import os
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from deploy import wheel
from deploy.checks import RELEASE_NAME
from deploy.errors import DeployError
from deploy.names import TOOLKIT, TOOLKIT_WHEEL_FOLDER

NAME = RELEASE_NAME


def stamp(now: datetime | None = None) -> str:
    """The time as release and backup names begin: YYYYmmddHHMMSS, UTC."""
    return (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")


def name(sha: str, now: datetime | None = None) -> str:
    return f"{stamp(now)}-{sha[:7]}"


# --- the local side: which commit, and its archive ---------------------------------------------

def git(*args: str, cwd: str | None = None) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DeployError("git is not installed here: deploys ship a git commit, so install git") from None
    if done.returncode != 0:
        raise DeployError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def source(dirty: bool, cwd: str | None = None) -> tuple[str, bool]:
    """The commit to ship: HEAD, or with ``dirty`` a commit of the working tree. Returns (sha, is_dirty)."""
    try:
        head = git("rev-parse", "--verify", "HEAD^{commit}", cwd=cwd)
    except DeployError:
        raise DeployError("this is not a git repository with a commit: deploys ship a commit; "
                          "run fab from the project folder after `git commit`") from None
    changes = git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    if not changes:
        return head, False
    if not dirty:
        first = changes.splitlines()[0].split(maxsplit=1)[-1]
        raise DeployError(f"uncommitted changes (e.g. {first}): commit them, or deploy the working tree "
                          "with `fab deploy --dirty`")
    # a stash commit holds the tracked working tree without touching the index or the files
    return git("stash", "create", cwd=cwd) or head, True


def has_file(sha: str, path: str, cwd: str | None = None) -> bool:
    """True when the commit ``sha`` holds ``path`` (what the server will unpack)."""
    return subprocess.run(["git", "cat-file", "-e", f"{sha}:{path}"], cwd=cwd, capture_output=True,
                          check=False).returncode == 0


def archive(sha: str, output: str, cwd: str | None = None) -> None:
    """The commit's files, plus the toolkit's Django app as a wheel in TOOLKIT_WHEEL_FOLDER (an app image installs
    it: the version that deploys the release). A commit that holds that folder itself is refused."""
    if has_file(sha, TOOLKIT_WHEEL_FOLDER, cwd=cwd):
        raise DeployError(f"commit {sha[:7]} holds {TOOLKIT_WHEEL_FOLDER}/, the folder every release gets the "
                          "toolkit's Django app in: rename yours")
    git("archive", "--format=tar", "-o", output, sha, cwd=cwd)
    name, content = wheel.build()
    member = tarfile.TarInfo(f"{TOOLKIT_WHEEL_FOLDER}/{name}")
    member.size, member.mode = len(content), 0o644
    with tarfile.open(output, "a") as tar:
        tar.addfile(member, io.BytesIO(content))


def export(sha: str, tree: str, cwd: str | None = None) -> None:
    """The files of commit ``sha`` into the folder ``tree``: what a server unpacks, and what it builds."""
    with tempfile.TemporaryDirectory(prefix=f"{TOOLKIT}-archive-") as folder:
        tarball = os.path.join(folder, "release.tar")
        archive(sha, tarball, cwd=cwd)
        with tarfile.open(tarball) as files:
            files.extractall(tree, filter="data")


def repo_root(cwd: str | None = None) -> Path:
    return Path(git("rev-parse", "--show-toplevel", cwd=cwd))


# --- what the server's answers mean, and what to keep ---------------------------------------------

def parse_listing(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if NAME.match(line.strip()))


def parse_current(text: str) -> str:
    found = text.strip().rstrip("/").rsplit("/", 1)[-1]
    return found if NAME.match(found) else ""


def to_prune(names: list[str], keep: int, protect: set[str]) -> list[str]:
    """Releases beyond the newest ``keep``, oldest first; never the ones in ``protect``."""
    ordered = sorted(names)
    return [n for n in ordered[: max(len(ordered) - keep, 0)] if n not in protect]


def audit_line(*, who: str, action: str, sha: str, release: str, result: str, seconds: float,
               now: datetime | None = None) -> str:
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{when} {action} by={who} sha={sha[:12]} release={release or '-'} result={result} seconds={seconds:.1f}"
