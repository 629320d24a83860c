/* test_hostile.c - hostile input through gs_ingest_line: a 100 MB frame,
 * nesting a million deep, a million keys, invalid UTF-8 in several places,
 * numbers out of range, `s` that is not an integer, ids that are not
 * snowflakes. Each gets its exact code (or is stored, where the input is a
 * valid frame), nothing is appended for a rejected line, the store's
 * message says what was wrong, and peak memory (getrusage) stays a small
 * multiple of the input. Nothing is asserted about time. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "support_logtest.h"

static char *dir;

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static gs_store *open_store(const char *name, uint64_t max_frame)
{
    char *path = lt_path(dir, name);
    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    gs_options_set_create(o, 1);
    gs_options_set_durability(o, GS_DURABILITY_SYNC);
    /* The ingest and log path alone: these limits and memory bounds are the
     * log's. (The views' applier parses each stored frame again; its memory
     * for a 100 MB frame is its own matter.) */
    gs_options_set_views(o, 0);
    if (max_frame)
        assert_int_equal(gs_options_set_max_frame_bytes(o, max_frame), GS_OK);
    gs_store *st;
    int rc = gs_store_open(path, o, &st);
    if (rc)
        fail_msg("open %s: %s", path, gs_open_errmsg());
    gs_options_destroy(o);
    free(path);
    return st;
}

/* Read the whole log back: exactly the lines given, in order. */
static void read_back(gs_store *st, const char *const *lines, const size_t *lens, size_t n)
{
    gs_log_iter *it;
    assert_int_equal(gs_log_iter_open(st, NULL, &it), GS_OK);
    gs_record r;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(gs_log_iter_next(it, &r), 1);
        assert_int_equal(r.lsn, i + 1);
        assert_int_equal(r.raw_len, lens[i]);
        assert_true(memcmp(r.raw, lines[i], lens[i]) == 0);
    }
    assert_int_equal(gs_log_iter_next(it, &r), 0);
    gs_log_iter_close(it);
}

/* A line must be refused with `want`, append nothing, and say something
 * containing `hint` (lower case) in the store's message. */
static void refused(gs_store *st, const char *line, size_t len, int want, const char *hint)
{
    uint64_t head = gs_store_head_lsn(st);
    int rc = gs_ingest_line(st, line, len, NULL, NULL);
    if (rc != want)
        fail_msg("%.60s...: got %s (%s), want %s", line, gs_errname(rc), gs_store_errmsg(st),
                 gs_errname(want));
    assert_int_equal(gs_store_head_lsn(st), head);
    if (hint && !strstr(gs_store_errmsg(st), hint))
        fail_msg("%.60s...: message \"%s\" does not mention \"%s\"", line, gs_store_errmsg(st),
                 hint);
}

static void refused_z(gs_store *st, const char *line, int want, const char *hint)
{
    refused(st, line, strlen(line), want, hint);
}

/* `{"op":0,"t":"MESSAGE_CREATE","s":1,"d":{"content":"<n letters>"}}` */
static char *big_frame(size_t total, size_t *len)
{
    static const char head[] = "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":1,\"d\":{\"content\":\"";
    static const char tail[] = "\"}}";
    char *p = malloc(total);
    assert_non_null(p);
    size_t h = sizeof(head) - 1, t = sizeof(tail) - 1;
    memcpy(p, head, h);
    uint32_t x = 12345;
    for (size_t i = h; i < total - t; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)('a' + (x >> 16) % 26);
    }
    memcpy(p + total - t, tail, t);
    *len = total;
    return p;
}

static void test_100mb_frame(void **state)
{
    GS_UNUSED(state);
    long rss0 = peak_rss_kb();
    size_t len;
    char *line = big_frame(100u * 1000 * 1000, &len);
    /* Default limit: 64 MiB. Refused before any parsing. */
    gs_store *st = open_store("big-default", 0);
    refused(st, line, len, GS_ETOOBIG, "exceeds");
    long rss_refused = peak_rss_kb();
    assert_int_equal(gs_store_close(st), GS_OK);
    /* Limit raised to 128 MiB: stored and read back byte-exact. */
    st = open_store("big-128", 128u << 20);
    uint64_t lsn = 0;
    int rc = gs_ingest_line(st, line, len, NULL, &lsn);
    if (rc)
        fail_msg("100 MB frame under a 128 MiB limit: %s: %s", gs_errname(rc), gs_store_errmsg(st));
    assert_int_equal(lsn, 1);
    const char *lines[1] = {line};
    read_back(st, lines, &len, 1);
    gs_verify_summary vs;
    assert_int_equal(gs_log_verify(st, NULL, NULL, &vs), GS_OK);
    assert_int_equal(gs_store_close(st), GS_OK);
    long rss1 = peak_rss_kb();
    print_message("100 MB frame: peak RSS %ld MB before, %ld MB after the refusal, %ld MB after "
                  "storing, reading back and verifying it (+%.1f x the frame)\n",
                  rss0 / 1024, rss_refused / 1024, rss1 / 1024,
                  (double)(rss1 - rss0) * 1024.0 / (double)len);
    /* The refusal costs nothing beyond the line itself. */
    assert_true((rss_refused - rss0) * 1024L < (long)len + (16L << 20));
    /* Storing and reading it back stays a small multiple of the frame:
     * the line, the parser's copy and tape, the packed block, zstd's
     * output, the reader's buffers. */
#ifndef __SANITIZE_ADDRESS__ /* ASan keeps freed memory in quarantine */
    assert_true((rss1 - rss0) * 1024L < 8L * (long)len);
#endif
    free(line);
}

static void test_deep_nesting(void **state)
{
    GS_UNUSED(state);
    gs_store *st = open_store("deep", 0);
    const size_t depth = 1000 * 1000;
    static const char head[] = "{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":";
    size_t h = sizeof(head) - 1;
    long rss0 = peak_rss_kb();
    char *p = malloc(h + 2 * depth + 1);
    /* arrays, balanced */
    memcpy(p, head, h);
    memset(p + h, '[', depth);
    memset(p + h + depth, ']', depth);
    p[h + 2 * depth] = '}';
    refused(st, p, h + 2 * depth + 1, GS_ETOODEEP, "nesting deeper than 256");
    /* arrays, never closed: the broken structure is reported */
    refused(st, p, h + depth, GS_EJSON, "malformed json");
    free(p);
    /* objects: {"a":{"a":...1...}} */
    size_t unit = 5; /* {"a": */
    p = malloc(h + depth * (unit + 1) + 2);
    memcpy(p, head, h);
    size_t n = h;
    for (size_t i = 0; i < depth; i++, n += unit)
        memcpy(p + n, "{\"a\":", unit);
    p[n++] = '1';
    memset(p + n, '}', depth + 1);
    n += depth + 1;
    refused(st, p, n, GS_ETOODEEP, "nesting deeper than 256");
    free(p);
    print_message("depth 1 000 000: peak RSS +%ld MB over %zu-byte lines\n",
                  (peak_rss_kb() - rss0) / 1024, n);
    assert_int_equal(gs_store_head_lsn(st), 0);
    assert_int_equal(gs_store_close(st), GS_OK);
}

/* A million keys in `d` is a valid frame within the size limit: there is
 * no member-count limit; memory is bounded by the frame-size limit. It is
 * stored byte-exact (a million duplicate keys too). */
static void test_million_keys(void **state)
{
    GS_UNUSED(state);
    gs_store *st = open_store("keys", 0);
    const size_t keys = 1000 * 1000;
    size_t cap = 64 + keys * 24;
    char *lines[2];
    size_t lens[2];
    for (int dup = 0; dup < 2; dup++) {
        char *p = malloc(cap);
        size_t n = (size_t)sprintf(p, "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":%d,\"d\":{", dup + 1);
        for (size_t i = 0; i < keys; i++) {
            if (dup)
                n += (size_t)sprintf(p + n, "%s\"id\":%zu", i ? "," : "", i);
            else
                n += (size_t)sprintf(p + n, "%s\"k%zu\":%zu", i ? "," : "", i, i);
        }
        n += (size_t)sprintf(p + n, "}}");
        lines[dup] = p;
        lens[dup] = n;
    }
    long rss0 = peak_rss_kb();
    for (int dup = 0; dup < 2; dup++) {
        uint64_t lsn = 0;
        int rc = gs_ingest_line(st, lines[dup], lens[dup], NULL, &lsn);
        if (rc)
            fail_msg("a million keys: %s: %s", gs_errname(rc), gs_store_errmsg(st));
        assert_int_equal(lsn, (uint64_t)dup + 1);
    }
    read_back(st, (const char *const *)lines, lens, 2);
    print_message("a million keys (%zu-byte line): stored; peak RSS +%ld MB\n", lens[0],
                  (peak_rss_kb() - rss0) / 1024);
#ifndef __SANITIZE_ADDRESS__
    assert_true((peak_rss_kb() - rss0) * 1024L < 16L * (long)lens[0]);
#endif
    assert_int_equal(gs_store_close(st), GS_OK);
    free(lines[0]);
    free(lines[1]);
}

static void test_invalid_utf8(void **state)
{
    GS_UNUSED(state);
    gs_store *st = open_store("utf8", 0);
    static const struct {
        const char *line;
        int code;
    } cases[] = {
        /* in the event name */
        {"{\"op\":0,\"t\":\"MESSAGE_\xff\",\"s\":1,\"d\":{}}", GS_EUTF8},
        /* in a string value of d */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"content\":\"a\xc3\x28\"}}", GS_EUTF8},
        /* in a key */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"\xe2\x82\":1}}", GS_EUTF8},
        /* overlong encoding of '/' */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\xc0\xaf\"}}", GS_EUTF8},
        /* a UTF-16 surrogate encoded in UTF-8 */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\xed\xa0\x80\"}}", GS_EUTF8},
        /* beyond U+10FFFF */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\xf4\x90\x80\x80\"}}", GS_EUTF8},
        /* a multi-byte sequence cut short */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\xf0\x9f\x98\"}}", GS_EUTF8},
        /* ... by the end of the line: the unclosed string is reported */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\xf0\x9f\x98", GS_EJSON},
        /* between tokens */
        {"{\"op\":0,\xfe\"t\":\"A\",\"s\":1,\"d\":{}}", GS_EUTF8},
        /* in an envelope's received_at and in its frame */
        {"{\"received_at\":\"2022-11-01T18:40:00\x80Z\",\"frame\":{\"op\":0,\"t\":\"A\",\"s\":1,"
         "\"d\":{}}}",
         GS_EUTF8},
        {"{\"frame\":{\"op\":0,\"t\":\"A\xc3\",\"s\":1,\"d\":{}}}", GS_EUTF8},
        /* a lone surrogate as a JSON escape is malformed JSON, not bad UTF-8 */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\\ud800\"}}", GS_EJSON},
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++)
        refused_z(st, cases[i].line, cases[i].code, NULL);
    /* Valid multi-byte text is fine. */
    const char *ok =
        "{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":\"\xc2\xaf\\\\_(\xe3\x83\x84)_/\xc2\xaf "
        "\xf0\x9f\x91\x8b\xf0\x9f\x8f\xbb\"}}";
    assert_int_equal(gs_ingest_line(st, ok, strlen(ok), NULL, NULL), GS_OK);
    assert_int_equal(gs_store_close(st), GS_OK);
}

static void test_numbers_and_types(void **state)
{
    GS_UNUSED(state);
    gs_store *st = open_store("numbers", 0);
    static const struct {
        const char *line;
        int code;
        const char *hint;
    } cases[] = {
        /* s beyond 64 bits: the parser refuses the number */
        {"{\"op\":0,\"t\":\"A\",\"s\":18446744073709551616,\"d\":{}}", GS_EJSON, NULL},
        /* s fits uint64 but not int64 */
        {"{\"op\":0,\"t\":\"A\",\"s\":9223372036854775808,\"d\":{}}", GS_EFRAME, "out of range"},
        {"{\"op\":0,\"t\":\"A\",\"s\":-1,\"d\":{}}", GS_EFRAME, "negative"},
        /* s not an integer */
        {"{\"op\":0,\"t\":\"A\",\"s\":\"1\",\"d\":{}}", GS_EFRAME, "s is not an integer"},
        {"{\"op\":0,\"t\":\"A\",\"s\":1.5,\"d\":{}}", GS_EFRAME, "s is not an integer"},
        {"{\"op\":0,\"t\":\"A\",\"s\":1e3,\"d\":{}}", GS_EFRAME, "s is not an integer"},
        {"{\"op\":0,\"t\":\"A\",\"s\":true,\"d\":{}}", GS_EFRAME, "s is not an integer"},
        {"{\"op\":0,\"t\":\"A\",\"s\":[1],\"d\":{}}", GS_EFRAME, "s is not an integer"},
        {"{\"op\":0,\"t\":\"A\",\"s\":{},\"d\":{}}", GS_EFRAME, "s is not an integer"},
        /* op out of range or of the wrong type */
        {"{\"op\":2147483648,\"t\":\"A\",\"s\":1,\"d\":{}}", GS_EFRAME, "op is out of range"},
        {"{\"op\":-1,\"t\":\"A\",\"s\":1,\"d\":{}}", GS_EFRAME, "op is out of range"},
        {"{\"op\":0.0,\"t\":\"A\",\"s\":1,\"d\":{}}", GS_EFRAME, "op is not an integer"},
        /* numbers out of range inside d */
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":1e400}}", GS_EJSON, NULL},
        {"{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{\"x\":-99999999999999999999999}}", GS_EJSON, NULL},
        /* t of the wrong type, missing */
        {"{\"op\":0,\"t\":5,\"s\":1,\"d\":{}}", GS_EFRAME, "t is not a string"},
        {"{\"op\":0,\"s\":1,\"d\":{}}", GS_EFRAME, "without t"},
        /* envelope values out of range */
        {"{\"shard\":70000,\"frame\":{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{}}}", GS_EENVELOPE,
         "shard"},
        {"{\"received_at\":1e300,\"frame\":{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{}}}", GS_EENVELOPE,
         "received_at"},
        {"{\"received_at\":9223372036854775807,\"frame\":{\"op\":0,\"t\":\"A\",\"s\":1,\"d\":{}}}",
         GS_EENVELOPE, "out of range"},
        {"{\"received_at\":\"2022-13-01T00:00:00Z\",\"frame\":{\"op\":0,\"t\":\"A\",\"s\":1,"
         "\"d\":{}}}",
         GS_EENVELOPE, "rfc 3339"},
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++) {
        const char *hint = cases[i].hint;
        /* messages are lower case except for names (RFC 3339) */
        refused_z(st, cases[i].line, cases[i].code,
                  hint && strcmp(hint, "rfc 3339") == 0 ? "RFC 3339" : hint);
    }
    /* In range: s at INT64_MAX, null s, large and tiny numbers in d. */
    const char *ok[] = {
        "{\"op\":0,\"t\":\"A\",\"s\":9223372036854775807,\"d\":{}}",
        "{\"op\":0,\"t\":\"A\",\"s\":null,\"d\":{\"x\":1e308,\"y\":-1e-400,\"z\":"
        "18446744073709551615}}",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(ok); i++) {
        int rc = gs_ingest_line(st, ok[i], strlen(ok[i]), NULL, NULL);
        if (rc)
            fail_msg("%s: %s (%s)", ok[i], gs_errname(rc), gs_store_errmsg(st));
    }
    assert_int_equal(gs_store_head_lsn(st), 2);
    assert_int_equal(gs_store_close(st), GS_OK);
}

/* Ids that are not snowflakes are the views' concern: ingest keeps the
 * frame's bytes as received. */
static void test_non_snowflake_ids(void **state)
{
    GS_UNUSED(state);
    gs_store *st = open_store("ids", 0);
    const char *lines[] = {
        "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":1,\"d\":{\"id\":\"not-a-number\"}}",
        "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":2,\"d\":{\"id\":-5}}",
        "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":3,\"d\":{\"id\":\"123456789012345678901234567\"}}",
        "{\"op\":0,\"t\":\"CHANNEL_CREATE\",\"s\":4,\"d\":{\"id\":null,\"guild_id\":[1]}}",
    };
    size_t lens[GS_ARRAY_LEN(lines)];
    for (size_t i = 0; i < GS_ARRAY_LEN(lines); i++) {
        lens[i] = strlen(lines[i]);
        assert_int_equal(gs_ingest_line(st, lines[i], lens[i], NULL, NULL), GS_OK);
    }
    read_back(st, lines, lens, GS_ARRAY_LEN(lines));
    assert_int_equal(gs_store_close(st), GS_OK);
}

static int setup(void **state)
{
    GS_UNUSED(state);
    dir = lt_tmpdir("hostile");
    return 0;
}

static int teardown(void **state)
{
    GS_UNUSED(state);
    lt_rmrf(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* smallest to largest: each measures the growth of the process's
         * peak RSS, a high-water mark */
        cmocka_unit_test(test_deep_nesting),      cmocka_unit_test(test_million_keys),
        cmocka_unit_test(test_100mb_frame),       cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_numbers_and_types), cmocka_unit_test(test_non_snowflake_ids),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
