#!/usr/bin/env bash
# t_tail.sh - `gatestore tail`: a --follow reader in one process sees every
# frame that `gatestore ingest` appends in another, in order and byte for
# byte (three ingest runs, the follower started before the first); --json
# LSNs run 1..N; -n, --from, --event, --guild, --confirm; SIGINT and SIGPIPE
# end a follower cleanly (exit 0); usage errors exit 2, a missing store 7.
# Env: GS_BIN (build dir), GS_FIXTURES (fixture dir).
set -uo pipefail
GS=${GS_BIN:?}/gatestore
FIX=${GS_FIXTURES:?}
T=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }

# Wait (a hang guard, not a timing check) until file $1 has $2 lines.
wait_lines() {
  for _ in $(seq 1 600); do
    [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# N frames in three chunks: CHANNEL_CREATE in guilds 1 and 2, and TYPING_START.
N=3000
python3 - "$T" "$N" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
lines = []
for i in range(1, n + 1):
    if i % 3 == 0:
        lines.append('{"op":0,"t":"TYPING_START","s":%d,"d":{"channel_id":"%d","user_id":"7"}}' % (i, i))
    else:
        lines.append('{"op":0,"t":"CHANNEL_CREATE","s":%d,"d":{"id":"%d","guild_id":"%d","type":0,"name":"c%d"}}' % (i, 10000 + i, 1 + i % 2, i))
third = n // 3
for k, part in enumerate([lines[:third], lines[third:2 * third], lines[2 * third:]]):
    open("%s/in%d.ndjson" % (d, k), "w").write("\n".join(part) + "\n")
open("%s/all.ndjson" % d, "w").write("\n".join(lines) + "\n")
PY

S=$T/s
$GS -C "$S" init 2>/dev/null

# --- 1. a follower in another process sees every frame, in order ---
$GS -C "$S" tail --from 1 --follow >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
pids+=("$fpid")
$GS -C "$S" tail --from 1 --follow --json >"$T/follow.json" 2>/dev/null &
jpid=$!
pids+=("$jpid")
sleep 0.2
for k in 0 1 2; do
  $GS -q -C "$S" ingest "$T/in$k.ndjson"
  check "ingest $k exit 0" '[ $? -eq 0 ]'
done
check "follower got $N lines" 'wait_lines "$T/follow.out" $N'
check "json follower got $N lines" 'wait_lines "$T/follow.json" $N'
kill -INT "$fpid" "$jpid"
wait "$fpid"
rc=$?
check "SIGINT ends the follower with exit 0 (got $rc)" '[ $rc -eq 0 ]'
wait "$jpid"
check "follower output == the input, byte for byte, in order" 'cmp -s "$T/follow.out" "$T/all.ndjson"'
$GS -C "$S" log cat >"$T/cat.out"
check "follower output == log cat" 'cmp -s "$T/follow.out" "$T/cat.out"'
python3 - "$T/follow.json" "$N" <<'PY' 2>"$T/json.err"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["lsn"] for r in rows] == list(range(1, int(sys.argv[2]) + 1)), "lsns"
assert all(r["format"] == 1 and "frame" in r and "received_at" in r for r in rows)
PY
check "--json: format 1, LSNs 1..N in order ($(cat "$T/json.err"))" '[ $? -eq 0 ]'
check "nothing on the follower's stderr" '[ ! -s "$T/follow.err" ]'

# --- 2. without --follow: -n, --from, filters ---
$GS -C "$S" tail >"$T/t10"
check "tail: the last 10 frames" 'tail -n 10 "$T/all.ndjson" | cmp -s - "$T/t10"'
$GS -C "$S" tail -n 3 >"$T/t3"
check "tail -n 3" 'tail -n 3 "$T/all.ndjson" | cmp -s - "$T/t3"'
$GS -C "$S" tail --from 2990 --json | python3 -c 'import json,sys; print(",".join(str(json.loads(l)["lsn"]) for l in sys.stdin))' >"$T/from"
check "tail --from 2990: 2990..3000" '[ "$(cat "$T/from")" = "2990,2991,2992,2993,2994,2995,2996,2997,2998,2999,3000" ]'
$GS -C "$S" tail --from 1 --event TYPING_START >"$T/typing"
check "--event TYPING_START: 1000 frames" '[ "$(wc -l <"$T/typing")" -eq 1000 ] && ! grep -qv TYPING_START "$T/typing"'
$GS -C "$S" tail --from 1 --guild 2 >"$T/g2"
check "--guild 2: 1000 frames, all guild 2" '[ "$(wc -l <"$T/g2")" -eq 1000 ] && ! grep -qv "\"guild_id\":\"2\"" "$T/g2"'
$GS -C "$S" tail --from 1 --event CHANNEL_CREATE --event TYPING_START --guild 1 >"$T/g1"
check "--event x2 --guild 1: 1000 frames" '[ "$(wc -l <"$T/g1")" -eq 1000 ]'
$GS -C "$S" tail --confirm --from 1 >"$T/conf"
check "--confirm: every frame (the writer's views applied them)" 'cmp -s "$T/conf" "$T/all.ndjson"'
$GS -C "$S" tail --since 2000-01-01T00:00:00Z | wc -l >"$T/since"
check "--since long ago: all frames" '[ "$(cat "$T/since")" -eq $N ]'

# --- 3. SIGPIPE: a follower piped into head ends cleanly ---
timeout 20 bash -c "$GS -C '$S' tail --from 1 --follow | head -n 5 >'$T/head5'; echo \${PIPESTATUS[0]} >'$T/pipe_rc'"
check "tail --follow | head ends (timeout rc $?)" '[ -s "$T/pipe_rc" ]'
check "... with exit 0 (got $(cat "$T/pipe_rc" 2>/dev/null))" '[ "$(cat "$T/pipe_rc")" = 0 ]'
check "... after 5 lines" '[ "$(wc -l <"$T/head5")" -eq 5 ]'

# --- 4. usage and store errors ---
$GS -C "$S" tail --help >/dev/null
check "--help exit 0" '[ $? -eq 0 ]'
$GS -C "$S" tail --bogus 2>/dev/null
check "unknown option: exit 2" '[ $? -eq 2 ]'
$GS -C "$S" tail --from x 2>/dev/null
check "bad --from: exit 2" '[ $? -eq 2 ]'
$GS -C "$S" tail --from 1 --since 0 2>/dev/null
check "--from with --since: exit 2" '[ $? -eq 2 ]'
$GS -C "$S" tail --event 2>/dev/null
check "--event without a name: exit 2" '[ $? -eq 2 ]'
$GS -C "$T/nostore" tail 2>/dev/null
check "no store: exit 7" '[ $? -eq 7 ]'
E=$T/empty
$GS -C "$E" init 2>/dev/null
$GS -C "$E" tail >"$T/empty.out"
check "empty store: exit 0, nothing printed" '[ $? -eq 0 ] && [ ! -s "$T/empty.out" ]'
rm -f "$E/watermark" # as if no writer with views had run
timeout 20 $GS -C "$E" tail --confirm --follow 2>"$T/noview.err"
rc=$?
check "--confirm without a published watermark: exit 1 (got $rc)" '[ $rc -eq 1 ]'
check "... saying so" 'grep -q watermark "$T/noview.err"'

echo "t_tail: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
