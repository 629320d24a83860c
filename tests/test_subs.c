/*
 * test_subs.c - subscriptions (include/gatestore.h, "subscriptions"):
 * confirm-mode delivery sees its own effect in the views (10 000 events,
 * 0 misses) while plain delivery may not (how often is printed); order and
 * exactly-once; filters; catch-up then live; full-queue policies; cancel and
 * unsubscribe from and during callbacks; closing the store under live
 * subscriptions; durable consumer positions and their bad inputs (names,
 * corrupt and future-version files); gs_wait_confirmed; a read-only handle
 * following a writer.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support_subs.h"
#include "support_tmp.h"

#define GUILD 42

/* What a callback saw. */
typedef struct seen {
    gs_store *st;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t n, last_lsn, first_lsn;
    int out_of_order;
    int finals;      /* callbacks with ev == NULL */
    uint64_t misses; /* query inside the callback did not find the entity */
    int query;       /* 1: gs_get the channel in the callback */
    int gate;        /* 1: block in the callback until released */
    int released;
    int in_cb;
    long sleep_us; /* per callback */
    gs_sub *self;  /* for the in-callback calls */
    int unsub_rc, cancel_at;
    uint64_t guilds_bad; /* event guild id != GUILD */
    int d_bad;
} seen;

static void seen_init(seen *s, gs_store *st)
{
    memset(s, 0, sizeof(*s));
    s->st = st;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->unsub_rc = 1;
}

static void seen_destroy(seen *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

static void on_event(void *ud, const gs_event *ev)
{
    seen *s = ud;
    if (!ev) {
        pthread_mutex_lock(&s->mu);
        s->finals++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (s->query) {
        uint64_t id = gs_ts_channel_id(ev->raw, ev->raw_len);
        char *json = NULL;
        int rc = gs_get(s->st, "channel", id, 0, &json, NULL);
        if (rc != GS_OK)
            s->misses++;
        gs_free(json);
    }
    if (ev->guild_id != GUILD)
        s->guilds_bad++;
    if (!ev->d || ev->d_len < 2 || ev->d[0] != '{' || ev->d[ev->d_len - 1] != '}')
        s->d_bad = 1;
    pthread_mutex_lock(&s->mu);
    s->in_cb = 1;
    pthread_cond_broadcast(&s->cv);
    while (s->gate && !s->released)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->n && ev->lsn <= s->last_lsn)
        s->out_of_order = 1;
    if (!s->n)
        s->first_lsn = ev->lsn;
    s->n++;
    s->last_lsn = ev->lsn;
    if (s->self && s->unsub_rc == 1)
        s->unsub_rc = gs_unsubscribe(s->self);
    if (s->self && s->cancel_at && (int)s->n == s->cancel_at)
        gs_sub_cancel(s->self);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->sleep_us)
        nap_us(s->sleep_us);
}

/* Wait (up to 30 s, a hang guard, not a timing check) until n events or a
 * final callback. */
static void wait_for(seen *s, uint64_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    pthread_mutex_lock(&s->mu);
    while (s->n < n && !s->finals)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&s->mu);
}

static void release_gate(seen *s)
{
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Thread body: let the gated callback go a little later, so that
 * gs_unsubscribe is called while it runs. */
static void *release_later(void *arg)
{
    nap_us(20000);
    release_gate(arg);
    return NULL;
}

static gs_sub *sub_or_die(gs_store *st, gs_sub_options *o, seen *s, unsigned flags)
{
    gs_sub *sub = NULL;
    int rc = gs_subscribe(st, o, on_event, s, flags, &sub);
    if (rc != GS_OK)
        fail_msg("gs_subscribe: %s: %s", gs_errname(rc), gs_store_errmsg(st));
    return sub;
}

/* (1) of the issue: query the views from the callback for every event. */
static uint64_t run_query_in_callback(unsigned flags, uint64_t n)
{
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 1, GS_DURABILITY_BATCH, 0);
    seen s;
    seen_init(&s, st);
    s.query = 1;
    gs_sub *sub = sub_or_die(st, NULL, &s, flags);
    for (uint64_t i = 1; i <= n; i++)
        gs_ts_ingest_channel(st, 1000 + i, GUILD);
    wait_for(&s, n);
    if (s.n != n)
        fail_msg("%llu of %llu delivered; status %s: %s", (unsigned long long)s.n,
                 (unsigned long long)n, gs_errname(gs_sub_status(sub)), gs_sub_errmsg(sub));
    assert_int_equal(s.out_of_order, 0);
    assert_int_equal(s.first_lsn, 1);
    assert_int_equal(s.guilds_bad, 0);
    assert_int_equal(s.d_bad, 0);
    gs_sub_stats stats;
    for (int i = 0; i < 3000; i++) { /* the counter moves just after the callback */
        assert_int_equal(gs_sub_stats_get(sub, &stats), GS_OK);
        if (stats.delivered == n)
            break;
        nap_us(1000);
    }
    assert_int_equal(stats.delivered, n);
    assert_int_equal(stats.passed_lsn, n);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_test_rmtree(dir);
    uint64_t misses = s.misses;
    seen_destroy(&s);
    return misses;
}

static void test_confirm_sees_its_effect(void **state)
{
    (void)state;
    uint64_t misses = run_query_in_callback(GS_SUB_CONFIRM, 10000);
    printf("confirm: 10000 events, %llu misses\n", (unsigned long long)misses);
    assert_int_equal(misses, 0);
}

static void test_plain_may_miss(void **state)
{
    (void)state;
    uint64_t misses = run_query_in_callback(0, 10000);
    /* Allowed: a plain subscriber runs as soon as the frame is appended. */
    printf("plain: 10000 events, %llu misses (%.1f%%)\n", (unsigned long long)misses,
           (double)misses / 100.0);
}

/* Catch-up from LSN 1 while ingest goes on: every LSN once, in order. */
static void test_catch_up_then_live(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    for (uint64_t i = 1; i <= 3000; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    gs_sub_options *o;
    assert_int_equal(gs_sub_options_create(&o), GS_OK);
    assert_int_equal(gs_sub_options_set_from(o, 1), GS_OK);
    seen s;
    seen_init(&s, st);
    gs_sub *sub = sub_or_die(st, o, &s, 0);
    gs_sub_options_destroy(o);
    for (uint64_t i = 3001; i <= 6000; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    wait_for(&s, 6000);
    assert_int_equal(s.n, 6000);
    assert_int_equal(s.first_lsn, 1);
    assert_int_equal(s.last_lsn, 6000);
    assert_int_equal(s.out_of_order, 0);
    gs_sub_stats stats;
    gs_sub_stats_get(sub, &stats);
    assert_true(stats.from_log > 0); /* the backlog came from the log */
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    gs_store_close(st);
    seen_destroy(&s);
    gs_test_rmtree(dir);
}

static void test_filters(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    gs_sub_options *o;
    assert_int_equal(gs_sub_options_create(&o), GS_OK);
    assert_int_equal(gs_sub_options_add_event(o, "CHANNEL_CREATE"), GS_OK);
    assert_int_equal(gs_sub_options_set_guild(o, GUILD), GS_OK);
    seen s;
    seen_init(&s, st);
    gs_sub *sub = sub_or_die(st, o, &s, 0);
    gs_sub_options_destroy(o);
    const char *other = "{\"op\":0,\"t\":\"TYPING_START\",\"s\":1,\"d\":{\"guild_id\":\"42\"}}";
    for (uint64_t i = 1; i <= 100; i++) {
        gs_ts_ingest_channel(st, i, i % 2 ? GUILD : 7); /* half in another guild */
        assert_int_equal(gs_ingest_line(st, other, strlen(other), NULL, NULL), GS_OK);
    }
    gs_ts_ingest_channel(st, 999, GUILD); /* the last LSN, matching */
    wait_for(&s, 51);
    assert_int_equal(s.n, 51);
    assert_int_equal(s.guilds_bad, 0);
    assert_int_equal(s.last_lsn, 201);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    gs_store_close(st);
    seen_destroy(&s);
    gs_test_rmtree(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    gs_sub_options *o;
    assert_int_equal(gs_sub_options_create(&o), GS_OK);
    const char *bad[] = {"",
                         ".hidden",
                         "a/b",
                         "../x",
                         "sp ace",
                         "x\n",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++)
        assert_int_equal(gs_sub_options_set_name(o, bad[i]), GS_EMISUSE);
    assert_int_equal(gs_sub_options_set_name(o, NULL), GS_EMISUSE);
    assert_int_equal(gs_sub_options_set_name(o, "ok.name_1-x"), GS_OK);
    assert_int_equal(gs_sub_options_set_queue(o, 0, GS_SUB_DROP, 0), GS_EMISUSE);
    assert_int_equal(gs_sub_options_set_queue(o, 1, (gs_sub_full)7, 0), GS_EMISUSE);
    assert_int_equal(gs_sub_options_add_event(o, ""), GS_EMISUSE);
    assert_int_equal(gs_sub_options_set_since(o, -1), GS_EMISUSE);
    gs_sub *sub = NULL;
    seen s;
    seen_init(&s, st);
    assert_int_equal(gs_subscribe(st, o, NULL, NULL, 0, &sub), GS_EMISUSE);
    assert_int_equal(gs_subscribe(st, o, on_event, &s, 0x80, &sub), GS_EMISUSE);
    assert_int_equal(gs_subscribe(NULL, o, on_event, &s, 0, &sub), GS_EMISUSE);
    /* A log-only store has nothing to confirm against. */
    assert_int_equal(gs_subscribe(st, NULL, on_event, &s, GS_SUB_CONFIRM, &sub), GS_EVIEW);
    assert_int_equal(gs_wait_confirmed(st, 1, 10), GS_EVIEW);
    assert_null(sub);
    /* Ack rules. */
    sub = sub_or_die(st, NULL, &s, 0);
    assert_int_equal(gs_sub_ack(sub, 1), GS_EMISUSE); /* unnamed */
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    sub = sub_or_die(st, o, &s, 0);
    assert_int_equal(gs_sub_ack(sub, 5), GS_EMISUSE); /* not delivered */
    gs_sub *twin = NULL;
    assert_int_equal(gs_subscribe(st, o, on_event, &s, 0, &twin), GS_EBUSY);
    assert_non_null(strstr(gs_store_errmsg(st), "ok.name_1-x"));
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    assert_int_equal(gs_unsubscribe(NULL), GS_OK);
    gs_sub_options_destroy(o);
    gs_store_close(st);
    seen_destroy(&s);
    gs_test_rmtree(dir);
}

/* GS_SUB_DROP: a stuck subscriber is dropped, ingest never waits. */
static void test_drop_policy(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    assert_int_equal(gs_sub_options_set_queue(o, 10, GS_SUB_DROP, 0), GS_OK);
    seen s;
    seen_init(&s, st);
    s.gate = 1;
    gs_sub *sub = sub_or_die(st, o, &s, 0);
    gs_sub_options_destroy(o);
    for (uint64_t i = 1; i <= 100; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    assert_int_equal(gs_sub_status(sub), GS_EOVERFLOW);
    assert_non_null(strstr(gs_sub_errmsg(sub), "queue full"));
    release_gate(&s);
    wait_for(&s, 1000); /* until the final callback */
    assert_int_equal(s.finals, 1);
    assert_true(s.n <= 12);
    gs_sub_stats stats;
    gs_sub_stats_get(sub, &stats);
    assert_int_equal(stats.status, GS_EOVERFLOW);
    assert_true(stats.max_queued > 10);
    assert_int_equal(stats.blocked_us, 0);
    assert_int_equal(gs_unsubscribe(sub), GS_EOVERFLOW);
    gs_store_close(st);
    seen_destroy(&s);
    gs_test_rmtree(dir);
}

/* GS_SUB_BLOCK: a stuck subscriber blocks ingest max_block_ms, then is
 * dropped; a slow one that keeps up throttles ingest and loses nothing. */
static void test_block_policy(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    assert_int_equal(gs_sub_options_set_queue(o, 10, GS_SUB_BLOCK, 20), GS_OK);
    seen stuck;
    seen_init(&stuck, st);
    stuck.gate = 1;
    gs_sub *sub = sub_or_die(st, o, &stuck, 0);
    for (uint64_t i = 1; i <= 50; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    assert_int_equal(gs_sub_status(sub), GS_EOVERFLOW);
    assert_non_null(strstr(gs_sub_errmsg(sub), "blocked"));
    gs_sub_stats stats;
    gs_sub_stats_get(sub, &stats);
    assert_true(stats.blocked_us > 0);
    release_gate(&stuck);
    wait_for(&stuck, 1000);
    assert_int_equal(stuck.finals, 1);
    assert_int_equal(gs_unsubscribe(sub), GS_EOVERFLOW);

    assert_int_equal(gs_sub_options_set_queue(o, 4, GS_SUB_BLOCK, 10000), GS_OK);
    seen slow;
    seen_init(&slow, st);
    slow.sleep_us = 300;
    sub = sub_or_die(st, o, &slow, 0);
    for (uint64_t i = 1; i <= 100; i++)
        gs_ts_ingest_channel(st, 100 + i, GUILD);
    wait_for(&slow, 100);
    assert_int_equal(slow.n, 100);
    assert_int_equal(gs_sub_status(sub), GS_OK);
    gs_sub_stats_get(sub, &stats);
    assert_true(stats.max_queued <= 5);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    gs_sub_options_destroy(o);
    gs_store_close(st);
    seen_destroy(&stuck);
    seen_destroy(&slow);
    gs_test_rmtree(dir);
}

static void test_unsubscribe_in_and_during_callback(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    /* From inside: refused; cancel works and makes no final call. */
    seen s;
    seen_init(&s, st);
    s.cancel_at = 3;
    gs_sub *sub = sub_or_die(st, NULL, &s, 0);
    pthread_mutex_lock(&s.mu);
    s.self = sub;
    pthread_mutex_unlock(&s.mu);
    for (uint64_t i = 1; i <= 20; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    wait_for(&s, 3);
    nap_us(20000);
    assert_int_equal(s.unsub_rc, GS_EMISUSE);
    assert_int_equal(s.n, 3);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    assert_int_equal(s.finals, 0);

    /* From another thread while a callback runs: waits for it. */
    seen g;
    seen_init(&g, st);
    g.gate = 1;
    sub = sub_or_die(st, NULL, &g, 0);
    gs_ts_ingest_channel(st, 100, GUILD);
    pthread_mutex_lock(&g.mu);
    while (!g.in_cb)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    pthread_t t;
    pthread_create(&t, NULL, release_later, &g);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    pthread_join(t, NULL);
    assert_int_equal(g.n, 1);
    gs_store_close(st);
    seen_destroy(&s);
    seen_destroy(&g);
    gs_test_rmtree(dir);
}

typedef struct ingest_arg {
    gs_store *st;
    int n;
    atomic_int done;
} ingest_arg;

static void *ingest_main(void *arg)
{
    ingest_arg *a = arg;
    for (int i = 1; i <= a->n; i++)
        gs_ts_ingest_channel(a->st, 7000 + (uint64_t)i, GUILD);
    atomic_store(&a->done, 1);
    return NULL;
}

/* gs_unsubscribe while an appender waits for room in the queue: the
 * appender goes on, and the handle is freed only once it let go. */
static void test_unsubscribe_with_blocked_appender(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    gs_sub_options_set_queue(o, 2, GS_SUB_BLOCK, 60000);
    seen g;
    seen_init(&g, st);
    g.gate = 1;
    gs_sub *sub = sub_or_die(st, o, &g, 0);
    gs_sub_options_destroy(o);
    ingest_arg a = {st, 20, 0};
    pthread_t it, rt;
    pthread_create(&it, NULL, ingest_main, &a);
    gs_sub_stats stats;
    do { /* until the appender is blocked */
        nap_us(1000);
        gs_sub_stats_get(sub, &stats);
    } while (stats.max_queued <= 2);
    assert_int_equal(atomic_load(&a.done), 0);
    pthread_create(&rt, NULL, release_later, &g);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    pthread_join(it, NULL);
    pthread_join(rt, NULL);
    assert_int_equal(atomic_load(&a.done), 1);
    assert_int_equal(gs_store_head_lsn(st), 20);
    gs_store_close(st);
    seen_destroy(&g);
    gs_test_rmtree(dir);
}

static void test_close_with_live_subscriptions(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 1, GS_DURABILITY_BATCH, 0);
    seen a, b;
    seen_init(&a, st);
    seen_init(&b, st);
    gs_sub *sa = sub_or_die(st, NULL, &a, 0);
    gs_sub *sb = sub_or_die(st, NULL, &b, GS_SUB_CONFIRM);
    for (uint64_t i = 1; i <= 200; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    assert_int_equal(gs_store_close(st), GS_OK);
    assert_int_equal(a.finals, 1);
    assert_int_equal(b.finals, 1);
    assert_int_equal(gs_sub_status(sa), GS_ECLOSED);
    assert_int_equal(gs_sub_ack(sa, 0), GS_EMISUSE);
    gs_sub_stats stats;
    assert_int_equal(gs_sub_stats_get(sb, &stats), GS_OK);
    assert_int_equal(stats.status, GS_ECLOSED);
    assert_int_equal(gs_unsubscribe(sa), GS_OK);
    assert_int_equal(gs_unsubscribe(sb), GS_OK);
    seen_destroy(&a);
    seen_destroy(&b);
    gs_test_rmtree(dir);
}

static void test_named_resume_in_process(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    for (uint64_t i = 1; i <= 50; i++)
        gs_ts_ingest_channel(st, i, GUILD);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    gs_sub_options_set_name(o, "indexer");
    seen s;
    seen_init(&s, st);
    gs_sub *sub = sub_or_die(st, o, &s, 0);
    wait_for(&s, 50);
    assert_int_equal(s.first_lsn, 1); /* a new name starts at the beginning */
    assert_int_equal(gs_sub_ack(sub, 30), GS_OK);
    assert_int_equal(gs_sub_ack(sub, 20), GS_OK); /* older: ignored */
    gs_sub_stats stats;
    gs_sub_stats_get(sub, &stats);
    assert_int_equal(stats.acked_lsn, 30);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    seen r;
    seen_init(&r, st);
    sub = sub_or_die(st, o, &r, 0);
    gs_ts_ingest_channel(st, 51, GUILD);
    wait_for(&r, 21);
    assert_int_equal(r.first_lsn, 31);
    assert_int_equal(r.last_lsn, 51);
    assert_int_equal(r.out_of_order, 0);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    gs_sub_options_destroy(o);
    gs_store_close(st);
    seen_destroy(&s);
    seen_destroy(&r);
    gs_test_rmtree(dir);
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static void test_corrupt_consumer_file(void **state)
{
    (void)state;
    char dir[256], path[512];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    gs_ts_ingest_channel(st, 1, GUILD);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    gs_sub_options_set_name(o, "c");
    seen s;
    seen_init(&s, st);
    gs_sub *sub = sub_or_die(st, o, &s, 0);
    wait_for(&s, 1);
    assert_int_equal(gs_sub_ack(sub, 1), GS_OK);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    snprintf(path, sizeof(path), "%s/consumers/c", dir);
    unsigned char buf[64];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, 32);

    buf[17] ^= 1; /* the LSN: checksum mismatch */
    write_bytes(path, buf, n);
    sub = NULL;
    assert_int_equal(gs_subscribe(st, o, on_event, &s, 0, &sub), GS_ECORRUPT);
    assert_null(sub);
    assert_non_null(strstr(gs_store_errmsg(st), "consumers/c"));
    assert_non_null(strstr(gs_store_errmsg(st), "checksum"));
    write_bytes(path, buf, 7); /* truncated */
    assert_int_equal(gs_subscribe(st, o, on_event, &s, 0, &sub), GS_ECORRUPT);
    write_bytes(path, "garbage garbage garbage garbage!", 32);
    assert_int_equal(gs_subscribe(st, o, on_event, &s, 0, &sub), GS_ECORRUPT);
    /* A name that failed can be used once fixed: the lock was released. */
    unlink(path);
    sub = sub_or_die(st, o, &s, 0);
    assert_int_equal(gs_unsubscribe(sub), GS_OK);
    gs_sub_options_destroy(o);
    gs_store_close(st);
    seen_destroy(&s);
    gs_test_rmtree(dir);
}

static void test_wait_confirmed(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 1, GS_DURABILITY_BATCH, 0);
    for (uint64_t i = 1; i <= 500; i++) {
        uint64_t lsn = gs_ts_ingest_channel(st, 5000 + i, GUILD);
        assert_int_equal(gs_wait_confirmed(st, lsn, 30000), GS_OK);
        char *json = NULL;
        assert_int_equal(gs_get(st, "channel", 5000 + i, 0, &json, NULL), GS_OK);
        gs_free(json);
    }
    assert_int_equal(gs_wait_confirmed(st, 100000, 5), GS_ETIMEOUT);
    assert_int_equal(gs_wait_confirmed(NULL, 1, 5), GS_EMISUSE);
    gs_store_close(st);
    gs_test_rmtree(dir);
}

/* A read-only handle follows the log a writer handle appends. */
static void test_read_only_follows(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *w = gs_ts_open(dir, 1, GS_DURABILITY_BATCH, 0);
    gs_ts_ingest_channel(w, 1, GUILD);
    assert_int_equal(gs_wait_confirmed(w, 1, 30000), GS_OK);
    gs_store *r = gs_ts_open(dir, 1, GS_DURABILITY_BATCH, 1);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    gs_sub_options_set_from(o, 1);
    seen plain, conf;
    seen_init(&plain, r);
    seen_init(&conf, r);
    gs_sub *sp = sub_or_die(r, o, &plain, 0);
    gs_sub *sc = sub_or_die(r, o, &conf, GS_SUB_CONFIRM);
    for (uint64_t i = 2; i <= 300; i++)
        gs_ts_ingest_channel(w, i, GUILD);
    wait_for(&plain, 300);
    wait_for(&conf, 300);
    assert_int_equal(plain.n, 300);
    assert_int_equal(conf.n, 300);
    assert_int_equal(plain.out_of_order + conf.out_of_order, 0);
    assert_int_equal(gs_wait_confirmed(r, 300, 30000), GS_OK);
    assert_int_equal(gs_unsubscribe(sp), GS_OK);
    assert_int_equal(gs_unsubscribe(sc), GS_OK);
    gs_sub_options_destroy(o);
    gs_store_close(r);
    gs_store_close(w);
    seen_destroy(&plain);
    seen_destroy(&conf);
    gs_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confirm_sees_its_effect),
        cmocka_unit_test(test_plain_may_miss),
        cmocka_unit_test(test_catch_up_then_live),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_drop_policy),
        cmocka_unit_test(test_block_policy),
        cmocka_unit_test(test_unsubscribe_in_and_during_callback),
        cmocka_unit_test(test_unsubscribe_with_blocked_appender),
        cmocka_unit_test(test_close_with_live_subscriptions),
        cmocka_unit_test(test_named_resume_in_process),
        cmocka_unit_test(test_corrupt_consumer_file),
        cmocka_unit_test(test_wait_confirmed),
        cmocka_unit_test(test_read_only_follows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
