/* recover.c - bring the log to a clean state on a writable open: find the
 * newest segment's last good block, move a torn tail to quarantine/ and cut
 * it, or, after damage in the middle, leave the segment as it is and start
 * a new one. The rules are in FORMAT.md, "Recovery". */
#include "gs_common.h"

#include "log_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push_entry(gs_recovered *out, const gs_idx_entry *e, gs_err *err)
{
    if (out->idx_n == out->idx_cap) {
        size_t cap = out->idx_cap ? out->idx_cap * 2 : 64;
        gs_idx_entry *p = realloc(out->idx, cap * sizeof(*p));
        if (!p)
            return gs_err_set(err, GS_ENOMEM, "cannot allocate the block list");
        out->idx = p;
        out->idx_cap = cap;
    }
    out->idx[out->idx_n++] = *e;
    return GS_OK;
}

/* Copy seg[from, seg->size) to quarantine/<name>.<from>.torn and fsync it. */
static int quarantine(gs_io *io, const char *dir, gs_seg *s, uint64_t from, char *qpath,
                      size_t qcap, gs_err *err)
{
    char qdir[GS_PATH_MAX];
    int rc = gs_path_join(qdir, sizeof(qdir), dir, GS_QUARANTINE_DIR, err);
    if (rc)
        return rc;
    int r = io->mkdir(io, qdir, 0755);
    if (r < 0 && r != -EEXIST)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot create %s", qdir);
    if (r == 0) {
        r = io->fsync_dir(io, dir);
        if (r < 0)
            return gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync directory %s", dir);
    }
    int fd = -1;
    for (int i = 0; i < 1000 && fd < 0; i++) {
        char name[GS_SEG_NAME_MAX + 48];
        if (i == 0)
            snprintf(name, sizeof(name), "%s.%" PRIu64 ".torn", s->name, from);
        else
            snprintf(name, sizeof(name), "%s.%" PRIu64 ".%d.torn", s->name, from, i);
        rc = gs_path_join(qpath, qcap, qdir, name, err);
        if (rc)
            return rc;
        fd = io->open(io, qpath, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 && fd != -EEXIST)
            return gs_err_errno(err, gs_errno_code(-fd), -fd, "cannot create %s", qpath);
    }
    if (fd < 0)
        return gs_err_set(err, GS_EEXIST, "too many quarantine files for %s", s->name);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        io->close(io, fd);
        return gs_err_set(err, GS_ENOMEM, "cannot allocate a copy buffer");
    }
    rc = GS_OK;
    for (uint64_t off = from; off < s->size;) {
        size_t n = s->size - off < CHUNK ? (size_t)(s->size - off) : CHUNK;
        r = gs_io_read_all(io, s->fd, buf, n, off);
        if (r < 0) {
            rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                              s->path, off);
            break;
        }
        r = gs_io_write_all(io, fd, buf, n, off - from);
        if (r < 0) {
            rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot write %s at offset %" PRIu64,
                              qpath, off - from);
            break;
        }
        off += n;
    }
    free(buf);
    if (rc == GS_OK) {
        r = io->fsync(io, fd);
        if (r < 0)
            rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync %s", qpath);
    }
    io->close(io, fd);
    if (rc == GS_OK) {
        r = io->fsync_dir(io, qdir);
        if (r < 0)
            rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync directory %s", qdir);
    }
    return rc;
}

/* Scan valid blocks from off to the end, resyncing over damage; returns the
 * highest LSN seen (or *high unchanged). */
static int scan_highest(gs_seg *s, uint64_t off, gs_blkbuf *b, uint64_t *high, gs_err *err)
{
    for (;;) {
        gs_blk_hdr h;
        const char *what;
        int rc = gs_seg_read_block(s, off, s->size, b, &h, &what, err);
        if (rc == GS_OK) {
            uint64_t last = h.first_lsn + h.count - 1;
            if (last > *high)
                *high = last;
            off += GS_BLK_HDR_LEN + h.comp_len;
            continue;
        }
        if (rc < 0 && rc != GS_ECORRUPT)
            return rc;
        uint64_t next;
        rc = gs_seg_find_block(s, off + 1, s->size, b, &next, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return GS_OK;
        off = next;
    }
}

/* Does [from, to) hold the mark of pages a power cut lost: for some 4 KiB
 * page boundary E in (from, to], the bytes from max(from, E - 4096) to E
 * all zero?
 *
 * Why: after a power cut, the unsynced end of a file may reach the disk
 * page by page in any order, and a page that did not make it reads as
 * zeros (the file's size was extended, its data never written). Blocks
 * written after such a page can then be complete and valid. Those blocks
 * were never fsynced, so never acknowledged, and keeping them would leave
 * a hole in the LSNs where the lost page's records were. A lost page lies
 * past the last fsync, so the damaged block starts at or before it: from
 * `from`, or from the page's own start, to its end, everything is zero.
 * Bit flips and torn sectors never zero a page-aligned run like that,
 * and a valid block starts with a non-zero magic, so damage that is not
 * a lost page still counts as damage in the middle. */
static int has_lost_page(gs_seg *s, uint64_t from, uint64_t to, int *lost, gs_err *err)
{
    enum { PAGE = 4096 };
    uint8_t buf[PAGE];
    *lost = 0;
    for (uint64_t end = (from / PAGE + 1) * PAGE; end <= to; end += PAGE) {
        uint64_t start = end - PAGE > from ? end - PAGE : from;
        size_t n = (size_t)(end - start);
        int r = gs_io_read_all(s->io, s->fd, buf, n, start);
        if (r < 0)
            return gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                                s->path, start);
        size_t i = 0;
        while (i < n && buf[i] == 0)
            i++;
        if (i == n) {
            *lost = 1;
            return GS_OK;
        }
    }
    return GS_OK;
}

/* Are all the blocks a valid index footer lists present and intact? */
static int blocks_match_index(gs_seg *s, gs_blkbuf *b, int *whole, gs_err *err)
{
    *whole = 0;
    for (size_t i = 0; i < s->trailer.count; i++) {
        const gs_idx_entry *e = &s->idx[i];
        gs_blk_hdr h;
        const char *what;
        int rc = gs_seg_read_block(s, e->off, s->trailer.index_off, b, &h, &what, err);
        if (rc < 0 && rc != GS_ECORRUPT)
            return rc;
        if (rc != GS_OK || h.first_lsn != e->first_lsn || h.count != e->count ||
            h.comp_len != e->comp_len)
            return GS_OK;
    }
    *whole = 1;
    return GS_OK;
}

static int new_segment(gs_io *io, const char *dir, uint64_t base, const uint8_t store_id[16],
                       gs_recovered *out, gs_err *err)
{
    int rc = gs_seg_create(io, dir, base, store_id, &out->fd, err);
    if (rc)
        return rc;
    out->base = base;
    out->end = GS_SEG_HDR_LEN;
    out->idx_n = 0;
    return GS_OK;
}

static int is_zero_id(const uint8_t id[16])
{
    for (int i = 0; i < 16; i++)
        if (id[i])
            return 0;
    return 1;
}

/* The newest segment's header is unreadable. If no valid block is in it, it
 * is the remains of a crash while a segment was being created: quarantine
 * and recreate it. Otherwise leave it and start after its highest LSN. */
static int recover_bad_header(gs_io *io, const char *dir, gs_seg *s, const uint8_t store_id[16],
                              gs_blkbuf *b, gs_recovered *out, gs_log_recovery *info, gs_err *err)
{
    uint64_t found;
    int rc = gs_seg_find_block(s, 0, s->size, b, &found, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        rc = quarantine(io, dir, s, 0, info->quarantine, sizeof(info->quarantine), err);
        if (rc)
            return rc;
        int r = io->unlink(io, s->path);
        if (r < 0)
            return gs_err_errno(err, gs_errno_code(-r), -r, "cannot remove %s", s->path);
        info->truncated = 1;
        info->bytes_dropped = s->size;
        info->offset = 0;
        snprintf(info->segment, sizeof(info->segment), "%s", s->name);
        out->last_lsn = s->base - 1;
        return new_segment(io, dir, s->base, store_id, out, err);
    }
    uint64_t high = s->base - 1;
    rc = scan_highest(s, found, b, &high, err);
    if (rc)
        return rc;
    info->mid_damage = 1;
    info->offset = 0;
    snprintf(info->segment, sizeof(info->segment), "%s", s->name);
    out->last_lsn = high;
    return new_segment(io, dir, high + 1, store_id, out, err);
}

static int recover_newest(gs_io *io, const char *dir, gs_seg *s, const uint8_t store_id[16],
                          gs_blkbuf *b, gs_recovered *out, gs_log_recovery *info, gs_err *err)
{
    if (s->hdr.version > GS_SEG_FORMAT_VERSION)
        return gs_err_set(err, GS_EVERSION,
                          "segment %s has format version %u; this gatestore writes version %u "
                          "and can open this log read-only only",
                          s->name, s->hdr.version, GS_SEG_FORMAT_VERSION);
    if (!is_zero_id(store_id) && !is_zero_id(s->hdr.store_id) &&
        memcmp(store_id, s->hdr.store_id, 16) != 0)
        return gs_err_set(err, GS_ECORRUPT, "segment %s belongs to another store", s->name);
    gs_err ie;
    int rc = gs_seg_load_index(s, &ie);
    if (rc < 0 && rc != GS_ECORRUPT) {
        if (err)
            *err = ie; /* an I/O error names the file; a bad footer is not one */
        return rc;
    }
    if (rc == GS_OK) {
        /* Sealed, and the crash came before the next segment existed; or
         * the fsync that seals failed and a power cut kept the footer but
         * not every block it describes: then scan it as an active segment. */
        int whole;
        int r = blocks_match_index(s, b, &whole, err);
        if (r)
            return r;
        if (whole) {
            out->last_lsn = s->trailer.last_lsn;
            return new_segment(io, dir, s->trailer.last_lsn + 1, store_id, out, err);
        }
        s->sealed = 0;
    }
    uint64_t off = s->data_off, expect = s->base;
    int bad = 0;
    while (off < s->size) {
        gs_blk_hdr h;
        const char *what;
        rc = gs_seg_read_block(s, off, s->size, b, &h, &what, err);
        if (rc < 0 && rc != GS_ECORRUPT)
            return rc;
        if (rc != GS_OK || h.first_lsn != expect) {
            bad = 1;
            break;
        }
        gs_idx_entry e = {.off = off,
                          .first_lsn = h.first_lsn,
                          .min_us = h.min_us,
                          .max_us = h.max_us,
                          .count = h.count,
                          .frame_bytes = h.frame_bytes,
                          .comp_len = h.comp_len,
                          .raw_len = h.raw_len};
        rc = push_entry(out, &e, err);
        if (rc)
            return rc;
        expect += h.count;
        off += GS_BLK_HDR_LEN + h.comp_len;
    }
    out->last_lsn = expect - 1;
    snprintf(info->segment, sizeof(info->segment), "%s", s->name);
    if (!bad) {
        out->fd = s->fd;
        s->fd = -1;
        out->base = s->base;
        out->end = off;
        return GS_OK;
    }
    uint64_t found;
    rc = gs_seg_find_block(s, off + 1, s->size, b, &found, err);
    if (rc < 0)
        return rc;
    info->offset = off;
    if (rc == 1) {
        /* Good blocks after damage: lost pages of an unsynced write, or
         * damage in the middle? */
        int lost;
        int r = has_lost_page(s, off, found, &lost, err);
        if (r)
            return r;
        if (lost)
            rc = 0; /* a torn tail after all: cut it below */
    }
    if (rc == 1) {
        /* Damage with good blocks after it: not a torn write. Keep every
         * byte for inspection and go on in a new segment. */
        uint64_t high = expect - 1;
        rc = scan_highest(s, found, b, &high, err);
        if (rc)
            return rc;
        info->mid_damage = 1;
        out->last_lsn = high;
        return new_segment(io, dir, high + 1, store_id, out, err);
    }
    /* Torn tail: save the bytes, cut them, make the cut durable. */
    rc = quarantine(io, dir, s, off, info->quarantine, sizeof(info->quarantine), err);
    if (rc)
        return rc;
    int r = io->ftruncate(io, s->fd, off);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot truncate %s to %" PRIu64, s->path,
                            off);
    r = io->fsync(io, s->fd);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync %s", s->path);
    info->truncated = 1;
    info->bytes_dropped = s->size - off;
    s->size = off;
    out->fd = s->fd;
    s->fd = -1;
    out->base = s->base;
    out->end = off;
    return GS_OK;
}

int gs_log_recover(gs_io *io, const char *dir, const uint8_t store_id[16], gs_recovered *out,
                   gs_log_recovery *info, gs_err *err)
{
    memset(info, 0, sizeof(*info));
    out->fd = -1;
    out->idx_n = 0;
    out->last_lsn = 0;
    gs_seg_list l = {0};
    int rc = gs_seg_list_load(io, dir, &l, err);
    if (rc)
        return rc;
    if (l.n == 0) {
        gs_seg_list_free(&l);
        return new_segment(io, dir, 1, store_id, out, err);
    }
    /* Refuse a log that holds a segment of a newer format anywhere: this
     * code must not extend it (one header read per segment). */
    for (size_t i = 0; i + 1 < l.n; i++) {
        gs_seg old;
        gs_err e;
        rc = gs_seg_open(io, dir, l.base[i], 0, &old, &e);
        if (rc == GS_OK && old.hdr_rc == GS_EVERSION)
            rc = GS_EVERSION;
        gs_seg_close(&old);
        if (rc) {
            if (err)
                *err = e;
            gs_seg_list_free(&l);
            return rc;
        }
    }
    gs_seg s;
    gs_blkbuf b = {0};
    rc = gs_seg_open(io, dir, l.base[l.n - 1], 1, &s, err);
    if (rc == GS_OK) {
        if (s.hdr_rc == GS_EVERSION)
            rc = s.hdr_rc; /* err already names file and versions */
        else if (s.hdr_rc != GS_OK)
            rc = recover_bad_header(io, dir, &s, store_id, &b, out, info, err);
        else
            rc = recover_newest(io, dir, &s, store_id, &b, out, info, err);
    }
    if (rc == GS_OK)
        info->last_good_lsn = out->last_lsn;
    gs_blkbuf_free(&b);
    gs_seg_close(&s);
    gs_seg_list_free(&l);
    return rc;
}

int gs_log_scan_head(gs_io *io, const char *dir, uint64_t *last_lsn, gs_err *err)
{
    *last_lsn = 0;
    gs_seg_list l = {0};
    int rc = gs_seg_list_load(io, dir, &l, err);
    if (rc || l.n == 0) {
        gs_seg_list_free(&l);
        return rc;
    }
    gs_seg s;
    gs_blkbuf b = {0};
    rc = gs_seg_open(io, dir, l.base[l.n - 1], 0, &s, err);
    if (rc == GS_OK && s.hdr_rc == GS_EVERSION)
        rc = s.hdr_rc;
    if (rc == GS_OK) {
        uint64_t expect = s.base;
        if (s.hdr_rc == GS_OK && gs_seg_load_index(&s, NULL) == GS_OK) {
            expect = s.trailer.last_lsn + 1;
        } else if (s.hdr_rc == GS_OK) {
            uint64_t off = s.data_off;
            for (;;) {
                gs_blk_hdr h;
                const char *what;
                int r = gs_seg_read_block(&s, off, s.size, &b, &h, &what, err);
                if (r < 0 && r != GS_ECORRUPT) {
                    rc = r;
                    break;
                }
                if (r != GS_OK || h.first_lsn != expect)
                    break;
                expect += h.count;
                off += GS_BLK_HDR_LEN + h.comp_len;
            }
        }
        *last_lsn = expect - 1;
    }
    gs_blkbuf_free(&b);
    gs_seg_close(&s);
    gs_seg_list_free(&l);
    return rc;
}
