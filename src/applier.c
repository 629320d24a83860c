/*
 * applier.c - keeps a store's views up to date with its log.
 *
 * Writable store: on open the views catch up from their watermark
 * (synchronously, so a freshly opened store answers queries with everything
 * in its log); then one applier thread follows the log with a reader in
 * follow mode and applies what the writer has written, in batches. On close
 * the thread stops and a last catch-up runs after the log's final sync, so a
 * closed store's views hold every record of its log.
 *
 * Read-only store: the views are opened read-only (they show what the
 * writer last flushed); no thread.
 *
 * Why a reader and not a hand-off from the ingest path: the log is the only
 * source of truth, and a reader sees exactly what a crash would leave, so the
 * same code serves catch-up, follow and rebuild.
 */
#include "gs_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_priv.h"
#include "views.h"

#define APPLY_BATCH_RECORDS 4096
#define APPLY_BATCH_BYTES   (8u << 20)
#define FOLLOW_WAIT_MS      5

struct gs_applier {
    gs_views *views;
    gs_views_follower *follower; /* the thread's persistent log reader */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int paused;      /* a rebuild holds the views */
    int pause_acked; /* the thread is parked */
    gs_err err;      /* the thread's first failure */
    int failed;
};

/* Apply everything the log has written beyond the watermark, up to until
 * (0 = all). Runs on the applier thread or, with it parked, any thread. */
static int apply_written(gs_store *st, gs_views *v, uint64_t until, gs_err *err)
{
    uint64_t applied = 0;
    return gs_views_catch_up(v, st->log_dir, st->io, until, &applied, err);
}

static void *applier_main(void *arg)
{
    gs_store *st = arg;
    struct gs_applier *a = st->applier;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        if (a->paused) {
            a->pause_acked = 1;
            pthread_cond_broadcast(&a->cv);
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        a->pause_acked = 0;
        uint64_t wm = gs_views_watermark(a->views);
        uint64_t written = gs_log_written_lsn(st->log);
        if (written <= wm || a->failed) {
            pthread_mutex_unlock(&a->mu);
            gs_log_wait_head(st->log, written, FOLLOW_WAIT_MS);
            pthread_mutex_lock(&a->mu);
            continue;
        }
        pthread_mutex_unlock(&a->mu);
        gs_err err;
        gs_err_clear(&err);
        int rc = gs_views_follower_step(a->follower, written, NULL, &err);
        pthread_mutex_lock(&a->mu);
        if (rc && !a->failed) {
            a->failed = 1;
            a->err = err;
        }
    }
    a->pause_acked = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static int open_writable(gs_store *st, struct gs_applier *a, gs_err *err)
{
    int rc = gs_views_open(st->views_dir, NULL, &a->views, err);
    if (rc)
        return rc;
    /* Views ahead of the log: the log lost a tail the views had seen (power
     * cut in BATCH mode). The log is the truth: rebuild from it. */
    if (gs_views_watermark(a->views) > gs_log_head_lsn(st->log)) {
        rc = gs_views_wipe(a->views, err);
        if (rc)
            return rc;
    }
    rc = apply_written(st, a->views, 0, err);
    if (rc)
        return rc;
    rc = gs_views_follower_open(a->views, st->log_dir, st->io, &a->follower, err);
    if (rc)
        return rc;
    rc = pthread_create(&a->thread, NULL, applier_main, st);
    if (rc)
        return gs_err_set(err, GS_ENOMEM, "cannot start the views applier thread");
    a->thread_started = 1;
    return GS_OK;
}

int gs_store_views_start(gs_store *st, gs_err *err)
{
    struct gs_applier *a = calloc(1, sizeof(*a));
    if (!a)
        return gs_err_set(err, GS_ENOMEM, "out of memory");
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    st->applier = a;
    if (!st->opts.views)
        return GS_OK; /* log only: a->views stays NULL */
    if (st->log)
        return open_writable(st, a, err);
    gs_err e;
    int rc = gs_views_open_readonly(st->views_dir, &a->views, &e);
    if (rc == GS_ENOTFOUND)
        return GS_OK; /* no views yet: log-only reads still work */
    if (rc)
        a->views = NULL; /* queries will say why; the log stays readable */
    return GS_OK;
}

/* Stop the thread, then bring the views level with the (synced) log. */
int gs_store_views_stop(gs_store *st, gs_err *err)
{
    struct gs_applier *a = st->applier;
    if (!a)
        return GS_OK;
    int rc = GS_OK;
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
        a->thread_started = 0;
        if (a->failed) {
            *err = a->err;
            rc = err->code;
        }
    }
    if (a->views && st->log && rc == GS_OK) {
        rc = gs_log_sync(st->log, err);
        if (rc == GS_OK)
            rc = apply_written(st, a->views, 0, err);
    }
    gs_views_follower_close(a->follower);
    gs_err e2;
    int rc2 = gs_views_close(a->views, &e2);
    if (rc2 && rc == GS_OK) {
        *err = e2;
        rc = rc2;
    }
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
    st->applier = NULL;
    return rc;
}

struct gs_views *gs_store_views(gs_store *st)
{
    return st && st->applier ? st->applier->views : NULL;
}

int gs_store_views_pause(gs_store *st)
{
    struct gs_applier *a = st->applier;
    if (!a || !a->thread_started)
        return GS_OK;
    pthread_mutex_lock(&a->mu);
    a->paused = 1;
    pthread_cond_broadcast(&a->cv);
    while (!a->pause_acked)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    return GS_OK;
}

void gs_store_views_resume(gs_store *st)
{
    struct gs_applier *a = st->applier;
    if (!a || !a->thread_started)
        return;
    pthread_mutex_lock(&a->mu);
    a->paused = 0;
    a->pause_acked = 0;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int gs_store_views_sync(gs_store *st, gs_err *err)
{
    struct gs_applier *a = st->applier;
    if (!a || !a->views || !st->log)
        return GS_OK;
    int rc = gs_log_sync(st->log, err);
    if (rc)
        return rc;
    gs_store_views_pause(st);
    rc = apply_written(st, a->views, 0, err);
    gs_store_views_resume(st);
    return rc;
}
