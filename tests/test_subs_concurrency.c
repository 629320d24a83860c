/*
 * test_subs_concurrency.c - subscriptions under concurrency, for
 * ThreadSanitizer (the CI TSan step runs every test matching
 * "concurrency") and as a plain test: 2 ingest threads append while a
 * plain and a confirm-mode subscriber receive and a query thread reads the
 * views; a third subscriber comes and goes (subscribe, a few events,
 * unsubscribe) the whole time, and gs_wait_confirmed runs from an ingest
 * thread. Each long-lived subscriber must see every LSN once, in order,
 * and the confirm-mode one must find every event's channel in the views.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_subscribers_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
