/*
 * replay.c - catching the views up with the log: read from watermark+1 and
 * apply in batches. Used on open (after a crash the views may be behind),
 * by the store's applier as the log grows, and for a rebuild after a wipe.
 */
#include "gs_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "views_int.h"

/* A batch: up to this many records or raw bytes per atomic write. Large
 * enough to amortize the write, small enough to bound memory. */
#define BATCH_RECORDS 1024
#define BATCH_BYTES   (4u << 20)

typedef struct batch {
    gs_log_rec recs[BATCH_RECORDS];
    size_t n;
    gs_vbuf bytes; /* event names and raw frames, copied out of the reader */
} batch;

/* Reader records are only valid until the next read: copy them. Pointers
 * are fixed up once the batch is complete (the buffer may move). */
static int batch_add(batch *b, const gs_log_rec *r)
{
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

/* Fix up the pointers once the batch is complete (the buffer may have
 * moved while it grew). */
static void batch_seal(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        b->recs[i].event = b->bytes.p + (uintptr_t)b->recs[i].event;
        b->recs[i].raw = b->bytes.p + (uintptr_t)b->recs[i].raw;
    }
}

static int batch_full(const batch *b)
{
    return b->n == BATCH_RECORDS || b->bytes.len >= BATCH_BYTES;
}

/* Apply a sealed batch and empty it. */
static int batch_apply(gs_views *v, batch *b, gs_err *err)
{
    int rc = b->n ? gs_views_apply(v, b->recs, b->n, err) : GS_OK;
    b->n = 0;
    gs_vbuf_reset(&b->bytes);
    return rc;
}

static int batch_flush(gs_views *v, batch *b, gs_err *err)
{
    batch_seal(b);
    return batch_apply(v, b, err);
}

/* ---- catch-up: a reader thread ahead of the applying thread ----
 *
 * Reading the log (pread, XXH3 checks, zstd decompression, copying the
 * records out) runs on its own thread, one batch ahead of this one, which
 * applies. Records are applied in log order, in the same batches as a
 * plain loop would make: the result is the same. It took ~6% of a rebuild's
 * CPU off the applying thread, which is the critical path; two batches in
 * flight bound the memory (2 x BATCH_BYTES of copies at most). */
#define PIPE_DEPTH 2

typedef struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *slot[PIPE_DEPTH];
    uint64_t produced, consumed; /* batches handed over / applied */
    int done;                    /* reader finished; rc and err say how */
    int stop;                    /* the applying side failed: reader quits */
    int rc;
    gs_err err;
    gs_log_reader *r;
    uint64_t from, until_lsn, count;
} pipe;

/* Fill b from the reader: GS_OK with *end set at the end of the log (or
 * past until_lsn), else an error. */
static int pipe_fill(pipe *p, batch *b, int *end, gs_err *err)
{
    for (;;) {
        gs_log_rec rec;
        gs_err rerr;
        gs_err_clear(&rerr);
        int rc = gs_log_reader_next(p->r, &rec, &rerr);
        if (rc == GS_ECORRUPT) {
            /* The reader resumes at the next good block; the views skip what
             * cannot be read, as a fresh rebuild would. */
            continue;
        }
        if (rc < 0) {
            *err = rerr;
            return rc;
        }
        if (rc == 0 || (p->until_lsn && rec.lsn > p->until_lsn)) {
            *end = 1;
            return GS_OK;
        }
        if (rec.lsn < p->from)
            continue;
        if (batch_add(b, &rec) != GS_OK)
            return gs_err_set(err, GS_ENOMEM, "out of memory replaying the log");
        p->count++;
        if (batch_full(b))
            return GS_OK;
    }
}

static void *pipe_reader(void *arg)
{
    pipe *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->produced - p->consumed >= PIPE_DEPTH)
            pthread_cond_wait(&p->cv, &p->mu);
        int stop = p->stop;
        batch *b = p->slot[p->produced % PIPE_DEPTH];
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        int end = 0;
        gs_err err;
        gs_err_clear(&err);
        int rc = pipe_fill(p, b, &end, &err);
        batch_seal(b);
        pthread_mutex_lock(&p->mu);
        if (rc == GS_OK && b->n)
            p->produced++;
        if (rc != GS_OK || end) {
            p->done = 1;
            p->rc = rc;
            p->err = err;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (rc != GS_OK || end)
            break;
    }
    return NULL;
}

/* Next batch to apply (NULL at the end, *rc set if the reader failed). */
static batch *pipe_next(pipe *p, int *rc, gs_err *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->consumed == p->produced && !p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    batch *b = NULL;
    if (p->consumed != p->produced)
        b = p->slot[p->consumed % PIPE_DEPTH];
    else if (p->rc != GS_OK) {
        *rc = p->rc;
        *err = p->err;
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

static void pipe_release(pipe *p, int failed)
{
    pthread_mutex_lock(&p->mu);
    p->consumed++;
    if (failed)
        p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void pipe_free(pipe *p)
{
    for (int i = 0; i < PIPE_DEPTH; i++) {
        if (p->slot[i])
            gs_vbuf_free(&p->slot[i]->bytes);
        free(p->slot[i]);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static int catch_up(gs_views *v, const char *log_dir, gs_io *io, uint64_t until_lsn,
                    uint64_t *applied, gs_err *err)
{
    uint64_t from = gs_views_watermark(v) + 1;
    if (until_lsn && from > until_lsn)
        return GS_OK;
    pipe p;
    memset(&p, 0, sizeof(p));
    p.from = from;
    p.until_lsn = until_lsn;
    if (pthread_mutex_init(&p.mu, NULL) != 0)
        return gs_err_set(err, GS_ENOMEM, "out of memory replaying the log");
    if (pthread_cond_init(&p.cv, NULL) != 0) {
        pthread_mutex_destroy(&p.mu);
        return gs_err_set(err, GS_ENOMEM, "out of memory replaying the log");
    }
    for (int i = 0; i < PIPE_DEPTH; i++) {
        if (!(p.slot[i] = calloc(1, sizeof(batch)))) {
            pipe_free(&p);
            return gs_err_set(err, GS_ENOMEM, "out of memory replaying the log");
        }
    }
    int rc = gs_log_reader_open(log_dir, io, from, 0, &p.r, err);
    if (rc != GS_OK) {
        pipe_free(&p);
        return rc;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, pipe_reader, &p) != 0) {
        gs_log_reader_close(p.r);
        pipe_free(&p);
        return gs_err_set(err, GS_ENOMEM, "cannot start the log reader thread");
    }
    /* An empty database filled by a whole log (rebuild, wipe, first open):
     * a bulk load, compacted at the end (db.c), once it is more than one
     * batch. */
    int bulk = 0, may_bulk = from == 1 && !until_lsn;
    for (;;) {
        batch *b = pipe_next(&p, &rc, err);
        if (!b)
            break;
        if (may_bulk && batch_full(b))
            bulk = 1;
        rc = batch_apply(v, b, err);
        pipe_release(&p, rc != GS_OK);
        if (rc != GS_OK)
            break;
    }
    pthread_join(th, NULL);
    if (bulk && rc == GS_OK)
        gs_vdb_compact_all(v);
    gs_log_reader_close(p.r);
    pipe_free(&p);
    if (applied)
        *applied = p.count;
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
        rc = batch_add(f->b, &rec);
        if (rc != GS_OK) {
            gs_err_set(err, rc, "out of memory following the log");
            break;
        }
        f->next = rec.lsn + 1;
        if (applied)
            (*applied)++;
        if (f->b->n == BATCH_RECORDS || f->b->bytes.len >= BATCH_BYTES ||
            (until_lsn && rec.lsn >= until_lsn)) {
            rc = batch_flush(f->v, f->b, err);
            if (rc != GS_OK || (until_lsn && rec.lsn >= until_lsn))
                break;
        }
    }
    int rc2 = batch_flush(f->v, f->b, err);
    if (rc == GS_OK)
        rc = rc2;
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
