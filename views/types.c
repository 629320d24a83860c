/* types.c - names of the view entity types (the CLI's TYPE words). */
#include "gs_common.h"

#include <string.h>

static const char *const type_names[GS_VIEW_TYPE_COUNT] = {
    "guild", "channel", "thread",      "role",     "member",         "user",
    "emoji", "sticker", "voice_state", "presence", "stage_instance", "scheduled_event"};

const char *gs_view_type_name(int type)
{
    return type >= 0 && type < GS_VIEW_TYPE_COUNT ? type_names[type] : NULL;
}

int gs_view_type_parse(const char *name, gs_view_type *out)
{
    for (int t = 0; name && t < GS_VIEW_TYPE_COUNT; t++) {
        if (strcmp(name, type_names[t]) == 0) {
            *out = (gs_view_type)t;
            return GS_OK;
        }
    }
    return GS_EMISUSE;
}
