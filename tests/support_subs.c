/* support_subs.c - see support_subs.h. */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_subs.h"

gs_store *gs_ts_open(const char *dir, int views, int durability, int read_only)
{
    gs_options *o = NULL;
    gs_store *st = NULL;
    if (gs_options_create(&o) != GS_OK)
        abort();
    gs_options_set_create(o, !read_only);
    gs_options_set_read_only(o, read_only);
    gs_options_set_views(o, views);
    gs_options_set_durability(o, (gs_durability)durability);
    int rc = gs_store_open(dir, o, &st);
    gs_options_destroy(o);
    if (rc != GS_OK) {
        fprintf(stderr, "gs_ts_open %s: %s: %s\n", dir, gs_errname(rc), gs_open_errmsg());
        abort();
    }
    return st;
}

size_t gs_ts_channel_line(char *buf, size_t cap, uint64_t id, uint64_t guild, int64_t n)
{
    int k = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"CHANNEL_CREATE\",\"s\":%" PRId64 ",\"d\":{\"id\":\"%" PRIu64
                     "\",\"guild_id\":\"%" PRIu64 "\",\"type\":0,\"name\":\"c-%" PRIu64
                     "\",\"position\":1}}",
                     n, id, guild, id);
    return (size_t)k;
}

uint64_t gs_ts_channel_id(const char *raw, size_t len)
{
    static const char key[] = "\"d\":{\"id\":\"";
    const char *p = memmem(raw, len, key, sizeof(key) - 1);
    if (!p)
        return 0;
    return strtoull(p + sizeof(key) - 1, NULL, 10);
}

uint64_t gs_ts_ingest_channel(gs_store *st, uint64_t id, uint64_t guild)
{
    char line[512];
    size_t n = gs_ts_channel_line(line, sizeof(line), id, guild, (int64_t)id);
    uint64_t lsn = 0;
    int rc = gs_ingest_line(st, line, n, NULL, &lsn);
    if (rc != GS_OK) {
        fprintf(stderr, "ingest: %s: %s\n", gs_errname(rc), gs_store_errmsg(st));
        abort();
    }
    return lsn;
}
