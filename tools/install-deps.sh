#!/bin/sh
# Install the Debian packages the build and tests need, only if missing.
# Called by `make test`, `make demo` and `make bench` on a fresh machine;
# with arguments, installs those packages instead (make test-linux).
set -e
PKGS="libcmocka-dev gcc-arm-none-eabi libnewlib-arm-none-eabi python3-dev gnuplot-nox"
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
