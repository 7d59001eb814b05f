"""Task options that hold a whole number, checked while invoke parses the command line.

invoke casts such an option with ``int(value)`` inside its parser, so ``--lines abc`` would be a
``ValueError`` traceback before any task body (and ``guarded``) runs. Tasks made with ``task()`` here
(or ``deploy.cli.task`` for Fabric) check the value instead, against its range: one line, exit 1.
"""

from typing import Any

from invoke import Task
from invoke import task as invoke_task
from invoke.exceptions import ParseError
from invoke.parser import Argument

from deploy import checks
from deploy.errors import DeployError

COUNT = (0, 1_000_000)  # how many lines, posts, ...: a whole number option without its own range
POSITIVE = (1, 1_000_000)
PORT = (1, 65535)


class NumberArgument(Argument):
    """An int option whose value is checked (digits, within ``limits``) instead of cast with int()."""

    def __init__(self, limits: tuple[int, int], **kwargs: Any):
        super().__init__(**kwargs)
        self.limits = limits

    def set_value(self, value: Any, cast: bool = True) -> None:
        if cast and isinstance(value, str):
            try:
                value = checks.number(value, f"--{self.names[0]}", *self.limits)
            except DeployError as error:
                raise ParseError(f"error: {error}") from None
        super().set_value(value, cast=False)


class CheckedOptions:
    """Mixin for a Task class: its int options become ``NumberArgument``s; ``limits`` gives their ranges."""

    def __init__(self, *args: Any, limits: dict[str, tuple[int, int]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.limits = dict(limits or {})

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        helps = dict(self.help)  # type: ignore[attr-defined]
        try:
            arguments = super().get_arguments(ignore_unknown_help)  # type: ignore[misc]
        finally:
            self.help = helps  # invoke pops each help text it uses: a second parse would show none
        return [self._checked(argument) if argument.kind is int else argument for argument in arguments]

    def _checked(self, argument: Argument) -> NumberArgument:
        return NumberArgument(
            self.limits.get(argument.name, COUNT), names=argument.names, kind=int, default=argument.default,
            help=argument.help, positional=argument.positional, optional=argument.optional,
            incrementable=argument.incrementable, attr_name=argument.attr_name)


class CheckedTask(CheckedOptions, Task):
    """An invoke Task with checked whole-number options."""


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke's ``@task``, making a ``CheckedTask`` (accepts ``limits={"port": PORT}``)."""
    kwargs.setdefault("klass", CheckedTask)
    return invoke_task(*args, **kwargs)
