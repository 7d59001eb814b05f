"""Development settings: `python manage.py runserver` (manage.py's default)."""

from .common import *  # noqa: F403
from .common import env

DEBUG = True
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="django-insecure-dev-only-key-never-use-in-production-0123456789abcdef",
)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["localhost", "127.0.0.1", "0.0.0.0", "[::1]"],  # noqa: S104 (a Host header, not a bind)
)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
