#!/bin/sh
# Run one test suite for make test's total (see mk/zz-tests.mk):
#     tools/run-suite.sh RESULTS_DIR NAME COMMAND [ARGS...]
# Prints one line; the command's output goes to RESULTS_DIR/NAME.log and is
# shown (its end) if the command fails. Writes "PASSED FAILED" to
# RESULTS_DIR/NAME.result, from the last "N passed, N failed" line the
# command printed, else 1 passed or 1 failed from its exit status.
dir=$1; name=$2
shift 2
mkdir -p "$dir" || exit 1
log="$dir/$name.log"
start=$(date +%s%N)
"$@" >"$log" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
counts=$(sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p' "$log" | tail -n 1)
if [ -n "$counts" ]; then
    set -- $counts
    passed=$1; failed=$2
elif [ "$rc" -eq 0 ]; then
    passed=1; failed=0
else
    passed=0; failed=1
fi
# A command that failed counts at least one failure, whatever it printed.
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed $failed" >"$dir/$name.result"
printf '  TEST    %-14s %d passed, %d failed (%d.%d s)\n' "$name" "$passed" "$failed" \
    $((ms / 1000)) $((ms % 1000 / 100))
if [ "$rc" -ne 0 ]; then
    echo "---- $name failed (exit $rc); the end of $log:" >&2
    tail -n 60 "$log" >&2
    echo "----" >&2
fi
exit "$rc"
