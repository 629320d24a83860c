/*
 * mp_read.c - a bounds-checked msgpack reader. Every length is checked
 * against the end of the buffer before it is used, and skipping nested
 * values is iterative, so damaged bytes from disk can only produce -1.
 */
#include "gs_common.h"

#include <string.h>

#include "decimal.h"
#include "keycmp.h"
#include "mp.h"

void gs_mpr_init(gs_mpr *r, const void *p, size_t len)
{
    r->p = p;
    r->end = r->p + len;
}

static int need(const gs_mpr *r, size_t n)
{
    return (size_t)(r->end - r->p) >= n ? 0 : -1;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = (x << 8) | p[i];
    return x;
}

/* Read an n-byte big-endian length and then that many body bytes. */
static int body(gs_mpr *r, int nlen, gs_mpv *v)
{
    if (need(r, (size_t)nlen) != 0)
        return -1;
    uint64_t len = be(r->p, nlen);
    r->p += nlen;
    if (need(r, len) != 0)
        return -1;
    v->s = (const char *)r->p;
    v->len = (uint32_t)len;
    r->p += len;
    return 0;
}

static int ext(gs_mpr *r, int nlen, uint32_t fixed, gs_mpv *v)
{
    uint64_t len = fixed;
    if (nlen) {
        if (need(r, (size_t)nlen) != 0)
            return -1;
        len = be(r->p, nlen);
        r->p += nlen;
    }
    if (need(r, len + 1) != 0) /* type byte + data */
        return -1;
    v->type = GS_MP_EXT;
    v->s = (const char *)r->p + 1;
    v->len = (uint32_t)len;
    r->p += len + 1;
    return 0;
}

static int count(gs_mpr *r, int nlen, gs_mpt t, gs_mpv *v)
{
    if (need(r, (size_t)nlen) != 0)
        return -1;
    v->type = t;
    v->n = (uint32_t)be(r->p, nlen);
    r->p += nlen;
    return 0;
}

static int num(gs_mpr *r, int nbytes, int is_signed, gs_mpv *v)
{
    if (need(r, (size_t)nbytes) != 0)
        return -1;
    uint64_t x = be(r->p, nbytes);
    r->p += nbytes;
    if (!is_signed) {
        v->type = GS_MP_UINT;
        v->u = x;
        return 0;
    }
    int64_t s;
    switch (nbytes) {
    case 1:
        s = (int8_t)(uint8_t)x;
        break;
    case 2:
        s = (int16_t)(uint16_t)x;
        break;
    case 4:
        s = (int32_t)(uint32_t)x;
        break;
    default:
        memcpy(&s, &x, sizeof(s));
        break;
    }
    if (s >= 0) {
        v->type = GS_MP_UINT;
        v->u = (uint64_t)s;
    } else {
        v->type = GS_MP_INT;
        v->i = s;
    }
    return 0;
}

int gs_mpr_read(gs_mpr *r, gs_mpv *v)
{
    if (need(r, 1) != 0)
        return -1;
    uint8_t c = *r->p++;
    if (c <= 0x7f) {
        v->type = GS_MP_UINT;
        v->u = c;
        return 0;
    }
    if (c >= 0xe0) {
        v->type = GS_MP_INT;
        v->i = (int8_t)c;
        return 0;
    }
    if (c >= 0x80 && c <= 0x8f) {
        v->type = GS_MP_MAP;
        v->n = c & 0x0f;
        return 0;
    }
    if (c >= 0x90 && c <= 0x9f) {
        v->type = GS_MP_ARRAY;
        v->n = c & 0x0f;
        return 0;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        uint32_t len = c & 0x1f;
        if (need(r, len) != 0)
            return -1;
        v->type = GS_MP_STR;
        v->s = (const char *)r->p;
        v->len = len;
        r->p += len;
        return 0;
    }
    switch (c) {
    case 0xc0:
        v->type = GS_MP_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        v->type = GS_MP_BOOL;
        v->b = c == 0xc3;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        v->type = GS_MP_BIN;
        return body(r, 1 << (c - 0xc4), v);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        return ext(r, 1 << (c - 0xc7), 0, v);
    case 0xca: {
        if (need(r, 4) != 0)
            return -1;
        uint32_t x = (uint32_t)be(r->p, 4);
        float f;
        memcpy(&f, &x, sizeof(f));
        r->p += 4;
        v->type = GS_MP_DOUBLE;
        v->d = f;
        return 0;
    }
    case 0xcb: {
        if (need(r, 8) != 0)
            return -1;
        uint64_t x = be(r->p, 8);
        memcpy(&v->d, &x, sizeof(v->d));
        r->p += 8;
        v->type = GS_MP_DOUBLE;
        return 0;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        return num(r, 1 << (c - 0xcc), 0, v);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        return num(r, 1 << (c - 0xd0), 1, v);
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return ext(r, 0, 1u << (c - 0xd4), v);
    case 0xd9:
    case 0xda:
    case 0xdb:
        v->type = GS_MP_STR;
        return body(r, 1 << (c - 0xd9), v);
    case 0xdc:
    case 0xdd:
        return count(r, c == 0xdc ? 2 : 4, GS_MP_ARRAY, v);
    case 0xde:
    case 0xdf:
        return count(r, c == 0xde ? 2 : 4, GS_MP_MAP, v);
    default: /* 0xc1 is never used */
        return -1;
    }
}

int gs_mpr_skip(gs_mpr *r)
{
    uint64_t pending = 1;
    while (pending > 0) {
        gs_mpv v;
        if (gs_mpr_read(r, &v) != 0)
            return -1;
        pending--;
        if (v.type == GS_MP_ARRAY)
            pending += v.n;
        else if (v.type == GS_MP_MAP)
            pending += 2 * (uint64_t)v.n;
        /* Each pending value needs at least one byte: a count beyond the
         * bytes left is damage, found here rather than after a long loop. */
        if (pending > (uint64_t)(r->end - r->p))
            return -1;
    }
    return 0;
}

int gs_mp_map_find(const uint8_t *p, size_t len, const char *key, size_t klen, const uint8_t **vp,
                   size_t *vl)
{
    gs_mpr r;
    gs_mpv v;
    gs_mpr_init(&r, p, len);
    if (gs_mpr_read(&r, &v) != 0 || v.type != GS_MP_MAP)
        return -1;
    for (uint32_t i = 0; i < v.n; i++) {
        gs_mpv k;
        if (gs_mpr_read(&r, &k) != 0 || k.type != GS_MP_STR)
            return -1;
        const uint8_t *start = r.p;
        if (gs_mpr_skip(&r) != 0)
            return -1;
        if (k.len == klen && gs_key_eq(k.s, key, klen)) {
            *vp = start;
            *vl = (size_t)(r.p - start);
            return 1;
        }
    }
    return 0;
}

int gs_mp_path_find(const uint8_t *p, size_t len, const char *path, const uint8_t **vp, size_t *vl)
{
    const uint8_t *cur = p;
    size_t cur_len = len;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t seg = dot ? (size_t)(dot - path) : strlen(path);
        int rc = gs_mp_map_find(cur, cur_len, path, seg, &cur, &cur_len);
        if (rc != 1)
            return rc;
        if (!dot) {
            *vp = cur;
            *vl = cur_len;
            return 1;
        }
        path = dot + 1;
        gs_mpr r;
        gs_mpv v;
        gs_mpr_init(&r, cur, cur_len);
        if (gs_mpr_read(&r, &v) != 0 || v.type != GS_MP_MAP)
            return 0; /* the path goes through a non-map: absent */
    }
}

int gs_mp_as_str(const uint8_t *p, size_t len, const char **s, size_t *sl)
{
    gs_mpr r;
    gs_mpv v;
    gs_mpr_init(&r, p, len);
    if (gs_mpr_read(&r, &v) != 0 || v.type != GS_MP_STR)
        return 0;
    *s = v.s;
    *sl = v.len;
    return 1;
}

int gs_mp_as_id(const uint8_t *p, size_t len, uint64_t *id)
{
    gs_mpr r;
    gs_mpv v;
    gs_mpr_init(&r, p, len);
    if (gs_mpr_read(&r, &v) != 0)
        return 0;
    if (v.type == GS_MP_UINT) {
        *id = v.u;
        return 1;
    }
    return v.type == GS_MP_STR && gs_dec_u64(v.s, v.len, id);
}
