"""gunicorn settings for the production container (see compose/production/django/start.sh).

Workers and threads are sized from the CPUs and memory the container may use (its cgroup's CPU quota and
memory limit, else the machine's), by the formula in gunicorn_sizing.py beside this file:

    workers = max(2, min(2 * cpus + 1, 0.5 * memory // 60 MB per worker, 8))
    threads = max(2, min(ceil(4 * (2 * cpus + 1) / workers), 8))

WEB_CONCURRENCY and GUNICORN_THREADS in the env file win over it. The choice and why: one line at start.
"""

import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gunicorn_sizing  # noqa: E402  (beside this file, which gunicorn loads by path)
import warm_worker  # noqa: E402

sizing = gunicorn_sizing.choose()

# The app port (MYSITE_APP_PORT, fabric.yaml's `app: port`; 8000 when unset) for the health checks and the
# cluster; a unix socket too on one server, where nginx reaches the serving
# container through a link to its socket, which a deploy moves in one rename (docs/ARCHITECTURE.md). A deploy's
# containers get MYSITE_SOCKET_DIR: the socket is named after this container's host name (its ID), unique to it
# even when a restart reuses the container's name. A plain `compose up` sets MYSITE_SOCKET: where nginx looks.
# gunicorn makes the socket with umask 0 (its default), so nginx's workers may connect.
def unix_socket() -> str:
    if os.environ.get("MYSITE_SOCKET"):
        return os.environ["MYSITE_SOCKET"]
    if os.environ.get("MYSITE_SOCKET_DIR"):
        return f"{os.environ['MYSITE_SOCKET_DIR']}/{socket.gethostname()}.sock"
    return ""


own_socket = unix_socket()
port = os.environ.get("MYSITE_APP_PORT") or "8000"
bind = [f"0.0.0.0:{port}"] + ([f"unix:{own_socket}"] if own_socket else [])
workers = sizing.workers
worker_class = "gthread"
threads = sizing.threads
timeout = 30
# docker stop's default grace is 10 s: production.yml sets stop_grace_period 30s so that 25 s fit
graceful_timeout = 25
keepalive = 5
accesslog = "-"
errorlog = "-"
# the app port is reachable only from the compose network, where nginx is the only client
forwarded_allow_ips = "*"
max_requests = 1000
max_requests_jitter = 100
# gunicorn 25+ opens a control socket (for `gunicornc`) under $HOME, which the app user may not write: an
# ERROR line in every container's log. Nothing here uses it; docker stop and deploys drive gunicorn by signals.
control_socket_disable = True


def on_starting(server):
    """One line in the log: the workers and threads chosen, and why; nginx's link cleared for a plain up."""
    server.log.info("sizing: %s workers x %s threads; %s", workers, threads, sizing.reason)
    clear_link()


def clear_link() -> None:
    """A plain `compose up` after a deploy: MYSITE_SOCKET is nginx's link, which points at the socket of a
    deploy's container, gone with it. bind() refuses a path a link holds, even a dangling one (gunicorn
    then retries and stops): the link goes, and this container's socket takes its place."""
    path = os.environ.get("MYSITE_SOCKET")
    if path and os.path.islink(path):
        os.unlink(path)


def post_worker_init(worker):
    """Before it takes traffic, each worker answers one GET / itself (warm_worker.py beside this file)."""
    try:  # an exception here would fail the worker's boot, and gunicorn would stop
        from django.conf import settings

        answer = warm_worker.first_request(worker.wsgi, warm_worker.site_host(settings.ALLOWED_HOSTS))
    except Exception as error:  # noqa: BLE001
        answer = repr(error)
    worker.log.info("warm-up: GET / answered %s", answer)

