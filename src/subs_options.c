/* subs_options.c - gs_sub_options: what a subscription selects and how it
 * queues (contract in include/gatestore.h). */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "posfile.h"
#include "subs_int.h"

void gs_sub_options_defaults(gs_sub_options *o)
{
    memset(o, 0, sizeof(*o));
    o->capacity = 65536;
    o->policy = GS_SUB_BLOCK;
    o->max_block_ms = 1000;
}

int gs_sub_options_create(gs_sub_options **out)
{
    if (!out)
        return GS_EMISUSE;
    gs_sub_options *o = calloc(1, sizeof(*o));
    if (!o)
        return GS_ENOMEM;
    gs_sub_options_defaults(o);
    *out = o;
    return GS_OK;
}

void gs_sub_options_free_names(gs_sub_options *o)
{
    for (size_t i = 0; i < o->nevents; i++)
        free(o->events[i]);
    o->nevents = 0;
}

void gs_sub_options_destroy(gs_sub_options *o)
{
    if (!o)
        return;
    gs_sub_options_free_names(o);
    free(o);
}

int gs_sub_options_add_event(gs_sub_options *o, const char *name)
{
    if (!o || !name || !*name || strlen(name) > 128 || o->nevents >= SUB_MAX_EVENTS)
        return GS_EMISUSE;
    char *c = strdup(name);
    if (!c)
        return GS_ENOMEM;
    o->events[o->nevents++] = c;
    return GS_OK;
}

int gs_sub_options_set_guild(gs_sub_options *o, uint64_t guild)
{
    if (!o)
        return GS_EMISUSE;
    o->guild = guild;
    return GS_OK;
}

int gs_sub_options_set_from(gs_sub_options *o, uint64_t from_lsn)
{
    if (!o)
        return GS_EMISUSE;
    o->from = from_lsn ? from_lsn : 1;
    o->has_from = 1;
    return GS_OK;
}

int gs_sub_options_set_since(gs_sub_options *o, int64_t since_us)
{
    if (!o || since_us < 0)
        return GS_EMISUSE;
    o->since_us = since_us;
    return GS_OK;
}

int gs_sub_options_set_queue(gs_sub_options *o, uint32_t capacity, gs_sub_full policy,
                             uint32_t max_block_ms)
{
    if (!o || capacity == 0 || (policy != GS_SUB_BLOCK && policy != GS_SUB_DROP))
        return GS_EMISUSE;
    o->capacity = capacity;
    o->policy = policy;
    o->max_block_ms = max_block_ms;
    return GS_OK;
}

int gs_sub_options_set_name(gs_sub_options *o, const char *name)
{
    if (!o || !gs_consumer_name_ok(name))
        return GS_EMISUSE;
    snprintf(o->name, sizeof(o->name), "%s", name);
    return GS_OK;
}

int gs_sub_options_copy(gs_sub_options *dst, const gs_sub_options *src)
{
    *dst = *src;
    for (size_t i = 0; i < src->nevents; i++) {
        dst->events[i] = strdup(src->events[i]);
        if (!dst->events[i]) {
            dst->nevents = i;
            gs_sub_options_free_names(dst);
            return GS_ENOMEM;
        }
    }
    return GS_OK;
}
