/*
 * test_views_threads.c - queries beside the applier: two reader threads do
 * point gets (through the entity cache), queries (on snapshots), status and
 * dumps while the main thread applies a stream. Every result must be
 * well-formed; afterwards every member read through the cache must equal
 * the same member read from a RocksDB snapshot (the cache never serves a
 * stale value). The same beside a catch-up from a log. Meant to be run
 * under TSan too (GS_SANITIZE=thread).
 */
#include "gs_common.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support_views.h"

static gs_views *V;
static atomic_int stop;
static atomic_int errors;
static atomic_long reads;

static void note_error(const char *what, const char *msg)
{
    fprintf(stderr, "%s: %s\n", what, msg);
    atomic_fetch_add(&errors, 1);
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    gs_json *p;
    if (gs_json_create(1u << 24, 256, &p, NULL) != GS_OK)
        return NULL;
    while (!atomic_load(&stop)) {
        seed = seed * 1103515245u + 12345u;
        uint64_t g = 1000 + (seed >> 8) % 6, u = 50 + (seed >> 16) % 40;
        gs_err err;
        char *out;
        size_t len;
        int rc;
        switch ((seed >> 24) % 5) {
        case 0:
        case 1:
            rc = gs_views_get(V, GS_VIEW_MEMBER, u, g, GS_VFMT_JSON, &out, &len, &err);
            break;
        case 2:
            rc = gs_views_get(V, GS_VIEW_GUILD, g, 0, GS_VFMT_JSON, &out, &len, &err);
            break;
        case 3:
            rc = gs_views_get(V, GS_VIEW_CHANNEL, g * 100 + 1, 0, GS_VFMT_JSON, &out, &len, &err);
            break;
        default: {
            gs_vq_spec s = {.type = GS_VIEW_MEMBER, .guild = g};
            gs_vq *q;
            uint64_t n;
            if (gs_vq_open(V, &s, &q, &err) != GS_OK || gs_vq_count(q, &n, &err) != GS_OK)
                note_error("count", err.msg);
            gs_vq_close(q);
            gs_views_status st;
            if (gs_views_status_read(V, &st, &err) != GS_OK)
                note_error("status", err.msg);
            continue;
        }
        }
        atomic_fetch_add(&reads, 1);
        if (rc == GS_ENOTFOUND)
            continue;
        if (rc != GS_OK) {
            note_error("get", err.msg);
            continue;
        }
        gs_jval root;
        if (gs_json_parse(p, out, len, len, &root, &err) != GS_OK ||
            gs_json_type(root) != GS_JOBJECT)
            note_error("get returned bad JSON", out);
        free(out);
    }
    gs_json_destroy(p);
    return NULL;
}

/* Cache against snapshot: every member of every guild. */
static void compare_all(void)
{
    int compared = 0;
    for (uint64_t g = 1000; g < 1006; g++) {
        for (uint64_t u = 50; u < 90; u++) {
            char *a = NULL;
            size_t alen;
            int rc = gs_views_get(V, GS_VIEW_MEMBER, u, g, GS_VFMT_JSON, &a, &alen, NULL);
            gs_vq_spec s = {.type = GS_VIEW_MEMBER, .guild = g, .user = u};
            gs_vq *q;
            const char *b;
            size_t blen;
            assert_int_equal(gs_vq_open(V, &s, &q, NULL), GS_OK);
            int qrc = gs_vq_next(q, GS_VFMT_JSON, &b, &blen, NULL);
            if (rc == GS_ENOTFOUND) {
                assert_int_equal(qrc, 0);
            } else {
                assert_int_equal(rc, GS_OK);
                assert_int_equal(qrc, 1);
                assert_string_equal(a, b);
                compared++;
            }
            gs_vq_close(q);
            free(a);
        }
    }
    assert_true(compared > 0);
}

static void run_readers(uint64_t from, uint64_t to)
{
    atomic_store(&stop, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)(i + 1)), 0);
    assert_int_equal(gs_tv_apply_stream(V, from, to, 32), GS_OK);
    char *d = gs_tv_dump(V); /* a dump beside the readers */
    free(d);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    assert_true(atomic_load(&reads) > 100);
}

static void test_readers_beside_applier(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    /* A small cache, so that entries are evicted and refilled meanwhile;
     * calls of 32 records cut into stages of 5, so that readers also run
     * beside the committer thread and a cache that lags the stage in
     * flight (apply.c). */
    gs_views_tuning t = {.entity_cache_bytes = 256u << 10, .stage_records = 5};
    assert_int_equal(gs_views_open_tuned(dir, NULL, &t, &V, NULL), GS_OK);
    assert_int_equal(gs_tv_apply_stream(V, 1, 200, 32), GS_OK);
    run_readers(201, 6000);

    compare_all();
    gs_views_close(V, NULL);
    gs_tv_rmtree(dir);
}

/* Reopened views hold deleted roles the entity cache has not loaded yet:
 * the first gets load them (taking the apply lock only if it is free)
 * while the applier starts beside them. */
static void test_readers_after_reopen(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    assert_int_equal(gs_views_open(dir, NULL, &V, NULL), GS_OK);
    assert_int_equal(gs_tv_apply_stream(V, 1, 3000, 64), GS_OK);
    gs_views_close(V, NULL);
    assert_int_equal(gs_views_open(dir, NULL, &V, NULL), GS_OK);
    run_readers(3001, 6000);
    compare_all();
    gs_views_close(V, NULL);
    gs_tv_rmtree(dir);
}

/* Readers beside a catch-up (a replay from the log, six batches), with a
 * small cache (entries evicted and refilled meanwhile); then the cache must
 * agree with RocksDB, and the views with a direct apply. */
static void test_readers_beside_catch_up(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    gs_tv_log_stream(D.log, 6000);
    gs_views_tuning t = {.entity_cache_bytes = 256u << 10};
    assert_int_equal(gs_views_open_tuned(D.views, NULL, &t, &V, NULL), GS_OK);
    gs_err err;
    uint64_t n;
    assert_int_equal(gs_views_catch_up(V, D.log, NULL, 200, &n, &err), GS_OK);
    atomic_store(&stop, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)(i + 7)), 0);
    assert_int_equal(gs_views_catch_up(V, D.log, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, 6000 - 200);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    assert_int_equal(gs_views_watermark(V), 6000);
    compare_all();
    char *got = gs_tv_dump(V);
    gs_views_close(V, NULL);
    gs_views *ref;
    assert_int_equal(gs_views_open(D.ref, NULL, &ref, NULL), GS_OK);
    assert_int_equal(gs_tv_apply_stream(ref, 1, 6000, 64), GS_OK);
    char *want = gs_tv_dump(ref);
    assert_string_equal(got, want);
    free(got);
    free(want);
    gs_views_close(ref, NULL);
    gs_tv_rmtree(D.root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_beside_applier),
        cmocka_unit_test(test_readers_after_reopen),
        cmocka_unit_test(test_readers_beside_catch_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
