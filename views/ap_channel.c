/*
 * ap_channel.c - channels and threads: CHANNEL_*, THREAD_*.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

/* Event flags, not state. */
static const char *const thread_skip[] = {"newly_created", NULL};

int gs_vchan_is_thread(gs_jval obj)
{
    gs_jval t;
    int64_t type;
    if (!gs_json_getz(obj, "type", &t) || gs_json_int64(t, &type) != 0)
        return 0;
    return type == 10 || type == 11 || type == 12;
}

int gs_vthread_put(gs_vtx *tx, uint64_t guild, uint64_t id, const gs_jval *obj, int mode)
{
    return gs_vent_write(tx, GS_VIEW_THREAD, guild, id, obj, thread_skip, NULL, 0, mode, NULL);
}

/* Is the stored thread value archived, and what is its parent? */
static void thread_info(const uint8_t *val, size_t len, int *archived, uint64_t *parent)
{
    const uint8_t *p;
    size_t pl;
    *archived = 0;
    *parent = 0;
    if (gs_mp_path_find(val, len, "thread_metadata.archived", &p, &pl) == 1)
        *archived = pl == 1 && p[0] == 0xc3;
    if (gs_mp_map_find(val, len, "parent_id", 9, &p, &pl) == 1)
        gs_mp_as_id(p, pl, parent);
}

/* Delete the threads of guild whose parent is in parents[0..n) (n == 0:
 * any parent), the archived ones too unless only_active. */
static int delete_threads(gs_vtx *tx, uint64_t guild, const uint64_t *parents, size_t n,
                          int any_parent, int only_active)
{
    uint8_t prefix[8];
    gs_be64(prefix, guild);
    gs_vtx_it it;
    tx->nids = 0;
    int rc = gs_vtx_it_open(tx, GS_VIEW_THREAD, prefix, 8, &it);
    if (rc != GS_OK)
        return rc;
    /* Collect first: the batch must not change under its own iterator. */
    size_t cap = 0;
    uint64_t *victims = NULL;
    size_t nv = 0;
    while ((rc = gs_vtx_it_valid(tx, &it)) == 1) {
        size_t klen, vlen;
        const uint8_t *k = gs_vtx_it_key(&it, &klen);
        const uint8_t *v = gs_vtx_it_val(&it, &vlen);
        int archived;
        uint64_t parent;
        thread_info(v, vlen, &archived, &parent);
        int match = any_parent;
        for (size_t i = 0; i < n && !match; i++)
            match = parents[i] == parent;
        if (match && !(only_active && archived) && klen == 16) {
            if (nv == cap) {
                cap = cap ? cap * 2 : 16;
                uint64_t *nvp = realloc(victims, cap * sizeof(*nvp));
                if (!nvp) {
                    rc = gs_err_set(tx->err, GS_ENOMEM, "out of memory deleting threads");
                    break;
                }
                victims = nvp;
            }
            victims[nv++] = gs_get_be64(k + 8);
        }
        gs_vtx_it_next(&it);
    }
    gs_vtx_it_close(&it);
    if (rc >= 0)
        rc = GS_OK;
    for (size_t i = 0; i < nv && rc == GS_OK; i++)
        rc = gs_vent_delete(tx, GS_VIEW_THREAD, guild, victims[i]);
    free(victims);
    return rc;
}

int gs_vchannel_delete_threads(gs_vtx *tx, uint64_t guild, uint64_t parent)
{
    return delete_threads(tx, guild, &parent, 1, 0, 0);
}

static int thread_ids(gs_vtx *tx, gs_jval d, uint64_t *g, uint64_t *id)
{
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", id);
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "guild_id", "d", g);
    return rc;
}

int gs_vh_thread_upsert(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    int rc = thread_ids(tx, d, &g, &id);
    return rc == GS_OK ? gs_vthread_put(tx, g, id, &d, GS_VW_MERGE) : rc;
}

int gs_vh_thread_delete(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    int rc = thread_ids(tx, d, &g, &id);
    return rc == GS_OK ? gs_vent_delete(tx, GS_VIEW_THREAD, g, id) : rc;
}

int gs_vh_channel_upsert(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK && gs_vchan_is_thread(d))
        return gs_vh_thread_upsert(tx, d);
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", &id);
    if (rc == GS_OK)
        rc = gs_vopt_id(tx, d, "guild_id", "d", &g); /* 0: a DM channel */
    if (rc != GS_OK)
        return rc;
    return gs_vent_write(tx, GS_VIEW_CHANNEL, g, id, &d, NULL, NULL, 0, GS_VW_MERGE, NULL);
}

int gs_vh_channel_delete(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK && gs_vchan_is_thread(d))
        return gs_vh_thread_delete(tx, d);
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", &id);
    if (rc == GS_OK)
        rc = gs_vopt_id(tx, d, "guild_id", "d", &g);
    if (rc == GS_OK)
        rc = gs_vent_delete(tx, GS_VIEW_CHANNEL, g, id);
    /* Discord sends no THREAD_DELETE for the threads of a deleted channel. */
    if (rc == GS_OK && g)
        rc = gs_vchannel_delete_threads(tx, g, id);
    return rc;
}

int gs_vh_channel_pins(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "channel_id", "d", &id);
    if (rc == GS_OK)
        rc = gs_vopt_id(tx, d, "guild_id", "d", &g);
    if (rc != GS_OK)
        return rc;
    gs_jval ts;
    gs_vextra x = {.key = "last_pin_timestamp", .kind = GS_VX_NULL};
    if (gs_json_getz(d, "last_pin_timestamp", &ts)) {
        x.kind = GS_VX_JSON;
        x.j = ts;
    }
    /* The channel may be a thread. */
    uint8_t key[16];
    char *old;
    size_t old_len;
    gs_view_type t = GS_VIEW_CHANNEL;
    if (g) {
        rc = gs_vtx_get(tx, GS_VIEW_THREAD, key, gs_vkey(GS_VIEW_THREAD, g, id, key), &old,
                        &old_len);
        if (rc < 0)
            return rc;
        free(old);
        if (rc == 1)
            t = GS_VIEW_THREAD;
    }
    return gs_vent_write(tx, t, g, id, NULL, NULL, &x, 1, GS_VW_MERGE, NULL);
}

static int parse_ids(gs_vtx *tx, gs_jval arr, const char *what, uint64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (gs_json_type(arr) != GS_JARRAY)
        return gs_vtx_bad(tx, "%s is not an array", what);
    size_t len = gs_json_len(arr);
    if (len == 0)
        return GS_OK;
    uint64_t *ids = malloc(len * sizeof(*ids));
    if (!ids)
        return gs_err_set(tx->err, GS_ENOMEM, "out of memory reading %s", what);
    gs_jiter it;
    gs_jval e;
    gs_json_arr_begin(arr, &it);
    while (gs_json_arr_next(&it, &e) == 1) {
        if (gs_json_snowflake(e, &ids[*n]) != 0) {
            free(ids);
            return gs_vtx_bad(tx, "%s[%zu] is not a snowflake", what, *n);
        }
        (*n)++;
    }
    *out = ids;
    return GS_OK;
}

static int set_thread_member(gs_vtx *tx, uint64_t g, uint64_t thread, gs_jval member)
{
    gs_vextra x = {.key = "member", .kind = GS_VX_JSON, .j = member};
    return gs_vent_write(tx, GS_VIEW_THREAD, g, thread, NULL, NULL, &x, 1, GS_VW_MERGE, NULL);
}

int gs_vh_thread_list_sync(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "guild_id", "d", &g);
    if (rc != GS_OK)
        return rc;
    gs_jval cids, threads, members, e;
    uint64_t *parents = NULL;
    size_t nparents = 0;
    int all = 1;
    if (gs_json_getz(d, "channel_ids", &cids) && gs_json_type(cids) != GS_JNULL) {
        rc = parse_ids(tx, cids, "d.channel_ids", &parents, &nparents);
        all = 0;
    }
    if (rc == GS_OK && gs_json_getz(d, "threads", &threads) && gs_json_type(threads) != GS_JARRAY)
        rc = gs_vtx_bad(tx, "d.threads is not an array");
    /* Docs (topics/threads): clear the active threads of the synced parents
     * (of every parent without channel_ids), then take the list. */
    if (rc == GS_OK)
        rc = delete_threads(tx, g, parents, nparents, all, 1);
    free(parents);
    gs_jiter it;
    if (rc == GS_OK && gs_json_getz(d, "threads", &threads)) {
        gs_json_arr_begin(threads, &it);
        for (size_t i = 0; rc == GS_OK && gs_json_arr_next(&it, &e) == 1; i++) {
            uint64_t id;
            rc = gs_vreq_elem(tx, e, "d.threads", i, "id", &id);
            if (rc == GS_OK)
                rc = gs_vthread_put(tx, g, id, &e, GS_VW_MERGE);
        }
    }
    if (rc == GS_OK && gs_json_getz(d, "members", &members) && gs_json_type(members) != GS_JNULL) {
        if (gs_json_type(members) != GS_JARRAY)
            return gs_vtx_bad(tx, "d.members is not an array");
        gs_json_arr_begin(members, &it);
        for (size_t i = 0; rc == GS_OK && gs_json_arr_next(&it, &e) == 1; i++) {
            uint64_t id;
            rc = gs_vreq_elem(tx, e, "d.members", i, "id", &id);
            if (rc == GS_OK)
                rc = set_thread_member(tx, g, id, e);
        }
    }
    return rc;
}

int gs_vh_thread_member_update(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    int rc = thread_ids(tx, d, &g, &id);
    return rc == GS_OK ? set_thread_member(tx, g, id, d) : rc;
}

int gs_vh_thread_members_update(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id, me;
    int rc = thread_ids(tx, d, &g, &id);
    if (rc == GS_OK)
        rc = gs_vtx_me(tx, &me);
    if (rc != GS_OK)
        return rc;
    gs_vextra x[2];
    size_t nx = 0;
    gs_jval count, added, removed, e;
    if (gs_json_getz(d, "member_count", &count))
        x[nx++] = (gs_vextra){.key = "member_count", .kind = GS_VX_JSON, .j = count};
    /* The thread's `member` is the current user's thread member: set it
     * when we were added, drop it when we were removed. */
    int removed_me = 0;
    if (gs_json_getz(d, "removed_member_ids", &removed) && gs_json_type(removed) != GS_JNULL) {
        uint64_t *ids;
        size_t n;
        rc = parse_ids(tx, removed, "d.removed_member_ids", &ids, &n);
        if (rc != GS_OK)
            return rc;
        for (size_t i = 0; i < n; i++)
            removed_me |= me && ids[i] == me;
        free(ids);
    }
    if (gs_json_getz(d, "added_members", &added) && gs_json_type(added) != GS_JNULL) {
        if (gs_json_type(added) != GS_JARRAY)
            return gs_vtx_bad(tx, "d.added_members is not an array");
        gs_jiter it;
        gs_json_arr_begin(added, &it);
        while (gs_json_arr_next(&it, &e) == 1) {
            uint64_t uid = 0;
            gs_jval u;
            if (gs_json_getz(e, "user_id", &u) && gs_json_snowflake(u, &uid) == 0 && me &&
                uid == me) {
                x[nx++] = (gs_vextra){.key = "member", .kind = GS_VX_JSON, .j = e};
                removed_me = 0;
                break;
            }
        }
    }
    static const char *const drop_member[] = {"member", NULL};
    return gs_vent_write(tx, GS_VIEW_THREAD, g, id, NULL, removed_me ? drop_member : NULL, x, nx,
                         GS_VW_MERGE, NULL);
}
