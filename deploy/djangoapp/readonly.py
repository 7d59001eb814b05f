"""Read-only mode, for a database move (`fab db.to-postgres` copies SQLite into PostgreSQL meanwhile).

While the file named by settings.READ_ONLY_FILE (`database/.read-only`, in the volume every app
container shares) exists and its text names this process's database engine ("sqlite" or
"postgresql"; an empty file names any), ReadOnlyMiddleware:
- answers every unsafe method (POST, PUT, PATCH, DELETE, ...) with a 503 page that says the site is
  moving to a new database, `Retry-After: 30`, before any view or database query runs (the template
  `deploy_tools/read_only.html`: a project's own of that name, in its templates folder, replaces the plain one);
- lets GET and HEAD through with `active()` true, so that nothing they do writes: sessions are neither
  saved nor deleted (deploy/djangoapp/sessions.py), and a project's code that writes on a GET asks
  `active()` first (the blog's view counter and page cache do).
The flag is looked up on every request, one os.stat (its text is read only while it exists): no
process keeps an answer that would miss the flag appearing. Measured: docs/DATABASES.md.
"""

from __future__ import annotations

import contextvars
import logging
import os

from django.conf import settings
from django.db import connections
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
RETRY_AFTER_SECONDS = 30
TEMPLATE = "deploy_tools/read_only.html"
# what a flag may say to name an engine (Django's vendor names first)
ENGINE_NAMES = {
    "sqlite": {"sqlite", "sqlite3", "django.db.backends.sqlite3"},
    "postgresql": {"postgresql", "postgres", "django.db.backends.postgresql"},
}

_active: contextvars.ContextVar[bool] = contextvars.ContextVar("deploy_tools_read_only", default=False)
log = logging.getLogger(__name__)


def active() -> bool:
    """True while this request is served read-only: code that would write on a GET skips it."""
    return _active.get()


def flag_names(path, vendor: str) -> bool:
    """Does the flag file at ``path`` exist and name ``vendor``? One os.stat when it does not exist."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return False  # e.g. its folder is not readable: there is no flag we could have been given
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(4096)
    except OSError as error:
        log.warning("read-only flag %s exists but cannot be read (%s): read-only for every engine", path, error)
        return True
    words = set(text.replace(",", " ").lower().split())
    return not words or bool(words & ENGINE_NAMES.get(vendor, {vendor}))


class ReadOnlyMiddleware:
    """Listed before SessionMiddleware in a project's MIDDLEWARE: a session saved while the response goes
    out (a message shown) must still see active()."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.vendor = connections["default"].vendor

    def __call__(self, request):
        if not flag_names(settings.READ_ONLY_FILE, self.vendor):
            return self.get_response(request)
        if request.method not in SAFE_METHODS:
            return moving_response(request)
        token = _active.set(True)
        try:
            return self.get_response(request)
        finally:
            _active.reset(token)


def moving_response(request):
    """503 in the site's theme, no database query: the site is moving, try again in a moment."""
    response = render(request, TEMPLATE, {"retry_after": RETRY_AFTER_SECONDS}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response
