#!/usr/bin/env bash
# t_crash_views.sh - crash consistency of the views: SIGKILL an ingesting
# child (BATCH durability, at most 400 frames a round so the log stays small)
# at 25 random moments; before each reopen the views must have watermark <=
# head and equal a rebuild from the log up to their watermark, and after the
# reopen's catch-up they must equal a rebuild of the whole log. Longer runs:
# GS_CRASH_ROUNDS=100 (see README, "Crash testing").
# Env: GS_BIN (build dir).
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$GS_BIN/gatestore-gen" --guilds 3 --channels 10 --roles 5 --members 50 --updates 3000 --seed 11 \
  --no-nondispatch -o "$T/in.ndjson"
"$GS_BIN/gatestore-crash" --store "$T/store" --input "$T/in.ndjson" --views --durability batch \
  --rounds "${GS_CRASH_ROUNDS:-25}" --seed "${GS_CRASH_SEED:-3}" --max-sleep-us 300000 \
  --max-per-round 400
