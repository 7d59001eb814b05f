#!/bin/sh
# Render our nginx config from the environment, then run nginx in the foreground.
#   server_name: MYSITE_DOMAIN if set, else every entry of DJANGO_ALLOWED_HOSTS (the names Django accepts)
#   user:        `nginx` on the official image, `www-data` on Debian's nginx
set -eu
set -f  # a `*` in the host list must not glob

templates=/etc/nginx/mysite

if id -u nginx >/dev/null 2>&1; then
    nginx_user=nginx
elif id -u www-data >/dev/null 2>&1; then
    nginx_user=www-data
else
    echo "nginx entrypoint: no 'nginx' or 'www-data' user in this image" >&2
    exit 1
fi

names=${MYSITE_DOMAIN:-}
if [ -z "$names" ]; then
    names=$(printf '%s' "${DJANGO_ALLOWED_HOSTS:-}" | tr ',' ' ')
fi
server_names=""
for name in $names; do
    case "$name" in
        '*') continue ;;  # "any host" is Django's business; nginx serves named hosts only
        *[!A-Za-z0-9._-]*)
            echo "nginx entrypoint: '$name' is not a host name (MYSITE_DOMAIN / DJANGO_ALLOWED_HOSTS)" >&2
            exit 1 ;;
    esac
    server_names="$server_names $name"
done
server_names=${server_names# }
if [ -z "$server_names" ]; then
    echo "nginx entrypoint: set MYSITE_DOMAIN or DJANGO_ALLOWED_HOSTS in the env file (.envs/.production)" >&2
    exit 1
fi

sed "s/__NGINX_USER__/$nginx_user/" "$templates/nginx.conf.template" > /etc/nginx/nginx.conf
sed "s/__SERVER_NAME__/$server_names/" "$templates/mysite.conf.template" > /etc/nginx/conf.d/mysite.conf
echo "nginx entrypoint: serving '$server_names' (workers run as $nginx_user)"

if [ "$#" -eq 0 ]; then
    set -- nginx -g 'daemon off;'
fi
exec "$@"
