"""gunicorn settings for the production container (see compose/production/django/start.sh)."""

import multiprocessing
import os


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = "0.0.0.0:8000"
# 2 * cores + 1 is gunicorn's rule of thumb; capped so a big host doesn't multiply SQLite writers
workers = _int_env("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "gthread"
threads = _int_env("GUNICORN_THREADS", 4)
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


def worker_exit(server, worker):
    """A worker that stops (SIGTERM on a deploy, max_requests) writes the post views it still holds.

    blog/viewcount.py buffers them; a worker whose app never loaded has nothing to write.
    """
    import sys

    viewcount = sys.modules.get("blog.viewcount")
    if viewcount is not None:
        viewcount.close()
