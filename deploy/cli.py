"""What every task shares at its edge: a DeployError or Ctrl-C becomes one line and a non-zero exit."""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fabric import Config
from fabric.executor import Executor as FabricExecutor
from fabric.tasks import Task as FabricTask
from fabric.tasks import task as fabric_task
from invoke.exceptions import Exit
from invoke.util import yaml  # the YAML that Fabric's config loader uses

from deploy import checks
from deploy.arguments import CheckedOptions
from deploy.errors import DeployError


class Task(CheckedOptions, FabricTask):
    """A Fabric Task whose whole-number options are checked while the command line is parsed."""


def task(*args: Any, **kwargs: Any) -> Any:
    """Fabric's ``@task``, making a checked ``Task`` (accepts ``limits={"lines": (1, 10_000)}``)."""
    kwargs.setdefault("klass", Task)
    return fabric_task(*args, **kwargs)


def guarded(task_body: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task body so that users see ``error: <one line>`` and never a traceback for their mistakes."""

    @functools.wraps(task_body)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return task_body(*args, **kwargs)
        except DeployError as error:
            raise Exit(f"error: {error}", code=error.exit_code) from None
        except KeyboardInterrupt:
            raise Exit("error: interrupted; the server was left as the last finished step says", code=130) from None

    return wrapper


def target(c: Any, *, accept_new_host_key: bool = False, dry_run: bool = False, **config_flags: Any):
    """Validate the configuration first, then wrap the task's connection: returns ``(host, config)``."""
    from deploy import config as configuration  # imported here so `fab --list` stays fast
    from deploy import host as hosts
    from deploy.output import step

    config = configuration.from_context(c, **config_flags)
    host = hosts.connect(c, accept_new_host_key=accept_new_host_key, dry_run=dry_run, known_hosts=config.known_hosts)
    with step(f"connect to {host.name} (host key checked against {config.known_hosts})"):
        host.open()
    return host, config


def targets(c: Any, nodes: str | None = None, *, accept_new_host_key: bool = False, dry_run: bool = False,
            check: Callable[[Any], Any] | None = None, connect: bool = True, **config_flags: Any):
    """The cluster's nodes (``--nodes``, else ``swarm: nodes:`` in fabric.yaml), each connected with its host
    key checked (``connect=False``: not yet, `deploy.swarm_cluster.answering` does it); returns ``(hosts, config)``,
    the manager first. ``check(config)``: the task's own checks of options that name nodes, made before any
    connection."""
    from fabric import Connection

    from deploy import config as configuration
    from deploy import host as hosts
    from deploy.errors import DeployError
    from deploy.output import step

    if isinstance(c, Connection):  # Fabric would run the task once per -H host
        raise DeployError("a swarm task takes its nodes from --nodes (or `swarm: nodes:` in fabric.yaml), not -H: "
                          "drop -H")
    config = configuration.from_context(c, swarm={"nodes": nodes} if nodes is not None else None, **config_flags)
    if not config.swarm.nodes:
        raise DeployError("no nodes given: pass --nodes deploy@a,deploy@b,... or list them under `swarm: nodes:` in "
                          "fabric.yaml's deploy section")
    if check is not None:
        check(config)
    settings = {"config": c.config} if hasattr(c, "config") else {}
    found = [hosts.connect(Connection(**checks.host(node, "--nodes").connection(), **settings),
                           accept_new_host_key=accept_new_host_key, dry_run=dry_run, known_hosts=config.known_hosts)
             for node in config.swarm.nodes]
    if connect:
        with step(f"connect to {len(found)} node(s) (host keys checked against {config.known_hosts})"):
            for host in found:
                host.open()
    return found, config


class Executor(FabricExecutor):
    """Fabric's executor, checking every -H host before it becomes a Connection (fabric.yaml names it).

    Fabric reads ``user@host:port`` only when it creates the Connection, before a task body runs, so
    ``guarded`` never sees a malformed one: it would be a traceback (``int('abc')``, a None host).
    """

    def normalize_hosts(self, hosts: Any) -> list[dict[str, Any]]:
        checked = []
        for value in hosts or []:
            if isinstance(value, str):
                try:
                    address = checks.host(value)
                except DeployError as error:
                    raise Exit(f"error: {error}", code=1) from None
                if "[" in value:  # an IPv6 address with a port, which Fabric's host strings cannot say
                    value = address.connection()
            checked.append(value)
        return super().normalize_hosts(checked)


def check_settings(path: Path) -> None:
    """Refuse, in one line, a ``fabric.yaml`` that Fabric could not load (it would stop with a traceback).

    Fabric reads the project's fabric.yaml after importing fabfile.py, so the fabfile's
    ``deploy.fab.collection`` calls this first;
    invoke's Program turns the ``Exit`` raised here (while it loads the tasks) into the line and exit 1.
    """
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (UnicodeDecodeError, yaml.reader.ReaderError):
        raise Exit(f"error: {path.name} is not UTF-8 text (a binary file?): put the project's back with "
                   f"`git checkout -- {path.name}`, then redo your changes", code=1) from None
    except OSError as error:
        raise Exit(f"error: cannot read {path}: {error.strerror}", code=1) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "unreadable"
        raise Exit(f"error: {path.name} is not valid YAML ({problem}{where}): fix it there", code=1) from None
    if settings is None:
        return
    if not isinstance(settings, dict):
        raise Exit(f"error: {path.name} holds a {type(settings).__name__}, not settings: write key: value lines "
                   "(see the project's fabric.yaml)", code=1)
    defaults = Config.global_defaults()
    for key, value in settings.items():
        if isinstance(defaults.get(key), dict) and not isinstance(value, dict):
            raise Exit(f"error: {path.name}: {key} must be a section of key: value lines, not {value!r}", code=1)
