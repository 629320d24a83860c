/* crash_views.c - views checks of the crash harness: compare full dumps of
 * the views with views rebuilt from the surviving log into a scratch
 * directory. */
#include "gs_common.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_views.h"
#include "log.h"
#include "store_int.h"
#include "views.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

/* Dump v into a malloc'ed buffer. */
static char *dump(gs_views *v, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    gs_err err;
    if (!f)
        return NULL;
    int rc = gs_views_dump(v, f, &err);
    fclose(f);
    if (rc) {
        fprintf(stderr, "crash views: dump: %s\n", err.msg);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Views rebuilt from log_dir up to until (0 = all), dumped. They are given
 * the compression choice of the views compared (comp), which the dump
 * shows in meta: a store made before AUTO existed holds zstd. */
static char *rebuilt_dump(const char *store, const char *log_dir, uint64_t until,
                          gs_views_compression comp, size_t *len)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s.rebuild", store);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    gs_views *v = NULL;
    gs_err err;
    char *out = NULL;
    gs_views_tuning t = {0};
    t.compression = comp;
    if (gs_views_open_tuned(dir, NULL, &t, &v, &err) == GS_OK &&
        gs_views_catch_up(v, log_dir, NULL, until, NULL, &err) == GS_OK)
        out = dump(v, len);
    else
        fprintf(stderr, "crash views: rebuild: %s\n", err.msg);
    gs_views_close(v, &err);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return out;
}

static int compare(const char *a, size_t alen, const char *b, size_t blen, const char *what,
                   uint64_t round)
{
    if (a && b && alen == blen && memcmp(a, b, alen) == 0)
        return 0;
    fprintf(stderr, "round %" PRIu64 ": %s: views differ from a rebuild (%zu vs %zu bytes)\n",
            round, what, alen, blen);
    return -1;
}

int gs_crash_views_pre(const char *store, uint64_t round)
{
    char vdir[4096], ldir[4096];
    snprintf(vdir, sizeof(vdir), "%s/views", store);
    snprintf(ldir, sizeof(ldir), "%s/log", store);
    if (access(vdir, F_OK) != 0)
        return 0; /* killed before the views were created */
    gs_views *v = NULL;
    gs_err err;
    if (gs_views_open(vdir, NULL, &v, &err) != GS_OK) {
        fprintf(stderr, "round %" PRIu64 ": views open after the crash: %s\n", round, err.msg);
        return -1;
    }
    uint64_t wm = gs_views_watermark(v);
    gs_log_stats ls;
    int rc = gs_log_stat_dir(ldir, NULL, &ls, &err);
    if (rc != GS_OK) {
        fprintf(stderr, "round %" PRIu64 ": log stat after the crash: %s\n", round, err.msg);
        gs_views_close(v, &err);
        return -1;
    }
    if (wm > ls.last_lsn) {
        /* The applier feeds from memory, so the views may have applied
         * (and RocksDB flushed) records the log had not yet made durable.
         * The reopen must wipe and rebuild them: gs_crash_check_views
         * checks that against the surviving log. */
        gs_views_close(v, &err);
        return 0;
    }
    size_t alen = 0, blen = 0;
    char *a = dump(v, &alen);
    gs_views_compression comp = gs_views_get_compression(v);
    gs_views_close(v, &err);
    char *b = wm ? rebuilt_dump(store, ldir, wm, comp, &blen) : NULL;
    int res = wm ? compare(a, alen, b, blen, "views as the crash left them", round) : 0;
    free(a);
    free(b);
    return res;
}

int gs_crash_check_views(gs_store *st, uint64_t head, uint64_t round)
{
    gs_views *v = gs_store_views(st);
    if (!v) {
        fprintf(stderr, "round %" PRIu64 ": the reopened store has no views\n", round);
        return -1;
    }
    if (gs_views_watermark(v) != head) {
        fprintf(stderr, "round %" PRIu64 ": views at %" PRIu64 " after reopen, head %" PRIu64 "\n",
                round, gs_views_watermark(v), head);
        return -1;
    }
    size_t alen = 0, blen = 0;
    char *a = dump(v, &alen);
    char store[4096];
    snprintf(store, sizeof(store), "%s", gs_store_log_dir(st));
    char *b = rebuilt_dump(store, gs_store_log_dir(st), 0, gs_views_get_compression(v), &blen);
    int res = compare(a, alen, b, blen, "views after reopen", round);
    free(a);
    free(b);
    return res;
}
