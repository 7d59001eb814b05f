"""Health probe of a release: GET HEALTH_PATH must answer 200 and / anything but a server error (a home page, a
redirect to a login, or a 404 of a site with no home page, as `django-admin startproject` makes), redirects not
followed.

Usage: probe.py BASE_URL HOST [HEALTH_PATH], e.g. probe.py http://127.0.0.1:8000 example.com /healthz (the
default; fabric.yaml's ``app: health_path``); every request carries ``Host: HOST``. BASE_URL ``unix:PATH``
asks over that unix socket (nginx's own, in its container: two nginx may share the host's ports). Prints
``HEALTH_PATH: <code> /: <code>`` (a failed request shows as the repr of its error)
and exits 0 when healthy; 3 when the app is up (HEALTH_PATH 200) but / answers a server error (5xx): a
broken release, which waiting seldom mends; else 1 (not up yet: HEALTH_PATH not 200, or / not answered). Runs
in the app container and in the nginx container (Debian's python3).
"""

import http.client
import socket
import sys
import urllib.error
import urllib.request

TIMEOUT = 5  # seconds per request; the caller retries until its own deadline
UP_BUT_BROKEN = 3


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (e.g. / -> /login/): not followed, it comes back as an HTTPError with its code."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def get(opener, url, host):
    """The status code of GET url, or the repr of what went wrong (refused, timed out...)."""
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - the caller's http:// URL
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception as error:
        return repr(error)


class UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (http.client never follows a redirect either)."""

    def __init__(self, path):
        super().__init__("localhost", timeout=TIMEOUT)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self.socket_path)


def get_unix(path, url_path, host):
    """The status code of GET url_path over the unix socket ``path``, or the repr of what went wrong."""
    conn = UnixConnection(path)
    try:
        conn.request("GET", url_path, headers={"Host": host})
        return conn.getresponse().status
    except Exception as error:
        return repr(error)
    finally:
        conn.close()


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: probe.py BASE_URL HOST [HEALTH_PATH]", file=sys.stderr)
        return 2
    base, host, path = (*argv, "/healthz")[:3]
    if base.startswith("unix:"):
        health, root = get_unix(base[5:], path, host), get_unix(base[5:], "/", host)
    else:
        opener = urllib.request.build_opener(NoRedirect)
        health, root = get(opener, base + path, host), get(opener, base + "/", host)
    print(f"{path}:", health, "/:", root)
    answered = health == 200 and isinstance(root, int)  # the app is up and / gave a status
    if answered and root < 500:
        return 0
    return UP_BUT_BROKEN if answered and root >= 500 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
