#!/bin/sh
# Install the Debian packages the build and tests need, only if missing.
# Called by stage 1 of the Makefile before anything else is read or built,
# so a machine with only make and a C compiler gets the rest here. With
# arguments, installs those packages instead (make test-linux).
set -e
PKGS="python3 python3-dev libcmocka-dev gcc-arm-none-eabi libnewlib-arm-none-eabi gnuplot-nox pkg-config cmake mypy clang libclang-rt-14-dev llvm-14 libunicorn-dev"
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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } \
        >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "install-deps: apt-get failed" >&2
    exit 1
fi
