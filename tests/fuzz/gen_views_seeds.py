#!/usr/bin/env python3
"""gen_views_seeds.py OUT_DIR - write fuzz_views' seed corpus from the
gateway fixtures (tests/fixtures/gateway/*.ndjson): each dispatch payload
alone, and each file's dispatch frames in runs of 8, in fuzz_views' input
format (fuzz_views.c): a control byte (1: run the queries), then records
separated by NUL, each an event byte (its index in fuzz_views.c's events[])
and the `d` JSON. build.sh runs it; the seeds are derived, not committed.
Fails if views/dispatch.c routes an event that fuzz_views.c does not list."""
import json
import os
import re
import sys

src = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
out = sys.argv[1]


def names_between(path, begin, end):
    text = open(path, encoding="utf-8").read()
    body = text[text.index(begin) : text.index(end)]
    return re.findall(r'"([A-Z_]+)"', body)


events = names_between(os.path.join(src, "tests/fuzz/fuzz_views.c"), "BEGIN events", "END events")
routed = names_between(os.path.join(src, "views/dispatch.c"), "routes[] = {", "};")
missing = sorted(set(routed) - set(events))
if missing:
    sys.exit("gen_views_seeds: fuzz_views.c events[] lacks " + ", ".join(missing))
index = {name: i for i, name in enumerate(events)}

fixtures = os.path.join(src, "tests/fixtures/gateway")
os.makedirs(out, exist_ok=True)
for old in os.listdir(out):
    os.unlink(os.path.join(out, old))


def record(ev, d):
    body = b"" if d is None else json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
    return bytes([index[ev]]) + body


count = 0
for name in sorted(os.listdir(fixtures)):
    if not name.endswith(".ndjson"):
        continue
    recs = []
    with open(os.path.join(fixtures, name), encoding="utf-8") as f:
        for line in f:
            try:
                frame = json.loads(line)
            except ValueError:
                continue
            if not isinstance(frame, dict) or frame.get("op", 0) != 0:
                continue
            ev = frame.get("t")
            if ev in index:
                recs.append(record(ev, frame.get("d")))
    stem = name[: -len(".ndjson")]
    for i, r in enumerate(recs):
        with open(os.path.join(out, "%s-%03d" % (stem, i)), "wb") as f:
            f.write(b"\x01" + r)
        count += 1
    for i in range(0, len(recs), 8):
        with open(os.path.join(out, "%s-run%03d" % (stem, i // 8)), "wb") as f:
            f.write(b"\x01" + b"\x00".join(recs[i : i + 8]))
        count += 1
# Hand-made runs for the applier's shortcuts: deleted-role tombstones (a
# role deleted, then given back to one member), guild-scoped id sets
# (CHANNEL_DELETE with threads, set replacements), the user map (member
# removals with and without another membership).
G, H = "100", "200"
hand = {
    "roledel": [
        ("GUILD_CREATE", {"id": G, "roles": [{"id": "5", "name": "r"}, {"id": "6", "name": "s"}],
                          "members": [{"user": {"id": "7"}, "roles": ["5", "6"]},
                                      {"user": {"id": "8"}, "roles": ["5"]}]}),
        ("GUILD_ROLE_DELETE", {"guild_id": G, "role_id": "5"}),
        ("MESSAGE_CREATE", {"id": "1", "guild_id": G, "author": {"id": "7"}, "member": {"nick": "n"}}),
        ("GUILD_MEMBER_UPDATE", {"guild_id": G, "user": {"id": "8"}, "roles": [5]}),
        ("GUILD_ROLE_DELETE", {"guild_id": G, "role_id": "6"}),
        ("GUILD_MEMBERS_CHUNK", {"guild_id": G, "members": [{"user": {"id": "9"}, "roles": ["6"]}]}),
        ("GUILD_DELETE", {"id": G}),
    ],
    "sets": [
        ("GUILD_CREATE", {"id": G, "channels": [{"id": "11", "type": 0}, {"id": "12", "type": 0}],
                          "threads": [{"id": "13", "parent_id": "11", "type": 11},
                                      {"id": "14", "parent_id": "12", "type": 11}],
                          "emojis": [{"id": "15"}], "stickers": [{"id": "16"}]}),
        ("THREAD_CREATE", {"id": "17", "guild_id": G, "parent_id": "11", "type": 11}),
        ("CHANNEL_DELETE", {"id": "11", "guild_id": G, "type": 0}),
        ("GUILD_EMOJIS_UPDATE", {"guild_id": G, "emojis": [{"id": "18"}]}),
        ("GUILD_STICKERS_UPDATE", {"guild_id": G, "stickers": []}),
        ("THREAD_LIST_SYNC", {"guild_id": G, "threads": [{"id": "19", "parent_id": "12", "type": 11}]}),
    ],
    "users": [
        ("GUILD_CREATE", {"id": G, "members": [{"user": {"id": "7"}}, {"user": {"id": "8"}}]}),
        ("GUILD_CREATE", {"id": H, "members": [{"user": {"id": "7"}}]}),
        ("GUILD_MEMBER_REMOVE", {"guild_id": G, "user": {"id": "7"}}),
        ("GUILD_MEMBER_REMOVE", {"guild_id": G, "user": {"id": "8"}}),
        ("GUILD_MEMBER_ADD", {"guild_id": G, "user": {"id": "8"}}),
        ("GUILD_MEMBER_REMOVE", {"guild_id": H, "user": {"id": "7"}}),
    ],
}
for stem, seq in hand.items():
    with open(os.path.join(out, "hand-" + stem), "wb") as f:
        f.write(b"\x01" + b"\x00".join(record(ev, d) for ev, d in seq))
    count += 1

print("gen_views_seeds: %d seeds in %s" % (count, out))
