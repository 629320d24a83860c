/* options.c - gs_options: defaults and setters (no public struct, so fields
 * can be added without breaking the ABI). */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "options.h"

#define GS_MIN_SEGMENT_BYTES (64u * 1024u)

void gs_options_defaults(struct gs_options *o)
{
    memset(o, 0, sizeof(*o)); /* fields added later default to 0 */
    o->create_if_missing = 0;
    o->read_only = 0;
    o->durability = GS_DURABILITY_BATCH;
    o->batch_ms = 10;
    o->batch_bytes = 4u << 20;
    o->segment_bytes = 64u << 20;
    o->block_bytes = 512u << 10;
    /* zstd level 2: the default shape's log 21.4 -> 20.8 MB (the store
     * on disk was at the 40 MB target's line at level 1) for 6 % more
     * ingest CPU on the flusher (`gatestore ingest` without views, 3
     * alternated pairs: 0.79-0.82 -> 0.85-0.86 s of CPU, wall 0.58-0.64
     * s both). Levels 3-5 gained little more for much more CPU. */
    o->compression_level = 2;
    o->max_frame_bytes = 64u << 20;
    o->max_depth = 256;
    o->views = 1;
}

int gs_options_create(gs_options **out)
{
    if (!out)
        return GS_EMISUSE;
    gs_options *o = malloc(sizeof(*o));
    if (!o)
        return GS_ENOMEM;
    gs_options_defaults(o);
    *out = o;
    return GS_OK;
}

void gs_options_destroy(gs_options *opts)
{
    free(opts);
}

int gs_options_set_create(gs_options *opts, int create_if_missing)
{
    if (!opts)
        return GS_EMISUSE;
    opts->create_if_missing = create_if_missing != 0;
    return GS_OK;
}

int gs_options_set_read_only(gs_options *opts, int read_only)
{
    if (!opts)
        return GS_EMISUSE;
    opts->read_only = read_only != 0;
    return GS_OK;
}

int gs_options_set_durability(gs_options *opts, gs_durability d)
{
    if (!opts || (d != GS_DURABILITY_SYNC && d != GS_DURABILITY_BATCH && d != GS_DURABILITY_OFF))
        return GS_EMISUSE;
    opts->durability = (int)d;
    return GS_OK;
}

int gs_options_set_batch(gs_options *opts, uint32_t batch_ms, uint64_t batch_bytes)
{
    if (!opts || batch_ms == 0 || batch_bytes == 0)
        return GS_EMISUSE;
    opts->batch_ms = batch_ms;
    opts->batch_bytes = batch_bytes;
    return GS_OK;
}

int gs_options_set_segment_bytes(gs_options *opts, uint64_t segment_bytes)
{
    if (!opts || segment_bytes < GS_MIN_SEGMENT_BYTES)
        return GS_EMISUSE;
    opts->segment_bytes = segment_bytes;
    return GS_OK;
}

int gs_options_set_block_bytes(gs_options *opts, uint32_t block_bytes)
{
    if (!opts || block_bytes < 1024)
        return GS_EMISUSE;
    opts->block_bytes = block_bytes;
    return GS_OK;
}

int gs_options_set_compression_level(gs_options *opts, int level)
{
    if (!opts || level < -7 || level > 22)
        return GS_EMISUSE;
    opts->compression_level = level;
    return GS_OK;
}

int gs_options_set_max_frame_bytes(gs_options *opts, uint64_t max_frame_bytes)
{
    /* The upper bound keeps a block's uncompressed size far below the 1 GiB
     * a reader accepts. */
    if (!opts || max_frame_bytes < 64 || max_frame_bytes > (512ull << 20))
        return GS_EMISUSE;
    opts->max_frame_bytes = max_frame_bytes;
    return GS_OK;
}

int gs_options_set_max_depth(gs_options *opts, uint32_t max_depth)
{
    if (!opts || max_depth < 2 || max_depth > 100000)
        return GS_EMISUSE;
    opts->max_depth = max_depth;
    return GS_OK;
}

/* Below 1 MiB a budget would be smaller than one GUILD_CREATE's writes;
 * above 1 TiB it is a unit mistake. */
static int budget_ok(uint64_t b)
{
    return b == 0 || (b >= (1u << 20) && b <= (1ull << 40));
}

int gs_options_set_views_memory(gs_options *opts, uint64_t entity_cache_bytes,
                                uint64_t block_cache_bytes, uint64_t write_buffer_bytes)
{
    if (!opts || !budget_ok(entity_cache_bytes) || !budget_ok(block_cache_bytes) ||
        !budget_ok(write_buffer_bytes) ||
        (uint64_t)(size_t)entity_cache_bytes != entity_cache_bytes)
        return GS_EMISUSE;
    opts->entity_cache_bytes = entity_cache_bytes;
    opts->block_cache_bytes = block_cache_bytes;
    opts->write_buffer_bytes = write_buffer_bytes;
    return GS_OK;
}

int gs_options_set_views_compression(gs_options *opts, gs_views_compression c)
{
    if (!opts || (c != GS_VIEWS_COMPRESSION_DEFAULT && c != GS_VIEWS_COMPRESSION_ZSTD &&
                  c != GS_VIEWS_COMPRESSION_LZ4 && c != GS_VIEWS_COMPRESSION_AUTO))
        return GS_EMISUSE;
    opts->views_compression = c;
    return GS_OK;
}

int gs_options_set_views(gs_options *opts, int enabled)
{
    if (!opts)
        return GS_EMISUSE;
    opts->views = enabled != 0;
    return GS_OK;
}

int gs_options_set_view_rules(gs_options *opts, uint32_t keep)
{
    if (!opts || (keep & ~(uint32_t)GS_VIEW_ALL))
        return GS_EMISUSE;
    opts->view_rules_set = 1;
    opts->view_rules = keep;
    return GS_OK;
}
