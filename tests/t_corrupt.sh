#!/usr/bin/env bash
# t_corrupt.sh - the corruption campaign under ctest: 500 random single-bit
# flips and truncations of segment files; each must be reported by
# `log verify` (except a cut of the newest segment exactly at a block
# boundary, a valid shorter log), no record read back may differ from what
# was stored, and every block the damage did not touch must still be read.
# Long run (>= 10 000): GS_CORRUPT_ITERATIONS=10000 bash tests/t_corrupt.sh
# (see tests/crash/README.md). Env: GS_BIN (build dir).
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$GS_BIN/gatestore-gen" --guilds 3 --channels 10 --roles 5 --members 50 --updates 3000 --seed 11 \
  --no-nondispatch -o "$T/in.ndjson"
"$GS_BIN/gatestore-corrupt" --store "$T/store" --input "$T/in.ndjson" \
  --iterations "${GS_CORRUPT_ITERATIONS:-500}" --seed "${GS_CORRUPT_SEED:-1}" \
  --lines "${GS_CORRUPT_LINES:-600}"
