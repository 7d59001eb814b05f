#!/bin/sh
# /entrypoint.sh of the registry:2 stand-in (testbed/images.py), with the upstream image's
# argument contract: a config file is served, a registry subcommand goes to the registry binary,
# anything else runs as given. Debian names the binary docker-registry (also linked as registry).
set -e

case "$1" in
    *.yaml | *.yml) set -- docker-registry serve "$@" ;;
    serve | garbage-collect | help | -*) set -- docker-registry "$@" ;;
esac

exec "$@"
