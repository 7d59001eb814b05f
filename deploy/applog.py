"""What an app container's log says went wrong: the exception its last Python traceback ended with."""

import re

TRACEBACK = "Traceback (most recent call last):"
# gunicorn's own, after a worker failed to boot: its master halts and says so in a traceback of its own
SERVER_OWN = ("gunicorn.errors.HaltServer",)
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")


def raised(log: str) -> str:
    """The exception line (``RuntimeError: ...``) that ends the last traceback in ``log`` that is not the
    server's own; '' when there is none."""
    found, inside = "", False
    for line in log.splitlines():
        if line.startswith(TRACEBACK):
            inside = True
        elif inside and line and not line[0].isspace():
            inside = False
            if EXCEPTION_LINE.match(line) and not line.startswith(SERVER_OWN):
                found = line.strip()
    return found
