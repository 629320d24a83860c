/*
 * feed.c - the in-memory record feed (see feed.h).
 *
 * The ring is indexed by lsn & mask. A slot holds the record of one LSN or
 * NULL; a record with lsn > the one looked for means the slot was reused
 * (evicted). Eviction also runs by bytes: the oldest records go first.
 */
#include "gs_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed.h"

/* A frame larger than this is left to the log: copying it would cost more
 * than reading it back, and one such frame could flush the whole ring. */
#define FEED_MAX_RECORD (1u << 20)
/* How long a record may be "not pushed yet" before consumers read the log. */
#define FEED_MISS_NS 2000000ull

/* A condition consumers wait on. A producer signals only when a thread is
 * asleep on it and has not been woken yet (unwoken), so a burst of pushes
 * costs one wake-up per sleeping consumer, not one futex call per push
 * while the woken consumer is still on its way to the CPU. */
typedef struct feed_cond {
    pthread_cond_t cv;
    int unwoken;  /* sleepers not yet signalled */
    uint64_t gen; /* bumped by each signal */
} feed_cond;

struct gs_feed {
    pthread_mutex_t mu;
    feed_cond pushed; /* high advanced (the applier, plain subscriptions) */
    feed_cond wm;     /* watermark changed (confirm subscriptions, waits) */
    gs_feed_rec **slots;
    uint64_t mask;
    uint64_t low; /* LSNs below low are evicted */
    /* Written under mu, read without it (the head and the watermark are
     * asked once per step by every consumer). */
    atomic_uint_fast64_t high; /* highest LSN pushed */
    size_t bytes;              /* sum of the records' data */
    size_t max_bytes;
    atomic_uint_fast64_t watermark;
    uint64_t kicks;
};

/* A shared marker for "this LSN was not kept": its lsn field is unused,
 * the slot index says which LSN. */
static gs_feed_rec gone_marker;

int gs_feed_create(uint32_t slots, size_t max_bytes, gs_feed **out)
{
    uint64_t n = 1;
    while (n < slots)
        n <<= 1;
    gs_feed *f = calloc(1, sizeof(*f));
    if (!f)
        return GS_ENOMEM;
    f->slots = calloc(n, sizeof(*f->slots));
    if (!f->slots) {
        free(f);
        return GS_ENOMEM;
    }
    f->mask = n - 1;
    f->max_bytes = max_bytes;
    f->low = 1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->pushed.cv, &ca);
    pthread_cond_init(&f->wm.cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = f;
    return GS_OK;
}

/* Wake the sleepers of c that are not woken yet (mu held). */
static void cond_signal_locked(feed_cond *c)
{
    if (c->unwoken == 0)
        return;
    c->unwoken = 0;
    c->gen++;
    pthread_cond_broadcast(&c->cv);
}

/* Sleep on c until signalled or ts (mu held). 0 or ETIMEDOUT. */
static int cond_wait_locked(gs_feed *f, feed_cond *c, const struct timespec *ts)
{
    uint64_t gen = c->gen;
    c->unwoken++;
    int r = pthread_cond_timedwait(&c->cv, &f->mu, ts);
    if (c->gen == gen)
        c->unwoken--; /* timed out or woke spuriously: still counted */
    return r;
}

static size_t rec_bytes(const gs_feed_rec *r)
{
    return r->rec.raw_len + r->rec.event_len;
}

static void rec_unref(gs_feed_rec *r)
{
    if (r && r != &gone_marker && atomic_fetch_sub(&r->refs, 1) == 1)
        free(r);
}

/* Records evicted under mu, freed after it is released (a free of the
 * last reference should not hold up the consumers' takes). */
#define EVICT_BATCH 16
typedef struct evicted {
    gs_feed_rec *r[EVICT_BATCH];
    size_t n;
} evicted;

/* Empty the slot of lsn (if it still holds lsn). Its reference goes to ev
 * (dropped now when ev is NULL or full). */
static void evict_locked(gs_feed *f, uint64_t lsn, evicted *ev)
{
    gs_feed_rec **s = &f->slots[lsn & f->mask];
    gs_feed_rec *r = *s;
    if (!r)
        return;
    if (r != &gone_marker) {
        if (r->rec.lsn != lsn)
            return;
        f->bytes -= rec_bytes(r);
        if (ev && ev->n < EVICT_BATCH)
            ev->r[ev->n++] = r;
        else
            rec_unref(r);
    }
    *s = NULL;
}

void gs_feed_destroy(gs_feed *f)
{
    if (!f)
        return;
    for (uint64_t i = 0; i <= f->mask; i++)
        rec_unref(f->slots[i]);
    free(f->slots);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->pushed.cv);
    pthread_cond_destroy(&f->wm.cv);
    free(f);
}

static gs_feed_rec *copy_rec(const gs_log_rec_in *in, uint64_t lsn)
{
    if (in->raw_len > FEED_MAX_RECORD)
        return NULL;
    gs_feed_rec *r = malloc(sizeof(*r) + in->event_len + in->raw_len);
    if (!r)
        return NULL;
    atomic_init(&r->refs, 1);
    memcpy(r->data, in->event, in->event_len);
    memcpy(r->data + in->event_len, in->raw, in->raw_len);
    r->rec.lsn = lsn;
    r->rec.recv_us = in->recv_us;
    r->rec.shard = in->shard < 0 ? -1 : in->shard;
    r->rec.op = in->op;
    r->rec.seq = in->seq < 0 ? -1 : in->seq;
    r->rec.event = in->event ? r->data : NULL;
    r->rec.event_len = in->event_len;
    r->rec.raw = r->data + in->event_len;
    r->rec.raw_len = in->raw_len;
    return r;
}

gs_feed_rec *gs_feed_rec_copy(const gs_log_rec *r)
{
    gs_log_rec_in in = {r->recv_us, r->shard,     r->op,  r->seq,
                        r->event,   r->event_len, r->raw, r->raw_len};
    gs_feed_rec *c = malloc(sizeof(*c) + in.event_len + in.raw_len);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    memcpy(c->data, in.event, in.event_len);
    memcpy(c->data + in.event_len, in.raw, in.raw_len);
    c->rec = *r;
    c->rec.event = in.event ? c->data : NULL;
    c->rec.raw = c->data + in.event_len;
    return c;
}

void gs_feed_push(gs_feed *f, const gs_log_rec_in *in, uint64_t lsn)
{
    gs_feed_rec *r = copy_rec(in, lsn); /* outside the lock */
    evicted ev;
    ev.n = 0;
    pthread_mutex_lock(&f->mu);
    if (lsn >= f->low) {
        /* Make room: the slot's previous occupant and anything over the
         * byte budget go, oldest first. */
        while (lsn - f->low > f->mask)
            evict_locked(f, f->low++, &ev);
        size_t add = r ? rec_bytes(r) : 0;
        while (f->bytes + add > f->max_bytes && f->low < lsn)
            evict_locked(f, f->low++, &ev);
        evict_locked(f, lsn, &ev);
        if (r)
            f->bytes += add;
        f->slots[lsn & f->mask] = r ? r : &gone_marker;
        r = NULL;
    }
    if (lsn > atomic_load_explicit(&f->high, memory_order_relaxed))
        atomic_store_explicit(&f->high, lsn, memory_order_release);
    cond_signal_locked(&f->pushed);
    pthread_mutex_unlock(&f->mu);
    rec_unref(r); /* too old to keep */
    gs_feed_release(ev.r, ev.n);
}

size_t gs_feed_take(gs_feed *f, uint64_t lsn, gs_feed_rec **out, size_t max, int *gone)
{
    size_t n = 0;
    *gone = 0;
    pthread_mutex_lock(&f->mu);
    if (lsn < f->low) {
        *gone = 1;
    } else {
        for (; n < max; n++, lsn++) {
            gs_feed_rec *r = f->slots[lsn & f->mask];
            if (r == &gone_marker) {
                *gone = n == 0;
                break;
            }
            if (!r || r->rec.lsn < lsn)
                break; /* not pushed yet */
            if (r->rec.lsn > lsn) {
                *gone = n == 0; /* evicted and reused */
                break;
            }
            atomic_fetch_add(&r->refs, 1);
            out[n] = r;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

void gs_feed_release(gs_feed_rec **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rec_unref(recs[i]);
}

uint64_t gs_feed_pushed(gs_feed *f)
{
    return atomic_load_explicit(&f->high, memory_order_acquire);
}

void gs_feed_set_watermark(gs_feed *f, uint64_t wm)
{
    pthread_mutex_lock(&f->mu);
    /* May go down: a rebuild resets the views. */
    atomic_store_explicit(&f->watermark, wm, memory_order_release);
    cond_signal_locked(&f->wm);
    pthread_mutex_unlock(&f->mu);
}

uint64_t gs_feed_watermark(gs_feed *f)
{
    return atomic_load_explicit(&f->watermark, memory_order_acquire);
}

uint64_t gs_feed_wait(gs_feed *f, uint64_t lsn, int confirm, uint32_t timeout_ms)
{
    atomic_uint_fast64_t *val = confirm ? &f->watermark : &f->high;
    uint64_t v = atomic_load_explicit(val, memory_order_acquire);
    if (v >= lsn)
        return v;
    feed_cond *c = confirm ? &f->wm : &f->pushed;
    struct timespec ts;
    gs_deadline(CLOCK_MONOTONIC, (uint64_t)timeout_ms * 1000000u, &ts);
    pthread_mutex_lock(&f->mu);
    uint64_t kicks = f->kicks;
    /* The value is stored under mu, so a change after this check signals a
     * sleeper already counted in unwoken: no lost wake-up. */
    while ((v = atomic_load_explicit(val, memory_order_relaxed)) < lsn && f->kicks == kicks)
        if (cond_wait_locked(f, c, &ts) == ETIMEDOUT)
            break;
    v = atomic_load_explicit(val, memory_order_relaxed);
    pthread_mutex_unlock(&f->mu);
    return v;
}

void gs_feed_kick(gs_feed *f)
{
    pthread_mutex_lock(&f->mu);
    f->kicks++;
    cond_signal_locked(&f->pushed);
    cond_signal_locked(&f->wm);
    pthread_mutex_unlock(&f->mu);
}

int gs_feed_miss_wait(uint64_t *miss_since, int gone)
{
    uint64_t now = gs_mono_ns();
    if (!*miss_since)
        *miss_since = now;
    if (gone || now - *miss_since >= FEED_MISS_NS)
        return 0;
    struct timespec ts = {0, 50 * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}
