"""Releases: what gets shipped (a git commit), where it lives on the server, and what is kept.

Layout under the app folder: ``releases/<YYYYmmddHHMMSS-sha7>/``, ``current -> releases/<name>``,
``shared/.envs/.production`` (mode 600, never in a release or an image), ``backups/``, ``audit.log``
and the ``.deploy.lock`` folder.
"""

import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from shlex import quote

from deploy.config import DeployConfig
from deploy.errors import DeployError

NAME = re.compile(r"^\d{14}-[0-9a-f]{7}$")
APP_IMAGE = "mysite-django"  # production.yml names the images; see docs/ARCHITECTURE.md
NGINX_IMAGE = "mysite-nginx"


@dataclass(frozen=True)
class Paths:
    app: str

    @classmethod
    def of(cls, home: str, config: DeployConfig) -> "Paths":
        path = config.app_path.rstrip("/")
        return cls(path if path.startswith("/") else f"{home.rstrip('/')}/{path}")

    @property
    def releases(self) -> str:
        return f"{self.app}/releases"

    def release(self, name: str) -> str:
        return f"{self.releases}/{name}"

    @property
    def current(self) -> str:
        return f"{self.app}/current"

    @property
    def shared(self) -> str:
        return f"{self.app}/shared"

    @property
    def env_file(self) -> str:
        return f"{self.shared}/.envs/.production"

    @property
    def backups(self) -> str:
        return f"{self.app}/backups"

    @property
    def lock(self) -> str:
        return f"{self.app}/.deploy.lock"

    @property
    def audit(self) -> str:
        return f"{self.app}/audit.log"


def name(sha: str, now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)).strftime('%Y%m%d%H%M%S')}-{sha[:7]}"


def app_image(release: str) -> str:
    return f"{APP_IMAGE}:{release}"


def nginx_image(release: str) -> str:
    return f"{NGINX_IMAGE}:{release}"


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


def archive(sha: str, output: str, cwd: str | None = None) -> None:
    git("archive", "--format=tar", "-o", output, sha, cwd=cwd)


def repo_root(cwd: str | None = None) -> Path:
    return Path(git("rev-parse", "--show-toplevel", cwd=cwd))


# --- the server side: pure builders ------------------------------------------------------------

def unpack(paths: Paths, release: str, tarball: str) -> str:
    target = quote(paths.release(release))
    return f"mkdir -p {target} && tar -xf {quote(tarball)} -C {target} && rm -f {quote(tarball)}"


def prepare_dirs(paths: Paths) -> str:
    # shared/.envs is 700: the env file is never readable by anyone but the deploy user
    return (f"mkdir -p {quote(paths.releases)} {quote(paths.backups)} {quote(paths.shared)}/.envs "
            f"&& chmod 700 {quote(paths.shared)}/.envs")


def install_env(upload: str, target: str) -> str:
    return f"chmod 600 {quote(upload)} && mv -f {quote(upload)} {quote(target)}"


def listing(paths: Paths) -> str:
    return f"ls -1 {quote(paths.releases)} 2>/dev/null || true"


def parse_listing(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if NAME.match(line.strip()))


def read_current(paths: Paths) -> str:
    return f"readlink {quote(paths.current)} 2>/dev/null || true"


def parse_current(text: str) -> str:
    found = text.strip().rstrip("/").rsplit("/", 1)[-1]
    return found if NAME.match(found) else ""


def link_current(paths: Paths, release: str) -> str:
    # a symlink renamed over the old one: `current` always points at a whole release
    tmp = quote(f"{paths.current}.tmp")
    return f"ln -sfn {quote('releases/' + release)} {tmp} && mv -Tf {tmp} {quote(paths.current)}"


def remove_release(paths: Paths, release: str) -> str:
    """Remove a release folder and its image tags (an image still in use stays)."""
    return (f"rm -rf {quote(paths.release(release))}; "
            f"docker rmi {app_image(release)} {nginx_image(release)} >/dev/null 2>&1 || true")


def to_prune(names: list[str], keep: int, protect: set[str]) -> list[str]:
    """Releases beyond the newest ``keep``, oldest first; never the ones in ``protect``."""
    ordered = sorted(names)
    return [n for n in ordered[: max(len(ordered) - keep, 0)] if n not in protect]


def image_tags() -> str:
    return f"docker images {APP_IMAGE} --format '{{{{.Tag}}}}'"


def image_exists(release: str) -> str:
    return f"docker image inspect {app_image(release)} >/dev/null 2>&1"


def audit_line(*, who: str, action: str, sha: str, release: str, result: str, seconds: float,
               now: datetime | None = None) -> str:
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{when} {action} by={who} sha={sha[:12]} release={release or '-'} result={result} seconds={seconds:.1f}"


def append_audit(paths: Paths, line: str) -> str:
    return f"printf '%s\\n' {quote(line)} >> {quote(paths.audit)}"
