"""What every task shares at its edge: a DeployError or Ctrl-C becomes one line and a non-zero exit."""

import functools
from collections.abc import Callable
from typing import Any

from fabric.executor import Executor as FabricExecutor
from fabric.tasks import Task as FabricTask
from fabric.tasks import task as fabric_task
from invoke.exceptions import Exit

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


class Executor(FabricExecutor):
    """Fabric's executor, checking every -H host before it becomes a Connection (fabric.yaml names it).

    Fabric reads ``user@host:port`` only when it creates the Connection, before a task body runs, so
    ``guarded`` never sees a malformed one: it would be a traceback (``int('abc')``, a None host).
    """

    def normalize_hosts(self, hosts: Any) -> list[dict[str, Any]]:
        for value in hosts or []:
            if isinstance(value, str):
                try:
                    checks.host(value)
                except DeployError as error:
                    raise Exit(f"error: {error}", code=1) from None
        return super().normalize_hosts(hosts)
