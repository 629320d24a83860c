#!/usr/bin/env bash
# Checks gatestore-gen: determinism, JSON validity, sequence numbers, snapshot
# shape, chunking, and that every update is coherent with the state the
# stream itself has built (deletes/updates hit live entities, creates mint
# ids never seen before).
#
# usage: tests/gen_check.sh path/to/gatestore-gen
set -euo pipefail

GEN=${1:-${GS_BIN:?usage: $0 path/to/gatestore-gen (or set GS_BIN)}/gatestore-gen}
if [[ ! -x "$GEN" ]]; then
    echo "gen_check: $GEN is not an executable" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "gen_check: python3 is required" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1" >&2; }
check() { # check NAME COMMAND...: passes when the command succeeds
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

SMALL=(--guilds 6 --channels 12 --roles 8 --members 40 --updates 4000)

# ---- determinism ----------------------------------------------------------
"$GEN" "${SMALL[@]}" --seed 7 >"$TMP/a.ndjson"
"$GEN" "${SMALL[@]}" --seed 7 >"$TMP/b.ndjson"
"$GEN" "${SMALL[@]}" --seed 8 >"$TMP/c.ndjson"
"$GEN" "${SMALL[@]}" --seed 7 -o "$TMP/d.ndjson"
sha() { sha256sum "$1" | cut -d' ' -f1; }
check "same seed gives identical bytes" test "$(sha "$TMP/a.ndjson")" = "$(sha "$TMP/b.ndjson")"
check "-o FILE matches stdout" test "$(sha "$TMP/a.ndjson")" = "$(sha "$TMP/d.ndjson")"
check "different seed gives different bytes" test "$(sha "$TMP/a.ndjson")" != "$(sha "$TMP/c.ndjson")"

# ---- validity, sequence numbers, coherence --------------------------------
# validate.py FILE [--chunked] [--envelope SHARDS] prints a one-line summary
# as JSON and exits non-zero with a message on the first violation.
cat >"$TMP/validate.py" <<'PY'
import json, sys

path = sys.argv[1]
chunked = "--chunked" in sys.argv
envelope = "--envelope" in sys.argv
shards = int(sys.argv[sys.argv.index("--envelope") + 1]) if envelope else 1

def die(lineno, msg):
    sys.exit(f"{path}:{lineno}: {msg}")

def no_dups(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key in {keys}")
    return dict(pairs)

class Guild:
    def __init__(self):
        self.members, self.channels, self.roles = set(), {}, set()
        self.threads, self.voice = {}, {}
        self.emojis, self.stickers = set(), set()
        self.available = False

kinds = {}          # id -> kind of entity it was minted for
guilds = {}
creates = deletes = chunk_members = 0
seq = 0
last_received = ""
summary = {"frames": 0, "dispatch": 0}

def mint(ln, ident, kind):
    if ident in kinds:
        if kinds[ident] == kind:
            return
        allowed = {("guild", "role"), ("role", "guild")}
        if (kinds[ident], kind) not in allowed:
            die(ln, f"id {ident} minted as {kinds[ident]} and again as {kind}")
    kinds[ident] = kind

def fresh(ln, ident, kind):
    if ident in kinds:
        die(ln, f"create reuses id {ident} (already a {kinds[ident]})")
    kinds[ident] = kind

def member_ok(ln, g, m, need_user=True):
    uid = m["user"]["id"] if "user" in m else None
    for r in m["roles"]:
        if r not in g.roles or r == gid_of(g):
            die(ln, f"member role {r} does not exist")
    return uid

def gid_of(g):
    return g.gid

def load_guild(ln, d, first):
    gid = d["id"]
    g = guilds.get(gid) or Guild()
    g.gid = gid
    roles = {r["id"] for r in d["roles"]}
    channels = {c["id"]: c for c in d["channels"]}
    members = {m["user"]["id"] for m in d["members"]}
    if not first:
        # A comeback after an outage must show exactly the tracked state.
        if roles != g.roles or set(channels) != set(g.channels):
            die(ln, "GUILD_CREATE after outage differs from tracked roles/channels")
        if not chunked and members != g.members:
            die(ln, "GUILD_CREATE after outage differs from tracked members")
        if {t["id"] for t in d["threads"]} != set(g.threads):
            die(ln, "GUILD_CREATE after outage differs from tracked threads")
    if gid not in roles:
        die(ln, "@everyone role missing")
    if d["member_count"] != (len(g.members) if not first else d["member_count"]):
        die(ln, "member_count disagrees with tracked members")
    for c in d["channels"]:
        if "guild_id" in c:
            die(ln, "GUILD_CREATE channel carries guild_id")
    general = [c for c in d["channels"] if c["type"] == 0 and c["name"] == "general"]
    if not general:
        die(ln, "no #general text channel")
    if first:
        mint(ln, gid, "guild")
        for r in roles:
            mint(ln, r, "role" if r != gid else "guild")
        for c in d["channels"]:
            mint(ln, c["id"], "channel")
            for t in c.get("available_tags", []):
                mint(ln, t["id"], "tag")
        for m in d["members"]:
            mint(ln, m["user"]["id"], "user")
        for e in d["emojis"]:
            mint(ln, e["id"], "emoji")
        for s in d["stickers"]:
            mint(ln, s["id"], "sticker")
        for t in d["threads"]:
            mint(ln, t["id"], "thread")
        g.roles, g.channels = roles, channels
        g.members = set(members)
        if chunked and (len(d["members"]) != 1 or d["member_count"] < 1):
            die(ln, "--chunked GUILD_CREATE must carry only the bot's member")
        g.threads = {t["id"]: t["parent_id"] for t in d["threads"]}
        g.voice = {v["user_id"]: v["channel_id"] for v in d["voice_states"]}
        g.emojis = {e["id"] for e in d["emojis"]}
        g.stickers = {s["id"] for s in d["stickers"]}
    for m in d["members"]:
        member_ok(ln, g, m)
    for v in d["voice_states"]:
        # Chunked guilds list voice states of members that arrive later.
        known = chunked or v["user_id"] in g.members | members
        if v["channel_id"] not in g.channels or not known:
            die(ln, "voice state refers to unknown channel or member")
    for c in d["channels"]:
        if c.get("parent_id") and c["parent_id"] not in channels:
            die(ln, f"channel parent {c['parent_id']} missing")
        for ow in c["permission_overwrites"]:
            if ow["id"] not in roles:
                die(ln, "overwrite for a role that does not exist")
    g.available = True
    guilds[gid] = g

def dispatch(ln, t, d):
    global creates, deletes, chunk_members
    if t == "READY":
        for u in d["guilds"]:
            if not u["unavailable"]:
                die(ln, "READY guild not unavailable")
        return
    if t in ("USER_UPDATE", "X_EXPERIMENT_ASSIGNED"):
        return
    if t == "GUILD_CREATE":
        first = d["id"] not in guilds
        creates += 1
        if not first and guilds[d["id"]].available:
            die(ln, "GUILD_CREATE for a guild that never went away")
        load_guild(ln, d, first)
        return
    gid = d.get("guild_id", d.get("id"))
    g = guilds.get(gid)
    if g is None:
        die(ln, f"{t} for unknown guild {gid}")
    if not g.available:
        die(ln, f"{t} for a guild that is unavailable")
    if t == "GUILD_DELETE":
        if not d.get("unavailable"):
            die(ln, "GUILD_DELETE without unavailable:true")
        g.available = False
        deletes += 1
    elif t == "GUILD_UPDATE":
        if {r["id"] for r in d["roles"]} != g.roles:
            die(ln, "GUILD_UPDATE roles differ from tracked roles")
    elif t == "GUILD_MEMBER_ADD":
        fresh(ln, d["user"]["id"], "user")
        member_ok(ln, g, d)
        g.members.add(d["user"]["id"])
    elif t == "GUILD_MEMBER_UPDATE":
        if d["user"]["id"] not in g.members:
            die(ln, "update of a member who is not there")
        member_ok(ln, g, d)
    elif t == "GUILD_MEMBER_REMOVE":
        uid = d["user"]["id"]
        if uid not in g.members:
            die(ln, "removal of a member who is not there")
        g.members.discard(uid)
        g.voice.pop(uid, None)
    elif t == "GUILD_MEMBERS_CHUNK":
        for m in d["members"]:
            uid = m["user"]["id"]
            if d["nonce"].startswith("gs-init-"):
                mint(ln, uid, "user")
                g.members.add(uid)
                chunk_members += 1
            elif uid not in g.members:
                die(ln, "chunk lists a member who is not there")
            member_ok(ln, g, m)
    elif t == "CHANNEL_CREATE":
        fresh(ln, d["id"], "channel")
        for tag in d.get("available_tags", []):
            fresh(ln, tag["id"], "tag")
        if d.get("parent_id") and d["parent_id"] not in g.channels:
            die(ln, "new channel's parent does not exist")
        g.channels[d["id"]] = d
    elif t == "CHANNEL_UPDATE":
        if d["id"] not in g.channels:
            die(ln, "update of a missing channel")
    elif t == "CHANNEL_DELETE":
        cid = d["id"]
        if cid not in g.channels:
            die(ln, "delete of a missing channel")
        if any(c.get("parent_id") == cid for c in g.channels.values()):
            die(ln, "deleted a category that still has children")
        del g.channels[cid]
        g.threads = {k: p for k, p in g.threads.items() if p != cid}
        g.voice = {u: c for u, c in g.voice.items() if c != cid}
    elif t == "GUILD_ROLE_CREATE":
        fresh(ln, d["role"]["id"], "role")
        g.roles.add(d["role"]["id"])
    elif t == "GUILD_ROLE_UPDATE":
        if d["role"]["id"] not in g.roles:
            die(ln, "update of a missing role")
    elif t == "GUILD_ROLE_DELETE":
        rid = d["role_id"]
        if rid not in g.roles or rid == gid:
            die(ln, "delete of a missing role or of @everyone")
        g.roles.discard(rid)
    elif t == "THREAD_CREATE":
        fresh(ln, d["id"], "thread")
        if d["parent_id"] not in g.channels:
            die(ln, "thread parent does not exist")
        g.threads[d["id"]] = d["parent_id"]
    elif t in ("THREAD_UPDATE", "THREAD_DELETE"):
        if d["id"] not in g.threads:
            die(ln, f"{t} of a missing thread")
        if t == "THREAD_DELETE":
            del g.threads[d["id"]]
    elif t == "THREAD_LIST_SYNC":
        for th in d["threads"]:
            if th["id"] not in g.threads:
                die(ln, "list sync names a missing thread")
    elif t == "THREAD_MEMBERS_UPDATE":
        if d["id"] not in g.threads:
            die(ln, "members update of a missing thread")
        for m in d.get("added_members", []):
            if m["user_id"] not in g.members:
                die(ln, "thread member who is not a guild member")
    elif t in ("GUILD_EMOJIS_UPDATE", "GUILD_STICKERS_UPDATE"):
        key = "emojis" if t == "GUILD_EMOJIS_UPDATE" else "stickers"
        new = {e["id"] for e in d[key]}
        old = g.emojis if key == "emojis" else g.stickers
        if len(new ^ old) > 1:
            die(ln, f"{t} changes more than one item")
        for e in new - old:
            fresh(ln, e, key)
        if key == "emojis":
            g.emojis = new
        else:
            g.stickers = new
    elif t == "VOICE_STATE_UPDATE":
        uid, cid = d["user_id"], d["channel_id"]
        if uid not in g.members:
            die(ln, "voice state of a non-member")
        if cid is None:
            if uid not in g.voice:
                die(ln, "voice leave of someone not in voice")
            del g.voice[uid]
        else:
            if cid not in g.channels or g.channels[cid]["type"] not in (2, 13):
                die(ln, "voice join of a missing or non-voice channel")
            g.voice[uid] = cid
    elif t == "PRESENCE_UPDATE":
        if d["user"]["id"] not in g.members:
            die(ln, "presence of a non-member")
    elif t == "MESSAGE_CREATE":
        fresh(ln, d["id"], "message")
        for a in d["attachments"]:
            fresh(ln, a["id"], "attachment")
        if d["channel_id"] not in g.channels and d["channel_id"] not in g.threads:
            die(ln, "message in a missing channel")
        if d["author"]["id"] not in g.members:
            die(ln, "message by a non-member")
        if "user" in d["member"]:
            die(ln, "MESSAGE_CREATE member must be partial (no user)")
        member_ok(ln, g, d["member"])
    elif t == "TYPING_START":
        if d["user_id"] not in g.members or d["channel_id"] not in g.channels:
            die(ln, "typing by a non-member or in a missing channel")
    elif t in ("SOME_FUTURE_EVENT", "GUILD_FUTURE_THING_UPDATE"):
        pass
    else:
        die(ln, f"unexpected event {t}")

with open(path, encoding="utf-8") as f:
    for ln, line in enumerate(f, 1):
        try:
            obj = json.loads(line, object_pairs_hook=no_dups)
        except ValueError as e:
            die(ln, f"invalid JSON: {e}")
        summary["frames"] += 1
        if envelope:
            if set(obj) != {"frame", "received_at", "shard"}:
                die(ln, "bad envelope keys")
            if obj["received_at"] <= last_received:
                die(ln, "received_at does not advance")
            last_received = obj["received_at"]
            frame = obj["frame"]
        else:
            frame = obj
        if frame["op"] != 0:
            if frame["op"] not in (1, 10, 11):
                die(ln, f"unexpected op {frame['op']}")
            continue
        seq += 1
        if frame["s"] != seq:
            die(ln, f"s is {frame['s']}, expected {seq}")
        d = frame["d"]
        if envelope:
            gid = d.get("guild_id") or (d.get("id") if frame["t"].startswith("GUILD_C")
                                        or frame["t"] in ("GUILD_UPDATE", "GUILD_DELETE")
                                        else None)
            want = (int(gid) >> 22) % shards if gid else 0
            if obj["shard"] != want:
                die(ln, f"shard {obj['shard']}, expected {want}")
        dispatch(ln, frame["t"], d)

summary.update(dispatch=seq, creates=creates, deletes=deletes, chunk_members=chunk_members,
               guilds=len(guilds))
print(json.dumps(summary))
PY

validate() { python3 "$TMP/validate.py" "$@"; }
quiet() { "$@" >/dev/null; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

if summary=$(validate "$TMP/a.ndjson"); then
    pass "valid JSON, no duplicate keys, s increments, updates coherent"
    creates=$(field "$summary" creates)
    deletes=$(field "$summary" deletes)
    check "GUILD_CREATE count == --guilds (+1 per outage)" test "$creates" -eq $((6 + deletes))
    check "every guild appears" test "$(field "$summary" guilds)" -eq 6
else
    fail "valid JSON, no duplicate keys, s increments, updates coherent"
fi

# Outages are rare; a long run with few guilds must show (and survive) some.
"$GEN" --guilds 3 --channels 6 --roles 4 --members 12 --updates 60000 --seed 3 >"$TMP/long.ndjson"
if summary=$(validate "$TMP/long.ndjson"); then
    pass "long run stays coherent"
    deletes=$(field "$summary" deletes)
    check "long run has GUILD_DELETE outages" test "$deletes" -gt 0
    check "each outage ends in a GUILD_CREATE" test "$(field "$summary" creates)" -eq $((3 + deletes))
else
    fail "long run stays coherent"
fi

# Degenerate shapes: one of everything.
"$GEN" --guilds 1 --channels 1 --roles 1 --members 1 --updates 2000 >"$TMP/tiny.ndjson"
check "minimal shape is coherent" quiet validate "$TMP/tiny.ndjson"

# ---- chunked --------------------------------------------------------------
"$GEN" --guilds 5 --channels 8 --roles 5 --members 2300 --updates 0 --chunked >"$TMP/ch.ndjson"
if summary=$(validate "$TMP/ch.ndjson" --chunked); then
    pass "--chunked output is valid and coherent"
    check "--chunked chunks sum to guilds*members" \
        test "$(field "$summary" chunk_members)" -eq $((5 * 2300))
else
    fail "--chunked output is valid and coherent"
fi
"$GEN" "${SMALL[@]}" --chunked >"$TMP/ch2.ndjson"
check "--chunked with updates is coherent" quiet validate "$TMP/ch2.ndjson" --chunked

# ---- envelope, shards, non-dispatch frames --------------------------------
"$GEN" "${SMALL[@]}" --seed 7 --envelope --shards 4 >"$TMP/env.ndjson"
"$GEN" "${SMALL[@]}" --seed 7 --shards 4 >"$TMP/plain4.ndjson"
check "--envelope output is valid with correct shards" \
    quiet validate "$TMP/env.ndjson" --envelope 4
if python3 -c '
import json, sys
inner = [json.dumps(json.loads(l)["frame"], ensure_ascii=False, separators=(",", ":"))
         for l in open(sys.argv[1], encoding="utf-8")]
plain = [json.dumps(json.loads(l), ensure_ascii=False, separators=(",", ":"))
         for l in open(sys.argv[2], encoding="utf-8")]
sys.exit(inner != plain)' "$TMP/env.ndjson" "$TMP/plain4.ndjson"; then
    pass "--envelope wraps the very same frames"
else
    fail "--envelope wraps the very same frames"
fi

"$GEN" "${SMALL[@]}" --seed 7 --no-nondispatch >"$TMP/nd.ndjson"
check "--no-nondispatch only drops op!=0 frames" \
    cmp -s <(grep '"op":0,' "$TMP/a.ndjson") "$TMP/nd.ndjson"
check "HELLO comes first" test "$(head -c 9 "$TMP/a.ndjson")" = '{"op":10,'
check "heartbeat ACKs are sprinkled" grep -q '^{"op":11}$' "$TMP/a.ndjson"

# ---- command line and errors -------------------------------------------------
check "--help exits 0" quiet "$GEN" --help
rc=0
"$GEN" --guilds 0 >/dev/null 2>&1 || rc=$?
check "bad value exits 2" test "$rc" -eq 2
rc=0
"$GEN" --frobnicate >/dev/null 2>&1 || rc=$?
check "unknown option exits 2" test "$rc" -eq 2
rc=0
"$GEN" --guilds >/dev/null 2>&1 || rc=$?
check "missing value exits 2" test "$rc" -eq 2
check "nothing on stderr without --stats" \
    test -z "$("$GEN" "${SMALL[@]}" 2>&1 >/dev/null)"
check "--stats reports totals" grep -q '^total' <("$GEN" "${SMALL[@]}" --stats 2>&1 >/dev/null)
if [[ -w /dev/full ]]; then
    rc=0
    "$GEN" "${SMALL[@]}" >/dev/full 2>"$TMP/err" || rc=$?
    check "ENOSPC exits 1 with a message" test "$rc" -eq 1 -a -s "$TMP/err"
fi
set +o pipefail
"$GEN" --updates 200000 2>"$TMP/err" | head -c 100 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
check "closed pipe exits 1 with a message" test "$rc" -eq 1 -a -s "$TMP/err"

# ---- size of the default benchmark shape ----------------------------------
bytes=$("$GEN" --guilds 200 --channels 50 --roles 30 --members 500 --updates 100000 | wc -c)
check "default shape is 120 MB +-25% ($bytes bytes)" \
    test "$bytes" -ge 90000000 -a "$bytes" -le 150000000

echo "$passed passed, $failed failed"
test "$failed" -eq 0
