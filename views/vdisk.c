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

int gs_vdisk_packed(int cf, const void *key, size_t klen)
{
    if (cf < GS_VIEW_TYPE_COUNT)
        return 1;
    return cf == GS_VCF_IDX && klen == 25 && ((const uint8_t *)key)[0] == GS_VIDX_NAME;
}

const uint8_t *gs_vdisk_pack(gs_vbuf *buf, const uint8_t *val, size_t vlen, size_t *out_len)
{
    *out_len = vlen;
    gs_vbuf_reset(buf);
    /* cpack never grows a value: replacements are shorter than what they
     * replace. */
    if (vlen == 0 || gs_vbuf_reserve(buf, vlen) != 0)
        return val;
    size_t n = gs_cpack_encode(val, vlen, (uint8_t *)buf->p, buf->cap);
    if (n == 0)
        return val;
    buf->len = n;
    *out_len = n;
    return (const uint8_t *)buf->p;
}

int gs_vdisk_unpack(const uint8_t *in, size_t len, gs_vbuf *buf, const char *where, gs_err *err)
{
    gs_vbuf_reset(buf);
    if (len == 0)
        return GS_OK;
    if (len > SIZE_MAX / MAX_EXPANSION - 64)
        return gs_err_set(err, GS_ECORRUPT, "%s: stored value too large (%zu bytes)", where, len);
    size_t tries[2] = {3 * len + 64, MAX_EXPANSION * len + 64};
    for (int i = 0; i < 2; i++) {
        if (buf->cap < tries[i] && gs_vbuf_reserve(buf, tries[i]) != 0)
            return gs_err_set(err, GS_ENOMEM, "%s: out of memory decoding a value", where);
        size_t n = gs_cpack_decode(in, len, (uint8_t *)buf->p, buf->cap);
        if (n != 0) {
            buf->len = n;
            return GS_OK;
        }
    }
    return gs_err_set(err, GS_ECORRUPT, "%s: stored value is not a valid cpack stream", where);
}

int gs_vdisk_unpack_owned(char **val, size_t *vlen, const char *where, gs_err *err)
{
    gs_vbuf b = {0};
    int rc = gs_vdisk_unpack((const uint8_t *)*val, *vlen, &b, where, err);
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
