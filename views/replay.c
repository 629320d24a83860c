/*
 * replay.c - catching the views up with the log: read from watermark+1 and
 * apply in batches. Used on open (after a crash the views may be behind),
 * by the store's applier as the log grows, and for a rebuild after a wipe.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

/* A batch: up to this many records or raw bytes per atomic write. Large
 * enough to amortize the write, small enough to bound memory.
 *
 * Tried for the rebuild and measured against this plain loop (2 cores
 * shared with other jobs, tests/test_views_bulk.c kept for both): a reader
 * thread one batch ahead (the log's pread, XXH3, zstd and copies are ~6 %
 * of a rebuild's CPU) was slower in 4 of 5 e2e pairs and even in direct
 * rebuilds, an extra runnable thread taking time from the applying one,
 * which is the critical path; bulk-load options (level-0 compactions held
 * back, uncompressed flushes) did not lower the applying thread's CPU time,
 * and rocksdb_set_options_cf rewrites a 64 KiB OPTIONS file per call and
 * family, which on a full disk makes RocksDB 7.8 abort (t_cli_enospc); a
 * compaction of everything at the end made the views 5-19 % smaller but
 * the rebuild 25 % (default shape) to 40 % (large) slower.
 *
 * Also tried (branch wip3-pipe, with tests): each batch's RocksDB write on
 * a writer thread while the next batch is built, the cache level with a
 * batch at hand-over and the batch in flight read from its overlay.
 * `gatestore views rebuild`, default shape: 2.95/2.61/3.32 -> 2.57/2.30/
 * 2.06 s. But two batches are then alive at once: at 4 MiB each the
 * default e2e shape's peak RSS went from 109-118 to 127-130 MB; at 2 MiB
 * each (RSS unchanged) the large shape's rebuild went from 24.3/25.5/25.2
 * to 24.5/28.4/29.3/25.4/27.9 s (4 MiB: 23.0/24.6/23.1 s), and ingest to
 * confirmed did not move (both cores already busy there). Not kept in that
 * form; apply.c now does it inside each apply call, in stages of at most
 * 256 records or 256 KiB, so the two overlays stay small. */
/* 2 MiB: a batch's frames, its overlay and its RocksDB write batch grow
 * with it, and are the part of a replay's memory that is not a budget.
 * From 4 MiB (alternated runs, e2e figures from `gatestore-bench-e2e`):
 * `gatestore views rebuild` peak RSS 123.7/127.1 -> 114.8/115.0 MB (large
 * shape) and 102.7/102.4/98.9 -> 94.6/91.7/93.7 MB (default), for 2-7 %
 * more rebuild time; the large e2e's peak 155.4/149.6 -> 141.2/138.3 MB and
 * its peak by confirmed (the close's catch-up replays too) 134.2/133.3 ->
 * 126.5/123.5 MB, with ingest to confirmed 29.9/30.9 -> 34.7/29.7 s. */
#define BATCH_RECORDS 1024
#define BATCH_BYTES   (2u << 20)

typedef struct batch {
    gs_log_rec recs[BATCH_RECORDS];
    size_t n;
    gs_vbuf bytes; /* event names and raw frames, copied out of the reader */
} batch;

/* Whether r must go into the next batch: the byte budget is checked before
 * a record is added, so the buffer stays within BATCH_BYTES (one reserve,
 * no doubling past it) unless a single record is larger. Checked after the
 * add, a 4 MiB budget grew the buffer to 8 MiB: 8 MB of the peak RSS of a
 * rebuild, and 8 MB more held by the follower (default e2e shape). */
static int batch_full(const batch *b, const gs_log_rec *r)
{
    return b->n == BATCH_RECORDS ||
           (b->n && b->bytes.len + r->event_len + r->raw_len > BATCH_BYTES);
}

/* Reader records are only valid until the next read: copy them. Pointers
 * are fixed up once the batch is complete (the buffer may move). */
static int batch_add(batch *b, const gs_log_rec *r)
{
    if (b->bytes.cap == 0 && gs_vbuf_reserve(&b->bytes, BATCH_BYTES) != 0)
        return GS_ENOMEM;
    gs_log_rec *c = &b->recs[b->n];
    *c = *r;
    c->event = (const char *)(uintptr_t)b->bytes.len;
    if (gs_vbuf_put(&b->bytes, r->event, r->event_len) != 0)
        return GS_ENOMEM;
    c->raw = (const char *)(uintptr_t)b->bytes.len;
    if (gs_vbuf_put(&b->bytes, r->raw, r->raw_len) != 0)
        return GS_ENOMEM;
    b->n++;
    return GS_OK;
}

/* Apply the batch. more: other batches follow, so its last stage may be
 * written while the next batch is read (gs_views_apply_more); else every
 * stage has landed on return, a stage left by an earlier batch included,
 * whatever the outcome. */
static int batch_flush(gs_views *v, batch *b, int more, gs_err *err)
{
    for (size_t i = 0; i < b->n; i++) {
        b->recs[i].event = b->bytes.p + (uintptr_t)b->recs[i].event;
        b->recs[i].raw = b->bytes.p + (uintptr_t)b->recs[i].raw;
    }
    int rc = GS_OK;
    if (b->n)
        rc = more ? gs_views_apply_more(v, b->recs, b->n, err)
                  : gs_views_apply(v, b->recs, b->n, err);
    if (!more) {
        gs_err lerr;
        int lrc = gs_views_settle(v, rc == GS_OK ? err : &lerr);
        if (rc == GS_OK)
            rc = lrc;
    }
    b->n = 0;
    gs_vbuf_reset(&b->bytes);
    /* A replay is bulk work with no waiter on each batch: trim as it goes
     * even when the live applier defers it (a rebuild through a store). */
    if (rc == GS_OK)
        gs_views_housekeep(v, 1);
    return rc;
}

static int catch_up(gs_views *v, const char *log_dir, gs_io *io, uint64_t until_lsn,
                    uint64_t *applied, gs_err *err)
{
    uint64_t from = gs_views_watermark(v) + 1;
    if (until_lsn && from > until_lsn)
        return GS_OK;
    gs_log_reader *r = NULL;
    int rc = gs_log_reader_open(log_dir, io, from, 0, &r, err);
    if (rc != GS_OK)
        return rc;
    batch *b = calloc(1, sizeof(*b));
    if (!b) {
        gs_log_reader_close(r);
        return gs_err_set(err, GS_ENOMEM, "out of memory replaying the log");
    }
    uint64_t count = 0;
    for (;;) {
        gs_log_rec rec;
        gs_err rerr;
        gs_err_clear(&rerr);
        rc = gs_log_reader_next(r, &rec, &rerr);
        if (rc == GS_ECORRUPT) {
            /* The reader resumes at the next good block; the views skip what
             * cannot be read, as a fresh rebuild would. */
            continue;
        }
        if (rc < 0) {
            *err = rerr;
            break;
        }
        if (rc == 0 || (until_lsn && rec.lsn > until_lsn)) {
            rc = GS_OK;
            break;
        }
        if (rec.lsn < from)
            continue;
        if (batch_full(b, &rec)) {
            rc = batch_flush(v, b, 1, err);
            if (rc != GS_OK)
                break;
        }
        rc = batch_add(b, &rec);
        if (rc != GS_OK) {
            gs_err_set(err, rc, "out of memory replaying the log");
            break;
        }
        count++;
    }
    /* The last batch, or (after an error) only what is in flight. */
    if (rc != GS_OK)
        b->n = 0;
    gs_err ferr;
    int frc = batch_flush(v, b, 0, rc == GS_OK ? err : &ferr);
    if (rc == GS_OK)
        rc = frc;
    gs_vbuf_free(&b->bytes);
    free(b);
    gs_log_reader_close(r);
    if (applied)
        *applied = count;
    return rc;
}

int gs_views_catch_up(gs_views *v, const char *log_dir, gs_io *io, uint64_t until_lsn,
                      uint64_t *applied, gs_err *err)
{
    if (applied)
        *applied = 0;
    if (v->read_only)
        return gs_err_set(err, GS_EREADONLY, "views %s are open read-only", v->dir);
    pthread_mutex_lock(&v->catchup_mu);
    int rc = catch_up(v, log_dir, io, until_lsn, applied, err);
    pthread_mutex_unlock(&v->catchup_mu);
    return rc;
}

/* ---- follower: one reader kept open across calls ---- */

struct gs_views_follower {
    gs_views *v;
    char *log_dir;
    gs_io *io;
    gs_log_reader *r;
    uint64_t next; /* LSN the reader is positioned at */
    batch *b;
};

int gs_views_follower_open(gs_views *v, const char *log_dir, gs_io *io, gs_views_follower **out,
                           gs_err *err)
{
    gs_views_follower *f = calloc(1, sizeof(*f));
    if (!f || !(f->b = calloc(1, sizeof(*f->b))) || !(f->log_dir = strdup(log_dir))) {
        if (f)
            free(f->b);
        free(f);
        return gs_err_set(err, GS_ENOMEM, "out of memory");
    }
    f->v = v;
    f->io = io;
    *out = f;
    return GS_OK;
}

void gs_views_follower_close(gs_views_follower *f)
{
    if (!f)
        return;
    gs_log_reader_close(f->r);
    gs_vbuf_free(&f->b->bytes);
    free(f->b);
    free(f->log_dir);
    free(f);
}

static int follow_step(gs_views_follower *f, uint64_t until_lsn, uint64_t *applied, gs_err *err)
{
    uint64_t from = gs_views_watermark(f->v) + 1;
    if (until_lsn && from > until_lsn)
        return GS_OK;
    /* The watermark moved without us (a rebuild, a catch-up): re-seek. */
    if (f->r && f->next != from) {
        gs_log_reader_close(f->r);
        f->r = NULL;
    }
    if (!f->r) {
        int rc = gs_log_reader_open(f->log_dir, f->io, from, 0, &f->r, err);
        if (rc != GS_OK)
            return rc;
        f->next = from;
    }
    int rc = GS_OK;
    for (;;) {
        gs_log_rec rec;
        gs_err rerr;
        gs_err_clear(&rerr);
        rc = gs_log_reader_next(f->r, &rec, &rerr);
        if (rc == GS_ECORRUPT)
            continue; /* as catch_up: skip what cannot be read */
        if (rc < 0) {
            *err = rerr;
            break;
        }
        if (rc == 0) {
            rc = GS_OK;
            break;
        }
        if (rec.lsn < from)
            continue;
        if (batch_full(f->b, &rec)) {
            rc = batch_flush(f->v, f->b, 1, err);
            if (rc != GS_OK)
                break;
        }
        rc = batch_add(f->b, &rec);
        if (rc != GS_OK) {
            gs_err_set(err, rc, "out of memory following the log");
            break;
        }
        f->next = rec.lsn + 1;
        if (applied)
            (*applied)++;
        if (until_lsn && rec.lsn >= until_lsn)
            break;
    }
    gs_err ferr;
    int rc2 = batch_flush(f->v, f->b, 0, rc == GS_OK ? err : &ferr);
    if (rc == GS_OK)
        rc = rc2;
    /* The applier follows the log only when the feed has lost records;
     * between such steps the batch buffer (up to BATCH_BYTES) is not kept. */
    gs_vbuf_free(&f->b->bytes);
    if (rc != GS_OK) {
        /* Start over from the watermark next time. */
        gs_log_reader_close(f->r);
        f->r = NULL;
    }
    return rc;
}

int gs_views_follower_step(gs_views_follower *f, uint64_t until_lsn, uint64_t *applied, gs_err *err)
{
    if (applied)
        *applied = 0;
    if (f->v->read_only)
        return gs_err_set(err, GS_EREADONLY, "views %s are open read-only", f->v->dir);
    pthread_mutex_lock(&f->v->catchup_mu);
    int rc = follow_step(f, until_lsn, applied, err);
    pthread_mutex_unlock(&f->v->catchup_mu);
    return rc;
}
