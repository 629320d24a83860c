/*
 * subs.c - subscriptions: gs_subscribe and friends (contract in
 * include/gatestore.h, "subscriptions").
 *
 * Each subscription is a cursor (the next LSN to pass) and a dispatcher
 * thread that moves it: records come from the feed (feed.h) while it has
 * them, else from a log reader (catch-up, feed misses, and always on a
 * read-only store, where another process writes). One cursor per
 * subscription is what makes delivery ordered and exactly-once per handle,
 * and what lets a durable consumer go from catch-up to live without a gap.
 *
 * A subscription's queue is not a buffer: it is the distance between the
 * log's head and its cursor, counted from the head it went live at. The
 * appender checks it after each append (gs_subs_after_append) and applies
 * the full policy there, so a slow subscriber costs ingest at most
 * max_block_ms per append, and memory only the feed's fixed ring.
 *
 * Locks: st->subs_mu guards the list and each subscription's status,
 * errmsg, listed and appenders; it is a leaf (nothing else is taken while
 * it is held). Counters and the cursor are atomics. Callbacks run with no
 * lock held. Options live in subs_options.c.
 */
#include "gs_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evscan.h"
#include "feed.h"
#include "posfile.h"
#include "stages.h"
#include "store_int.h"
#include "store_priv.h"
#include "subs_int.h"

#define SUB_MAX_EVENTS 64
#define SUB_BATCH      256
#define POLL_US        2000        /* read-only stores: log polling period */
#define OFF_SYNC_NS    20000000ull /* OFF mode: push the block out after this */

struct gs_sub {
    gs_store *st; /* NULL once the store closed (detached) */
    char *store_path;
    gs_sub_options o;
    gs_sub_fn cb;
    void *ud;
    unsigned flags;
    pthread_t thread;
    int thread_started;
    struct gs_sub *next;

    /* Guarded by st->subs_mu (or, once detached, owned by the caller). */
    int status;
    char errmsg[GS_ERRMSG_MAX];
    int listed;
    int appenders; /* appenders blocked on this queue: free only at 0 */

    atomic_int stop;             /* unsubscribe, cancel, close, or failed */
    atomic_int cancelled;        /* gs_sub_cancel: no final NULL call */
    atomic_uint_fast64_t cursor; /* next LSN to pass */
    atomic_uint_fast64_t in_cb;  /* LSN of the callback running (may be acked) */
    uint64_t live_after;         /* the head when it went live */
    atomic_uint_fast64_t delivered, from_log, blocked_us, max_queued, acked;
    pthread_mutex_t ack_mu; /* serialises gs_sub_ack */
    int lock_fd;            /* the consumer's flock, -1 if unnamed */

    /* Dispatcher thread only. */
    gs_log_reader *reader;
    uint64_t reader_next; /* LSN the reader returns next (as far as known) */
    gs_feed_rec *held;    /* read from the log ahead of the confirmed limit */
};

/* ------------------------------------------------------------- status */

static int sub_is_self(const gs_sub *s)
{
    return s->thread_started && pthread_equal(pthread_self(), s->thread);
}

/* Record why the subscription stops (first reason wins); st->subs_mu held
 * when attached. */
static void fail_locked(gs_sub *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_locked(gs_sub *s, int code, const char *fmt, ...)
{
    if (s->status == GS_OK) {
        s->status = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
        va_end(ap);
    }
    atomic_store(&s->stop, 1);
}

static void sub_fail(gs_sub *s, const gs_err *err)
{
    gs_store *st = s->st;
    pthread_mutex_lock(&st->subs_mu);
    fail_locked(s, err->code ? err->code : GS_ERROR, "%s",
                err->msg[0] ? err->msg : gs_errstr(err->code));
    pthread_mutex_unlock(&st->subs_mu);
}

/* Frames appended since the subscription went live that it has not passed. */
static uint64_t queued_at(gs_sub *s, uint64_t head)
{
    uint64_t passed = atomic_load(&s->cursor) - 1;
    uint64_t base = passed > s->live_after ? passed : s->live_after;
    return head > base ? head - base : 0;
}

/* --------------------------------------------------------- delivery */

static int event_matches(const gs_sub *s, const gs_log_rec *r)
{
    if (s->o.since_us && r->recv_us < s->o.since_us)
        return 0;
    if (s->o.nevents == 0)
        return 1;
    for (size_t i = 0; i < s->o.nevents; i++) {
        const char *n = s->o.events[i];
        if (r->event && strlen(n) == r->event_len && memcmp(n, r->event, r->event_len) == 0)
            return 1;
    }
    return 0;
}

/* Pass one record: deliver it if it matches, then move the cursor. */
static void pass(gs_sub *s, const gs_log_rec *r)
{
    if (event_matches(s, r)) {
        gs_evscan sc;
        gs_evscan_frame(r->raw, r->raw_len, r->event, r->event_len, &sc);
        if (!s->o.guild || sc.guild_id == s->o.guild) {
            gs_event ev = {r->lsn,      r->recv_us, r->shard,   r->seq, r->event, r->event_len,
                           sc.guild_id, r->raw,     r->raw_len, sc.d,   sc.d_len};
            atomic_store(&s->in_cb, r->lsn);
            gs_stages_now((s->flags & GS_SUB_CONFIRM) ? GS_ST_CONF_CB : GS_ST_PLAIN_CB, r->lsn, 1);
            s->cb(s->ud, &ev);
            atomic_fetch_add(&s->delivered, 1);
        }
    }
    atomic_store(&s->cursor, r->lsn + 1);
    gs_store *st = s->st;
    if (atomic_load(&st->room_waiters)) {
        pthread_mutex_lock(&st->subs_mu);
        pthread_cond_broadcast(&st->subs_room);
        pthread_mutex_unlock(&st->subs_mu);
    }
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* The limit a confirm-mode subscription may deliver up to. */
static uint64_t confirmed_limit(gs_sub *s)
{
    gs_store *st = s->st;
    if (st->feed)
        return gs_feed_watermark(st->feed);
    uint64_t wm = 0;
    if (gs_wmfile_read(st->path, &wm, NULL) != GS_OK)
        return 0; /* absent or torn: ask again later */
    return wm;
}

/* Deliver the held record if the limit allows. 1 if it was passed. */
static int deliver_held(gs_sub *s, uint64_t limit)
{
    if (!s->held || s->held->rec.lsn > limit)
        return 0;
    gs_feed_rec *h = s->held;
    s->held = NULL;
    if (h->rec.lsn >= atomic_load(&s->cursor))
        pass(s, &h->rec);
    gs_feed_release(&h, 1);
    return 1;
}

/* Read from the log at the cursor, passing records up to limit. Returns
 * the number passed (0: nothing readable yet) or a negative code. */
static int from_log(gs_sub *s, uint64_t limit, gs_err *err)
{
    gs_store *st = s->st;
    uint64_t cur = atomic_load(&s->cursor);
    if (s->held) {
        if (s->held->rec.lsn == cur || s->held->rec.lsn > limit)
            return deliver_held(s, limit);
        gs_feed_release(&s->held, 1); /* the feed delivered it meanwhile */
        s->held = NULL;
    }
    if (s->reader && s->reader_next != cur) {
        gs_log_reader_close(s->reader);
        s->reader = NULL;
    }
    if (!s->reader) {
        int rc = gs_log_reader_open(st->log_dir, st->io, cur, 0, &s->reader, err);
        if (rc)
            return rc;
        s->reader_next = cur;
    }
    int n = 0;
    while (n < SUB_BATCH && !atomic_load(&s->stop)) {
        gs_log_rec r;
        int rc = gs_log_reader_next(s->reader, &r, err);
        if (rc < 0)
            return rc; /* a damaged block would be a gap: stop, say where */
        if (rc == 0)
            break;
        s->reader_next = r.lsn + 1;
        if (r.lsn < atomic_load(&s->cursor))
            continue;
        if (r.lsn > limit) {
            s->held = gs_feed_rec_copy(&r);
            if (!s->held)
                return gs_err_set(err, GS_ENOMEM, "out of memory");
            break;
        }
        atomic_fetch_add(&s->from_log, 1);
        pass(s, &r);
        n++;
    }
    return n;
}

/* One step on a writable store (records appended by this process). */
static int step_writable(gs_sub *s, uint64_t *miss_since, gs_err *err)
{
    gs_store *st = s->st;
    int confirm = (s->flags & GS_SUB_CONFIRM) != 0;
    uint64_t cur = atomic_load(&s->cursor);
    /* Appends since the subscription went live are all pushed to the feed,
     * so its highest LSN is the head without the log's mutex (which a block
     * write may hold for a while); the log is asked only when idle. */
    uint64_t limit = confirm ? gs_feed_watermark(st->feed) : gs_feed_pushed(st->feed);
    if (!confirm && limit < s->live_after)
        limit = s->live_after;
    if (cur > limit) {
        *miss_since = 0;
        if (gs_feed_wait(st->feed, cur, confirm, 50) >= cur || confirm)
            return GS_OK;
        limit = gs_log_head_lsn(st->log);
        if (cur > limit)
            return GS_OK;
    }
    gs_feed_rec *batch[SUB_BATCH];
    uint64_t want = limit - cur + 1;
    int gone = 0;
    size_t n =
        gs_feed_take(st->feed, cur, batch, want < SUB_BATCH ? (size_t)want : SUB_BATCH, &gone);
    if (n) {
        *miss_since = 0;
        gs_stages_now(confirm ? GS_ST_CONF_WAKE : GS_ST_PLAIN_WAKE, cur, n);
        for (size_t i = 0; i < n && !atomic_load(&s->stop); i++)
            pass(s, &batch[i]->rec);
        gs_feed_release(batch, n);
        return GS_OK;
    }
    if (gs_feed_miss_wait(miss_since, gone))
        return GS_OK;
    int rc = from_log(s, limit, err);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        *miss_since = 0;
        return GS_OK;
    }
    /* Not written yet: BATCH writes within batch_ms; OFF only when a block
     * fills, so push it out. */
    if (gs_mono_ns() - *miss_since > OFF_SYNC_NS && st->opts.durability == GS_DURABILITY_OFF) {
        rc = gs_log_sync(st->log, err);
        if (rc)
            return rc;
    }
    nap_us(500);
    return GS_OK;
}

/* One step on a read-only store: follow the files another process writes. */
static int step_readonly(gs_sub *s, gs_err *err)
{
    uint64_t limit = (s->flags & GS_SUB_CONFIRM) ? confirmed_limit(s) : UINT64_MAX;
    int rc = from_log(s, limit, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        nap_us(POLL_US);
    return GS_OK;
}

static void *sub_main(void *arg)
{
    gs_sub *s = arg;
    gs_store *st = s->st;
    uint64_t miss_since = 0;
    /* Named for top -H and perf sched (15 characters at most). */
    pthread_setname_np(pthread_self(), (s->flags & GS_SUB_CONFIRM) ? "gs-sub-confirm" : "gs-sub");
    while (!atomic_load(&s->stop)) {
        gs_err err;
        gs_err_clear(&err);
        int rc = st->feed ? step_writable(s, &miss_since, &err) : step_readonly(s, &err);
        if (rc) {
            if (!err.code)
                gs_err_set(&err, rc, "%s", gs_errstr(rc));
            sub_fail(s, &err);
        }
    }
    pthread_mutex_lock(&st->subs_mu);
    int status = s->status;
    pthread_mutex_unlock(&st->subs_mu);
    if (status != GS_OK && !atomic_load(&s->cancelled))
        s->cb(s->ud, NULL);
    return NULL;
}

/* --------------------------------------------------- subscribe / free */

static void sub_free(gs_sub *s)
{
    gs_log_reader_close(s->reader);
    if (s->held)
        gs_feed_release(&s->held, 1);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    gs_sub_options_free_names(&s->o);
    pthread_mutex_destroy(&s->ack_mu);
    free(s->store_path);
    free(s);
}

static int subscribe_fail(gs_store *st, gs_sub *s, gs_err *err)
{
    if (s)
        sub_free(s);
    return gs_store_fail(st, err);
}

/* Where a named consumer starts: after its stored ack, else at from. */
static int named_start(gs_store *st, gs_sub *s, uint64_t *start, gs_err *err)
{
    int rc = gs_consumer_lock(st->path, s->o.name, &s->lock_fd, err);
    if (rc)
        return rc;
    uint64_t acked = 0;
    rc = gs_consumer_read(st->path, s->o.name, &acked, err);
    if (rc == GS_ENOTFOUND) {
        *start = s->o.has_from ? s->o.from : 1;
        return GS_OK;
    }
    if (rc)
        return rc;
    atomic_store(&s->acked, acked);
    *start = acked + 1;
    return GS_OK;
}

int gs_subscribe(gs_store *st, const gs_sub_options *opts, gs_sub_fn cb, void *userdata,
                 unsigned flags, gs_sub **out)
{
    if (!st || !cb || !out || (flags & ~GS_SUB_CONFIRM))
        return GS_EMISUSE;
    gs_err err;
    gs_err_clear(&err);
    if ((flags & GS_SUB_CONFIRM) && st->log && !gs_store_has_views(st)) {
        gs_err_set(&err, GS_EVIEW, "store %s keeps no views: nothing to confirm against", st->path);
        return gs_store_fail(st, &err);
    }
    if ((flags & GS_SUB_CONFIRM) && !st->log) {
        uint64_t wm;
        int rc = gs_wmfile_read(st->path, &wm, &err);
        if (rc == GS_ENOTFOUND) {
            gs_err_set(&err, GS_EVIEW,
                       "store %s has no published watermark (no writer with views has run)",
                       st->path);
            return gs_store_fail(st, &err);
        }
    }
    gs_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return GS_ENOMEM;
    s->lock_fd = -1;
    pthread_mutex_init(&s->ack_mu, NULL);
    gs_sub_options defaults;
    if (!opts) {
        gs_sub_options_defaults(&defaults);
        opts = &defaults;
    }
    s->store_path = strdup(st->path);
    if (!s->store_path || gs_sub_options_copy(&s->o, opts) != GS_OK) {
        gs_err_set(&err, GS_ENOMEM, "out of memory");
        return subscribe_fail(st, s, &err);
    }
    s->st = st;
    s->cb = cb;
    s->ud = userdata;
    s->flags = flags;
    uint64_t start = 0;
    if (s->o.name[0]) {
        int rc = named_start(st, s, &start, &err);
        if (rc)
            return subscribe_fail(st, s, &err);
    } else if (s->o.has_from || s->o.since_us) {
        start = s->o.has_from ? s->o.from : 1;
    }

    /* Count as a feed consumer before reading the head, so every append
     * after it is pushed (see ingest.c). */
    if (st->feed)
        atomic_fetch_add(&st->feed_consumers, 1);
    uint64_t head = gs_store_head_lsn(st);
    s->live_after = head;
    atomic_store(&s->cursor, start ? start : head + 1);
    /* Start the thread under the list lock, so that an appender that sees
     * the subscription listed also sees thread_started (sub_is_self). */
    pthread_mutex_lock(&st->subs_mu);
    *out = s; /* before the first callback, which may want its handle */
    if (pthread_create(&s->thread, NULL, sub_main, s) != 0) {
        *out = NULL;
        pthread_mutex_unlock(&st->subs_mu);
        if (st->feed)
            atomic_fetch_sub(&st->feed_consumers, 1);
        gs_err_set(&err, GS_ENOMEM, "cannot start a dispatcher thread");
        return subscribe_fail(st, s, &err);
    }
    s->thread_started = 1;
    s->next = st->subs;
    st->subs = s;
    s->listed = 1;
    atomic_fetch_add(&st->subs_live, 1);
    pthread_mutex_unlock(&st->subs_mu);
    return GS_OK;
}

/* Take s off its store's list (st->subs_mu held). */
static void unlist_locked(gs_store *st, gs_sub *s)
{
    if (!s->listed)
        return;
    for (gs_sub **p = &st->subs; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    s->listed = 0;
    atomic_fetch_sub(&st->subs_live, 1);
    if (st->feed)
        atomic_fetch_sub(&st->feed_consumers, 1);
    pthread_cond_broadcast(&st->subs_room); /* appenders waiting on s */
}

static void stop_and_join(gs_sub *s)
{
    atomic_store(&s->stop, 1);
    if (s->st && s->st->feed)
        gs_feed_kick(s->st->feed);
    if (s->st) { /* appenders blocked on s stop waiting */
        pthread_mutex_lock(&s->st->subs_mu);
        pthread_cond_broadcast(&s->st->subs_room);
        pthread_mutex_unlock(&s->st->subs_mu);
    }
    if (s->thread_started) {
        pthread_join(s->thread, NULL);
        s->thread_started = 0;
    }
}

int gs_unsubscribe(gs_sub *s)
{
    if (!s)
        return GS_OK;
    if (sub_is_self(s))
        return GS_EMISUSE;
    stop_and_join(s);
    gs_store *st = s->st;
    int status;
    if (st) {
        pthread_mutex_lock(&st->subs_mu);
        unlist_locked(st, s);
        while (s->appenders) /* an appender blocked on s still reads it */
            pthread_cond_wait(&st->subs_room, &st->subs_mu);
        status = s->status;
        pthread_mutex_unlock(&st->subs_mu);
    } else {
        status = s->status;
    }
    sub_free(s);
    return status == GS_ECLOSED ? GS_OK : status;
}

void gs_subs_close_all(gs_store *st)
{
    pthread_mutex_lock(&st->subs_mu);
    gs_sub *list = st->subs;
    for (gs_sub *s = list; s; s = s->next)
        fail_locked(s, GS_ECLOSED, "store %s was closed", st->path);
    pthread_mutex_unlock(&st->subs_mu);
    if (st->feed)
        gs_feed_kick(st->feed);
    for (gs_sub *s = list; s; s = s->next)
        stop_and_join(s);
    pthread_mutex_lock(&st->subs_mu);
    while (st->subs) {
        gs_sub *s = st->subs;
        unlist_locked(st, s);
        gs_log_reader_close(s->reader);
        s->reader = NULL;
        if (s->lock_fd >= 0)
            close(s->lock_fd); /* the name is free for the next handle */
        s->lock_fd = -1;
        s->st = NULL;
    }
    pthread_mutex_unlock(&st->subs_mu);
}

int gs_sub_cancel(gs_sub *s)
{
    if (!s)
        return GS_EMISUSE;
    atomic_store(&s->cancelled, 1);
    atomic_store(&s->stop, 1);
    if (s->st && s->st->feed)
        gs_feed_kick(s->st->feed);
    return GS_OK;
}

/* ------------------------------------------------- ingest-side bounds */

/* Apply s's full policy for an append that made the head `head`. */
static void bound_locked(gs_store *st, gs_sub *s, uint64_t head)
{
    uint64_t q = queued_at(s, head);
    if (q > atomic_load(&s->max_queued))
        atomic_store(&s->max_queued, q);
    if (q <= s->o.capacity)
        return;
    if (s->o.policy == GS_SUB_DROP) {
        fail_locked(s, GS_EOVERFLOW,
                    "queue full: %llu frames waiting, capacity %u (policy drop); last passed LSN "
                    "%llu",
                    (unsigned long long)q, s->o.capacity,
                    (unsigned long long)(atomic_load(&s->cursor) - 1));
        return;
    }
    uint64_t t0 = gs_mono_ns();
    struct timespec ts;
    gs_deadline(CLOCK_REALTIME, (uint64_t)s->o.max_block_ms * 1000000ull, &ts);
    atomic_fetch_add(&st->room_waiters, 1);
    s->appenders++;
    int timed_out = 0;
    while (s->listed && s->status == GS_OK && !atomic_load(&s->stop) &&
           queued_at(s, head) > s->o.capacity && !timed_out)
        timed_out = pthread_cond_timedwait(&st->subs_room, &st->subs_mu, &ts) != 0;
    atomic_fetch_sub(&st->room_waiters, 1);
    atomic_fetch_add(&s->blocked_us, (gs_mono_ns() - t0) / 1000);
    if (timed_out && s->listed && queued_at(s, head) > s->o.capacity)
        fail_locked(s, GS_EOVERFLOW,
                    "queue full: %llu frames waiting, capacity %u; ingest blocked %u ms "
                    "(policy block); last passed LSN %llu",
                    (unsigned long long)queued_at(s, head), s->o.capacity, s->o.max_block_ms,
                    (unsigned long long)(atomic_load(&s->cursor) - 1));
    /* Last touch of s: gs_unsubscribe waits for appenders == 0. */
    if (--s->appenders == 0 && !s->listed)
        pthread_cond_broadcast(&st->subs_room);
}

void gs_subs_after_append(gs_store *st, const gs_log_rec_in *rec, uint64_t lsn)
{
    gs_stages_now(GS_ST_APPEND, lsn, 1);
    if (atomic_load(&st->feed_consumers) > 0)
        gs_feed_push(st->feed, rec, lsn);
    gs_stages_now(GS_ST_PUSH, lsn, 1);
    if (atomic_load(&st->subs_live) == 0)
        return;
    pthread_mutex_lock(&st->subs_mu);
    int again = 1;
    while (again) {
        /* A wait releases the lock and the list may change: rescan. */
        again = 0;
        for (gs_sub *s = st->subs; s; s = s->next) {
            if (s->status != GS_OK || atomic_load(&s->stop) || sub_is_self(s))
                continue;
            if (queued_at(s, lsn) > s->o.capacity && s->o.policy == GS_SUB_BLOCK) {
                bound_locked(st, s, lsn);
                again = 1;
                break;
            }
            bound_locked(st, s, lsn);
        }
    }
    pthread_mutex_unlock(&st->subs_mu);
}

/* ------------------------------------------------------ ack and stats */

int gs_sub_ack(gs_sub *s, uint64_t lsn)
{
    if (!s)
        return GS_EMISUSE;
    if (!s->o.name[0])
        return GS_EMISUSE;
    if (lsn >= atomic_load(&s->cursor) && lsn > atomic_load(&s->in_cb))
        return GS_EMISUSE; /* not delivered yet */
    if (!s->st)
        return GS_ECLOSED;
    pthread_mutex_lock(&s->ack_mu);
    int rc = GS_OK;
    if (lsn > atomic_load(&s->acked)) {
        gs_err err;
        gs_err_clear(&err);
        rc = gs_consumer_write(s->store_path, s->o.name, lsn, &err);
        if (rc == GS_OK)
            atomic_store(&s->acked, lsn);
        else if (s->st)
            gs_store_fail(s->st, &err);
    }
    pthread_mutex_unlock(&s->ack_mu);
    return rc;
}

int gs_sub_status(gs_sub *s)
{
    if (!s)
        return GS_EMISUSE;
    gs_store *st = s->st;
    if (!st)
        return s->status;
    pthread_mutex_lock(&st->subs_mu);
    int v = s->status;
    pthread_mutex_unlock(&st->subs_mu);
    return v;
}

const char *gs_sub_errmsg(gs_sub *s)
{
    if (!s)
        return "no subscription handle";
    return gs_sub_status(s) == GS_OK ? "no error" : s->errmsg;
}

int gs_sub_stats_get(gs_sub *s, gs_sub_stats *out)
{
    if (!s || !out)
        return GS_EMISUSE;
    memset(out, 0, sizeof(*out));
    out->status = gs_sub_status(s);
    out->delivered = atomic_load(&s->delivered);
    out->passed_lsn = atomic_load(&s->cursor) - 1;
    out->capacity = s->o.capacity;
    out->max_queued = atomic_load(&s->max_queued);
    out->blocked_us = atomic_load(&s->blocked_us);
    out->from_log = atomic_load(&s->from_log);
    out->acked_lsn = atomic_load(&s->acked);
    gs_store *st = s->st;
    if (st && st->log) {
        uint64_t head = gs_log_head_lsn(st->log);
        uint64_t lim = (s->flags & GS_SUB_CONFIRM) && st->feed ? gs_feed_watermark(st->feed) : head;
        out->lag = lim > out->passed_lsn ? lim - out->passed_lsn : 0;
        out->queued = queued_at(s, head);
    }
    return GS_OK;
}

/* ------------------------------------------------------ read your writes */

int gs_wait_confirmed(gs_store *st, uint64_t lsn, uint32_t timeout_ms)
{
    if (!st)
        return GS_EMISUSE;
    if (st->log)
        return gs_store_views_wait(st, lsn, timeout_ms);
    uint64_t deadline = gs_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        uint64_t wm = 0;
        gs_err err;
        int rc = gs_wmfile_read(st->path, &wm, &err);
        if (rc == GS_ENOTFOUND)
            return GS_EVIEW;
        if (rc == GS_OK && wm >= lsn)
            return GS_OK;
        if (gs_mono_ns() >= deadline)
            return GS_ETIMEOUT;
        nap_us(1000);
    }
}
