/*
 * test_views_flight.c - gs_views_apply_more leaves the last stage of a call
 * in flight (views.h): the next call builds on it, and an in-line call,
 * gs_views_settle, a wipe and the close land it. Checked here:
 *  - the views then equal those of one serial call (full dump), however
 *    the stream is cut into calls and stages, with and without the entity
 *    cache, with a close (and reopen) while a stage is in flight;
 *  - gs_views_watermark only ever names landed stages;
 *  - point gets made while a stage has been written to RocksDB but not yet
 *    landed see one state: a member and its user both from before the
 *    stage or both from after, never a cached member beside a user read
 *    from RocksDB (views_int.h, writes_begun).
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

enum { N = 3000 };

static gs_views *open_tuned(const char *dir, int no_cache, size_t stage, size_t cache_bytes)
{
    gs_views_tuning tu;
    memset(&tu, 0, sizeof(tu));
    tu.no_entity_cache = no_cache;
    tu.stage_records = stage;
    tu.entity_cache_bytes = cache_bytes;
    gs_views *v;
    assert_int_equal(gs_views_open_tuned(dir, NULL, &tu, &v, NULL), GS_OK);
    return v;
}

/* The synthetic stream 1..N through gs_views_apply (one serial reference)
 * or gs_views_apply_more, as the way says. */
static char *stream_dump(size_t batch, int no_cache, size_t stage, int more, int reopen_mid)
{
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v = open_tuned(dir, no_cache, stage, 0);
    gs_tv_more = more;
    if (reopen_mid) {
        assert_int_equal(gs_tv_apply_stream(v, 1, N / 2, batch), GS_OK);
        /* The close lands what is in flight. */
        assert_int_equal(gs_views_close(v, NULL), GS_OK);
        v = open_tuned(dir, no_cache, stage, 0);
        assert_int_equal(gs_views_watermark(v), N / 2);
        assert_int_equal(gs_tv_apply_stream(v, N / 2 + 1, N, batch), GS_OK);
    } else {
        assert_int_equal(gs_tv_apply_stream(v, 1, N, batch), GS_OK);
    }
    gs_tv_more = 0;
    assert_true(gs_views_watermark(v) <= N);
    assert_int_equal(gs_views_settle(v, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), N);
    assert_int_equal(gs_views_settle(v, NULL), GS_OK); /* nothing left: a no-op */
    char *d = gs_tv_dump(v);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    gs_tv_rmtree(dir);
    return d;
}

static void test_more_equals_one_call(void **state)
{
    (void)state;
    char *ref = stream_dump(64, 0, 0, 0, 0);
    const struct {
        size_t batch;
        int no_cache;
        size_t stage;
        int reopen;
    } ways[] = {{64, 0, 0, 0}, {64, 0, 1, 0}, {64, 0, 7, 0}, {5, 0, 2, 0}, {1, 0, 1, 0},
                {64, 1, 3, 0}, {9, 1, 1, 0},  {64, 0, 5, 1}, {3, 0, 1, 1}, {64, 1, 4, 1}};
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
        char *d = stream_dump(ways[i].batch, ways[i].no_cache, ways[i].stage, 1, ways[i].reopen);
        if (strcmp(d, ref) != 0)
            fail_msg("way %zu (batch %zu, no cache %d, stage %zu, reopen %d) differs", i,
                     ways[i].batch, ways[i].no_cache, ways[i].stage, ways[i].reopen);
        free(d);
    }
    free(ref);
}

/* What lands a stage in flight, one after the other on the same views:
 * a staged call, an in-line call, a wipe, the close. */
static void test_every_call_lands_it(void **state)
{
    (void)state;
    char *ref = stream_dump(64, 0, 0, 0, 0);
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v = open_tuned(dir, 0, 3, 0);
    gs_tv_more = 1;
    assert_int_equal(gs_tv_apply_stream(v, 1, 1000, 10), GS_OK);
    gs_tv_more = 0;
    /* gs_views_apply builds on the stage in flight, lands everything. */
    assert_int_equal(gs_tv_apply_stream(v, 1001, 1500, 10), GS_OK);
    assert_int_equal(gs_views_watermark(v), 1500);
    gs_tv_more = 1;
    assert_int_equal(gs_tv_apply_stream(v, 1501, 2000, 10), GS_OK);
    gs_tv_more = 0;
    /* An in-line call lands it before its own write. */
    char buf[1024];
    gs_log_rec r;
    memset(&r, 0, sizeof(r));
    r.lsn = 2001;
    r.raw = buf;
    r.raw_len = gs_tv_stream_frame(2001, buf, sizeof(buf), &r.event);
    r.event_len = strlen(r.event);
    assert_int_equal(gs_views_apply_inline(v, &r, 1, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), 2001);
    gs_tv_more = 1;
    assert_int_equal(gs_tv_apply_stream(v, 2002, N, 64), GS_OK);
    gs_tv_more = 0;
    /* The close lands it; the reopened views hold all of it. */
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    v = open_tuned(dir, 0, 3, 0);
    assert_int_equal(gs_views_watermark(v), N);
    char *d = gs_tv_dump(v);
    assert_string_equal(d, ref);
    free(d);
    /* A wipe with a stage in flight: nothing of it survives the wipe, and
     * a replay from there gives the same views again. */
    gs_tv_more = 1;
    assert_int_equal(gs_views_wipe(v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply_stream(v, 1, 700, 64), GS_OK);
    assert_int_equal(gs_views_wipe(v, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), 0);
    assert_int_equal(gs_tv_apply_stream(v, 1, N, 64), GS_OK);
    gs_tv_more = 0;
    assert_int_equal(gs_views_settle(v, NULL), GS_OK);
    d = gs_tv_dump(v);
    assert_string_equal(d, ref);
    free(d);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    gs_tv_rmtree(dir);
    free(ref);
}

enum { MEMBERS = 600 };

/* GUILD_MEMBER_ADD (tag "old") or GUILD_MEMBER_UPDATE ("new") of member
 * i: its user's name and its nick both carry the tag. */
static size_t member_frame(char *buf, size_t cap, int i, const char *tag)
{
    int n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"%s\",\"d\":{\"guild_id\":\"1\",\"user\":{\"id\":\"%d\","
                     "\"username\":\"%s-%d\"},\"nick\":\"%s-%d\",\"roles\":[]}}\n",
                     tag[0] == 'o' ? "GUILD_MEMBER_ADD" : "GUILD_MEMBER_UPDATE", 1000 + i, tag, i,
                     tag, i);
    return (size_t)n;
}

static void test_gets_see_one_state_beside_a_stage(void **state)
{
    (void)state;
    /* 600 members and their users, then one call updating all of them in
     * one stage, left in flight. */
    size_t cap = (size_t)(2 * MEMBERS + 1) * 256;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap,
                                  "{\"op\":0,\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"1\",\"name\":"
                                  "\"g\",\"channels\":[],\"roles\":[]}}\n");
    for (int i = 0; i < MEMBERS; i++)
        len += member_frame(text + len, cap - len, i, "old");
    for (int i = 0; i < MEMBERS; i++)
        len += member_frame(text + len, cap - len, i, "new");
    gs_tv_file f;
    gs_tv_load_text(text, &f);
    free(text);
    assert_int_equal(f.n, 2 * MEMBERS + 1);

    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    /* A cache too small for all of them: some members are cached without
     * their user and some users without their member. Stages larger than
     * the update call, so all of it is one stage. */
    gs_views *v = open_tuned(dir, 0, 4 * MEMBERS, 48u << 10);
    assert_int_equal(gs_tv_apply(v, &f, 0, MEMBERS + 1, MEMBERS + 1), GS_OK);
    assert_int_equal(gs_views_apply_more(v, f.recs + MEMBERS + 1, MEMBERS, NULL), GS_OK);
    /* Wait until the committer has written it: RocksDB's watermark is the
     * stage's, the views' the one before (not landed). */
    uint64_t last = (uint64_t)(2 * MEMBERS + 1);
    for (int tries = 0;; tries++) {
        gs_views_status st;
        assert_int_equal(gs_views_status_read(v, &st, NULL), GS_OK);
        if (st.watermark == last)
            break;
        assert_true(tries < 10000);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(gs_views_watermark(v), MEMBERS + 1);

    gs_json *p;
    assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
    int olds = 0, news = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MEMBERS; i++) {
            char id[16], nick[64], uname[64];
            snprintf(id, sizeof(id), "%d", 1000 + i);
            gs_jval m, u;
            assert_int_equal(gs_tv_get(v, p, GS_VIEW_MEMBER, id, "1", &m), 1);
            assert_true(gs_json_getz(m, "user", &u));
            gs_tv_str(m, "nick", nick, sizeof(nick));
            gs_tv_str(u, "username", uname, sizeof(uname));
            if (strcmp(nick, uname) != 0)
                fail_msg("member %s: nick %s beside username %s", id, nick, uname);
            if (round == 0)
                *(nick[0] == 'o' ? &olds : &news) += 1;
            else if (strncmp(nick, "new-", 4) != 0) /* landed: all new */
                fail_msg("member %s: %s after the stage landed", id, nick);
        }
        if (round == 0) {
            /* Both kinds were read (from the cache alone, and from a
             * snapshot) while the stage was in flight. */
            assert_true(olds > 0);
            assert_true(news > 0);
            assert_int_equal(gs_views_settle(v, NULL), GS_OK);
            assert_int_equal(gs_views_watermark(v), last);
        }
    }
    gs_json_destroy(p);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    gs_tv_rmtree(dir);
    gs_tv_free(&f);
}

#define F(t, d) "{\"op\":0,\"t\":\"" t "\",\"d\":" d "}\n"

/* The applier's state of one call, carried over to the next while the
 * last stage is in flight: a role tombstone written there (members given
 * that role in the next call must lose it), and a membership added there
 * (the user's removal from another guild in the next call must keep the
 * user). Each frame its own gs_views_apply_more call, one stage each;
 * the dump must be one serial call's. */
/* clang-format off */
static const char *const CARRY =
    F("GUILD_CREATE", "{\"id\":\"1\",\"name\":\"a\",\"roles\":[{\"id\":\"11\",\"name\":\"r\"}],"
      "\"members\":[{\"user\":{\"id\":\"77\",\"username\":\"u\"},\"roles\":[]}]}")
    F("GUILD_CREATE", "{\"id\":\"2\",\"name\":\"b\",\"roles\":[{\"id\":\"21\",\"name\":\"s\"}]}")
    F("GUILD_ROLE_DELETE", "{\"guild_id\":\"2\",\"role_id\":\"21\"}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"2\",\"user\":{\"id\":\"77\",\"username\":\"u\"},\"roles\":[\"21\"]}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"1\",\"user\":{\"id\":\"77\"}}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"1\",\"user\":{\"id\":\"78\",\"username\":\"w\"},\"roles\":[]}")
    F("GUILD_ROLE_DELETE", "{\"guild_id\":\"1\",\"role_id\":\"11\"}")
    F("GUILD_MEMBER_UPDATE", "{\"guild_id\":\"1\",\"user\":{\"id\":\"78\",\"username\":\"w\"},\"roles\":[\"11\"]}")
    F("GUILD_MEMBER_ADD", "{\"guild_id\":\"2\",\"user\":{\"id\":\"79\",\"username\":\"x\"},\"roles\":[]}")
    F("GUILD_MEMBER_REMOVE", "{\"guild_id\":\"2\",\"user\":{\"id\":\"77\"}}");
/* clang-format on */

static char *carry_dump(int more, size_t first_batch)
{
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v = open_tuned(dir, 0, 0, 0);
    gs_tv_file f;
    gs_tv_load_text(CARRY, &f);
    /* The two guilds committed first, so that the user map and the
     * deleted roles start from committed state. */
    assert_int_equal(gs_tv_apply(v, &f, 0, first_batch, first_batch), GS_OK);
    gs_tv_more = more;
    assert_int_equal(gs_tv_apply(v, &f, first_batch, f.n, more ? 1 : f.n), GS_OK);
    gs_tv_more = 0;
    assert_int_equal(gs_views_settle(v, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), f.n);
    gs_json *p;
    assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
    gs_jval root;
    /* 77 left guild 1 while a member of 2, then left 2: gone only then. */
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_USER, "78", NULL, &root), 1);
    assert_int_equal(gs_tv_get(v, p, GS_VIEW_MEMBER, "78", "1", &root), 1);
    gs_json_destroy(p);
    char *d = gs_tv_dump(v);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    gs_tv_free(&f);
    gs_tv_rmtree(dir);
    return d;
}

static void test_call_state_carried_with_the_stage(void **state)
{
    (void)state;
    char *ref = carry_dump(0, 2);
    for (size_t first = 1; first <= 3; first++) {
        char *d = carry_dump(1, first);
        if (strcmp(d, ref) != 0)
            fail_msg("first batch %zu: the views differ from one serial call:\n%s\n---\n%s", first,
                     d, ref);
        free(d);
    }
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_more_equals_one_call),
        cmocka_unit_test(test_every_call_lands_it),
        cmocka_unit_test(test_gets_see_one_state_beside_a_stage),
        cmocka_unit_test(test_call_state_carried_with_the_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
