"""Container health check: GET the app's health path on its port (MYSITE_APP_HEALTH_PATH and MYSITE_APP_PORT,
fabric.yaml's `app:`; /healthz on 8000 when unset) from 127.0.0.1, with a Host that ALLOWED_HOSTS accepts.

Stdlib only (the slim image has no curl). Exit 0 when the app answers 200, 1 otherwise.
Of the settings it reads DJANGO_ALLOWED_HOSTS only (host names, nothing secret), from the file DJANGO_ALLOWED_HOSTS_FILE
names when that is set, as the settings do (deploy/djangoapp/secret_files.py): the file wins.
"""

import os
import sys
import urllib.error
import urllib.request


def health_host(allowed_hosts: str) -> str:
    for host in allowed_hosts.split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def setting(name: str, environ=os.environ) -> str:
    """NAME's value as the settings read it: the text of the file NAME_FILE names, when set, else NAME."""
    path = environ.get(name + "_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\r\n")
    return environ.get(name, "")


def health_url(environ=os.environ) -> str:
    port, path = environ.get("MYSITE_APP_PORT") or "8000", environ.get("MYSITE_APP_HEALTH_PATH") or "/healthz"
    return f"http://127.0.0.1:{port}{path}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect (e.g. to https) is not "healthy"
        return None


def main() -> int:
    try:
        host = health_host(setting("DJANGO_ALLOWED_HOSTS"))
    except (OSError, UnicodeDecodeError) as error:
        print(f"healthcheck: DJANGO_ALLOWED_HOSTS_FILE: {error}", file=sys.stderr)
        return 1
    url = health_url()
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - always http://127.0.0.1
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"healthcheck: {url} as {host}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
