/*
 * test_views_catchup.c - gs_views_catch_up over a real segment log: views
 * caught up from the log equal views fed directly; catch-up resumes at the
 * watermark, stops at until_lsn, and replays everything after a wipe.
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

static void test_catch_up_equals_direct(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    const char *dir = D.root, *logdir = D.log, *vdir = D.views, *ddir = D.ref;
    gs_tv_file f;
    gs_tv_load("scenario.ndjson", &f);
    gs_tv_log_file(logdir, &f);
    assert_int_equal(f.recs[f.n - 1].lsn, f.n);

    char *want = gs_tv_direct_dump(ddir, &f, 7);

    gs_views *v;
    gs_err err;
    uint64_t n = 0;
    assert_int_equal(gs_views_open(vdir, NULL, &v, NULL), GS_OK);
    /* Up to LSN 10 only, then the rest. */
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 10, &n, &err), GS_OK);
    assert_int_equal(n, 10);
    assert_int_equal(gs_views_watermark(v), 10);
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, f.n - 10);
    assert_int_equal(gs_views_watermark(v), f.n);
    char *got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    /* Nothing new: nothing read. */
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, 0);
    /* Rebuild: wipe, replay everything. */
    assert_int_equal(gs_views_wipe(v, &err), GS_OK);
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, f.n);
    got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    /* A missing log directory is an error, not an empty log. */
    char nolog[320];
    snprintf(nolog, sizeof(nolog), "%s/nolog", dir);
    assert_int_equal(gs_views_wipe(v, &err), GS_OK);
    assert_true(gs_views_catch_up(v, nolog, NULL, 0, &n, &err) < 0);
    free(want);
    gs_views_close(v, NULL);
    gs_tv_free(&f);
    gs_tv_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catch_up_equals_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
