#!/bin/sh
# Production entry point: migrate, collect static files, then hand PID 1 to gunicorn.
set -eu

cd /app
if [ "${MYSITE_MIGRATE_ON_START:-1}" != "0" ]; then
    # a deploy sets MYSITE_MIGRATE_ON_START=0: it migrates once, in a one-off container
    python manage.py migrate --noinput
fi
# Into this container's own /app/staticfiles, never a shared volume: WhiteNoise lists it when a worker starts,
# and a file another release's start removed or renamed meanwhile would stop this gunicorn. Before gunicorn.
python manage.py collectstatic --noinput --verbosity 0
# nginx's gzip_static (and WhiteNoise) serve these .gz files: compressed once per start, not on every request
python /app/compose/production/django/gzip_static.py /app/staticfiles
# One server: into the `static` volume nginx serves (/srv/static), added and replaced, never deleted, so pages
# of the old release keep their hashed CSS while two releases serve. A cluster mounts none: the app serves them.
python /app/compose/production/django/publish_static.py /app/staticfiles /srv/static
# WEB_CONCURRENCY / GUNICORN_THREADS checked first: gunicorn fails on a value that is not a number with a traceback
python /app/compose/production/django/gunicorn_sizing.py
# exec: gunicorn becomes PID 1, so `docker stop` (SIGTERM) lets it finish in-flight requests. The WSGI application
# is fabric.yaml's `app: wsgi`, which a deploy passes as MYSITE_APP_WSGI; an image run by hand serves the blog's.
exec gunicorn -c /app/compose/production/django/gunicorn.conf.py "${MYSITE_APP_WSGI:-mysite.wsgi:application}"
