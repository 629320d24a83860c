/*
 * test_views_scenario.c - the fixture scenario (scenario.ndjson) against
 * scenario.expected.json: every fact of the final state and of every
 * checkpoint, checked through the views' query API, fed incrementally
 * (one record per apply) and fresh (everything up to the checkpoint in
 * one apply call, so reads must see earlier writes of the same batch).
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

static gs_json *P;       /* parses expected.json (kept for the whole run) */
static gs_json *Q;       /* parses query results */
static gs_jval EXPECTED; /* root of scenario.expected.json */
static char *expected_text;
static gs_tv_file SCEN;

static int setup(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/scenario.expected.json", GS_FIXTURES);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    expected_text = malloc((size_t)size + 1);
    assert_int_equal(fread(expected_text, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    assert_int_equal(gs_json_create(1u << 24, 64, &P, NULL), GS_OK);
    assert_int_equal(gs_json_create(1u << 24, 256, &Q, NULL), GS_OK);
    assert_int_equal(gs_json_parse(P, expected_text, (size_t)size, (size_t)size, &EXPECTED, NULL),
                     GS_OK);
    gs_tv_load("scenario.ndjson", &SCEN);
    assert_int_equal(SCEN.n, 25); /* 29 lines, 4 of them not dispatches */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gs_tv_free(&SCEN);
    gs_json_destroy(P);
    gs_json_destroy(Q);
    free(expected_text);
    return 0;
}

static char *jstr(gs_jval v)
{
    static char buf[8][256];
    static int k;
    char *b = buf[k++ % 8];
    const char *s;
    size_t len;
    if (gs_json_type(v) == GS_JNULL)
        return strcpy(b, "null");
    assert_int_equal(gs_json_string(v, &s, &len), 0);
    snprintf(b, 256, "%.*s", (int)len, s);
    return b;
}

static gs_jval member_of(gs_jval obj, const char *key)
{
    gs_jval v;
    if (!gs_json_getz(obj, key, &v))
        fail_msg("expected.json: no %s", key);
    return v;
}

/* Compare a field of a result with the expected JSON value (string, int,
 * bool or null; null also matches an absent field). */
static void check_field(gs_jval got, const char *key, gs_jval want, const char *what)
{
    char buf[256];
    gs_jval g;
    int have = gs_json_getz(got, key, &g);
    switch (gs_json_type(want)) {
    case GS_JNULL:
        if (have && gs_json_type(g) != GS_JNULL)
            fail_msg("%s: %s should be null", what, key);
        break;
    case GS_JSTRING:
        if (strcmp(gs_tv_str(got, key, buf, sizeof(buf)), jstr(want)) != 0)
            fail_msg("%s: %s is '%s', expected '%s'", what, key, buf, jstr(want));
        break;
    case GS_JINT: {
        int64_t w, x;
        gs_json_int64(want, &w);
        if (!have || gs_json_int64(g, &x) != 0 || x != w)
            fail_msg("%s: %s is not %lld", what, key, (long long)w);
        break;
    }
    case GS_JBOOL: {
        int w, x = 0;
        gs_json_bool(want, &w);
        if (have)
            gs_json_bool(g, &x);
        if (x != w)
            fail_msg("%s: %s is not %s", what, key, w ? "true" : "false");
        break;
    }
    default:
        fail_msg("%s: unexpected expected type for %s", what, key);
    }
}

static void check_roles(gs_jval got, gs_jval want, const char *what)
{
    gs_jval roles;
    if (!gs_json_getz(got, "roles", &roles) || gs_json_type(roles) != GS_JARRAY)
        fail_msg("%s: no roles array", what);
    if (gs_json_len(roles) != gs_json_len(want))
        fail_msg("%s: %zu roles, expected %zu", what, gs_json_len(roles), gs_json_len(want));
    gs_jiter wi, gi;
    gs_jval w, g;
    gs_json_arr_begin(want, &wi);
    while (gs_json_arr_next(&wi, &w) == 1) {
        int found = 0;
        gs_json_arr_begin(roles, &gi);
        while (gs_json_arr_next(&gi, &g) == 1)
            found |= strcmp(jstr(g), jstr(w)) == 0;
        if (!found)
            fail_msg("%s: role %s missing", what, jstr(w));
    }
}

/* Each member of want (an object id -> fields) holds; with exact, the guild
 * holds no other entity of that type. */
static void check_entities(gs_views *v, gs_view_type t, const char *guild, gs_jval want, int exact)
{
    gs_jiter it;
    const char *k;
    size_t kl;
    gs_jval spec;
    gs_json_obj_begin(want, &it);
    while (gs_json_obj_next(&it, &k, &kl, &spec) == 1) {
        char id[32], what[96];
        snprintf(id, sizeof(id), "%.*s", (int)kl, k);
        snprintf(what, sizeof(what), "%s %s in guild %s", gs_view_type_name(t), id, guild);
        gs_jval got;
        if (!gs_tv_get(v, Q, t, id, guild, &got))
            fail_msg("%s: absent", what);
        gs_jiter fi;
        const char *fk;
        size_t fkl;
        gs_jval fv;
        gs_json_obj_begin(spec, &fi);
        while (gs_json_obj_next(&fi, &fk, &fkl, &fv) == 1) {
            char key[64];
            snprintf(key, sizeof(key), "%.*s", (int)fkl, fk);
            if (strcmp(key, "roles") == 0)
                check_roles(got, fv, what);
            else
                check_field(got, key, fv, what);
        }
        /* Ids come back as strings, the guild's own included. */
        if (t != GS_VIEW_MEMBER) {
            char buf[64];
            assert_string_equal(gs_tv_str(got, "id", buf, sizeof(buf)), id);
        }
    }
    if (exact) {
        uint64_t n = gs_tv_count(v, t, guild, NULL, NULL);
        if (n != gs_json_len(want))
            fail_msg("%s in guild %s: %llu held, expected %zu", gs_view_type_name(t), guild,
                     (unsigned long long)n, gs_json_len(want));
    }
}

static void check_guilds(gs_views *v, gs_jval guilds)
{
    gs_jiter it;
    const char *k;
    size_t kl;
    gs_jval spec;
    gs_json_obj_begin(guilds, &it);
    while (gs_json_obj_next(&it, &k, &kl, &spec) == 1) {
        char g[32], what[64];
        snprintf(g, sizeof(g), "%.*s", (int)kl, k);
        snprintf(what, sizeof(what), "guild %s", g);
        gs_jval got, x;
        if (!gs_tv_get(v, Q, GS_VIEW_GUILD, g, NULL, &got))
            fail_msg("%s: absent", what);
        if (gs_json_getz(spec, "name", &x))
            check_field(got, "name", x, what);
        if (gs_json_getz(spec, "unavailable", &x))
            check_field(got, "unavailable", x, what);
        if (gs_json_getz(spec, "channels", &x))
            check_entities(v, GS_VIEW_CHANNEL, g, x, 1);
        if (gs_json_getz(spec, "threads", &x))
            check_entities(v, GS_VIEW_THREAD, g, x, 1);
        if (gs_json_getz(spec, "roles", &x))
            check_entities(v, GS_VIEW_ROLE, g, x, 1);
        if (gs_json_getz(spec, "members", &x))
            check_entities(v, GS_VIEW_MEMBER, g, x, 1);
    }
}

static void check_absent(gs_views *v, gs_view_type t, gs_jval ids)
{
    gs_jiter it;
    gs_jval e;
    gs_json_arr_begin(ids, &it);
    while (gs_json_arr_next(&it, &e) == 1) {
        gs_jval got;
        if (gs_tv_get(v, Q, t, jstr(e), NULL, &got))
            fail_msg("%s %s should not exist", gs_view_type_name(t), jstr(e));
    }
}

static void check_absent_members(gs_views *v, gs_jval arr)
{
    gs_jiter it;
    gs_jval e, got;
    gs_json_arr_begin(arr, &it);
    while (gs_json_arr_next(&it, &e) == 1) {
        const char *g = jstr(member_of(e, "guild_id"));
        const char *u = jstr(member_of(e, "user_id"));
        if (gs_tv_get(v, Q, GS_VIEW_MEMBER, u, g, &got))
            fail_msg("member %s of guild %s should not exist", u, g);
    }
}

/* One entity given with its guild_id and id (user_id for members). */
static void check_one(gs_views *v, gs_view_type t, gs_jval spec)
{
    const char *g = jstr(member_of(spec, "guild_id"));
    const char *id = jstr(member_of(spec, t == GS_VIEW_MEMBER ? "user_id" : "id"));
    char objtext[512];
    /* Rebuild {"<id>": spec} as a one-entry check. */
    gs_jval got;
    char what[96];
    snprintf(what, sizeof(what), "%s %s", gs_view_type_name(t), id);
    if (!gs_tv_get(v, Q, t, id, g, &got))
        fail_msg("%s: absent", what);
    gs_jiter fi;
    const char *fk;
    size_t fkl;
    gs_jval fv;
    gs_json_obj_begin(spec, &fi);
    while (gs_json_obj_next(&fi, &fk, &fkl, &fv) == 1) {
        snprintf(objtext, sizeof(objtext), "%.*s", (int)fkl, fk);
        if (strcmp(objtext, "roles") == 0)
            check_roles(got, fv, what);
        else if (strcmp(objtext, "user_id") != 0)
            check_field(got, objtext, fv, what);
    }
}

static void check_final(gs_views *v)
{
    check_guilds(v, member_of(EXPECTED, "guilds"));
    gs_jval mne = member_of(EXPECTED, "must_not_exist");
    check_absent(v, GS_VIEW_GUILD, member_of(mne, "guild_ids"));
    check_absent(v, GS_VIEW_CHANNEL, member_of(mne, "channel_ids"));
    check_absent(v, GS_VIEW_THREAD, member_of(mne, "thread_ids"));
    check_absent(v, GS_VIEW_ROLE, member_of(mne, "role_ids"));
    check_absent_members(v, member_of(mne, "members"));
    /* Only guild A is left, and the current user. */
    assert_int_equal(gs_tv_count(v, GS_VIEW_GUILD, NULL, NULL, NULL), 1);
    gs_views_status st;
    assert_int_equal(gs_views_status_read(v, &st, NULL), GS_OK);
    assert_int_equal(st.current_user_id, gs_tv_id(jstr(member_of(EXPECTED, "current_user_id"))));
    /* Nothing in the scenario is a bad payload. */
    assert_int_equal(st.failed_records, 0);
}

static void check_checkpoint(gs_views *v, gs_jval cp)
{
    gs_jval a = member_of(cp, "assert"), x;
    if (gs_json_type(a) == GS_JSTRING) {
        check_final(v);
        return;
    }
    if (gs_json_getz(a, "guilds", &x))
        check_guilds(v, x);
    if (gs_json_getz(a, "channel", &x))
        check_one(v, GS_VIEW_CHANNEL, x);
    if (gs_json_getz(a, "thread", &x))
        check_one(v, GS_VIEW_THREAD, x);
    if (gs_json_getz(a, "role", &x))
        check_one(v, GS_VIEW_ROLE, x);
    if (gs_json_getz(a, "member", &x))
        check_one(v, GS_VIEW_MEMBER, x);
    if (gs_json_getz(a, "absent_channel_ids", &x))
        check_absent(v, GS_VIEW_CHANNEL, x);
    if (gs_json_getz(a, "absent_thread_ids", &x))
        check_absent(v, GS_VIEW_THREAD, x);
    if (gs_json_getz(a, "absent_role_ids", &x))
        check_absent(v, GS_VIEW_ROLE, x);
    if (gs_json_getz(a, "absent_members", &x))
        check_absent_members(v, x);
}

static int64_t after_s(gs_jval cp)
{
    int64_t s;
    assert_int_equal(gs_json_int64(member_of(cp, "after_s"), &s), 0);
    return s;
}

/* Incremental: one record per apply, checking each checkpoint on the way. */
static void test_incremental(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    gs_jval cps = member_of(EXPECTED, "checkpoints");
    gs_jiter it;
    gs_jval cp;
    size_t done = 0, checked = 0;
    gs_json_arr_begin(cps, &it);
    while (gs_json_arr_next(&it, &cp) == 1) {
        size_t end = gs_tv_upto_seq(&SCEN, after_s(cp));
        assert_int_equal(gs_tv_apply(v, &SCEN, done, end, 1), GS_OK);
        done = end;
        check_checkpoint(v, cp);
        checked++;
    }
    assert_int_equal(checked, 14);
    assert_int_equal(gs_tv_apply(v, &SCEN, done, SCEN.n, 1), GS_OK);
    check_final(v);
    assert_int_equal(gs_views_watermark(v), 29);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    /* Reopened: the same state. */
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_null(gs_views_wiped_reason(v));
    assert_int_equal(gs_views_watermark(v), 29);
    check_final(v);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

/* Fresh views per checkpoint, everything up to it in one apply call. */
static void test_each_checkpoint_fresh(void **state)
{
    (void)state;
    gs_jval cps = member_of(EXPECTED, "checkpoints");
    gs_jiter it;
    gs_jval cp;
    gs_json_arr_begin(cps, &it);
    while (gs_json_arr_next(&it, &cp) == 1) {
        char dir[256];
        gs_tv_tmpdir(dir, sizeof(dir));
        gs_views *v;
        assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
        size_t end = gs_tv_upto_seq(&SCEN, after_s(cp));
        assert_int_equal(gs_tv_apply(v, &SCEN, 0, end, 1000), GS_OK);
        check_checkpoint(v, cp);
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
}

/* Odd batch sizes give the same views as one record per batch. */
static void test_batch_sizes_same_dump(void **state)
{
    (void)state;
    char *ref = NULL;
    const size_t sizes[] = {1, 2, 3, 7, 1000};
    for (size_t i = 0; i < GS_ARRAY_LEN(sizes); i++) {
        char dir[256];
        gs_tv_tmpdir(dir, sizeof(dir));
        gs_views *v;
        assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
        assert_int_equal(gs_tv_apply(v, &SCEN, 0, SCEN.n, sizes[i]), GS_OK);
        char *d = gs_tv_dump(v);
        if (!ref)
            ref = d;
        else {
            assert_string_equal(d, ref);
            free(d);
        }
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_each_checkpoint_fresh),
        cmocka_unit_test(test_batch_sizes_same_dump),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
