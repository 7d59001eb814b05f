#!/bin/sh
# Production entry point: migrate, collect static files, then hand PID 1 to gunicorn.
set -eu

cd /app
if [ "${MYSITE_MIGRATE_ON_START:-1}" != "0" ]; then
    # a deploy sets MYSITE_MIGRATE_ON_START=0: it migrates once, in a one-off container
    python manage.py migrate --noinput
fi
# hashed names: pages of the old release keep their CSS while two releases serve. Before gunicorn: the app
# serves these itself on a cluster (WhiteNoise, which lists STATIC_ROOT once, when a worker starts)
python manage.py collectstatic --noinput --verbosity 0
# nginx's gzip_static (and WhiteNoise) serve these .gz files: compressed once per release, not on every
# request. Written to a temporary name and renamed, so nginx never sees half a file while two releases serve.
python /app/compose/production/django/gzip_static.py /app/staticfiles
# WEB_CONCURRENCY / GUNICORN_THREADS checked first: gunicorn fails on a value that is not a number with a traceback
python /app/compose/production/django/gunicorn_sizing.py
# exec: gunicorn becomes PID 1, so `docker stop` (SIGTERM) lets it finish in-flight requests
exec gunicorn -c /app/compose/production/django/gunicorn.conf.py mysite.wsgi:application
