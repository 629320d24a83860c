/*
 * test_views_open.c - open and reopen: rules (types kept), rules or schema
 * changes wipe the views and say why, unknown column families, read-only
 * opens, that watermark and entities survive a close together, and the
 * stored compression choice of the big families.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "support_views.h"
#include "views_int.h"

static int count_lines(const char *dump, const char *family)
{
    int n = 0;
    size_t fl = strlen(family);
    for (const char *l = dump; *l;) {
        if (strncmp(l, family, fl) == 0 && l[fl] == '\t')
            n++;
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : l + strlen(l);
    }
    return n;
}

static void test_rules_drop_types(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views_rules rules = {.keep = GS_VIEW_ALL &
                                    ~(GS_VIEW_BIT(GS_VIEW_MEMBER) | GS_VIEW_BIT(GS_VIEW_PRESENCE))};
    gs_views *v;
    assert_int_equal(gs_views_open(dir, &rules, &v, NULL), GS_OK);
    assert_null(gs_views_wiped_reason(v));
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 5), GS_OK);
    assert_int_equal(gs_tv_count(v, GS_VIEW_MEMBER, NULL, NULL, NULL), 0);
    assert_int_equal(gs_tv_count(v, GS_VIEW_PRESENCE, NULL, NULL, NULL), 0);
    assert_int_equal(gs_tv_count(v, GS_VIEW_CHANNEL, "967500967257968680", NULL, NULL), 5);
    char *d = gs_tv_dump(v);
    assert_int_equal(count_lines(d, "member"), 0);
    assert_int_equal(count_lines(d, "presence"), 0);
    assert_true(count_lines(d, "channel") > 0);
    assert_null(strstr(d, "idx\t55")); /* no user index ('U') entries */
    free(d);
    gs_views_status st;
    assert_int_equal(gs_views_status_read(v, &st, NULL), GS_OK);
    assert_int_equal(st.types_kept, rules.keep);
    assert_int_equal(st.failed_records, 0);
    assert_int_equal(gs_views_get_rules(v).keep, rules.keep);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);

    /* Same rules: nothing happens. */
    assert_int_equal(gs_views_open(dir, &rules, &v, NULL), GS_OK);
    assert_null(gs_views_wiped_reason(v));
    assert_int_equal(gs_views_watermark(v), 29);
    gs_views_close(v, NULL);

    /* Changed rules: wiped, reported, watermark 0 (rebuild by replay). */
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    const char *why = gs_views_wiped_reason(v);
    assert_non_null(why);
    assert_non_null(strstr(why, "rules changed"));
    assert_non_null(strstr(why, "member"));
    assert_int_equal(gs_views_watermark(v), 0);
    assert_int_equal(gs_tv_count(v, GS_VIEW_CHANNEL, NULL, NULL, NULL), 0);
    assert_int_equal(gs_views_status_read(v, &st, NULL), GS_OK);
    assert_int_equal(st.rebuilt_on_open, 1);
    assert_non_null(strstr(st.rebuild_reason, "rules changed"));
    assert_int_equal(st.types_kept, GS_VIEW_ALL);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    assert_int_equal(gs_tv_count(v, GS_VIEW_MEMBER, "967500967257968680", NULL, NULL), 4);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

static void test_reopen_keeps_watermark_and_data(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    size_t half = gs_tv_upto_seq(&gs_tv_scen, 12);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, half, half), GS_OK);
    uint64_t wm = gs_views_watermark(v);
    assert_int_equal(wm, gs_tv_scen.recs[half - 1].lsn);
    char *before = gs_tv_dump(v);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_views_watermark(v), wm);
    char *after = gs_tv_dump(v);
    assert_string_equal(before, after);
    /* Continue from there: same as one go. */
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 4), GS_OK);
    char *full = gs_tv_dump(v);
    free(before);
    free(after);
    gs_views_close(v, NULL);
    char dir2[256];
    gs_tv_tmpdir(dir2, sizeof(dir2));
    assert_int_equal(gs_views_open(dir2, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, gs_tv_scen.n), GS_OK);
    char *ref = gs_tv_dump(v);
    assert_string_equal(full, ref);
    free(full);
    free(ref);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
    gs_tv_rmtree(dir2);
}

static void put_meta(gs_views *v, const char *key, const void *val, size_t len)
{
    char *rerr = NULL;
    rocksdb_put_cf(v->db, v->wo, v->cf[GS_VCF_META], key, strlen(key), val, len, &rerr);
    assert_null(rerr);
}

/* Views of the scenario marked as view schema `schema`, then reopened: they
 * are wiped for a rebuild, saying why. Returns the reopened views. */
static gs_views *old_schema_rebuilt(gs_views *v, const char *dir, uint8_t schema)
{
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    uint8_t fmt[4] = {0, 0, 0, schema};
    put_meta(v, GS_VMETA_FORMAT, fmt, 4);
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    char want[64];
    snprintf(want, sizeof(want), "view schema version %u -> %d", (unsigned)schema, GS_VIEWS_SCHEMA);
    assert_string_equal(gs_views_wiped_reason(v), want);
    assert_int_equal(gs_views_watermark(v), 0);
    return v;
}

static void test_schema_change_wipes(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    /* As if an older build had written the views (schema 1: before the
     * channel name index). */
    uint8_t old[4] = {0, 0, 0, 1};
    put_meta(v, GS_VMETA_FORMAT, old, 4);
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_non_null(gs_views_wiped_reason(v));
    char want[64];
    snprintf(want, sizeof(want), "view schema version 1 -> %d", GS_VIEWS_SCHEMA);
    assert_string_equal(gs_views_wiped_reason(v), want);
    assert_int_equal(GS_VIEWS_SCHEMA, 4);
    assert_int_equal(gs_views_watermark(v), 0);
    assert_int_equal(gs_tv_count(v, GS_VIEW_GUILD, NULL, NULL, NULL), 0);
    gs_views_status st;
    assert_int_equal(gs_views_status_read(v, &st, NULL), GS_OK);
    assert_int_equal(st.schema_version, GS_VIEWS_SCHEMA);
    /* A read-only open of views needing a rebuild is refused. */
    put_meta(v, GS_VMETA_FORMAT, old, 4);
    gs_views_close(v, NULL);
    gs_err err;
    gs_views *ro;
    assert_int_equal(gs_views_open_readonly(dir, &ro, &err), GS_EVIEW);
    assert_non_null(strstr(err.msg, "rebuild"));
    /* A damaged meta value is not trusted: the views are rebuilt. */
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    put_meta(v, GS_VMETA_WATERMARK, "abc", 3);
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_open(dir, NULL, &v, &err), GS_OK);
    assert_non_null(strstr(gs_views_wiped_reason(v), "views damaged"));
    assert_int_equal(gs_views_watermark(v), 0);
    /* Schema 2 (before deleted-role tombstones: its members had the role
     * stripped eagerly) is rebuilt too, and schema 3 (values stored as
     * plain msgpack, not in cpack form). */
    v = old_schema_rebuilt(v, dir, 2);
    v = old_schema_rebuilt(v, dir, 3);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

/* use_stored: an opener that sets no rules gets the views' own, even
 * across a rebuild for a new schema; a fresh database keeps everything. */
static void test_rules_use_stored(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    const uint32_t some = GS_VIEW_BIT(GS_VIEW_GUILD) | GS_VIEW_BIT(GS_VIEW_CHANNEL);
    gs_views_rules stored = {.use_stored = 1, .keep = some /* ignored */};
    gs_views_rules set = {.keep = some};
    gs_views *v;
    assert_int_equal(gs_views_open(dir, &stored, &v, NULL), GS_OK);
    assert_int_equal(gs_views_get_rules(v).keep, GS_VIEW_ALL);
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_open(dir, &set, &v, NULL), GS_OK);
    assert_non_null(strstr(gs_views_wiped_reason(v), "rules changed"));
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    uint64_t wm = gs_views_watermark(v);
    assert_true(wm > 0);
    gs_views_close(v, NULL);

    assert_int_equal(gs_views_open(dir, &stored, &v, NULL), GS_OK);
    assert_null(gs_views_wiped_reason(v));
    assert_int_equal(gs_views_get_rules(v).keep, some);
    assert_int_equal(gs_views_watermark(v), wm);
    assert_int_equal(gs_tv_count(v, GS_VIEW_ROLE, NULL, NULL, NULL), 0);
    uint8_t old[4] = {0, 0, 0, 0};
    put_meta(v, GS_VMETA_FORMAT, old, 4);
    gs_views_close(v, NULL);

    assert_int_equal(gs_views_open(dir, &stored, &v, NULL), GS_OK);
    assert_non_null(strstr(gs_views_wiped_reason(v), "schema version"));
    assert_int_equal(gs_views_get_rules(v).keep, some);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);

    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    assert_int_equal(gs_options_set_view_rules(o, GS_VIEW_ALL + 1), GS_EMISUSE);
    assert_int_equal(gs_options_set_view_rules(NULL, some), GS_EMISUSE);
    assert_int_equal(gs_options_set_view_rules(o, some), GS_OK);
    gs_options_destroy(o);
}

static void test_unknown_family_wipes(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    char *rerr = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_column_family_handle_t *h = rocksdb_create_column_family(v->db, o, "future", &rerr);
    assert_null(rerr);
    rocksdb_column_family_handle_destroy(h);
    rocksdb_options_destroy(o);
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_non_null(gs_views_wiped_reason(v));
    assert_non_null(strstr(gs_views_wiped_reason(v), "future"));
    assert_int_equal(gs_views_watermark(v), 0);
    gs_views_close(v, NULL);
    /* Gone for good. */
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_null(gs_views_wiped_reason(v));
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

static void test_readonly(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_err err;
    gs_views *v;
    assert_int_equal(gs_views_open_readonly(dir, &v, &err), GS_ENOTFOUND);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    assert_int_equal(gs_views_open_readonly(dir, &v, &err), GS_OK);
    assert_int_equal(gs_views_watermark(v), 29);
    assert_int_equal(gs_tv_count(v, GS_VIEW_CHANNEL, "967500967257968680", NULL, NULL), 5);
    assert_int_equal(gs_views_apply(v, gs_tv_scen.recs, 1, &err), GS_EREADONLY);
    assert_int_equal(gs_views_wipe(v, &err), GS_EREADONLY);
    /* A writer can open beside a reader. */
    gs_views *w;
    assert_int_equal(gs_views_open(dir, NULL, &w, &err), GS_OK);
    gs_views_close(w, NULL);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

/* The value of `key` in the [CFOptions "cf"] section of the newest
 * OPTIONS-* file of dir (what RocksDB runs with now), into out. */
static void cf_option(const char *dir, const char *cf, const char *key, char *out, size_t len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char newest[64] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "OPTIONS-", 8) == 0 && strlen(e->d_name) < sizeof(newest) &&
            (strlen(e->d_name) > strlen(newest) ||
             (strlen(e->d_name) == strlen(newest) && strcmp(e->d_name, newest) > 0)))
            memcpy(newest, e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    assert_true(newest[0] != '\0');
    char path[600], line[512], section[128], want[160];
    snprintf(path, sizeof(path), "%s/%s", dir, newest);
    snprintf(section, sizeof(section), "[CFOptions \"%s\"]", cf);
    snprintf(want, sizeof(want), "  %s=", key);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int in = 0;
    out[0] = '\0';
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '[')
            in = strncmp(line, section, strlen(section)) == 0;
        else if (in && strncmp(line, want, strlen(want)) == 0) {
            snprintf(out, len, "%s", line + strlen(want));
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

/* Views opened with the tuning these tests vary: the compression choice,
 * AUTO's threshold (0: the default) and whether the close compacts. */
static gs_views *open_with(const char *dir, gs_views_compression c, uint64_t auto_bytes,
                           int no_close_compact)
{
    gs_views_tuning t = {0};
    t.compression = c;
    t.auto_lz4_bytes = auto_bytes;
    t.no_close_compact = no_close_compact;
    gs_views *v;
    assert_int_equal(gs_views_open_tuned(dir, NULL, &t, &v, NULL), GS_OK);
    return v;
}

static gs_views *open_comp(const char *dir, gs_views_compression c)
{
    return open_with(dir, c, 0, 0);
}

/* The big families' options in force say LZ4 (lz4) or zstd; the others
 * say zstd. */
static void assert_written(gs_views *v, const char *dir, int lz4)
{
    assert_int_equal(gs_views_get_compression_now(v),
                     lz4 ? GS_VIEWS_COMPRESSION_LZ4 : GS_VIEWS_COMPRESSION_ZSTD);
    char val[64];
    const char *want = lz4 ? "kLZ4Compression" : "kZSTD";
    static const char *const big[] = {"member", "user", "presence"};
    for (size_t i = 0; i < GS_ARRAY_LEN(big); i++) {
        /* Flushes are LZ4 whatever the choice; the last level follows it. */
        cf_option(dir, big[i], "compression", val, sizeof(val));
        assert_string_equal(val, "kLZ4Compression");
        cf_option(dir, big[i], "bottommost_compression", val, sizeof(val));
        assert_string_equal(val, want);
    }
    /* The small families' last level stays zstd whatever the choice. */
    cf_option(dir, "channel", "compression", val, sizeof(val));
    assert_string_equal(val, "kLZ4Compression");
    cf_option(dir, "channel", "bottommost_compression", val, sizeof(val));
    assert_string_equal(val, "kZSTD");
}

static void assert_comp(gs_views *v, const char *dir, gs_views_compression c)
{
    assert_int_equal(gs_views_get_compression(v), c);
    if (c != GS_VIEWS_COMPRESSION_AUTO) /* AUTO: the callers say which */
        assert_written(v, dir, c == GS_VIEWS_COMPRESSION_LZ4);
}

/* gs_tv_dump without the meta line of the compression choice, the one
 * thing these tests change. */
static char *dump_data(gs_views *v)
{
    char *d = gs_tv_dump(v);
    static const char comp_line[] = "meta\t636f6d7072657373696f6e\t"; /* "compression" */
    char *l = strstr(d, comp_line);
    if (l) {
        char *nl = strchr(l, '\n');
        memmove(l, nl ? nl + 1 : l + strlen(l), strlen(nl ? nl + 1 : l + strlen(l)) + 1);
    }
    return d;
}

static void compact_all(gs_views *v)
{
    for (int cf = 0; cf < GS_VCF_COUNT; cf++)
        rocksdb_compact_range_cf(v->db, v->cf[cf], NULL, 0, NULL, 0);
}

static void test_compression_stored(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v = open_comp(dir, GS_VIEWS_COMPRESSION_LZ4);
    assert_null(gs_views_wiped_reason(v));
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_LZ4);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 5), GS_OK);
    compact_all(v);
    char *ref = dump_data(v);
    uint64_t wm = gs_views_watermark(v);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);

    /* No choice: the stored one holds. */
    v = open_comp(dir, GS_VIEWS_COMPRESSION_DEFAULT);
    assert_null(gs_views_wiped_reason(v));
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_LZ4);
    assert_int_equal(gs_views_watermark(v), wm);
    gs_views_close(v, NULL);
    gs_views *r;
    assert_int_equal(gs_views_open_readonly(dir, &r, NULL), GS_OK);
    assert_int_equal(gs_views_get_compression(r), GS_VIEWS_COMPRESSION_LZ4);
    gs_views_close(r, NULL);

    /* Back to zstd: no rebuild; the LZ4 files read as before, and are
     * rewritten as zstd by a compaction with the same contents. */
    v = open_comp(dir, GS_VIEWS_COMPRESSION_ZSTD);
    assert_null(gs_views_wiped_reason(v));
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_ZSTD);
    assert_int_equal(gs_views_watermark(v), wm);
    char *d = dump_data(v);
    assert_string_equal(d, ref);
    free(d);
    compact_all(v);
    d = dump_data(v);
    assert_string_equal(d, ref);
    free(d);
    gs_views_close(v, NULL);
    v = open_comp(dir, GS_VIEWS_COMPRESSION_DEFAULT);
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_ZSTD);
    gs_views_close(v, NULL);

    /* A rebuild (here for new rules) keeps the stored choice. */
    v = open_comp(dir, GS_VIEWS_COMPRESSION_LZ4);
    gs_views_close(v, NULL);
    gs_views_rules some = {.keep = GS_VIEW_ALL & ~GS_VIEW_BIT(GS_VIEW_PRESENCE)};
    assert_int_equal(gs_views_open(dir, &some, &v, NULL), GS_OK);
    assert_non_null(strstr(gs_views_wiped_reason(v), "rules changed"));
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_LZ4);
    /* And so does a wipe (views rebuild). */
    assert_int_equal(gs_views_wipe(v, NULL), GS_OK);
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_open(dir, &some, &v, NULL), GS_OK);
    assert_null(gs_views_wiped_reason(v));
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_LZ4);
    gs_views_close(v, NULL);
    free(ref);
    gs_tv_rmtree(dir);

    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    assert_int_equal(gs_options_set_views_compression(o, (gs_views_compression)4), GS_EMISUSE);
    assert_int_equal(gs_options_set_views_compression(o, GS_VIEWS_COMPRESSION_AUTO), GS_OK);
    assert_int_equal(gs_options_set_views_compression(o, (gs_views_compression)-1), GS_EMISUSE);
    assert_int_equal(gs_options_set_views_compression(NULL, GS_VIEWS_COMPRESSION_LZ4), GS_EMISUSE);
    assert_int_equal(gs_options_set_views_compression(o, GS_VIEWS_COMPRESSION_LZ4), GS_OK);
    assert_int_equal(gs_options_set_views_compression(o, GS_VIEWS_COMPRESSION_DEFAULT), GS_OK);
    gs_options_destroy(o);
}

/* Views from before the choice was stored (no key), or with a damaged or
 * unknown value: zstd, and never a rebuild (every file names its own
 * compression, so the data reads the same whatever the key says). */
static void test_compression_absent_or_damaged(void **state)
{
    (void)state;
    static const struct {
        const char *val;
        size_t len;
    } cases[] = {{NULL, 0}, {"\0\0\2", 3}, {"\0\0\0\x09", 4}, {"\0\0\0\0\0\0\0\2", 8}};
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++) {
        char dir[256];
        gs_tv_tmpdir(dir, sizeof(dir));
        gs_views *v = open_comp(dir, GS_VIEWS_COMPRESSION_LZ4);
        assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
        char *ref = dump_data(v);
        char *rerr = NULL;
        if (cases[i].val)
            put_meta(v, GS_VMETA_COMP, cases[i].val, cases[i].len);
        else
            rocksdb_delete_cf(v->db, v->wo, v->cf[GS_VCF_META], GS_VMETA_COMP,
                              strlen(GS_VMETA_COMP), &rerr);
        assert_null(rerr);
        gs_views_close(v, NULL);
        v = open_comp(dir, GS_VIEWS_COMPRESSION_DEFAULT);
        assert_null(gs_views_wiped_reason(v));
        assert_int_equal(gs_views_watermark(v), 29);
        assert_comp(v, dir, GS_VIEWS_COMPRESSION_ZSTD);
        char *d = dump_data(v);
        assert_string_equal(d, ref);
        free(d);
        free(ref);
        gs_views_close(v, NULL);
        /* The settled choice was stored: the next open finds zstd. */
        v = open_comp(dir, GS_VIEWS_COMPRESSION_DEFAULT);
        assert_comp(v, dir, GS_VIEWS_COMPRESSION_ZSTD);
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
}

static gs_views *open_auto(const char *dir, gs_views_compression c, uint64_t threshold)
{
    return open_with(dir, c, threshold, 0);
}

/* AUTO, new views' default: zstd while the big families' files are below
 * the threshold, LZ4 once past it, checked by the apply's housekeeping and
 * at open; the views hold the same data either way. */
static void test_compression_auto(void **state)
{
    (void)state;
    char dir[256], ref_dir[256];
    gs_tv_tmpdir(ref_dir, sizeof(ref_dir));
    gs_views *v = open_comp(ref_dir, GS_VIEWS_COMPRESSION_ZSTD);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 5), GS_OK);
    compact_all(v);
    char *ref = dump_data(v);
    gs_views_close(v, NULL);
    gs_tv_rmtree(ref_dir);

    /* New views, nothing asked: AUTO, stored, and zstd while empty even with
     * a 1-byte threshold (no files yet). */
    gs_tv_tmpdir(dir, sizeof(dir));
    v = open_auto(dir, GS_VIEWS_COMPRESSION_DEFAULT, 1);
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_AUTO);
    assert_written(v, dir, 0);
    /* Half the scenario, in files; then, past the housekeeping's 250 ms, the
     * rest: the apply's housekeeping finds the files past the threshold. */
    size_t half = gs_tv_scen.n / 2;
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, half, 5), GS_OK);
    compact_all(v);
    assert_written(v, dir, 0);
    usleep(300 * 1000);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, half, gs_tv_scen.n, 5), GS_OK);
    assert_int_equal(gs_views_get_compression(v), GS_VIEWS_COMPRESSION_AUTO);
    assert_written(v, dir, 1);
    compact_all(v); /* rewrites every big family's file in LZ4 */
    char *d = dump_data(v);
    assert_string_equal(d, ref);
    free(d);
    gs_views_close(v, NULL);

    /* Reopened: the stored AUTO holds, and the size is looked at once open. */
    v = open_auto(dir, GS_VIEWS_COMPRESSION_DEFAULT, 1);
    assert_null(gs_views_wiped_reason(v));
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_AUTO);
    assert_written(v, dir, 1);
    gs_views_close(v, NULL);
    /* Below a threshold (the default one: these views are a few KB), the
     * open writes zstd again; the LZ4 files read as before. */
    v = open_auto(dir, GS_VIEWS_COMPRESSION_DEFAULT, 0);
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_AUTO);
    assert_written(v, dir, 0);
    d = dump_data(v);
    assert_string_equal(d, ref);
    free(d);
    gs_views_close(v, NULL);
    gs_views *r;
    assert_int_equal(gs_views_open_readonly(dir, &r, NULL), GS_OK);
    assert_int_equal(gs_views_get_compression(r), GS_VIEWS_COMPRESSION_AUTO);
    assert_int_equal(gs_views_get_compression_now(r), GS_VIEWS_COMPRESSION_ZSTD);
    gs_views_close(r, NULL);

    /* An explicit choice replaces AUTO and is stored. */
    v = open_auto(dir, GS_VIEWS_COMPRESSION_ZSTD, 1);
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_ZSTD);
    gs_views_close(v, NULL);
    v = open_auto(dir, GS_VIEWS_COMPRESSION_DEFAULT, 1);
    assert_comp(v, dir, GS_VIEWS_COMPRESSION_ZSTD);
    gs_views_close(v, NULL);
    /* And AUTO asked for again replaces it, past the threshold at once. */
    v = open_auto(dir, GS_VIEWS_COMPRESSION_AUTO, 1);
    assert_int_equal(gs_views_get_compression(v), GS_VIEWS_COMPRESSION_AUTO);
    assert_written(v, dir, 1);
    gs_views_close(v, NULL);
    free(ref);
    gs_tv_rmtree(dir);
}

/* L0 files of every family together (RocksDB's property). */
static int l0_files(gs_views *v)
{
    int n = 0;
    for (int cf = 0; cf < GS_VCF_COUNT; cf++) {
        char *p = rocksdb_property_value_cf(v->db, v->cf[cf], "rocksdb.num-files-at-level0");
        assert_non_null(p);
        n += atoi(p);
        rocksdb_free(p);
    }
    return n;
}

static gs_views *open_close_compact(const char *dir, int no_close_compact)
{
    return open_with(dir, GS_VIEWS_COMPRESSION_DEFAULT, 0, no_close_compact);
}

/* The close compacts families that are mostly L0 (db.c, close_compact):
 * views that never reached a compaction close with no L0 file and the same
 * data; a family whose last level holds most of its bytes keeps its L0. */
static void test_close_compacts_small_l0(void **state)
{
    (void)state;
    char dir[256];
    /* Not compacted at close (the switch off): L0 files remain. */
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v = open_close_compact(dir, 1);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 5), GS_OK);
    char *ref = gs_tv_dump(v);
    gs_views_close(v, NULL);
    v = open_close_compact(dir, 1);
    assert_true(l0_files(v) > 0);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);

    /* Compacted at close: no L0 file, the same dump. */
    gs_tv_tmpdir(dir, sizeof(dir));
    v = open_close_compact(dir, 0);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 5), GS_OK);
    gs_views_close(v, NULL);
    v = open_close_compact(dir, 1);
    assert_int_equal(l0_files(v), 0);
    char *d = gs_tv_dump(v);
    assert_string_equal(d, ref);
    free(d);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);

    free(ref);

    /* Mostly in the last level: a few records after a full compaction of
     * 3 000 leave L0 files far smaller than half of their families, which
     * the close keeps; the dump is the one of views never compacted. */
    char ref_dir[256];
    gs_tv_tmpdir(ref_dir, sizeof(ref_dir));
    v = open_close_compact(ref_dir, 1);
    assert_int_equal(gs_tv_apply_stream(v, 1, 3010, 64), GS_OK);
    ref = gs_tv_dump(v);
    gs_views_close(v, NULL);
    gs_tv_rmtree(ref_dir);
    gs_tv_tmpdir(dir, sizeof(dir));
    v = open_close_compact(dir, 0);
    assert_int_equal(gs_tv_apply_stream(v, 1, 3000, 64), GS_OK);
    compact_all(v);
    assert_int_equal(gs_tv_apply_stream(v, 3001, 3010, 64), GS_OK);
    gs_views_close(v, NULL);
    v = open_close_compact(dir, 1);
    assert_true(l0_files(v) > 0);
    d = gs_tv_dump(v);
    assert_string_equal(d, ref);
    free(d);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
    free(ref);
}

static void add_family(gs_views *v, const char *name)
{
    char *rerr = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_column_family_handle_t *h = rocksdb_create_column_family(v->db, o, name, &rerr);
    assert_null(rerr);
    rocksdb_column_family_handle_destroy(h);
    rocksdb_options_destroy(o);
}

/* Views wiped as foreign (a family this build does not know) or damaged
 * (no schema version) keep their compression through the rebuild, unless
 * the open asks for another. */
static void test_compression_kept_by_recovery_wipes(void **state)
{
    (void)state;
    for (int c = 0; c < 3; c++) {
        char dir[256];
        gs_tv_tmpdir(dir, sizeof(dir));
        gs_views *v = open_comp(dir, GS_VIEWS_COMPRESSION_LZ4);
        assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
        if (c == 1) {
            char *rerr = NULL;
            rocksdb_delete_cf(v->db, v->wo, v->cf[GS_VCF_META], GS_VMETA_FORMAT,
                              strlen(GS_VMETA_FORMAT), &rerr);
            assert_null(rerr);
        } else {
            add_family(v, "future");
        }
        gs_views_close(v, NULL);
        gs_views_compression ask =
            c == 2 ? GS_VIEWS_COMPRESSION_ZSTD : GS_VIEWS_COMPRESSION_DEFAULT;
        v = open_comp(dir, ask);
        const char *why = gs_views_wiped_reason(v);
        assert_non_null(why);
        assert_non_null(strstr(why, c == 1 ? "no schema version" : "future"));
        assert_int_equal(gs_views_watermark(v), 0);
        gs_views_compression want = c == 2 ? GS_VIEWS_COMPRESSION_ZSTD : GS_VIEWS_COMPRESSION_LZ4;
        assert_comp(v, dir, want);
        gs_views_close(v, NULL);
        v = open_comp(dir, GS_VIEWS_COMPRESSION_DEFAULT); /* stored for the next open */
        assert_null(gs_views_wiped_reason(v));
        assert_comp(v, dir, want);
        gs_views_close(v, NULL);
        gs_tv_rmtree(dir);
    }
}

static void test_second_writer_busy(void **state)
{
    (void)state;
    char dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_views *v, *w;
    gs_err err;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_views_open(dir, NULL, &w, &err), GS_EBUSY);
    assert_null(w);
    assert_non_null(strstr(err.msg, dir));
    gs_views_close(v, NULL);
    assert_int_equal(gs_views_close(NULL, NULL), GS_OK);
    gs_tv_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_drop_types),
        cmocka_unit_test(test_reopen_keeps_watermark_and_data),
        cmocka_unit_test(test_schema_change_wipes),
        cmocka_unit_test(test_rules_use_stored),
        cmocka_unit_test(test_unknown_family_wipes),
        cmocka_unit_test(test_readonly),
        cmocka_unit_test(test_second_writer_busy),
        cmocka_unit_test(test_compression_stored),
        cmocka_unit_test(test_compression_absent_or_damaged),
        cmocka_unit_test(test_compression_kept_by_recovery_wipes),
        cmocka_unit_test(test_compression_auto),
        cmocka_unit_test(test_close_compacts_small_l0),
    };
    return cmocka_run_group_tests(tests, gs_tv_scen_setup, gs_tv_scen_teardown);
}
