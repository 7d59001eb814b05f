"""`fab deploy` and `fab rollback`: the steps of issue 5, in order, each one printed and timed.

Nothing on the server changes before the local preflight passes; everything after it runs under the
deploy lock, and any failure leaves the previous release serving.
"""

import os
import tempfile
import time
from shlex import quote

from deploy import envfile, lock, releases
from deploy import operations as ops
from deploy import switch as sw
from deploy.commands import detect_compose
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.output import say, step
from deploy.releases import Paths
from deploy.remote import Remote

BUILD_LOG_LINES = 20
MIGRATE = "run --rm --no-deps -T mysite python manage.py migrate --noinput"


def docker_ready(remote: Remote) -> bool:
    """True for compose v2, False for v1; refuse a server without docker or compose."""
    found = remote.probe(detect_compose()).stdout.strip()
    if not found and remote.dry_run:
        say("    [dry-run] no compose answer: assuming `docker compose` (v2)")
        return True
    if found not in ("v1", "v2"):
        raise DeployError(f"{remote.name} has no docker compose: run `fab bootstrap` first")
    if not remote.probe("docker info --format '{{.ServerVersion}}'").ok and not remote.dry_run:
        raise DeployError(f"{remote.name}: the deploy user cannot reach the Docker engine: run `fab bootstrap` "
                          "(it starts Docker and adds the user to the docker group)")
    return found == "v2"


def ship(remote: Remote, paths: Paths, release: str, sha: str, env: envfile.EnvFile, root: str) -> None:
    """The commit's files into releases/<name>; the env file into shared/ (mode 600), never a release."""
    with step(f"ship {sha[:7]} to {paths.release(release)}"):
        remote.run(releases.prepare_dirs(paths))
        with tempfile.TemporaryDirectory() as tmp:
            tarball = os.path.join(tmp, "release.tar")
            releases.archive(sha, tarball, cwd=root)
            remote.put(tarball, f"{paths.releases}/.{release}.tar")
            remote.run(releases.unpack(paths, release, f"{paths.releases}/.{release}.tar"))
            rendered = os.path.join(tmp, "production.env")
            with open(os.open(rendered, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
                handle.write(env.render())
            upload = f"{paths.env_file}.upload"
            remote.put(rendered, upload)
            remote.run(releases.install_env(upload, paths.env_file))


def build(remote: Remote, config: DeployConfig, paths: Paths, release: str, v2: bool) -> None:
    with step(f"build images {releases.app_image(release)} and {releases.nginx_image(release)} "
              "(the old containers keep serving)"):
        try:
            remote.run(sw.stack(config, paths, release, "build", v2=v2), timeout=3600)
        except RemoteCommandFailed as error:
            _tail("build output", error.output)
            raise DeployError("building the images failed (see the build output above); nothing was switched "
                              "and the previous release keeps serving: fix the build and deploy again") from None


def migrate(remote: Remote, config: DeployConfig, paths: Paths, release: str, v2: bool) -> None:
    # `compose run` (not `docker run`): on a first deploy it creates the project's network and volumes,
    # and the app image is the first to mount them, so the data folders belong to the app's user
    with step("migrate the database once, in a one-off container of the new image"):
        try:
            remote.run(sw.stack(config, paths, release, MIGRATE, v2=v2), timeout=1800)
        except RemoteCommandFailed as error:
            _tail("migrate output", error.output)
            raise DeployError("migrations failed (output above); nothing was switched and the previous release "
                              "keeps serving: fix the migration and deploy again") from None


def record(remote: Remote, paths: Paths, *, action: str, sha: str, release: str, result: str,
           started: float) -> None:
    line = releases.audit_line(who=lock.who(), action=action, sha=sha, release=release, result=result,
                               seconds=time.monotonic() - started)
    try:
        remote.run(releases.append_audit(paths, line), warn=True)
    except DeployError as error:
        say(f"  ! could not write the audit line ({error})")


def prune(remote: Remote, config: DeployConfig, paths: Paths, protect: set[str]) -> None:
    with step(f"prune releases and images beyond the last {config.keep_releases}"):
        names = releases.parse_listing(remote.probe(releases.listing(paths)).stdout)
        tags = releases.parse_listing(remote.probe(releases.image_tags()).stdout)
        keep = set(names[-config.keep_releases:]) | protect
        old = releases.to_prune(names, config.keep_releases, protect) + [t for t in tags if t not in names
                                                                          and t not in keep]
        for name in sorted(set(old)):
            remote.run(releases.remove_release(paths, name))
        say(f"    removed {len(set(old))} old release(s)")


def deploy(server: Remote, settings: DeployConfig, dirty: bool = False) -> None:
    """The whole pipeline; raises DeployError (one line) on any failure, after rolling back."""
    started = time.monotonic()
    with step("preflight: env file, git commit, docker on the server"):
        root = str(releases.repo_root())
        env = envfile.load(os.path.join(root, settings.env_file))
        sha, is_dirty = releases.source(dirty, cwd=root)
        v2 = docker_ready(server)
        say(f"    {'working tree (--dirty) as ' if is_dirty else 'commit '}{sha[:7]}, "
            f"domain {env.domain}, compose {'v2' if v2 else 'v1'}")
    paths = Paths.of(server.home, settings)
    release = releases.name(sha)
    with step(f"lock {paths.lock}"):
        lock.acquire(server, paths.app, paths.lock, lock.holder(sha))
    result, switched = "failed", False
    try:
        previous = releases.parse_current(server.probe(releases.read_current(paths)).stdout)
        say(f"    release {release}, previous {previous or 'none (first deploy)'}")
        try:
            ship(server, paths, release, sha, env, root)
            build(server, settings, paths, release, v2)
            with step("back up the database"):
                ops.backup_database(server, settings, paths, release, label=release)
            migrate(server, settings, paths, release, v2)
            with step("ensure nginx is up"):
                nginx = sw.ensure_nginx(server, settings, paths, release, v2)
            sw.switch(server, settings, paths, release, env.domain, nginx)
            switched = True
        finally:
            if not switched:  # nothing of the failed release stays behind; the previous one is untouched
                _quietly(server, releases.remove_release(paths, release))
        with step(f"record current -> {release}"):
            server.run(releases.link_current(paths, release))
        result = "ok"
        prune(server, settings, paths, {release, previous} - {""})
    finally:
        record(server, paths, action="deploy", sha=sha, release=release, result=result, started=started)
        lock.release(server, paths.lock)
    say(f"deployed {release} to {server.name} in {time.monotonic() - started:.1f}s")


def rollback(server: Remote, settings: DeployConfig, to: str | None = None) -> None:
    """Switch back to an earlier release's image with the same zero-downtime switch."""
    started = time.monotonic()
    with step("preflight: docker on the server, releases"):
        v2 = docker_ready(server)
        paths = Paths.of(server.home, settings)
        names = releases.parse_listing(server.probe(releases.listing(paths)).stdout)
        current = releases.parse_current(server.probe(releases.read_current(paths)).stdout)
        target = pick_target(names, current, to, server.dry_run)
        if not server.probe(releases.image_exists(target)).ok and not server.dry_run:
            raise DeployError(f"the image of release {target} is gone (pruned): deploy that commit again instead")
        hosts = server.probe(f"sed -n 's/^DJANGO_ALLOWED_HOSTS=//p' {quote(paths.env_file)}").stdout.strip()
        domain = envfile.first_host(hosts) or ("example.com" if server.dry_run else "")
        if not domain:
            raise DeployError(f"{paths.env_file} has no DJANGO_ALLOWED_HOSTS: run `fab deploy` once first")
        say(f"    {current or 'nothing'} -> {target}, domain {domain}")
    with step(f"lock {paths.lock}"):
        lock.acquire(server, paths.app, paths.lock, lock.holder(target.split("-")[-1], action="rollback"))
    result = "failed"
    try:
        with step("ensure nginx is up"):
            nginx = sw.ensure_nginx(server, settings, paths, target, v2)
        sw.switch(server, settings, paths, target, domain, nginx)
        with step(f"record current -> {target}"):
            server.run(releases.link_current(paths, target))
        result = "ok"
    finally:
        record(server, paths, action="rollback", sha=target.split("-")[-1], release=target, result=result,
               started=started)
        lock.release(server, paths.lock)
    say(f"rolled back to {target} on {server.name} in {time.monotonic() - started:.1f}s")


def pick_target(names: list[str], current: str, to: str | None, dry_run: bool = False) -> str:
    if to:
        if to not in names:
            raise DeployError(f"no release {to!r} on the server: pick one from `fab releases`")
        if to == current:
            raise DeployError(f"{to} is already the current release: nothing to roll back")
        return to
    earlier = [n for n in names if n < current] if current else []
    if not earlier:
        if dry_run:
            return "PREVIOUS-RELEASE"
        raise DeployError("there is no release before the current one to roll back to (see `fab releases`)")
    return earlier[-1]


def _quietly(remote: Remote, command: str) -> None:
    """Clean-up on a failure path: never hide the original error behind a second one."""
    try:
        remote.run(command, warn=True)
    except DeployError as error:
        say(f"  ! clean-up failed ({error})")


def _tail(what: str, output: str) -> None:
    lines = [line for line in output.rstrip().splitlines() if line.strip()][-BUILD_LOG_LINES:]
    if lines:
        say(f"    last lines of the {what}:")
        for line in lines:
            say(f"    | {line}")
