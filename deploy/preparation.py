"""What every release does around its own orchestration, written once: `fab deploy` (one server),
`fab swarm.deploy` (the cluster) and `fab db.to-postgres` (the database move) call it.

- ``local_preflight``: here, before anything connects: the env file, the commit to ship, its stack file.
- ``builder_here`` / ``images_here``: images built on this machine, checked against every host that takes them.
- ``migration_gate``: a release whose migrations break the one still serving is refused (docs/DATABASES.md).
- ``audit``: the line each run leaves in the server's audit log, whatever happened.
"""

import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from deploy import envfile, images, lock, migrations, releases
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.local import Local
from deploy.names import Names
from deploy.output import say, step


@dataclass(frozen=True)
class Source:
    """What a release ships, settled here: the project folder, its env file, the commit and the release's name."""

    root: str
    env: envfile.EnvFile
    sha: str
    dirty: bool  # the commit is a snapshot of the working tree (--dirty), not HEAD
    release: str


def local_env(config: DeployConfig) -> tuple[str, envfile.EnvFile]:
    """The project folder (the git repository's root) and its production env file, read and checked."""
    root = str(releases.repo_root())
    return root, envfile.load(os.path.join(root, config.env_file))


def local_preflight(config: DeployConfig, dirty: bool, stack_file: str, *, setting: str = "",
                    check_env: Callable[[envfile.EnvFile], None] | None = None) -> Source:
    """The env file (``check_env`` adds the caller's own rules, before git is asked), the commit and its stack file.

    ``setting``: the fabric.yaml key that names ``stack_file``, when one does (the message then says how to set it).
    """
    root, env = local_env(config)
    if check_env:
        check_env(env)
    sha, is_dirty = releases.source(dirty, cwd=root)
    if not releases.has_file(sha, stack_file, cwd=root):
        if setting:
            raise DeployError(f"{setting} {stack_file} is not in commit {sha[:7]}: commit it, or set {setting} in "
                              "fabric.yaml to the project's stack file (production.yml)")
        raise DeployError(f"{stack_file} is not in commit {sha[:7]}: commit it")
    return Source(root, env, sha, is_dirty, releases.name(sha))


def builder_here(hosts: list[Host]) -> Local:
    """This machine as the builder: its Docker engine answers, builds for every host's architecture, and every
    host's sshd can open the tunnel the images travel through."""
    here = Local(dry_run=hosts[0].dry_run)
    arch = images.local_architecture(here)
    for host in hosts:
        images.check_architecture(host, arch)
        images.check_tunnel(host)
    return here


def images_here(here: Local, hosts: list[Host], names: Names, source: Source) -> images.Built:
    """Both images of the release built here from the commit, then room for their layers checked on every host."""
    built = images.build_here(here, names, source.root, source.sha, source.release)
    for host in hosts:
        with step(f"check that {host.name} has room for the new layers"):
            images.check_disk(host, built)
    return built


NOT_CHECKED = "    migrations: not checked (--allow-unsafe-migrations)"


def migration_gate(source: Source, settings: str, *, allow: bool, applied: Callable[[], str | None],
                   title: str = "") -> None:
    """Refuse the release when a migration of it breaks the release still serving, unless ``allow``.

    ``applied``: reads what the serving release has applied (`showmigrations --plan`), None when it cannot say
    (it said why); ``settings``: the module the judge loads here; ``title``: a step around the judging.
    """
    if allow:
        say(NOT_CHECKED)
        return
    plan = applied()
    if plan is None:
        return
    with step(title) if title else nullcontext():
        migrations.judge(plan, source.root, source.sha, settings)


def audit(host: Host, names: Names, *, action: str, sha: str, release: str, result: str, started: float) -> None:
    """One line in the server's audit log (who, what, the outcome, how long since ``started``, a monotonic time).

    Written from a ``finally``: a failure to write it is said and never raised, so it cannot hide the error that
    ended the run.
    """
    line = releases.audit_line(who=lock.who(), action=action, sha=sha, release=release, result=result,
                               seconds=time.monotonic() - started)
    try:
        host.run(commands.append_audit(names, line), warn=True)
    except DeployError as error:
        say(f"  ! could not write the audit line ({error})")
