/* test_store.c - the store: create/open, metadata checks, the writer lock,
 * gs_ingest_line outcomes, reading back through the public iterator, and the
 * error map. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "support_tmp.h"

static gs_store *open_store(const char *path, int create, int read_only, int *rc_out)
{
    gs_options *o = NULL;
    assert_int_equal(gs_options_create(&o), GS_OK);
    gs_options_set_create(o, create);
    gs_options_set_read_only(o, read_only);
    gs_store *st = NULL;
    int rc = gs_store_open(path, o, &st);
    gs_options_destroy(o);
    if (rc_out)
        *rc_out = rc;
    return st;
}

static void test_missing_store(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    char path[300];
    snprintf(path, sizeof(path), "%s/none", dir);
    int rc;
    gs_store *st = open_store(path, 0, 0, &rc);
    assert_null(st);
    assert_int_equal(rc, GS_ENOSTORE);
    assert_non_null(strstr(gs_open_errmsg(), path));
    st = open_store(path, 0, 1, &rc);
    assert_int_equal(rc, GS_ENOSTORE);
    gs_test_rmtree(dir);
}

static void test_create_reopen_readonly(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    int rc;
    gs_store *st = open_store(dir, 1, 0, &rc);
    assert_int_equal(rc, GS_OK);
    assert_int_equal(gs_store_head_lsn(st), 0);
    uint64_t lsn = 0;
    const char *f1 = "{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{}}";
    assert_int_equal(gs_ingest_line(st, f1, strlen(f1), NULL, &lsn), GS_OK);
    assert_int_equal(lsn, 1);
    assert_int_equal(gs_store_close(st), GS_OK);

    char meta[300];
    snprintf(meta, sizeof(meta), "%s/gatestore.meta", dir);
    struct stat sb;
    assert_int_equal(stat(meta, &sb), 0);

    st = open_store(dir, 0, 1, &rc);
    assert_int_equal(rc, GS_OK);
    assert_int_equal(gs_store_head_lsn(st), 1);
    assert_int_equal(gs_ingest_line(st, f1, strlen(f1), NULL, &lsn), GS_EREADONLY);
    assert_int_equal(gs_store_sync(st), GS_EREADONLY);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_test_rmtree(dir);
}

static void test_second_writer_busy(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    int rc;
    gs_store *a = open_store(dir, 1, 0, &rc);
    assert_int_equal(rc, GS_OK);
    gs_store *b = open_store(dir, 0, 0, &rc);
    assert_null(b);
    assert_int_equal(rc, GS_EBUSY);
    char want[64];
    snprintf(want, sizeof(want), "pid %ld", (long)getpid());
    assert_non_null(strstr(gs_open_errmsg(), want));
    /* A reader is fine beside the writer. */
    gs_store *r = open_store(dir, 0, 1, &rc);
    assert_int_equal(rc, GS_OK);
    gs_store_close(r);
    gs_store_close(a);
    /* Once the writer is gone, the lock is free. */
    b = open_store(dir, 0, 0, &rc);
    assert_int_equal(rc, GS_OK);
    gs_store_close(b);
    gs_test_rmtree(dir);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_meta_checks(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    int rc;
    gs_store *st = open_store(dir, 1, 0, &rc);
    assert_int_equal(rc, GS_OK);
    gs_store_close(st);
    char meta[300];
    snprintf(meta, sizeof(meta), "%s/gatestore.meta", dir);

    /* A flipped byte: the checksum catches it. */
    FILE *f = fopen(meta, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    char saved[4096];
    memcpy(saved, buf, n);
    buf[20] ^= 0x01;
    write_file(meta, buf, n);
    st = open_store(dir, 0, 0, &rc);
    assert_null(st);
    assert_int_equal(rc, GS_ECORRUPT);
    assert_non_null(strstr(gs_open_errmsg(), "gatestore.meta"));

    /* A newer format with a valid checksum: refused as a version. */
    char body[512];
    int m = snprintf(body, sizeof(body),
                     "gatestore-store 99\nstore_id=00112233445566778899aabbccddeeff\n"
                     "created_us=1\nlog_format=1\nviews_format=1\n");
    m += snprintf(body + m, sizeof(body) - (size_t)m, "checksum=%016llx\n",
                  (unsigned long long)XXH3_64bits(body, (size_t)m));
    write_file(meta, body, (size_t)m);
    st = open_store(dir, 0, 1, &rc);
    assert_int_equal(rc, GS_EVERSION);
    assert_non_null(strstr(gs_open_errmsg(), "99"));

    /* Not ours at all. */
    write_file(meta, "hello\n", 6);
    st = open_store(dir, 0, 1, &rc);
    assert_int_equal(rc, GS_ENOSTORE);

    /* A log without metadata is never silently re-initialised. */
    unlink(meta);
    st = open_store(dir, 1, 0, &rc);
    assert_null(st);
    assert_int_equal(rc, GS_ENOSTORE);
    assert_non_null(strstr(gs_open_errmsg(), "refusing"));

    /* Restored metadata opens again. */
    write_file(meta, saved, n);
    st = open_store(dir, 0, 0, &rc);
    assert_int_equal(rc, GS_OK);
    gs_store_close(st);
    gs_test_rmtree(dir);
}

static void test_ingest_outcomes(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    int rc;
    gs_store *st = open_store(dir, 1, 0, &rc);
    assert_int_equal(rc, GS_OK);
    struct {
        const char *line;
        int want;
    } cases[] = {
        {"{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{}}\n", GS_OK},
        {"{\"d\":null,\"op\":0,\"s\":2,\"t\":\"SOME_FUTURE_EVENT\"}", GS_OK},
        {"{\"op\":0,\"t\":\"RESUMED\"}", GS_OK},
        {"{\"op\":11}", GS_SKIPPED},
        {"{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}", GS_SKIPPED},
        {"{\"op\":0,\"s\":4,\"d\":{}}", GS_EFRAME},
        {"{\"op\":\"0\",\"t\":\"X\"}", GS_EFRAME},
        {"{\"op\":0,\"t\":\"X\",\"s\":\"5\"}", GS_EFRAME},
        {"{\"op\":0,\"t\":\"X\",\"d\":{", GS_EJSON},
        {"", GS_EJSON},
        {"{\"op\":0,\"t\":\"\xff\xfe\",\"s\":1}", GS_EUTF8},
    };
    uint64_t expect_lsn = 1;
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++) {
        uint64_t lsn = 0;
        rc = gs_ingest_line(st, cases[i].line, strlen(cases[i].line), NULL, &lsn);
        if (rc != cases[i].want)
            fail_msg("case %zu (%s): got %s, want %s (%s)", i, cases[i].line, gs_errname(rc),
                     gs_errname(cases[i].want), gs_store_errmsg(st));
        if (rc == GS_OK)
            assert_int_equal(lsn, expect_lsn++);
        else if (rc < 0)
            assert_true(strlen(gs_store_errmsg(st)) > 0);
    }
    assert_int_equal(gs_store_head_lsn(st), 3);

    /* Read back through the public iterator: exact bytes, metadata, ranges. */
    gs_frame_meta meta = {1667328000000000, 7};
    const char *f4 = "{\"op\":0,\"t\":\"GUILD_UPDATE\",\"s\":9,\"d\":{\"id\":\"1\"}}";
    uint64_t lsn = 0;
    assert_int_equal(gs_ingest_line(st, f4, strlen(f4), &meta, &lsn), GS_OK);
    assert_int_equal(lsn, 4);
    gs_log_range range = {2, 4, 0, 0};
    gs_log_iter *it = NULL;
    assert_int_equal(gs_log_iter_open(st, &range, &it), GS_OK);
    gs_record r;
    assert_int_equal(gs_log_iter_next(it, &r), 1);
    assert_int_equal(r.lsn, 2);
    assert_int_equal(r.seq, 2);
    assert_int_equal(r.event_len, strlen("SOME_FUTURE_EVENT"));
    assert_memory_equal(r.event, "SOME_FUTURE_EVENT", r.event_len);
    assert_int_equal(gs_log_iter_next(it, &r), 1);
    assert_int_equal(r.lsn, 3);
    assert_int_equal(r.seq, -1);
    assert_int_equal(gs_log_iter_next(it, &r), 1);
    assert_int_equal(r.lsn, 4);
    assert_int_equal(r.recv_us, 1667328000000000);
    assert_int_equal(r.shard, 7);
    assert_int_equal(r.raw_len, strlen(f4));
    assert_memory_equal(r.raw, f4, r.raw_len);
    assert_int_equal(gs_log_iter_next(it, &r), 0);
    gs_log_iter_close(it);

    /* The first line's trailing newline is not part of the stored bytes. */
    range.from_lsn = 1;
    range.to_lsn = 1;
    assert_int_equal(gs_log_iter_open(st, &range, &it), GS_OK);
    assert_int_equal(gs_log_iter_next(it, &r), 1);
    assert_int_equal(r.raw_len, strlen(cases[0].line) - 1);
    gs_log_iter_close(it);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_test_rmtree(dir);
}

/* A new store in dir opened without views; *o keeps its options. */
static gs_store *create_without_views(const char *dir, gs_options **o)
{
    assert_int_equal(gs_options_create(o), GS_OK);
    gs_options_set_create(*o, 1);
    assert_int_equal(gs_options_set_views(*o, 0), GS_OK);
    gs_store *st = NULL;
    assert_int_equal(gs_store_open(dir, *o, &st), GS_OK);
    return st;
}

static void test_views_off(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_options *o = NULL;
    gs_store *st = create_without_views(dir, &o);
    const char *f = "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":1,\"d\":{\"id\":\"5\",\"name\":\"g\"}}";
    uint64_t lsn = 0;
    assert_int_equal(gs_ingest_line(st, f, strlen(f), NULL, &lsn), GS_OK);
    char *js = NULL;
    assert_int_equal(gs_get(st, "guild", 5, 0, &js, NULL), GS_EVIEW);
    assert_null(js);
    assert_int_equal(gs_store_close(st), GS_OK);
    char vdir[300];
    snprintf(vdir, sizeof(vdir), "%s/views", dir);
    struct stat sb;
    assert_int_not_equal(stat(vdir, &sb), 0); /* no views were created */
    /* Reopened with views, they catch up from the log. */
    gs_options_set_views(o, 1);
    assert_int_equal(gs_store_open(dir, o, &st), GS_OK);
    size_t len = 0;
    assert_int_equal(gs_get(st, "guild", 5, 0, &js, &len), GS_OK);
    assert_non_null(strstr(js, "\"name\":\"g\""));
    gs_free(js);
    gs_store_close(st);
    gs_options_destroy(o);
    gs_test_rmtree(dir);
}

/* gs_views_memory_get: figures that follow what was applied, inside their
 * budgets; refused without views. gs_options_set_views_memory: budgets
 * reach the views, bad ones are refused. */
static void test_views_memory_figures(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_options *o = NULL;
    gs_store *st = create_without_views(dir, &o);
    gs_views_memory m;
    assert_int_equal(gs_views_memory_get(st, &m), GS_EVIEW);
    assert_int_equal(gs_views_memory_get(st, NULL), GS_EMISUSE);
    assert_int_equal(gs_views_memory_get(NULL, &m), GS_EMISUSE);
    assert_int_equal(gs_store_close(st), GS_OK);

    gs_options_set_views(o, 1);
    assert_int_equal(gs_store_open(dir, o, &st), GS_OK);
    assert_int_equal(gs_views_memory_get(st, &m), GS_OK);
    uint64_t entries0 = m.entity_cache_entries, bytes0 = m.entity_cache_bytes;
    assert_true(m.entity_cache_budget > 0);
    assert_true(m.block_cache_budget > 0);
    assert_true(m.write_buffer_budget > 0);
    char line[512];
    uint64_t lsn = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(line, sizeof(line),
                 "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":%d,\"d\":{\"id\":\"%d\","
                 "\"name\":\"g%d\",\"channels\":[{\"id\":\"%d\",\"type\":0,"
                 "\"name\":\"general\"}]}}",
                 i + 1, 1000 + i, i, 5000 + i);
        assert_int_equal(gs_ingest_line(st, line, strlen(line), NULL, &lsn), GS_OK);
    }
    assert_int_equal(gs_wait_confirmed(st, lsn, 10000), GS_OK);
    assert_int_equal(gs_views_memory_get(st, &m), GS_OK);
    /* 50 guilds and 50 channels were committed and cached. */
    assert_true(m.entity_cache_entries >= entries0 + 100);
    assert_true(m.entity_cache_bytes > bytes0);
    assert_true(m.entity_cache_bytes <= m.entity_cache_budget);
    /* Nothing was flushed yet: the writes are in the memtables. */
    assert_true(m.memtable_bytes > 0);
    assert_true(m.block_cache_bytes <= m.block_cache_budget);
    assert_true(m.block_cache_pinned <= m.block_cache_bytes);
    assert_int_equal(gs_store_close(st), GS_OK);

    /* Budgets chosen by the caller reach the views; bad ones are refused
     * and leave the last good ones. */
    assert_int_equal(gs_options_set_views_memory(o, 1000, 0, 0), GS_EMISUSE);
    assert_int_equal(gs_options_set_views_memory(o, 0, 0, (1ull << 40) + 1), GS_EMISUSE);
    assert_int_equal(gs_options_set_views_memory(NULL, 0, 0, 0), GS_EMISUSE);
    assert_int_equal(gs_options_set_views_memory(o, 2u << 20, 3u << 20, 4u << 20), GS_OK);
    assert_int_equal(gs_options_set_views_memory(o, 1, 1, 1), GS_EMISUSE);
    assert_int_equal(gs_store_open(dir, o, &st), GS_OK);
    assert_int_equal(gs_views_memory_get(st, &m), GS_OK);
    assert_int_equal(m.entity_cache_budget, 2u << 20);
    assert_int_equal(m.block_cache_budget, 3u << 20);
    assert_int_equal(m.write_buffer_budget, 4u << 20);
    char *js = NULL;
    assert_int_equal(gs_get(st, "channel", 5049, 0, &js, NULL), GS_OK);
    assert_non_null(strstr(js, "\"name\":\"general\""));
    gs_free(js);
    assert_int_equal(gs_store_close(st), GS_OK);
    /* 0 is the default again. */
    assert_int_equal(gs_options_set_views_memory(o, 0, 0, 0), GS_OK);
    assert_int_equal(gs_store_open(dir, o, &st), GS_OK);
    assert_int_equal(gs_views_memory_get(st, &m), GS_OK);
    assert_int_equal(m.entity_cache_budget, 40u << 20);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_options_destroy(o);
    gs_test_rmtree(dir);
}

/* A close right after a burst the applier trails: everything appended is
 * in the views after the close (the applier drains its backlog, then the
 * close checks against the synced log), and a read-only open agrees. */
static void test_close_drains_backlog(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    int rc;
    gs_store *st = open_store(dir, 1, 0, &rc);
    assert_int_equal(rc, GS_OK);
    char line[512];
    uint64_t lsn = 0;
    const int n = 20000;
    snprintf(line, sizeof(line),
             "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":1,\"d\":{\"id\":\"77\",\"name\":\"g\"}}");
    assert_int_equal(gs_ingest_line(st, line, strlen(line), NULL, &lsn), GS_OK);
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof(line),
                 "{\"op\":0,\"t\":\"GUILD_MEMBER_ADD\",\"s\":%d,\"d\":{\"guild_id\":\"77\","
                 "\"roles\":[],\"joined_at\":\"2022-10-13T14:35:40.794000+00:00\","
                 "\"user\":{\"id\":\"%d\",\"username\":\"u%d\"}}}",
                 i + 2, 100000 + i, i);
        assert_int_equal(gs_ingest_line(st, line, strlen(line), NULL, &lsn), GS_OK);
    }
    assert_int_equal(lsn, (uint64_t)n + 1);
    assert_int_equal(gs_store_close(st), GS_OK);

    st = open_store(dir, 0, 1, &rc);
    assert_int_equal(rc, GS_OK);
    gs_views_status vs;
    assert_int_equal(gs_views_status_get(st, &vs), GS_OK);
    assert_int_equal(vs.head_lsn, (uint64_t)n + 1);
    assert_int_equal(vs.watermark, (uint64_t)n + 1);
    assert_int_equal(vs.lag, 0);
    assert_int_equal(vs.failed_records, 0);
    gs_query *q = NULL;
    assert_int_equal(gs_query_create(st, "member", &q), GS_OK);
    assert_int_equal(gs_query_guild(q, 77), GS_OK);
    uint64_t count = 0;
    assert_int_equal(gs_query_count(q, &count), GS_OK);
    assert_int_equal(count, (uint64_t)n);
    gs_query_destroy(q);
    char *js = NULL;
    assert_int_equal(gs_get(st, "member", 100000 + n - 1, 77, &js, NULL), GS_OK);
    assert_non_null(strstr(js, "\"username\":\"u19999\""));
    gs_free(js);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_test_rmtree(dir);
}

/* The compression choice through the store: AUTO for new views, set by the
 * options, kept by an open that sets none, reported by
 * gs_views_compression_get (and what is written by _now). */
static void test_views_compression_api(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_options *o = NULL;
    gs_store *st = create_without_views(dir, &o);
    gs_views_compression c = GS_VIEWS_COMPRESSION_DEFAULT;
    assert_int_equal(gs_views_compression_get(st, &c), GS_EVIEW);
    assert_int_equal(gs_views_compression_get(st, NULL), GS_EMISUSE);
    assert_int_equal(gs_views_compression_get(NULL, &c), GS_EMISUSE);
    assert_int_equal(gs_views_compression_now(st, &c), GS_EVIEW);
    assert_int_equal(gs_views_compression_now(st, NULL), GS_EMISUSE);
    assert_int_equal(gs_views_compression_now(NULL, &c), GS_EMISUSE);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_options_set_views(o, 1);
    /* No choice: new views are AUTO, zstd while small. */
    char dir2[256];
    gs_test_tmpdir(dir2, sizeof(dir2));
    gs_store *st2 = open_store(dir2, 1, 0, NULL);
    assert_non_null(st2);
    assert_int_equal(gs_views_compression_get(st2, &c), GS_OK);
    assert_int_equal(c, GS_VIEWS_COMPRESSION_AUTO);
    assert_int_equal(gs_views_compression_now(st2, &c), GS_OK);
    assert_int_equal(c, GS_VIEWS_COMPRESSION_ZSTD);
    assert_int_equal(gs_store_close(st2), GS_OK);
    gs_test_rmtree(dir2);
    assert_int_equal(gs_options_set_views_compression(o, GS_VIEWS_COMPRESSION_LZ4), GS_OK);
    assert_int_equal(gs_store_open(dir, o, &st), GS_OK);
    assert_int_equal(gs_views_compression_get(st, &c), GS_OK);
    assert_int_equal(c, GS_VIEWS_COMPRESSION_LZ4);
    assert_int_equal(gs_views_compression_now(st, &c), GS_OK);
    assert_int_equal(c, GS_VIEWS_COMPRESSION_LZ4);
    assert_int_equal(gs_store_close(st), GS_OK);
    assert_int_equal(gs_options_set_views_compression(o, GS_VIEWS_COMPRESSION_DEFAULT), GS_OK);
    assert_int_equal(gs_store_open(dir, o, &st), GS_OK);
    assert_int_equal(gs_views_compression_get(st, &c), GS_OK);
    assert_int_equal(c, GS_VIEWS_COMPRESSION_LZ4);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_options_destroy(o);
    st = open_store(dir, 0, 1, NULL);
    assert_non_null(st);
    assert_int_equal(gs_views_compression_get(st, &c), GS_OK);
    assert_int_equal(c, GS_VIEWS_COMPRESSION_LZ4);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_test_rmtree(dir);
}

static void test_error_map(void **state)
{
    (void)state;
    static const int codes[] = {
#define GS_T_CODE_(name, value, msg) name,
        GS_ERROR_MAP(GS_T_CODE_)
#undef GS_T_CODE_
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(codes); i++) {
        assert_string_not_equal(gs_errname(codes[i]), "GS_UNKNOWN");
        assert_string_not_equal(gs_errstr(codes[i]), "unknown error code");
        for (size_t j = i + 1; j < GS_ARRAY_LEN(codes); j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
    assert_string_equal(gs_errname(GS_ECORRUPT), "GS_ECORRUPT");
    assert_int_equal(GS_ECORRUPT, -6); /* numbers are forever */
    assert_int_equal(GS_EBUSY, -8);
    assert_string_equal(gs_errname(-9999), "GS_UNKNOWN");
    assert_int_equal(gs_version_number(), GS_VERSION_NUMBER);
}

static void test_options_bounds(void **state)
{
    (void)state;
    gs_options *o = NULL;
    assert_int_equal(gs_options_create(&o), GS_OK);
    assert_int_equal(gs_options_set_batch(o, 0, 1), GS_EMISUSE);
    assert_int_equal(gs_options_set_segment_bytes(o, 100), GS_EMISUSE);
    assert_int_equal(gs_options_set_max_depth(o, 1), GS_EMISUSE);
    assert_int_equal(gs_options_set_max_frame_bytes(o, 1ull << 40), GS_EMISUSE);
    assert_int_equal(gs_options_set_durability(o, (gs_durability)9), GS_EMISUSE);
    assert_int_equal(gs_options_set_durability(o, GS_DURABILITY_SYNC), GS_OK);
    gs_options_destroy(o);
    gs_options_destroy(NULL);
    assert_int_equal(gs_store_close(NULL), GS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_store),
        cmocka_unit_test(test_create_reopen_readonly),
        cmocka_unit_test(test_second_writer_busy),
        cmocka_unit_test(test_meta_checks),
        cmocka_unit_test(test_ingest_outcomes),
        cmocka_unit_test(test_error_map),
        cmocka_unit_test(test_views_off),
        cmocka_unit_test(test_options_bounds),
        cmocka_unit_test(test_views_memory_figures),
        cmocka_unit_test(test_close_drains_backlog),
        cmocka_unit_test(test_views_compression_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
