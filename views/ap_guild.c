/*
 * ap_guild.c - READY, GUILD_CREATE, GUILD_UPDATE, GUILD_DELETE and
 * USER_UPDATE: guild lifecycle, availability and the current user.
 */
#include "gs_common.h"

#include <stdlib.h>

#include <string.h>

#include "views_int.h"

/* Lists in a guild payload that are stored as their own entities. */
static const char *const guild_children[] = {"channels",
                                             "threads",
                                             "roles",
                                             "members",
                                             "emojis",
                                             "stickers",
                                             "voice_states",
                                             "presences",
                                             "stage_instances",
                                             "guild_scheduled_events",
                                             "soundboard_sounds",
                                             NULL};

static int set_me(gs_vtx *tx, uint64_t me)
{
    uint8_t val[8];
    gs_be64(val, me);
    return gs_vtx_put(tx, GS_VCF_META, GS_VMETA_ME, strlen(GS_VMETA_ME), val, 8);
}

/* Mark a guild unavailable, creating a placeholder if unknown. */
static int guild_unavailable(gs_vtx *tx, uint64_t g, const gs_jval *obj)
{
    gs_vextra x = {.key = "unavailable", .kind = GS_VX_BOOL, .b = 1};
    int rc = gs_vent_write(tx, GS_VIEW_GUILD, 0, g, obj, guild_children, &x, 1, GS_VW_MERGE, NULL);
    return rc == GS_OK ? gs_vtx_avail(tx, g, 1) : rc;
}

static int is_true(gs_jval obj, const char *key)
{
    gs_jval v;
    int b = 0;
    return gs_json_getz(obj, key, &v) && gs_json_bool(v, &b) == 0 && b;
}

int gs_vh_ready(gs_vtx *tx, gs_jval d)
{
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc != GS_OK)
        return rc;
    gs_jval user, guilds, e;
    if (!gs_json_getz(d, "user", &user))
        return gs_vtx_bad(tx, "d: missing user");
    uint64_t me = 0;
    rc = gs_vuser_put(tx, user, 0, &me);
    if (rc == GS_OK)
        rc = set_me(tx, me);
    if (rc != GS_OK || !gs_json_getz(d, "guilds", &guilds))
        return rc;
    if (gs_json_type(guilds) != GS_JARRAY)
        return gs_vtx_bad(tx, "d.guilds is not an array");
    gs_jiter it;
    gs_json_arr_begin(guilds, &it);
    for (size_t i = 0; rc == GS_OK && gs_json_arr_next(&it, &e) == 1; i++) {
        uint64_t g;
        rc = gs_vreq_elem(tx, e, "d.guilds", i, "id", &g);
        /* Placeholders: each guild is unavailable until its GUILD_CREATE. */
        if (rc == GS_OK)
            rc = guild_unavailable(tx, g, &e);
    }
    return rc;
}

static int put_channel_elem(gs_vtx *tx, uint64_t g, uint64_t id, gs_jval e)
{
    return gs_vent_write(tx, GS_VIEW_CHANNEL, g, id, &e, NULL, NULL, 0, GS_VW_REPLACE, NULL);
}

static int put_thread_elem(gs_vtx *tx, uint64_t g, uint64_t id, gs_jval e)
{
    return gs_vthread_put(tx, g, id, &e, GS_VW_REPLACE);
}

static int put_voice_elem(gs_vtx *tx, uint64_t g, uint64_t user, gs_jval e)
{
    gs_jval member, ch;
    int rc = GS_OK;
    if (gs_json_getz(e, "member", &member) && gs_json_type(member) == GS_JOBJECT)
        rc = gs_vmember_put(tx, g, member, NULL, GS_VW_MERGE);
    if (rc != GS_OK)
        return rc;
    if (!gs_json_getz(e, "channel_id", &ch) || gs_json_type(ch) == GS_JNULL)
        return gs_vent_delete(tx, GS_VIEW_VOICE_STATE, g, user);
    return gs_vvoice_put(tx, g, user, e);
}

struct guild_list {
    const char *key;
    gs_view_type type;
    const char *idkey;
    gs_vent_put_fn put;
};

static const struct guild_list snapshot_lists[] = {
    {"channels", GS_VIEW_CHANNEL, "id", put_channel_elem},
    {"threads", GS_VIEW_THREAD, "id", put_thread_elem},
    {"roles", GS_VIEW_ROLE, "id", NULL},
    {"emojis", GS_VIEW_EMOJI, "id", NULL},
    {"stickers", GS_VIEW_STICKER, "id", NULL},
    {"voice_states", GS_VIEW_VOICE_STATE, "user_id", put_voice_elem},
    {"stage_instances", GS_VIEW_STAGE_INSTANCE, "id", NULL},
    {"guild_scheduled_events", GS_VIEW_SCHEDULED_EVENT, "id", NULL},
};

int gs_vh_guild_create(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", &g);
    if (rc != GS_OK)
        return rc;
    /* An unavailable guild object in GUILD_CREATE: an outage, not a
     * snapshot. Keep what is known. */
    if (is_true(d, "unavailable"))
        return guild_unavailable(tx, g, &d);

    gs_vextra avail = {.key = "unavailable", .kind = GS_VX_BOOL, .b = 0};
    rc = gs_vent_write(tx, GS_VIEW_GUILD, 0, g, &d, guild_children, &avail, 1, GS_VW_REPLACE, NULL);
    if (rc == GS_OK)
        rc = gs_vtx_avail(tx, g, 0);
    /* The snapshot replaces each list it carries; a list it lacks is left
     * as it is (a minimal payload is not a claim that the list is empty). */
    for (size_t i = 0; rc == GS_OK && i < GS_ARRAY_LEN(snapshot_lists); i++) {
        const struct guild_list *l = &snapshot_lists[i];
        gs_jval arr;
        if (!gs_json_getz(d, l->key, &arr) || gs_json_type(arr) == GS_JNULL)
            continue;
        char what[48];
        snprintf(what, sizeof(what), "d.%s", l->key);
        rc = gs_vent_replace_set(tx, l->type, g, arr, l->idkey, what, l->put);
    }
    /* Members and presences are partial lists (intents, large guilds):
     * added or updated, never removed by absence. */
    gs_jval arr, e;
    gs_jiter it;
    if (rc == GS_OK && gs_json_getz(d, "members", &arr) && gs_json_type(arr) != GS_JNULL) {
        if (gs_json_type(arr) != GS_JARRAY)
            return gs_vtx_bad(tx, "d.members is not an array");
        gs_vahead ahead;
        gs_vahead_begin(tx, &ahead, arr, g);
        gs_json_arr_begin(arr, &it);
        while (rc == GS_OK && gs_json_arr_next(&it, &e) == 1) {
            gs_vahead_step(tx, &ahead);
            rc = gs_vreq_obj(tx, e, "d.members[]");
            if (rc == GS_OK)
                rc = gs_vmember_put(tx, g, e, NULL, GS_VW_MERGE);
        }
    }
    if (rc == GS_OK && gs_json_getz(d, "presences", &arr) && gs_json_type(arr) != GS_JNULL) {
        if (gs_json_type(arr) != GS_JARRAY)
            return gs_vtx_bad(tx, "d.presences is not an array");
        gs_json_arr_begin(arr, &it);
        while (rc == GS_OK && gs_json_arr_next(&it, &e) == 1)
            rc = gs_vpresence_put(tx, g, e);
    }
    return rc;
}

int gs_vh_guild_update(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", &g);
    if (rc != GS_OK)
        return rc;
    uint8_t key[16];
    char *old;
    size_t old_len;
    rc = gs_vtx_get(tx, GS_VIEW_GUILD, key, gs_vkey(GS_VIEW_GUILD, 0, g, key), &old, &old_len);
    if (rc < 0)
        return rc;
    free(old);
    /* Fields merge; children stay. A guild we did not know yet is an
     * available one (updates come only for guilds the bot is in). */
    gs_vextra avail = {.key = "unavailable", .kind = GS_VX_BOOL, .b = 0};
    int known = rc == 1;
    rc = gs_vent_write(tx, GS_VIEW_GUILD, 0, g, &d, guild_children, &avail, known ? 0 : 1,
                       GS_VW_MERGE, NULL);
    if (rc == GS_OK && !known)
        rc = gs_vtx_avail(tx, g, 0);
    return rc;
}

int gs_vh_guild_delete(gs_vtx *tx, gs_jval d)
{
    uint64_t g;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", &g);
    if (rc != GS_OK)
        return rc;
    if (is_true(d, "unavailable"))
        return guild_unavailable(tx, g, NULL);
    /* No `unavailable` (or false): the bot left or was removed. The guild
     * and everything under it goes. */
    for (int t = 0; rc == GS_OK && t < GS_VIEW_TYPE_COUNT; t++) {
        if (t == GS_VIEW_GUILD || t == GS_VIEW_USER)
            continue;
        rc = gs_vent_delete_guild(tx, (gs_view_type)t, g);
    }
    if (rc == GS_OK)
        rc = gs_vtomb_drop_guild(tx, g);
    if (rc == GS_OK)
        rc = gs_vent_delete(tx, GS_VIEW_GUILD, 0, g);
    if (rc == GS_OK)
        rc = gs_vtx_avail(tx, g, -1);
    return rc;
}

int gs_vh_user_update(gs_vtx *tx, gs_jval d)
{
    uint64_t me = 0;
    int rc = gs_vuser_put(tx, d, 0, &me);
    return rc == GS_OK ? set_me(tx, me) : rc;
}
