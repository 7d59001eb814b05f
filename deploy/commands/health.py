"""Health checks of a release: the probe run inside the containers, repeated until it passes or time runs out."""

from deploy.commands.docker import python
from deploy.config import AppConfig
from deploy.names import SERVING_LINK, SOCKETS
from deploy.scripts import source

# nginx, inside its container: its own unix socket (compose/production/nginx/mysite.conf.template), so the
# check reaches that nginx even while two share the host's ports
NGINX_URL = "unix:/run/nginx-checks.sock"
UP_BUT_BROKEN = 3  # deploy/scripts/probe.py's exit: the health path 200, / a server error
BROKEN_AFTER = 10  # that many in a row (about 10 s) and the new release is judged broken


def wait_until(check: str, seconds: int, watch: str | None = None, broken_after: int = 0) -> str:
    """Repeat ``check`` every second until it passes; give up after ``seconds`` or when ``watch`` stops.

    ``broken_after``: also give up (exit 3) once ``check`` said "up but broken" (exit 3) that many times in a
    row: a release whose home page keeps answering a server error fails in seconds, not at the deadline.
    """
    alive = ""
    if watch:
        # a crash loop under --restart shows "running" most of the time: any restart counts as a crash
        alive = (f"if [ \"$(docker inspect -f '{{{{.State.Status}}}} {{{{.RestartCount}}}}' {watch} 2>/dev/null)\" "
                 f"!= 'running 0' ]; then echo '{watch} is not running (crashed or restarting)'; exit 2; fi; ")
    count, broken = "", ""
    if broken_after:
        count = "broken=0; "
        broken = (f"if [ $? -eq {UP_BUT_BROKEN} ]; then broken=$((broken+1)); else broken=0; fi; "
                  f"if [ $broken -ge {int(broken_after)} ]; then exit {UP_BUT_BROKEN}; fi; ")
    return (f"{count}end=$(($(date +%s)+{seconds})); until {check}; do {broken}{alive}"
            f"if [ \"$(date +%s)\" -ge \"$end\" ]; then exit 1; fi; sleep 1; done")


def probe(container: str, url: str, domain: str, health_path: str, interpreter: str = "python") -> str:
    """GET ``health_path`` (200) and / (no 5xx) as ``domain``, from inside ``container`` (deploy/scripts/probe.py)."""
    return f"docker exec {container} {python(source('probe'), url, domain, health_path, interpreter=interpreter)}"


def app_url(app: AppConfig) -> str:
    """gunicorn, inside an app container."""
    return f"http://127.0.0.1:{app.port}"


def direct_check(name: str, domain: str, seconds: int, app: AppConfig) -> str:
    """The probe inside the new container until it passes, ``seconds`` run out, it crashes, or it keeps
    answering / with a server error (``BROKEN_AFTER`` times in a row)."""
    return wait_until(probe(name, app_url(app), domain, app.health_path), seconds, watch=name,
                      broken_after=BROKEN_AFTER)


def nginx_check(nginx: str, domain: str, seconds: int, app: AppConfig) -> str:
    """The probe through nginx (with the site's host name), until it passes or ``seconds`` ran out."""
    return wait_until(probe(nginx, NGINX_URL, domain, app.health_path, interpreter="python3"), seconds)


def new_nginx_check(nginx: str, domain: str, seconds: int, app: AppConfig) -> str:
    """The probe through a new nginx's own socket until it passes, ``seconds`` run out, or it crashes (e.g. it
    could not bind the host's ports)."""
    return wait_until(probe(nginx, NGINX_URL, domain, app.health_path, interpreter="python3"), seconds, watch=nginx)


def serves(nginx: str, name: str) -> str:
    """Whether nginx's link to the serving socket, read inside nginx's container, points at ``name``'s socket.

    A container's socket is named after its host name (its ID), not its name: a restart reuses the name."""
    own = f"\"$(docker inspect -f '{{{{.Config.Hostname}}}}' {name}).sock\""
    return f'[ "$(docker exec {nginx} readlink {SOCKETS}/{SERVING_LINK})" = {own} ]'
