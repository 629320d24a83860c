#!/usr/bin/env bash
# t_powercut.sh - the power-cut harness under ctest: 100 simulated power
# cuts (SYNC, BATCH and OFF durability; unsynced bytes dropped, a suffix
# dropped, or random 4 KiB pages kept; files and renames without a directory
# fsync undone). After each, the store must reopen, hold every acknowledged
# LSN byte-exact with no hole, and verify. Then 20 cuts with views kept.
# Long run (>= 1000 cuts): GS_POWERCUT_ROUNDS=2000 bash tests/t_powercut.sh,
# or gatestore-powercut --rounds 2000 directly (see tests/crash/README.md).
# Env: GS_BIN (build dir).
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$GS_BIN/gatestore-gen" --guilds 3 --channels 10 --roles 5 --members 50 --updates 3000 --seed 11 \
  --no-nondispatch -o "$T/in.ndjson"
"$GS_BIN/gatestore-powercut" --store "$T/store" --input "$T/in.ndjson" \
  --rounds "${GS_POWERCUT_ROUNDS:-100}" --seed "${GS_POWERCUT_SEED:-1}"
# With views (--views): after each cut the reopen must bring them level with
# the log and equal to a rebuild, also when the cut left them ahead of it.
"$GS_BIN/gatestore-powercut" --store "$T/store-views" --input "$T/in.ndjson" --views \
  --rounds "${GS_POWERCUT_VIEWS_ROUNDS:-20}" --seed "${GS_POWERCUT_SEED:-1}"
