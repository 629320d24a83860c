/*
 * test_subs_concurrency.c - subscriptions under concurrency, for
 * ThreadSanitizer (the CI TSan step runs every test matching
 * "concurrency") and as a plain test: 2 ingest threads append while a
 * plain and a confirm-mode subscriber receive and a query thread reads the
 * views; a third subscriber comes and goes (subscribe, a few events,
 * unsubscribe) the whole time, and gs_wait_confirmed runs from an ingest
 * thread. Each long-lived subscriber must see every LSN once, in order,
 * and the confirm-mode one must find every event's channel in the views.
 *
 * The feed's wake-ups (feed.h) get their own test: a producer pushes and
 * publishes a watermark while consumers wait on each condition, some with
 * short timeouts (the path where a sleeper leaves uncounted) and some with
 * timeouts long enough that a lost wake-up shows as a miss; and a kick
 * must wake sleepers of both kinds.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed.h"
#include "support_subs.h"
#include "support_tmp.h"

#define WRITERS    2
#define PER_WRITER 1000
#define TOTAL      (WRITERS * PER_WRITER)

typedef struct counter {
    gs_store *st;
    int query;
    atomic_uint_fast64_t n, last, bad_order, misses;
} counter;

static void on_event(void *ud, const gs_event *ev)
{
    counter *c = ud;
    if (!ev)
        return;
    uint64_t last = atomic_load(&c->last);
    if (ev->lsn != last + 1 && last != 0)
        atomic_fetch_add(&c->bad_order, 1);
    if (c->query) {
        char *json = NULL;
        if (gs_get(c->st, "channel", gs_ts_channel_id(ev->raw, ev->raw_len), 0, &json, NULL) !=
            GS_OK)
            atomic_fetch_add(&c->misses, 1);
        gs_free(json);
    }
    atomic_store(&c->last, ev->lsn);
    atomic_fetch_add(&c->n, 1);
}

typedef struct shared {
    gs_store *st;
    atomic_int writers_done;
    atomic_int wait_fail;
} shared;

typedef struct warg {
    shared *s;
    int w;
} warg;

static void *writer_main(void *arg)
{
    warg *a = arg;
    for (int k = 0; k < PER_WRITER; k++) {
        uint64_t lsn = gs_ts_ingest_channel(a->s->st, (uint64_t)(a->w * 100000 + k + 1), 42);
        if (k % 100 == 99 && gs_wait_confirmed(a->s->st, lsn, 60000) != GS_OK)
            atomic_store(&a->s->wait_fail, 1);
    }
    atomic_fetch_add(&a->s->writers_done, 1);
    return NULL;
}

static void *query_main(void *arg)
{
    shared *s = arg;
    while (atomic_load(&s->writers_done) < WRITERS) {
        gs_query *q = NULL;
        uint64_t n = 0;
        if (gs_query_create(s->st, "channel", &q) == GS_OK)
            gs_query_count(q, &n);
        gs_query_destroy(q);
    }
    return NULL;
}

static void *churn_main(void *arg)
{
    shared *s = arg;
    while (atomic_load(&s->writers_done) < WRITERS) {
        counter c;
        memset(&c, 0, sizeof(c));
        gs_sub *sub = NULL;
        if (gs_subscribe(s->st, NULL, on_event, &c, 0, &sub) == GS_OK) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            gs_sub_stats st;
            gs_sub_stats_get(sub, &st);
            gs_unsubscribe(sub);
        }
    }
    return NULL;
}

static void wait_count(counter *c, uint64_t n)
{
    for (int i = 0; i < 60000 && atomic_load(&c->n) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void test_ingest_subscribers_queries(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    shared s;
    memset(&s, 0, sizeof(s));
    s.st = gs_ts_open(dir, 1, GS_DURABILITY_BATCH, 0);
    counter plain, conf;
    memset(&plain, 0, sizeof(plain));
    memset(&conf, 0, sizeof(conf));
    conf.st = s.st;
    conf.query = 1;
    gs_sub *sp = NULL, *sc = NULL;
    assert_int_equal(gs_subscribe(s.st, NULL, on_event, &plain, 0, &sp), GS_OK);
    assert_int_equal(gs_subscribe(s.st, NULL, on_event, &conf, GS_SUB_CONFIRM, &sc), GS_OK);
    pthread_t wt[WRITERS], qt, ct;
    warg wa[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        wa[w].s = &s;
        wa[w].w = w;
        pthread_create(&wt[w], NULL, writer_main, &wa[w]);
    }
    pthread_create(&qt, NULL, query_main, &s);
    pthread_create(&ct, NULL, churn_main, &s);
    for (int w = 0; w < WRITERS; w++)
        pthread_join(wt[w], NULL);
    pthread_join(qt, NULL);
    pthread_join(ct, NULL);
    wait_count(&plain, TOTAL);
    wait_count(&conf, TOTAL);
    assert_int_equal(atomic_load(&plain.n), TOTAL);
    assert_int_equal(atomic_load(&conf.n), TOTAL);
    assert_int_equal(atomic_load(&plain.bad_order), 0);
    assert_int_equal(atomic_load(&conf.bad_order), 0);
    assert_int_equal(atomic_load(&conf.misses), 0);
    assert_int_equal(atomic_load(&s.wait_fail), 0);
    assert_int_equal(gs_unsubscribe(sp), GS_OK);
    /* The confirm-mode subscription is left for gs_store_close to stop. */
    assert_int_equal(gs_store_close(s.st), GS_OK);
    assert_int_equal(gs_sub_status(sc), GS_ECLOSED);
    assert_int_equal(gs_unsubscribe(sc), GS_OK);
    gs_test_rmtree(dir);
}

/* ------------------------------------------------------- feed wake-ups */

#define FEED_N    20000            /* free-running phase */
#define FEED_STEP 2000             /* lockstep phase */
#define FEED_LONG (UINT32_MAX / 2) /* ms: only a signal ends such a wait */
/* Lockstep: a consumer that has not seen a push this long after it was
 * made slept through its wake-up (a liveness check, not a timing one: the
 * wake normally takes microseconds). */
#define FEED_STUCK_NS (20ull * 1000000000ull)

typedef struct feed_waiter {
    gs_feed *f;
    int confirm;
    uint32_t timeout_ms;
    uint64_t until;            /* stop once this value is seen */
    atomic_uint_fast64_t seen; /* highest value returned so far */
    uint64_t backward;         /* a value lower than one seen before */
    uint64_t last;             /* the last value returned */
} feed_waiter;

static void waiter_init(feed_waiter *w, gs_feed *f, int confirm, uint32_t timeout_ms,
                        uint64_t until)
{
    memset(w, 0, sizeof(*w));
    w->f = f;
    w->confirm = confirm;
    w->timeout_ms = timeout_ms;
    w->until = until;
    atomic_init(&w->seen, 0);
}

static void *feed_waiter_main(void *arg)
{
    feed_waiter *w = arg;
    uint64_t want = atomic_load(&w->seen) + 1, seen = want - 1;
    while (want <= w->until) {
        uint64_t v = gs_feed_wait(w->f, want, w->confirm, w->timeout_ms);
        if (v < seen)
            w->backward++;
        seen = v > seen ? v : seen;
        atomic_store(&w->seen, seen);
        w->last = v;
        if (v >= want)
            want = v + 1;
        else if (w->timeout_ms == FEED_LONG)
            break; /* a kick */
    }
    return NULL;
}

static gs_log_rec_in feed_rec(uint64_t lsn)
{
    static const char ev[] = "MESSAGE_CREATE", raw[] = "{\"op\":0}";
    gs_log_rec_in in = {0, -1, 0, (int64_t)lsn, ev, sizeof(ev) - 1, raw, sizeof(raw) - 1};
    return in;
}

/* Wait until w has seen v; 0 if it seems stuck. */
static int waiter_reaches(feed_waiter *w, uint64_t v)
{
    uint64_t t0 = gs_mono_ns();
    while (atomic_load(&w->seen) < v) {
        if (gs_mono_ns() - t0 > FEED_STUCK_NS)
            return 0;
        sched_yield();
    }
    return 1;
}

static void test_feed_wakeups(void **state)
{
    (void)state;
    gs_feed *f;
    assert_int_equal(gs_feed_create(256, 1u << 20, &f), GS_OK);

    /* Free-running: pushes and watermarks race the sleepers; some time out
     * every millisecond (leaving without a signal). Values never go back
     * and everyone gets to the end. */
    feed_waiter w[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        waiter_init(&w[i], f, i % 2, i < 4 ? FEED_LONG : 1, FEED_N);
        assert_int_equal(pthread_create(&t[i], NULL, feed_waiter_main, &w[i]), 0);
    }
    for (uint64_t lsn = 1; lsn <= FEED_N; lsn++) {
        gs_log_rec_in in = feed_rec(lsn);
        gs_feed_push(f, &in, lsn);
        if (lsn % 7 == 0 || lsn == FEED_N)
            gs_feed_set_watermark(f, lsn);
        if (lsn % 1000 == 0)
            sched_yield(); /* let the consumers fall asleep now and then */
    }
    /* A lost wake-up leaves a long waiter asleep for good: fail rather
     * than join it (the process exit ends it). */
    for (int i = 0; i < 6; i++)
        assert_true(waiter_reaches(&w[i], FEED_N));
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].backward, 0);
        assert_int_equal(atomic_load(&w[i].seen), FEED_N);
    }
    assert_int_equal(gs_feed_pushed(f), FEED_N);
    assert_int_equal(gs_feed_watermark(f), FEED_N);

    /* Lockstep: each push (or watermark) is made while the long waiters
     * sleep for it, so each needs its wake-up; one lost is a stuck waiter. */
    uint64_t end = FEED_N + FEED_STEP;
    for (int i = 0; i < 6; i++) {
        waiter_init(&w[i], f, i % 2, i < 4 ? FEED_LONG : 1, end);
        atomic_store(&w[i].seen, FEED_N);
        assert_int_equal(pthread_create(&t[i], NULL, feed_waiter_main, &w[i]), 0);
    }
    int stuck = 0;
    for (uint64_t lsn = FEED_N + 1; lsn <= end && !stuck; lsn++) {
        gs_log_rec_in in = feed_rec(lsn);
        gs_feed_push(f, &in, lsn);
        for (int i = 0; i < 4 && !stuck; i += 2)
            stuck = !waiter_reaches(&w[i], lsn);
        if (lsn % 3 == 0 || lsn == end) {
            gs_feed_set_watermark(f, lsn);
            for (int i = 1; i < 4 && !stuck; i += 2)
                stuck = !waiter_reaches(&w[i], lsn);
        }
    }
    assert_int_equal(stuck, 0);
    for (int i = 0; i < 6; i++)
        assert_true(waiter_reaches(&w[i], end));
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].backward, 0);
    }

    /* Nothing more comes: only a kick ends these waits. A kick before a
     * waiter sleeps is not one it can miss, so kick until both returned. */
    feed_waiter k[2];
    pthread_t kt[2];
    for (int i = 0; i < 2; i++) {
        waiter_init(&k[i], f, i, FEED_LONG, end + 1);
        atomic_store(&k[i].seen, end);
        assert_int_equal(pthread_create(&kt[i], NULL, feed_waiter_main, &k[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        uint64_t t0 = gs_mono_ns();
        while (pthread_tryjoin_np(kt[i], NULL) != 0 && gs_mono_ns() - t0 < FEED_STUCK_NS) {
            gs_feed_kick(f);
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        assert_true(gs_mono_ns() - t0 < FEED_STUCK_NS); /* else never woken: fail */
        assert_int_equal(k[i].last, end);               /* woken short of end + 1 */
    }
    gs_feed_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_subscribers_queries),
        cmocka_unit_test(test_feed_wakeups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
