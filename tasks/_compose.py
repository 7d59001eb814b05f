"""What the `inv` tasks run, as strings: the one home of compose v1/v2 detection and the builders.

Pure except `compose_command` and `engine_available`, which ask the machine through the Context.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import string
from pathlib import Path

from invoke.exceptions import Exit

LOCAL_FILE = "local.yml"
PRODUCTION_FILE = "production.yml"
PRODUCTION_PROJECT = "mysite"
PRODUCTION_ENV = ".envs/.production"
PRODUCTION_EXAMPLE = ".envs/.production.example"
APP_SERVICE = "mysite"

# Debian 12's Docker 20.10 has no BuildKit (TESTBED.md); our Dockerfiles use the classic builder only.
BUILD_ENV = {"DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}

V2 = "docker compose"
V1 = "docker-compose"


class TaskError(Exit):
    """A user's mistake or a missing precondition: invoke prints the one line and exits 1, no traceback."""

    def __init__(self, message: str):
        super().__init__(message, code=1)


def compose_command(c) -> str:
    """`docker compose` when the v2 plugin answers, else `docker-compose` (v1, Debian 12)."""
    if c.run(f"{V2} version", hide=True, warn=True, in_stream=False).ok:
        return V2
    return V1


def engine_available(c) -> bool:
    """True when a Docker engine answers `docker info`."""
    return c.run("docker info", hide=True, warn=True, in_stream=False).ok


def compose(base: str, file: str, *args: str, project: str | None = None) -> str:
    """`docker compose -f FILE [-p PROJECT] ARGS...`; `args` are already shell words."""
    words = [base, "-f", shlex.quote(file)]
    if project:
        words += ["-p", shlex.quote(project)]
    return " ".join([*words, *args])


def manage(*args: str) -> str:
    """`python manage.py ARGS` with each argument quoted."""
    return " ".join(["python", "manage.py", *(shlex.quote(a) for a in args)])


def production_env(port: int, https_port: int, addr: str, env_file: str = PRODUCTION_ENV) -> dict[str, str]:
    """The variables production.yml reads for a stack on this machine."""
    return {
        "MYSITE_HTTP_ADDR": addr,
        "MYSITE_HTTP_PORT": str(port),
        "MYSITE_HTTPS_PORT": str(https_port),
        "MYSITE_ENV_FILE": env_file,
    }


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


def remainder(argv: list[str]) -> list[str]:
    """What follows `--` on the command line (invoke parses it but does not hand it to tasks)."""
    return argv[argv.index("--") + 1 :] if "--" in argv else []


# Host names: labels of letters, digits and hyphens; a leading dot means "and subdomains" to Django.
_HOST = re.compile(r"^\.?(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")


def check_domain(domain: str) -> str:
    """Return the domain list unchanged when every comma-separated entry is a host name."""
    hosts = [h.strip() for h in domain.split(",")]
    if not domain.strip() or not all(_HOST.match(h) for h in hosts):
        raise TaskError(f"--domain {domain!r} is not a host name (e.g. example.com or example.com,www.example.com)")
    return ",".join(hosts)


_KEY_CHARS = string.ascii_letters + string.digits + "!@%^&*(-_=+)"


def new_secret_key(length: int = 64) -> str:
    """A fresh random key. No `$`, `#`, quotes or spaces: safe in docker's env_file."""
    return "".join(secrets.choice(_KEY_CHARS) for _ in range(length))


def render_production_env(example: str, domain: str, key: str) -> str:
    """The example file with its key and hosts lines replaced; everything else kept as documentation."""
    out, seen = [], set()
    for line in example.splitlines():
        name = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else ""
        if name == "DJANGO_SECRET_KEY":
            line = f"DJANGO_SECRET_KEY={key}"
        elif name == "DJANGO_ALLOWED_HOSTS":
            line = f"DJANGO_ALLOWED_HOSTS={domain}"
        seen.add(name)
        out.append(line)
    for name, value in (("DJANGO_SECRET_KEY", key), ("DJANGO_ALLOWED_HOSTS", domain)):
        if name not in seen:
            out.append(f"{name}={value}")
    return "\n".join(out) + "\n"


def write_secret_file(path: Path, text: str) -> None:
    """Create `path` with mode 600; O_EXCL makes "never overwrite" atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise TaskError(f"{path} already exists: not overwriting it (delete it first to start over)") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
