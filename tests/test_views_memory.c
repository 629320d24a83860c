/*
 * test_views_memory.c - the memory bounds of the views: replay batches cut
 * before a record would take them past their byte budget (no record lost
 * or applied twice at the cut, for a catch-up and for the follower), the
 * applier's periodic renewal of its write batch and JSON parser (the views
 * stay equal to a direct apply across it, also when the caller defers it
 * to gs_views_housekeep as the store's applier does); a wipe emptying the
 * block cache.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support_views.h"

/* Records of about 768 KiB each: two fit a 2 MiB replay batch, the third
 * does not. Their event is unknown to the views (applied as nothing), so
 * the views must equal a direct apply of the scenario alone. */
#define BIG_RAW   (768u * 1024u)
#define BIG_EVERY 7

static char *big_raw(void)
{
    char *p = malloc(BIG_RAW + 1);
    assert_non_null(p);
    static const char head[] = "{\"op\":0,\"s\":1,\"t\":\"GS_TEST_PADDING\",\"d\":{\"x\":\"";
    memcpy(p, head, sizeof(head) - 1);
    memset(p + sizeof(head) - 1, 'a', BIG_RAW - (sizeof(head) - 1) - 3);
    memcpy(p + BIG_RAW - 3, "\"}}", 3);
    p[BIG_RAW] = '\0';
    return p;
}

/* The scenario's records with a big unknown record after every BIG_EVERY
 * of them, appended to a new log in logdir. Returns the number of records
 * written (the last LSN). */
static uint64_t write_log_with_big(const char *logdir, const gs_tv_file *f)
{
    gs_log *log = gs_tv_log_open(logdir);
    char *big = big_raw();
    uint64_t lsn = 0;
    for (size_t i = 0; i < f->n; i++) {
        gs_log_rec_in in = gs_tv_log_in(f, i);
        lsn = gs_tv_log_append(log, &in);
        if (i % BIG_EVERY == 0) {
            gs_log_rec_in b = {.recv_us = 1,
                               .shard = -1,
                               .op = 0,
                               .seq = -1,
                               .event = "GS_TEST_PADDING",
                               .event_len = 15,
                               .raw = big,
                               .raw_len = BIG_RAW};
            lsn = gs_tv_log_append(log, &b);
        }
    }
    gs_tv_log_close(log);
    free(big);
    return lsn;
}

static void test_replay_cuts_batches_before_the_budget(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    const char *dir = D.root, *logdir = D.log, *vdir = D.views, *ddir = D.ref;
    gs_tv_file f;
    gs_tv_load("scenario.ndjson", &f);
    uint64_t last = write_log_with_big(logdir, &f);
    size_t nbig = (f.n + BIG_EVERY - 1) / BIG_EVERY;
    assert_int_equal(last, f.n + nbig);
    assert_true(nbig >= 4); /* several cuts by bytes */
    char *want = gs_tv_direct_dump(ddir, &f, 7);

    gs_views *v;
    gs_err err;
    uint64_t n = 0;
    assert_int_equal(gs_views_open(vdir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, last);
    assert_int_equal(gs_views_watermark(v), last);
    char *got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);

    /* The follower, in two steps (the first ends inside the log). */
    assert_int_equal(gs_views_wipe(v, &err), GS_OK);
    gs_views_follower *fo;
    assert_int_equal(gs_views_follower_open(v, logdir, NULL, &fo, &err), GS_OK);
    assert_int_equal(gs_views_follower_step(fo, last / 2, &n, &err), GS_OK);
    assert_int_equal(n, last / 2);
    assert_int_equal(gs_views_watermark(v), last / 2);
    assert_int_equal(gs_views_follower_step(fo, last, &n, &err), GS_OK);
    assert_int_equal(n, last - last / 2);
    assert_int_equal(gs_views_watermark(v), last);
    got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    /* Nothing new: nothing applied, and the buffer given back is not
     * needed for that. */
    assert_int_equal(gs_views_follower_step(fo, last, &n, &err), GS_OK);
    assert_int_equal(n, 0);
    gs_views_follower_close(fo);

    free(want);
    gs_views_close(v, NULL);
    gs_tv_free(&f);
    gs_tv_rmtree(dir);
}

/* A wipe drops the blocks the block cache held (all of deleted data) and
 * puts its capacity back; the views then fill again as before. */
static void test_wipe_empties_block_cache(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    gs_tv_file f;
    gs_tv_load("scenario.ndjson", &f);
    char *want = gs_tv_direct_dump(D.ref, &f, 7);
    gs_views *v;
    assert_int_equal(gs_views_open(D.views, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &f, 0, f.n, 5), GS_OK);
    gs_views_close(v, NULL); /* flushed: the next open reads tables */
    assert_int_equal(gs_views_open(D.views, NULL, &v, NULL), GS_OK);
    char *got = gs_tv_dump(v); /* every data block through the cache */
    assert_string_equal(got, want);
    free(got);
    gs_views_memory m0, m;
    gs_views_memory_read(v, &m0);
    /* Entries in use stay (RocksDB keeps an 88-byte one pinned). */
    assert_true(m0.block_cache_bytes >= m0.block_cache_pinned + 4096);
    assert_int_equal(gs_views_wipe(v, NULL), GS_OK);
    gs_views_memory_read(v, &m);
    /* Less than a block: what a background job may have cached since
     * (a new table's small meta blocks, seen 568 bytes). */
    assert_true(m.block_cache_bytes < m.block_cache_pinned + 4096);
    assert_int_equal(m.block_cache_budget, m0.block_cache_budget);
    assert_int_equal(gs_views_watermark(v), 0);
    assert_int_equal(gs_tv_apply(v, &f, 0, f.n, 5), GS_OK);
    got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    free(want);
    gs_views_close(v, NULL);
    gs_tv_free(&f);
    gs_tv_rmtree(D.root);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The applier renews its write batch and parser at most once a second
 * (apply.c, trim): applies on both sides of a renewal give the same views
 * as one direct apply. Under ASan a stale pointer to either would show.
 * deferred: as the store's applier does, gs_views_apply leaves it to
 * gs_views_housekeep, called between applies (busy, then idle). */
static void renewals(int deferred)
{
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    const char *dir = D.root, *vdir = D.views, *ddir = D.ref;
    gs_tv_file f;
    gs_tv_load("scenario.ndjson", &f);
    char *want = gs_tv_direct_dump(ddir, &f, 7);

    gs_views *v;
    assert_int_equal(gs_views_open(vdir, NULL, &v, NULL), GS_OK);
    if (deferred)
        gs_views_defer_housekeeping(v, 1);
    size_t third = f.n / 3;
    assert_int_equal(gs_tv_apply(v, &f, 0, third, 5), GS_OK);
    sleep_ms(1300);
    if (deferred)
        gs_views_housekeep(v, 0); /* busy, but a second overdue: renews */
    assert_int_equal(gs_tv_apply(v, &f, third, 2 * third, 5), GS_OK);
    sleep_ms(1100);
    if (deferred) {
        gs_views_housekeep(v, 1); /* idle: renews */
        gs_views_housekeep(v, 1); /* just done: nothing */
    }
    assert_int_equal(gs_tv_apply(v, &f, 2 * third, f.n, 5), GS_OK);
    char *got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    free(want);
    gs_views_close(v, NULL);
    gs_tv_free(&f);
    gs_tv_rmtree(dir);
}

static void test_renewal_between_applies(void **state)
{
    (void)state;
    renewals(0);
}

static void test_deferred_renewal_between_applies(void **state)
{
    (void)state;
    renewals(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_cuts_batches_before_the_budget),
        cmocka_unit_test(test_wipe_empties_block_cache),
        cmocka_unit_test(test_renewal_between_applies),
        cmocka_unit_test(test_deferred_renewal_between_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
