#!/bin/sh
# Run by testbed/images.py as root in the chroot of the postgres:17 stand-in's rootfs, after
# debootstrap and before the import: shape Debian's PostgreSQL 17 like the upstream image.
set -eu

# No cluster of Debian's own: the entrypoint makes one in $PGDATA on the first start.
sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
rm -rf /etc/postgresql/17/main /var/lib/postgresql/17 /var/log/postgresql/postgresql-17-main.log

# The upstream image's postgres user and group are 999:999: a data directory keeps its owner
# when a volume moves between the two images.
old_uid="$(id -u postgres)"
old_gid="$(id -g postgres)"
groupmod -g 999 postgres
usermod -u 999 -g 999 postgres
find / -xdev -uid "$old_uid" -exec chown -h postgres '{}' +
find / -xdev -gid "$old_gid" -exec chgrp -h postgres '{}' +

# LANG=en_US.utf8, as upstream: initdb makes UTF-8 databases in that locale.
sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
locale-gen
locale -a | grep -qx 'en_US.utf8'

# initdb copies this sample into postgresql.conf: listen on every address, as upstream does.
sample=/usr/share/postgresql/17/postgresql.conf.sample
sed -ri "s/^#?(listen_addresses)[[:space:]]*=[[:space:]]*[^[:space:]]+.*/\1 = '*'/" "$sample"
grep -qF "listen_addresses = '*'" "$sample"

install -d -o postgres -g postgres -m 3775 /var/run/postgresql
install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data
install -d /docker-entrypoint-initdb.d
