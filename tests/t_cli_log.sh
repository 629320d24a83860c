#!/usr/bin/env bash
# t_cli_log.sh - the CLI end to end on the log: init, ingest of every gateway
# fixture, byte-exact `log cat`, verify, stat, exit codes, the writer lock,
# rejected lines, envelopes, and a flipped byte found by `log verify`.
# Env: GS_BIN (build dir), GS_FIXTURES (fixture dir).
set -uo pipefail
GS=${GS_BIN:?}/gatestore
FIX=${GS_FIXTURES:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }

# The dispatch lines of a file (op 0), byte for byte, by a parser that is not ours.
dispatch_lines() {
  python3 -c '
import json, sys
for raw in open(sys.argv[1], "rb").read().split(b"\n"):
    if raw.strip() and json.loads(raw).get("op") == 0:
        sys.stdout.buffer.write(raw + b"\n")' "$1"
}

# --- 1. scenario: 25 dispatch lines stored, 4 skipped, log cat byte-exact ---
S=$T/s1
$GS -C "$S" init 2>/dev/null
check "init exit 0" '[ $? -eq 0 ]'
$GS -C "$S" ingest --json "$FIX/scenario.ndjson" >"$T/sum.json" 2>"$T/err"
rc=$?
check "scenario ingest exit 0 (got $rc)" '[ $rc -eq 0 ]'
check "scenario: 25 stored" 'grep -q "\"appended\":25," "$T/sum.json"'
check "scenario: 4 skipped" 'grep -q "\"skipped\":4," "$T/sum.json"'
check "scenario: 0 rejected" 'grep -q "\"rejected\":0," "$T/sum.json"'
$GS -C "$S" log cat >"$T/cat.out"
check "log cat exit 0" '[ $? -eq 0 ]'
dispatch_lines "$FIX/scenario.ndjson" >"$T/expect.out"
check "log cat == dispatch lines of scenario.ndjson, byte for byte" 'cmp -s "$T/cat.out" "$T/expect.out"'
check "log cat printed 25 lines" '[ "$(wc -l <"$T/cat.out")" -eq 25 ]'
$GS -C "$S" log cat --from 3 --to 5 >"$T/range.out"
check "log cat --from 3 --to 5 = lines 3..5" 'sed -n 3,5p "$T/expect.out" | cmp -s - "$T/range.out"'
$GS -C "$S" log verify >/dev/null
check "log verify exit 0 on a good log" '[ $? -eq 0 ]'
$GS -C "$S" log stat --json >"$T/stat.json"
check "log stat: 25 records, lsn 1..25" 'grep -q "\"records\":25," "$T/stat.json" && grep -q "\"first_lsn\":1,\"last_lsn\":25," "$T/stat.json"'
raw=$(wc -c <"$T/expect.out"); raw=$((raw - 25))
check "log stat raw_bytes = sum of frame bytes ($raw)" 'grep -q "\"raw_bytes\":$raw," "$T/stat.json"'
# A second ingest continues the LSNs.
$GS -C "$S" ingest -q "$FIX/scenario.ndjson" 2>/dev/null
$GS -C "$S" log stat --json >"$T/stat2.json"
check "second ingest continues at LSN 26..50" 'grep -q "\"first_lsn\":1,\"last_lsn\":50," "$T/stat2.json"'

# --- 2. every fixture file ingests; rejected lines name line + code ---
for f in "$FIX"/*.ndjson; do
  D=$T/fx-$(basename "$f" .ndjson)
  $GS -C "$D" init 2>/dev/null
  $GS -C "$D" ingest --json "$f" >"$D.sum" 2>"$D.err"
  rc=$?
  check "$(basename "$f"): exit 0 or 3 (got $rc)" '[ $rc -eq 0 ] || [ $rc -eq 3 ]'
  want=$(dispatch_lines "$f" | wc -l)
  check "$(basename "$f"): $want dispatch lines stored" 'grep -q "\"appended\":$want," "$D.sum"'
  $GS -C "$D" log cat >"$D.cat"
  check "$(basename "$f"): log cat byte-exact" 'dispatch_lines "$f" | cmp -s - "$D.cat"'
  if [ $rc -eq 3 ]; then
    check "$(basename "$f"): rejections carry line:code:message" 'grep -Eq "^gatestore ingest: .*:[0-9]+: GS_E[A-Z0-9]+: .+" "$D.err"'
  fi
done

# --- 3. bad lines: each rejected with line number, code, message; others stored ---
B=$T/bad
$GS -C "$B" init 2>/dev/null
printf '%s\n' \
  '{"op":0,"t":"GOOD_ONE","s":1,"d":{}}' \
  'not json at all' \
  '{"op":"0","t":"X","s":2,"d":{}}' \
  '{"op":0,"s":3,"d":{}}' \
  '{"op":0,"t":7,"s":4,"d":{}}' \
  '[1,2,3]' \
  '{"op":0,"t":"TRUNCATED","s":5,"d":{"a":' \
  '' \
  '{"op":11}' \
  '{"frame":"nope","received_at":"2022-11-01T18:40:00Z"}' \
  '{"frame":{"op":0,"t":"X","s":6,"d":{}},"received_at":"2022-02-30T00:00:00Z"}' \
  '{"op":0,"t":"GOOD_TWO","s":7,"d":{}}' >"$T/bad.ndjson"
$GS -C "$B" ingest --json "$T/bad.ndjson" >"$T/bad.sum" 2>"$T/bad.err"
rc=$?
check "bad lines: exit 3 (got $rc)" '[ $rc -eq 3 ]'
check "bad lines: 2 stored, 1 skipped, 8 rejected, 1 blank" 'grep -q "\"appended\":2,\"skipped\":1,\"rejected\":8,\"blank\":1" "$T/bad.sum"'
check "line 2 GS_EJSON" 'grep -q "bad.ndjson:2: GS_EJSON" "$T/bad.err"'
check "line 3 GS_EFRAME (op string)" 'grep -q "bad.ndjson:3: GS_EFRAME" "$T/bad.err"'
check "line 4 GS_EFRAME (no t)" 'grep -q "bad.ndjson:4: GS_EFRAME" "$T/bad.err"'
check "line 5 GS_EFRAME (t number)" 'grep -q "bad.ndjson:5: GS_EFRAME" "$T/bad.err"'
check "line 6 rejected (array)" 'grep -Eq "bad.ndjson:6: GS_E(JSON|FRAME)" "$T/bad.err"'
check "line 7 GS_EJSON (truncated)" 'grep -q "bad.ndjson:7: GS_EJSON" "$T/bad.err"'
check "line 10 GS_EENVELOPE" 'grep -q "bad.ndjson:10: GS_EENVELOPE" "$T/bad.err"'
check "line 11 GS_EENVELOPE (Feb 30)" 'grep -q "bad.ndjson:11: GS_EENVELOPE" "$T/bad.err"'
$GS -C "$B" log cat >"$T/bad.cat"
check "only the good lines are in the log" '[ "$(cat "$T/bad.cat")" = "$(printf "%s\n%s" "{\"op\":0,\"t\":\"GOOD_ONE\",\"s\":1,\"d\":{}}" "{\"op\":0,\"t\":\"GOOD_TWO\",\"s\":7,\"d\":{}}")" ]'
# --strict stops at the first bad line.
B2=$T/strict
$GS -C "$B2" init 2>/dev/null
$GS -C "$B2" ingest --strict --json "$T/bad.ndjson" >"$T/strict.sum" 2>/dev/null
rc=$?
check "--strict: exit 3 and only line 1 stored" '[ $rc -eq 3 ] && grep -q "\"appended\":1," "$T/strict.sum"'
# Limits: a line over --max-frame-bytes and nesting over --max-depth.
python3 -c 'print("{\"op\":0,\"t\":\"BIG\",\"s\":1,\"d\":\"" + "x"*5000 + "\"}"); print("{\"op\":0,\"t\":\"DEEP\",\"s\":2,\"d\":" + "["*300 + "]"*300 + "}"); print("{\"op\":0,\"t\":\"OK\",\"s\":3}")' >"$T/lim.ndjson"
$GS -C "$B2" ingest --max-frame-bytes 4096 --max-depth 100 --json "$T/lim.ndjson" >"$T/lim.sum" 2>"$T/lim.err"
check "limits: big and deep rejected, third stored" 'grep -q "\"appended\":1,\"skipped\":0,\"rejected\":2" "$T/lim.sum"'
check "limits: GS_ETOOBIG on line 1" 'grep -q "lim.ndjson:1: GS_ETOOBIG" "$T/lim.err"'
check "limits: GS_ETOODEEP on line 2" 'grep -q "lim.ndjson:2: GS_ETOODEEP" "$T/lim.err"'

# --- 4. envelopes: inner bytes stored, received_at and shard kept ---
E=$T/env
$GS -C "$E" init 2>/dev/null
printf '%s\n' '{"received_at":"2022-11-01T18:40:00.5Z","shard":3,"frame":{"t":"GUILD_UPDATE","s":9,"op":0,"d":{"id":"1"}}}' \
  '{"frame": {"op":0,"t":"X","s":10,"d":null} ,"received_at":1667328000000}' >"$T/env.ndjson"
$GS -C "$E" ingest -q "$T/env.ndjson"
check "envelope ingest exit 0" '[ $? -eq 0 ]'
$GS -C "$E" log cat >"$T/env.cat"
check "envelope: log keeps the inner frame bytes" '[ "$(sed -n 1p "$T/env.cat")" = "{\"t\":\"GUILD_UPDATE\",\"s\":9,\"op\":0,\"d\":{\"id\":\"1\"}}" ] && [ "$(sed -n 2p "$T/env.cat")" = "{\"op\":0,\"t\":\"X\",\"s\":10,\"d\":null}" ]'
$GS -C "$E" log cat --json >"$T/env.json"
check "envelope: received_at and shard recorded" 'grep -q "\"received_at\":\"2022-11-01T18:40:00.500000Z\",\"shard\":3,\"s\":9" "$T/env.json"'
check "envelope: unix ms received_at" 'grep -q "\"received_at\":\"2022-11-01T18:40:00.000000Z\",\"shard\":null" "$T/env.json"'
$GS -C "$E" log cat --since 2022-11-01T18:40:00.1Z >"$T/since.out"
check "log cat --since filters by receive time" '[ "$(wc -l <"$T/since.out")" -eq 1 ] && grep -q GUILD_UPDATE "$T/since.out"'

# --- 4b. segment rolls: many sealed segments, byte-exact, seeks by LSN across them ---
R=$T/roll
"$GS_BIN/gatestore-gen" --guilds 4 --channels 10 --roles 5 --members 100 --updates 6000 --seed 5 \
  --no-nondispatch -o "$T/roll.ndjson"
$GS -C "$R" init 2>/dev/null
$GS -C "$R" ingest -q --segment-bytes 65536 "$T/roll.ndjson"
check "roll: ingest exit 0" '[ $? -eq 0 ]'
$GS -C "$R" log stat --json >"$T/roll.json"
check "roll: several sealed segments" 'python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s[\"sealed_segments\"] >= 3 and s[\"segments\"] == s[\"sealed_segments\"] + 1 else 1)" "$T/roll.json"'
$GS -C "$R" log cat >"$T/roll.cat"
check "roll: log cat byte-exact across segments" 'cmp -s "$T/roll.cat" "$T/roll.ndjson"'
$GS -C "$R" log cat --from 1500 --to 1502 >"$T/roll.mid"
check "roll: --from 1500 --to 1502 across segments" 'sed -n 1500,1502p "$T/roll.ndjson" | cmp -s - "$T/roll.mid"'
$GS -C "$R" log verify >/dev/null
check "roll: verify ok" '[ $? -eq 0 ]'

# --- 5. exit codes: no store, usage, busy writer ---
$GS -C "$T/nowhere" log stat >/dev/null 2>&1
check "no store: exit 7" '[ $? -eq 7 ]'
$GS -C "$S" log frobnicate >/dev/null 2>&1
check "unknown subcommand: exit 2" '[ $? -eq 2 ]'
$GS -C "$S" ingest --durability sometimes x >/dev/null 2>&1
check "bad option value: exit 2" '[ $? -eq 2 ]'
for c in init ingest "log cat" "log verify" "log stat"; do
  $GS $c --help >/dev/null 2>&1
  check "$c --help exit 0" '[ $? -eq 0 ]'
done
(sleep 3 | $GS -C "$S" ingest -q -) &
holder=$!
sleep 1
$GS -C "$S" ingest -q "$FIX/kord.ndjson" 2>"$T/busy.err"
rc=$?
check "second writer: exit 6 (got $rc)" '[ $rc -eq 6 ]'
check "second writer: message names the holder pid" 'grep -q "locked by another writer (pid [0-9]" "$T/busy.err"'
$GS -C "$S" log stat >/dev/null
check "a reader runs beside the writer" '[ $? -eq 0 ]'
wait $holder

# --- 6. a flipped byte: verify names segment and offset, cat never prints it ---
seg=$(ls "$S"/log/*.seg | head -1)
size=$(stat -c %s "$seg")
python3 - "$seg" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
$GS -C "$S" log verify >"$T/verify.out" 2>&1
rc=$?
check "verify after a flip: exit 5 (got $rc)" '[ $rc -eq 5 ]'
check "verify names the segment and an offset" 'grep -Eq "BAD $(basename "$seg") offset [0-9]+" "$T/verify.out"'
$GS -C "$S" log cat >"$T/cat2.out" 2>"$T/cat2.err"
rc=$?
check "log cat over damage: exit 5" '[ $rc -eq 5 ]'
check "log cat over damage: error names segment and offset" 'grep -q "$(basename "$seg")" "$T/cat2.err"'
python3 - "$T/cat2.out" "$T/expect.out" <<'PY'
import sys
got = open(sys.argv[1], "rb").read().split(b"\n")
good = set(open(sys.argv[2], "rb").read().split(b"\n"))
bad = [l for l in got if l and l not in good]
sys.exit(1 if bad else 0)
PY
check "log cat over damage: every printed line is a true frame" '[ $? -eq 0 ]'

echo "cli-log: $pass passed, $fail failed"
[ $fail -eq 0 ]
