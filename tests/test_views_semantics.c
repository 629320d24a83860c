/*
 * test_views_semantics.c - one focused test per event rule of the views
 * (views/FORMAT.md, "Events"), bad payloads included.
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

typedef struct ctx {
    char dir[256];
    gs_views *v;
    gs_json *p;
    uint64_t lsn; /* last LSN fed */
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof(*c));
    gs_tv_tmpdir(c->dir, sizeof(c->dir));
    assert_int_equal(gs_views_open(c->dir, NULL, &c->v, NULL), GS_OK);
    assert_int_equal(gs_json_create(1u << 24, 256, &c->p, NULL), GS_OK);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    gs_views_close(c->v, NULL);
    gs_json_destroy(c->p);
    gs_tv_rmtree(c->dir);
    free(c);
    return 0;
}

/* Apply NDJSON frames (one per line) in one apply call, LSNs following the
 * previous ones. Returns the apply code. */
static int feed(ctx *c, const char *text)
{
    gs_tv_file f;
    gs_tv_load_text(text, &f);
    for (size_t i = 0; i < f.n; i++)
        f.recs[i].lsn = ++c->lsn;
    int rc = gs_tv_apply(c->v, &f, 0, f.n, f.n ? f.n : 1);
    gs_tv_free(&f);
    return rc;
}

static int has(ctx *c, gs_view_type t, const char *id, const char *guild)
{
    gs_jval root;
    return gs_tv_get(c->v, c->p, t, id, guild, &root);
}

static const char *field(ctx *c, gs_view_type t, const char *id, const char *guild, const char *key)
{
    static char buf[512];
    gs_jval root;
    if (!gs_tv_get(c->v, c->p, t, id, guild, &root))
        return "<no entity>";
    return gs_tv_str(root, key, buf, sizeof(buf));
}

static uint64_t count(ctx *c, gs_view_type t, const char *guild)
{
    return gs_tv_count(c->v, t, guild, NULL, NULL);
}

static gs_views_status status(ctx *c)
{
    gs_views_status st;
    assert_int_equal(gs_views_status_read(c->v, &st, NULL), GS_OK);
    return st;
}

/* A guild 100 with one of everything, user 7 also a member of guild 200. */
static const char *const BIG_GUILD =
    "{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"user\":{\"id\":\"1\",\"username\":\"bot\"},"
    "\"guilds\":[{\"id\":\"100\",\"unavailable\":true},{\"id\":\"200\",\"unavailable\":true}]}}\n"
    "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":2,\"d\":{\"id\":\"100\",\"name\":\"G\","
    "\"channels\":[{\"id\":\"101\",\"name\":\"general\",\"type\":0},"
    "{\"id\":\"102\",\"name\":\"voice\",\"type\":2}],"
    "\"threads\":[{\"id\":\"103\",\"parent_id\":\"101\",\"name\":\"t\",\"type\":11}],"
    "\"roles\":[{\"id\":\"100\",\"name\":\"@everyone\"},{\"id\":\"104\",\"name\":\"mods\"}],"
    "\"emojis\":[{\"id\":\"105\",\"name\":\"e\"}],\"stickers\":[{\"id\":\"106\",\"name\":\"s\"}],"
    "\"members\":[{\"user\":{\"id\":\"7\",\"username\":\"u7\",\"avatar\":\"a7\"},\"roles\":["
    "\"104\"],"
    "\"nick\":\"seven\"},{\"user\":{\"id\":\"8\",\"username\":\"u8\"},\"roles\":[]}],"
    "\"voice_states\":[{\"user_id\":\"7\",\"channel_id\":\"102\",\"session_id\":\"x\"}],"
    "\"presences\":[{\"user\":{\"id\":\"7\"},\"status\":\"online\"}],"
    "\"stage_instances\":[{\"id\":\"107\",\"channel_id\":\"102\",\"topic\":\"x\"}],"
    "\"guild_scheduled_events\":[{\"id\":\"108\",\"name\":\"ev\"}]}}\n"
    "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":3,\"d\":{\"id\":\"200\",\"name\":\"H\","
    "\"members\":[{\"user\":{\"id\":\"7\",\"username\":\"u7\"},\"roles\":[]}]}}\n";

static void test_ready_placeholders(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"user\":{\"id\":\"1\","
                             "\"username\":\"bot\"},\"guilds\":[{\"id\":\"100\","
                             "\"unavailable\":true},{\"id\":\"200\"}]}}\n"),
                     GS_OK);
    gs_jval g, x;
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_GUILD, "100", NULL, &g));
    int b = 0;
    assert_true(gs_json_getz(g, "unavailable", &x) && gs_json_bool(x, &b) == 0 && b);
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_GUILD, "200", NULL, &g));
    assert_true(gs_json_getz(g, "unavailable", &x) && gs_json_bool(x, &b) == 0 && b);
    assert_string_equal(field(c, GS_VIEW_GUILD, "200", NULL, "name"), "<absent>");
    assert_int_equal(status(c).current_user_id, 1);
    assert_string_equal(field(c, GS_VIEW_USER, "1", NULL, "username"), "bot");
    /* USER_UPDATE changes the current user (merged). */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"USER_UPDATE\",\"s\":2,\"d\":{\"id\":\"1\","
                             "\"global_name\":\"Bot\"}}\n"),
                     GS_OK);
    assert_string_equal(field(c, GS_VIEW_USER, "1", NULL, "global_name"), "Bot");
    assert_string_equal(field(c, GS_VIEW_USER, "1", NULL, "username"), "bot");
    /* The next GUILD_CREATE makes it available. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":3,\"d\":{\"id\":\"200\","
                             "\"name\":\"H\",\"unavailable\":false}}\n"),
                     GS_OK);
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_GUILD, "200", NULL, &g));
    assert_true(gs_json_getz(g, "unavailable", &x) && gs_json_bool(x, &b) == 0 && !b);
    assert_string_equal(field(c, GS_VIEW_GUILD, "200", NULL, "name"), "H");
}

static void test_guild_delete_unavailable_keeps(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_DELETE\",\"s\":4,\"d\":{\"id\":\"100\","
                             "\"unavailable\":true}}\n"),
                     GS_OK);
    gs_jval g, x;
    int b = 0;
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_GUILD, "100", NULL, &g));
    assert_true(gs_json_getz(g, "unavailable", &x) && gs_json_bool(x, &b) == 0 && b);
    assert_string_equal(field(c, GS_VIEW_GUILD, "100", NULL, "name"), "G");
    assert_int_equal(count(c, GS_VIEW_CHANNEL, "100"), 2);
    assert_int_equal(count(c, GS_VIEW_MEMBER, "100"), 2);
    /* A GUILD_UPDATE during the outage keeps it unavailable. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_UPDATE\",\"s\":5,\"d\":{\"id\":\"100\","
                             "\"name\":\"G2\"}}\n"),
                     GS_OK);
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_GUILD, "100", NULL, &g));
    assert_true(gs_json_getz(g, "unavailable", &x) && gs_json_bool(x, &b) == 0 && b);
    assert_string_equal(field(c, GS_VIEW_GUILD, "100", NULL, "name"), "G2");
}

static void test_guild_delete_removed_drops_everything(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
        if (t != GS_VIEW_GUILD && t != GS_VIEW_USER)
            assert_true(count(c, (gs_view_type)t, "100") > 0);
    /* `unavailable: false` counts as removed too. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_DELETE\",\"s\":4,\"d\":{\"id\":\"100\","
                             "\"unavailable\":false}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_GUILD, "100", NULL));
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
        if (t != GS_VIEW_GUILD && t != GS_VIEW_USER)
            assert_int_equal(count(c, (gs_view_type)t, "100"), 0);
    /* Locators went with them. */
    assert_false(has(c, GS_VIEW_CHANNEL, "101", NULL));
    assert_false(has(c, GS_VIEW_ROLE, "104", NULL));
    assert_false(has(c, GS_VIEW_THREAD, "103", NULL));
    /* User 8 was only in guild 100: gone. User 7 is still a member of 200. */
    assert_false(has(c, GS_VIEW_USER, "8", NULL));
    assert_string_equal(field(c, GS_VIEW_USER, "7", NULL, "username"), "u7");
    assert_true(has(c, GS_VIEW_MEMBER, "7", "200"));
    assert_true(has(c, GS_VIEW_GUILD, "200", NULL));
    /* The current user is never collected. */
    assert_true(has(c, GS_VIEW_USER, "1", NULL));
    /* Without the key at all, the same. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_DELETE\",\"s\":5,\"d\":{\"id\":\"200\"}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_GUILD, "200", NULL));
    assert_false(has(c, GS_VIEW_USER, "7", NULL));
    assert_int_equal(count(c, GS_VIEW_MEMBER, NULL), 0);
}

static void test_guild_create_replaces_lists(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    /* A new snapshot without channel 102 and role 104, with member 8 absent
     * and no voice states. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":4,\"d\":{\"id\":\"100\","
                             "\"name\":\"G\",\"channels\":[{\"id\":\"101\",\"name\":\"general2\","
                             "\"type\":0}],\"roles\":[{\"id\":\"100\",\"name\":\"@everyone\"}],"
                             "\"voice_states\":[],\"members\":[{\"user\":{\"id\":\"7\"},"
                             "\"roles\":[],\"nick\":null}]}}\n"),
                     GS_OK);
    assert_int_equal(count(c, GS_VIEW_CHANNEL, "100"), 1);
    assert_string_equal(field(c, GS_VIEW_CHANNEL, "101", "100", "name"), "general2");
    assert_false(has(c, GS_VIEW_CHANNEL, "102", NULL));
    assert_false(has(c, GS_VIEW_ROLE, "104", "100"));
    assert_int_equal(count(c, GS_VIEW_VOICE_STATE, "100"), 0);
    /* Lists the snapshot lacks stay: threads, emojis, stickers. */
    assert_int_equal(count(c, GS_VIEW_THREAD, "100"), 1);
    assert_int_equal(count(c, GS_VIEW_EMOJI, "100"), 1);
    /* Members: updated, never removed by absence; the partial user keeps
     * what was known. */
    assert_int_equal(count(c, GS_VIEW_MEMBER, "100"), 2);
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "nick"), "null");
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "");
    assert_string_equal(field(c, GS_VIEW_USER, "7", NULL, "avatar"), "a7");
}

static void test_channel_delete_drops_threads(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"THREAD_CREATE\",\"s\":4,\"d\":{\"id\":\"110\",\"guild_id\":"
                "\"100\",\"parent_id\":\"101\",\"type\":11,\"name\":\"arch\",\"thread_metadata\":"
                "{\"archived\":true},\"newly_created\":true}}\n"
                "{\"op\":0,\"t\":\"THREAD_CREATE\",\"s\":5,\"d\":{\"id\":\"111\",\"guild_id\":"
                "\"100\",\"parent_id\":\"102\",\"type\":11,\"name\":\"other\"}}\n"),
        GS_OK);
    assert_int_equal(count(c, GS_VIEW_THREAD, "100"), 3);
    /* Event flags are not state. */
    assert_string_equal(field(c, GS_VIEW_THREAD, "110", "100", "newly_created"), "<absent>");
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"CHANNEL_DELETE\",\"s\":6,\"d\":{\"id\":\"101\","
                             "\"guild_id\":\"100\",\"type\":0}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_CHANNEL, "101", "100"));
    assert_false(has(c, GS_VIEW_THREAD, "103", "100")); /* active child */
    assert_false(has(c, GS_VIEW_THREAD, "110", "100")); /* archived child */
    assert_true(has(c, GS_VIEW_THREAD, "111", "100"));  /* other parent */
    /* A CHANNEL_DELETE for a thread type deletes the thread. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"CHANNEL_DELETE\",\"s\":7,\"d\":{\"id\":\"111\","
                             "\"guild_id\":\"100\",\"type\":11}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_THREAD, "111", "100"));
    /* THREAD_DELETE. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"THREAD_CREATE\",\"s\":8,\"d\":{\"id\":\"112\","
                             "\"guild_id\":\"100\",\"parent_id\":\"102\",\"type\":11}}\n"
                             "{\"op\":0,\"t\":\"THREAD_DELETE\",\"s\":9,\"d\":{\"id\":\"112\","
                             "\"guild_id\":\"100\",\"parent_id\":\"102\",\"type\":11}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_THREAD, "112", NULL));
}

static void test_role_delete_strips_members(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"GUILD_ROLE_CREATE\",\"s\":4,\"d\":{\"guild_id\":\"100\","
                "\"role\":{\"id\":\"120\",\"name\":\"r\"}}}\n"
                "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":5,\"d\":{\"guild_id\":\"100\","
                "\"user\":{\"id\":\"7\"},\"roles\":[\"104\",\"120\"]}}\n"
                "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":6,\"d\":{\"guild_id\":\"100\","
                "\"user\":{\"id\":\"8\"},\"roles\":[\"120\"]}}\n"
                "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":7,\"d\":{\"guild_id\":\"200\","
                "\"user\":{\"id\":\"7\"},\"roles\":[\"120\"]}}\n"),
        GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104,120");
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_ROLE_DELETE\",\"s\":8,\"d\":{\"guild_id\":"
                             "\"100\",\"role_id\":\"120\"}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_ROLE, "120", "100"));
    assert_false(has(c, GS_VIEW_ROLE, "120", NULL));
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104");
    assert_string_equal(gs_tv_roles(c->v, c->p, "8", "100"), "");
    /* Other guilds are not touched; other fields stay. */
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "200"), "120");
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "nick"), "seven");
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "120"), 0);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "104"), 1);
}

static void test_member_update_nick(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    /* No nick key: nick unchanged, roles replaced. */
    assert_int_equal(feed(c,
                          "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":4,\"d\":{\"guild_id\":"
                          "\"100\",\"user\":{\"id\":\"7\",\"username\":\"u7b\"},\"roles\":[]}}\n"),
                     GS_OK);
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "nick"), "seven");
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "");
    assert_string_equal(field(c, GS_VIEW_USER, "7", NULL, "username"), "u7b");
    assert_string_equal(field(c, GS_VIEW_USER, "7", NULL, "avatar"), "a7");
    /* nick null: no nickname. */
    assert_int_equal(feed(c,
                          "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":5,\"d\":{\"guild_id\":"
                          "\"100\",\"user\":{\"id\":\"7\"},\"roles\":[\"104\"],\"nick\":null}}\n"),
                     GS_OK);
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "nick"), "null");
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "104");
    /* The member's user comes back joined. */
    gs_jval m, u;
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_MEMBER, "7", "100", &m));
    assert_true(gs_json_getz(m, "user", &u));
    char buf[64];
    assert_string_equal(gs_tv_str(u, "username", buf, sizeof(buf)), "u7b");
    assert_string_equal(gs_tv_str(m, "guild_id", buf, sizeof(buf)), "100");
    /* GUILD_MEMBER_REMOVE: member, presence gone; the user stays (member
     * of 200). */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_MEMBER_REMOVE\",\"s\":6,\"d\":{\"guild_id\":"
                             "\"100\",\"user\":{\"id\":\"7\"}}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_MEMBER, "7", "100"));
    assert_false(has(c, GS_VIEW_PRESENCE, "7", "100"));
    assert_true(has(c, GS_VIEW_USER, "7", NULL));
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_MEMBER_REMOVE\",\"s\":7,\"d\":{\"guild_id\":"
                             "\"100\",\"user\":{\"id\":\"8\"}}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_USER, "8", NULL));
}

static void test_thread_list_sync(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    /* Parent 101: active 103 (from BIG_GUILD), archived 130; parent 102:
     * active 131. */
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"THREAD_CREATE\",\"s\":4,\"d\":{\"id\":\"130\",\"guild_id\":"
                "\"100\",\"parent_id\":\"101\",\"type\":11,\"thread_metadata\":{\"archived\":"
                "true}}}\n"
                "{\"op\":0,\"t\":\"THREAD_CREATE\",\"s\":5,\"d\":{\"id\":\"131\",\"guild_id\":"
                "\"100\",\"parent_id\":\"102\",\"type\":11}}\n"),
        GS_OK);
    /* Sync of parent 101: its active threads are replaced by the list. */
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"THREAD_LIST_SYNC\",\"s\":6,\"d\":{\"guild_id\":\"100\","
                "\"channel_ids\":[\"101\"],\"threads\":[{\"id\":\"132\",\"parent_id\":\"101\","
                "\"type\":12,\"name\":\"new\"}],\"members\":[{\"id\":\"132\",\"user_id\":\"1\","
                "\"flags\":0}]}}\n"),
        GS_OK);
    assert_false(has(c, GS_VIEW_THREAD, "103", "100"));
    assert_true(has(c, GS_VIEW_THREAD, "130", "100"));
    assert_true(has(c, GS_VIEW_THREAD, "131", "100"));
    assert_string_equal(field(c, GS_VIEW_THREAD, "132", "100", "name"), "new");
    gs_jval t, m;
    char buf[32];
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_THREAD, "132", "100", &t));
    assert_true(gs_json_getz(t, "member", &m));
    assert_string_equal(gs_tv_str(m, "user_id", buf, sizeof(buf)), "1");
    /* Without channel_ids: every active thread of the guild goes. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"THREAD_LIST_SYNC\",\"s\":7,\"d\":{\"guild_id\":"
                             "\"100\",\"threads\":[{\"id\":\"133\",\"parent_id\":\"102\","
                             "\"type\":11}]}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_THREAD, "131", "100"));
    assert_false(has(c, GS_VIEW_THREAD, "132", "100"));
    assert_true(has(c, GS_VIEW_THREAD, "130", "100")); /* archived: kept */
    assert_true(has(c, GS_VIEW_THREAD, "133", "100"));
    assert_int_equal(count(c, GS_VIEW_THREAD, "100"), 2);
}

static void test_thread_members(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"THREAD_MEMBERS_UPDATE\",\"s\":4,\"d\":{\"id\":\"103\","
                "\"guild_id\":\"100\",\"member_count\":5,\"added_members\":[{\"id\":\"103\","
                "\"user_id\":\"1\",\"flags\":0}]}}\n"),
        GS_OK);
    gs_jval t, m;
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_THREAD, "103", "100", &t));
    assert_int_equal(gs_tv_int(t, "member_count"), 5);
    assert_true(gs_json_getz(t, "member", &m));
    assert_string_equal(field(c, GS_VIEW_THREAD, "103", "100", "name"), "t");
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"THREAD_MEMBERS_UPDATE\",\"s\":5,\"d\":{\"id\":\"103\","
                "\"guild_id\":\"100\",\"member_count\":4,\"removed_member_ids\":[\"1\"]}}\n"),
        GS_OK);
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_THREAD, "103", "100", &t));
    assert_int_equal(gs_tv_int(t, "member_count"), 4);
    assert_false(gs_json_getz(t, "member", &m));
    /* THREAD_MEMBER_UPDATE sets the current user's thread member. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"THREAD_MEMBER_UPDATE\",\"s\":6,\"d\":{\"id\":"
                             "\"103\",\"guild_id\":\"100\",\"user_id\":\"1\",\"flags\":3}}\n"),
                     GS_OK);
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_THREAD, "103", "100", &t));
    assert_true(gs_json_getz(t, "member", &m));
    assert_int_equal(gs_tv_int(m, "flags"), 3);
}

static void test_voice_state_null_channel(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"VOICE_STATE_UPDATE\",\"s\":4,\"d\":{\"guild_id\":\"100\","
                "\"channel_id\":\"102\",\"user_id\":\"9\",\"session_id\":\"s\",\"member\":"
                "{\"user\":{\"id\":\"9\",\"username\":\"u9\"},\"roles\":[]}}}\n"),
        GS_OK);
    assert_string_equal(field(c, GS_VIEW_VOICE_STATE, "9", "100", "channel_id"), "102");
    assert_string_equal(field(c, GS_VIEW_VOICE_STATE, "9", "100", "member"), "<absent>");
    assert_true(has(c, GS_VIEW_MEMBER, "9", "100"));
    assert_string_equal(field(c, GS_VIEW_USER, "9", NULL, "username"), "u9");
    assert_int_equal(count(c, GS_VIEW_VOICE_STATE, "100"), 2);
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"VOICE_STATE_UPDATE\",\"s\":5,\"d\":{\"guild_id\":"
                             "\"100\",\"channel_id\":null,\"user_id\":\"9\",\"session_id\":"
                             "\"s\"}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_VOICE_STATE, "9", "100"));
    assert_int_equal(count(c, GS_VIEW_VOICE_STATE, "100"), 1);
    assert_true(has(c, GS_VIEW_MEMBER, "9", "100"));
}

static void test_message_partial_member(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":4,\"d\":{\"id\":\"900\",\"channel_id\":"
                "\"101\",\"guild_id\":\"100\",\"content\":\"hi\",\"author\":{\"id\":\"7\","
                "\"username\":\"u7new\"},\"member\":{\"roles\":[],\"joined_at\":\"2020\"}}}\n"),
        GS_OK);
    /* Roles from the partial member, nick kept, user kept and refined. */
    assert_string_equal(gs_tv_roles(c->v, c->p, "7", "100"), "");
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "nick"), "seven");
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "joined_at"), "2020");
    assert_string_equal(field(c, GS_VIEW_USER, "7", NULL, "avatar"), "a7");
    assert_string_equal(field(c, GS_VIEW_USER, "7", NULL, "username"), "u7new");
    gs_jval m, u;
    char buf[32];
    assert_true(gs_tv_get(c->v, c->p, GS_VIEW_MEMBER, "7", "100", &m));
    assert_true(gs_json_getz(m, "user", &u));
    assert_string_equal(gs_tv_str(u, "avatar", buf, sizeof(buf)), "a7");
    /* A DM message (no guild) or one without member changes nothing. */
    char *before = gs_tv_dump(c->v);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":5,\"d\":{\"id\":\"901\",\"channel_id\":"
                "\"5\",\"author\":{\"id\":\"7\",\"username\":\"dm\"},\"member\":{\"roles\":[]}}}\n"
                "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":6,\"d\":{\"id\":\"902\",\"channel_id\":"
                "\"101\",\"guild_id\":\"100\",\"author\":{\"id\":\"77\"},\"webhook_id\":\"3\"}}\n"),
        GS_OK);
    char *after = gs_tv_dump(c->v);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* TYPING_START's member upserts a member unknown so far. */
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"TYPING_START\",\"s\":7,\"d\":{\"channel_id\":\"101\","
                "\"guild_id\":\"100\",\"user_id\":\"12\",\"timestamp\":1,\"member\":{\"user\":"
                "{\"id\":\"12\",\"username\":\"typer\"},\"roles\":[\"104\"]}}}\n"),
        GS_OK);
    assert_string_equal(gs_tv_roles(c->v, c->p, "12", "100"), "104");
}

static void test_upsert_unknown(void **state)
{
    ctx *c = *state;
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"s\":1,\"d\":{\"guild_id\":\"300\","
                "\"user\":{\"id\":\"31\",\"username\":\"x\"},\"roles\":[\"32\"],\"nick\":\"n\"}}\n"
                "{\"op\":0,\"t\":\"CHANNEL_UPDATE\",\"s\":2,\"d\":{\"id\":\"33\",\"guild_id\":"
                "\"300\",\"name\":\"c\",\"type\":0}}\n"
                "{\"op\":0,\"t\":\"GUILD_ROLE_UPDATE\",\"s\":3,\"d\":{\"guild_id\":\"300\","
                "\"role\":{\"id\":\"32\",\"name\":\"r\"}}}\n"
                "{\"op\":0,\"t\":\"GUILD_UPDATE\",\"s\":4,\"d\":{\"id\":\"300\",\"name\":\"g\"}}\n"
                "{\"op\":0,\"t\":\"THREAD_UPDATE\",\"s\":5,\"d\":{\"id\":\"34\",\"guild_id\":"
                "\"300\",\"parent_id\":\"33\",\"type\":11}}\n"
                "{\"op\":0,\"t\":\"PRESENCE_UPDATE\",\"s\":6,\"d\":{\"guild_id\":\"300\",\"user\":"
                "{\"id\":\"31\"},\"status\":\"idle\"}}\n"
                "{\"op\":0,\"t\":\"STAGE_INSTANCE_UPDATE\",\"s\":7,\"d\":{\"id\":\"35\","
                "\"guild_id\":\"300\",\"channel_id\":\"33\",\"topic\":\"t\"}}\n"
                "{\"op\":0,\"t\":\"GUILD_SCHEDULED_EVENT_UPDATE\",\"s\":8,\"d\":{\"id\":\"36\","
                "\"guild_id\":\"300\",\"name\":\"e\"}}\n"
                "{\"op\":0,\"t\":\"CHANNEL_PINS_UPDATE\",\"s\":9,\"d\":{\"channel_id\":\"37\","
                "\"guild_id\":\"300\",\"last_pin_timestamp\":\"2021\"}}\n"),
        GS_OK);
    assert_string_equal(field(c, GS_VIEW_MEMBER, "31", "300", "nick"), "n");
    assert_string_equal(field(c, GS_VIEW_CHANNEL, "33", NULL, "name"), "c");
    assert_string_equal(field(c, GS_VIEW_ROLE, "32", NULL, "name"), "r");
    assert_string_equal(field(c, GS_VIEW_GUILD, "300", NULL, "name"), "g");
    assert_string_equal(field(c, GS_VIEW_GUILD, "300", NULL, "unavailable"), "<type 1>");
    assert_string_equal(field(c, GS_VIEW_THREAD, "34", NULL, "parent_id"), "33");
    assert_string_equal(field(c, GS_VIEW_PRESENCE, "31", "300", "status"), "idle");
    assert_string_equal(field(c, GS_VIEW_STAGE_INSTANCE, "35", NULL, "topic"), "t");
    assert_string_equal(field(c, GS_VIEW_SCHEDULED_EVENT, "36", NULL, "name"), "e");
    assert_string_equal(field(c, GS_VIEW_CHANNEL, "37", "300", "last_pin_timestamp"), "2021");
    /* Partial presences merge. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"PRESENCE_UPDATE\",\"s\":10,\"d\":{\"guild_id\":"
                             "\"300\",\"user\":{\"id\":\"31\",\"username\":\"y\"},"
                             "\"client_status\":{}}}\n"),
                     GS_OK);
    assert_string_equal(field(c, GS_VIEW_PRESENCE, "31", "300", "status"), "idle");
    assert_string_equal(field(c, GS_VIEW_USER, "31", NULL, "username"), "y");
    /* A presence's user refines a user we hold and never creates one: user
     * 38 is no member of any guild here. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"PRESENCE_UPDATE\",\"s\":13,\"d\":{\"guild_id\":"
                             "\"300\",\"user\":{\"id\":\"38\",\"username\":\"z\"},"
                             "\"status\":\"online\"}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_USER, "38", NULL));
    /* Deletes of stage instances and scheduled events. */
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"STAGE_INSTANCE_DELETE\",\"s\":11,\"d\":{\"id\":"
                             "\"35\",\"guild_id\":\"300\"}}\n"
                             "{\"op\":0,\"t\":\"GUILD_SCHEDULED_EVENT_DELETE\",\"s\":12,\"d\":"
                             "{\"id\":\"36\",\"guild_id\":\"300\"}}\n"),
                     GS_OK);
    assert_false(has(c, GS_VIEW_STAGE_INSTANCE, "35", NULL));
    assert_false(has(c, GS_VIEW_SCHEDULED_EVENT, "36", NULL));
    assert_int_equal(status(c).failed_records, 0);
}

static void test_emojis_stickers_replace(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"GUILD_EMOJIS_UPDATE\",\"s\":4,\"d\":{\"guild_id\":\"100\","
                "\"emojis\":[{\"id\":\"140\",\"name\":\"a\"},{\"id\":\"141\",\"name\":\"b\"}]}}\n"
                "{\"op\":0,\"t\":\"GUILD_STICKERS_UPDATE\",\"s\":5,\"d\":{\"guild_id\":\"100\","
                "\"stickers\":[]}}\n"),
        GS_OK);
    assert_false(has(c, GS_VIEW_EMOJI, "105", NULL));
    assert_int_equal(count(c, GS_VIEW_EMOJI, "100"), 2);
    assert_string_equal(field(c, GS_VIEW_EMOJI, "141", NULL, "name"), "b");
    assert_int_equal(count(c, GS_VIEW_STICKER, "100"), 0);
}

static void test_members_chunk(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(
        feed(c, "{\"op\":0,\"t\":\"GUILD_MEMBERS_CHUNK\",\"s\":4,\"d\":{\"guild_id\":\"100\","
                "\"members\":[{\"user\":{\"id\":\"150\"},\"roles\":[]},{\"user\":{\"id\":\"151\"},"
                "\"roles\":[\"104\"]},{\"user\":{\"id\":\"7\"},\"roles\":[]}],\"chunk_index\":0,"
                "\"chunk_count\":1,\"presences\":[{\"user\":{\"id\":\"150\"},\"status\":"
                "\"dnd\"}],\"not_found\":[\"9\",9]}}\n"),
        GS_OK);
    assert_int_equal(count(c, GS_VIEW_MEMBER, "100"), 4);
    assert_string_equal(gs_tv_roles(c->v, c->p, "151", "100"), "104");
    assert_string_equal(field(c, GS_VIEW_PRESENCE, "150", "100", "status"), "dnd");
    assert_string_equal(field(c, GS_VIEW_MEMBER, "7", "100", "nick"), "seven");
}

/* The rest of the state without the meta family (failures live there). */
static char *entities_dump(ctx *c)
{
    char *d = gs_tv_dump(c->v);
    char *out = malloc(strlen(d) + 1), *o = out;
    for (char *line = d; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (strncmp(line, "meta\t", 5) != 0) {
            memcpy(o, line, len);
            o += len;
        }
        line += len;
    }
    *o = '\0';
    free(d);
    return out;
}

static const char *const GOOD1 =
    "{\"op\":0,\"t\":\"CHANNEL_CREATE\",\"s\":1,\"d\":{\"id\":\"401\",\"guild_id\":\"400\","
    "\"name\":\"one\",\"type\":0}}\n";
static const char *const GOOD2 =
    "{\"op\":0,\"t\":\"GUILD_ROLE_CREATE\",\"s\":7,\"d\":{\"guild_id\":\"400\",\"role\":{\"id\":"
    "\"402\",\"name\":\"two\"}}}\n";

/* A bad element of an array is named by its index (the name is only
 * formatted on failure: entity.c, gs_vreq_elem), for each path that checks
 * elements one by one; the good elements before it are rolled back with
 * the record. */
static void test_bad_elements(void **state)
{
    ctx *c = *state;
    static const char text[] =
        /* 1: the second member of a chunk is not an object */
        "{\"op\":0,\"t\":\"GUILD_MEMBERS_CHUNK\",\"s\":1,\"d\":{\"guild_id\":\"500\","
        "\"members\":[{\"user\":{\"id\":\"501\"},\"roles\":[]},7]}}\n"
        /* 2: an emoji id that is not a snowflake */
        "{\"op\":0,\"t\":\"GUILD_EMOJIS_UPDATE\",\"s\":2,\"d\":{\"guild_id\":\"500\","
        "\"emojis\":[{\"id\":\"502\",\"name\":\"a\"},{\"id\":\"12a\",\"name\":\"b\"}]}}\n"
        /* 3: a sticker id that is null */
        "{\"op\":0,\"t\":\"GUILD_STICKERS_UPDATE\",\"s\":3,\"d\":{\"guild_id\":\"500\","
        "\"stickers\":[{\"id\":null}]}}\n"
        /* 4: a thread of a list sync that is not an object */
        "{\"op\":0,\"t\":\"THREAD_LIST_SYNC\",\"s\":4,\"d\":{\"guild_id\":\"500\","
        "\"threads\":[[]],\"members\":[]}}\n"
        /* 5: a thread member whose id is 0 */
        "{\"op\":0,\"t\":\"THREAD_LIST_SYNC\",\"s\":5,\"d\":{\"guild_id\":\"500\","
        "\"threads\":[],\"members\":[{\"id\":\"0\",\"user_id\":\"501\"}]}}\n";
    assert_int_equal(feed(c, text), GS_OK);
    gs_views_status st = status(c);
    assert_int_equal(st.failed_records, 5);
    const char *const why[] = {"d.members[0]: id is not a snowflake",
                               "d.threads[0] is not an object", "d.stickers[0]: missing id",
                               "d.emojis[1]: id is not a snowflake",
                               "d.members[1] is not an object"}; /* newest first */
    for (int i = 0; i < 5; i++)
        if (!strstr(st.failures[i].reason, why[i]))
            fail_msg("failure %d: '%s' lacks '%s'", i, st.failures[i].reason, why[i]);
    assert_false(has(c, GS_VIEW_MEMBER, "501", "500"));
    assert_false(has(c, GS_VIEW_EMOJI, "502", "500"));
}

static void test_bad_payloads(void **state)
{
    ctx *c = *state;
    char text[4096];
    snprintf(text, sizeof(text), "%s%s%s", GOOD1,
             /* 2: missing id */
             "{\"op\":0,\"t\":\"CHANNEL_CREATE\",\"s\":2,\"d\":{\"guild_id\":\"400\",\"name\":"
             "\"x\"}}\n"
             /* 3: wrong type (role is a string) */
             "{\"op\":0,\"t\":\"GUILD_ROLE_CREATE\",\"s\":3,\"d\":{\"guild_id\":\"400\",\"role\":"
             "\"r\"}}\n"
             /* 4: d not an object */
             "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":4,\"d\":5}\n"
             /* 5: a snapshot whose roles list is bad after its channels were
              * written: everything of the record is rolled back */
             "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":5,\"d\":{\"id\":\"400\",\"name\":\"G\","
             "\"channels\":[{\"id\":\"403\",\"name\":\"c\"}],\"roles\":[{\"name\":\"no id\"}]}}\n"
             /* 6: id not a snowflake */
             "{\"op\":0,\"t\":\"GUILD_MEMBER_ADD\",\"s\":6,\"d\":{\"guild_id\":\"400\",\"user\":"
             "{\"id\":\"12a\"}}}\n",
             GOOD2);
    gs_tv_file f;
    gs_tv_load_text(text, &f);
    assert_int_equal(f.n, 7);
    /* A malformed frame as the log might hold after an old bug: appended as
     * an 8th record. */
    f.recs[6].lsn = 8;
    static const char junk[] = "{\"op\":0,\"t\":\"CHANNEL_CREATE\",\"d\":{\"id\":";
    gs_log_rec recs[8];
    memcpy(recs, f.recs, 7 * sizeof(recs[0]));
    recs[7] = recs[6];
    recs[6] = recs[0];
    recs[6].lsn = 7;
    recs[6].raw = junk;
    recs[6].raw_len = sizeof(junk) - 1;
    /* Order by LSN: 1..6 from the file, 7 junk, 8 GOOD2. */
    gs_err err;
    assert_int_equal(gs_views_apply(c->v, recs, 8, &err), GS_OK);
    gs_tv_free(&f);
    c->lsn = 8;
    assert_int_equal(gs_views_watermark(c->v), 8);
    assert_true(has(c, GS_VIEW_CHANNEL, "401", "400"));
    assert_true(has(c, GS_VIEW_ROLE, "402", "400"));
    assert_false(has(c, GS_VIEW_GUILD, "400", NULL));
    assert_false(has(c, GS_VIEW_CHANNEL, "403", NULL));
    gs_views_status st = status(c);
    assert_int_equal(st.failed_records, 6);
    assert_int_equal(st.nfailures, 6);
    const uint64_t lsns[] = {7, 6, 5, 4, 3, 2}; /* newest first */
    const char *const why[] = {"frame:",   "not a snowflake", "d.roles[0]: missing id",
                               "d is not", "d.role is not",   "d: missing id"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(st.failures[i].lsn, lsns[i]);
        if (!strstr(st.failures[i].reason, why[i]))
            fail_msg("failure %d: '%s' lacks '%s'", i, st.failures[i].reason, why[i]);
    }
    assert_string_equal(st.failures[1].event, "GUILD_MEMBER_ADD");
    /* Same entities as the good records alone. */
    char *got = entities_dump(c);
    ctx other;
    memset(&other, 0, sizeof(other));
    gs_tv_tmpdir(other.dir, sizeof(other.dir));
    assert_int_equal(gs_views_open(other.dir, NULL, &other.v, NULL), GS_OK);
    assert_int_equal(feed(&other, GOOD1), GS_OK);
    assert_int_equal(feed(&other, GOOD2), GS_OK);
    char *want = entities_dump(&other);
    assert_string_equal(got, want);
    free(got);
    free(want);
    gs_views_close(other.v, NULL);
    gs_tv_rmtree(other.dir);
    /* Failures survive a reopen; the count keeps growing past the ring. */
    assert_int_equal(gs_views_close(c->v, NULL), GS_OK);
    assert_int_equal(gs_views_open(c->dir, NULL, &c->v, NULL), GS_OK);
    assert_int_equal(status(c).failed_records, 6);
    for (int i = 0; i < 20; i++)
        assert_int_equal(feed(c, "{\"op\":0,\"t\":\"GUILD_DELETE\",\"s\":1,\"d\":[]}\n"), GS_OK);
    st = status(c);
    assert_int_equal(st.failed_records, 26);
    assert_int_equal(st.nfailures, GS_VIEWS_FAILURES_MAX);
    assert_int_equal(st.failures[0].lsn, c->lsn);
}

static void test_unknown_events_change_nothing(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    char *before = gs_tv_dump(c->v);
    uint64_t wm = gs_views_watermark(c->v);
    assert_int_equal(feed(c, "{\"op\":0,\"t\":\"DOESNT_MATTER\",\"s\":9,\"d\":{\"id\":\"100\"}}\n"
                             "{\"op\":0,\"t\":\"RESUMED\",\"s\":10}\n"
                             "{\"op\":0,\"t\":\"GATEWAY_EVENT_NAME\",\"s\":11,\"d\":5}\n"
                             "{\"op\":0,\"t\":\"GUILD_BAN_ADD\",\"s\":12,\"d\":{\"guild_id\":"
                             "\"100\",\"user\":{\"id\":\"7\"}}}\n"),
                     GS_OK);
    char *after = gs_tv_dump(c->v);
    assert_string_equal(before, after);
    assert_int_equal(gs_views_watermark(c->v), wm + 4);
    assert_int_equal(status(c).failed_records, 0);
    free(before);
    free(after);
}

static void test_records_at_or_below_watermark_skipped(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    char *before = gs_tv_dump(c->v);
    /* Re-sending LSN 2 (a different payload) changes nothing. */
    gs_tv_file f;
    gs_tv_load_text("{\"op\":0,\"t\":\"GUILD_DELETE\",\"s\":1,\"d\":{\"id\":\"100\"}}\n", &f);
    f.recs[0].lsn = 2;
    assert_int_equal(gs_views_apply(c->v, f.recs, 1, NULL), GS_OK);
    gs_tv_free(&f);
    char *after = gs_tv_dump(c->v);
    assert_string_equal(before, after);
    assert_int_equal(gs_views_watermark(c->v), 3);
    free(before);
    free(after);
}

static void test_queries(void **state)
{
    ctx *c = *state;
    assert_int_equal(feed(c, BIG_GUILD), GS_OK);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_CHANNEL, NULL, "name", "general"), 1);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_CHANNEL, "100", "type", "2"), 1);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_CHANNEL, "100", "type", "x"), 0);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_CHANNEL, "100", "parent_id", "null"), 2);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, NULL, "user.username", "u7"), 2);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_MEMBER, "100", "roles", "104"), 1);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_GUILD, NULL, "unavailable", "false"), 2);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_USER, "100", NULL, NULL), 2);
    assert_int_equal(gs_tv_count(c->v, GS_VIEW_USER, NULL, NULL, NULL), 3);

    /* AND of conditions, limit, both output formats. */
    gs_vwhere w[2] = {{"name", "general"}, {"type", "0"}};
    gs_vq_spec s = {.type = GS_VIEW_CHANNEL, .where = w, .nwhere = 2};
    gs_vq *q;
    const char *out;
    size_t len;
    assert_int_equal(gs_vq_open(c->v, &s, &q, NULL), GS_OK);
    assert_int_equal(gs_vq_next(q, GS_VFMT_JSON, &out, &len, NULL), 1);
    assert_string_equal(out, "{\"id\":\"101\",\"guild_id\":\"100\",\"name\":\"general\","
                             "\"type\":0}");
    assert_int_equal(gs_vq_next(q, GS_VFMT_JSON, &out, &len, NULL), 0);
    gs_vq_close(q);
    w[1].value = "2";
    assert_int_equal(gs_vq_open(c->v, &s, &q, NULL), GS_OK);
    assert_int_equal(gs_vq_next(q, GS_VFMT_JSON, &out, &len, NULL), 0);
    gs_vq_close(q);

    gs_vq_spec all = {.type = GS_VIEW_CHANNEL, .limit = 1};
    assert_int_equal(gs_vq_open(c->v, &all, &q, NULL), GS_OK);
    assert_int_equal(gs_vq_next(q, GS_VFMT_MSGPACK, &out, &len, NULL), 1);
    assert_int_equal((unsigned char)out[0] & 0xf0, 0x80); /* a msgpack fixmap */
    assert_int_equal(gs_vq_next(q, GS_VFMT_MSGPACK, &out, &len, NULL), 0);
    gs_vq_close(q);

    /* Guilds of a user, members of a user, through the index. */
    gs_vq_spec gu = {.type = GS_VIEW_GUILD, .user = 7};
    uint64_t n;
    assert_int_equal(gs_vq_open(c->v, &gu, &q, NULL), GS_OK);
    assert_int_equal(gs_vq_count(q, &n, NULL), GS_OK);
    assert_int_equal(n, 2);
    gs_vq_close(q);
    gu.type = GS_VIEW_MEMBER;
    gu.guild = 200;
    assert_int_equal(gs_vq_open(c->v, &gu, &q, NULL), GS_OK);
    assert_int_equal(gs_vq_count(q, &n, NULL), GS_OK);
    assert_int_equal(n, 1);
    gs_vq_close(q);
    gu.type = GS_VIEW_CHANNEL;
    gs_err err;
    assert_int_equal(gs_vq_open(c->v, &gu, &q, &err), GS_EMISUSE);

    /* Gets: a member needs its guild; an absent id is GS_ENOTFOUND. */
    char *buf;
    assert_int_equal(gs_views_get(c->v, GS_VIEW_MEMBER, 7, 0, GS_VFMT_JSON, &buf, &len, &err),
                     GS_EMISUSE);
    assert_int_equal(gs_views_get(c->v, GS_VIEW_CHANNEL, 999, 0, GS_VFMT_JSON, &buf, &len, &err),
                     GS_ENOTFOUND);
    assert_int_equal(gs_views_get(c->v, GS_VIEW_CHANNEL, 101, 200, GS_VFMT_JSON, &buf, &len, &err),
                     GS_ENOTFOUND);
    assert_int_equal(gs_views_get(c->v, GS_VIEW_CHANNEL, 101, 100, GS_VFMT_JSON, &buf, &len, &err),
                     GS_OK);
    free(buf);
    assert_int_equal(gs_views_get(c->v, (gs_view_type)99, 1, 0, GS_VFMT_JSON, &buf, &len, &err),
                     GS_EMISUSE);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ready_placeholders),
        T(test_guild_delete_unavailable_keeps),
        T(test_guild_delete_removed_drops_everything),
        T(test_guild_create_replaces_lists),
        T(test_channel_delete_drops_threads),
        T(test_role_delete_strips_members),
        T(test_member_update_nick),
        T(test_thread_list_sync),
        T(test_thread_members),
        T(test_voice_state_null_channel),
        T(test_message_partial_member),
        T(test_upsert_unknown),
        T(test_emojis_stickers_replace),
        T(test_members_chunk),
        T(test_bad_payloads),
        T(test_bad_elements),
        T(test_unknown_events_change_nothing),
        T(test_records_at_or_below_watermark_skipped),
        T(test_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
