"""Step-by-step output: every long piece of work says what it does and how long it took."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from deploy.errors import DeployError


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Print ``title``, run the block, then print how long it took and whether it worked."""
    say(f"--> {title}")
    started = time.monotonic()
    try:
        yield
    except (DeployError, KeyboardInterrupt):
        say(f"  x {title} failed after {time.monotonic() - started:.1f}s")
        raise
    say(f"  ok {title} ({time.monotonic() - started:.1f}s)")


def tail(what: str, output: str, lines: int) -> None:
    """Show the last ``lines`` non-blank lines of a failed command's ``output``."""
    kept = [line for line in output.rstrip().splitlines() if line.strip()][-lines:]
    if kept:
        say(f"    last lines of the {what}:")
        for line in kept:
            say(f"    | {line}")


def confirmed(question: str) -> bool:
    try:
        return input(question).strip().lower() == "y"
    except EOFError:  # Ctrl-D, or stdin closed: no answer is a no
        return False
