"""One GET / through a worker's own WSGI app before it takes traffic (gunicorn.conf.py's post_worker_init).

A worker's first page pays for what Django does once per process: the URL patterns, the templates
compiled by the cached loader, the database connection. About 50 ms against 5 ms for the next ones, paid
by a visitor right after a switch unless the worker pays it here. Never fails: a release whose / raises
is still started, and its health check says so.
"""

import io
import sys


def site_host(allowed_hosts: list[str]) -> str:
    """A host name ALLOWED_HOSTS accepts: the first one that names a host ('.example.com' -> 'example.com')."""
    for name in allowed_hosts:
        name = name.lstrip(".")
        if name and name != "*":
            return name
    return "localhost"


def first_request(app, host: str) -> str:
    """GET / as ``host`` over https (no redirect to it when the site forces it): the status line, or the error."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": host, "SERVER_PORT": "443", "HTTP_HOST": host, "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status = []
    try:
        body = app(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            for _ in body:
                pass
        finally:
            getattr(body, "close", lambda: None)()
    except Exception as error:  # noqa: BLE001 - a warm-up never stops a worker
        return repr(error)
    return status[0] if status else "no answer"
