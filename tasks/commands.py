"""What the `inv` tasks run, as strings: pure builders, no I/O.

Compose command lines come from `deploy.commands.compose`; the env file a task creates, from
`deploy.envfile`.
"""

from __future__ import annotations

import shlex

LOCAL_FILE = "local.yml"
PRODUCTION_FILE = "production.yml"
PRODUCTION_PROJECT = "mysite"
PRODUCTION_ENV = ".envs/.production"
PRODUCTION_EXAMPLE = ".envs/.production.example"
APP_SERVICE = "mysite"


def manage(*args: str) -> str:
    """`python manage.py ARGS` with each argument quoted."""
    return " ".join(["python", "manage.py", *(shlex.quote(a) for a in args)])


def native_dev_server(python: str, addr: str = "127.0.0.1:8000", posts: int = 12) -> list[str]:
    """The dev server without Docker: the same steps as compose/local/start.sh, plus demo posts."""
    py = shlex.quote(python)
    return [
        f"{py} manage.py migrate --noinput",
        f"{py} manage.py seed_demo --posts {int(posts)}",
        f"{py} manage.py runserver {shlex.quote(addr)}",
    ]


def pytest_command(python: str, fast: bool = False, extra: list[str] | tuple[str, ...] = ()) -> str:
    words = [shlex.quote(python), "-m", "pytest"]
    if fast:
        words += ["-m", shlex.quote("not e2e")]
    words += [shlex.quote(a) for a in extra]
    return " ".join(words)


def ruff_command(python: str, fix: bool = False) -> str:
    return f"{shlex.quote(python)} -m ruff check {'--fix ' if fix else ''}."


def postgres_url_command(python: str) -> str:
    """Prints the DATABASE_URL of the tests' PostgreSQL (testbed/postgres.py: as root it installs and starts it)."""
    return f"{shlex.quote(python)} -m testbed.postgres"


def bench_command(python: str, quick: bool = False, **sections: bool) -> str:
    """`python -m bench.run`: bench/ is the repository's own, found from its root (not part of the toolkit)."""
    words = [shlex.quote(python), "-m", "bench.run", *(["--quick"] if quick else [])]
    words += [f"--no-{name}" for name, wanted in sections.items() if not wanted]
    return " ".join(words)


def redact_url(url: str) -> str:
    """A DATABASE_URL fit to print: its password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{location}"


def remainder(argv: list[str]) -> list[str]:
    """What follows `--` on the command line (invoke parses it but does not hand it to tasks)."""
    return argv[argv.index("--") + 1 :] if "--" in argv else []
