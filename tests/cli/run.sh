#!/bin/sh
# The amp command end to end (make test): info, run, ping, help, crash
# reporting and Ctrl-C, against build/firmware/virtual_uart.elf.
#     tests/cli/run.sh BUILD_DIR
BUILD=${1:-build}
AMP=$BUILD/bin/amp
FW=$BUILD/firmware
board=cli-test-$$
tmp=$(mktemp -d /tmp/amp-cli-test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"; rm -f /dev/shm/amp-$board-flash /dev/shm/amp-$board-empty-flash' EXIT
pass=0; fail=0

# expect "what" EXIT-CODE PATTERN... -- command...: exit code and every
# pattern (grep -E) in its stdout+stderr.
expect() {
    what=$1 code=$2; shift 2
    n=0
    for a in "$@"; do [ "$a" = -- ] && break; n=$((n + 1)); done
    i=0; pats=""
    while [ $i -lt $n ]; do pats="$pats$1
"; shift; i=$((i + 1)); done
    shift
    "$@" >"$tmp/out" 2>&1
    rc=$?
    bad=""
    [ "$rc" -eq "$code" ] || bad="exit $rc, not $code"
    printf '%s' "$pats" | while IFS= read -r p; do
        [ -n "$p" ] && ! grep -Eq -- "$p" "$tmp/out" && echo "missing: $p"
    done >"$tmp/missing"
    [ -s "$tmp/missing" ] && bad="$bad $(cat "$tmp/missing")"
    if [ -z "$bad" ]; then
        pass=$((pass + 1)); echo "ok   $what"
    else
        fail=$((fail + 1)); echo "FAIL $what: $bad"; sed 's/^/    /' "$tmp/out"
    fi
}

expect "amp --help lists the commands" 0 'amp info FW.elf|info FW.elf' 'exit codes' -- "$AMP" --help
for c in info run ping bench; do
    expect "amp $c --help" 0 "usage: amp $c" 'exit codes' -- "$AMP" "$c" --help
done
expect "an unknown command is a usage error" 2 "no command 'frob'" -- "$AMP" frob
expect "docs/amp.md is amp help --markdown" 0 -- sh -c "'$AMP' help --markdown | diff docs/amp.md -"

# (virtual_uart.elf may be built for the x86-64 core or for the Cortex-M4.)
expect "amp info virtual_uart.elf" 0 'machine: +(x86-64|ARM)' 'entry: +0x081[0-9a-f]{5} \(flash\)' \
    '0x08100000 0x08100000 0x[0-9a-f]{8} 0x[0-9a-f]+ +0x[0-9a-f]+ +R-X +flash' \
    'resource table: none' "loader accepts it" \
    -- "$AMP" info "$FW/virtual_uart.elf"
expect "amp info decodes an embedded resource table" 0 'VDEV +id 7 \(rpmsg\)' \
    'vring 1: 64 entries, align 32, notifyid 1, da ANY' 'TRACE +"trace_buf" at 0x1000[0-9a-f]{4}' \
    -- "$AMP" info "$FW/rsc_echo.elf"
expect "amp info refuses a file that is not ELF" 1 'not an ELF file' -- "$AMP" info Makefile
expect "amp info names a missing file" 1 'No such file' -- "$AMP" info "$tmp/none.elf"
# A FIFO with no writer: refused at once, not a hang (timeout bounds a regression).
mkfifo "$tmp/fifo.elf"
expect "amp info refuses a FIFO at once" 1 'not a regular file' -- timeout 10 "$AMP" info "$tmp/fifo.elf"
expect "amp run refuses a FIFO at once" 1 'not a regular file \(a FIFO\)' \
    -- timeout 10 "$AMP" run -b "$board" -t 1 "$tmp/fifo.elf"

expect "amp run streams the trace and the services" 0 'running on board' \
    'service "vuart-channel" at address 0x[0-9a-f]+ announced' '^virtual_uart: up$' \
    'stopped \(time limit\)' -- "$AMP" run -b "$board" -t 1 "$FW/virtual_uart.elf"
expect "amp ping boots what run left in flash" 0 '300 round trips of 16 bytes' \
    'min [0-9.]+ us +median [0-9.]+ us +p99 [0-9.]+ us' -- "$AMP" ping -b "$board" -c 300 vuart-channel
expect "amp ping with a firmware and 496-byte messages" 0 '50 round trips of 496 bytes' \
    -- "$AMP" ping -b "$board" -f "$FW/virtual_uart.elf" -c 50 -s 496 vuart-channel
expect "amp ping refuses a size over the buffer" 2 'SIZE 1 to 496' \
    -- "$AMP" ping -b "$board" -s 497 vuart-channel
expect "amp run reports a crash with its reason" 3 '^crasher: up$' \
    'crasher: writing to 0x40000000' 'the remote core crashed: killed by signal 11 \(SIGSEGV\)' \
    'amp-simcore: SIGSEGV at address 0x40000000, pc 0x081' \
    -- "$AMP" run -b "$board" "$BUILD/tests/cli/crasher.elf"

expect "amp ping on an erased flash reports the crash" 3 \
    'amp-simcore: SIGILL at address 0x08100000' \
    'the remote core crashed: killed by signal 4 \(SIGILL\)' 'is a firmware there' \
    -- "$AMP" ping -b "$board-empty" vuart-channel

# Ctrl-C: the core stops, amp exits 0, no core is left.
"$AMP" run -b "$board" "$FW/virtual_uart.elf" >"$tmp/run" 2>&1 &
pid=$!
i=0
while ! grep -q 'virtual_uart: up' "$tmp/run" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
core=$(sed -n 's/.*core pid \([0-9]*\).*/\1/p' "$tmp/run")
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 0 ] && grep -q 'stopped (interrupted)' "$tmp/run" && [ -n "$core" ] &&
        ! kill -0 "$core" 2>/dev/null; then
    pass=$((pass + 1)); echo "ok   Ctrl-C stops amp run and its core cleanly"
else
    fail=$((fail + 1)); echo "FAIL Ctrl-C: exit $rc, core pid '$core'"; sed 's/^/    /' "$tmp/run"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
