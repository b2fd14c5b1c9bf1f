#!/bin/sh
# .ci/deps.sh [extra...] - make sure the build and test dependencies are
# installed on a Debian machine: installs them when run as root, otherwise
# prints the exact command to run.  Extra package names may be given.
set -eu
need="make gcc pkg-config libcurl4-openssl-dev libjansson-dev libssl-dev $*"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "missing packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
