/*
 * log_int.h - what the files of log/ share and nobody else sees: segment
 * names and listing, an open segment (header, optional index), block reads
 * with checksum, resync after damage, and record decoding of a whole block.
 *
 * Nothing here is thread-safe by itself: each gs_seg, gs_blkbuf and
 * gs_codec belongs to one user (writer, reader, verify) at a time.
 */
#ifndef GS_LOG_INT_H
#define GS_LOG_INT_H

#include "gs_common.h"

#include "format.h"
#include "log.h"

#define GS_PATH_MAX 4096
/* "00000000000000000001.seg": 20 digits + ".seg" */
#define GS_SEG_NAME_MAX   32
#define GS_QUARANTINE_DIR "quarantine"

/* Positive result of gs_seg_read_block: the file ends inside the block. */
#define GS_BLK_SHORT 1

/* ---- names and listing ---- */

void gs_seg_name(uint64_t base, char out[GS_SEG_NAME_MAX]);
/* 1 and *base if name is exactly 20 digits + ".seg" (base >= 1), else 0. */
int gs_seg_parse_name(const char *name, uint64_t *base);
/* dir + "/" + name into out; GS_EMISUSE if too long. */
int gs_path_join(char *out, size_t cap, const char *dir, const char *name, gs_err *err);

typedef struct gs_seg_list {
    uint64_t *base; /* sorted ascending */
    size_t n, cap;
} gs_seg_list;

/* List the segments of dir, sorted by base LSN. A missing dir is GS_ENOTFOUND. */
int gs_seg_list_load(gs_io *io, const char *dir, gs_seg_list *l, gs_err *err);
void gs_seg_list_free(gs_seg_list *l);
/* Index of the last segment whose base <= lsn (0 if lsn is below all). */
size_t gs_seg_list_find(const gs_seg_list *l, uint64_t lsn);

/* ---- an open segment ---- */

typedef struct gs_seg {
    gs_io *io;
    int fd;
    char name[GS_SEG_NAME_MAX];
    char path[GS_PATH_MAX];
    uint64_t base;     /* from the file name */
    uint64_t size;     /* file size when last looked at */
    int hdr_rc;        /* GS_OK or the error decoding the header */
    gs_seg_hdr hdr;    /* valid when hdr_rc == GS_OK */
    uint64_t data_off; /* first block offset (header_len) */
    int sealed;        /* a valid index footer was read */
    gs_idx_trailer trailer;
    gs_idx_entry *idx; /* trailer.count entries when sealed */
    size_t idx_cap;
} gs_seg;

/* Open dir/name (read-only or read-write), read its size and header. The
 * header outcome is in s->hdr_rc (and err), not the return value: the
 * return is GS_OK once the file is open, or the open/read error. Close with
 * gs_seg_close (also after a failed open). */
int gs_seg_open(gs_io *io, const char *dir, uint64_t base, int writable, gs_seg *s, gs_err *err);
void gs_seg_close(gs_seg *s);
/* Re-read the file size. */
int gs_seg_refresh_size(gs_seg *s, gs_err *err);
/* Look for an index footer: GS_OK (s->sealed, s->idx loaded and checked
 * against the file), 1 = no footer (magic absent), GS_ECORRUPT = a footer
 * that fails its checks (err says why), or an I/O error. */
int gs_seg_load_index(gs_seg *s, gs_err *err);
/* Offset where blocks end: index_off if sealed, else the file size. */
uint64_t gs_seg_blocks_end(const gs_seg *s);

/* ---- blocks ---- */

typedef struct gs_blkbuf {
    uint8_t *p; /* header + payload of the last block read */
    size_t cap;
} gs_blkbuf;

void gs_blkbuf_free(gs_blkbuf *b);

/* Read the block at off, whose bytes must end at or before limit. GS_OK:
 * *h decoded, hash verified, b->p holds header + payload. GS_BLK_SHORT: the
 * header or payload runs past limit. GS_ECORRUPT: bad header or checksum
 * (*what says which). Negative I/O codes with err set. */
int gs_seg_read_block(gs_seg *s, uint64_t off, uint64_t limit, gs_blkbuf *b, gs_blk_hdr *h,
                      const char **what, gs_err *err);
/* Search for the next valid block (magic, sane header, checksum) starting
 * at from and ending at or before limit. 1 and *found, 0 none, <0 error. */
int gs_seg_find_block(gs_seg *s, uint64_t from, uint64_t limit, gs_blkbuf *b, uint64_t *found,
                      gs_err *err);

/* Decompress a checked block and decode every record, checking the count,
 * LSNs (first_lsn, +1 each), times within [min, max], frame byte sum and
 * that the records fill the payload exactly. *recs (grown as needed, *cap
 * entries) point into the codec's buffer or b->p, valid until the next
 * block. GS_ECORRUPT with *what on a mismatch. */
int gs_blk_decode_records(gs_codec *c, const gs_blk_hdr *h, const uint8_t *payload,
                          gs_log_rec **recs, size_t *cap, const char **what, gs_err *err);

/* ---- writing ---- */

/* Create segment `base` in dir: write the header to NAME.tmp, fsync,
 * rename to NAME, fsync dir. On GS_OK *fd is open read-write on it. */
int gs_seg_create(gs_io *io, const char *dir, uint64_t base, const uint8_t store_id[16], int *fd,
                  gs_err *err);
/* Append the index footer for entries[0..n) at off (the end of the last
 * block). Does not fsync. */
int gs_seg_write_index(gs_io *io, int fd, const char *path, uint64_t off,
                       const gs_idx_entry *entries, size_t n, uint64_t last_lsn, gs_err *err);

/* ---- recovery (recover.c) ---- */

/* What recovery leaves for the writer: the active segment and its blocks. */
typedef struct gs_recovered {
    int fd;            /* active segment, read-write */
    uint64_t base;     /* its base LSN */
    uint64_t end;      /* end of its last good block */
    uint64_t last_lsn; /* highest LSN in the log (0 = none) */
    gs_idx_entry *idx; /* its blocks, for the index footer */
    size_t idx_n, idx_cap;
} gs_recovered;

/* Recover dir for writing (see FORMAT.md "Recovery"); fills *out and *info. */
int gs_log_recover(gs_io *io, const char *dir, const uint8_t store_id[16], gs_recovered *out,
                   gs_log_recovery *info, gs_err *err);
/* Highest LSN in dir without writing anything (read-only open). */
int gs_log_scan_head(gs_io *io, const char *dir, uint64_t *last_lsn, gs_err *err);

#endif
