/*
 * vdisk.c - the stored form of view values (vdisk.h, FORMAT.md 3a).
 *
 * Why cpack on disk: RocksDB compresses each 8 KiB block on its own, so the
 * field names, decimal snowflakes, hex hashes and ISO timestamps repeated
 * in every member and user value are paid again in every block. Measured on
 * the live values of the default benchmark shape (zstd level 3, 8 KiB
 * blocks): members 4.75 -> 3.11 MB, users 6.57 -> 4.63 MB, all families
 * 16.4 -> 11.3 MB; and the memtables hold about 40 % of the bytes.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "cpack.h"
#include "vdisk.h"
#include "views_int.h"

/* Decoding expands a dictionary code (2 bytes) to at most 32 bytes, every
 * other replacement less, verbatim bytes not at all: 16 x the stored
 * length always suffices. Most values fit the first, smaller try. */
#define MAX_EXPANSION 16u

/* A stored value starting 0xc1 0xf3 (never valid cpack: 0xf3 is not a
 * code) is a map whose first pair, "id" with the key's own id as a
 * decimal string, was left out: the key gives it back. */
#define VD_TOK  0xc1
#define VD_NOID 0xf3

int gs_vdisk_packed(int cf, const void *key, size_t klen)
{
    if (cf < GS_VIEW_TYPE_COUNT)
        return 1;
    return cf == GS_VCF_IDX && klen == 25 && ((const uint8_t *)key)[0] == GS_VIDX_NAME;
}

/* A map header for n pairs (msgpack-c's shortest) at out; its length. */
static size_t map_hdr(uint8_t *out, uint64_t n)
{
    if (n < 16) {
        out[0] = (uint8_t)(0x80 | n);
        return 1;
    }
    if (n <= 0xffff) {
        out[0] = 0xde;
        out[1] = (uint8_t)(n >> 8);
        out[2] = (uint8_t)n;
        return 3;
    }
    out[0] = 0xdf;
    for (int i = 0; i < 4; i++)
        out[1 + i] = (uint8_t)(n >> (24 - 8 * i));
    return 5;
}

/* Parse a map header at p: its length and pair count, 0 if not a map. */
static size_t map_parse(const uint8_t *p, size_t len, uint64_t *n)
{
    if (len >= 1 && p[0] >= 0x80 && p[0] <= 0x8f) {
        *n = p[0] & 0x0f;
        return 1;
    }
    if (len >= 3 && p[0] == 0xde) {
        *n = (uint64_t)p[1] << 8 | p[2];
        return 3;
    }
    if (len >= 5 && p[0] == 0xdf) {
        *n = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
        return 5;
    }
    return 0;
}

/* The "id": "<decimal>" pair the key implies (the key's last 8 bytes),
 * as msgpack, at out (room for 3 + 21 bytes); its length, 0 if the key
 * implies none. */
static size_t id_pair(const uint8_t *key, size_t klen, uint8_t *out)
{
    if (klen != 8 && klen != 16 && klen != 25)
        return 0;
    /* Not snprintf: this runs for every value stored and every value read
     * back (snprintf was 2.4 % of a rebuild's applying thread). */
    out[0] = 0xa2;
    out[1] = 'i';
    out[2] = 'd';
    return 3 + gs_cpack_idstr(out + 3, gs_get_be64(key + klen - 8));
}

const uint8_t *gs_vdisk_pack(gs_vbuf *buf, const void *key, size_t klen, const uint8_t *val,
                             size_t vlen, size_t *out_len)
{
    const uint8_t *cp;
    size_t cplen;
    return gs_vdisk_pack_both(buf, key, klen, val, vlen, out_len, &cp, &cplen);
}

/* The value is encoded once (the entity cache takes the same cpack form,
 * cache.h), then the id pair is cut from the encoding: cpack replaces
 * token by token, so the encoding starts with the id pair's own encoding
 * exactly when the value starts with the pair, and the stored bytes are
 * those of encoding the value without it. */
const uint8_t *gs_vdisk_pack_both(gs_vbuf *buf, const void *key, size_t klen, const uint8_t *val,
                                  size_t vlen, size_t *out_len, const uint8_t **cp, size_t *cplen)
{
    *out_len = vlen;
    *cp = NULL;
    *cplen = 0;
    gs_vbuf_reset(buf);
    /* cpack never grows a value: replacements are shorter than what they
     * replace. Room for the encoding, then for the stored form. */
    size_t room = vlen + 8;
    if (vlen == 0 || gs_vbuf_reserve(buf, 2 * room) != 0)
        return val;
    uint8_t *enc = (uint8_t *)buf->p;
    size_t e = gs_cpack_encode(val, vlen, enc, room);
    if (e == 0)
        return val;
    *cp = enc;
    *cplen = e;
    /* The id pair {"id": "<key's id>"} as a one-pair map, encoded: its
     * first byte is the map header (verbatim), the rest the pair. */
    uint8_t idm[1 + 32], idc[1 + 32];
    size_t il = id_pair(key, klen, idm + 1);
    size_t ic = 0;
    if (il) {
        idm[0] = 0x81;
        ic = gs_cpack_encode(idm, 1 + il, idc, sizeof(idc));
    }
    uint64_t n = 0;
    size_t h = map_parse(enc, e, &n);
    /* Only a shortest map header: reading gives back map_hdr(n), so a
     * longer spelling of it would not read back byte for byte. */
    uint8_t mh[5];
    int shortest = h && map_hdr(mh, n) == h && memcmp(mh, enc, h) == 0;
    if (!shortest || n < 1 || ic < 2 || e - h < ic - 1 || memcmp(enc + h, idc + 1, ic - 1) != 0) {
        *out_len = e;
        return enc;
    }
    uint8_t *st = enc + room;
    st[0] = VD_TOK;
    st[1] = VD_NOID;
    size_t nh = map_hdr(st + 2, n - 1);
    size_t rest = e - h - (ic - 1);
    memcpy(st + 2 + nh, enc + h + (ic - 1), rest);
    *out_len = 2 + nh + rest;
    return st;
}

/* Decode a cpack stream into buf at offset off. */
static int decode_at(const uint8_t *in, size_t len, gs_vbuf *buf, size_t off, const char *where,
                     gs_err *err)
{
    if (len > SIZE_MAX / MAX_EXPANSION - 64 - off)
        return gs_err_set(err, GS_ECORRUPT, "%s: stored value too large (%zu bytes)", where, len);
    size_t tries[2] = {off + 3 * len + 64, off + MAX_EXPANSION * len + 64};
    for (int i = 0; i < 2; i++) {
        if (buf->cap < tries[i] && gs_vbuf_reserve(buf, tries[i]) != 0)
            return gs_err_set(err, GS_ENOMEM, "%s: out of memory decoding a value", where);
        size_t n = gs_cpack_decode(in, len, (uint8_t *)buf->p + off, buf->cap - off);
        if (n != 0) {
            buf->len = off + n;
            return GS_OK;
        }
    }
    return gs_err_set(err, GS_ECORRUPT, "%s: stored value is not a valid cpack stream", where);
}

int gs_vdisk_unpack(const void *key, size_t klen, const uint8_t *in, size_t len, gs_vbuf *buf,
                    const char *where, gs_err *err)
{
    gs_vbuf_reset(buf);
    if (len == 0)
        return GS_OK;
    if (len < 2 || in[0] != VD_TOK || in[1] != VD_NOID)
        return decode_at(in, len, buf, 0, where, err);
    /* The id pair was left out: decode the rest behind room for it. */
    uint8_t idp[32];
    size_t il = id_pair(key, klen, idp);
    if (il == 0)
        return gs_err_set(err, GS_ECORRUPT, "%s: stored value lacks an id its key cannot give",
                          where);
    enum { ROOM = 64 };
    int rc = decode_at(in + 2, len - 2, buf, ROOM, where, err);
    if (rc != GS_OK)
        return rc;
    uint8_t *p = (uint8_t *)buf->p;
    uint64_t n = 0;
    size_t h = map_parse(p + ROOM, buf->len - ROOM, &n);
    if (h == 0 || n >= UINT32_MAX)
        return gs_err_set(err, GS_ECORRUPT, "%s: stored value without its id is not a map", where);
    uint8_t hdr[8];
    size_t nh = map_hdr(hdr, n + 1);
    /* The new header and the id pair end where the old header ended. */
    size_t start = ROOM + h - nh - il;
    memcpy(p + start, hdr, nh);
    memcpy(p + start + nh, idp, il);
    memmove(p, p + start, buf->len - start);
    buf->len -= start;
    return GS_OK;
}

int gs_vdisk_unpack_owned(const void *key, size_t klen, char **val, size_t *vlen, const char *where,
                          gs_err *err)
{
    gs_vbuf b = {0};
    int rc = gs_vdisk_unpack(key, klen, (const uint8_t *)*val, *vlen, &b, where, err);
    free(*val);
    *val = NULL;
    if (rc != GS_OK) {
        gs_vbuf_free(&b);
        return rc;
    }
    *val = b.p;
    *vlen = b.len;
    return GS_OK;
}
