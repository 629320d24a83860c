/*
 * ap_member.c - members, users and presences: GUILD_MEMBER_ADD / UPDATE /
 * REMOVE, GUILD_MEMBERS_CHUNK, PRESENCE_UPDATE, and the (partial) members
 * carried by MESSAGE_CREATE / MESSAGE_UPDATE, TYPING_START and
 * MESSAGE_REACTION_ADD. Users are stored once; members refer to them by the
 * key (guild, user id), as Discord does.
 */
#include "gs_common.h"

#include <stdlib.h>

#include "views_int.h"

/* A member value never embeds its user; a presence keeps only {id}. */
static const char *const member_skip[] = {"user", NULL};
static const char *const presence_skip[] = {"user", NULL};

#define AHEAD_FAR  8
#define AHEAD_NEAR 4

size_t gs_vahead_keys(uint64_t guild, gs_jval e, gs_vhint_key out[2])
{
    gs_jval u;
    uint64_t id;
    if (!gs_json_getz(e, "user", &u) || gs_vid_look(u, "id", &id) != 1)
        return 0;
    out[0].cf = GS_VIEW_MEMBER;
    out[0].klen = (uint8_t)gs_vkey(GS_VIEW_MEMBER, guild, id, out[0].key);
    out[1].cf = GS_VIEW_USER;
    out[1].klen = (uint8_t)gs_vkey(GS_VIEW_USER, 0, id, out[1].key);
    return 2;
}

/* Element e's keys at the given prefetch step (gs_vcache_prefetch). Called
 * with cache_lock held for reading. */
static void ahead_one(gs_views *v, uint64_t g, gs_jval e, int step)
{
    gs_vhint_key k[2];
    size_t n = gs_vahead_keys(g, e, k);
    for (size_t i = 0; i < n; i++)
        gs_vcache_prefetch(v->ecache, k[i].cf, k[i].key, k[i].klen, step);
}

/* Without this, a snapshot's member loop waited on each lookup's bucket
 * chain (slot_of: 9 % of the applying thread's samples over the chunked
 * file's snapshot phase, bench-views). */
void gs_vahead_begin(gs_vtx *tx, gs_vahead *a, gs_jval arr, uint64_t guild)
{
    a->on = tx->v->ecache != NULL && gs_vtx_keeps(tx, GS_VIEW_MEMBER);
    a->guild = guild;
    if (!a->on)
        return;
    gs_jval e;
    gs_json_arr_begin(arr, &a->far);
    gs_json_arr_begin(arr, &a->near);
    for (int i = 0; i < AHEAD_FAR; i++)
        if (gs_json_arr_next(&a->far, &e) != 1)
            break;
    for (int i = 0; i < AHEAD_NEAR; i++)
        if (gs_json_arr_next(&a->near, &e) != 1)
            break;
}

void gs_vahead_step(gs_vtx *tx, gs_vahead *a)
{
    if (!a->on)
        return;
    gs_views *v = tx->v;
    gs_jval far, near;
    int has_far = gs_json_arr_next(&a->far, &far) == 1;
    int has_near = gs_json_arr_next(&a->near, &near) == 1;
    if (!has_near)
        return; /* (then none far either) */
    /* The cache's buckets may be replaced by a writer (a point get
     * filling it) unless a read lock is held; records above
     * LOCKED_MAX_FRAME (apply.c) hold none throughout. */
    if (!v->reads_locked)
        pthread_rwlock_rdlock(&v->cache_lock);
    if (has_far)
        ahead_one(v, a->guild, far, 0);
    ahead_one(v, a->guild, near, 1);
    if (!v->reads_locked)
        pthread_rwlock_unlock(&v->cache_lock);
}

int gs_vuser_put(gs_vtx *tx, gs_jval user, int only_if_known, uint64_t *id_out)
{
    uint64_t id;
    int rc = gs_vreq_obj(tx, user, "user");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, user, "id", "user", &id);
    if (rc != GS_OK)
        return rc;
    if (id_out)
        *id_out = id;
    /* Partial users (presences) refine users we hold; they do not create
     * users no membership refers to. */
    if (only_if_known && gs_json_len(user) <= 1)
        return GS_OK;
    /* Merge: a partial user (MESSAGE_CREATE author, presence) must not wipe
     * what a full one told us. */
    return gs_vent_write(tx, GS_VIEW_USER, 0, id, &user, NULL, NULL, 0,
                         GS_VW_MERGE | (only_if_known ? GS_VW_KNOWN : 0), NULL);
}

int gs_vmember_put(gs_vtx *tx, uint64_t guild, gs_jval member, const gs_jval *user, int mode)
{
    gs_jval u;
    if (!user) {
        if (!gs_json_getz(member, "user", &u))
            return gs_vtx_bad(tx, "member: missing user");
        user = &u;
    }
    uint64_t uid;
    int rc = gs_vuser_put(tx, *user, 0, &uid);
    if (rc != GS_OK)
        return rc;
    return gs_vent_write(tx, GS_VIEW_MEMBER, guild, uid, &member, member_skip, NULL, 0, mode, NULL);
}

int gs_vpresence_put(gs_vtx *tx, uint64_t guild, gs_jval presence)
{
    gs_jval user;
    uint64_t uid;
    int rc = gs_vreq_obj(tx, presence, "presence");
    if (rc == GS_OK && !gs_json_getz(presence, "user", &user))
        rc = gs_vtx_bad(tx, "presence: missing user");
    if (rc == GS_OK)
        rc = gs_vuser_put(tx, user, 1, &uid);
    if (rc != GS_OK)
        return rc;
    /* "Any combination of fields may be missing" (docs): merge. */
    return gs_vent_write(tx, GS_VIEW_PRESENCE, guild, uid, &presence, presence_skip, NULL, 0,
                         GS_VW_MERGE, NULL);
}

static int guild_of(gs_vtx *tx, gs_jval d, uint64_t *g)
{
    int rc = gs_vreq_obj(tx, d, "d");
    return rc == GS_OK ? gs_vreq_id(tx, d, "guild_id", "d", g) : rc;
}

int gs_vh_member_upsert(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    int rc = guild_of(tx, d, &g);
    /* GUILD_MEMBER_UPDATE carries the full role list (replaced); a missing
     * `nick` key leaves the nick unchanged: a merge does both. */
    return rc == GS_OK ? gs_vmember_put(tx, g, d, NULL, GS_VW_MERGE) : rc;
}

int gs_vh_member_remove(gs_vtx *tx, gs_jval d)
{
    uint64_t g, uid;
    gs_jval user;
    int rc = guild_of(tx, d, &g);
    if (rc == GS_OK && !gs_json_getz(d, "user", &user))
        rc = gs_vtx_bad(tx, "d: missing user");
    if (rc == GS_OK)
        rc = gs_vreq_obj(tx, user, "d.user");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, user, "id", "d.user", &uid);
    /* A presence is only meaningful for a member. */
    if (rc == GS_OK)
        rc = gs_vent_delete(tx, GS_VIEW_PRESENCE, g, uid);
    if (rc == GS_OK)
        rc = gs_vent_delete(tx, GS_VIEW_MEMBER, g, uid);
    return rc;
}

int gs_vh_members_chunk(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    gs_jval arr, e;
    gs_jiter it;
    int rc = guild_of(tx, d, &g);
    if (rc == GS_OK && !gs_json_getz(d, "members", &arr))
        rc = gs_vtx_bad(tx, "d: missing members");
    if (rc == GS_OK && gs_json_type(arr) != GS_JARRAY)
        rc = gs_vtx_bad(tx, "d.members is not an array");
    if (rc != GS_OK)
        return rc;
    gs_vahead ahead;
    gs_vahead_begin(tx, &ahead, arr, g);
    gs_json_arr_begin(arr, &it);
    for (size_t i = 0; rc == GS_OK && gs_json_arr_next(&it, &e) == 1; i++) {
        gs_vahead_step(tx, &ahead);
        rc = gs_vreq_elem(tx, e, "d.members", i, NULL, NULL);
        if (rc == GS_OK)
            rc = gs_vmember_put(tx, g, e, NULL, GS_VW_MERGE);
    }
    if (rc != GS_OK || !gs_json_getz(d, "presences", &arr) || gs_json_type(arr) == GS_JNULL)
        return rc;
    if (gs_json_type(arr) != GS_JARRAY)
        return gs_vtx_bad(tx, "d.presences is not an array");
    gs_json_arr_begin(arr, &it);
    while (rc == GS_OK && gs_json_arr_next(&it, &e) == 1)
        rc = gs_vpresence_put(tx, g, e);
    return rc;
}

int gs_vh_message(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    gs_jval member, author;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vopt_id(tx, d, "guild_id", "d", &g);
    if (rc != GS_OK || !g)
        return rc;
    /* The partial member (no user; the author is the user) upserts the
     * member without wiping the fields it lacks. */
    if (!gs_json_getz(d, "member", &member) || gs_json_type(member) != GS_JOBJECT)
        return GS_OK;
    if (!gs_json_getz(d, "author", &author))
        return gs_vtx_bad(tx, "d: member without author");
    return gs_vmember_put(tx, g, member, &author, GS_VW_MERGE);
}

int gs_vh_member_in_event(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    gs_jval member;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vopt_id(tx, d, "guild_id", "d", &g);
    if (rc != GS_OK || !g)
        return rc;
    if (!gs_json_getz(d, "member", &member) || gs_json_type(member) != GS_JOBJECT)
        return GS_OK;
    return gs_vmember_put(tx, g, member, NULL, GS_VW_MERGE);
}

int gs_vh_presence_update(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    int rc = guild_of(tx, d, &g);
    return rc == GS_OK ? gs_vpresence_put(tx, g, d) : rc;
}
