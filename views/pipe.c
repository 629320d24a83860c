/*
 * pipe.c - the views' background writer: a replay's commit hands its
 * write batch here and goes on with the next batch (see views_int.h).
 *
 * Why: a replay (catch-up, the store's applier following the log, a
 * rebuild) is one thread, and about a third of its time was RocksDB's
 * memtable inserts of each commit (skip-list inserts, ~5 000 instructions
 * a key). With this writer they run on the other core while the applier
 * parses and applies the next batch.
 *
 * What keeps it exact:
 * - One batch in flight at most: a commit first waits for the previous
 *   write (gs_vpipe_settle), so writes land in order.
 * - The entity cache is brought level with a batch when it is handed over,
 *   so the next batch reads its values there. Any read of RocksDB by the
 *   applier (a cache miss, an iterator, the tombstone load) first waits for
 *   the write in flight (gs_vpipe_drain), so it never sees the state
 *   before a batch the cache already shows.
 * - The watermark (v->watermark, what gs_views_watermark reports and the
 *   store publishes to confirm-mode subscribers) moves only once the write
 *   is done (gs_vpipe_settle, on the applier's thread): a query made
 *   after seeing a watermark finds the batch in RocksDB.
 * - Point gets fill the cache with what they read from RocksDB only if no
 *   write was in flight meanwhile: the commit sets wr_inflight with the
 *   cache update, the writer clears it and bumps cache_gen when done, both
 *   under the cache lock, and a get fills only if cache_gen did not move
 *   and wr_inflight is clear (query.c). Else a get that read a value the
 *   batch in flight replaces (a deleted user, say) would cache it over the
 *   batch's state: test_views_threads caught exactly that.
 * - A failed write fails the views: the cache (which shows the batch) is
 *   cleared, the watermark stays at the last written batch, and the error
 *   is returned by the next apply, settle or catch-up; replaying from the
 *   watermark redoes the lost batch.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

atomic_int gs_vpipe_fail_writes;

struct gs_vpipe {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rocksdb_writebatch_t *job;  /* being written; NULL when idle */
    rocksdb_writebatch_t *idle; /* written and cleared, for the next commit */
    char *rerr;                 /* the last write's error (RocksDB's string) */
    int stop;
    gs_views *v;
};

/* A batch that grew past this (a replay batch of guild snapshots makes it
 * ~8 MB) is replaced once written rather than kept at that size. */
#define PIPE_KEEP_BATCH_BYTES (1u << 20)

static void *pipe_main(void *arg)
{
    gs_vpipe *p = arg;
    gs_views *v = p->v;
    pthread_setname_np(pthread_self(), "gs-views-write");
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->job && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->job)
            break;
        rocksdb_writebatch_t *b = p->job;
        pthread_mutex_unlock(&p->mu);
        char *rerr = NULL;
        if (atomic_load(&gs_vpipe_fail_writes) > 0) {
            atomic_fetch_sub(&gs_vpipe_fail_writes, 1);
            rerr = strdup("IO error: injected by a test (gs_vpipe_fail_writes)");
        } else {
            rocksdb_write(v->db, v->wo, b, &rerr);
        }
        size_t size = 0;
        rocksdb_writebatch_data(b, &size);
        if (size > PIPE_KEEP_BATCH_BYTES) {
            rocksdb_writebatch_t *n = rocksdb_writebatch_create();
            if (n) {
                rocksdb_writebatch_destroy(b);
                b = n;
            }
        }
        rocksdb_writebatch_clear(b);
        /* Point gets that read RocksDB during the write must not cache
         * what they read (query.c compares cache_gen and wr_inflight). */
        if (v->ecache) {
            pthread_rwlock_wrlock(&v->cache_lock);
            v->cache_gen++;
            v->wr_inflight = 0;
            pthread_rwlock_unlock(&v->cache_lock);
        }
        pthread_mutex_lock(&p->mu);
        p->job = NULL;
        p->idle = b;
        p->rerr = rerr;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int pipe_start(gs_views *v, gs_err *err)
{
    gs_vpipe *p = calloc(1, sizeof(*p));
    if (!p)
        return gs_err_set(err, GS_ENOMEM, "out of memory starting the views writer");
    p->v = v;
    p->idle = rocksdb_writebatch_create();
    if (!p->idle) {
        free(p);
        return gs_err_set(err, GS_ENOMEM, "out of memory starting the views writer");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, pipe_main, p) != 0) {
        rocksdb_writebatch_destroy(p->idle);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return gs_err_set(err, GS_ENOMEM, "cannot start the views writer thread");
    }
    v->pipe = p;
    return GS_OK;
}

void gs_vpipe_drain(gs_views *v)
{
    gs_vpipe *p = v->pipe;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    while (p->job)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int gs_vpipe_settle(gs_views *v, gs_err *err)
{
    if (!v->pend)
        return GS_OK;
    /* Only a commit (under apply_mu, held here) hands a write: once idle,
     * the writer stays idle while its result is taken. */
    gs_vpipe_drain(v);
    gs_vpipe *p = v->pipe;
    pthread_mutex_lock(&p->mu);
    char *rerr = p->rerr;
    p->rerr = NULL;
    pthread_mutex_unlock(&p->mu);
    v->pend = 0;
    if (rerr) {
        /* The cache shows a batch RocksDB does not hold: forget it. */
        if (v->ecache) {
            pthread_rwlock_wrlock(&v->cache_lock);
            gs_vcache_clear(v->ecache);
            v->cache_gen++;
            pthread_rwlock_unlock(&v->cache_lock);
        }
        v->me_known = 0;
        return gs_vdb_err(err, rerr, "cannot write views");
    }
    v->watermark = v->pend_wm;
    v->fail_count = v->pend_fails;
    return GS_OK;
}

int gs_vpipe_hand(gs_views *v, uint64_t wm, uint64_t fails, gs_err *err)
{
    if (!v->pipe) {
        int rc = pipe_start(v, err);
        if (rc != GS_OK)
            return rc;
    }
    gs_vpipe *p = v->pipe;
    pthread_mutex_lock(&p->mu);
    /* The caller settled the previous write: the writer is idle. */
    rocksdb_writebatch_t *next = p->idle;
    p->idle = NULL;
    p->job = v->batch;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    v->batch = next;
    v->pend = 1;
    v->pend_wm = wm;
    v->pend_fails = fails;
    return GS_OK;
}

void gs_vpipe_stop(gs_views *v)
{
    gs_vpipe *p = v->pipe;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (p->idle)
        rocksdb_writebatch_destroy(p->idle);
    if (p->rerr)
        rocksdb_free(p->rerr);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    v->pipe = NULL;
}
