/* reader.c - read records in LSN order across segments, positioned by LSN
 * (binary search over segment names, then the index footer) and time
 * (blocks whose max time is below since_us are skipped unread), following
 * the writer when the newest segment grows or a new one appears.
 *
 * Damage handling: a bad block is reported once as GS_ECORRUPT naming the
 * segment and offset, and the next call resumes at the next good block (the
 * next index entry in a sealed segment, else a magic + checksum search). No
 * record is returned from a block whose checksum or decoding failed. */
#include "gs_common.h"

#include "log_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gs_log_reader {
    char dir[GS_PATH_MAX];
    gs_io *io;
    uint64_t from_lsn;
    int64_t since_us;

    gs_seg_list list;
    size_t seg_i;
    int seg_open;
    gs_seg seg;
    int index_mode; /* walking seg.idx (sealed, index good) */
    size_t ent;     /* next index entry */
    uint64_t off;   /* next block offset (scan mode) */
    int resync;     /* search for the next valid block before reading at off */
    int positioned; /* the first segment has been positioned */

    gs_blkbuf b;
    gs_codec codec;
    gs_log_rec *recs;
    size_t recs_cap;
    uint32_t nrec, pos;

    uint64_t last_lsn;  /* last LSN of the last block consumed (0 = unknown) */
    int gap_reported;   /* a gap before the current block was reported */
    uint64_t seen_size; /* newest segment size at the last look */
    int sticky;         /* GS_EVERSION: refuse to go on */
    char sticky_msg[GS_ERRMSG_MAX];
};

static int corrupt(gs_log_reader *r, uint64_t off, const char *what, gs_err *err)
{
    return gs_err_set(err, GS_ECORRUPT, "segment %s offset %" PRIu64 ": %s", r->seg.name, off,
                      what);
}

static int is_newest(const gs_log_reader *r)
{
    return r->seg_i + 1 >= r->list.n;
}

/* Re-list the directory and find the current segment in it again. */
static int relist(gs_log_reader *r, gs_err *err)
{
    int rc = gs_seg_list_load(r->io, r->dir, &r->list, err);
    if (rc)
        return rc;
    if (r->seg_open) {
        size_t i = gs_seg_list_find(&r->list, r->seg.base);
        if (r->list.n && r->list.base[i] == r->seg.base)
            r->seg_i = i;
    }
    return GS_OK;
}

/* Position inside a freshly opened segment. */
static void position(gs_log_reader *r)
{
    r->ent = 0;
    r->off = r->seg.data_off;
    if (r->positioned)
        return;
    r->positioned = 1;
    if (r->index_mode && r->from_lsn > r->seg.base && r->seg.trailer.count > 0) {
        size_t lo = 0, hi = (size_t)r->seg.trailer.count;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (r->seg.idx[mid].first_lsn <= r->from_lsn)
                lo = mid;
            else
                hi = mid;
        }
        r->ent = lo;
    }
}

static int enter_segment(gs_log_reader *r, size_t i, gs_err *err)
{
    if (r->seg_open)
        gs_seg_close(&r->seg);
    r->seg_open = 0;
    r->seg_i = i;
    gs_err e;
    int rc = gs_seg_open(r->io, r->dir, r->list.base[i], 0, &r->seg, &e);
    if (rc) {
        gs_seg_close(&r->seg);
        if (err)
            *err = e;
        return rc;
    }
    r->seg_open = 1;
    r->seen_size = r->seg.size;
    r->index_mode = 0;
    r->resync = 0;
    if (r->seg.hdr_rc == GS_EVERSION) {
        /* Blocks of a newer format cannot be interpreted: stop here. */
        r->sticky = GS_EVERSION;
        snprintf(r->sticky_msg, sizeof(r->sticky_msg), "%s", e.msg);
        if (err)
            *err = e;
        return GS_EVERSION;
    }
    if (r->seg.hdr_rc != GS_OK) {
        /* Still read its blocks: they and the index footer carry their
         * own checksums. */
        r->positioned = 1;
        r->ent = 0;
        r->off = 0;
        r->resync = 1;
        if (gs_seg_load_index(&r->seg, NULL) == GS_OK) {
            r->index_mode = 1;
            r->resync = 0;
        }
        if (err)
            *err = e;
        return r->seg.hdr_rc;
    }
    rc = gs_seg_load_index(&r->seg, NULL);
    if (rc < 0 && rc != GS_ECORRUPT)
        return gs_err_set(err, rc, "cannot read the index of %s", r->seg.path);
    /* A damaged index: fall back to scanning (verify reports it). */
    r->index_mode = rc == GS_OK;
    position(r);
    return GS_OK;
}

/* Move to the next segment; 0 if there is none yet. */
static int next_segment(gs_log_reader *r, gs_err *err)
{
    if (r->seg_i + 1 >= r->list.n) {
        int rc = relist(r, err);
        if (rc)
            return rc;
        if (r->seg_i + 1 >= r->list.n)
            return 0;
    }
    int rc = enter_segment(r, r->seg_i + 1, err);
    return rc ? rc : 1;
}

/* At the end of what we know of the current segment: 1 if it may have grown
 * (or been sealed) and should be looked at again, 0 if it is finished or
 * nothing is new. Sets *done when the segment is complete. */
static int segment_end(gs_log_reader *r, int *done, gs_err *err)
{
    *done = 0;
    if (r->index_mode) {
        *done = 1;
        return 0;
    }
    int rc = gs_seg_refresh_size(&r->seg, err);
    if (rc)
        return rc;
    if (r->seg.size != r->seen_size) {
        r->seen_size = r->seg.size;
        /* No footer (1) or a damaged one (GS_ECORRUPT): keep scanning. A
         * failed read is an I/O error and is reported, not taken for "no
         * index". */
        gs_err ierr;
        int irc = gs_seg_load_index(&r->seg, &ierr);
        if (irc < 0 && irc != GS_ECORRUPT) {
            if (err)
                *err = ierr;
            return irc;
        }
        if (irc == GS_OK && r->off <= r->seg.trailer.index_off) {
            /* Sealed since we looked: walk the rest by index. */
            r->index_mode = 1;
            r->ent = 0;
            while (r->ent < r->seg.trailer.count && r->seg.idx[r->ent].off < r->off)
                r->ent++;
        }
        return 1;
    }
    if (!is_newest(r)) {
        *done = 1;
        return 0;
    }
    rc = relist(r, err);
    if (rc)
        return rc;
    if (!is_newest(r)) {
        /* A newer segment exists: this one is finished (and, if the writer
         * sealed it, look at its final size once more). */
        rc = gs_seg_refresh_size(&r->seg, err);
        if (rc)
            return rc;
        if (r->seg.size != r->seen_size)
            return segment_end(r, done, err);
        *done = 1;
    }
    return 0;
}

/* After damage at `off`, find where to resume. */
static int skip_damage(gs_log_reader *r, uint64_t off, gs_err *err)
{
    /* The records of the damaged block are missing; that gap is already
     * reported by this error, so the next good block is not a new one. */
    r->gap_reported = 1;
    if (r->index_mode) {
        r->ent++;
        return GS_OK;
    }
    r->off = off + 1;
    r->resync = 1;
    GS_UNUSED(err);
    return GS_OK;
}

/* 1 = a block's records are loaded, 0 = nothing more now, <0 error. */
static int load_block(gs_log_reader *r, gs_err *err)
{
    for (;;) {
        if (!r->seg_open) {
            int rc = relist(r, err);
            if (rc)
                return rc;
            if (r->list.n == 0)
                return 0;
            rc = enter_segment(r, gs_seg_list_find(&r->list, r->from_lsn), err);
            if (rc)
                return rc;
            continue;
        }
        uint64_t end = gs_seg_blocks_end(&r->seg);
        uint64_t off;
        if (r->index_mode) {
            if (r->ent >= r->seg.trailer.count) {
                int rc = next_segment(r, err);
                if (rc <= 0)
                    return rc;
                continue;
            }
            const gs_idx_entry *e = &r->seg.idx[r->ent];
            if (e->first_lsn + e->count - 1 < r->from_lsn ||
                (r->since_us && e->max_us < r->since_us)) {
                r->last_lsn = e->first_lsn + e->count - 1;
                r->ent++;
                continue;
            }
            off = e->off;
        } else {
            if (r->resync) {
                uint64_t found;
                int rc = gs_seg_find_block(&r->seg, r->off, end, &r->b, &found, err);
                if (rc < 0)
                    return rc;
                if (rc == 0) {
                    /* Nothing valid after the damage in what exists now. */
                    int done;
                    rc = segment_end(r, &done, err);
                    if (rc < 0)
                        return rc;
                    if (rc == 1)
                        continue;
                    if (!done)
                        return 0;
                    rc = next_segment(r, err);
                    if (rc <= 0)
                        return rc;
                    continue;
                }
                r->off = found;
                r->resync = 0;
            }
            if (r->off >= end) {
                int done;
                int rc = segment_end(r, &done, err);
                if (rc < 0)
                    return rc;
                if (rc == 1)
                    continue;
                if (!done)
                    return 0;
                rc = next_segment(r, err);
                if (rc <= 0)
                    return rc;
                continue;
            }
            off = r->off;
        }

        gs_blk_hdr h;
        const char *what = "bad block";
        int rc = gs_seg_read_block(&r->seg, off, end, &r->b, &h, &what, err);
        if (rc < 0 && rc != GS_ECORRUPT)
            return rc;
        if (rc != GS_OK && !r->index_mode) {
            if (is_newest(r)) {
                /* The segment may have grown or been sealed since we looked:
                 * then look again. */
                int done;
                int grew = segment_end(r, &done, err);
                if (grew < 0)
                    return grew;
                if (grew == 1 || r->index_mode)
                    continue;
            }
            uint64_t found;
            int f = gs_seg_find_block(&r->seg, off + 1, r->seg.size, &r->b, &found, err);
            if (f < 0)
                return f;
            if (f == 0) {
                /* Nothing valid follows. In the newest segment that is a
                 * write in progress, or a torn tail that recovery will cut:
                 * "not yet written". In an older one it is its damaged
                 * index footer (verify reports it); a block lost there
                 * shows up as an LSN gap at the next segment. */
                if (is_newest(r))
                    return 0;
                r->off = r->seg.size;
                r->resync = 0;
                continue;
            }
        }
        if (rc == GS_BLK_SHORT) {
            rc = GS_ECORRUPT;
            what = "block runs past the end of the segment's blocks";
        }
        if (rc == GS_ECORRUPT) {
            int ret = corrupt(r, off, what, err);
            skip_damage(r, off, err);
            return ret;
        }
        uint64_t blk_last = h.first_lsn + h.count - 1;
        if (r->last_lsn && h.first_lsn != r->last_lsn + 1) {
            if (h.first_lsn <= r->last_lsn) {
                int ret = gs_err_set(err, GS_ECORRUPT,
                                     "segment %s offset %" PRIu64 ": LSN %" PRIu64
                                     " repeats (last LSN read was %" PRIu64 ")",
                                     r->seg.name, off, h.first_lsn, r->last_lsn);
                skip_damage(r, off, err);
                if (!r->index_mode) {
                    r->off = off + GS_BLK_HDR_LEN + h.comp_len;
                    r->resync = 0;
                }
                return ret;
            }
            if (!r->gap_reported) {
                r->gap_reported = 1;
                return gs_err_set(err, GS_ECORRUPT,
                                  "segment %s offset %" PRIu64 ": LSNs %" PRIu64 "..%" PRIu64
                                  " are missing",
                                  r->seg.name, off, r->last_lsn + 1, h.first_lsn - 1);
            }
        }
        r->gap_reported = 0;
        /* Consume the block's position now: a decode error must not make
         * the next call read it again. */
        if (r->index_mode)
            r->ent++;
        else
            r->off = off + GS_BLK_HDR_LEN + h.comp_len;
        if (blk_last < r->from_lsn || (r->since_us && h.max_us < r->since_us)) {
            r->last_lsn = blk_last;
            continue;
        }
        rc = gs_blk_decode_records(&r->codec, &h, r->b.p + GS_BLK_HDR_LEN, &r->recs, &r->recs_cap,
                                   &what, err);
        if (rc == GS_ECORRUPT) {
            /* Its header cannot be trusted either: keep last_lsn, accept
             * the gap that follows (it is this error). */
            r->gap_reported = 1;
            return corrupt(r, off, what, err);
        }
        if (rc)
            return rc;
        r->last_lsn = blk_last;
        r->nrec = h.count;
        r->pos = 0;
        return 1;
    }
}

int gs_log_reader_open(const char *dir, gs_io *io, uint64_t from_lsn, int64_t since_us,
                       gs_log_reader **out, gs_err *err)
{
    *out = NULL;
    gs_log_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate a reader");
    int rc = snprintf(r->dir, sizeof(r->dir), "%s", dir) >= (int)sizeof(r->dir) - GS_SEG_NAME_MAX
                 ? gs_err_set(err, GS_EMISUSE, "path too long: %s", dir)
                 : GS_OK;
    r->io = io ? io : gs_io_default();
    r->from_lsn = from_lsn ? from_lsn : 1;
    r->since_us = since_us;
    if (rc == GS_OK)
        rc = gs_codec_init(&r->codec, 1, err);
    if (rc == GS_OK)
        rc = gs_seg_list_load(r->io, dir, &r->list, err);
    if (rc) {
        gs_log_reader_close(r);
        return rc;
    }
    *out = r;
    return GS_OK;
}

int gs_log_reader_next(gs_log_reader *r, gs_log_rec *rec, gs_err *err)
{
    if (r->sticky)
        return gs_err_set(err, r->sticky, "%s", r->sticky_msg);
    for (;;) {
        while (r->pos < r->nrec) {
            const gs_log_rec *x = &r->recs[r->pos++];
            if (x->lsn < r->from_lsn || (r->since_us && x->recv_us < r->since_us))
                continue;
            *rec = *x;
            return 1;
        }
        r->nrec = r->pos = 0;
        int rc = load_block(r, err);
        if (rc <= 0)
            return rc;
    }
}

void gs_log_reader_close(gs_log_reader *r)
{
    if (!r)
        return;
    if (r->seg_open)
        gs_seg_close(&r->seg);
    gs_seg_list_free(&r->list);
    gs_blkbuf_free(&r->b);
    gs_codec_free(&r->codec);
    free(r->recs);
    free(r);
}
