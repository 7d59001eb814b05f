"""The zero-downtime switch (docs/ARCHITECTURE.md, "Zero-downtime routing").

The new app container starts beside the old one under a private alias, is health-checked directly,
then joins the shared alias ``mysite`` that nginx resolves on every request; the old one is stopped
gracefully afterwards. nginx is never reloaded, and recreated only when its image changed.
"""

from shlex import quote

from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.output import say, step
from deploy.releases import Paths, app_image, nginx_image
from deploy.remote import Remote

ALIAS = "mysite"  # the name nginx proxies to (compose/production/nginx/mysite.conf.template)
LOG_LINES = 30

# GET /healthz (must be 200) and / (2xx/3xx) with the site's Host, following no redirect:
# a view that raises must keep the container away from traffic, not only a broken /healthz.
PROBE = """\
import sys, urllib.error as e, urllib.request as u
class N(u.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
o = u.build_opener(N)
def get(path):
    try: return o.open(u.Request(sys.argv[1] + path, headers={"Host": sys.argv[2]}), timeout=5).status
    except e.HTTPError as x: return x.code
    except Exception as x: return repr(x)
h, r = get("/healthz"), get("/")
print("/healthz:", h, "/:", r)
sys.exit(0 if h == 200 and isinstance(r, int) and 200 <= r < 400 else 1)
"""


def network(project: str) -> str:
    return f"{project}_default"


def volume(project: str, name: str) -> str:
    return f"{project}_{name}"


def container(project: str, release: str) -> str:
    return f"{project}-{release}"


def stack(config: DeployConfig, paths: Paths, release: str, *args: str, v2: bool) -> str:
    """compose, run in the release folder, with the release's tag and the shared env file."""
    base = "docker compose" if v2 else "docker-compose"
    env = (f"MYSITE_TAG={quote(release)} MYSITE_ENV_FILE={quote(paths.env_file)} "
           f"MYSITE_HTTP_ADDR={quote(config.http_addr)} MYSITE_HTTP_PORT={config.http_port} "
           f"MYSITE_HTTPS_PORT={config.https_port}")
    return (f"cd {quote(paths.release(release))} && {env} {base} -p {quote(config.project)} "
            f"-f {quote(config.compose_file)} {' '.join(args)}")


def https_env_file(env_file: str) -> str:
    """`fab https` writes DJANGO_HTTPS=true here, beside the env file, so the user's file stays as it is."""
    return f"{env_file.rsplit('/', 1)[0]}/.https" if "/" in env_file else ".https"


def run_app(project: str, release: str, env_file: str) -> str:
    name = container(project, release)
    extra = quote(https_env_file(env_file))
    return " ".join([
        "docker run -d", f"--name {name}", f"--network {network(project)}", f"--network-alias {name}",
        # the second env file exists once `fab https` ran; an empty /dev/null otherwise
        f"--env-file {quote(env_file)}", f'--env-file "$(test -f {extra} && echo {extra} || echo /dev/null)"',
        "-e MYSITE_MIGRATE_ON_START=0", "--restart unless-stopped",
        f"-v {volume(project, 'database')}:/app/database", f"-v {volume(project, 'static')}:/app/staticfiles",
        f"-v {volume(project, 'media')}:/app/media",
        f"--label mysite.project={project}", f"--label mysite.release={release}", app_image(release),
    ])


def app_containers(project: str) -> str:
    """Every app container of the project, ours and any left by a plain `compose up`: 'name status'."""
    fmt = "--format '{{.Names}} {{.Status}}'"
    return (f"docker ps -a --filter label=mysite.project={project} {fmt}; "
            f"docker ps -a --filter label=com.docker.compose.project={project} "
            f"--filter label=com.docker.compose.service={ALIAS} {fmt}")


def parse_containers(text: str) -> dict[str, bool]:
    """name -> running, from ``app_containers`` output."""
    found = {}
    for line in text.splitlines():
        name, _, status = line.strip().partition(" ")
        if name:
            found[name] = status.startswith("Up")
    return found


def wait_until(check: str, seconds: int, watch: str | None = None) -> str:
    """Repeat ``check`` every second until it passes; give up after ``seconds`` or when ``watch`` stops."""
    alive = ""
    if watch:
        # a crash loop under --restart shows "running" most of the time: any restart counts as a crash
        alive = (f"if [ \"$(docker inspect -f '{{{{.State.Status}}}} {{{{.RestartCount}}}}' {watch} 2>/dev/null)\" "
                 f"!= 'running 0' ]; then echo '{watch} is not running (crashed or restarting)'; exit 2; fi; ")
    return (f"end=$(($(date +%s)+{seconds})); until {check}; do {alive}"
            f"if [ \"$(date +%s)\" -ge \"$end\" ]; then exit 1; fi; sleep 1; done")


def direct_check(name: str, domain: str, seconds: int) -> str:
    check = f"docker exec {name} python -c {quote(PROBE)} http://127.0.0.1:8000 {quote(domain)}"
    return wait_until(check, seconds, watch=name)


def nginx_check(nginx: str, domain: str, seconds: int) -> str:
    return wait_until(f"docker exec {nginx} python3 -c {quote(PROBE)} http://127.0.0.1:80 {quote(domain)}",
                      seconds)


def route(project: str, name: str) -> str:
    # an alias can only be added on connect; the new container has had no traffic, so this is safe
    net = network(project)
    return (f"docker network disconnect {net} {name} && "
            f"docker network connect --alias {ALIAS} --alias {name} {net} {name}")


def stop(names: list[str], seconds: int) -> str:
    # docker stop = SIGTERM: gunicorn finishes in-flight requests; nginx retries new ones elsewhere
    joined = " ".join(names)
    return f"docker stop -t {seconds} {joined} && docker rm {joined}"


def logs_tail(name: str, lines: int = LOG_LINES) -> str:
    return f"docker logs --tail {lines} {name} 2>&1"


def nginx_container(project: str) -> str:
    return (f"docker ps --filter label=com.docker.compose.project={project} "
            f"--filter label=com.docker.compose.service=nginx --filter status=running --format '{{{{.Names}}}}'")


def image_ids(name: str, image: str) -> str:
    return f"docker inspect -f '{{{{.Image}}}}' {name} && docker image inspect -f '{{{{.Id}}}}' {image}"


def ensure_nginx(remote: Remote, config: DeployConfig, paths: Paths, release: str, v2: bool) -> str:
    """nginx running the release's nginx image; recreated only when that image differs. Returns its name."""
    name = remote.probe(nginx_container(config.project)).stdout.strip().split("\n")[0]
    if name:
        ids = remote.probe(image_ids(name, nginx_image(release))).stdout.split()
        if len(ids) == 2 and ids[0] == ids[1]:
            say(f"    nginx ({name}) already runs this image: left alone, no reload")
            return name
    with step("start nginx" if not name else "recreate nginx: its image changed"):
        remote.run(stack(config, paths, release, "up -d --no-deps nginx", v2=v2), timeout=600)
    return remote.probe(nginx_container(config.project)).stdout.strip().split("\n")[0] or f"{config.project}-nginx"


def switch(remote: Remote, config: DeployConfig, paths: Paths, release: str, domain: str, nginx: str) -> None:
    """Start ``release`` beside the serving containers, health-check it, route to it, stop the old ones.

    Any failure (or Ctrl-C) before the old containers are stopped removes the new container and
    leaves the old ones serving; the error names the release and the last lines of its log are shown.
    """
    project, name = config.project, container(config.project, release)
    existing = parse_containers(remote.probe(app_containers(project)).stdout)
    if existing.get(name):
        raise DeployError(f"release {release} is already serving ({name}): nothing to switch")
    old = [n for n in existing if n != name]
    serving = [n for n in old if existing[n]]
    try:
        with step(f"start {name} beside {', '.join(serving) or 'nothing (first deploy)'}"):
            if name in existing:  # a stopped leftover of an earlier attempt
                remote.run(f"docker rm {name}")
            remote.run(run_app(project, release, paths.env_file))
        with step(f"health-check {name} directly (/healthz and / as {domain}, {config.health_timeout}s)"):
            _check(remote, direct_check(name, domain, config.health_timeout), f"{name} failed its health check")
        with step(f"route traffic to {name} (alias {ALIAS}) and wait for DNS"):
            remote.run(route(project, name))
            remote.run("sleep 2")
        with step(f"verify through nginx (/healthz and / as {domain})"):
            _check(remote, nginx_check(nginx, domain, config.health_timeout), "nginx could not serve the new release")
    except BaseException as error:
        _abort(remote, name, serving)
        if isinstance(error, DeployError):
            kept = ", ".join(serving) or "nothing (this was the first deploy)"
            raise DeployError(f"{error}; rolled back: {name} removed, still serving: {kept} "
                              "(its last log lines are above)") from None
        raise
    if old:
        with step(f"stop the old container(s) gracefully: {', '.join(old)}"):
            remote.run(stop(old, config.stop_timeout), timeout=config.stop_timeout + 60)


def _check(remote: Remote, command: str, what: str) -> None:
    result = remote.run(command, warn=True)
    if result.failed:
        last = (result.stdout.strip().splitlines() or ["no answer"])[-1]
        raise DeployError(f"{what} ({last})")


def _abort(remote: Remote, name: str, serving: list[str]) -> None:
    """Remove the new container (stopped gracefully: it may carry the alias) and keep the old ones up."""
    with step(f"roll back: remove {name}, keep {', '.join(serving) or 'nothing'} serving"):
        logs = remote.run(logs_tail(name), warn=True).stdout.rstrip()
        if logs:
            say(f"    last lines of {name}'s log:")
            for line in logs.splitlines()[-LOG_LINES:]:
                say(f"    | {line}")
        remote.run(f"docker stop -t 10 {name} >/dev/null 2>&1; docker rm -f {name} >/dev/null 2>&1 || true",
                   warn=True)
        if serving:  # idempotent: they were never disconnected, this only revives one that died meanwhile
            remote.run(f"docker start {' '.join(serving)}", warn=True)
