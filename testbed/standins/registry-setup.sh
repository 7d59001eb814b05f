#!/bin/sh
# Run by testbed/images.py as root in the chroot of the registry:2 stand-in's rootfs, after
# debootstrap and before the import.
set -eu

# upstream's binary is `registry`: `docker exec NAME registry garbage-collect CONFIG` works too
ln -sf /usr/bin/docker-registry /usr/local/bin/registry
# the volume's mount point, where the config keeps the blobs and manifests
mkdir -p /var/lib/registry
