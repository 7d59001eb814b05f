#!/usr/bin/env bash
# /usr/local/bin/docker-entrypoint.sh of the postgres:17 stand-in (testbed/images.py): the upstream
# image's environment contract on Debian's PostgreSQL 17.
#
#   POSTGRES_PASSWORD          the superuser's password; needed on the first start unless
#                              POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER              the superuser's name (default postgres)
#   POSTGRES_DB                the first database (default: the superuser's name)
#   POSTGRES_INITDB_ARGS       more arguments for initdb
#   POSTGRES_HOST_AUTH_METHOD  pg_hba.conf method for connections over the network
#                              (default scram-sha-256)
#   NAME_FILE                  read POSTGRES_PASSWORD, _USER, _DB or _INITDB_ARGS from a file
#                              (Docker secrets); NAME and NAME_FILE together are an error
#
# The first start (no $PGDATA/PG_VERSION) runs initdb --pwfile, allows `host all all all METHOD`,
# creates POSTGRES_DB on a server that listens on its socket only, and runs
# /docker-entrypoint-initdb.d/*.sh, *.sql and *.sql.gz in name order. Later starts skip all that.
# Then `postgres` replaces this script as the postgres user, so it is PID 1 and gets the
# container's stop signal (SIGINT: a fast shutdown).
set -Eeuo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

say() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

# file_env NAME [DEFAULT]: NAME from the environment, else from the file named by NAME_FILE
file_env() {
    local name="$1" default="${2:-}"
    local file_name="${name}_FILE"
    local value="${!name:-}" file="${!file_name:-}"
    if [ -n "$value" ] && [ -n "$file" ]; then
        say "error: both $name and $file_name are set (but are exclusive)"
        exit 1
    fi
    if [ -n "$file" ]; then
        value="$(<"$file")"
    fi
    export "$name"="${value:-$default}"
    unset "$file_name"
}

# true when postgres is asked only to print something (then no setup is done)
wants_help() {
    local arg
    for arg; do
        case "$arg" in
            '-?' | --help | --describe-config | -V | --version) return 0 ;;
        esac
    done
    return 1
}

# psql on the local socket as the superuser (trust), stopping at the first error
run_sql() {
    PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
        --username "$POSTGRES_USER" --dbname "${dbname:-$POSTGRES_DB}" "$@"
}

require_password() {
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'EOF'
Error: the database is not initialized yet and no superuser password is set.
       Set POSTGRES_PASSWORD to a non-empty value (e.g. -e POSTGRES_PASSWORD=... on
       `docker run`), or POSTGRES_HOST_AUTH_METHOD=trust to let every connection in
       without a password (not recommended).
EOF
        exit 1
    fi
    if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
        say "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: any client that reaches the port gets in without a password"
    fi
}

init_database() {
    # initdb's defaults: trust on the local socket (for the setup below and `docker exec psql`)
    # --pwfile refuses an empty file, hence the newline
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as upstream splits it
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        $POSTGRES_INITDB_ARGS
    {
        printf '\n'
        printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
    } >>"$PGDATA/pg_hba.conf"

    export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start

    local exists
    exists="$(dbname=postgres run_sql --tuples-only --no-align --set db="$POSTGRES_DB" \
        <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [ -z "$exists" ]; then
        dbname=postgres run_sql --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi

    local f
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    say "running $f"
                    "$f"
                else
                    say "sourcing $f"
                    # shellcheck disable=SC1090 # the user's own script
                    . "$f"
                fi
                ;;
            *.sql) say "running $f" && run_sql -f "$f" ;;
            *.sql.gz) say "running $f" && gzip -dc "$f" | run_sql ;;
            *) say "ignoring $f" ;;
        esac
    done

    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    say "PostgreSQL init process complete; ready for start up."
}

main() {
    if [ $# -eq 0 ]; then
        set -- postgres
    fi
    if [ "${1:0:1}" = - ]; then
        set -- postgres "$@"
    fi
    if [ "${1:-}" != postgres ] || wants_help "$@"; then
        exec "$@"
    fi

    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    export POSTGRES_HOST_AUTH_METHOD

    if [ "$(id -u)" = 0 ]; then
        # as root: the data and socket directories become the postgres user's, then this script
        # starts again as that user (setpriv execs, so the PID stays 1)
        mkdir -p "$PGDATA" /var/run/postgresql
        chmod 700 "$PGDATA"
        chmod 3775 /var/run/postgresql
        find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
        HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups \
            "${BASH_SOURCE[0]}" "$@"
    fi

    if [ -s "$PGDATA/PG_VERSION" ]; then
        say "PostgreSQL Database directory appears to contain a database; Skipping initialization"
    else
        require_password
        init_database
    fi
    exec "$@"
}

main "$@"
