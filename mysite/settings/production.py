"""Production settings (wsgi.py's default), configured from the environment (.envs/.production).

Required: DJANGO_SECRET_KEY (strong, see deploy/djangoapp/keycheck.py) and DJANGO_ALLOWED_HOSTS (comma list,
the first entry is the site's domain). DJANGO_HTTPS=true turns on the HTTPS-only settings together.
Any of them (and DATABASE_URL) may instead come from a file: DJANGO_SECRET_KEY_FILE=/run/secrets/... (a
Docker secret); the file wins when both are set (deploy/djangoapp/secret_files.py).
"""

from django.core.exceptions import ImproperlyConfigured

from deploy.djangoapp.keycheck import secret_key_problem
from deploy.djangoapp.secret_files import env_source

from .common import *  # noqa: F403
from .common import MIDDLEWARE, env

DEBUG = False

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")  # or from the file DJANGO_SECRET_KEY_FILE names
_problem = secret_key_problem(SECRET_KEY, env_source("DJANGO_SECRET_KEY"))
if _problem:
    raise ImproperlyConfigured(_problem)

ALLOWED_HOSTS = [h.strip() for h in env.list("DJANGO_ALLOWED_HOSTS", default=[]) if h.strip()]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is missing: set it to a comma list whose first entry is the site's "
        "domain, e.g. DJANGO_ALLOWED_HOSTS=example.com,www.example.com"
    )
SITE_DOMAIN = ALLOWED_HOSTS[0].lstrip(".")

# Forms posted through nginx carry an Origin of http(s)://<host>; trust exactly the configured hosts.
CSRF_TRUSTED_ORIGINS = [
    f"{scheme}://{host.lstrip('.')}"
    for host in ALLOWED_HOSTS
    if "*" not in host and host != "."
    for scheme in ("https", "http")
]

# nginx terminates TLS and sets X-Forwarded-Proto; it does not rewrite the Host header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False

HTTPS = env.bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# /healthz is probed over plain HTTP inside the Docker network: never redirect it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# The app serves /static/ itself from STATIC_ROOT (WhiteNoise): on a cluster nginx has no volume with the
# collected files and proxies /static/ here (MYSITE_STATIC_FROM_APP=1, compose/production/nginx/); on one
# server nginx serves them from the shared volume and never asks. WhiteNoise lists STATIC_ROOT when a
# process starts, so start.sh collects (and gzips: WhiteNoise serves the .gz beside a file) before gunicorn.
# Hashed names get "max-age=315360000, public, immutable"; others 1 h, as nginx gives them.
MIDDLEWARE = list(MIDDLEWARE)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
)
WHITENOISE_MAX_AGE = 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
