#!/bin/sh
# Installs Debian's Chromium for the studio's browser tests, only when it is missing.
# The tests drive it with playwright-core (never `playwright install`).
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO=sudo
else
  SUDO=
fi
echo "ensure-chromium: /usr/bin/chromium is missing; installing Debian's chromium package" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
/usr/bin/chromium --version >&2 || true
