/*
 * applier.c - keeps a store's views up to date with its log.
 *
 * Writable store: on open the views catch up from their watermark
 * (synchronously, so a freshly opened store answers queries with everything
 * in its log); then one applier thread applies new records in batches. It
 * takes them from the in-memory feed (feed.h: copies ingest made right
 * after each append) while they are contiguous with the watermark, and
 * falls back to following the written log with a reader when the feed
 * lacks the next LSN (evicted, too big, or an appender slow to push it).
 * On close the thread stops and a last catch-up runs after the log's final
 * sync, so a closed store's views hold every record of its log.
 *
 * Why the feed: in BATCH mode blocks reach the file only every batch_ms, so
 * a reader-fed applier confirms ~batch_ms after the append; from the feed it
 * is one apply away. The cost: the views may run ahead of the durable log
 * (their watermark past gs_log_durable_lsn). That is safe: RocksDB keeps no
 * WAL, so what survives a crash is a flushed state, and open wipes and
 * rebuilds views whose watermark is past the recovered log's head.
 *
 * After each applied batch the watermark is published to the feed at once
 * (waking confirm-mode subscriptions and gs_wait_confirmed), before the
 * batch's copies are freed; STORE/watermark (for readers in other
 * processes; see CONSUMERS_FORMAT.md) follows when the applier catches up,
 * and every WMFILE_EVERY_NS while batches come back to back.
 *
 * Read-only store: the views are opened read-only (they show what the
 * writer last flushed); no thread.
 */
#include "gs_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feed.h"
#include "posfile.h"
#include "stages.h"
#include "store_int.h"
#include "store_priv.h"
#include "views.h"

#define FOLLOW_WAIT_MS 5
#define FEED_BATCH     512
/* While batches stream in back to back, STORE/watermark is rewritten at
 * most this often, and at once when the applier catches up: readers in
 * other processes poll it every millisecond or two, and a pwrite per batch
 * is a syscall (and an mtime update that may wait for the journal) between
 * one batch and the next. The in-memory watermark is never delayed. */
#define WMFILE_EVERY_NS 2000000ull

struct gs_applier {
    gs_views *views;
    gs_views_follower *follower; /* the thread's persistent log reader */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    /* Closing: apply up to this LSN, then stop (0: not closing). The
     * thread drains its own backlog so the close does not replay it on
     * another thread (another malloc arena: the large benchmark shape's
     * `gatestore ingest` peaked 20+ MB higher) from re-read log blocks. */
    uint64_t drain_to;
    int paused;      /* a rebuild holds the views */
    int pause_acked; /* the thread is parked */
    gs_err err;      /* the thread's first failure */
    int failed;
    /* STORE/watermark as last written (applier thread, or with it parked). */
    uint64_t file_wm;
    uint64_t file_ns;
    int file_valid;
};

/* Apply everything the log has written beyond the watermark, up to until
 * (0 = all). Runs on the applier thread or, with it parked, any thread. */
static int apply_written(gs_store *st, gs_views *v, uint64_t until, gs_err *err)
{
    uint64_t applied = 0;
    return gs_views_catch_up(v, st->log_dir, st->io, until, &applied, err);
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* Publish wm in memory: wakes confirm-mode subscriptions and
 * gs_wait_confirmed at once. */
static void publish_mem(gs_store *st, uint64_t wm)
{
    uint64_t was = st->feed ? gs_feed_watermark(st->feed) : wm;
    if (st->feed)
        gs_feed_set_watermark(st->feed, wm);
    if (wm > was)
        gs_stages_now(GS_ST_WM, was + 1, wm - was);
}

/* Write wm to STORE/watermark if it changed and (force or) the last write
 * is WMFILE_EVERY_NS old. */
static void publish_file(gs_store *st, struct gs_applier *a, uint64_t wm, int force)
{
    if (st->wm_fd < 0 || (a->file_valid && a->file_wm == wm))
        return;
    uint64_t now = gs_mono_ns();
    if (!force && a->file_valid && now - a->file_ns < WMFILE_EVERY_NS)
        return;
    uint64_t was = a->file_valid ? a->file_wm : 0;
    gs_wmfile_publish(st->wm_fd, wm);
    if (wm > was)
        gs_stages_now(GS_ST_WMFILE, was + 1, wm - was);
    a->file_wm = wm;
    a->file_ns = now;
    a->file_valid = 1;
}

/* Both, the file at once (open, close, after a rebuild). */
static void publish(gs_store *st, gs_views *v)
{
    uint64_t wm = gs_views_watermark(v);
    publish_mem(st, wm);
    publish_file(st, st->applier, wm, 1);
}

/* Apply up to FEED_BATCH records from the feed. Returns how many were
 * taken; *gone as gs_feed_take. */
static size_t apply_from_feed(gs_store *st, struct gs_applier *a, uint64_t wm, int *gone, int *rc,
                              gs_err *err)
{
    gs_feed_rec *batch[FEED_BATCH];
    size_t n = gs_feed_take(st->feed, wm + 1, batch, FEED_BATCH, gone);
    if (n == 0)
        return 0;
    gs_stages_now(GS_ST_PICK, wm + 1, n);
    gs_log_rec recs[FEED_BATCH];
    for (size_t i = 0; i < n; i++)
        recs[i] = batch[i]->rec;
    /* In line: beside ingest both cores are busy already (README,
     * "Committing on the second core"). Catch-ups stage (replay.c). */
    *rc = gs_views_apply_inline(a->views, recs, n, err);
    gs_stages_now(GS_ST_APPLIED, wm + 1, n);
    /* Confirm first; freeing the copies and the file can wait. */
    uint64_t now_wm = *rc == GS_OK ? gs_views_watermark(a->views) : 0;
    if (*rc == GS_OK)
        publish_mem(st, now_wm);
    gs_feed_release(batch, n);
    if (*rc == GS_OK) {
        publish_file(st, a, now_wm, 0);
        /* Deferred from the apply (see open_writable): trim now that the
         * batch is confirmed, preferably when nothing else is waiting. */
        gs_views_housekeep(a->views, gs_feed_pushed(st->feed) <= now_wm);
    }
    return n;
}

/* One step of the thread: feed first, the written log when the feed lacks
 * the next record, else wait. *miss_since tracks how long the next record
 * has been missing from the feed. */
static int applier_step(gs_store *st, struct gs_applier *a, uint64_t *miss_since, gs_err *err)
{
    uint64_t wm = gs_views_watermark(a->views);
    int gone = 0, rc = GS_OK;
    if (apply_from_feed(st, a, wm, &gone, &rc, err)) {
        *miss_since = 0;
        return rc;
    }
    /* Every append since open is pushed (ingest.c), so the feed knows the
     * head without the log's mutex, which a block write may hold for a
     * while on a busy disk. The log's head is asked only when idle. */
    if (gs_feed_pushed(st->feed) <= wm) {
        *miss_since = 0;
        /* Caught up: a write the batches deferred goes out now, before
         * sleeping (no timer, no extra wake-up). */
        publish_file(st, a, wm, 1);
        if (gs_feed_wait(st->feed, wm + 1, 0, FOLLOW_WAIT_MS) > wm)
            return GS_OK;
        if (gs_log_head_lsn(st->log) <= wm)
            return GS_OK;
    }
    if (gs_feed_miss_wait(miss_since, gone))
        return GS_OK;
    uint64_t written = gs_log_written_lsn(st->log);
    if (written <= wm) {
        nap_us(1000); /* the flusher writes it within batch_ms */
        return GS_OK;
    }
    rc = gs_views_follower_step(a->follower, written, NULL, err);
    if (rc == GS_OK)
        publish(st, a->views);
    return rc;
}

static void *applier_main(void *arg)
{
    gs_store *st = arg;
    struct gs_applier *a = st->applier;
    uint64_t miss_since = 0;
    pthread_setname_np(pthread_self(), "gs-applier");
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        if (a->paused) {
            a->pause_acked = 1;
            pthread_cond_broadcast(&a->cv);
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        a->pause_acked = 0;
        if (a->failed) {
            pthread_mutex_unlock(&a->mu);
            nap_us(FOLLOW_WAIT_MS * 1000);
            pthread_mutex_lock(&a->mu);
            continue;
        }
        uint64_t drain_to = a->drain_to;
        pthread_mutex_unlock(&a->mu);
        gs_err err;
        gs_err_clear(&err);
        int rc = applier_step(st, a, &miss_since, &err);
        int drained = drain_to && (rc || gs_views_watermark(a->views) >= drain_to);
        pthread_mutex_lock(&a->mu);
        if (rc && !a->failed) {
            a->failed = 1;
            a->err = err;
        }
        if (drained)
            break;
    }
    a->pause_acked = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static int open_writable(gs_store *st, struct gs_applier *a, gs_err *err)
{
    gs_views_rules rules = {st->opts.view_rules, !st->opts.view_rules_set};
    /* 0 fields keep the views' defaults; the per-family write buffers are
     * shares of the total (db.c). */
    gs_views_tuning tuning = {0};
    tuning.entity_cache_bytes = (size_t)st->opts.entity_cache_bytes;
    tuning.cache_bytes = (size_t)st->opts.block_cache_bytes;
    tuning.db_write_buffer_bytes = (size_t)st->opts.write_buffer_bytes;
    tuning.compression = st->opts.views_compression;
    int rc = gs_views_open_tuned(st->views_dir, &rules, &tuning, &a->views, err);
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
    rc = gs_wmfile_open(st->path, &st->wm_fd, err);
    if (rc)
        return rc;
    publish(st, a->views);
    atomic_fetch_add(&st->feed_consumers, 1);
    rc = gs_views_follower_open(a->views, st->log_dir, st->io, &a->follower, err);
    if (rc)
        return rc;
    /* From here batches are confirmed one by one to waiters: the thread
     * trims after publishing each watermark, never between a commit and
     * its publication. Catch-ups (replay.c) still trim as they go. */
    gs_views_defer_housekeeping(a->views, 1);
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
    st->wm_fd = -1;
    if (st->log) {
        /* 8Ki records or 4 MiB: 160 ms at 50 000 events/s,
         * ample while the applier and subscribers keep up (the feed is for
         * latency). Behind that, they read the log, so the budget bounds the
         * store's memory (64 MiB here took peak RSS from 120 to 296 MB on
         * the default benchmark shape, whose snapshots the applier trails). */
        int rc = gs_feed_create(1u << 13, 4u << 20, &st->feed);
        if (rc)
            return gs_err_set(err, rc, "out of memory");
    }
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
        /* Written and synced first, so the thread's log reader sees every
         * record up to the head; if that fails the thread just stops and
         * the sync below reports it. */
        uint64_t head = 0;
        gs_err serr;
        if (a->views && st->log && gs_log_sync(st->log, &serr) == GS_OK)
            head = gs_log_head_lsn(st->log);
        if (head && gs_views_watermark(a->views) >= head)
            head = 0; /* nothing to drain */
        pthread_mutex_lock(&a->mu);
        if (head && !a->paused && !a->failed)
            a->drain_to = head;
        else
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
        if (rc == GS_OK)
            publish(st, a->views);
    }
    if (st->wm_fd >= 0)
        close(st->wm_fd);
    st->wm_fd = -1;
    gs_feed_destroy(st->feed);
    st->feed = NULL;
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
    publish(st, a->views); /* a rebuild moved the watermark */
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
    gs_store_views_resume(st); /* publishes the watermark */
    return rc;
}

int gs_store_has_views(gs_store *st)
{
    return st->log && st->applier && st->applier->views;
}

int gs_store_views_wait(gs_store *st, uint64_t lsn, uint32_t timeout_ms)
{
    if (!gs_store_has_views(st) || !st->feed)
        return GS_EVIEW;
    struct gs_applier *a = st->applier;
    uint64_t deadline = gs_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        uint64_t now = gs_mono_ns();
        uint32_t left = now >= deadline ? 0 : (uint32_t)((deadline - now + 999999) / 1000000);
        /* Wake every 10 ms to see whether the applier failed: its
         * watermark would then never come, and the caller should learn
         * why now rather than at its timeout. */
        if (gs_feed_wait(st->feed, lsn, 1, left < 10 ? left : 10) >= lsn)
            return GS_OK;
        pthread_mutex_lock(&a->mu);
        int failed = a->failed;
        gs_err e = a->err;
        pthread_mutex_unlock(&a->mu);
        if (failed) {
            if (!e.code)
                e.code = GS_EVIEW;
            return gs_store_fail(st, &e);
        }
        if (gs_mono_ns() >= deadline)
            return GS_ETIMEOUT;
    }
}
