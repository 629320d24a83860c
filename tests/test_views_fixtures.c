/*
 * test_views_fixtures.c - every fixture file applies; the only records the
 * views refuse are the two documented non-conformant kord payloads; the
 * unknown events of the fixtures leave the views byte-identical; a rebuild
 * (wipe + replay) gives the same dump as incremental application.
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

static const char *const files[] = {
    "discord-api-docs.ndjson",      "hikari.ndjson",  "kord.ndjson", "twilight.ndjson",
    "websocket-kit-capture.ndjson", "scenario.ndjson"};

static gs_views *open_fresh(char *dir, size_t cap)
{
    gs_tv_tmpdir(dir, cap);
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    return v;
}

static void test_each_file_applies(void **state)
{
    (void)state;
    for (size_t i = 0; i < GS_ARRAY_LEN(files); i++) {
        char dir[256];
        gs_views *v = open_fresh(dir, sizeof(dir));
        gs_tv_file f;
        gs_tv_load(files[i], &f);
        assert_true(f.n > 0);
        assert_int_equal(gs_tv_apply(v, &f, 0, f.n, 1), GS_OK);
        assert_int_equal(gs_views_watermark(v), f.recs[f.n - 1].lsn);
        gs_views_status st;
        assert_int_equal(gs_views_status_read(v, &st, NULL), GS_OK);
        if (strcmp(files[i], "kord.ndjson") == 0) {
            /* MANIFEST: line 8 GUILD_MEMBER_ADD has no user, line 9
             * GUILD_MEMBER_REMOVE is a bare user without guild_id. */
            assert_int_equal(st.failed_records, 2);
            assert_int_equal(st.failures[0].lsn, 9);
            assert_string_equal(st.failures[0].event, "GUILD_MEMBER_REMOVE");
            assert_int_equal(st.failures[1].lsn, 8);
            assert_string_equal(st.failures[1].event, "GUILD_MEMBER_ADD");
        } else if (st.failed_records != 0) {
            fail_msg("%s: %llu failed, first lsn %llu: %s", files[i],
                     (unsigned long long)st.failed_records, (unsigned long long)st.failures[0].lsn,
                     st.failures[0].reason);
        }
        gs_tv_free(&f);
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
}

/* Frames whose event the views ignore, and unknown ones, leave the views
 * byte-identical (only the watermark moves). */
static void test_unknown_events_identical(void **state)
{
    (void)state;
    static const char *const ignored[] = {"GATEWAY_EVENT_NAME",
                                          "DOESNT_MATTER",
                                          "DOCUMENTED_API",
                                          "PRESENCES_REPLACE",
                                          "RESUMED",
                                          "CHANNEL_INFO",
                                          "RATE_LIMITED",
                                          "VOICE_SERVER_UPDATE",
                                          "MESSAGE_DELETE",
                                          "MESSAGE_DELETE_BULK",
                                          "GUILD_BAN_ADD",
                                          "GUILD_BAN_REMOVE",
                                          "MESSAGE_POLL_VOTE_ADD",
                                          "GUILD_INTEGRATIONS_UPDATE",
                                          "VOICE_CHANNEL_START_TIME_UPDATE"};
    char dir[256];
    gs_views *v = open_fresh(dir, sizeof(dir));
    gs_tv_file sc;
    gs_tv_load("scenario.ndjson", &sc);
    assert_int_equal(gs_tv_apply(v, &sc, 0, sc.n, 100), GS_OK);
    uint64_t lsn = gs_views_watermark(v);
    size_t seen = 0;
    for (size_t i = 0; i < GS_ARRAY_LEN(files); i++) {
        gs_tv_file f;
        gs_tv_load(files[i], &f);
        for (size_t r = 0; r < f.n; r++) {
            int skip = 1;
            for (size_t k = 0; k < GS_ARRAY_LEN(ignored) && skip; k++)
                skip = strcmp(f.events[r], ignored[k]) != 0;
            if (skip)
                continue;
            char *before = gs_tv_dump(v);
            gs_log_rec rec = f.recs[r];
            rec.lsn = ++lsn;
            assert_int_equal(gs_views_apply(v, &rec, 1, NULL), GS_OK);
            char *after = gs_tv_dump(v);
            if (strcmp(before, after) != 0)
                fail_msg("%s line %llu (%s) changed the views", files[i],
                         (unsigned long long)f.recs[r].lsn, f.events[r]);
            assert_int_equal(gs_views_watermark(v), lsn);
            free(before);
            free(after);
            seen++;
        }
        gs_tv_free(&f);
    }
    assert_true(seen >= 15);
    gs_tv_free(&sc);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

/* All fixture files as one log (LSNs renumbered 1..n). */
static void load_all(gs_tv_file *all, gs_tv_file *parts)
{
    size_t n = 0;
    for (size_t i = 0; i < GS_ARRAY_LEN(files); i++) {
        gs_tv_load(files[i], &parts[i]);
        n += parts[i].n;
    }
    memset(all, 0, sizeof(*all));
    all->recs = calloc(n, sizeof(*all->recs));
    for (size_t i = 0; i < GS_ARRAY_LEN(files); i++)
        for (size_t r = 0; r < parts[i].n; r++) {
            all->recs[all->n] = parts[i].recs[r];
            all->recs[all->n].lsn = all->n + 1;
            all->n++;
        }
}

static void test_rebuild_equals_incremental(void **state)
{
    (void)state;
    gs_tv_file all, parts[GS_ARRAY_LEN(files)];
    load_all(&all, parts);
    char dir[256];
    gs_views *v = open_fresh(dir, sizeof(dir));
    assert_int_equal(gs_tv_apply(v, &all, 0, all.n, 1), GS_OK);
    char *incremental = gs_tv_dump(v);
    gs_views_status st1;
    assert_int_equal(gs_views_status_read(v, &st1, NULL), GS_OK);

    /* Reopened in between, then wiped: empty, watermark 0. */
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_views_wipe(v, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), 0);
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
        assert_int_equal(gs_tv_count(v, (gs_view_type)t, NULL, NULL, NULL), 0);
    gs_views_status st0;
    assert_int_equal(gs_views_status_read(v, &st0, NULL), GS_OK);
    assert_int_equal(st0.failed_records, 0);
    assert_int_equal(st0.current_user_id, 0);

    /* Replayed in big batches: the same dump, the same status. */
    assert_int_equal(gs_tv_apply(v, &all, 0, all.n, 500), GS_OK);
    char *rebuilt = gs_tv_dump(v);
    assert_string_equal(rebuilt, incremental);
    gs_views_status st2;
    assert_int_equal(gs_views_status_read(v, &st2, NULL), GS_OK);
    assert_int_equal(st2.watermark, st1.watermark);
    assert_int_equal(st2.failed_records, st1.failed_records);
    assert_int_equal(st2.current_user_id, st1.current_user_id);
    free(rebuilt);

    /* And a fresh database fed in odd batches. */
    char dir2[256];
    gs_views *w = open_fresh(dir2, sizeof(dir2));
    assert_int_equal(gs_tv_apply(w, &all, 0, all.n, 13), GS_OK);
    char *fresh = gs_tv_dump(w);
    assert_string_equal(fresh, incremental);
    free(fresh);
    free(incremental);
    gs_views_close(w, NULL);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
    gs_tv_rmtree(dir2);
    free(all.recs);
    for (size_t i = 0; i < GS_ARRAY_LEN(files); i++)
        gs_tv_free(&parts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_file_applies),
        cmocka_unit_test(test_unknown_events_identical),
        cmocka_unit_test(test_rebuild_equals_incremental),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
