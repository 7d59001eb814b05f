"""Docker on the server: the app containers of releases, nginx's container, images, volumes, one-offs.

Names come from ``deploy.names.Names``; docs/ARCHITECTURE.md ("App containers on a server") is the contract.
"""

from shlex import quote

from deploy.names import DATABASE_VOLUMES, SOCKETS, Names, app_service, label
from deploy.scripts import source

NAMES = "--format '{{.Names}} {{.Status}}'"
TABLE = "--format 'table {{.Names}}\\t{{.Status}}\\t{{.Image}}'"


def run_app(names: Names, release: str, restart: str = "unless-stopped") -> str:
    name, extra = names.container(release), quote(names.https_env)
    return " ".join([
        "docker run -d", f"--name {name}", f"--network {names.network}", f"--network-alias {name}",
        # the second env file exists once `fab https` ran; an empty /dev/null otherwise
        f"--env-file {quote(names.env_file)}", f'--env-file "$(test -f {extra} && echo {extra} || echo /dev/null)"',
        "-e MYSITE_MIGRATE_ON_START=0", f"-e MYSITE_SOCKET_DIR={SOCKETS}", *variables(names.container_env),
        f"--restart {restart}", *names.mounts(),
        f"--label {names.label('project')}={names.project}", f"--label {names.label('release')}={release}",
        names.app_image(release),
    ])


def app_containers(project: str) -> str:
    """Every app container of the project, ours and any left by a plain `compose up`: 'name status'."""
    return (f"docker ps -a --filter label={label(project, 'project')}={project} {NAMES}; "
            f"docker ps -a --filter label=com.docker.compose.project={project} "
            f"--filter label=com.docker.compose.service={app_service(project)} {NAMES}")


def parse_containers(text: str) -> dict[str, bool]:
    """name -> running, from ``app_containers`` output."""
    found = {}
    for line in text.splitlines():
        name, _, status = line.strip().partition(" ")
        if name:
            found[name] = status.startswith("Up")
    return found


def containers_table(project: str) -> str:
    """`fab status`: the app containers (ours) and compose's (nginx, certbot), one table."""
    return (f"docker ps -a --filter label={label(project, 'project')}={project} {TABLE}; "
            f"docker ps -a --filter label=com.docker.compose.project={project} {TABLE} | tail -n +2")


def service_container(project: str, service: str) -> str:
    """The running container of one of compose's services (nginx, postgres), by name."""
    return (f"docker ps --filter label=com.docker.compose.project={project} "
            f"--filter label=com.docker.compose.service={service} --filter status=running --format '{{{{.Names}}}}'")


def nginx_container(project: str) -> str:
    return service_container(project, "nginx")


def nginx_containers_any_state(project: str) -> str:
    """Every nginx container of the project, running or not (one compose created but could not start)."""
    return (f"docker ps -a --filter label=com.docker.compose.project={project} "
            f"--filter label=com.docker.compose.service=nginx --format '{{{{.Names}}}}'")


def network_mode(name: str) -> str:
    """Prints the container's network mode: 'host' for an nginx that binds the host's ports itself."""
    return f"docker inspect -f '{{{{.HostConfig.NetworkMode}}}}' {name}"


def is_healthy(name: str) -> str:
    """Exits 0 when the container's own health check says healthy."""
    return f"[ \"$(docker inspect -f '{{{{.State.Health.Status}}}}' {name} 2>/dev/null)\" = healthy ]"


def image_ids(name: str, image: str) -> str:
    return f"docker inspect -f '{{{{.Image}}}}' {name} && docker image inspect -f '{{{{.Id}}}}' {image}"


def route(names: Names, name: str) -> str:
    # an alias can only be added on connect; the new container has had no traffic, so this is safe
    network = names.network
    return (f"docker network disconnect {network} {name} && "
            f"docker network connect --alias {names.alias} --alias {name} {network} {name}")


def serve(name: str) -> str:
    """Point nginx's link at ``name``'s own socket in one rename (deploy/scripts/serve_socket.py); exit 3: no socket."""
    return f"docker exec {name} {python(source('serve_socket'), SOCKETS)}"


def stop(names: list[str], seconds: int) -> str:
    # docker stop = SIGTERM: gunicorn finishes in-flight requests; nginx retries new ones elsewhere
    joined = " ".join(names)
    return f"docker stop -t {seconds} {joined} && docker rm {joined}"


def discard(name: str) -> str:
    """Stop (gracefully: it may carry the alias) and remove a container; never fails."""
    return f"docker stop -t 10 {name} >/dev/null 2>&1; docker rm -f {name} >/dev/null 2>&1 || true"


def remove(name: str) -> str:
    return f"docker rm {name}"


def start(names: list[str]) -> str:
    return f"docker start {' '.join(names)}"


def rename(old: str, new: str) -> str:
    return f"docker rename {old} {new}"


def logs_tail(name: str, lines: int) -> str:
    return f"docker logs --tail {lines} {name} 2>&1"


def logs(name: str, lines: int, follow: bool = False) -> str:
    return f"docker logs --tail {int(lines)}{' -f' if follow else ''} {name}"


def manage(name: str, args: list[str], tty: bool = False) -> str:
    """manage.py in a running app container, each argument quoted."""
    return f"docker exec{' -it' if tty else ''} {name} python manage.py {' '.join(quote(a) for a in args)}"


def volume_exists(volume: str) -> str:
    return f"docker volume inspect {volume} >/dev/null 2>&1"


def one_off(names: Names, release: str, command: str, *, env_file: str | None = None, network: bool = False,
            stdin: bool = False, volumes: tuple[tuple[str, str], ...] = DATABASE_VOLUMES) -> str:
    """``docker run --rm`` of the release's app image with the database (and media) volumes."""
    parts = ["docker run --rm"]
    if stdin:
        parts.append("-i")
    parts.append(f"--network {names.network}" if network else "--network none")
    if env_file:
        parts.append(f"--env-file {quote(env_file)}")
    # the settings module only: a one-off serves nothing
    settings = {"DJANGO_SETTINGS_MODULE": names.container_env["DJANGO_SETTINGS_MODULE"]}
    parts += [*variables(settings), *names.mounts(volumes), names.app_image(release), command]
    return " ".join(parts)


def variables(env: dict[str, str]) -> list[str]:
    """``-e NAME=value`` words: docker lets them win over the same name in an --env-file (fabric.yaml decides)."""
    return [f"-e {quote(f'{key}={value}')}" for key, value in env.items()]


def python(script: str, *args: str, interpreter: str = "python") -> str:
    """``python -c <script> ARGS``: a program of ``deploy/scripts`` run where python is; nothing is uploaded."""
    return " ".join([interpreter, "-c", quote(script), *(quote(a) for a in args)])


def server_version() -> str:
    return "docker info --format '{{.ServerVersion}}'"


def installed() -> str:
    return "docker --version"


def usable() -> str:
    """Exits 0 when this user can talk to the engine (the docker group works)."""
    return "docker ps"
