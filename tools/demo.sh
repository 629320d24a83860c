#!/usr/bin/env bash
# demo.sh - the main job: install dependencies, build, ingest the bundled
# sample capture (the scenario fixture plus a small generated capture) into
# a local store, and show what is in it.
# Usage: bash tools/demo.sh [STORE]   (default: ./sample/gatestore.db)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
gs_install_deps
gs_build "$GS_ROOT/build" >/dev/null
GS=$GS_ROOT/build/gatestore
store=${1:-$GS_ROOT/sample/gatestore.db}
rm -rf "$store"
mkdir -p "$(dirname "$store")"
capture=$(dirname "$store")/generated.ndjson
"$GS_ROOT/build/gatestore-gen" --guilds 5 --channels 20 --roles 10 --members 200 --updates 5000 \
  --seed 7 -o "$capture"

run() { echo; echo "\$ gatestore $*"; "$GS" -C "$store" "$@"; }
run init
run ingest "$GS_ROOT/tests/fixtures/gateway/scenario.ndjson" "$capture"
run log stat
run log verify
echo; echo "\$ gatestore log cat --from 1 --to 3 | cut -c1-160"
"$GS" -C "$store" log cat --from 1 --to 3 | cut -c1-160

run views status
G=967500967257968680   # "Emoji Server 1" in the scenario
run get guild $G
echo; echo "\$ gatestore list channel --guild $G   (name, type, parent)"
"$GS" -C "$store" list channel --guild $G |
  python3 -c 'import json,sys; [print(" ", c["id"], c.get("type"), c.get("name"), "parent", c.get("parent_id")) for c in map(json.loads, sys.stdin)]'
run get member 80351110224678912 --guild $G
run count member
run count channel --where name=general
run list channel --where name=general --limit 3
