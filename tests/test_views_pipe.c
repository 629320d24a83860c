/*
 * test_views_pipe.c - replays whose writes run on the views' writer thread
 * (views/pipe.c): the next batch is built while the previous one is being
 * written, reading the keys of the one in flight from its overlay.
 *
 * - Replays of the scenario in batches of 1, 2, 3 and 5 records (every
 *   record's reads then meet the batch before it in flight) equal a direct
 *   apply, by catch-up, by the follower, and after a reopen (an incomplete
 *   entity cache: misses go to RocksDB while a write is in flight).
 * - A failed write: the catch-up returns the error, the watermark stays at
 *   the last batch written, the views equal a direct apply of exactly the
 *   records up to it (the entity cache, which showed the failed batch, was
 *   dropped), and a later catch-up completes them.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support_views.h"
#include "views_int.h"

/* Direct apply of the first n records of f, as a dump. */
static char *direct_prefix(const char *dir, const gs_tv_file *f, size_t n)
{
    gs_tv_file p = *f;
    p.n = n;
    return gs_tv_direct_dump(dir, &p, 7);
}

static void check_dump(gs_views *v, const char *want)
{
    char *got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
}

static void test_small_batches_equal_a_direct_apply(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    gs_tv_file f;
    gs_tv_load("scenario.ndjson", &f);
    uint64_t last = gs_tv_log_file(D.log, &f);
    assert_int_equal(last, f.n);
    char *want = gs_tv_direct_dump(D.ref, &f, 7);
    static const size_t sizes[] = {1, 2, 3, 5};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        atomic_store(&gs_vreplay_batch_records, sizes[s]);
        gs_views *v;
        gs_err err;
        uint64_t n = 0;
        assert_int_equal(gs_views_open(D.views, NULL, &v, NULL), GS_OK);
        assert_int_equal(gs_views_wipe(v, &err), GS_OK);
        /* Catch-up in one call. */
        assert_int_equal(gs_views_catch_up(v, D.log, NULL, 0, &n, &err), GS_OK);
        assert_int_equal(n, last);
        assert_int_equal(gs_views_watermark(v), last);
        check_dump(v, want);

        /* The follower, in three steps. */
        assert_int_equal(gs_views_wipe(v, &err), GS_OK);
        gs_views_follower *fo;
        assert_int_equal(gs_views_follower_open(v, D.log, NULL, &fo, &err), GS_OK);
        assert_int_equal(gs_views_follower_step(fo, last / 3, &n, &err), GS_OK);
        assert_int_equal(gs_views_watermark(v), last / 3);
        assert_int_equal(gs_views_follower_step(fo, 2 * last / 3, &n, &err), GS_OK);
        assert_int_equal(gs_views_watermark(v), 2 * last / 3);
        assert_int_equal(gs_views_follower_step(fo, 0, &n, &err), GS_OK);
        assert_int_equal(gs_views_watermark(v), last);
        gs_views_follower_close(fo);
        check_dump(v, want);

        /* Half, close, reopen (the cache starts empty and incomplete, so
         * its misses read RocksDB beside the writes), the rest. */
        assert_int_equal(gs_views_wipe(v, &err), GS_OK);
        assert_int_equal(gs_views_catch_up(v, D.log, NULL, last / 2, &n, &err), GS_OK);
        assert_int_equal(gs_views_close(v, &err), GS_OK);
        assert_int_equal(gs_views_open(D.views, NULL, &v, NULL), GS_OK);
        assert_int_equal(gs_views_watermark(v), last / 2);
        assert_int_equal(gs_views_catch_up(v, D.log, NULL, 0, &n, &err), GS_OK);
        assert_int_equal(n, last - last / 2);
        check_dump(v, want);
        assert_int_equal(gs_views_close(v, &err), GS_OK);
    }
    atomic_store(&gs_vreplay_batch_records, 0);
    free(want);
    gs_tv_free(&f);
    gs_tv_rmtree(D.root);
}

/* A write that fails in the middle of a catch-up (batches of 3 records):
 * the first `ok` batches of the call are written, the next is not. */
static void failed_write(size_t ok_batches)
{
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    gs_tv_file f;
    gs_tv_load("scenario.ndjson", &f);
    uint64_t last = gs_tv_log_file(D.log, &f);
    atomic_store(&gs_vreplay_batch_records, 3);

    gs_views *v;
    gs_err err;
    uint64_t n = 0;
    assert_int_equal(gs_views_open(D.views, NULL, &v, NULL), GS_OK);
    /* A first part written normally, so the failure lands on a store with
     * data in RocksDB and in the cache. */
    uint64_t first = last / 3;
    assert_int_equal(gs_views_catch_up(v, D.log, NULL, first, &n, &err), GS_OK);
    assert_int_equal(gs_views_watermark(v), first);

    /* ok_batches more batches written, then a catch-up whose first write
     * fails. */
    if (ok_batches)
        assert_int_equal(gs_views_catch_up(v, D.log, NULL, first + 3 * ok_batches, &n, &err),
                         GS_OK);
    uint64_t written = first + 3 * ok_batches;
    assert_true(written + 3 < last); /* the failing catch-up has more than one batch */
    assert_int_equal(gs_views_watermark(v), written);
    atomic_store(&gs_vpipe_fail_writes, 1);
    gs_err_clear(&err);
    int rc = gs_views_catch_up(v, D.log, NULL, 0, &n, &err);
    assert_int_equal(rc, GS_EIO);
    assert_int_equal(err.code, GS_EIO);
    assert_non_null(strstr(err.msg, "injected"));
    assert_int_equal(atomic_load(&gs_vpipe_fail_writes), 0);
    /* Nothing of the failed batch or after it: the views are exactly the
     * records up to the watermark, also through the entity cache. */
    assert_int_equal(gs_views_watermark(v), written);
    char *want_part = direct_prefix(D.ref, &f, (size_t)written);
    check_dump(v, want_part);
    free(want_part);
    /* The cache showed the failed batch: it was dropped, and claims no
     * longer that a key it lacks is absent. */
    assert_false(gs_vcache_complete(v->ecache));

    /* A later catch-up (the writer works again) completes the views. */
    assert_int_equal(gs_views_catch_up(v, D.log, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(gs_views_watermark(v), last);
    char *want = gs_tv_direct_dump(D.ref, &f, 7);
    check_dump(v, want);
    free(want);
    assert_int_equal(gs_views_close(v, &err), GS_OK);
    /* And they were written, not only cached. */
    assert_int_equal(gs_views_open(D.views, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), last);
    want = gs_tv_direct_dump(D.ref, &f, 7);
    check_dump(v, want);
    free(want);
    assert_int_equal(gs_views_close(v, &err), GS_OK);

    atomic_store(&gs_vreplay_batch_records, 0);
    gs_tv_free(&f);
    gs_tv_rmtree(D.root);
}

static void test_failed_first_write(void **state)
{
    (void)state;
    failed_write(0);
}

static void test_failed_write_after_others(void **state)
{
    (void)state;
    failed_write(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_batches_equal_a_direct_apply),
        cmocka_unit_test(test_failed_first_write),
        cmocka_unit_test(test_failed_write_after_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
