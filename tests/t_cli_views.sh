#!/usr/bin/env bash
# t_cli_views.sh - the views through the CLI against scenario.expected.json:
# every fact of the final state (names, types, parents, role lists, nicks,
# availability, the exact sets of channels/threads/roles/members per guild),
# every id in must_not_exist absent (exit 4), and every checkpoint on a fresh
# store fed the scenario up to that `s`. Also: unknown events leave the views
# byte-identical; `views rebuild` gives the same dump; exit codes.
# Env: GS_BIN (build dir), GS_FIXTURES.
set -uo pipefail
export GS=${GS_BIN:?}/gatestore
export FIX=${GS_FIXTURES:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export T

python3 - <<'PY'
import json, os, subprocess, sys

GS, FIX, T = os.environ["GS"], os.environ["FIX"], os.environ["T"]
passed = failed = 0

def ok(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)

def gs(store, *args, check=True):
    p = subprocess.run([GS, "-C", store, *args], capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()

def get(store, typ, id_, guild=None):
    args = ["get", typ, id_] + (["--guild", guild] if guild else [])
    rc, out, err = gs(store, *args)
    if rc == 4:
        return None
    if rc != 0:
        raise RuntimeError(f"get {typ} {id_}: exit {rc}: {err}")
    return json.loads(out)

def ids(store, typ, guild):
    rc, out, err = gs(store, "list", typ, "--guild", guild, "--json")
    if rc != 0:
        raise RuntimeError(f"list {typ}: exit {rc}: {err}")
    objs = [json.loads(l) for l in out.splitlines() if l]
    if typ == "member":
        return {o["user"]["id"] for o in objs}
    return {o["id"] for o in objs}

def same_fields(obj, want, what):
    ok(obj is not None, f"{what} exists")
    if obj is None:
        return
    for k, v in want.items():
        if k in ("guild_id", "user_id", "id"):
            continue
        got = obj.get(k)
        if k == "roles":
            ok(set(got or []) == set(v), f"{what}.roles = {sorted(v)} (got {got})")
        else:
            ok(got == v, f"{what}.{k} = {v!r} (got {got!r})")

def check_guilds(store, guilds, exact, where):
    for gid, g in guilds.items():
        obj = get(store, "guild", gid)
        same_fields(obj, {k: v for k, v in g.items() if not isinstance(v, dict)}, f"{where}: guild {gid}")
        for typ, key in (("channel", "channels"), ("thread", "threads"), ("role", "roles")):
            if key not in g:
                continue
            for cid, want in g[key].items():
                same_fields(get(store, typ, cid), want, f"{where}: {typ} {cid}")
            if exact:
                got = ids(store, typ, gid)
                ok(got == set(g[key]), f"{where}: {key} of {gid} exactly {sorted(g[key])} (got {sorted(got)})")
        if "members" in g:
            for uid, want in g["members"].items():
                same_fields(get(store, "member", uid, gid), want, f"{where}: member {gid}/{uid}")
            if exact:
                got = ids(store, "member", gid)
                ok(got == set(g["members"]), f"{where}: members of {gid} exactly (got {sorted(got)})")

def check_assert(store, a, where):
    if "guilds" in a:
        check_guilds(store, a["guilds"], exact=False, where=where)
    for typ in ("channel", "thread", "role"):
        if typ in a:
            same_fields(get(store, typ, a[typ]["id"]), a[typ], f"{where}: {typ} {a[typ]['id']}")
    if "member" in a:
        m = a["member"]
        same_fields(get(store, "member", m["user_id"], m["guild_id"]), m, f"{where}: member")
    for key, typ in (("absent_channel_ids", "channel"), ("absent_thread_ids", "thread"),
                     ("absent_role_ids", "role"), ("absent_guild_ids", "guild")):
        for i in a.get(key, []):
            ok(get(store, typ, i) is None, f"{where}: {typ} {i} absent")
            if typ == "channel":
                ok(get(store, "thread", i) is None, f"{where}: {i} absent as a thread too")
    for m in a.get("absent_members", []):
        ok(get(store, "member", m["user_id"], m["guild_id"]) is None, f"{where}: member {m} absent")

exp = json.load(open(f"{FIX}/scenario.expected.json"))
lines = open(f"{FIX}/scenario.ndjson", "rb").read().split(b"\n")
lines = [l for l in lines if l.strip()]

def store_upto(name, s_max):
    store = f"{T}/{name}"
    gs(store, "init")
    path = f"{T}/{name}.ndjson"
    with open(path, "wb") as f:
        for l in lines:
            fr = json.loads(l)
            f.write(l + b"\n")
            if fr.get("op") == 0 and s_max is not None and fr.get("s") == s_max:
                break
    rc, out, err = gs(store, "ingest", "-q", path)
    ok(rc == 0, f"{name}: ingest exit 0 (got {rc}: {err})")
    return store

# Final state.
S = store_upto("final", None)
rc, out, _ = gs(S, "views", "status", "--json")
st = json.loads(out)
ok(st["current_user_id"] == exp["current_user_id"], "final: current user")
ok(st["watermark"] == st["head_lsn"] == 25 and st["lag"] == 0, "final: watermark = head = 25")
ok(st["failed_records"] == 0, "final: no failed records")

# Every checkpoint, on a store fed the frames up to that s.
def check_final(store, where):
    check_guilds(store, exp["guilds"], exact=True, where=where)
    mne = exp["must_not_exist"]
    for typ, key in (("guild", "guild_ids"), ("channel", "channel_ids"), ("thread", "thread_ids"), ("role", "role_ids")):
        for i in mne.get(key, []):
            ok(get(store, typ, i) is None, f"{where}: must_not_exist {typ} {i}")
    for m in mne.get("members", []):
        ok(get(store, "member", m["user_id"], m["guild_id"]) is None, f"{where}: must_not_exist member {m}")

check_final(S, "final")
for cp in exp["checkpoints"]:
    store = store_upto(f"cp{cp['after_s']}", cp["after_s"])
    where = f"after s={cp['after_s']} {cp['t']}"
    if isinstance(cp["assert"], dict):
        check_assert(store, cp["assert"], where)
    else:  # "final state (top-level guilds + must_not_exist)"
        check_final(store, where)

# Unknown events change nothing: dump before and after.
def dump(store):
    out = []
    for typ in ("guild", "channel", "thread", "role", "member", "user", "emoji", "sticker",
                "voice_state", "presence", "stage_instance", "scheduled_event"):
        rc, o, _ = gs(store, "list", typ, "--json")
        out.append(o)
    return "".join(out)
before = dump(S)
with open(f"{T}/unknown.ndjson", "w") as f:
    f.write('{"op":0,"t":"SOME_FUTURE_EVENT","s":100,"d":{"id":"967500967257968680","name":"x"}}\n')
    f.write('{"op":0,"t":"GATEWAY_EVENT_NAME","s":101,"d":null}\n')
rc, _, err = gs(S, "ingest", "-q", f"{T}/unknown.ndjson")
ok(rc == 0, "unknown events ingest")
ok(dump(S) == before, "unknown events leave the views byte-identical")

# Rebuild from the log gives the same views.
rc, _, err = gs(S, "views", "rebuild")
ok(rc == 0, f"views rebuild exit 0 ({err})")
ok(dump(S) == before, "rebuilt views equal the incremental ones")

# Exit codes and bad arguments.
ok(gs(S, "get", "guild", "1")[0] == 4, "get absent: exit 4")
ok(gs(S, "get", "guild", "1")[1] == "", "get absent: prints nothing")
ok(gs(S, "get", "planet", "1")[0] == 2, "get unknown type: exit 2")
ok(gs(S, "get", "member", "80351110224678912")[0] == 2, "get member without --guild: exit 2")
ok(gs(S, "list", "channel", "--where", "noequals")[0] == 2, "list --where without =: exit 2")
rc, out, _ = gs(S, "count", "channel", "--guild", "967500967257968680", "--where", "name=general")
ok(rc == 0 and out.strip() == "1", f"count channel name=general in A = 1 (got {out.strip()})")
rc, out, _ = gs(S, "list", "channel", "--guild", "967500967257968680", "--limit", "2")
ok(rc == 0 and len(out.splitlines()) == 2, "list --limit 2")
for c in ("get", "list", "count", "views"):
    ok(gs(S, c, "--help")[0] == 0, f"{c} --help")

# Memory budgets for an ingest: small ones give the same views; bad values
# are refused before anything is written.
M = f"{T}/budgets"
rc, _, err = gs(M, "init")
ok(rc == 0, f"init for budgets ({err})")
rc, _, err = gs(M, "ingest", "-q", "--entity-cache-mb", "1", "--block-cache-mb", "1",
                "--write-buffer-mb", "1", f"{FIX}/scenario.ndjson", f"{T}/unknown.ndjson")
ok(rc == 0, f"ingest with 1 MiB budgets exit 0 ({err})")
ok(dump(M) == before, "1 MiB budgets: the same views")
head = json.loads(gs(M, "views", "status", "--json")[1])["head_lsn"]
for bad in ("0", "1048577", "x", "-3"):
    rc, _, err = gs(M, "ingest", "-q", "--entity-cache-mb", bad, f"{FIX}/scenario.ndjson")
    ok(rc == 2, f"--entity-cache-mb {bad}: exit 2 (got {rc})")
rc, out, _ = gs(M, "views", "status", "--json")
ok(rc == 0 and json.loads(out)["head_lsn"] == head, "refused ingests appended nothing")

# Views compression: lz4 for the big families gives the same views, is
# stored (a later ingest without the option keeps it), is changed by
# `views rebuild --views-compression`, and bad values are refused.
Z = f"{T}/lz4"
rc, _, err = gs(Z, "init")
ok(rc == 0, f"init for compression ({err})")
rc, _, err = gs(Z, "ingest", "-q", "--views-compression", "lz4", f"{FIX}/scenario.ndjson")
ok(rc == 0, f"ingest --views-compression lz4 exit 0 ({err})")
rc, _, err = gs(Z, "ingest", "-q", f"{T}/unknown.ndjson")
ok(rc == 0, f"second ingest without the option exit 0 ({err})")
ok(dump(Z) == before, "lz4: the same views")
rc, out, _ = gs(Z, "views", "status", "--json")
ok(rc == 0 and json.loads(out).get("compression") == "lz4", f"status --json: lz4 kept ({out.strip()})")
ok(rc == 0 and json.loads(out).get("compression_now") == "lz4", f"status --json: lz4 written ({out.strip()})")
rc, out, _ = gs(Z, "views", "status")
ok(rc == 0 and "compression:     lz4, lz4 now" in out, "status: compression lz4")
rc, out, err = gs(Z, "views", "rebuild", "--views-compression", "zstd", "--json")
ok(rc == 0 and json.loads(out).get("compression") == "zstd", f"views rebuild --views-compression zstd ({err})")
ok(dump(Z) == before, "rebuilt with zstd: the same views")
ok(json.loads(gs(Z, "views", "status", "--json")[1]).get("compression") == "zstd",
   "zstd stored for later opens")
head = json.loads(gs(Z, "views", "status", "--json")[1])["head_lsn"]
for args in (["ingest", "-q", "--views-compression", "gzip", f"{FIX}/scenario.ndjson"],
             ["ingest", "-q", f"{FIX}/scenario.ndjson", "--views-compression"],
             ["views", "rebuild", "--views-compression", "LZ4"],
             ["views", "status", "--views-compression", "lz4"]):
    rc, _, _ = gs(Z, *args)
    ok(rc == 2, f"{' '.join(args[:4])}: exit 2 (got {rc})")
ok(json.loads(gs(Z, "views", "status", "--json")[1])["head_lsn"] == head,
   "refused commands appended nothing")
sj = json.loads(gs(S, "views", "status", "--json")[1])
ok(sj.get("compression") == "auto" and sj.get("compression_now") == "zstd",
   f"a store never told otherwise is auto, zstd while small ({sj})")
rc, out, _ = gs(S, "views", "status")
ok(rc == 0 and "compression:     auto, zstd now" in out, f"status: compression auto ({out})")
rc, out, err = gs(Z, "views", "rebuild", "--views-compression", "auto", "--json")
sj = json.loads(out) if rc == 0 else {}
ok(sj.get("compression") == "auto" and sj.get("compression_now") == "zstd",
   f"views rebuild --views-compression auto ({err} {sj})")
ok(dump(Z) == before, "rebuilt with auto: the same views")
Z2 = f"{T}/lz4init"
rc, _, err = gs(Z2, "init", "--drop", "presence", "--views-compression", "lz4")
ok(rc == 0, f"init --views-compression lz4 ({err})")
sj = json.loads(gs(Z2, "views", "status", "--json")[1])
ok(sj.get("compression") == "lz4" and "presence" not in sj["types_kept"],
   f"init stored lz4 and the rules ({sj})")
ok(gs(Z2, "init", "--views-compression", "zstd")[0] == 0, "init of an existing store changes it")
ok(json.loads(gs(Z2, "views", "status", "--json")[1]).get("compression") == "zstd", "now zstd")
ok(gs(Z2, "init", "--views-compression", "bzip2")[0] == 2, "init --views-compression bzip2: exit 2")

# Rules: chosen at init, kept across opens, changed by `views rules`
# (which rebuilds), refused when malformed.
R = f"{T}/rules"
rc, _, err = gs(R, "init", "--drop", "presence,member")
ok(rc == 0, f"init --drop exit 0 ({err})")
rc, _, err = gs(R, "ingest", "-q", f"{FIX}/scenario.ndjson")
ok(rc == 0, f"ingest into a store without members ({err})")
rc, out, _ = gs(R, "views", "rules", "--json")
rj = json.loads(out) if rc == 0 else {}
ok(rj.get("dropped") == ["member", "presence"], f"views rules: member, presence dropped ({out.strip()})")
ok(rj.get("rebuilt_on_open") is False, "views rules without change: no rebuild")
ok(gs(R, "count", "member")[1].strip() == "0", "dropped type: count member = 0")
ok(gs(R, "count", "channel")[1].strip() == gs(S, "count", "channel")[1].strip() != "0",
   "kept types unaffected by the rules")
rc, out, _ = gs(R, "get", "member", "80351110224678912", "--guild", "967500967257968680")
ok(rc == 4 and out == "", "get of a dropped type: not found")
rc, out, _ = gs(R, "views", "status", "--json")
ok(rc == 0 and "member" not in json.loads(out)["types_kept"], "status shows the stored rules after reopen")
rc, out, err = gs(R, "views", "rules", "--keep", "all", "--json")
rj = json.loads(out) if rc == 0 else {}
ok(rj.get("rebuilt_on_open") is True and "rules changed" in rj.get("rebuild_reason", ""),
   f"views rules --keep all rebuilds and says why ({out.strip()} {err})")
ok(gs(R, "count", "member")[1].strip() == gs(S, "count", "member")[1].strip(),
   "after the rebuild members are back, as in the full store")
ok(dump(R) == dump(S), "store rebuilt with all types equals the incremental full store")
ok(gs(R, "views", "rules", "--drop", "planet")[0] == 2, "views rules --drop unknown type: exit 2")
ok(gs(R, "views", "rules", "--keep", "")[0] == 2, "views rules --keep empty: exit 2")
ok(gs(R, "views", "rules", "--keep", "guild,,role")[0] == 2, "views rules --keep with empty name: exit 2")
ok(gs(R, "views", "rules", "--keep")[0] == 2, "views rules --keep without value: exit 2")
ok(gs(R, "init", "--keep", "guild", "--drop", "role")[0] == 2, "init --keep and --drop: exit 2")
ok(gs(R, "views", "rules", "--help")[0] == 0, "views rules --help")
ok(gs(f"{T}/nostore", "views", "rules")[0] == 7, "views rules without a store: exit 7")

print(f"cli-views: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
