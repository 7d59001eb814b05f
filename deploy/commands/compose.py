"""Compose, v1 (`docker-compose`) or v2 (`docker compose`): detection, the command line, the build environment.

The one home of compose for the deploy engine, `inv`, the benchmarks and the tests.
"""

from __future__ import annotations

from shlex import quote

from deploy.names import Names, environment  # noqa: F401 - environment: what production.yml reads, named there

V2 = "docker compose"
V1 = "docker-compose"

# Debian 12's Docker 20.10 has no BuildKit (docs/TESTING.md): our Dockerfiles build with the classic builder.
BUILD_ENV = {"DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}


def detect() -> str:
    """Print 'v2' when the compose plugin answers, 'v1' for docker-compose, nothing when neither does."""
    return (
        f"if {V2} version >/dev/null 2>&1; then echo v2; "
        f"elif {V1} version >/dev/null 2>&1; then echo v1; fi"
    )


def parse_kind(text: str) -> str:
    """'v2', 'v1' or '' (none) from the output of ``detect()``."""
    found = text.strip()
    return found if found in ("v1", "v2") else ""


def program(kind: str) -> str:
    """The compose program for a kind: 'v2' -> `docker compose`, anything else -> `docker-compose`."""
    return V2 if kind == "v2" else V1


def command(kind: str, files: list[str], *args: str, project: str | None = None) -> str:
    """`<compose> [-p PROJECT] -f FILE... ARGS...`; ``args`` are already shell words."""
    words = [program(kind)]
    if project:
        words.append(f"-p {quote(project)}")
    words += [f"-f {quote(f)}" for f in files]
    return " ".join([*words, *args])


def version(kind: str) -> str:
    return f"{program(kind)} version --short"


def assignments(env: dict[str, str]) -> str:
    """``KEY=value`` words for a shell command line, each value quoted."""
    return " ".join(f"{key}={quote(value)}" for key, value in env.items())


def stack(names: Names, release: str, *args: str, kind: str, env: dict[str, str] | None = None) -> str:
    """compose, run in the release folder, with the release's tag, the shared env file and nginx's ports
    (and ``env``: what one service of the stack reads besides)."""
    env = assignments({**names.compose_env(release), **(env or {})})
    compose = command(kind, [names.config.compose_file], *args, project=names.project)
    return f"cd {quote(names.release(release))} && {env} {compose}"


def one_off(names: Names, command: str) -> str:
    """Words of a one-off ``command`` in the app's service of the release's stack (the migration)."""
    return f"run --rm --no-deps -T {names.alias} {command}"


def profiles(*names: str) -> str:
    """`--profile NAME` words: they go before the command (``profiles("https") + " up ..."``)."""
    return " ".join(f"--profile {quote(name)}" for name in names)


# production.yml's profiles: a plain `up` starts APP_SERVICES, what every site runs; the bundled PostgreSQL
# and the certbot renewal service only start in their profile. A command that names one of them enables its
# profile too: compose v2 may not find a service whose profile is off (docker-compose 1.29 enables it itself).
POSTGRES_PROFILE = "postgres"
HTTPS_PROFILE = "https"
LITESTREAM_PROFILE = "litestream"  # the off-site copies (docs/BACKUPS.md); its service has the same name
# for `down`: v2 leaves the services of profiles off
EVERY_PROFILE = profiles(POSTGRES_PROFILE, HTTPS_PROFILE, LITESTREAM_PROFILE)

# What the steps ask of the release's stack (words after `compose -p ... -f ...`)
BUILD = "build"
START_NGINX = "up -d --no-deps nginx"
# a second nginx container of the release's image beside the running one (kept as it is): both bind the host's
# ports with reuseport; the deploy stops the old one once the new one serves
START_NGINX_BESIDE = "up -d --no-deps --no-recreate --scale nginx=2 nginx"
START_CERTBOT = f"{profiles(HTTPS_PROFILE)} up -d --no-deps certbot"
START_POSTGRES = f"{profiles(POSTGRES_PROFILE)} up -d --no-deps postgres"
START_LITESTREAM = f"{profiles(LITESTREAM_PROFILE)} up -d --no-deps litestream"
REMOVE_POSTGRES = f"{profiles(POSTGRES_PROFILE)} rm -sf postgres"
APP_SERVICES = ("mysite", "nginx")  # what a plain `up` starts (production.yml's services in no profile)
