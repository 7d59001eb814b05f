#!/bin/sh
# Render our nginx config from the environment and the certificates' volume, then run nginx.
#   server_name: MYSITE_DOMAIN if set, else every entry of DJANGO_ALLOWED_HOSTS (the names Django accepts)
#   the app:     proxied to MYSITE_APP_ALIAS (the app's name on the project's network, its compose service)
#                on MYSITE_APP_PORT (fabric.yaml's app: port; unset: 8000);
#                the templates say `mysite`, the blog's, and it is put in their place (unset: mysite)
#   user:        `nginx` on the official image, `www-data` on Debian's nginx
#   https:       on for the names `fab https` recorded in /etc/letsencrypt/mysite/https-names, as long as
#                their certificate (/etc/letsencrypt/live/<first name>/fullchain.pem) exists; else http only
#   static:      /static/ and /media/ from the shared volumes (/srv/static, /srv/media: one server); with
#                MYSITE_STATIC_FROM_APP=1 (a cluster, where volumes are local to a node) proxied to the app,
#                which serves its own collected files (static-from-app.conf replaces the volume locations)
#   app:         with MYSITE_APP_SOCKET (one server) through that unix socket, a link a deploy points at the
#                serving container's own socket (app-socket.conf replaces the DNS block); else by name through
#                Docker's DNS (a cluster)
#
# Subcommands (fab https and the certbot service use them; the image's default is to run nginx):
#   render              render the config and exit (then `nginx -t && nginx -s reload`)
#   https-on NAME...    record NAME... as served over https with the certificate of the first NAME,
#                       render and test the config; put back as it was when the test fails
#   certperms           let nginx's workers read the private keys (certbot --deploy-hook)
#   certbot ARGS...     certbot, with the ACME server's CA bundle stored by `fab https --acme-ca-bundle`
#   renew-loop          `certbot renew` twice a day (the certbot service of production.yml)
set -eu
set -f  # a `*` in the host list must not glob

# overridable for the unit tests, which render into a temporary folder
templates=${MYSITE_NGINX_TEMPLATES:-/etc/nginx/mysite}
nginx_dir=${MYSITE_NGINX_DIR:-/etc/nginx}
letsencrypt=${MYSITE_LETSENCRYPT:-/etc/letsencrypt}
webroot=${MYSITE_ACME_WEBROOT:-/var/www/acme}
state=$letsencrypt/mysite
names_file=$state/https-names
ca_bundle=$state/acme-ca.pem

die() {
    echo "nginx entrypoint: $*" >&2
    exit 1
}

is_name() {
    case "$1" in
        '' | *[!A-Za-z0-9._-]*) return 1 ;;
    esac
}

nginx_user() {
    if [ -n "${MYSITE_NGINX_USER:-}" ]; then
        echo "$MYSITE_NGINX_USER"
    elif id -u nginx >/dev/null 2>&1; then
        echo nginx
    elif id -u www-data >/dev/null 2>&1; then
        echo www-data
    else
        die "no 'nginx' or 'www-data' user in this image"
    fi
}

# The names Django accepts, as nginx server names.
site_names() {
    names=${MYSITE_DOMAIN:-}
    if [ -z "$names" ]; then
        names=$(printf '%s' "${DJANGO_ALLOWED_HOSTS:-}" | tr ',' ' ')
    fi
    found=""
    for name in $names; do
        [ "$name" = '*' ] && continue  # "any host" is Django's business; nginx serves named hosts only
        is_name "$name" || die "'$name' is not a host name (MYSITE_DOMAIN / DJANGO_ALLOWED_HOSTS)"
        found="$found $name"
    done
    found=${found# }
    [ -n "$found" ] || die "set MYSITE_DOMAIN or DJANGO_ALLOWED_HOSTS in the env file (.envs/.production)"
    echo "$found"
}

# The app's port (fabric.yaml's `app: port`), where nginx reaches it by name.
app_port() {
    port=${MYSITE_APP_PORT:-8000}
    case "$port" in
        '' | *[!0-9]* | 0*) die "MYSITE_APP_PORT='$port' is not a port: set the app's port (fabric.yaml's app: port)" ;;
    esac
    [ "$port" -le 65535 ] || die "MYSITE_APP_PORT='$port' is not a port: set the app's port (fabric.yaml's app: port)"
    echo "$port"
}

# The host the app answers on: the app's name (Docker's DNS on the project's network).
app_alias() {
    alias=${MYSITE_APP_ALIAS:-mysite}
    is_name "$alias" || die "MYSITE_APP_ALIAS='$alias' is not a host name: set the app's name (its compose service)"
    echo "$alias"
}

# The names served over https: recorded by `fab https`, and only while their certificate exists.
https_names() {
    [ -r "$names_file" ] || return 0
    names=$(cat "$names_file")
    first=""
    for name in $names; do
        is_name "$name" || die "'$name' in $names_file is not a host name"
        first=${first:-$name}
    done
    if [ -n "$first" ] && [ -f "$letsencrypt/live/$first/fullchain.pem" ] \
        && [ -f "$letsencrypt/live/$first/privkey.pem" ]; then
        echo $names
    fi
}

certperms() {
    # certbot makes live/ and archive/ 0700 and the keys 0600, all root's; nginx reads the certificate
    # at each handshake in its workers, so their group may read them (certbot keeps a key's group and
    # mode when it renews it)
    group=$(id -gn "$(nginx_user)")
    for dir in "$letsencrypt/live" "$letsencrypt/archive"; do
        if [ -d "$dir" ]; then
            chgrp "$group" "$dir"
            chmod 0750 "$dir"
        fi
    done
    if [ -d "$letsencrypt/archive" ]; then
        find "$letsencrypt/archive" -name 'privkey*.pem' -exec chgrp "$group" {} + -exec chmod 0640 {} +
    fi
    # nginx reads certificate and key at each handshake: from ONE file, replaced in one rename, so a
    # handshake never meets a renewed certificate with the old key (certbot swaps live/'s two links apart)
    [ -d "$letsencrypt/live" ] || return 0
    for live in $(find "$letsencrypt/live" -mindepth 1 -maxdepth 1 -type d); do  # names: no spaces, no globs
        name=$(basename "$live")
        if [ -f "$live/fullchain.pem" ] && [ -f "$live/privkey.pem" ]; then
            mkdir -p "$state"
            cat "$live/fullchain.pem" "$live/privkey.pem" > "$state/.$name.pem.new"
            chgrp "$group" "$state/.$name.pem.new"
            chmod 0640 "$state/.$name.pem.new"
            mv -f "$state/.$name.pem.new" "$state/$name.pem"
        fi
    done
}

# MYSITE_STATIC_FROM_APP: 1 (true, yes) proxies /static/ and /media/ to the app; 0, false, no or unset serves
# them from the volumes.
static_from_app() {
    case "${MYSITE_STATIC_FROM_APP:-}" in
        1 | true | yes) return 0 ;;
        '' | 0 | false | no) return 1 ;;
        *) die "MYSITE_STATIC_FROM_APP='$MYSITE_STATIC_FROM_APP': set 1 (static and media from the app, a cluster) or 0" ;;
    esac
}

# MYSITE_APP_SOCKET: the link to the serving app's unix socket (one server); unset: the app by name (a cluster).
app_socket() {
    socket=${MYSITE_APP_SOCKET:-}
    case "$socket" in
        '') ;;
        /*[!A-Za-z0-9._/-]* | /*/) die "MYSITE_APP_SOCKET='$socket': a socket's absolute path, e.g. /run/app-sockets/serving.sock" ;;
        /*) echo "$socket" ;;
        *) die "MYSITE_APP_SOCKET='$socket': a socket's absolute path, e.g. /run/app-sockets/serving.sock" ;;
    esac
}

render() {
    user=$(nginx_user)
    socket=$(app_socket)
    names=$(site_names)
    app=$(app_alias)
    port=$(app_port)
    secure=$(https_names)
    from_app=""
    if static_from_app; then
        from_app=$templates/static-from-app.conf
        [ -r "$from_app" ] || die "MYSITE_STATIC_FROM_APP is on but $from_app is missing"
    fi
    all=""
    for name in $names $secure; do
        case " $all " in *" $name "*) ;; *) all="$all $name" ;; esac
    done
    mkdir -p "$nginx_dir/conf.d" "$nginx_dir/mysite.d"
    sed "s/__NGINX_USER__/$user/" "$templates/nginx.conf.template" > "$nginx_dir/nginx.conf"
    site=$nginx_dir/conf.d/mysite.conf.new
    sed "s/__SERVER_NAME__/${all# }/" "$templates/mysite.conf.template" > "$site"
    if [ -n "$from_app" ]; then
        # the lines from `# >>> static and media` to `# <<< static and media` give way to static-from-app.conf
        replace_block "static and media" "$from_app"
        if grep -q 'alias /srv/' "$site"; then
            rm -f "$site"
            die "MYSITE_STATIC_FROM_APP is on but the volume locations of mysite.conf.template stayed"
        fi
    fi
    if [ -n "$socket" ]; then
        # the lines from `# >>> app` to `# <<< app` give way to app-socket.conf, for this socket
        [ -r "$templates/app-socket.conf" ] || die "MYSITE_APP_SOCKET is set but $templates/app-socket.conf is missing"
        sed "s#__APP_SOCKET__#$socket#" "$templates/app-socket.conf" > "$site.socket"
        replace_block "app" "$site.socket"
        rm -f "$site.socket"
        if ! grep -q "proxy_pass http://unix:$socket;" "$site"; then
            rm -f "$site"
            die "MYSITE_APP_SOCKET is set but the app location of mysite.conf.template stayed"
        fi
    fi
    # the app's name and port on the project's network, in every block that goes by name (what was read in too)
    sed "s|http://mysite:8000;|http://$app:$port;|" "$site" > "$site.tmp"
    mv "$site.tmp" "$site"
    if [ -n "$secure" ]; then
        certperms
        printf '%s 1;\n' $secure > "$nginx_dir/mysite.d/https-hosts"
        sed "s/__CERT_NAME__/${secure%% *}/g; s/__HTTPS_NAMES__/$secure/g" "$templates/https.conf.template" \
            > "$nginx_dir/conf.d/mysite-https.conf"
        cp "$templates/https-server.conf" "$nginx_dir/mysite.d/https.conf"
    else
        rm -f "$nginx_dir/conf.d/mysite-https.conf" "$nginx_dir/mysite.d/https.conf" "$nginx_dir/mysite.d/https-hosts"
    fi
    mv "$site" "$nginx_dir/conf.d/mysite.conf"
    echo "nginx entrypoint: serving '${all# }' (https: '${secure:-none}'${from_app:+; static and media from the app}${socket:+; app at $socket}; workers run as $user)"
}

# replace_block NAME FILE: in the site being rendered, the lines from `# >>> NAME` to `# <<< NAME` give way to FILE
replace_block() {
    sed -e "/^ *# >>> $1[:]/r $2" -e "/^ *# >>> $1[:]/,/^ *# <<< $1\$/d" "$site" > "$site.tmp"
    mv "$site.tmp" "$site"
}

# The socket's folder is a volume the app containers share: their user (not root) must be able to make its
# socket there, and nginx's workers to reach it (not sticky: a link in a sticky folder is followed only by
# its owner)
socket_folder() {
    [ -n "$socket" ] || return 0
    folder=$(dirname "$socket")
    mkdir -p "$folder"
    chmod 0777 "$folder"
}

https_on() {
    [ "$#" -gt 0 ] || die "https-on needs the certificate's names"
    for name in "$@"; do
        is_name "$name" || die "'$name' is not a host name"
    done
    [ -f "$letsencrypt/live/$1/fullchain.pem" ] || die "no certificate for $1 in $letsencrypt/live/$1"
    mkdir -p "$state"
    previous=""
    [ -r "$names_file" ] && previous=$(cat "$names_file")
    if [ "$previous" = "$*" ] && [ -f "$nginx_dir/mysite.d/https.conf" ]; then
        echo "nginx entrypoint: https for '$*' unchanged"
        return 0
    fi
    printf '%s\n' "$*" > "$names_file.new"
    mv "$names_file.new" "$names_file"
    if render && nginx -t; then
        return 0
    fi
    # nginx refuses the https config: put back what served before (nothing is reloaded)
    if [ -n "$previous" ]; then printf '%s\n' "$previous" > "$names_file"; else rm -f "$names_file"; fi
    render
    die "nginx rejected the https config; it keeps serving as before"
}

run_certbot() {
    if [ -z "${REQUESTS_CA_BUNDLE:-}" ] && [ -f "$ca_bundle" ]; then
        REQUESTS_CA_BUNDLE=$ca_bundle
        export REQUESTS_CA_BUNDLE
    fi
    exec certbot "$@"
}

renew_loop() {
    trap 'exit 0' TERM INT  # `docker stop` ends the wait below at once
    echo "certbot service: renewing due certificates every 12 h (webroot $webroot)"
    while :; do
        # certbot sleeps a random while before renewing when it runs without a terminal (spreads load)
        (run_certbot renew --webroot -w "$webroot" -q) || echo "certbot service: renew failed; next try in 12 h" >&2
        sleep 43200 &
        wait $! || true
    done
}

case "${1:-}" in
    render) render ;;
    https-on) shift; https_on "$@" ;;
    certperms) certperms ;;
    certbot) shift; run_certbot "$@" ;;
    renew-loop) renew_loop ;;
    *)
        render
        socket_folder
        if [ "$#" -eq 0 ]; then
            set -- nginx -g 'daemon off;'
        fi
        exec "$@"
        ;;
esac
