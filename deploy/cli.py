"""What every task shares at its edge: a DeployError or Ctrl-C becomes one line and a non-zero exit."""

import functools
from collections.abc import Callable
from typing import Any

from invoke.exceptions import Exit

from deploy.errors import DeployError


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
