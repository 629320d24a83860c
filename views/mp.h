/*
 * mp.h - msgpack for view values: a small bounds-checked reader, a map
 * builder that merges a JSON payload over an old value, and conversion
 * between msgpack and JSON text. Values are packed with msgpack-c; reading
 * is done here so that damaged bytes from disk give GS_ECORRUPT, never a
 * crash, and so that merges can copy old members as raw byte spans.
 */
#ifndef GS_MP_H
#define GS_MP_H

#include <msgpack.h>

#include "gs_common.h"
#include "json.h"
#include "vbuf.h"

typedef enum gs_mpt {
    GS_MP_NIL,
    GS_MP_BOOL,
    GS_MP_INT,  /* negative */
    GS_MP_UINT, /* non-negative */
    GS_MP_DOUBLE,
    GS_MP_STR,
    GS_MP_BIN,
    GS_MP_EXT,
    GS_MP_ARRAY,
    GS_MP_MAP
} gs_mpt;

/* One msgpack header. For STR/BIN/EXT the body (s, len) is included; for
 * ARRAY/MAP n is the number of elements / pairs that follow. */
typedef struct gs_mpv {
    gs_mpt type;
    int b;
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
    uint32_t len;
    uint32_t n;
} gs_mpv;

typedef struct gs_mpr {
    const uint8_t *p;
    const uint8_t *end;
} gs_mpr;

void gs_mpr_init(gs_mpr *r, const void *p, size_t len);
/* Read one header. 0 ok, -1 truncated or invalid. */
int gs_mpr_read(gs_mpr *r, gs_mpv *v);
/* Skip one whole value (nested ones included). 0 ok, -1 truncated/invalid. */
int gs_mpr_skip(gs_mpr *r);

/* Look up key in the map p[0..len). 1 found (*vp, *vl = the value's bytes),
 * 0 absent, -1 not a well-formed map. */
int gs_mp_map_find(const uint8_t *p, size_t len, const char *key, size_t klen, const uint8_t **vp,
                   size_t *vl);
/* Same with a dotted path ("thread_metadata.archived"). */
int gs_mp_path_find(const uint8_t *p, size_t len, const char *path, const uint8_t **vp, size_t *vl);
/* If p[0..len) is a string, set *s and *sl and return 1; else 0. */
int gs_mp_as_str(const uint8_t *p, size_t len, const char **s, size_t *sl);
/* If p[0..len) is a string of decimal digits or a non-negative integer,
 * set *id and return 1; else 0. */
int gs_mp_as_id(const uint8_t *p, size_t len, uint64_t *id);

/* Pack a JSON value (recursively) / a snowflake as a decimal string.
 * 0 ok, -1 out of memory. */
int gs_mp_pack_json(msgpack_packer *pk, gs_jval v);
int gs_mp_pack_idstr(msgpack_packer *pk, uint64_t id);

/* A map under construction: members are packed into body and counted; the
 * keys are remembered so later members with the same key are skipped
 * (first one wins). */
typedef struct gs_mpb {
    gs_vbuf body;
    msgpack_packer pk;
    uint32_t n;
    uint32_t *koff; /* key bytes: body.p + koff[i], klen[i] long */
    uint32_t *klen;
    uint32_t nkeys;
    uint32_t kcap;
    uint32_t hint; /* where gs_mpb_old_members' next key check starts */
} gs_mpb;

void gs_mpb_init(gs_mpb *b);
void gs_mpb_reset(gs_mpb *b);
void gs_mpb_free(gs_mpb *b);
int gs_mpb_has(const gs_mpb *b, const char *key, size_t klen);
/* Start a member: pack the key; the caller packs the value with b->pk.
 * GS_OK or GS_ENOMEM. */
int gs_mpb_key(gs_mpb *b, const char *key, size_t klen);
/* Convenience members; each is skipped if the key is already present. */
int gs_mpb_idstr(gs_mpb *b, const char *key, uint64_t id);
int gs_mpb_idobj(gs_mpb *b, const char *key, uint64_t id); /* {"id": "<id>"} */
int gs_mpb_bool(gs_mpb *b, const char *key, int val);
int gs_mpb_json(gs_mpb *b, const char *key, size_t klen, gs_jval val);
int gs_mpb_raw(gs_mpb *b, const char *key, size_t klen, const uint8_t *val, size_t vlen);
/* Add obj's members (obj may be any JSON value: non-objects add nothing)
 * except those whose key is in skip (NULL-terminated, may be NULL). */
int gs_mpb_json_members(gs_mpb *b, gs_jval obj, const char *const *skip);
/* Add the members of the map old[0..len) not yet present and not in skip.
 * GS_OK, GS_ENOMEM or GS_ECORRUPT (old is not a well-formed map). */
int gs_mpb_old_members(gs_mpb *b, const uint8_t *old, size_t len, const char *const *skip);
/* Write the finished map (header + members) to out (reset first). */
int gs_mpb_finish(gs_mpb *b, gs_vbuf *out);

/* Append msgpack p[0..len) as JSON text to out. indent 0: compact; > 0:
 * pretty-printed with that many spaces per level. GS_OK, GS_ECORRUPT or
 * GS_ENOMEM. */
int gs_mp_to_json(gs_vbuf *out, const uint8_t *p, size_t len, int indent);
/* Append s[0..len) as a JSON string literal. */
int gs_json_quote(gs_vbuf *out, const char *s, size_t len);

#endif
