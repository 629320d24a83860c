/*
 * test_views_roledel.c - GUILD_ROLE_DELETE by tombstones (views/tomb.c):
 * no read of a member of the guild shows the deleted role (get as JSON and
 * msgpack, list, where, count, the user's memberships, dump, read-only
 * views), a later write that gives the role back shows it, and the state
 * is the same however the records are batched, with or without the entity
 * cache, across reopen, rules and GUILD_DELETE.
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

/* Guild 100 with roles 104 and 120; members 7 (104, 120), 8 (120), 9 ();
 * user 7 also in guild 200 with 120 (another guild: never touched). */
static const char *const SETUP = F("READY", "{\"user\":{\"id\":\"1\",\"username\":\"bot\"},"
                                            "\"guilds\":[]}")
    F("GUILD_CREATE",
      "{\"id\":\"100\",\"name\":\"G\",\"roles\":[{\"id\":\"104\",\"name\":\"mods\"},"
      "{\"id\":\"120\",\"name\":\"r\"}],\"members\":["
      "{\"user\":{\"id\":\"7\",\"username\":\"u7\"},\"roles\":[\"104\",\"120\"],\"nick\":\"seven\"}"
      ","
      "{\"user\":{\"id\":\"8\",\"username\":\"u8\"},\"roles\":[\"120\"]},"
      "{\"user\":{\"id\":\"9\",\"username\":\"u9\"},\"roles\":[]}]}")
        F("GUILD_CREATE", "{\"id\":\"200\",\"name\":\"H\",\"members\":[{\"user\":{\"id\":\"7\"},"
                          "\"roles\":[\"120\"]}]}");

static const char *const DEL120 =
    F("GUILD_ROLE_DELETE", "{\"guild_id\":\"100\",\"role_id\":\"120\"}");

typedef struct ctx {
    char dir[320];
    gs_views *v;
    gs_json *p;
    uint64_t lsn;
} ctx;

static void open_views(ctx *c, const gs_views_rules *rules, int no_cache)
{
    gs_views_tuning tu;
    memset(&tu, 0, sizeof(tu));
    tu.no_entity_cache = no_cache;
    gs_err err;
    if (gs_views_open_tuned(c->dir, rules, no_cache ? &tu : NULL, &c->v, &err) != GS_OK)
        fail_msg("open: %s", err.msg);
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof(*c));
    gs_tv_tmpdir(c->dir, sizeof(c->dir));
    open_views(c, NULL, 0);
    assert_int_equal(gs_json_create(1u << 24, 256, &c->p, NULL), GS_OK);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    if (c->v)
        gs_views_close(c->v, NULL);
    gs_json_destroy(c->p);
    gs_tv_rmtree(c->dir);
    free(c);
    return 0;
}

/* Apply frames in batches of batch records (0: one call). */
static int feed_b(ctx *c, const char *text, size_t batch)
{
    gs_tv_file f;
    gs_tv_load_text(text, &f);
    for (size_t i = 0; i < f.n; i++)
        f.recs[i].lsn = ++c->lsn;
    int rc = gs_tv_apply(c->v, &f, 0, f.n, batch ? batch : (f.n ? f.n : 1));
    gs_tv_free(&f);
    return rc;
}

static int feed(ctx *c, const char *text)
{
    return feed_b(c, text, 0);
}

/* The msgpack get of a member holds the string "120" (a3 '1' '2' '0'). */
static int msgpack_has_120(ctx *c, uint64_t user, uint64_t guild)
{
    char *out;
    size_t len;
    gs_err err;
    assert_int_equal(
        gs_views_get(c->v, GS_VIEW_MEMBER, user, guild, GS_VFMT_MSGPACK, &out, &len, &err), GS_OK);
    int has = memmem(out, len,
                     "\xa3"
                     "120",
                     4) != NULL;
    free(out);
    return has;
}

/* Every member listed by spec, as JSON text joined by newlines. */
static char *list_text(gs_views *v, const gs_vq_spec *s)
{
    gs_vq *q;
    gs_err err;
    if (gs_vq_open(v, s, &q, &err) != GS_OK)
        fail_msg("query: %s", err.msg);
    size_t cap = 1 << 16, n = 0;
    char *all = malloc(cap);
    assert_non_null(all);
    all[0] = '\0';
    const char *out;
    size_t len;
    int rc;
    while ((rc = gs_vq_next(q, GS_VFMT_JSON, &out, &len, &err)) == 1) {
        assert_true(n + len + 2 < cap);
        memcpy(all + n, out, len);
        n += len;
        all[n++] = '\n';
        all[n] = '\0';
    }
    assert_int_equal(rc, 0);
    gs_vq_close(q);
    return all;
}

/* The dump lines of family fam whose key starts with hex prefix kp. */
static int dump_lines_with(const char *dump, const char *fam, const char *kp, const char *needle)
{
    int hits = 0;
    size_t fl = strlen(fam), kl = strlen(kp);
    for (const char *l = dump; *l;) {
        const char *e = strchr(l, '\n');
        size_t ll = e ? (size_t)(e - l) : strlen(l);
        if (ll > fl + 1 + kl && memcmp(l, fam, fl) == 0 && l[fl] == '\t' &&
            memcmp(l + fl + 1, kp, kl) == 0) {
            char *line = strndup(l, ll);
            assert_non_null(line);
            if (!needle || strstr(line + fl + 1, needle))
                hits++;
            free(line);
        }
        l += ll + (e ? 1 : 0);
    }
    return hits;
}

#define G100   "0000000000000064"
#define G200   "00000000000000c8"
#define HEX120 "a3313230" /* msgpack "120" */

static void test_reads_leave_the_role_out(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, SETUP), GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104,120");
    assert_int_equal(feed(c, DEL120), GS_OK);
    /* get, JSON and msgpack */
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104");
    assert_string_equal(gs_tv_roles(c->v, c->p, "8", "100"), "");
    assert_string_equal(gs_tv_roles(c->v, c->p, "9", "100"), "");
    assert_false(msgpack_has_120(c, 7, 100));
    assert_false(msgpack_has_120(c, 8, 100));
    /* the other guild keeps it */
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "200"), "120");
    assert_true(msgpack_has_120(c, 7, 200));
    /* where / count, scoped and unscoped */
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "120"), 0);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, NULL, "roles", "120"), 1);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "104"), 1);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", NULL, NULL), 3);
    /* list of the guild, of every guild, of the user's memberships */
    gs_vq_spec s = {.type = GS_VIEW_MEMBER, .guild = 100};
    char *t = list_text(c->v, &s);
    assert_null(strstr(t, "\"120\""));
    assert_non_null(strstr(t, "\"104\""));
    free(t);
    s.guild = 0;
    t = list_text(c->v, &s);
    char *first = strstr(t, "\"120\"");
    assert_non_null(first); /* guild 200's */
    assert_null(strstr(first + 1, "\"120\""));
    free(t);
    s.user = 7;
    t = list_text(c->v, &s);
    first = strstr(t, "\"120\"");
    assert_non_null(first);
    assert_null(strstr(first + 1, "\"120\""));
    free(t);
    /* dump: no member of guild 100 shows it; the tombstone is in idx */
    char *d = gs_tv_dump(c->v);
    assert_int_equal(dump_lines_with(d, "member", G100, HEX120), 0);
    assert_int_equal(dump_lines_with(d, "member", G100, NULL), 3);
    assert_int_equal(dump_lines_with(d, "member", G200, HEX120), 1);
    assert_int_equal(dump_lines_with(d, "idx", "44" G100 "0000000000000078", NULL), 1);
    free(d);
    /* the role itself is gone */
    gs_jval root;
    assert_int_equal(gs_tv_get(c->v, c->p, GS_VIEW_ROLE, "120", "100", &root), 0);
}

static void test_role_given_back(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, SETUP), GS_OK);
    assert_int_equal(feed(c, DEL120), GS_OK);
    /* A partial member without roles keeps its (hidden) list. */
    assert_int_equal(feed(c, F("MESSAGE_CREATE", "{\"id\":\"1\",\"guild_id\":\"100\","
                                                 "\"author\":{\"id\":\"7\"},\"member\":{"
                                                 "\"nick\":\"sept\"}}")),
                     GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104");
    /* A write listing roles without 120 is plain. */
    assert_int_equal(feed(c, F("GUILD_MEMBER_UPDATE", "{\"guild_id\":\"100\",\"user\":{\"id\":"
                                                      "\"9\"},\"roles\":[\"104\"]}")),
                     GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "9", "100"), "104");
    char *d = gs_tv_dump(c->v);
    assert_int_equal(dump_lines_with(d, "idx", "44" G100, NULL), 1);
    free(d);
    /* Member 8 gets 120 back: shown; 7 still does not have it. */
    assert_int_equal(feed(c, F("GUILD_MEMBER_UPDATE", "{\"guild_id\":\"100\",\"user\":{\"id\":"
                                                      "\"8\"},\"roles\":[120]}")),
                     GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104");
    assert_false(msgpack_has_120(c, 7, 100));
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "120"), 1);
    d = gs_tv_dump(c->v);
    assert_int_equal(dump_lines_with(d, "idx", "44" G100, NULL), 0); /* materialized */
    assert_int_equal(dump_lines_with(d, "member", G100, HEX120), 0); /* 8's is an integer */
    free(d);
    /* Now 7 gets it too, then it is deleted again: hidden for both. */
    assert_int_equal(feed(c, F("GUILD_MEMBER_UPDATE", "{\"guild_id\":\"100\",\"user\":{\"id\":"
                                                      "\"7\"},\"roles\":[\"120\",\"104\"]}")),
                     GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "120,104");
    assert_int_equal(feed(c, DEL120), GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104");
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "120"), 0);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "200"), "120");
    /* Nick and the rest survive the strip. */
    gs_jval root;
    char buf[64];
    assert_int_equal(gs_tv_get(c->v, c->p, GS_VIEW_MEMBER, "7", "100", &root), 1);
    assert_string_equal(gs_tv_str(root, "nick", buf, sizeof(buf)), "sept");
}

/* The frames of test_same_state_every_way: deletes, gives back in the same
 * and in later records, a guild delete and re-create, a chunk. */
static const char *const STORY = F(
    "GUILD_ROLE_DELETE",
    "{\"guild_id\":\"100\",\"role_id\":"
    "\"120\"}") F("GUILD_MEMBER_UPDATE",
                  "{\"guild_id\":\"100\",\"user\":{\"id\":\"9\"},\"roles\":[\"104\"]}")
    F("GUILD_ROLE_DELETE", "{\"guild_id\":\"100\",\"role_id\":\"104\"}") F(
        "GUILD_MEMBERS_CHUNK",
        "{\"guild_id\":\"100\",\"members\":[{\"user\":{\"id\":\"10\"},"
        "\"roles\":[\"120\"]},{\"user\":{\"id\":\"8\"},\"roles\":[\"120\"]}]}")
        F("GUILD_ROLE_DELETE", "{\"guild_id\":\"100\",\"role_id\":\"120\"}") F(
            "GUILD_ROLE_DELETE", "{\"guild_id\":\"200\",\"role_id\":\"120\"}")
            F("GUILD_ROLE_DELETE", "{\"guild_id\":\"100\",\"role_id\":}") F(
                "GUILD_MEMBER_ADD",
                "{\"guild_id\":\"200\",\"user\":{\"id\":\"11\"},\"roles\":[\"120\"]}")
                F("GUILD_ROLE_DELETE", "{\"guild_id\":\"200\",\"role_id\":\"555\"}") F(
                    "GUILD_DELETE", "{\"id\":\"200\"}")
                    F("GUILD_CREATE",
                      "{\"id\":\"200\",\"name\":\"H\",\"members\":[{\"user\":{\"id\":\"7\"},"
                      "\"roles\":[\"120\"]}]}") F("GUILD_MEMBER_REMOVE",
                                                  "{\"guild_id\":\"100\",\"user\":{\"id\":\"8\"}}")
                        F("GUILD_MEMBER_ADD",
                          "{\"guild_id\":\"100\",\"user\":{\"id\":\"8\"},\"roles\":[\"104\"]}")
                            F("GUILD_ROLE_DELETE", "{\"guild_id\":\"100\",\"role_id\":\"999\"}");

static char *story_dump(const char *dir, size_t batch, int no_cache, int reopen)
{
    ctx c;
    memset(&c, 0, sizeof(c));
    snprintf(c.dir, sizeof(c.dir), "%.300s", dir);
    open_views(&c, NULL, no_cache);
    assert_int_equal(feed_b(&c, SETUP, batch), GS_OK);
    assert_int_equal(feed_b(&c, STORY, batch), GS_OK);
    if (reopen) {
        assert_int_equal(gs_views_close(c.v, NULL), GS_OK);
        open_views(&c, NULL, no_cache);
    }
    char *d = gs_tv_dump(c.v);
    gs_views_close(c.v, NULL);
    return d;
}

static void test_same_state_every_way(void **state)
{
    ctx *c = *state;
    gs_views_close(c->v, NULL);
    c->v = NULL;
    char sub[300];
    snprintf(sub, sizeof(sub), "%.250s/a", c->dir);
    char *ref = story_dump(sub, 0, 0, 0);
    gs_tv_rmtree(sub);
    const struct {
        size_t batch;
        int no_cache, reopen;
    } ways[] = {{1, 0, 0}, {2, 0, 1}, {3, 1, 1}};
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
        char *d = story_dump(sub, ways[i].batch, ways[i].no_cache, ways[i].reopen);
        assert_string_equal(d, ref);
        free(d);
        gs_tv_rmtree(sub);
    }
    /* The story's end as read: 7 has no role in 100 (104 and 120 deleted),
     * 9's 104 deleted, 10 and the re-added 8: 120 (deleted again) and 104
     * (given back after its delete). Guild 200 was re-created: 7 has 120,
     * no tombstone of 200 is left. */
    ctx r;
    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "%.299s", sub);
    open_views(&r, NULL, 0);
    assert_int_equal(feed(&r, SETUP), GS_OK);
    assert_int_equal(feed(&r, STORY), GS_OK);
    r.p = c->p;
    assert_string_equal(gs_tv_roles(r.v, r.p, "7", "100"), "");
    assert_string_equal(gs_tv_roles(r.v, r.p, "9", "100"), "");
    assert_string_equal(gs_tv_roles(r.v, r.p, "10", "100"), "");
    assert_string_equal(gs_tv_roles(r.v, r.p, "8", "100"), "104");
    assert_string_equal(gs_tv_roles(r.v, r.p, "7", "200"), "120");
    char *d = gs_tv_dump(r.v);
    assert_string_equal(d, ref);
    assert_int_equal(dump_lines_with(d, "idx", "44" G200, NULL), 0);
    assert_int_equal(dump_lines_with(d, "idx", "44" G100, NULL), 2); /* 120, 999 */
    free(d);
    gs_views_close(r.v, NULL);
    /* A read-only open reads the same. */
    assert_int_equal(gs_views_open_readonly(sub, &r.v, NULL), GS_OK);
    assert_string_equal(gs_tv_roles(r.v, r.p, "8", "100"), "104");
    assert_string_equal(gs_tv_roles(r.v, r.p, "7", "200"), "120");
    assert_int_equal(gs_tv_count(r.v, GS_VIEW_MEMBER, NULL, "roles", "120"), 1);
    gs_views_close(r.v, NULL);
    gs_tv_rmtree(sub);
    free(ref);
}

static void test_roles_dropped_by_rules(void **state)
{
    ctx *c = *state;
    gs_views_close(c->v, NULL);
    c->v = NULL;
    gs_views_rules rules = {.keep = GS_VIEW_ALL & ~GS_VIEW_BIT(GS_VIEW_ROLE)};
    char sub[300];
    snprintf(sub, sizeof(sub), "%.250s/r", c->dir);
    ctx r;
    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "%.299s", sub);
    open_views(&r, &rules, 0);
    r.p = c->p;
    assert_int_equal(feed(&r, SETUP), GS_OK);
    assert_int_equal(feed(&r, DEL120), GS_OK);
    gs_jval root;
    assert_int_equal(gs_tv_get(r.v, r.p, GS_VIEW_ROLE, "104", "100", &root), 0);
    assert_string_equal(gs_tv_roles(r.v, r.p, "7", "100"), "104");
    assert_string_equal(gs_tv_roles(r.v, r.p, "8", "100"), "");
    assert_int_equal(gs_tv_count(r.v, GS_VIEW_MEMBER, "100", "roles", "120"), 0);
    gs_views_close(r.v, NULL);
    /* Members dropped too: no tombstone is kept at all. */
    rules.keep &= ~GS_VIEW_BIT(GS_VIEW_MEMBER);
    gs_tv_rmtree(sub);
    open_views(&r, &rules, 0);
    assert_int_equal(feed(&r, SETUP), GS_OK);
    assert_int_equal(feed(&r, DEL120), GS_OK);
    char *d = gs_tv_dump(r.v);
    assert_int_equal(dump_lines_with(d, "idx", "44", NULL), 0);
    free(d);
    gs_views_close(r.v, NULL);
    gs_tv_rmtree(sub);
}

/* Bytes that are not msgpack in a member value: a read reports it, never
 * crashes (the filter walks the value). */
static void test_filter_bad_values(void **state)
{
    (void)state;
    uint64_t pairs[2] = {100, 120};
    gs_vbuf out = {0};
    const uint8_t trunc[] = {0x82, 0xa5, 'r', 'o', 'l', 'e', 's', 0x92, 0xa3, '1', '2'};
    assert_true(gs_vtomb_filter(trunc, sizeof(trunc), pairs, 1, &out) <= 0);
    const uint8_t notmap[] = {0x92, 0xa3, '1', '2', '0', 0xc0};
    assert_int_equal(gs_vtomb_filter(notmap, sizeof(notmap), pairs, 1, &out), 0);
    /* {"roles": ["120", 5], "x": 1} -> {"roles": [5], "x": 1} */
    const uint8_t ok[] = {0x82, 0xa5, 'r', 'o', 'l',  'e',  's', 0x92,
                          0xa3, '1',  '2', '0', 0x05, 0xa1, 'x', 0x01};
    assert_int_equal(gs_vtomb_filter(ok, sizeof(ok), pairs, 1, &out), 1);
    const uint8_t want[] = {0x82, 0xa5, 'r', 'o', 'l', 'e', 's', 0x91, 0x05, 0xa1, 'x', 0x01};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.p, want, sizeof(want));
    /* every prefix of it: no crash, never a wrong 1 with garbage */
    for (size_t n = 0; n < sizeof(ok); n++) {
        int rc = gs_vtomb_filter(ok, n, pairs, 1, &out);
        assert_true(rc == 0 || rc == GS_ECORRUPT);
    }
    gs_vbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_leave_the_role_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_given_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_state_every_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles_dropped_by_rules, setup, teardown),
        cmocka_unit_test(test_filter_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
