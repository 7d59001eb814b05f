"""Settings shared by every environment (local, test, production)."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from deploy.djangoapp import secret_files
from deploy.djangoapp.secret_files import env_source

# The repository root: the directory that holds manage.py.
BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Every value can come from a file: DJANGO_SECRET_KEY_FILE, DATABASE_URL_FILE, ... (deploy/djangoapp/secret_files.py).
env = secret_files.environment()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")  # each environment decides what it accepts
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "blog.apps.BlogConfig",
    "deploy.djangoapp",  # the deploy toolkit's app: the migration gate, the database move's copy
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # a database move (docs/DATABASES.md): outside the others, so that it spans their response side too
    "deploy.djangoapp.readonly.ReadOnlyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mysite.wsgi.application"

# Database: PostgreSQL when DATABASE_URL is set, else SQLite at database/db.sqlite3 (the article's
# location, a folder so that a Docker volume can hold it). The folder is created when missing: a
# missing folder was the tutorial's most reported bug ("unable to open database file").
SQLITE_DIR = BASE_DIR / "database"
SQLITE_OPTIONS = {
    # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue (up to `timeout` seconds) instead of failing with "database is locked".
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
else:
    SQLITE_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_DIR / "db.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
            # Keep each worker thread's connection: a new SQLite connection per request (open, PRAGMAs,
            # Django's SQL functions, schema parse) cost 0.7 ms of a page's ~10 ms CPU (bench/page_cpu.py).
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    }

# Read-only mode (deploy/djangoapp/readonly.py): while this file exists and names this process's database engine
# ("sqlite", "postgresql"; empty: any), writes answer 503 and GETs write nothing. It lives in the
# database volume, which every app container shares: `fab db.to-postgres` sets it during the copy.
READ_ONLY_FILE = SQLITE_DIR / ".read-only"
SESSION_ENGINE = "deploy.djangoapp.sessions"  # Django's database sessions, which write nothing while read-only


def _flush_seconds(name: str, default: float) -> float:
    """A number of seconds, 0 or more; anything else stops the start with one line that names the variable."""
    text = env.str(name, default="").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1
    if not 0 <= value <= 3600:
        raise ImproperlyConfigured(f"{env_source(name)} is {text!r}: give a number of seconds from 0 to 3600, "
                                   f"e.g. {name}={default:g} (0 writes every view at once)")
    return value


# Post views (blog/viewcount.py): counted in memory per process and written in one batch every this many
# seconds (and when the process stops); 0 writes every view in its request, one UPDATE each.
VIEW_COUNT_FLUSH_SECONDS = _flush_seconds("VIEW_COUNT_FLUSH_SECONDS", 2.0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache lives in the database (table created by blog's migration 0002): shared by every gunicorn
# worker and by both containers during a deploy, no extra service, and rolled back with the data in
# tests. It holds the rendered sidebar (blog/sidebar.py), invalidated by blog/signals.py.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "mysite_cache",
        # about two entries per post (its list entry and its article) plus the sidebar: room for 10,000 posts
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Security headers that are right everywhere.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

BLOG_PAGE_SIZE = 10
BLOG_FEED_SIZE = 20
