"""`fab deploy` and `fab rollback`, in order, each step printed and timed.

Nothing on the server changes before the local preflight passes; everything after it runs under the
deploy lock, and any failure leaves the previous release serving.
"""

import os
import tempfile
import time
from datetime import datetime

from deploy import envfile, images, lock, migrations, preparation, releases, replication
from deploy.backups import POSTGRES, SQLITE, backup_database, server_database
from deploy.commands import backup, compose, django_check
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.files import upload_private
from deploy.host import Host
from deploy.names import Names
from deploy.output import confirmed, say, step, tail
from deploy.postgres import ensure_postgres
from deploy.preflight import docker_ready, require_free_ports
from deploy.switch import ensure_nginx, switch, use_warm

BUILD_LOG_LINES = 20


def ship(host: Host, names: Names, release: str, sha: str, env: envfile.EnvFile, root: str) -> None:
    """The commit's files into releases/<name>; the env file into shared/ (mode 600), never a release."""
    with step(f"ship {sha[:7]} to {names.release(release)}"):
        host.run(commands.prepare_dirs(names))
        with tempfile.TemporaryDirectory() as tmp:
            tarball = os.path.join(tmp, "release.tar")
            releases.archive(sha, tarball, cwd=root)
            host.put(tarball, names.upload(release))
            host.run(commands.unpack(names, release, names.upload(release)))
        for text, target in ((env.render(), names.env_file), (env.render_for_nginx(), names.nginx_env),
                             (env.render_for_postgres(), names.postgres_env)):
            upload_private(host, text, target)


def build(host: Host, names: Names, release: str, kind: str) -> None:
    with step(f"build images {names.app_image(release)} and {names.nginx_image(release)} "
              "(the old containers keep serving)"):
        _stack_or_explain(host, names, release, kind, compose.BUILD, 3600, "build output",
                          "building the images failed (see the build output above); nothing was switched and the "
                          "previous release keeps serving: fix the build and deploy again")


def migrate(host: Host, names: Names, release: str, kind: str) -> None:
    """Django's deploy checks, then the migration, in one one-off container of the new image: an error in the checks
    refuses the release before anything is migrated or switched; its warnings are one line."""
    # `compose run` (not `docker run`): on a first deploy it creates the project's network and volumes,
    # and the app image is the first to mount them, so the data folders belong to the app's user
    with step("check --deploy, then migrate the database once, in a one-off container of the new image"):
        command = compose.stack(names, release, compose.one_off(names, django_check.then_migrate()), kind=kind)
        try:
            done = host.run(command, timeout=1800)
        except RemoteCommandFailed as error:
            tail("check and migrate output", error.output, BUILD_LOG_LINES)
            raise DeployError(migrate_failure(error.output)) from None
        line = django_check.passed(done.stdout)
        if line:
            say(line)


def migrate_failure(output: str) -> str:
    """The one line for a failed check-and-migrate container: the checks' errors, or the migration's failure."""
    refused = django_check.refusal(output)
    if refused:
        return (f"{refused} (output above); nothing was migrated or switched and the previous release keeps "
                "serving: fix it and deploy again")
    return ("migrations failed (output above); nothing was switched and the previous release keeps serving: "
            "fix the migration and deploy again")


def _stack_or_explain(host: Host, names: Names, release: str, kind: str, words: str, timeout: int, what: str,
                      message: str) -> None:
    """compose ``words`` in the release; on failure the end of its output, then ``message`` as the one line."""
    try:
        host.run(compose.stack(names, release, words, kind=kind), timeout=timeout)
    except RemoteCommandFailed as error:
        tail(what, error.output, BUILD_LOG_LINES)
        raise DeployError(message) from None


def prune(host: Host, names: Names, protect: set[str]) -> None:
    keep_releases = names.config.keep_releases
    with step(f"prune releases and images beyond the last {keep_releases}"):
        found = releases.parse_listing(host.probe(commands.listing(names)).stdout)
        tags = releases.parse_listing(host.probe(commands.image_tags(names)).stdout)
        keep = set(found[-keep_releases:]) | protect
        old = releases.to_prune(found, keep_releases, protect) + [t for t in tags if t not in found and t not in keep]
        for name in sorted(set(old)):
            host.run(commands.remove_release(names, name))
        say(f"    removed {len(set(old))} old release(s)")


def require_same_database(env: envfile.EnvFile, serving: str) -> None:
    """A deploy never moves a site between databases: an empty one would start serving (see fab db.to-postgres)."""
    wanted = SQLITE if env.database == envfile.SQLITE else POSTGRES
    if wanted == serving:
        return
    if serving == SQLITE:
        raise DeployError(f"the server's site runs on SQLite but {env.path} names PostgreSQL (DATABASE_URL): a "
                          "deploy would start it on an empty database; move the data with `fab db.to-postgres`")
    raise DeployError(f"the server's site runs on PostgreSQL but {env.path} has no DATABASE_URL: a deploy would "
                      "start it on the old SQLite file; put the server's DATABASE_URL and POSTGRES_* lines back "
                      "into it (`fab db.to-postgres` on this server writes them again)")


def current_release(host: Host, names: Names) -> str:
    return releases.parse_current(host.probe(commands.read_current(names)).stdout)


NOT_RESTORING = object()  # `fab deploy`; a datetime or None is `fab restore-from-target [--at]` on a fresh server


def deploy(host: Host, config: DeployConfig, dirty: bool = False, allow_unsafe_migrations: bool = False,
           from_target: datetime | None | object = NOT_RESTORING) -> None:
    """The whole pipeline; raises DeployError (one line) on any failure, after rolling back.

    With ``from_target`` (a time, or None for the latest), the database comes from the backup target first:
    `fab restore-from-target` on a server where nothing is deployed yet.
    """
    started = time.monotonic()
    with step("preflight: env file, git commit, docker on the server"):
        source = preparation.local_preflight(
            config, dirty, config.compose_file, setting="compose_file",
            check_env=lambda env: envfile.check_settings_module(env, config.app.settings))
        root, env, sha = source.root, source.env, source.sha
        copies = replication.settings(config, env)
        kind = docker_ready(host)
        names = Names.of(config, host.home)
        require_free_ports(host, names)
        previous = current_release(host, names)
        if previous:
            require_same_database(env, server_database(host, names))
            preparation.migration_gate(source, config.gate_settings, allow=allow_unsafe_migrations,
                                       applied=lambda: migrations.applied(host, names, previous))
        here = preparation.builder_here([host]) if config.build == "local" else None
        say(f"    {'working tree (--dirty) as ' if source.dirty else 'commit '}{sha[:7]}, "
            f"domain {env.domain}, compose {kind}, images built {'here' if here else 'on the server'}")
    release = source.release
    built = preparation.images_here(here, [host], names, source) if here else None
    with lock.held(host, names, lock.holder(sha)):
        result, switched = "failed", False
        try:
            say(f"    release {release}, previous {previous or 'none (first deploy)'}")
            try:
                ship(host, names, release, sha, env, root)
                if built:
                    images.ship([host], here, built)
                else:
                    build(host, names, release, kind)
                if env.database == envfile.BUNDLED:
                    ensure_postgres(host, names, release, kind)
                with step("back up the database"):
                    kept = backup_database(host, names, release, label=release,
                                           database=SQLITE if env.database == envfile.SQLITE else POSTGRES)
                if copies:
                    restoring = from_target is not NOT_RESTORING
                    files = replication.check_target(host, names, release, kind, copies,
                                                     fresh=not kept and not restoring)
                    if restoring:
                        replication.pick_time(from_target, files, copies.target)
                        replication.restore(host, names, release, kind, from_target, live=bool(kept))
                migrate(host, names, release, kind)
                with step("ensure nginx is up"):
                    nginx = ensure_nginx(host, names, release, kind, env.domain)
                switch(host, names, release, env.domain, nginx, keep_warm=config.keep_warm)
                switched = True
            finally:
                if not switched:  # nothing of the failed release stays behind; the previous one is untouched
                    _quietly(host, commands.remove_release(names, release))
            with step(f"record current -> {release}"):
                host.run(commands.link_current(names, release))
            if copies:  # the release serves: a failure here is said, and the copies start at the next deploy
                replication.start(host, names, release, kind, copies)
            else:
                replication.stop_without_target(host, names)
            result = "ok"
            prune(host, names, {release, previous} - {""})
        finally:
            preparation.audit(host, names, action="deploy", sha=sha, release=release, result=result, started=started)
    say(f"deployed {release} to {host.name} in {time.monotonic() - started:.1f}s")


def rollback(host: Host, config: DeployConfig, to: str | None = None) -> None:
    """Switch back to an earlier release: to its warm container when one runs, else with the switch."""
    started = time.monotonic()
    with step("preflight: docker on the server, releases"):
        kind = docker_ready(host)
        names = Names.of(config, host.home)
        found = releases.parse_listing(host.probe(commands.listing(names)).stdout)
        current = current_release(host, names)
        target = pick_target(found, current, to, host.dry_run)
        if not host.probe(commands.image_exists(names, target)).ok and not host.dry_run:
            raise DeployError(f"the image of release {target} is gone (pruned): deploy that commit again instead")
        hosts = host.probe(commands.env_value(names.env_file, "DJANGO_ALLOWED_HOSTS")).stdout.strip()
        domain = envfile.first_host(hosts) or ("example.com" if host.dry_run else "")
        if not domain:
            raise DeployError(f"{names.env_file} has no DJANGO_ALLOWED_HOSTS: run `fab deploy` once first")
        say(f"    {current or 'nothing'} -> {target}, domain {domain}")
    with lock.held(host, names, lock.holder(target.split("-")[-1], action="rollback")):
        result = "failed"
        try:
            with step("ensure nginx is up"):
                nginx = ensure_nginx(host, names, target, kind, domain)
            warmed = use_warm(host, names, target, domain, nginx)
            if not warmed:
                switch(host, names, target, domain, nginx)
            with step(f"record current -> {target}"):
                host.run(commands.link_current(names, target))
            result = "ok"
        finally:
            preparation.audit(host, names, action="rollback", sha=target.split("-")[-1], release=target,
                              result=result, started=started)
    how = "its warm container was used" if warmed else "a fresh container of its image"
    say(f"rolled back to {target} on {host.name} in {time.monotonic() - started:.1f}s ({how})")


def pick_target(found: list[str], current: str, to: str | None, dry_run: bool = False) -> str:
    if to:
        if to not in found:
            raise DeployError(f"no release {to!r} on the server: pick one from `fab releases`")
        if to == current:
            raise DeployError(f"{to} is already the current release: nothing to roll back")
        return to
    earlier = [n for n in found if n < current] if current else []
    if not earlier:
        if dry_run:
            return "PREVIOUS-RELEASE"
        raise DeployError("there is no release before the current one to roll back to (see `fab releases`)")
    return earlier[-1]


def _quietly(host: Host, command: str) -> None:
    """Clean-up on a failure path: never hide the original error behind a second one."""
    try:
        host.run(command, warn=True)
    except DeployError as error:
        say(f"  ! clean-up failed ({error})")


def restore_from_target(host: Host, config: DeployConfig, at: datetime | None, yes: bool = False) -> None:
    """`fab restore-from-target [--at]`: into the serving database, keeping a copy of it first; on a server
    where nothing is deployed yet, a deploy of HEAD whose database comes from the target."""
    if not config.backup.target:
        raise DeployError("fab restore-from-target restores from `backup: target:` in fabric.yaml, and none is set")
    when = f"its copy of {at.strftime('%Y-%m-%d %H:%M:%S')} UTC" if at else "its latest copy"
    if not yes and not confirmed(f"Replace the database on {host.name} with {when} from the backup target? [y/N] "):
        raise DeployError("restore cancelled: nothing was changed")
    names = Names.of(config, host.home)
    current = current_release(host, names)
    if not current:
        say("nothing is deployed here yet: deploying HEAD, with the database from the backup target")
        deploy(host, config, from_target=at)
        return
    _, env = preparation.local_env(config)  # the repository root's env file, as a deploy reads it
    copies = replication.settings(config, env)
    kind = docker_ready(host)
    replication.require_sqlite(host, names)
    with lock.held(host, names, lock.holder(current.split("-")[-1], action="restore")):
        files = replication.check_target(host, names, current, kind, copies, fresh=False)
        replication.pick_time(at, files, copies.target)
        with step("keep a backup of the database being replaced"):
            backup_database(host, names, current, label="before-restore", database=SQLITE)
        replication.restore(host, names, current, kind, at, live=True)
        with step("migrate the restored database to the current release"):
            host.run(backup.migrate(names, current), timeout=1800)
        replication.start(host, names, current, kind, copies)
