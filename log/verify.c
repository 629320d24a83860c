/* verify.c - check a whole log (every header, block, record and index) and
 * report each problem through a callback; and cheap statistics that use
 * the index footers where they exist. */
#include "gs_common.h"

#include "log_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vctx {
    gs_log_verify_fn cb;
    void *ud;
    gs_log_verify_sum sum;
    int bad;
    gs_blkbuf b;
    gs_codec codec;
    gs_log_rec *recs;
    size_t recs_cap;
    uint64_t prev_last; /* last LSN of the previous segment (0 = none yet) */
    int have_id;
    uint8_t store_id[16];
    int version; /* a segment of a newer format was met */
    char version_msg[GS_ERRMSG_MAX];
} vctx;

static void report(vctx *v, const gs_seg *s, uint64_t off, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void report(vctx *v, const gs_seg *s, uint64_t off, int code, const char *fmt, ...)
{
    char what[GS_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    v->bad = 1;
    if (v->cb)
        v->cb(v->ud, s->name, off, code, what);
}

static int entry_matches(const gs_idx_entry *e, uint64_t off, const gs_blk_hdr *h)
{
    return e->off == off && e->first_lsn == h->first_lsn && e->count == h->count &&
           e->min_us == h->min_us && e->max_us == h->max_us && e->frame_bytes == h->frame_bytes &&
           e->comp_len == h->comp_len && e->raw_len == h->raw_len;
}

/* Check every block of one open segment from `off`. */
static int verify_blocks(vctx *v, gs_seg *s, int newest, int index_rc, gs_err *err)
{
    uint64_t limit = gs_seg_blocks_end(s);
    uint64_t off = s->data_off;
    uint64_t expect = s->base;
    size_t k = 0;
    int index_mismatch = 0;
    if (s->hdr_rc != GS_OK) {
        uint64_t found;
        int rc = gs_seg_find_block(s, 0, limit, &v->b, &found, err);
        if (rc < 0)
            return rc;
        off = rc ? found : limit;
        expect = 0; /* unknown */
    }
    while (off < limit) {
        gs_blk_hdr h;
        const char *what = "bad block";
        int rc = gs_seg_read_block(s, off, limit, &v->b, &h, &what, err);
        if (rc < 0 && rc != GS_ECORRUPT)
            return rc;
        if (rc == GS_OK) {
            rc = gs_blk_decode_records(&v->codec, &h, v->b.p + GS_BLK_HDR_LEN, &v->recs,
                                       &v->recs_cap, &what, err);
            if (rc < 0 && rc != GS_ECORRUPT)
                return rc;
        }
        if (rc == GS_OK) {
            if (expect && h.first_lsn != expect) {
                report(v, s, off, GS_ECORRUPT, "block starts at LSN %" PRIu64 ", expected %" PRIu64,
                       h.first_lsn, expect);
            }
            if (s->sealed) {
                while (k < s->trailer.count && s->idx[k].off < off)
                    k++;
                if (k >= s->trailer.count || !entry_matches(&s->idx[k], off, &h))
                    index_mismatch = 1;
            }
            v->sum.blocks_ok++;
            v->sum.records_ok += h.count;
            v->sum.bytes_checked += GS_BLK_HDR_LEN + h.comp_len;
            expect = h.first_lsn + h.count;
            off += GS_BLK_HDR_LEN + h.comp_len;
            continue;
        }
        /* A bad block: find the next good one. */
        uint64_t found;
        int f = gs_seg_find_block(s, off + 1, limit, &v->b, &found, err);
        if (f < 0)
            return f;
        uint64_t next = f ? found : limit;
        if (!f && !newest && !s->sealed) {
            /* Bytes after the last block of a sealed segment whose footer
             * failed to load: that is the damaged index itself. */
            report(v, s, off, GS_ECORRUPT, "index footer damaged (%s)",
                   index_rc == GS_ECORRUPT ? "bad checksum or entries" : "trailer missing");
            index_rc = GS_OK; /* reported */
            break;
        }
        v->sum.blocks_bad++;
        if (rc == GS_BLK_SHORT)
            what = newest ? "torn tail: incomplete block at the end of the newest segment"
                          : "incomplete block";
        report(v, s, off, GS_ECORRUPT, "%s", what);
        off = next;
        expect = 0;
    }
    if (!newest && !s->sealed && index_rc != GS_OK)
        report(v, s, limit, GS_ECORRUPT, "sealed segment has no index footer");
    if (s->sealed && index_mismatch)
        report(v, s, s->trailer.index_off, GS_ECORRUPT, "index footer does not match the blocks");
    /* A damaged block at the end is reported already; do not report the
     * next segment's start as a second problem. */
    if (s->sealed)
        v->prev_last = s->trailer.last_lsn;
    else
        v->prev_last = expect ? expect - 1 : 0;
    return GS_OK;
}

int gs_log_verify_dir(const char *dir, gs_io *io, gs_log_verify_fn cb, void *ud,
                      gs_log_verify_sum *sum, gs_err *err)
{
    io = io ? io : gs_io_default();
    vctx v;
    memset(&v, 0, sizeof(v));
    v.cb = cb;
    v.ud = ud;
    gs_seg_list l = {0};
    int rc = gs_codec_init(&v.codec, 1, err);
    if (rc == GS_OK)
        rc = gs_seg_list_load(io, dir, &l, err);
    for (size_t i = 0; rc == GS_OK && i < l.n; i++) {
        gs_seg s;
        gs_err e;
        rc = gs_seg_open(io, dir, l.base[i], 0, &s, &e);
        if (rc) {
            if (err)
                *err = e;
            gs_seg_close(&s);
            break;
        }
        v.sum.segments++;
        int newest = i + 1 == l.n;
        if (s.hdr_rc != GS_OK)
            report(&v, &s, 0, s.hdr_rc, "%s", e.msg);
        if (s.hdr_rc == GS_EVERSION) {
            if (!v.version)
                snprintf(v.version_msg, sizeof(v.version_msg), "%s", e.msg);
            v.version = 1;
            gs_seg_close(&s);
            continue;
        }
        if (s.hdr_rc == GS_OK) {
            if (v.have_id && memcmp(v.store_id, s.hdr.store_id, 16) != 0)
                report(&v, &s, 24, GS_ECORRUPT, "store id differs from the first segment's");
            if (!v.have_id) {
                memcpy(v.store_id, s.hdr.store_id, 16);
                v.have_id = 1;
            }
            if (v.prev_last && s.base != v.prev_last + 1)
                report(&v, &s, 0, GS_ECORRUPT,
                       "segment starts at LSN %" PRIu64 " but the previous one ends at %" PRIu64,
                       s.base, v.prev_last);
        }
        int irc = gs_seg_load_index(&s, NULL);
        if (irc < 0 && irc != GS_ECORRUPT) {
            rc = gs_err_set(err, irc, "cannot read the index of %s", s.path);
            gs_seg_close(&s);
            break;
        }
        rc = verify_blocks(&v, &s, newest, irc, err);
        gs_seg_close(&s);
    }
    gs_seg_list_free(&l);
    gs_blkbuf_free(&v.b);
    gs_codec_free(&v.codec);
    free(v.recs);
    if (sum)
        *sum = v.sum;
    if (rc)
        return rc;
    if (v.version)
        return gs_err_set(err, GS_EVERSION, "%s", v.version_msg);
    if (v.bad)
        return gs_err_set(err, GS_ECORRUPT, "log %s has damage (%" PRIu64 " bad blocks)", dir,
                          v.sum.blocks_bad);
    return GS_OK;
}

/* ------------------------------------------------------------------ stat */

static void stat_block(gs_log_stats *st, uint64_t first, uint32_t count, int64_t mn, int64_t mx,
                       uint32_t frames, uint32_t comp)
{
    if (st->blocks == 0 || first < st->first_lsn)
        st->first_lsn = first;
    if (first + count - 1 > st->last_lsn)
        st->last_lsn = first + count - 1;
    if (st->blocks == 0 || mn < st->min_recv_us)
        st->min_recv_us = mn;
    if (st->blocks == 0 || mx > st->max_recv_us)
        st->max_recv_us = mx;
    st->blocks++;
    st->records += count;
    st->raw_bytes += frames;
    st->compressed_bytes += comp;
}

int gs_log_stat_dir(const char *dir, gs_io *io, gs_log_stats *out, gs_err *err)
{
    io = io ? io : gs_io_default();
    gs_log_stats st;
    memset(&st, 0, sizeof(st));
    gs_seg_list l = {0};
    gs_blkbuf b = {0};
    int rc = gs_seg_list_load(io, dir, &l, err);
    for (size_t i = 0; rc == GS_OK && i < l.n; i++) {
        gs_seg s;
        rc = gs_seg_open(io, dir, l.base[i], 0, &s, err);
        if (rc) {
            gs_seg_close(&s);
            break;
        }
        st.segments++;
        st.file_bytes += s.size;
        if (s.hdr_rc == GS_OK && gs_seg_load_index(&s, NULL) == GS_OK) {
            st.sealed_segments++;
            for (size_t k = 0; k < s.trailer.count; k++) {
                const gs_idx_entry *e = &s.idx[k];
                stat_block(&st, e->first_lsn, e->count, e->min_us, e->max_us, e->frame_bytes,
                           e->comp_len);
            }
        } else if (s.hdr_rc == GS_OK) {
            /* The active segment (or a damaged index): walk the blocks,
             * stopping at the first one that does not check out. */
            uint64_t off = s.data_off;
            for (;;) {
                gs_blk_hdr h;
                const char *what;
                int r = gs_seg_read_block(&s, off, s.size, &b, &h, &what, err);
                if (r < 0 && r != GS_ECORRUPT) {
                    rc = r;
                    break;
                }
                if (r != GS_OK)
                    break;
                stat_block(&st, h.first_lsn, h.count, h.min_us, h.max_us, h.frame_bytes,
                           h.comp_len);
                off += GS_BLK_HDR_LEN + h.comp_len;
            }
        }
        gs_seg_close(&s);
    }
    gs_seg_list_free(&l);
    gs_blkbuf_free(&b);
    if (rc == GS_OK)
        *out = st;
    return rc;
}
