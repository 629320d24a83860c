/* options.h - the gs_options struct, shared by store.c and ingest.c. */
#ifndef GS_OPTIONS_H
#define GS_OPTIONS_H

#include "gs_common.h"

struct gs_options {
    int create_if_missing;
    int read_only;
    int durability;
    uint32_t batch_ms;
    uint64_t batch_bytes;
    uint64_t segment_bytes;
    uint32_t block_bytes;
    int compression_level;
    uint64_t max_frame_bytes;
    uint32_t max_depth;
    int views;           /* keep views (default 1) */
    int view_rules_set;  /* 0: the views keep their stored rules */
    uint32_t view_rules; /* GS_VIEW_BIT mask, when view_rules_set */
    /* gs_options_set_views_memory; 0: the views' default */
    uint64_t entity_cache_bytes, block_cache_bytes, write_buffer_bytes;
    gs_views_compression views_compression; /* DEFAULT: the views' stored choice */
};

void gs_options_defaults(struct gs_options *o);

#endif
