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
#   listen:      MYSITE_NGINX_HTTP / MYSITE_NGINX_HTTPS (one server: nginx on the host's network) as ADDR:PORT,
#                with `reuseport`, so a new nginx starts beside the running one; unset: 80 and 443 in nginx's
#                own network namespace (a cluster). On the host's network the app is reached through its
#                socket only (no Docker DNS there). Always: /run/nginx-checks.sock, nginx's own, for the
#                health check and the deploy's checks
#
# Subcommands (fab https and the certbot service use them; the image's default is to run nginx):
#   render              render the config and exit (then `nginx -t && nginx -s reload`)
#   https-on NAME...    record NAME... as served over https with the certificate of the first NAME,
#                       render and test the config; put back as it was when the test fails
#   certperms           let nginx's workers read the private keys (certbot --deploy-hook)
#   certbot ARGS...     certbot, with the ACME server's CA bundle stored by `fab https --acme-ca-bundle`
#   renew-loop          `certbot renew` twice a day (the certbot service of production.yml)
# On a cluster (swarm.yml, docs/SWARM.md):
#   acme-server         the certbot service: a small nginx serving the webroot on MYSITE_ACME_PORT (8080),
#                       then the renew loop; every node's nginx proxies the ACME challenge to it
#   certs-publish       certbot's deploy hook there: the certificate becomes a Docker secret, handed to
#                       the certs service (swarm-certs.py, through the Docker socket of the manager)
#   certs-copy          the certs service (one task per node): the certificate of its secret copied into
#                       the node's certificates volume (each file written whole, then renamed), then waits
#   MYSITE_ACME_FROM    host:port of the certbot service: the challenge is proxied there (acme-proxy.conf)
#   MYSITE_CERTS_WAIT   seconds nginx waits at start for the certs task to have written (a new node)
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

# MYSITE_NGINX_HTTP / MYSITE_NGINX_HTTPS: where nginx listens on the host's network (ADDR:PORT); unset: 80, 443
listen_on() {
    value=$1
    case "$value" in
        '') ;;
        *[!0-9.:]* | *: | :*) die "'$value' is not ADDR:PORT (MYSITE_NGINX_HTTP, MYSITE_NGINX_HTTPS): e.g. 0.0.0.0:80" ;;
        *:*) echo "$value" ;;
        *) die "'$value' is not ADDR:PORT (MYSITE_NGINX_HTTP, MYSITE_NGINX_HTTPS): e.g. 0.0.0.0:80" ;;
    esac
}

render() {
    user=$(nginx_user)
    socket=$(app_socket)
    http=$(listen_on "${MYSITE_NGINX_HTTP:-}")
    https=$(listen_on "${MYSITE_NGINX_HTTPS:-}")
    if { [ -n "$http" ] && [ -z "$https" ]; } || { [ -z "$http" ] && [ -n "$https" ]; }; then
        die "set both MYSITE_NGINX_HTTP and MYSITE_NGINX_HTTPS (nginx on the host's network) or neither"
    fi
    [ -z "$http" ] || [ -n "$socket" ] || die "MYSITE_NGINX_HTTP needs MYSITE_APP_SOCKET: on the host's network nginx reaches the app through its socket only"
    # reuseport once per address, on its default server: a new nginx can bind beside the running one
    http_default="${http:-80} default_server${http:+ reuseport}"
    https_default="${https:-443} ssl http2 default_server${https:+ reuseport}"
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
    sed -e "s/__HTTP__ default_server;/$http_default;/" -e "s/__HTTP__;/${http:-80};/" \
        -e "s/__SERVER_NAME__/${all# }/" "$templates/mysite.conf.template" > "$site"
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
    if [ -n "$http" ]; then
        # the host's network has no Docker DNS: a request the socket could not serve gets the "try again" page
        printf '        return 503;\n' > "$site.by-name"
        replace_block "by name" "$site.by-name"
        rm -f "$site.by-name"
    fi
    # the app's name and port on the project's network, in every block that goes by name (what was read in too)
    sed "s|http://mysite:8000;|http://$app:$port;|" "$site" > "$site.tmp"
    mv "$site.tmp" "$site"
    acme=$(acme_from)
    if [ -n "$acme" ]; then
        # the lines from `# >>> acme` to `# <<< acme` give way to acme-proxy.conf, for this host:port
        [ -r "$templates/acme-proxy.conf" ] || die "MYSITE_ACME_FROM is set but $templates/acme-proxy.conf is missing"
        sed "s#__ACME_FROM__#$acme#" "$templates/acme-proxy.conf" > "$site.acme"
        replace_block "acme" "$site.acme"
        rm -f "$site.acme"
    fi
    if [ -n "$secure" ]; then
        # a cluster node's nginx mounts its certificates read-only: the certs task wrote them ready to read
        if [ -w "$letsencrypt" ]; then certperms; fi
        printf '%s 1;\n' $secure > "$nginx_dir/mysite.d/https-hosts"
        sed "s/__CERT_NAME__/${secure%% *}/g; s/__HTTPS_NAMES__/$secure/g; s/__HTTPS__ ssl http2 default_server;/$https_default;/" \
            "$templates/https.conf.template" > "$nginx_dir/conf.d/mysite-https.conf"
        sed "s/__HTTPS__/${https:-443}/" "$templates/https-server.conf" > "$nginx_dir/mysite.d/https.conf"
    else
        rm -f "$nginx_dir/conf.d/mysite-https.conf" "$nginx_dir/mysite.d/https.conf" "$nginx_dir/mysite.d/https-hosts"
    fi
    mv "$site" "$nginx_dir/conf.d/mysite.conf"
    echo "nginx entrypoint: serving '${all# }' (https: '${secure:-none}'${from_app:+; static and media from the app}${socket:+; app at $socket}${http:+; on the host's network at $http and $https, reuseport}; workers run as $user)"
}

# MYSITE_ACME_FROM: host:port of the cluster's certbot service, which answers every ACME challenge.
acme_from() {
    from=${MYSITE_ACME_FROM:-}
    case "$from" in
        '') ;;
        *[!A-Za-z0-9._:-]* | *:*:* | :* | *:) die "MYSITE_ACME_FROM='$from': the certbot service's host:port, e.g. certbot:8080" ;;
        *:*) echo "$from" ;;
        *) die "MYSITE_ACME_FROM='$from': the certbot service's host:port, e.g. certbot:8080" ;;
    esac
}

# A node's nginx waits (MYSITE_CERTS_WAIT seconds at most) for its certs task's first copy: a node that
# joins starts both at once, and nginx renders https only for a certificate it finds at start.
certs_wait() {
    seconds=${MYSITE_CERTS_WAIT:-0}
    case "$seconds" in
        '' | *[!0-9]*) die "MYSITE_CERTS_WAIT='$seconds' is not a number of seconds" ;;
    esac
    while [ "$seconds" -gt 0 ] && [ ! -f "$state/certs-sha256" ]; do
        sleep 1
        seconds=$((seconds - 1))
    done
}

# The certbot service of a cluster: the webroot served on the stack's network (and nginx's health
# location, which the image's health check asks), then the renew loop.
acme_server() {
    port=${MYSITE_ACME_PORT:-8080}
    case "$port" in '' | *[!0-9]*) die "MYSITE_ACME_PORT='$port' is not a port" ;; esac
    mkdir -p "$webroot" "$nginx_dir"
    cat > "$nginx_dir/acme-server.conf" <<EOF
user $(nginx_user);
pid /run/nginx-acme.pid;
error_log stderr warn;
events {
    worker_connections 64;
}
http {
    access_log off;
    server_tokens off;
    server {
        listen $port;
        location /.well-known/acme-challenge/ {
            root $webroot;
            default_type text/plain;
        }
        location / {
            return 404;
        }
    }
    server {
        listen unix:/run/nginx-checks.sock;
        location = /nginx-health {
            return 200 "ok\n";
        }
    }
}
EOF
    rm -f /run/nginx-checks.sock  # left by a container that was killed: nginx cannot bind over it
    nginx -c "$nginx_dir/acme-server.conf"
    renew_loop
}

# The certs service of a cluster: the secret (a `# mysite certs: NAME...` line, the chain, the key) copied
# into this node's certificates volume, each file written whole then renamed, its hash last (what
# `fab swarm.https` waits for); a placeholder secret (no such line) only marks the copy as done.
certs_copy() {
    secret=${MYSITE_CERTS_SECRET:-/run/secrets/certs}
    [ -r "$secret" ] || die "no certificate secret at $secret"
    mkdir -p "$state"
    names=$(sed -n '1s/^# mysite certs: //p' "$secret")
    if [ -n "$names" ]; then
        for name in $names; do
            is_name "$name" || die "'$name' in $secret is not a host name"
        done
        first=${names%% *}
        group=$(id -gn "$(nginx_user)")
        live=$letsencrypt/live/$first
        mkdir -p "$live"
        (
            umask 077
            key='/-----BEGIN [A-Z ]*PRIVATE KEY-----/ {key = 1}'
            sed '1d' "$secret" | awk "$key !key" > "$live/.fullchain.pem.new"
            sed '1d' "$secret" | awk "$key key" > "$live/.privkey.pem.new"
            sed '1d' "$secret" > "$state/.$first.pem.new"
        )
        grep -q 'PRIVATE KEY-----' "$state/.$first.pem.new" || die "the secret at $secret holds no private key"
        chgrp "$group" "$state/.$first.pem.new"
        chmod 0640 "$state/.$first.pem.new"
        mv -f "$live/.fullchain.pem.new" "$live/fullchain.pem"
        mv -f "$live/.privkey.pem.new" "$live/privkey.pem"
        mv -f "$state/.$first.pem.new" "$state/$first.pem"
        printf '%s\n' "$names" > "$names_file.new"
        mv -f "$names_file.new" "$names_file"
    fi
    sha256sum "$secret" | cut -c1-64 > "$state/.certs-sha256.new"
    mv -f "$state/.certs-sha256.new" "$state/certs-sha256"
    echo "certs service: copied ${names:-no certificate yet} ($(cat "$state/certs-sha256"))"
    trap 'exit 0' TERM INT
    while :; do
        sleep 86400 &
        wait $! || true
    done
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
    acme-server) acme_server ;;
    certs-copy) certs_copy ;;
    certs-publish) exec python3 "$templates/swarm-certs.py" ;;
    *)
        certs_wait
        render
        socket_folder
        rm -f /run/nginx-checks.sock  # left by a container that was killed: nginx cannot bind over it
        if [ "$#" -eq 0 ]; then
            set -- nginx -g 'daemon off;'
        fi
        exec "$@"
        ;;
esac
