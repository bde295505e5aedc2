#!/bin/sh
# Sum the suites' results (tools/run-suite.sh) into make test's one total.
dir=$1
passed=0; failed=0; suites=0; bad=""
for r in "$dir"/*.result; do
    [ -f "$r" ] || continue
    read -r p f <"$r" || continue
    suites=$((suites + 1)); passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -ne 0 ] && bad="$bad $(basename "$r" .result)"
done
if [ "$suites" -eq 0 ]; then
    echo "test total: no suite ran"
    exit 1
fi
# The last line is the plain total CI reads: "total: N passed, N failed".
echo "suites: $suites${bad:+ (failed:$bad)}"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
