/*
 * dispatch.c - gateway event names to appliers. Events not listed change
 * nothing (FORMAT.md, "Events").
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

/* What a handler reads first, by payload shape (gs_vhint_keys). */
enum {
    H_NONE,
    H_MEMBER,   /* guild_id, user.id: member and user */
    H_AUTHOR,   /* guild_id, author.id: member and user */
    H_USER_ID,  /* guild_id, user_id: member and user */
    H_VOICE,    /* guild_id, user_id: voice state, member and user */
    H_PRESENCE, /* guild_id, user.id: presence and user */
    H_CHANNEL,  /* guild_id, id */
    H_THREAD,   /* guild_id, id */
    H_ROLE,     /* guild_id, role.id or role_id */
    H_USER,     /* id: the user (USER_UPDATE) */
    H_GUILD     /* id */
};

struct route {
    const char *name;
    gs_vhandler fn;
    int hint;
};

/* Sorted by name (strcmp order) for bsearch. */
static const struct route routes[] = {
    {"CHANNEL_CREATE", gs_vh_channel_upsert, H_CHANNEL},
    {"CHANNEL_DELETE", gs_vh_channel_delete, H_CHANNEL},
    {"CHANNEL_PINS_UPDATE", gs_vh_channel_pins, H_NONE},
    {"CHANNEL_UPDATE", gs_vh_channel_upsert, H_CHANNEL},
    {"GUILD_CREATE", gs_vh_guild_create, H_NONE},
    {"GUILD_DELETE", gs_vh_guild_delete, H_NONE},
    {"GUILD_EMOJIS_UPDATE", gs_vh_emojis_update, H_NONE},
    {"GUILD_MEMBERS_CHUNK", gs_vh_members_chunk, H_NONE},
    {"GUILD_MEMBER_ADD", gs_vh_member_upsert, H_MEMBER},
    {"GUILD_MEMBER_REMOVE", gs_vh_member_remove, H_MEMBER},
    {"GUILD_MEMBER_UPDATE", gs_vh_member_upsert, H_MEMBER},
    {"GUILD_ROLE_CREATE", gs_vh_role_upsert, H_ROLE},
    {"GUILD_ROLE_DELETE", gs_vh_role_delete, H_ROLE},
    {"GUILD_ROLE_UPDATE", gs_vh_role_upsert, H_ROLE},
    {"GUILD_SCHEDULED_EVENT_CREATE", gs_vh_sched_upsert, H_NONE},
    {"GUILD_SCHEDULED_EVENT_DELETE", gs_vh_sched_delete, H_NONE},
    {"GUILD_SCHEDULED_EVENT_UPDATE", gs_vh_sched_upsert, H_NONE},
    {"GUILD_STICKERS_UPDATE", gs_vh_stickers_update, H_NONE},
    {"GUILD_UPDATE", gs_vh_guild_update, H_GUILD},
    {"MESSAGE_CREATE", gs_vh_message, H_AUTHOR},
    {"MESSAGE_REACTION_ADD", gs_vh_member_in_event, H_USER_ID},
    {"MESSAGE_UPDATE", gs_vh_message, H_AUTHOR},
    {"PRESENCE_UPDATE", gs_vh_presence_update, H_PRESENCE},
    {"READY", gs_vh_ready, H_NONE},
    {"STAGE_INSTANCE_CREATE", gs_vh_stage_upsert, H_NONE},
    {"STAGE_INSTANCE_DELETE", gs_vh_stage_delete, H_NONE},
    {"STAGE_INSTANCE_UPDATE", gs_vh_stage_upsert, H_NONE},
    {"THREAD_CREATE", gs_vh_thread_upsert, H_THREAD},
    {"THREAD_DELETE", gs_vh_thread_delete, H_THREAD},
    {"THREAD_LIST_SYNC", gs_vh_thread_list_sync, H_NONE},
    {"THREAD_MEMBERS_UPDATE", gs_vh_thread_members_update, H_NONE},
    {"THREAD_MEMBER_UPDATE", gs_vh_thread_member_update, H_NONE},
    {"THREAD_UPDATE", gs_vh_thread_upsert, H_THREAD},
    {"TYPING_START", gs_vh_member_in_event, H_USER_ID},
    {"USER_UPDATE", gs_vh_user_update, H_USER},
    {"VOICE_STATE_UPDATE", gs_vh_voice_state_update, H_VOICE},
};

struct name_key {
    const char *s;
    size_t len;
};

static int cmp_route(const void *key, const void *elem)
{
    const struct name_key *k = key;
    const char *name = ((const struct route *)elem)->name;
    size_t nlen = strlen(name);
    int c = memcmp(k->s, name, k->len < nlen ? k->len : nlen);
    if (c != 0)
        return c;
    return k->len < nlen ? -1 : k->len > nlen;
}

gs_vhandler gs_vdispatch_hinted(const char *name, size_t len, int *hint)
{
    struct name_key k = {name, len};
    const struct route *r = bsearch(&k, routes, GS_ARRAY_LEN(routes), sizeof(routes[0]), cmp_route);
    if (hint)
        *hint = r ? r->hint : H_NONE;
    return r ? r->fn : NULL;
}

gs_vhandler gs_vdispatch(const char *name, size_t len)
{
    return gs_vdispatch_hinted(name, len, NULL);
}

/* obj.key, or obj.outer.key when outer is given, as an id (gs_vid_look):
 * 0 if absent or not one. */
static uint64_t id_at(gs_jval obj, const char *outer, const char *key)
{
    gs_jval o;
    uint64_t id;
    if (outer && !gs_json_getz(obj, outer, &o))
        return 0;
    return gs_vid_look(outer ? o : obj, key, &id) == 1 ? id : 0;
}

static size_t add_key(gs_vhint_key *out, size_t n, size_t max, gs_view_type t, uint64_t g,
                      uint64_t id)
{
    if (n == max || !id)
        return n;
    out[n].cf = (uint8_t)t;
    out[n].klen = (uint8_t)gs_vkey(t, g, id, out[n].key);
    return n + 1;
}

size_t gs_vhint_keys(int hint, gs_jval d, gs_vhint_key *out, size_t max)
{
    if (hint == H_NONE || gs_json_type(d) != GS_JOBJECT)
        return 0;
    uint64_t g = id_at(d, NULL, "guild_id"), u = 0;
    size_t n = 0;
    switch (hint) {
    case H_MEMBER:
    case H_PRESENCE:
        u = id_at(d, "user", "id");
        break;
    case H_AUTHOR:
        u = id_at(d, "author", "id");
        break;
    case H_USER_ID:
    case H_VOICE:
        u = id_at(d, NULL, "user_id");
        break;
    case H_CHANNEL:
        return g ? add_key(out, n, max, GS_VIEW_CHANNEL, g, id_at(d, NULL, "id")) : 0;
    case H_THREAD:
        return g ? add_key(out, n, max, GS_VIEW_THREAD, g, id_at(d, NULL, "id")) : 0;
    case H_ROLE: {
        uint64_t r = id_at(d, "role", "id");
        return g ? add_key(out, n, max, GS_VIEW_ROLE, g, r ? r : id_at(d, NULL, "role_id")) : 0;
    }
    case H_USER:
        return add_key(out, n, max, GS_VIEW_USER, 0, id_at(d, NULL, "id"));
    case H_GUILD:
        return add_key(out, n, max, GS_VIEW_GUILD, 0, id_at(d, NULL, "id"));
    default:
        return 0;
    }
    if (hint == H_VOICE && g)
        n = add_key(out, n, max, GS_VIEW_VOICE_STATE, g, u);
    if (hint == H_PRESENCE && g)
        n = add_key(out, n, max, GS_VIEW_PRESENCE, g, u);
    else if (g)
        n = add_key(out, n, max, GS_VIEW_MEMBER, g, u);
    return add_key(out, n, max, GS_VIEW_USER, 0, u);
}
