/*
 * dispatch.c - gateway event names to appliers. Events not listed change
 * nothing (FORMAT.md, "Events").
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

struct route {
    const char *name;
    gs_vhandler fn;
};

/* Sorted by name (strcmp order) for bsearch. */
static const struct route routes[] = {
    {"CHANNEL_CREATE", gs_vh_channel_upsert},
    {"CHANNEL_DELETE", gs_vh_channel_delete},
    {"CHANNEL_PINS_UPDATE", gs_vh_channel_pins},
    {"CHANNEL_UPDATE", gs_vh_channel_upsert},
    {"GUILD_CREATE", gs_vh_guild_create},
    {"GUILD_DELETE", gs_vh_guild_delete},
    {"GUILD_EMOJIS_UPDATE", gs_vh_emojis_update},
    {"GUILD_MEMBERS_CHUNK", gs_vh_members_chunk},
    {"GUILD_MEMBER_ADD", gs_vh_member_upsert},
    {"GUILD_MEMBER_REMOVE", gs_vh_member_remove},
    {"GUILD_MEMBER_UPDATE", gs_vh_member_upsert},
    {"GUILD_ROLE_CREATE", gs_vh_role_upsert},
    {"GUILD_ROLE_DELETE", gs_vh_role_delete},
    {"GUILD_ROLE_UPDATE", gs_vh_role_upsert},
    {"GUILD_SCHEDULED_EVENT_CREATE", gs_vh_sched_upsert},
    {"GUILD_SCHEDULED_EVENT_DELETE", gs_vh_sched_delete},
    {"GUILD_SCHEDULED_EVENT_UPDATE", gs_vh_sched_upsert},
    {"GUILD_STICKERS_UPDATE", gs_vh_stickers_update},
    {"GUILD_UPDATE", gs_vh_guild_update},
    {"MESSAGE_CREATE", gs_vh_message},
    {"MESSAGE_REACTION_ADD", gs_vh_member_in_event},
    {"MESSAGE_UPDATE", gs_vh_message},
    {"PRESENCE_UPDATE", gs_vh_presence_update},
    {"READY", gs_vh_ready},
    {"STAGE_INSTANCE_CREATE", gs_vh_stage_upsert},
    {"STAGE_INSTANCE_DELETE", gs_vh_stage_delete},
    {"STAGE_INSTANCE_UPDATE", gs_vh_stage_upsert},
    {"THREAD_CREATE", gs_vh_thread_upsert},
    {"THREAD_DELETE", gs_vh_thread_delete},
    {"THREAD_LIST_SYNC", gs_vh_thread_list_sync},
    {"THREAD_MEMBERS_UPDATE", gs_vh_thread_members_update},
    {"THREAD_MEMBER_UPDATE", gs_vh_thread_member_update},
    {"THREAD_UPDATE", gs_vh_thread_upsert},
    {"TYPING_START", gs_vh_member_in_event},
    {"USER_UPDATE", gs_vh_user_update},
    {"VOICE_STATE_UPDATE", gs_vh_voice_state_update},
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

gs_vhandler gs_vdispatch(const char *name, size_t len)
{
    struct name_key k = {name, len};
    const struct route *r = bsearch(&k, routes, GS_ARRAY_LEN(routes), sizeof(routes[0]), cmp_route);
    return r ? r->fn : NULL;
}
