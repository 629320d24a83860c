/*
 * subs_int.h - what subs.c and subs_options.c share: the options struct
 * (opaque to callers as gs_sub_options) and its copy/free helpers.
 */
#ifndef GS_SUBS_INT_H
#define GS_SUBS_INT_H

#include "gs_common.h"

#define SUB_MAX_EVENTS 64

struct gs_sub_options {
    char *events[SUB_MAX_EVENTS];
    size_t nevents;
    uint64_t guild;
    uint64_t from;
    int has_from;
    int64_t since_us;
    uint32_t capacity;
    gs_sub_full policy;
    uint32_t max_block_ms;
    char name[65];
};

/* Deep copy (event names strdup'ed): GS_OK or GS_ENOMEM (dst then empty). */
int gs_sub_options_copy(gs_sub_options *dst, const gs_sub_options *src);
/* Free the event names of o (not o). */
void gs_sub_options_free_names(gs_sub_options *o);
/* The defaults of gs_sub_options_create. */
void gs_sub_options_defaults(gs_sub_options *o);

#endif
