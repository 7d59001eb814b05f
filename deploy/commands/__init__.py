"""Pure builders of every remote shell command: strings in, strings out, no I/O.

One module per subject. Every value that comes from a user or a path is quoted with ``shlex.quote``;
the steps only run what these return (through ``deploy.host.Host``).
"""

# Transitional re-exports while the steps move to the subject modules.
from deploy.commands.shell import compose, detect_compose, home, read_lock, release_lock, sudo, take_lock  # noqa: E402,F401
