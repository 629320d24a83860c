/*
 * frame.h - one NDJSON input line to a gateway frame description.
 *
 * A line is either a bare gateway frame ({"op":0,"t":..,"s":..,"d":..}, keys
 * in any order) or a capture envelope wrapping one:
 *
 *   {"received_at":"2022-11-01T18:40:00.123Z","shard":3,"frame":{...}}
 *
 * A line whose top-level object has a `frame` key is an envelope, whatever
 * else it holds. received_at (optional) is an RFC 3339 timestamp (see
 * timefmt.h) or an integer of unix milliseconds >= 0; shard (optional) is
 * 0..65535; null is the same as absent. Other envelope keys are ignored.
 * gs_frame_parse validates the line fully (JSON syntax, UTF-8, depth, the
 * frame's field types) and reports where the frame's own bytes are, so the
 * log can keep them verbatim.
 */
#ifndef GS_FRAME_H
#define GS_FRAME_H

#include "gs_common.h"
#include "json.h"

typedef struct gs_frame_limits {
    uint64_t max_frame_bytes; /* longest line accepted (GS_ETOOBIG beyond) */
    uint32_t max_depth;       /* deepest JSON value, as json.h counts it */
} gs_frame_limits;

typedef struct gs_frame {
    int op;            /* gateway opcode, >= 0 */
    int64_t seq;       /* `s`; -1 when absent or null */
    const char *event; /* `t`, decoded; NULL when absent or null */
    size_t event_len;
    /* The frame's exact bytes: the line without surrounding whitespace, or
     * for an envelope the inner frame's byte span within the line. */
    const char *raw;
    size_t raw_len;
    int envelope;    /* 1 if the line was an envelope */
    int64_t recv_us; /* envelope received_at, µs since the Unix epoch */
    int has_recv;
    int32_t shard; /* envelope shard, 0..65535 */
    int has_shard;
} gs_frame;

/* A JSON parser sized for frames under these limits (max_frame_bytes is the
 * parser's max_len, so oversized lines fail before any parsing). Free with
 * gs_json_destroy. */
int gs_frame_json_create(const gs_frame_limits *lim, gs_json **out, gs_err *err);

/* Parse line[0..len) (no trailing newline needed; cap = bytes allocated at
 * line, >= len, for in-place parsing; see gs_json_parse) into *out.
 *
 * Errors: GS_ETOOBIG (line longer than the parser's max_len), GS_ETOODEEP,
 * GS_EUTF8, GS_EJSON (malformed, or not an object), GS_EFRAME (op, t or s
 * missing or of the wrong type), GS_EENVELOPE (frame, received_at or shard
 * bad), GS_ENOMEM. *out is left untouched on error.
 *
 * Lifetime: out->raw points into line; out->event points into p's document
 * and is valid until the next parse on p. Same threading as p. */
int gs_frame_parse(gs_json *p, const char *line, size_t len, size_t cap, gs_frame *out,
                   gs_err *err);

#endif
