/* record.c - one log record in msgpack:
 *   [lsn, recv_us, shard|nil, seq|nil, op, event str|nil, raw bin]
 *
 * Packing uses msgpack-c's packer writing straight into the block buffer
 * (the caller reserves gs_rec_bound() bytes first, so the write callback
 * never allocates or fails).
 *
 * Unpacking is a strict hand decoder for this one fixed shape instead of
 * msgpack-c's unpacker: msgpack-c's C unpacker allocates array and map
 * storage from counts read from the input without any limit (a 5-byte
 * array32 header asks for ~100 GB), and decodes any shape, which we would
 * then have to re-check field by field. Here every length is checked
 * against the bytes left before it is used, nothing is allocated, and the
 * string and binary fields point into the block buffer. */
#include "gs_common.h"

#include "record.h"

#include <msgpack.h>
#include <string.h>

typedef struct packbuf {
    uint8_t *p;
} packbuf;

static int pack_write(void *data, const char *buf, size_t len)
{
    packbuf *pb = data;
    memcpy(pb->p, buf, len);
    pb->p += len;
    return 0;
}

size_t gs_rec_bound(const gs_log_rec_in *r)
{
    /* fixarray 1 + lsn 9 + recv 9 + shard 5 + seq 9 + op 5 + str hdr 5 +
     * bin hdr 5 = 48, rounded up. */
    return 64 + r->event_len + r->raw_len;
}

size_t gs_rec_pack(uint8_t *out, uint64_t lsn, const gs_log_rec_in *r)
{
    packbuf pb = {out};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &pb, pack_write);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint64(&pk, lsn);
    msgpack_pack_int64(&pk, r->recv_us);
    if (r->shard < 0)
        msgpack_pack_nil(&pk);
    else
        msgpack_pack_int32(&pk, r->shard);
    if (r->seq < 0)
        msgpack_pack_nil(&pk);
    else
        msgpack_pack_int64(&pk, r->seq);
    msgpack_pack_int32(&pk, r->op);
    if (!r->event) {
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_str(&pk, r->event_len);
        msgpack_pack_str_body(&pk, r->event, r->event_len);
    }
    msgpack_pack_bin(&pk, r->raw_len);
    msgpack_pack_bin_body(&pk, r->raw, r->raw_len);
    return (size_t)(pb.p - out);
}

/* ---- decoding ---- */

typedef struct rd {
    const uint8_t *p, *end;
    const char *what;
} rd;

static int need(rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->what = "record truncated";
        return -1;
    }
    return 0;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Any msgpack integer. *neg tells whether it is a negative int. */
static int rd_int(rd *r, int64_t *sv, uint64_t *uv, int *neg)
{
    if (need(r, 1))
        return -1;
    uint8_t t = *r->p++;
    *neg = 0;
    if (t <= 0x7f) {
        *uv = t;
    } else if (t >= 0xe0) {
        *neg = 1;
        *sv = (int8_t)t;
    } else {
        int n;
        int is_signed;
        switch (t) {
        case 0xcc:
            n = 1;
            is_signed = 0;
            break;
        case 0xcd:
            n = 2;
            is_signed = 0;
            break;
        case 0xce:
            n = 4;
            is_signed = 0;
            break;
        case 0xcf:
            n = 8;
            is_signed = 0;
            break;
        case 0xd0:
            n = 1;
            is_signed = 1;
            break;
        case 0xd1:
            n = 2;
            is_signed = 1;
            break;
        case 0xd2:
            n = 4;
            is_signed = 1;
            break;
        case 0xd3:
            n = 8;
            is_signed = 1;
            break;
        default:
            r->what = "expected an integer";
            return -1;
        }
        if (need(r, (size_t)n))
            return -1;
        uint64_t v = be(r->p, n);
        r->p += n;
        if (!is_signed) {
            *uv = v;
        } else {
            int shift = 64 - 8 * n;
            int64_t s = (int64_t)(v << shift) >> shift; /* sign-extend */
            if (s < 0) {
                *neg = 1;
                *sv = s;
            } else {
                *uv = (uint64_t)s;
            }
        }
    }
    return 0;
}

static int rd_i64(rd *r, int64_t min, int64_t max, int64_t *out)
{
    int64_t sv = 0;
    uint64_t uv = 0;
    int neg;
    if (rd_int(r, &sv, &uv, &neg))
        return -1;
    if (!neg) {
        if (uv > (uint64_t)INT64_MAX) {
            r->what = "integer out of range";
            return -1;
        }
        sv = (int64_t)uv;
    }
    if (sv < min || sv > max) {
        r->what = "integer out of range";
        return -1;
    }
    *out = sv;
    return 0;
}

static int is_nil(rd *r)
{
    if (r->p < r->end && *r->p == 0xc0) {
        r->p++;
        return 1;
    }
    return 0;
}

/* str (want_bin = 0) or bin (1): pointer into the buffer and length. */
static int rd_bytes(rd *r, int want_bin, const char **s, size_t *len)
{
    if (need(r, 1))
        return -1;
    uint8_t t = *r->p++;
    int n;
    uint64_t l;
    if (!want_bin && t >= 0xa0 && t <= 0xbf) {
        n = 0;
        l = t & 0x1f;
    } else if (!want_bin && t >= 0xd9 && t <= 0xdb) {
        n = 1 << (t - 0xd9);
    } else if (want_bin && t >= 0xc4 && t <= 0xc6) {
        n = 1 << (t - 0xc4);
    } else {
        r->what = want_bin ? "expected binary raw frame" : "expected event string or nil";
        return -1;
    }
    if (n) {
        if (need(r, (size_t)n))
            return -1;
        l = be(r->p, n);
        r->p += n;
    }
    if (need(r, l))
        return -1;
    *s = (const char *)r->p;
    *len = (size_t)l;
    r->p += l;
    return 0;
}

int gs_rec_unpack(const uint8_t *p, size_t len, gs_log_rec *out, size_t *used, const char **what)
{
    rd r = {p, p + len, NULL};
    int64_t v;
    if (need(&r, 1) || *r.p++ != 0x97) {
        *what = r.what ? r.what : "record is not a 7-element array";
        return GS_ECORRUPT;
    }
    uint64_t lsn;
    int64_t sv;
    int neg;
    if (rd_int(&r, &sv, &lsn, &neg))
        goto bad;
    if (neg || lsn == 0) {
        r.what = "bad record LSN";
        goto bad;
    }
    out->lsn = lsn;
    if (rd_i64(&r, INT64_MIN, INT64_MAX, &out->recv_us))
        goto bad;
    if (is_nil(&r)) {
        out->shard = -1;
    } else {
        if (rd_i64(&r, 0, INT32_MAX, &v))
            goto bad;
        out->shard = (int32_t)v;
    }
    if (is_nil(&r)) {
        out->seq = -1;
    } else {
        if (rd_i64(&r, 0, INT64_MAX, &out->seq))
            goto bad;
    }
    if (rd_i64(&r, INT32_MIN, INT32_MAX, &v))
        goto bad;
    out->op = (int32_t)v;
    if (is_nil(&r)) {
        out->event = NULL;
        out->event_len = 0;
    } else if (rd_bytes(&r, 0, &out->event, &out->event_len)) {
        goto bad;
    }
    if (rd_bytes(&r, 1, &out->raw, &out->raw_len))
        goto bad;
    *used = (size_t)(r.p - p);
    return GS_OK;
bad:
    *what = r.what;
    return GS_ECORRUPT;
}
