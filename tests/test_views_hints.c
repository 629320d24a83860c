/*
 * test_views_hints.c - the applier asks the CPU cache for the entity cache
 * entries a record will read before it applies it (apply.c, dispatch.c's
 * gs_vhint_keys). Nothing depends on the guess being right, so a wrong one
 * would only cost time, silently: here every hinted key must be a key the
 * event's handler writes (it is in the dump after the record, or was
 * before a delete), in the family the hint names, and each hinted event
 * names at least one. Unhinted events and bad payloads name none.
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

#define F(t, d) "{\"op\":0,\"t\":\"" t "\",\"d\":" d "}\n"

/* clang-format off */
static const char *const SETUP =
    F("READY", "{\"user\":{\"id\":\"5\",\"username\":\"bot\"},\"guilds\":[]}")
    F("GUILD_CREATE", "{\"id\":\"1\",\"name\":\"g\",\"roles\":[{\"id\":\"30\",\"name\":\"r\"}],"
      "\"channels\":[{\"id\":\"20\",\"name\":\"c\",\"type\":0}],"
      "\"members\":[{\"user\":{\"id\":\"9\",\"username\":\"nine\"},\"roles\":[]}]}");

/* Each: the frame, and whether its keys are checked before it (deletes). */
static const struct {
    const char *frame;
    int before;
} CASES[] = {
    {F("GUILD_MEMBER_ADD", "{\"guild_id\":\"1\",\"user\":{\"id\":\"7\",\"username\":\"u\"},\"roles\":[]}"), 0},
    {F("GUILD_MEMBER_UPDATE", "{\"guild_id\":\"1\",\"user\":{\"id\":\"7\",\"username\":\"u\"},\"roles\":[],\"nick\":\"n\"}"), 0},
    {F("MESSAGE_CREATE", "{\"id\":\"100\",\"channel_id\":\"20\",\"guild_id\":\"1\",\"author\":{\"id\":\"8\",\"username\":\"a\"},"
       "\"member\":{\"roles\":[]},\"content\":\"hi\"}"), 0},
    {F("TYPING_START", "{\"channel_id\":\"20\",\"guild_id\":\"1\",\"user_id\":\"8\",\"timestamp\":1,"
       "\"member\":{\"user\":{\"id\":\"8\",\"username\":\"a\"},\"roles\":[]}}"), 0},
    {F("VOICE_STATE_UPDATE", "{\"guild_id\":\"1\",\"channel_id\":\"20\",\"user_id\":\"8\",\"session_id\":\"s\","
       "\"member\":{\"user\":{\"id\":\"8\",\"username\":\"a\"},\"roles\":[]}}"), 0},
    {F("PRESENCE_UPDATE", "{\"guild_id\":\"1\",\"user\":{\"id\":\"8\",\"username\":\"a\"},\"status\":\"online\"}"), 0},
    {F("CHANNEL_CREATE", "{\"id\":\"21\",\"guild_id\":\"1\",\"name\":\"x\",\"type\":0}"), 0},
    {F("CHANNEL_UPDATE", "{\"id\":\"21\",\"guild_id\":\"1\",\"name\":\"y\",\"type\":0}"), 0},
    {F("THREAD_CREATE", "{\"id\":\"22\",\"guild_id\":\"1\",\"parent_id\":\"20\",\"name\":\"t\",\"type\":11}"), 0},
    {F("GUILD_ROLE_CREATE", "{\"guild_id\":\"1\",\"role\":{\"id\":\"31\",\"name\":\"s\"}}"), 0},
    {F("GUILD_UPDATE", "{\"id\":\"1\",\"name\":\"h\"}"), 0},
    {F("USER_UPDATE", "{\"id\":\"5\",\"username\":\"bot2\"}"), 0},
    {F("THREAD_DELETE", "{\"id\":\"22\",\"guild_id\":\"1\",\"parent_id\":\"20\",\"type\":11}"), 1},
    {F("GUILD_ROLE_DELETE", "{\"guild_id\":\"1\",\"role_id\":\"31\"}"), 1},
    {F("CHANNEL_DELETE", "{\"id\":\"21\",\"guild_id\":\"1\",\"type\":0}"), 1},
    {F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"1\",\"user\":{\"id\":\"7\"}}"), 1},
};
/* clang-format on */

/* The dump line prefix of a hinted key: family name, tab, key in hex. */
static void key_line(const gs_vhint_key *k, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s\t", gs_vcf_name(k->cf));
    for (size_t i = 0; i < k->klen && (size_t)n + 3 < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%02x", k->key[i]);
    snprintf(buf + n, cap - (size_t)n, "\t");
}

/* The hinted keys of one frame (its `t` and `d`). */
static size_t hints_of(gs_json *p, const char *frame, gs_vhint_key *keys, size_t max)
{
    gs_jval root, t, d;
    const char *ev;
    size_t evlen;
    assert_int_equal(gs_json_parse(p, frame, strlen(frame), strlen(frame), &root, NULL), GS_OK);
    assert_true(gs_json_getz(root, "t", &t) && gs_json_string(t, &ev, &evlen) == 0);
    assert_true(gs_json_getz(root, "d", &d));
    int hint = -1;
    assert_non_null(gs_vdispatch_hinted(ev, evlen, &hint));
    return gs_vhint_keys(hint, d, keys, max);
}

static void test_hinted_keys_are_written(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    gs_tv_file f;
    gs_tv_load_text(SETUP, &f);
    assert_int_equal(gs_tv_apply(v, &f, 0, f.n, f.n), GS_OK);
    uint64_t lsn = f.n;
    gs_tv_free(&f);
    gs_json *p;
    assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
    for (size_t c = 0; c < GS_ARRAY_LEN(CASES); c++) {
        gs_vhint_key keys[4];
        size_t n = hints_of(p, CASES[c].frame, keys, GS_ARRAY_LEN(keys));
        if (n == 0)
            fail_msg("case %zu names no key", c);
        char *before = gs_tv_dump(v);
        gs_tv_load_text(CASES[c].frame, &f);
        f.recs[0].lsn = ++lsn;
        assert_int_equal(gs_views_apply(v, f.recs, 1, NULL), GS_OK);
        gs_tv_free(&f);
        char *after = gs_tv_dump(v);
        for (size_t i = 0; i < n; i++) {
            char line[128];
            key_line(&keys[i], line, sizeof(line));
            const char *in = CASES[c].before ? before : after;
            if (strncmp(in, line, strlen(line)) != 0 && !strstr(in, line))
                fail_msg("case %zu: hinted key %s is not in the views", c, line);
        }
        free(before);
        free(after);
    }
    /* A bad payload, and an event without a hint, name nothing. */
    gs_vhint_key keys[4];
    gs_jval root, d;
    const char *bad = "{\"d\":{\"guild_id\":{},\"user\":7}}";
    assert_int_equal(gs_json_parse(p, bad, strlen(bad), strlen(bad), &root, NULL), GS_OK);
    assert_true(gs_json_getz(root, "d", &d));
    int hint = -1;
    assert_non_null(gs_vdispatch_hinted("GUILD_MEMBER_ADD", 16, &hint));
    assert_int_equal(gs_vhint_keys(hint, d, keys, 4), 0);
    assert_non_null(gs_vdispatch_hinted("GUILD_EMOJIS_UPDATE", 19, &hint));
    assert_int_equal(gs_vhint_keys(hint, d, keys, 4), 0);
    assert_null(gs_vdispatch_hinted("NOT_AN_EVENT", 12, &hint));
    gs_json_destroy(p);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    gs_tv_rmtree(dir);
}

/* A snapshot's member loop asks for each member's keys a few members ahead
 * (gs_vahead): for every element of a GUILD_MEMBERS_CHUNK and of a
 * GUILD_CREATE's members, the keys named are ones the put wrote. */
static void test_snapshot_ahead_keys_are_written(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    char *frames = malloc(8192);
    assert_non_null(frames);
    size_t o = 0;
    for (int which = 0; which < 2; which++) {
        o += (size_t)snprintf(
            frames + o, 8192 - o,
            which
                ? "{\"op\":0,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{\"guild_id\":\"1\",\"members\":["
                : "{\"op\":0,\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"1\",\"name\":\"g\",\"members\":"
                  "[");
        for (int i = 0; i < 13; i++)
            o += (size_t)snprintf(frames + o, 8192 - o,
                                  "%s{\"user\":{\"id\":\"%d\",\"username\":\"u%d\"},\"roles\":[]}",
                                  i ? "," : "", 100 * (which + 1) + i, i);
        o += (size_t)snprintf(frames + o, 8192 - o, "]}}\n");
    }
    gs_tv_file f;
    gs_tv_load_text(frames, &f);
    assert_int_equal(f.n, 2);
    assert_int_equal(gs_tv_apply(v, &f, 0, f.n, f.n), GS_OK);
    gs_tv_free(&f);
    char *dump = gs_tv_dump(v);
    gs_json *p;
    assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
    char *line = strtok(frames, "\n");
    size_t checked = 0;
    for (; line; line = strtok(NULL, "\n")) {
        gs_jval root, d, arr, e;
        assert_int_equal(gs_json_parse(p, line, strlen(line), strlen(line), &root, NULL), GS_OK);
        assert_true(gs_json_getz(root, "d", &d) && gs_json_getz(d, "members", &arr));
        gs_jiter it;
        gs_json_arr_begin(arr, &it);
        while (gs_json_arr_next(&it, &e) == 1) {
            gs_vhint_key k[2];
            assert_int_equal(gs_vahead_keys(1, e, k), 2);
            for (int i = 0; i < 2; i++) {
                char want[128];
                key_line(&k[i], want, sizeof(want));
                if (strncmp(dump, want, strlen(want)) != 0 && !strstr(dump, want))
                    fail_msg("prefetched key %s is not in the views", want);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 2 * 2 * 13);
    /* No user id: nothing named. */
    gs_jval root;
    const char *bad = "{\"user\":{\"name\":\"x\"}}";
    assert_int_equal(gs_json_parse(p, bad, strlen(bad), strlen(bad), &root, NULL), GS_OK);
    gs_vhint_key k[2];
    assert_int_equal(gs_vahead_keys(1, root, k), 0);
    gs_json_destroy(p);
    free(dump);
    free(frames);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    gs_tv_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hinted_keys_are_written),
        cmocka_unit_test(test_snapshot_ahead_keys_are_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
