"""Pure builders of every remote shell command: strings in, strings out, no I/O.

One module per subject. Every value that comes from a user or a path is quoted with ``shlex.quote``;
the steps only run what these return (through ``deploy.host.Host``).
"""

