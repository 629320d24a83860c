/*
 * format.h - the on-disk layout of segments, blocks and index footers, and
 * the block codec (zstd + XXH3-64). The prose spec is log/FORMAT.md; every
 * constant here is described there, and both change in the same commit.
 *
 * All integers on disk are little-endian. Nothing in this header touches
 * files: these are pure encode/decode helpers over byte buffers.
 */
#ifndef GS_LOG_FORMAT_H
#define GS_LOG_FORMAT_H

#include "gs_common.h"

#include <zstd.h>

/* ---- segment header ---- */

/* F9 9B 0E D3: see FORMAT.md "Magic numbers" for why these bytes. */
#define GS_SEG_MAGIC_0 0xF9
#define GS_SEG_MAGIC_1 0x9B
#define GS_SEG_MAGIC_2 0x0E
#define GS_SEG_MAGIC_3 0xD3

#define GS_SEG_HDR_LEN        64u /* header_len written by this version */
#define GS_SEG_HDR_MAX_LEN    4096u
#define GS_SEG_FORMAT_VERSION 1u /* format written by this code */
#define GS_SEG_READER_VERSION 1u /* newest min_reader_version this code reads */
#define GS_SEG_KNOWN_FLAGS    0u /* no flag bits are defined in version 1 */

typedef struct gs_seg_hdr {
    uint16_t version;
    uint16_t min_reader;
    uint32_t flags;
    uint32_t header_len;
    uint64_t base_lsn;
    uint8_t store_id[16];
    int64_t created_us;
} gs_seg_hdr;

/* Encode a version-1 header (64 bytes) with its checksum. */
void gs_seg_hdr_encode(const gs_seg_hdr *h, uint8_t out[GS_SEG_HDR_LEN]);
/* Decode and check a header from buf[0..len). name is the segment file name
 * for messages. GS_ECORRUPT (bad magic, length, checksum, reserved bytes),
 * GS_EVERSION (min_reader_version above ours, or an unknown flag). A header
 * shorter than header_len is GS_ECORRUPT. */
int gs_seg_hdr_decode(const uint8_t *buf, size_t len, const char *name, gs_seg_hdr *h, gs_err *err);

/* ---- block ---- */

/* F5 1C C3 8A */
#define GS_BLK_MAGIC_0 0xF5
#define GS_BLK_MAGIC_1 0x1C
#define GS_BLK_MAGIC_2 0xC3
#define GS_BLK_MAGIC_3 0x8A

#define GS_BLK_HDR_LEN 56u
/* Largest uncompressed payload accepted: anything larger is corrupt, and is
 * refused before any allocation. */
#define GS_BLK_MAX_RAW (1u << 30)
/* Smallest possible msgpack record (see record.c): bounds record_count. */
#define GS_REC_MIN_LEN 9u

/* flags bits 0-3: codec */
#define GS_BLK_CODEC_MASK  0x000Fu
#define GS_BLK_CODEC_NONE  0u
#define GS_BLK_CODEC_ZSTD  1u
#define GS_BLK_KNOWN_FLAGS GS_BLK_CODEC_MASK

typedef struct gs_blk_hdr {
    uint16_t flags;
    uint32_t comp_len;    /* payload bytes on disk after the header */
    uint32_t raw_len;     /* payload bytes after decompression */
    uint32_t count;       /* records in the block */
    uint32_t frame_bytes; /* sum of the records' raw frame lengths */
    uint64_t first_lsn;
    int64_t min_us; /* smallest recv_us in the block (not the first one's) */
    int64_t max_us; /* largest recv_us in the block */
    uint64_t hash;  /* XXH3-64 of the header (hash field zeroed) + payload */
} gs_blk_hdr;

void gs_blk_hdr_encode(const gs_blk_hdr *h, uint8_t out[GS_BLK_HDR_LEN]);
/* Decode and sanity-check a header (magic, reserved bits, lengths, counts).
 * Does not check the hash. On failure returns GS_ECORRUPT and sets *what to
 * a static description. */
int gs_blk_hdr_decode(const uint8_t buf[GS_BLK_HDR_LEN], gs_blk_hdr *h, const char **what);
/* 1 if buf starts with the block magic. */
int gs_blk_magic_at(const uint8_t *buf);
/* The block hash over an encoded header (its hash field is ignored) and the
 * payload. */
uint64_t gs_blk_hash(const uint8_t hdr[GS_BLK_HDR_LEN], const uint8_t *payload, size_t len);

/* Reusable compression state. One per writer / reader; not thread-safe. */
typedef struct gs_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    int level;
    uint8_t *out; /* encoded block (header + payload) or decompressed payload;
                     valid until the next encode or decode */
    size_t out_cap;
    unsigned small_run; /* calls in a row that needed under half of out_cap */
} gs_codec;

int gs_codec_init(gs_codec *c, int level, gs_err *err);
void gs_codec_free(gs_codec *c);

/* Build a block from raw records: fills h->comp_len, raw_len, flags and hash
 * (caller sets count, frame_bytes, first_lsn, min/max). On return
 * *blk[0..*blk_len) is header + payload, valid until the next call. */
int gs_codec_encode(gs_codec *c, gs_blk_hdr *h, const uint8_t *raw, size_t raw_len,
                    const uint8_t **blk, size_t *blk_len, gs_err *err);
/* Decompress a payload whose hash was already checked. *raw valid until the
 * next call. GS_ECORRUPT if zstd fails or the size differs from raw_len;
 * *what says why. */
int gs_codec_decode(gs_codec *c, const gs_blk_hdr *h, const uint8_t *payload, const uint8_t **raw,
                    const char **what, gs_err *err);

/* ---- index footer (sealed segments) ---- */

/* FA 17 D6 84 */
#define GS_IDX_MAGIC_0 0xFA
#define GS_IDX_MAGIC_1 0x17
#define GS_IDX_MAGIC_2 0xD6
#define GS_IDX_MAGIC_3 0x84

#define GS_IDX_ENTRY_LEN   48u
#define GS_IDX_TRAILER_LEN 48u

typedef struct gs_idx_entry {
    uint64_t off;
    uint64_t first_lsn;
    int64_t min_us;
    int64_t max_us;
    uint32_t count;
    uint32_t frame_bytes;
    uint32_t comp_len;
    uint32_t raw_len;
} gs_idx_entry;

typedef struct gs_idx_trailer {
    uint32_t flags;
    uint64_t index_off; /* where the entries start = end of the last block */
    uint64_t count;
    uint64_t last_lsn; /* highest LSN in the segment (base - 1 if empty) */
} gs_idx_trailer;

void gs_idx_entry_encode(const gs_idx_entry *e, uint8_t out[GS_IDX_ENTRY_LEN]);
void gs_idx_entry_decode(const uint8_t in[GS_IDX_ENTRY_LEN], gs_idx_entry *e);
/* Encode the trailer; hash covers entries[0..entries_len) + trailer. */
void gs_idx_trailer_encode(const gs_idx_trailer *t, const uint8_t *entries, size_t entries_len,
                           uint8_t out[GS_IDX_TRAILER_LEN]);
/* Decode the last GS_IDX_TRAILER_LEN bytes of a file: 0 ok (hash not yet
 * checked), -1 not a trailer. */
int gs_idx_trailer_decode(const uint8_t in[GS_IDX_TRAILER_LEN], gs_idx_trailer *t, uint64_t *hash);
uint64_t gs_idx_hash(const uint8_t *entries, size_t entries_len,
                     const uint8_t trailer[GS_IDX_TRAILER_LEN]);

/* ---- little-endian helpers ---- */

static inline void gs_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void gs_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void gs_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t gs_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t gs_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t gs_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#endif
