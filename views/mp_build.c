/*
 * mp_build.c - building view values: JSON payloads packed as msgpack, and
 * maps merged from several sources where the first source of a key wins.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "cpack.h"
#include "keycmp.h"
#include "mp.h"
#include "vbuf.h"

/* A string, header and body, as msgpack_pack_str and msgpack_pack_str_body
 * write it (the shortest header, str8 included), in one step when the
 * packer writes into a gs_vbuf: these two calls were a callback, a reserve
 * and a memcpy each, for every key and string of every value built. */
static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    if (pk->callback != gs_vbuf_mp_write || n > UINT32_MAX)
        return msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0 ? -1 : 0;
    gs_vbuf *b = pk->data;
    if (gs_vbuf_reserve(b, 5 + n) != 0)
        return -1;
    uint8_t *o = (uint8_t *)b->p + b->len;
    size_t h;
    if (n < 32) {
        o[0] = (uint8_t)(0xa0 | n);
        h = 1;
    } else if (n < 256) {
        o[0] = 0xd9;
        o[1] = (uint8_t)n;
        h = 2;
    } else if (n < 65536) {
        o[0] = 0xda;
        o[1] = (uint8_t)(n >> 8);
        o[2] = (uint8_t)n;
        h = 3;
    } else {
        o[0] = 0xdb;
        o[1] = (uint8_t)(n >> 24);
        o[2] = (uint8_t)(n >> 16);
        o[3] = (uint8_t)(n >> 8);
        o[4] = (uint8_t)n;
        h = 5;
    }
    if (n)
        memcpy(o + h, s, n);
    b->len += h + n;
    return 0;
}

int gs_mp_pack_idstr(msgpack_packer *pk, uint64_t id)
{
    /* cpack's decimal writer (a fixstr: header, then the digits). */
    uint8_t tmp[21];
    size_t n = gs_cpack_idstr(tmp, id);
    return pack_str(pk, (const char *)tmp + 1, n - 1);
}

int gs_mp_pack_json(msgpack_packer *pk, gs_jval v)
{
    switch (gs_json_type(v)) {
    case GS_JNULL:
        return msgpack_pack_nil(pk);
    case GS_JBOOL: {
        int b = 0;
        gs_json_bool(v, &b);
        return b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
    case GS_JINT: {
        int64_t i = 0;
        gs_json_int64(v, &i);
        return msgpack_pack_int64(pk, i);
    }
    case GS_JUINT: {
        uint64_t u = 0;
        gs_json_uint64(v, &u);
        return msgpack_pack_uint64(pk, u);
    }
    case GS_JDOUBLE: {
        double d = 0;
        gs_json_double(v, &d);
        return msgpack_pack_double(pk, d);
    }
    case GS_JSTRING: {
        const char *s = NULL;
        size_t n = 0;
        gs_json_string(v, &s, &n);
        if (n > UINT32_MAX)
            return -1;
        return pack_str(pk, s, n);
    }
    case GS_JARRAY: {
        gs_jiter it;
        gs_jval e;
        if (msgpack_pack_array(pk, gs_json_len(v)) != 0)
            return -1;
        gs_json_arr_begin(v, &it);
        while (gs_json_arr_next(&it, &e) == 1)
            if (gs_mp_pack_json(pk, e) != 0)
                return -1;
        return 0;
    }
    case GS_JOBJECT: {
        gs_jiter it;
        gs_jval e;
        const char *k;
        size_t kl;
        if (msgpack_pack_map(pk, gs_json_len(v)) != 0)
            return -1;
        gs_json_obj_begin(v, &it);
        while (gs_json_obj_next(&it, &k, &kl, &e) == 1) {
            if (pack_str(pk, k, kl) != 0)
                return -1;
            if (gs_mp_pack_json(pk, e) != 0)
                return -1;
        }
        return 0;
    }
    }
    return -1;
}

void gs_mpb_init(gs_mpb *b)
{
    memset(b, 0, sizeof(*b));
    msgpack_packer_init(&b->pk, &b->body, gs_vbuf_mp_write);
}

void gs_mpb_reset(gs_mpb *b)
{
    gs_vbuf_reset(&b->body);
    b->n = 0;
    b->nkeys = 0;
    b->hint = 0;
}

void gs_mpb_free(gs_mpb *b)
{
    gs_vbuf_free(&b->body);
    free(b->koff);
    free(b->klen);
    b->koff = b->klen = NULL;
    b->n = b->nkeys = b->kcap = 0;
}

int gs_mpb_has(const gs_mpb *b, const char *key, size_t klen)
{
    for (uint32_t i = 0; i < b->nkeys; i++)
        if (b->klen[i] == klen && gs_key_eq(b->body.p + b->koff[i], key, klen))
            return 1;
    return 0;
}

int gs_mpb_key(gs_mpb *b, const char *key, size_t klen)
{
    if (b->nkeys == b->kcap) {
        uint32_t cap = b->kcap ? b->kcap * 2 : 32;
        uint32_t *o = realloc(b->koff, cap * sizeof(*o));
        if (!o)
            return GS_ENOMEM;
        b->koff = o;
        uint32_t *l = realloc(b->klen, cap * sizeof(*l));
        if (!l)
            return GS_ENOMEM;
        b->klen = l;
        b->kcap = cap;
    }
    if (pack_str(&b->pk, key, klen) != 0)
        return GS_ENOMEM;
    size_t off = b->body.len - klen; /* the key's bytes, after its header */
    if (off > UINT32_MAX)
        return GS_ENOMEM;
    b->koff[b->nkeys] = (uint32_t)off;
    b->klen[b->nkeys] = (uint32_t)klen;
    b->nkeys++;
    b->n++;
    return GS_OK;
}

int gs_mpb_idstr(gs_mpb *b, const char *key, uint64_t id)
{
    size_t kl = strlen(key);
    if (gs_mpb_has(b, key, kl))
        return GS_OK;
    if (gs_mpb_key(b, key, kl) != GS_OK || gs_mp_pack_idstr(&b->pk, id) != 0)
        return GS_ENOMEM;
    return GS_OK;
}

int gs_mpb_idobj(gs_mpb *b, const char *key, uint64_t id)
{
    size_t kl = strlen(key);
    if (gs_mpb_has(b, key, kl))
        return GS_OK;
    if (gs_mpb_key(b, key, kl) != GS_OK || msgpack_pack_map(&b->pk, 1) != 0 ||
        pack_str(&b->pk, "id", 2) != 0 || gs_mp_pack_idstr(&b->pk, id) != 0)
        return GS_ENOMEM;
    return GS_OK;
}

int gs_mpb_bool(gs_mpb *b, const char *key, int val)
{
    size_t kl = strlen(key);
    if (gs_mpb_has(b, key, kl))
        return GS_OK;
    if (gs_mpb_key(b, key, kl) != GS_OK)
        return GS_ENOMEM;
    if ((val ? msgpack_pack_true(&b->pk) : msgpack_pack_false(&b->pk)) != 0)
        return GS_ENOMEM;
    return GS_OK;
}

int gs_mpb_json(gs_mpb *b, const char *key, size_t klen, gs_jval val)
{
    if (gs_mpb_has(b, key, klen))
        return GS_OK;
    if (gs_mpb_key(b, key, klen) != GS_OK || gs_mp_pack_json(&b->pk, val) != 0)
        return GS_ENOMEM;
    return GS_OK;
}

/* Append key with its value's msgpack bytes, unchecked. */
static int append_raw(gs_mpb *b, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
    if (gs_mpb_key(b, key, klen) != GS_OK || gs_vbuf_put(&b->body, val, vlen) != 0)
        return GS_ENOMEM;
    return GS_OK;
}

int gs_mpb_raw(gs_mpb *b, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
    return gs_mpb_has(b, key, klen) ? GS_OK : append_raw(b, key, klen, val, vlen);
}

static int skipped(const char *const *skip, const char *key, size_t klen)
{
    if (!skip)
        return 0;
    for (; *skip; skip++)
        if (strlen(*skip) == klen && memcmp(*skip, key, klen) == 0)
            return 1;
    return 0;
}

int gs_mpb_json_members(gs_mpb *b, gs_jval obj, const char *const *skip)
{
    gs_jiter it;
    gs_jval e;
    const char *k;
    size_t kl;
    if (gs_json_obj_begin(obj, &it) != 0)
        return GS_OK;
    while (gs_json_obj_next(&it, &k, &kl, &e) == 1) {
        if (skipped(skip, k, kl))
            continue;
        int rc = gs_mpb_json(b, k, kl, e);
        if (rc != GS_OK)
            return rc;
    }
    return GS_OK;
}

/* gs_mpb_has for the old value's keys, which mostly come in the order the
 * new value wrote them (both were built from payloads of one shape): the
 * scan starts after the key found last, so each is found at once instead
 * of after half the keys. */
static int has_in_order(gs_mpb *b, const char *key, size_t klen)
{
    uint32_t n = b->nkeys, i = b->hint < n ? b->hint : 0;
    for (uint32_t k = 0; k < n; k++) {
        if (b->klen[i] == klen && gs_key_eq(b->body.p + b->koff[i], key, klen)) {
            b->hint = i + 1;
            return 1;
        }
        if (++i == n)
            i = 0;
    }
    return 0;
}

int gs_mpb_old_members(gs_mpb *b, const uint8_t *old, size_t len, const char *const *skip)
{
    gs_mpr r;
    gs_mpv v;
    gs_mpr_init(&r, old, len);
    if (gs_mpr_read(&r, &v) != 0 || v.type != GS_MP_MAP)
        return GS_ECORRUPT;
    for (uint32_t i = 0; i < v.n; i++) {
        gs_mpv k;
        if (gs_mpr_read(&r, &k) != 0 || k.type != GS_MP_STR)
            return GS_ECORRUPT;
        const uint8_t *start = r.p;
        if (gs_mpr_skip(&r) != 0)
            return GS_ECORRUPT;
        if (skipped(skip, k.s, k.len) || has_in_order(b, k.s, k.len))
            continue;
        int rc = append_raw(b, k.s, k.len, start, (size_t)(r.p - start));
        if (rc != GS_OK)
            return rc;
    }
    return GS_OK;
}

int gs_mpb_finish(gs_mpb *b, gs_vbuf *out)
{
    msgpack_packer pk;
    gs_vbuf_reset(out);
    msgpack_packer_init(&pk, out, gs_vbuf_mp_write);
    if (b->body.oom || msgpack_pack_map(&pk, b->n) != 0 ||
        gs_vbuf_put(out, b->body.p, b->body.len) != 0)
        return GS_ENOMEM;
    return GS_OK;
}
