/*
 * test_views_fastpaths.c - the applier's in-memory shortcuts give the state
 * RocksDB scans gave: guild-scoped id sets (CHANNEL_DELETE's threads,
 * THREAD_LIST_SYNC, set replacements), the user map (a member removal
 * deletes the user iff no membership is left), known-absent keys of a
 * complete cache, cached locators. The same frames are applied in one
 * call, one record per call, with reopens between calls (the shortcuts
 * start over from RocksDB), without the entity cache (no shortcut at all),
 * and cut into stages of 1 to 5 records that the committer thread writes
 * while the applier goes on reading through the stage in flight (apply.c;
 * the shortcuts lag that stage): every dump must be the same.
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

#define F(t, d) "{\"op\":0,\"t\":\"" t "\",\"d\":" d "}\n"

/* clang-format off */
static const char *const FRAMES =
    F("READY", "{\"user\":{\"id\":\"1\",\"username\":\"bot\"},\"guilds\":[]}")
    F("GUILD_CREATE", "{\"id\":\"100\",\"name\":\"G\","
      "\"channels\":[{\"id\":\"101\",\"name\":\"general\",\"type\":0},{\"id\":\"102\",\"name\":\"b\",\"type\":0}],"
      "\"threads\":[{\"id\":\"103\",\"parent_id\":\"101\",\"type\":11},{\"id\":\"104\",\"parent_id\":\"102\",\"type\":11}],"
      "\"emojis\":[{\"id\":\"105\",\"name\":\"e\"},{\"id\":\"106\",\"name\":\"f\"}],"
      "\"stickers\":[{\"id\":\"107\",\"name\":\"s\"}],"
      "\"members\":[{\"user\":{\"id\":\"7\",\"username\":\"u7\"},\"roles\":[]},"
      "{\"user\":{\"id\":\"8\",\"username\":\"u8\"},\"roles\":[]},"
      "{\"user\":{\"id\":\"1\",\"username\":\"bot\"},\"roles\":[]}]}")
    F("GUILD_CREATE", "{\"id\":\"200\",\"name\":\"H\",\"channels\":[{\"id\":\"201\",\"name\":\"general\",\"type\":0}],"
      "\"members\":[{\"user\":{\"id\":\"7\",\"username\":\"u7\"},\"roles\":[]}]}")
    /* One id in two guilds: the locator follows the last write, and a
     * delete in the guild it no longer points at leaves it (cached or not). */
    F("CHANNEL_CREATE", "{\"id\":\"201\",\"guild_id\":\"100\",\"name\":\"twin\",\"type\":0}")
    F("CHANNEL_DELETE", "{\"id\":\"201\",\"guild_id\":\"200\",\"type\":0}")
    F("CHANNEL_UPDATE", "{\"id\":\"201\",\"guild_id\":\"100\",\"name\":\"twin2\",\"type\":0}")
    F("THREAD_CREATE", "{\"id\":\"108\",\"guild_id\":\"100\",\"parent_id\":\"101\",\"type\":11,"
      "\"thread_metadata\":{\"archived\":true}}")
    F("THREAD_CREATE", "{\"id\":\"109\",\"guild_id\":\"100\",\"parent_id\":\"101\",\"type\":11}")
    F("CHANNEL_DELETE", "{\"id\":\"101\",\"guild_id\":\"100\",\"type\":0}")
    F("GUILD_EMOJIS_UPDATE", "{\"guild_id\":\"100\",\"emojis\":[{\"id\":\"106\",\"name\":\"f2\"},{\"id\":\"110\",\"name\":\"g\"}]}")
    F("GUILD_STICKERS_UPDATE", "{\"guild_id\":\"100\",\"stickers\":[]}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"100\",\"user\":{\"id\":\"7\"}}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"100\",\"user\":{\"id\":\"8\"}}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"100\",\"user\":{\"id\":\"9\",\"username\":\"u9\"},\"roles\":[]}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"100\",\"user\":{\"id\":\"9\"}}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"100\",\"user\":{\"username\":\"no id\"}}")
    F("SOME_FUTURE_EVENT", "{\"guild_id\":\"100\"}")
    F("CHANNEL_CREATE", "{\"guild_id\":\"100\",\"name\":\"no id\"}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"100\",\"user\":{\"id\":\"10\",\"username\":\"u10\"},\"roles\":[]}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"200\",\"user\":{\"id\":\"10\",\"username\":\"u10\"},\"roles\":[]}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"100\",\"user\":{\"id\":\"10\"}}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"100\",\"user\":{\"id\":\"1\"}}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"300\",\"user\":{\"id\":\"11\"}}")
    F("THREAD_CREATE", "{\"id\":\"111\",\"guild_id\":\"100\",\"parent_id\":\"102\",\"type\":11}")
    F("THREAD_LIST_SYNC", "{\"guild_id\":\"100\",\"channel_ids\":[\"102\"],\"threads\":[{\"id\":\"112\",\"parent_id\":\"102\",\"type\":11}]}")
    F("CHANNEL_CREATE", "{\"id\":\"113\",\"guild_id\":\"100\",\"name\":\"new\",\"type\":0}")
    F("CHANNEL_DELETE", "{\"id\":\"113\",\"guild_id\":\"100\",\"type\":0}")
    F("CHANNEL_DELETE", "{\"id\":\"113\",\"guild_id\":\"100\",\"type\":0}")
    F("GUILD_DELETE", "{\"id\":\"200\"}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"200\",\"user\":{\"id\":\"7\",\"username\":\"u7\"},\"roles\":[]}")
    F("GUILD_EMOJIS_UPDATE", "{\"guild_id\":\"200\",\"emojis\":[{\"id\":\"202\",\"name\":\"x\"}]}")
    F("GUILD_CREATE", "{\"id\":\"100\",\"name\":\"G\",\"channels\":[{\"id\":\"102\",\"name\":\"b\",\"type\":0}],"
      "\"emojis\":[],\"members\":[{\"user\":{\"id\":\"8\",\"username\":\"u8\"},\"roles\":[]}]}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"200\",\"user\":{\"id\":\"7\"}}");
/* clang-format on */

/* stage: records per pipelined stage (0: apply.c's default, so one stage
 * for these frames); SERIAL: no committer thread. */
#define SERIAL ((size_t)-1)

static gs_views *open_staged(const char *dir, int no_cache, size_t stage)
{
    gs_views_tuning tu;
    memset(&tu, 0, sizeof(tu));
    tu.no_entity_cache = no_cache;
    tu.serial_commit = stage == SERIAL;
    tu.stage_records = stage == SERIAL ? 0 : stage;
    gs_views *v;
    assert_int_equal(gs_views_open_tuned(dir, NULL, &tu, &v, NULL), GS_OK);
    return v;
}

static char *run_staged(const char *dir, size_t batch, int reopen_every, int no_cache, size_t stage,
                        gs_views **keep)
{
    gs_views *v = open_staged(dir, no_cache, stage);
    gs_tv_file f;
    gs_tv_load_text(FRAMES, &f);
    size_t step = batch ? batch : f.n;
    for (size_t i = 0; i < f.n; i += step) {
        size_t to = i + step < f.n ? i + step : f.n;
        assert_int_equal(gs_tv_apply(v, &f, i, to, step), GS_OK);
        if (reopen_every && (i / step) % (size_t)reopen_every == 0) {
            assert_int_equal(gs_views_close(v, NULL), GS_OK);
            v = open_staged(dir, no_cache, stage);
        }
    }
    gs_tv_free(&f);
    char *d = gs_tv_dump(v);
    if (keep)
        *keep = v;
    else
        gs_views_close(v, NULL);
    return d;
}

static char *run(const char *dir, size_t batch, int reopen_every, int no_cache, gs_views **keep)
{
    return run_staged(dir, batch, reopen_every, no_cache, SERIAL, keep);
}

static void test_same_dump_every_way(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    char *ref = run(dir, 0, 0, 0, &v);
    /* What the frames mean, read back. */
    gs_json *p;
    assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
    gs_jval root;
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_THREAD, "103", "100", &root), 0); /* parent 101 */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_THREAD, "108", "100", &root), 0); /* archived too */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_THREAD, "111", "100", &root), 0); /* list sync */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_THREAD, "112", "100", &root), 1);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_THREAD, "104", "100", &root), 0); /* list sync */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_EMOJI, "105", "100", &root), 0);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_EMOJI, "110", "100", &root), 0); /* snapshot [] */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_EMOJI, "202", "200", &root), 1);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_STICKER, "107", "100", &root), 0);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_CHANNEL, "113", "100", &root), 0);
    /* Users: 7 had 200 left, then 200 went and came back, then went: gone;
     * 8 gone then back; 9 gone; 10 kept by 200 until GUILD_DELETE; the bot
     * (current user) stays. */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "7", NULL, &root), 0);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "8", NULL, &root), 1);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "9", NULL, &root), 0);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "10", NULL, &root), 0);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "1", NULL, &root), 1);
    gs_json_destroy(p);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
    const struct {
        size_t batch;
        int reopen, no_cache;
        size_t stage;
    } ways[] = {{1, 0, 0, SERIAL}, {2, 3, 0, SERIAL}, {1, 0, 1, SERIAL}, {4, 1, 1, SERIAL},
                {0, 0, 0, 0},      {0, 0, 0, 1},      {0, 0, 0, 2},      {0, 0, 0, 3},
                {0, 0, 0, 5},      {0, 0, 1, 1},      {0, 0, 1, 2},      {9, 1, 0, 1},
                {7, 1, 0, 2},      {13, 1, 1, 3}};
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
        gs_tv_tmpdir(dir, sizeof(dir));
        char *d =
            run_staged(dir, ways[i].batch, ways[i].reopen, ways[i].no_cache, ways[i].stage, NULL);
        if (strcmp(d, ref) != 0)
            fail_msg("way %zu (batch %zu, reopen %d, no cache %d, stage %zu) differs", i,
                     ways[i].batch, ways[i].reopen, ways[i].no_cache, ways[i].stage);
        free(d);
        gs_tv_rmtree(dir);
    }
    free(ref);
}

/* A located id (channel 201) held by two guilds, read by id alone after
 * each step: the locator follows the last guild that created it, a delete
 * in the other guild leaves it, a delete where it points drops it. Cached
 * or not, in one call or one record per call, and with a stage of one
 * record in flight (the cache lags it). */
static void test_locator_of_twin_ids(void **state)
{
    (void)state;
    /* clang-format off */
    static const char *const frames =
        F("GUILD_CREATE", "{\"id\":\"100\",\"channels\":[]}")
        F("GUILD_CREATE", "{\"id\":\"200\",\"channels\":[{\"id\":\"201\",\"name\":\"a\",\"type\":0}]}")
        F("CHANNEL_CREATE", "{\"id\":\"201\",\"guild_id\":\"100\",\"name\":\"b\",\"type\":0}")
        F("CHANNEL_DELETE", "{\"id\":\"201\",\"guild_id\":\"200\",\"type\":0}")
        F("CHANNEL_UPDATE", "{\"id\":\"201\",\"guild_id\":\"100\",\"name\":\"c\",\"type\":0}")
        F("CHANNEL_DELETE", "{\"id\":\"201\",\"guild_id\":\"100\",\"type\":0}")
        F("CHANNEL_CREATE", "{\"id\":\"201\",\"guild_id\":\"200\",\"name\":\"d\",\"type\":0}");
    /* clang-format on */
    /* The name channel 201 has when read by id after each frame ("" none). */
    static const char *const want[] = {"", "a", "b", "b", "c", "", "d"};
    const struct {
        int no_cache;
        size_t stage;
    } ways[] = {{0, SERIAL}, {1, SERIAL}, {0, 1}};
    for (size_t w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
        char dir[256];
        gs_tv_tmpdir(dir, sizeof(dir));
        gs_views *v = open_staged(dir, ways[w].no_cache, ways[w].stage);
        gs_json *p;
        assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
        gs_tv_file f;
        gs_tv_load_text(frames, &f);
        assert_int_equal(f.n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < f.n; i++) {
            assert_int_equal(gs_tv_apply(v, &f, i, i + 1, 1), GS_OK);
            gs_jval root;
            char buf[16];
            int found = gs_tv_get(v, p, GS_VIEW_CHANNEL, "201", NULL, &root);
            const char *name = found ? gs_tv_str(root, "name", buf, sizeof(buf)) : "";
            if (strcmp(name, want[i]) != 0)
                fail_msg("way %zu, after frame %zu: channel 201 is '%s', not '%s'", w, i, name,
                         want[i]);
        }
        gs_tv_free(&f);
        gs_json_destroy(p);
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
}

/* Reopened views (the cache is not complete: shortcuts read RocksDB once)
 * and a wipe (complete again) keep giving the same answers. */
static void test_after_reopen_and_wipe(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    char *ref = run(dir, 0, 0, 0, NULL);
    gs_tv_rmtree(dir);
    gs_tv_tmpdir(dir, sizeof(dir));
    char *once = run(dir, 0, 0, 0, &v);
    assert_string_equal(once, ref);
    free(once);
    assert_int_equal(gs_views_wipe(v, NULL), GS_OK);
    gs_tv_file f;
    gs_tv_load_text(FRAMES, &f);
    assert_int_equal(gs_tv_apply(v, &f, 0, f.n, 5), GS_OK);
    gs_tv_free(&f);
    char *d = gs_tv_dump(v);
    assert_string_equal(d, ref);
    free(d);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
    free(ref);
}

/* Found by fuzz_views (2026-11-24): the user map marks "several guilds"
 * with 2^64-1, and a removal from a guild with that id (a payload may carry
 * it) turned "several" into "none", so the next removal deleted a user who
 * was still a member elsewhere. One record per call (the map is used
 * between calls) must give what one call gives, and user 7 stays. */
static void test_user_map_guild_id_max(void **state)
{
    (void)state;
    static const char *const frames =
        F("GUILD_CREATE", "{\"id\":\"100\",\"members\":[{\"user\":{\"id\":\"7\"}}]}")
            F("GUILD_CREATE", "{\"id\":\"200\",\"members\":[{\"user\":{\"id\":\"7\"}}]}")
                F("GUILD_MEMBER_REMOVE",
                  "{\"guild_id\":\"18446744073709551615\",\"user\":{\"id\":\"7\"}}")
                    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"200\",\"user\":{\"id\":\"7\"}}");
    char *dumps[2];
    for (int way = 0; way < 2; way++) {
        char dir[256];
        gs_tv_tmpdir(dir, sizeof(dir));
        gs_views *v;
        assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
        gs_tv_file f;
        gs_tv_load_text(frames, &f);
        size_t step = way ? 1 : f.n;
        for (size_t i = 0; i < f.n; i += step)
            assert_int_equal(gs_tv_apply(v, &f, i, i + step, step), GS_OK);
        gs_tv_free(&f);
        gs_json *p;
        assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
        gs_jval root;
        assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "7", NULL, &root), 1);
        assert_int_equal(gs_tv_get(v, p, GS_VIEW_MEMBER, "7", "100", &root), 1);
        gs_json_destroy(p);
        dumps[way] = gs_tv_dump(v);
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
    assert_string_equal(dumps[0], dumps[1]);
    free(dumps[0]);
    free(dumps[1]);
}

/* The synthetic stream (support_views.c: creates, deletes, role deletes,
 * member updates and removals over a few guilds), 3000 frames in one call
 * or a few, staged several ways, with and without the entity cache, and
 * with a reopen half way: the dump of one serial call every time. */
static char *stream_run(size_t batch, int no_cache, size_t stage, int reopen_mid)
{
    enum { N = 3000 };
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v = open_staged(dir, no_cache, stage);
    if (reopen_mid) {
        assert_int_equal(gs_tv_apply_stream(v, 1, N / 2, batch), GS_OK);
        assert_int_equal(gs_views_close(v, NULL), GS_OK);
        v = open_staged(dir, no_cache, stage);
        assert_int_equal(gs_tv_apply_stream(v, N / 2 + 1, N, batch), GS_OK);
    } else {
        assert_int_equal(gs_tv_apply_stream(v, 1, N, batch), GS_OK);
    }
    assert_int_equal(gs_views_watermark(v), N);
    char *d = gs_tv_dump(v);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
    return d;
}

static void test_stages_agree_on_stream(void **state)
{
    (void)state;
    char *ref = stream_run(3000, 0, SERIAL, 0);
    const struct {
        size_t batch;
        int no_cache;
        size_t stage;
        int reopen;
    } ways[] = {{3000, 0, 0, 0},  {3000, 0, 1, 0}, {3000, 0, 7, 0}, {3000, 1, 3, 0},
                {1000, 0, 64, 1}, {500, 0, 2, 1},  {3000, 1, 1, 1}};
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
        char *d = stream_run(ways[i].batch, ways[i].no_cache, ways[i].stage, ways[i].reopen);
        if (strcmp(d, ref) != 0)
            fail_msg("way %zu (batch %zu, no cache %d, stage %zu, reopen %d) differs", i,
                     ways[i].batch, ways[i].no_cache, ways[i].stage, ways[i].reopen);
        free(d);
    }
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_dump_every_way),    cmocka_unit_test(test_locator_of_twin_ids),
        cmocka_unit_test(test_after_reopen_and_wipe),  cmocka_unit_test(test_user_map_guild_id_max),
        cmocka_unit_test(test_stages_agree_on_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
