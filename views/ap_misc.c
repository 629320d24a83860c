/*
 * ap_misc.c - emojis, stickers, voice states, stage instances and scheduled
 * events.
 */
#include "gs_common.h"

#include <stdio.h>

#include "views_int.h"

static int guild_list(gs_vtx *tx, gs_jval d, const char *key, gs_view_type t)
{
    uint64_t g;
    gs_jval arr;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "guild_id", "d", &g);
    if (rc == GS_OK && !gs_json_getz(d, key, &arr))
        rc = gs_vtx_bad(tx, "d: missing %s", key);
    if (rc != GS_OK)
        return rc;
    char what[32];
    snprintf(what, sizeof(what), "d.%s", key);
    /* The event carries the whole set: replace it. */
    return gs_vent_replace_set(tx, t, g, arr, "id", what, NULL);
}

int gs_vh_emojis_update(gs_vtx *tx, gs_jval d)
{
    return guild_list(tx, d, "emojis", GS_VIEW_EMOJI);
}

int gs_vh_stickers_update(gs_vtx *tx, gs_jval d)
{
    return guild_list(tx, d, "stickers", GS_VIEW_STICKER);
}

static const char *const voice_skip[] = {"member", NULL};

int gs_vvoice_put(gs_vtx *tx, uint64_t guild, uint64_t user, gs_jval vs)
{
    return gs_vent_write(tx, GS_VIEW_VOICE_STATE, guild, user, &vs, voice_skip, NULL, 0,
                         GS_VW_REPLACE, NULL);
}

int gs_vh_voice_state_update(gs_vtx *tx, gs_jval d)
{
    uint64_t g, user;
    gs_jval member, ch;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "user_id", "d", &user);
    if (rc == GS_OK)
        rc = gs_vopt_id(tx, d, "guild_id", "d", &g); /* 0: a DM call */
    if (rc != GS_OK)
        return rc;
    if (g && gs_json_getz(d, "member", &member) && gs_json_type(member) == GS_JOBJECT) {
        rc = gs_vmember_put(tx, g, member, NULL, GS_VW_MERGE);
        if (rc != GS_OK)
            return rc;
    }
    /* A null channel: the user left voice. */
    if (!gs_json_getz(d, "channel_id", &ch) || gs_json_type(ch) == GS_JNULL)
        return gs_vent_delete(tx, GS_VIEW_VOICE_STATE, g, user);
    return gs_vvoice_put(tx, g, user, d);
}

static int guild_entity(gs_vtx *tx, gs_jval d, gs_view_type t, int del)
{
    uint64_t g, id;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "id", "d", &id);
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "guild_id", "d", &g);
    if (rc != GS_OK)
        return rc;
    if (del)
        return gs_vent_delete(tx, t, g, id);
    return gs_vent_write(tx, t, g, id, &d, NULL, NULL, 0, GS_VW_MERGE, NULL);
}

int gs_vh_stage_upsert(gs_vtx *tx, gs_jval d)
{
    return guild_entity(tx, d, GS_VIEW_STAGE_INSTANCE, 0);
}

int gs_vh_stage_delete(gs_vtx *tx, gs_jval d)
{
    return guild_entity(tx, d, GS_VIEW_STAGE_INSTANCE, 1);
}

int gs_vh_sched_upsert(gs_vtx *tx, gs_jval d)
{
    return guild_entity(tx, d, GS_VIEW_SCHEDULED_EVENT, 0);
}

int gs_vh_sched_delete(gs_vtx *tx, gs_jval d)
{
    return guild_entity(tx, d, GS_VIEW_SCHEDULED_EVENT, 1);
}
