#!/bin/sh
# Run one libFuzzer target for a bounded time and print one line:
#   tools/run-fuzz.sh <fuzz build dir> <target> <seconds>
# The target starts from its seeds (tests/fuzz/corpus/<target>) and what
# earlier runs found (<dir>/corpus/<target>, where new inputs go). A crash,
# leak or timeout leaves its input in <dir>/crashes/<target>/ and fails.
set -u
dir=$1 t=$2 secs=$3
bin=$dir/fuzz_$t log=$dir/$t-${secs}s.log
mkdir -p "$dir/corpus/$t" "$dir/crashes/$t"
before=$(find "$dir/crashes/$t" -type f | wc -l)
start=$(date +%s)
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$dir/crashes/$t/" \
    "$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
rc=$?
end=$(date +%s)
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
crashes=$(( $(find "$dir/crashes/$t" -type f | wc -l) - before ))
echo "fuzz-$t: ${runs:-0} runs in $((end - start)) s, coverage ${cov:-?} edges / ${ft:-?} features," \
     "corpus ${corp:-?}, $crashes crashes"
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz-$t: FAILED (exit $rc; log $log, inputs in $dir/crashes/$t/)" >&2
    exit 1
fi
