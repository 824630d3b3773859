#!/bin/sh
# Installs Debian's PostgreSQL server for the tests, only when no PostgreSQL is found
# (initdb, pg_ctl and postgres on PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin).
# The tests start their own private cluster (scripts/postgres-cluster.mjs); the package's
# default cluster is not created, so nothing listens on 5432 afterwards.
set -eu
for dir in $(echo "${PATH:-}" | tr ':' ' ') /usr/local/bin /usr/lib/postgresql/*/bin; do
  if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
    exit 0
  fi
done
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO=sudo
else
  SUDO=
fi
echo "ensure-postgres: PostgreSQL is missing; installing Debian's postgresql package" >&2
$SUDO mkdir -p /etc/postgresql-common
echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
$SUDO apt-get update
# confold: keep the createcluster.conf written above (dpkg would otherwise ask about it).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql
ls -d /usr/lib/postgresql/*/bin >&2
