#!/usr/bin/env bash
# t_crash.sh - the crash harness under ctest: SIGKILL an ingesting child at
# 100 random moments (SYNC durability, small segments so kills land in rolls
# too); after each, every confirmed LSN must be there byte-exact, with no
# hole, and the log must verify. Longer runs: GS_CRASH_ROUNDS=1000.
# Env: GS_BIN (build dir).
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$GS_BIN/gatestore-gen" --guilds 3 --channels 10 --roles 5 --members 50 --updates 3000 --seed 11 \
  --no-nondispatch -o "$T/in.ndjson"
"$GS_BIN/gatestore-crash" --store "$T/store" --input "$T/in.ndjson" \
  --rounds "${GS_CRASH_ROUNDS:-100}" --seed "${GS_CRASH_SEED:-1}" --max-sleep-us 20000
