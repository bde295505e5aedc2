#!/bin/sh
# The install test (make test): install into a temporary prefix, then build
# a C host (pkg-config and CMake), a firmware (the SDK's firmware.mk) and run
# a Python script, all against the installed copy only, outside this tree,
# and run them on the simulated board. Then uninstall, and check that
# nothing is left. Also a DESTDIR-staged install has the same files.
#     MAKE=make PYTHON=python3 CC=cc tests/install/run.sh
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/install
MAKE=${MAKE:-make}; PYTHON=${PYTHON:-python3}; CC=${CC:-cc}
tmp=$(mktemp -d /tmp/amp-install-test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
board=install-test-$$
pass=0; fail=0

check() {  # check "what" command...
    what=$1; shift
    if "$@" >"$tmp/out" 2>&1; then
        pass=$((pass + 1)); echo "ok   $what"
    else
        fail=$((fail + 1)); echo "FAIL $what"; sed 's/^/    /' "$tmp/out"
    fi
}
# Nothing from the tree or the caller's environment may leak in.
unset AMP_SIMCORE PYTHONPATH MYPYPATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH \
    OPENAMP_SIM_NAME
# Sub-makes outside this tree must not inherit our make's flags.
outside_make() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make "$@"; }

check "make install PREFIX=<tmp>" $MAKE -C "$ROOT" --no-print-directory install PREFIX="$prefix"
cp "$ROOT/examples/uart_echo.c" "$HERE/host.py" "$tmp/"
cp -r "$ROOT/examples/firmware-sdk" "$tmp/firmware"; cp -r "$HERE/cmake" "$tmp/"
cp "$ROOT/examples/uart_echo.c" "$tmp/cmake/"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check "shared libraries carry their soname" sh -c \
    "readelf -d '$prefix/lib/libamp.so' | grep -q 'SONAME.*\[libamp.so.1\]' &&
     readelf -d '$prefix/lib/libamp-sim.so' | grep -q 'SONAME.*\[libamp-sim.so.1\]'"
check "amp-simcore in libexec/amp, none in site-packages" sh -c \
    "test -x '$prefix/libexec/amp/amp-simcore' &&
     test -z \"\$(find '$prefix/lib' -name amp-simcore)\""

sdk=$(pkg-config --variable=sdkdir amp)/sim-h747-x86_64
check "firmware with two services built with the SDK's firmware.mk" \
    outside_make -C "$tmp/firmware" AMP_SDK="$sdk"
fw=$tmp/firmware/echo_upper.elf

check "C host built with pkg-config amp-sim" sh -c \
    "cd '$tmp' && $CC -std=c11 -Wall -Werror uart_echo.c -o host_pc \
         \$(pkg-config --cflags --libs amp-sim) -Wl,-rpath,'$prefix/lib'"
check "C host (pkg-config, shared) runs the SDK firmware" sh -c \
    "'$tmp/host_pc' '$fw' '$board-pc' | grep -c '^echo: ' | grep -qx 5"

check "C host built with CMake find_package(amp)" sh -c \
    "cmake -S '$tmp/cmake' -B '$tmp/cmake/build' -DCMAKE_PREFIX_PATH='$prefix' \
         -DCMAKE_C_COMPILER='$CC' && cmake --build '$tmp/cmake/build'"
check "C host (CMake amp::sim) runs the SDK firmware" sh -c \
    "'$tmp/cmake/build/uart_echo_shared' '$fw' '$board-cm' | grep -c '^echo: ' | grep -qx 5"
check "C host (CMake amp::sim_static) runs the SDK firmware" sh -c \
    "'$tmp/cmake/build/uart_echo_static' '$fw' '$board-cs' | grep -c '^echo: ' | grep -qx 5 &&
     ! readelf -d '$tmp/cmake/build/uart_echo_static' | grep -q 'NEEDED.*libamp'"

site=$(dirname "$(find "$prefix" -name 'openamp*.so' | head -n 1)")
check "Python script against the installed module" env PYTHONPATH="$site" \
    "$PYTHON" -c 'import openamp, sys; sys.exit(0 if openamp.__file__.startswith(sys.argv[1]) else "imported from " + openamp.__file__)' "$prefix"
check "Python script runs the SDK firmware (module finds amp-simcore)" \
    env PYTHONPATH="$site" "$PYTHON" "$tmp/host.py" "$fw" "$board-py"
check "mypy --strict finds the installed stub (openamp-stubs)" \
    env PYTHONPATH="$site" mypy --no-incremental --cache-dir=/dev/null --strict \
    --python-executable "$(command -v "$PYTHON")" "$tmp/host.py"
check "installed amp info reads the SDK firmware" sh -c \
    "'$prefix/bin/amp' info '$fw' | grep -q 'loader accepts it'"
check "installed amp bench finds amp-bench and bench.elf in libexec/amp" \
    "$prefix/bin/amp" bench --smoke --out "$tmp/bench"

check "make uninstall leaves nothing" sh -c \
    "$MAKE -C '$ROOT' --no-print-directory uninstall PREFIX='$prefix' &&
     left=\$(find '$prefix' ! -type d) && test -z \"\$left\" || { echo left: \$left; false; }"
check "DESTDIR staging installs the same files under PREFIX" sh -c \
    "$MAKE -C '$ROOT' --no-print-directory install PREFIX='$prefix' >/dev/null &&
     $MAKE -C '$ROOT' --no-print-directory install PREFIX='$prefix' DESTDIR='$tmp/stage' >/dev/null &&
     (cd '$prefix' && find . ! -type d | sort) >'$tmp/a' &&
     (cd '$tmp/stage$prefix' && find . ! -type d | sort) >'$tmp/b' && diff '$tmp/a' '$tmp/b' &&
     test -s '$tmp/a'"

rm -f "/dev/shm/amp-$board-"*
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
