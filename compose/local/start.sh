#!/bin/sh
# Development entry point (the article's): migrate, seed demo posts, then runserver with autoreload.
set -eu

cd /app
python manage.py migrate --noinput
if [ "${MYSITE_SEED_DEMO:-1}" = "1" ]; then
    # idempotent: a fresh database gets demo posts, an existing one keeps what it has
    python manage.py seed_demo
fi
exec python manage.py runserver 0.0.0.0:8000
