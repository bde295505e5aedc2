#!/bin/sh
# Run each cmocka test program; print what failed and a one-line summary
# counting test cases (a program that dies before its summary counts one
# failure). Fails if any failed.
pass=0; fail=0; programs=0; failed=""
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    programs=$((programs + 1))
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    # A program may run several cmocka groups (one per core type): add them up.
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{ n += $1 } END { print n + 0 }')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{ n += $1 } END { print n + 0 }')
    p=${p:-0}; f=${f:-0}
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    pass=$((pass + p)); fail=$((fail + f))
    [ "$rc" -ne 0 ] && failed="$failed $t"
done
echo "c: $pass passed, $fail failed ($programs programs)"
[ -z "$failed" ] || { echo "failed:$failed" >&2; exit 1; }
