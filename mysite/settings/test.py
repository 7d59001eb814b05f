"""Test settings (pytest-django): fast, isolated, no hashed static names needed."""

import os

from .common import *  # noqa: F403
from .common import env

DEBUG = False
SECRET_KEY = "django-insecure-test-only-key-not-a-secret"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Views written in their request: a test reads the counter right after a GET, and no thread writes outside
# its transaction. tests/integration/test_view_counts.py turns the batches on where it tests them.
VIEW_COUNT_FLUSH_SECONDS = 0

# DATABASE_URL set (`inv test`'s second pass: testbed/postgres.py): that server, where pytest-django
# creates its test database. One per process (test_<name>_<pid>): two test runs on one server must
# not drop each other's; testbed/postgres.py drops those of runs that were killed.
# Else SQLite in memory.
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    if "sqlite" not in DATABASES["default"]["ENGINE"]:
        DATABASES["default"]["TEST"] = {
            "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}",
            # UTF-8 whatever the cluster's default (a cluster made without a UTF-8 locale is SQL_ASCII)
            "CHARSET": "UTF8",
            "TEMPLATE": "template0",
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": ":memory:"},
        }
    }

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
