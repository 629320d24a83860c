#!/usr/bin/env bash
# run.sh [SECONDS] [TARGET...] - run each libFuzzer target for SECONDS
# (default 60) from its seed corpus (tests/fuzz/corpus/<target>, and
# OUT_DIR/seeds/<target> for seeds build.sh derives), one after
# the other, and print executions and outcome per target. New inputs go to
# a scratch corpus under the build dir, never into the repository. Exits
# non-zero if any target crashes, leaks, trips a sanitizer or times out;
# the input is saved as OUT_DIR/artifacts/<target>-crash-... (replay it with
# `OUT_DIR/fuzz_<target> FILE`).
# Env: GS_FUZZ_OUT (default build-fuzz), GS_FUZZ_RSS_MB (default 2048),
# GS_FUZZ_RUNS (stop a target after this many executions, if before
# SECONDS: the long runs use 10000000).
set -uo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${GS_FUZZ_OUT:-$src/build-fuzz}
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(frame record block linereader views vvalue)
fi
bash "$src/tests/fuzz/build.sh" "$out" >/dev/null || exit 1
mkdir -p "$out/artifacts"
fail=0
for t in "${targets[@]}"; do
    work="$out/corpus/$t"
    mkdir -p "$work"
    log="$out/fuzz_$t.log"
    seeds=()
    for d in "$src/tests/fuzz/corpus/$t" "$out/seeds/$t"; do
        [ -d "$d" ] && seeds+=("$d")
    done
    extra=()
    if [ -f "$src/tests/fuzz/fuzz_$t.options" ]; then
        mapfile -t extra < <(grep -v '^#' "$src/tests/fuzz/fuzz_$t.options")
    fi
    t0=$(date +%s)
    "$out/fuzz_$t" -max_total_time="$secs" -runs="${GS_FUZZ_RUNS:--1}" -timeout=20 \
        -rss_limit_mb="${GS_FUZZ_RSS_MB:-2048}" -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t-" "${extra[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    dt=$(($(date +%s) - t0))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    ncorp=$(find "$work" -type f | wc -l)
    if [ $rc -eq 0 ]; then
        echo "fuzz_$t: ok, ${execs:-?} executions in $dt s (${rate:-?}/s), $cov, corpus $ncorp"
    else
        echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions, $dt s; see $log"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
        fail=1
    fi
done
exit $fail
