/* block.c - encode/decode of segment headers, block headers and index
 * footers, and the block codec (zstd compression, XXH3-64 checksum). */
#include "gs_common.h"

#include "format.h"

#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* ---------------------------------------------------------------- segment */

void gs_seg_hdr_encode(const gs_seg_hdr *h, uint8_t out[GS_SEG_HDR_LEN])
{
    memset(out, 0, GS_SEG_HDR_LEN);
    out[0] = GS_SEG_MAGIC_0;
    out[1] = GS_SEG_MAGIC_1;
    out[2] = GS_SEG_MAGIC_2;
    out[3] = GS_SEG_MAGIC_3;
    gs_put16(out + 4, h->version);
    gs_put16(out + 6, h->min_reader);
    gs_put32(out + 8, h->flags);
    gs_put32(out + 12, GS_SEG_HDR_LEN);
    gs_put64(out + 16, h->base_lsn);
    memcpy(out + 24, h->store_id, 16);
    gs_put64(out + 40, (uint64_t)h->created_us);
    /* 48..55 reserved, zero */
    gs_put64(out + 56, XXH3_64bits(out, GS_SEG_HDR_LEN - 8));
}

int gs_seg_hdr_decode(const uint8_t *buf, size_t len, const char *name, gs_seg_hdr *h, gs_err *err)
{
    if (len < 16)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: header truncated (%zu bytes)", name, len);
    if (buf[0] != GS_SEG_MAGIC_0 || buf[1] != GS_SEG_MAGIC_1 || buf[2] != GS_SEG_MAGIC_2 ||
        buf[3] != GS_SEG_MAGIC_3)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: bad magic at offset 0", name);
    uint32_t hlen = gs_get32(buf + 12);
    /* header_len is at a fixed place in every version, so the checksum can
     * be found (last 8 bytes of the header) even in a future, longer one. */
    if (hlen < GS_SEG_HDR_LEN || hlen > GS_SEG_HDR_MAX_LEN || hlen % 8 != 0)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: bad header length %u", name, hlen);
    if (len < hlen)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: header truncated (%zu of %u bytes)", name,
                          len, hlen);
    if (gs_get64(buf + hlen - 8) != XXH3_64bits(buf, hlen - 8))
        return gs_err_set(err, GS_ECORRUPT, "segment %s: header checksum mismatch", name);
    h->version = gs_get16(buf + 4);
    h->min_reader = gs_get16(buf + 6);
    h->flags = gs_get32(buf + 8);
    h->header_len = hlen;
    if (h->min_reader > GS_SEG_READER_VERSION)
        return gs_err_set(err, GS_EVERSION,
                          "segment %s: format version %u needs reader version %u, this "
                          "gatestore reads up to %u",
                          name, h->version, h->min_reader, GS_SEG_READER_VERSION);
    if (h->flags & ~(uint32_t)GS_SEG_KNOWN_FLAGS)
        return gs_err_set(err, GS_EVERSION,
                          "segment %s: unknown header flags 0x%08x (format version %u, this "
                          "gatestore reads up to %u)",
                          name, h->flags, h->version, GS_SEG_READER_VERSION);
    if (h->version == 0 || h->min_reader == 0 || h->min_reader > h->version)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: bad version %u / min reader %u", name,
                          h->version, h->min_reader);
    /* Reserved bytes are zero in version 1; a newer writer that keeps
     * min_reader at 1 may use them for things we may ignore. */
    if (h->version == 1 && gs_get64(buf + 48) != 0)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: reserved header bytes are not zero", name);
    h->base_lsn = gs_get64(buf + 16);
    memcpy(h->store_id, buf + 24, 16);
    h->created_us = (int64_t)gs_get64(buf + 40);
    if (h->base_lsn == 0)
        return gs_err_set(err, GS_ECORRUPT, "segment %s: base LSN is 0", name);
    return GS_OK;
}

/* ------------------------------------------------------------------ block */

int gs_blk_magic_at(const uint8_t *buf)
{
    return buf[0] == GS_BLK_MAGIC_0 && buf[1] == GS_BLK_MAGIC_1 && buf[2] == GS_BLK_MAGIC_2 &&
           buf[3] == GS_BLK_MAGIC_3;
}

void gs_blk_hdr_encode(const gs_blk_hdr *h, uint8_t out[GS_BLK_HDR_LEN])
{
    out[0] = GS_BLK_MAGIC_0;
    out[1] = GS_BLK_MAGIC_1;
    out[2] = GS_BLK_MAGIC_2;
    out[3] = GS_BLK_MAGIC_3;
    gs_put16(out + 4, h->flags);
    gs_put16(out + 6, 0);
    gs_put32(out + 8, h->comp_len);
    gs_put32(out + 12, h->raw_len);
    gs_put32(out + 16, h->count);
    gs_put32(out + 20, h->frame_bytes);
    gs_put64(out + 24, h->first_lsn);
    gs_put64(out + 32, (uint64_t)h->min_us);
    gs_put64(out + 40, (uint64_t)h->max_us);
    gs_put64(out + 48, h->hash);
}

int gs_blk_hdr_decode(const uint8_t buf[GS_BLK_HDR_LEN], gs_blk_hdr *h, const char **what)
{
    if (!gs_blk_magic_at(buf)) {
        *what = "bad block magic";
        return GS_ECORRUPT;
    }
    h->flags = gs_get16(buf + 4);
    h->comp_len = gs_get32(buf + 8);
    h->raw_len = gs_get32(buf + 12);
    h->count = gs_get32(buf + 16);
    h->frame_bytes = gs_get32(buf + 20);
    h->first_lsn = gs_get64(buf + 24);
    h->min_us = (int64_t)gs_get64(buf + 32);
    h->max_us = (int64_t)gs_get64(buf + 40);
    h->hash = gs_get64(buf + 48);
    unsigned codec = h->flags & GS_BLK_CODEC_MASK;
    if ((h->flags & ~GS_BLK_KNOWN_FLAGS) || gs_get16(buf + 6) != 0) {
        *what = "unknown block flags";
        return GS_ECORRUPT;
    }
    if (codec != GS_BLK_CODEC_NONE && codec != GS_BLK_CODEC_ZSTD) {
        *what = "unknown block codec";
        return GS_ECORRUPT;
    }
    /* Lengths are checked before anything is allocated from them. */
    if (h->raw_len == 0 || h->raw_len > GS_BLK_MAX_RAW) {
        *what = "absurd uncompressed length";
        return GS_ECORRUPT;
    }
    if (codec == GS_BLK_CODEC_NONE
            ? h->comp_len != h->raw_len
            : (h->comp_len == 0 || h->comp_len > ZSTD_compressBound(h->raw_len))) {
        *what = "compressed length does not fit the uncompressed length";
        return GS_ECORRUPT;
    }
    if (h->count == 0 || (uint64_t)h->count * GS_REC_MIN_LEN > h->raw_len ||
        h->frame_bytes > h->raw_len) {
        *what = "record count does not fit the block";
        return GS_ECORRUPT;
    }
    if (h->first_lsn == 0 || h->first_lsn > UINT64_MAX - h->count) {
        *what = "bad first LSN";
        return GS_ECORRUPT;
    }
    if (h->min_us > h->max_us) {
        *what = "min time after max time";
        return GS_ECORRUPT;
    }
    return GS_OK;
}

uint64_t gs_blk_hash(const uint8_t hdr[GS_BLK_HDR_LEN], const uint8_t *payload, size_t len)
{
    static const uint8_t zero[8];
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, hdr, GS_BLK_HDR_LEN - 8);
    XXH3_64bits_update(&st, zero, sizeof(zero));
    XXH3_64bits_update(&st, payload, len);
    return XXH3_64bits_digest(&st);
}

int gs_codec_init(gs_codec *c, int level, gs_err *err)
{
    memset(c, 0, sizeof(*c));
    c->level = level;
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    if (!c->cctx || !c->dctx) {
        gs_codec_free(c);
        return gs_err_set(err, GS_ENOMEM, "cannot create zstd context");
    }
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level))) {
        gs_codec_free(c);
        return gs_err_set(err, GS_EMISUSE, "bad zstd level %d", level);
    }
    /* Our own XXH3 covers the payload; zstd's content checksum would only
     * cost time. The content size is kept so the decoder can check it. */
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
    return GS_OK;
}

void gs_codec_free(gs_codec *c)
{
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c->out);
    memset(c, 0, sizeof(*c));
}

/* The buffer grows to the largest block seen: one GUILD_CREATE of the large
 * benchmark shape (a few hundred KB) in a block that already holds records
 * makes it 2 MiB, where the blocks after it need 0.5-1. After this many
 * calls in a row that needed under half of it, it goes back to the
 * smallest power of two (from 64 KiB) that holds them. */
#define CODEC_SHRINK_AFTER 64

static size_t codec_cap_for(size_t cap, size_t need)
{
    while (cap < need)
        cap *= 2;
    return cap;
}

static int codec_reserve(gs_codec *c, size_t need, gs_err *err)
{
    if (need <= c->out_cap / 2 && c->out_cap > 64 * 1024) {
        if (++c->small_run >= CODEC_SHRINK_AFTER) {
            c->small_run = 0;
            size_t cap = codec_cap_for(64 * 1024, need);
            uint8_t *p = malloc(cap);
            if (p) { /* else keep the large one */
                free(c->out);
                c->out = p;
                c->out_cap = cap;
            }
        }
        return GS_OK;
    }
    c->small_run = 0;
    if (need <= c->out_cap)
        return GS_OK;
    size_t cap = codec_cap_for(c->out_cap ? c->out_cap : 64 * 1024, need);
    uint8_t *p = realloc(c->out, cap);
    if (!p)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate %zu bytes for a block", cap);
    c->out = p;
    c->out_cap = cap;
    return GS_OK;
}

int gs_codec_encode(gs_codec *c, gs_blk_hdr *h, const uint8_t *raw, size_t raw_len,
                    const uint8_t **blk, size_t *blk_len, gs_err *err)
{
    if (raw_len == 0 || raw_len > GS_BLK_MAX_RAW)
        return gs_err_set(err, GS_EMISUSE, "block of %zu bytes is out of range", raw_len);
    size_t bound = ZSTD_compressBound(raw_len);
    int rc = codec_reserve(c, GS_BLK_HDR_LEN + bound, err);
    if (rc)
        return rc;
    uint8_t *payload = c->out + GS_BLK_HDR_LEN;
    size_t n = ZSTD_compress2(c->cctx, payload, bound, raw, raw_len);
    if (ZSTD_isError(n))
        return gs_err_set(err, GS_ERROR, "zstd compression failed: %s", ZSTD_getErrorName(n));
    if (n >= raw_len) {
        /* Incompressible (already compressed or random frames): store. */
        memcpy(payload, raw, raw_len);
        n = raw_len;
        h->flags = GS_BLK_CODEC_NONE;
    } else {
        h->flags = GS_BLK_CODEC_ZSTD;
    }
    h->comp_len = (uint32_t)n;
    h->raw_len = (uint32_t)raw_len;
    h->hash = 0;
    gs_blk_hdr_encode(h, c->out);
    h->hash = gs_blk_hash(c->out, payload, n);
    gs_put64(c->out + 48, h->hash);
    *blk = c->out;
    *blk_len = GS_BLK_HDR_LEN + n;
    return GS_OK;
}

int gs_codec_decode(gs_codec *c, const gs_blk_hdr *h, const uint8_t *payload, const uint8_t **raw,
                    const char **what, gs_err *err)
{
    if ((h->flags & GS_BLK_CODEC_MASK) == GS_BLK_CODEC_NONE) {
        *raw = payload;
        return GS_OK;
    }
    unsigned long long fcs = ZSTD_getFrameContentSize(payload, h->comp_len);
    if (fcs != h->raw_len) {
        *what = "zstd frame size differs from the block's uncompressed length";
        return GS_ECORRUPT;
    }
    int rc = codec_reserve(c, h->raw_len, err);
    if (rc)
        return rc;
    size_t n = ZSTD_decompressDCtx(c->dctx, c->out, h->raw_len, payload, h->comp_len);
    if (ZSTD_isError(n) || n != h->raw_len) {
        *what = "zstd decompression failed";
        return GS_ECORRUPT;
    }
    *raw = c->out;
    return GS_OK;
}

/* ------------------------------------------------------------------ index */

void gs_idx_entry_encode(const gs_idx_entry *e, uint8_t out[GS_IDX_ENTRY_LEN])
{
    gs_put64(out, e->off);
    gs_put64(out + 8, e->first_lsn);
    gs_put64(out + 16, (uint64_t)e->min_us);
    gs_put64(out + 24, (uint64_t)e->max_us);
    gs_put32(out + 32, e->count);
    gs_put32(out + 36, e->frame_bytes);
    gs_put32(out + 40, e->comp_len);
    gs_put32(out + 44, e->raw_len);
}

void gs_idx_entry_decode(const uint8_t in[GS_IDX_ENTRY_LEN], gs_idx_entry *e)
{
    e->off = gs_get64(in);
    e->first_lsn = gs_get64(in + 8);
    e->min_us = (int64_t)gs_get64(in + 16);
    e->max_us = (int64_t)gs_get64(in + 24);
    e->count = gs_get32(in + 32);
    e->frame_bytes = gs_get32(in + 36);
    e->comp_len = gs_get32(in + 40);
    e->raw_len = gs_get32(in + 44);
}

uint64_t gs_idx_hash(const uint8_t *entries, size_t entries_len,
                     const uint8_t trailer[GS_IDX_TRAILER_LEN])
{
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    if (entries_len)
        XXH3_64bits_update(&st, entries, entries_len);
    XXH3_64bits_update(&st, trailer, GS_IDX_TRAILER_LEN - 8);
    return XXH3_64bits_digest(&st);
}

void gs_idx_trailer_encode(const gs_idx_trailer *t, const uint8_t *entries, size_t entries_len,
                           uint8_t out[GS_IDX_TRAILER_LEN])
{
    memset(out, 0, GS_IDX_TRAILER_LEN);
    out[0] = GS_IDX_MAGIC_0;
    out[1] = GS_IDX_MAGIC_1;
    out[2] = GS_IDX_MAGIC_2;
    out[3] = GS_IDX_MAGIC_3;
    gs_put32(out + 4, t->flags);
    gs_put64(out + 8, t->index_off);
    gs_put64(out + 16, t->count);
    gs_put64(out + 24, t->last_lsn);
    /* 32..39 reserved, zero */
    gs_put64(out + 40, gs_idx_hash(entries, entries_len, out));
}

int gs_idx_trailer_decode(const uint8_t in[GS_IDX_TRAILER_LEN], gs_idx_trailer *t, uint64_t *hash)
{
    if (in[0] != GS_IDX_MAGIC_0 || in[1] != GS_IDX_MAGIC_1 || in[2] != GS_IDX_MAGIC_2 ||
        in[3] != GS_IDX_MAGIC_3)
        return -1;
    t->flags = gs_get32(in + 4);
    t->index_off = gs_get64(in + 8);
    t->count = gs_get64(in + 16);
    t->last_lsn = gs_get64(in + 24);
    *hash = gs_get64(in + 40);
    if (t->flags != 0 || gs_get64(in + 32) != 0)
        return -1;
    return 0;
}
