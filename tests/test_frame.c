/* test_frame.c - NDJSON line to gateway frame (src/frame.c). */
#include "gs_common.h"
#include "frame.h"
#include "timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define FIXTURE_LINES 157

static gs_json *new_parser(uint64_t max_bytes, uint32_t max_depth)
{
    gs_frame_limits lim = {max_bytes, max_depth};
    gs_json *p = NULL;
    gs_err err;
    assert_int_equal(gs_frame_json_create(&lim, &p, &err), GS_OK);
    return p;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

/* Parse s from an exactly sized heap copy (cap == len: no in-place). The
 * copy is returned in *keep so raw can be checked; caller frees it. */
static int parse_copy(gs_json *p, const char *s, size_t len, gs_frame *f, gs_err *err, char **keep)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, s, len);
    gs_err_clear(err);
    int rc = gs_frame_parse(p, buf, len, len, f, err);
    if (keep)
        *keep = buf;
    else
        free(buf);
    return rc;
}

static int code_of(gs_json *p, const char *s)
{
    gs_frame f;
    gs_err err;
    return parse_copy(p, s, strlen(s), &f, &err, NULL);
}

/* Assert the exact code and that the message contains `needle`. */
static void expect(gs_json *p, const char *s, int code, const char *needle)
{
    gs_frame f;
    gs_err err;
    memset(&f, 0xAB, sizeof(f));
    gs_frame before = f;
    int rc = parse_copy(p, s, strlen(s), &f, &err, NULL);
    if (rc != code)
        fail_msg("'%.120s': got %s (%s), want %s", s, gs_errname(rc), err.msg, gs_errname(code));
    if (code != GS_OK) {
        assert_int_equal(err.code, code);
        if (needle && !strstr(err.msg, needle))
            fail_msg("'%.120s': message '%s' lacks '%s'", s, err.msg, needle);
        assert_memory_equal(&f, &before, sizeof(f)); /* untouched on error */
    }
}

/* ------------------------------------------------------- fixture lines */

typedef struct expect_row {
    char file[96];
    int line;
    int op;
    char t[64];
    long long s;
} expect_row;

static size_t load_expectations(expect_row *rows, size_t max)
{
    size_t len;
    char *tsv = read_file(GS_TEST_DATA "/gateway_frames.tsv", &len);
    size_t n = 0;
    char *save = NULL;
    for (char *ln = strtok_r(tsv, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#')
            continue;
        assert_true(n < max);
        expect_row *r = &rows[n];
        char s[32];
        if (sscanf(ln, "%95[^\t]\t%d\t%d\t%63[^\t]\t%31s", r->file, &r->line, &r->op, r->t, s) != 5)
            fail_msg("bad expectation row: %s", ln);
        r->s = strcmp(s, "-") == 0 ? -1 : atoll(s);
        n++;
    }
    free(tsv);
    return n;
}

/* Line `want` (1-based) of a file: pointer and length, no newline. */
static const char *nth_line(const char *file, size_t flen, int want, size_t *len)
{
    int ln = 1;
    for (size_t off = 0; off < flen;) {
        const char *nl = memchr(file + off, '\n', flen - off);
        size_t l = nl ? (size_t)(nl - (file + off)) : flen - off;
        if (ln == want) {
            *len = l;
            return file + off;
        }
        ln++;
        off += l + 1;
    }
    fail_msg("no line %d", want);
    return NULL;
}

static expect_row g_rows[FIXTURE_LINES + 8];
static size_t g_nrows;

static void check_against_row(const gs_frame *f, const expect_row *r)
{
    assert_int_equal(f->op, r->op);
    assert_true(f->seq == r->s);
    if (strcmp(r->t, "-") == 0) {
        assert_null(f->event);
    } else {
        assert_non_null(f->event);
        assert_int_equal(f->event_len, strlen(r->t));
        assert_memory_equal(f->event, r->t, f->event_len);
    }
}

static void test_every_fixture_line(void **state)
{
    (void)state;
    g_nrows = load_expectations(g_rows, GS_ARRAY_LEN(g_rows));
    assert_int_equal(g_nrows, FIXTURE_LINES);
    gs_json *p = new_parser(64u << 20, 256);
    size_t dispatch = 0;
    for (size_t i = 0; i < g_nrows; i++) {
        const expect_row *r = &g_rows[i];
        char path[512];
        snprintf(path, sizeof(path), "%s/%.95s", GS_FIXTURES, r->file);
        size_t flen, len = 0;
        char *file = read_file(path, &flen);
        const char *line = nth_line(file, flen, r->line, &len);

        /* The file's own .nondispatch split must agree with op. */
        int nondispatch_file = strstr(r->file, ".nondispatch.") != NULL;
        if (nondispatch_file)
            assert_int_not_equal(r->op, 0);
        else if (strcmp(r->file, "scenario.ndjson") != 0)
            assert_int_equal(r->op, 0);

        gs_frame f;
        gs_err err;
        char *buf;
        int rc = parse_copy(p, line, len, &f, &err, &buf);
        if (rc != GS_OK)
            fail_msg("%s:%d: %s", r->file, r->line, err.msg);
        check_against_row(&f, r);
        assert_int_equal(f.envelope, 0);
        assert_int_equal(f.has_recv, 0);
        assert_int_equal(f.has_shard, 0);
        assert_ptr_equal(f.raw, buf);
        assert_int_equal(f.raw_len, len);
        dispatch += r->op == 0;

        /* In place, with CRLF leftovers and surrounding blanks excluded from raw. */
        size_t plen = len + 5;
        char *pad = malloc(plen + GS_JSON_PADDING);
        assert_non_null(pad);
        memcpy(pad, " \t", 2);
        memcpy(pad + 2, line, len);
        memcpy(pad + 2 + len, " \t\r", 3);
        rc = gs_frame_parse(p, pad, plen, plen + GS_JSON_PADDING, &f, &err);
        assert_int_equal(rc, GS_OK);
        check_against_row(&f, r);
        assert_ptr_equal(f.raw, pad + 2);
        assert_int_equal(f.raw_len, len);
        free(pad);
        free(buf);
        free(file);
    }
    assert_true(dispatch > 100);
    gs_json_destroy(p);
}

/* ------------------------------------------------------------ envelopes */

/* Envelope layouts: %s is the inner frame. */
static const char *const envelopes[] = {
    "{\"received_at\":\"2022-11-01T18:40:00Z\",\"frame\":%s}",
    "{\"frame\":%s,\"received_at\":1667328000000}",
    "  {  \"shard\" : 3 ,\n\t\"frame\"\t:\r\n %s  ,  \"received_at\" : "
    "\"2022-11-01T19:40:00+01:00\" }  ",
    "{\"meta\":{\"frame\":{\"op\":1}},\"note\":\"}\\\"{\\\\\",\"frame\":%s,\"received_at\":"
    "\"2022-11-01T18:40:00.000Z\"}",
    "{\"x\":[\"frame\",{\"frame\":[]}],\"fr\\u0061me\":%s,\"received_at\":1667328000000,"
    "\"shard\":null}",
    "{\"received_at\":\"2022-11-01t18:40:00z\",\"shard\":65535,\"frame\":%s,\"frame\":{\"op\":5}}",
};

static void test_envelopes_wrap_fixtures(void **state)
{
    (void)state;
    if (g_nrows == 0)
        g_nrows = load_expectations(g_rows, GS_ARRAY_LEN(g_rows));
    gs_json *p = new_parser(64u << 20, 256);
    for (size_t i = 0; i < g_nrows; i++) {
        const expect_row *r = &g_rows[i];
        char path[512];
        snprintf(path, sizeof(path), "%s/%.95s", GS_FIXTURES, r->file);
        size_t flen, len = 0;
        char *file = read_file(path, &flen);
        const char *line = nth_line(file, flen, r->line, &len);
        for (size_t e = 0; e < GS_ARRAY_LEN(envelopes); e++) {
            const char *fmt = envelopes[e];
            const char *hole = strstr(fmt, "%s");
            size_t pre = (size_t)(hole - fmt);
            size_t post = strlen(hole + 2);
            size_t elen = pre + len + post;
            char *env = malloc(elen + GS_JSON_PADDING);
            assert_non_null(env);
            memcpy(env, fmt, pre);
            memcpy(env + pre, line, len);
            memcpy(env + pre + len, hole + 2, post);

            gs_frame f;
            gs_err err;
            int rc = gs_frame_parse(p, env, elen, elen + GS_JSON_PADDING, &f, &err);
            if (rc != GS_OK)
                fail_msg("%s:%d envelope %zu: %s", r->file, r->line, e, err.msg);
            check_against_row(&f, r);
            assert_int_equal(f.envelope, 1);
            assert_ptr_equal(f.raw, env + pre);
            assert_int_equal(f.raw_len, len);
            assert_memory_equal(f.raw, line, len);
            assert_int_equal(f.has_recv, 1);
            assert_true(f.recv_us == 1667328000000000LL);
            if (e == 2) {
                assert_int_equal(f.has_shard, 1);
                assert_int_equal(f.shard, 3);
            } else if (e == 5) {
                assert_int_equal(f.has_shard, 1);
                assert_int_equal(f.shard, 65535);
            } else {
                assert_int_equal(f.has_shard, 0);
            }
            free(env);
        }
        free(file);
    }
    gs_json_destroy(p);
}

static void test_envelope_minimal(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    const char *s = "{\"frame\":{\"op\":11}}";
    gs_frame f;
    gs_err err;
    char *buf;
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, &buf), GS_OK);
    assert_int_equal(f.envelope, 1);
    assert_int_equal(f.op, 11);
    assert_true(f.seq == -1);
    assert_null(f.event);
    assert_int_equal(f.has_recv, 0);
    assert_int_equal(f.has_shard, 0);
    assert_ptr_equal(f.raw, buf + 9);
    assert_int_equal(f.raw_len, 9);
    free(buf);
    gs_json_destroy(p);
}

static int64_t recv_of(gs_json *p, const char *received_at)
{
    char line[256];
    snprintf(line, sizeof(line), "{\"frame\":{\"op\":1},\"received_at\":%s}", received_at);
    gs_frame f;
    gs_err err;
    int rc = parse_copy(p, line, strlen(line), &f, &err, NULL);
    if (rc != GS_OK)
        fail_msg("%s: %s", received_at, err.msg);
    assert_int_equal(f.has_recv, 1);
    return f.recv_us;
}

static void test_received_at(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    const int64_t base = 1667328000000000LL; /* 2022-11-01T18:40:00Z */
    assert_true(recv_of(p, "\"2022-11-01T18:40:00Z\"") == base);
    assert_true(recv_of(p, "\"2022-11-01T18:40:00.5Z\"") == base + 500000);
    assert_true(recv_of(p, "\"2022-11-01T18:40:00.123456Z\"") == base + 123456);
    assert_true(recv_of(p, "\"2022-11-01T18:40:00.123456789Z\"") == base + 123456);
    assert_true(recv_of(p, "\"2022-11-01T20:10:00+01:30\"") == base);
    assert_true(recv_of(p, "\"2022-11-01T13:40:00-05:00\"") == base);
    assert_true(recv_of(p, "\"2022-11-02T00:10:00.25+05:30\"") == base + 250000);
    assert_true(recv_of(p, "\"2022-11-01T18:40:00+00:00\"") == base);
    assert_true(recv_of(p, "\"2022-11-01T18:40:00-00:00\"") == base);
    assert_true(recv_of(p, "\"1970-01-01T00:00:00Z\"") == 0);
    assert_true(recv_of(p, "\"2000-02-29T00:00:00Z\"") == 951782400000000LL);
    assert_true(recv_of(p, "\"2024-02-29T12:00:00Z\"") == 1709208000000000LL);
    /* A leap second is clamped to the last µs of its minute (timefmt.h). */
    assert_true(recv_of(p, "\"2016-12-31T23:59:60Z\"") == 1483228799999999LL);
    /* RFC 3339 allows a space for T. */
    assert_true(recv_of(p, "\"2022-11-01 18:40:00Z\"") == base);
    assert_true(recv_of(p, "\"9999-12-31T23:59:59Z\"") == 253402300799000000LL);
    assert_true(recv_of(p, "1667328000000") == base);
    assert_true(recv_of(p, "1667328000123") == base + 123000);
    assert_true(recv_of(p, "0") == 0);
    assert_true(recv_of(p, "9223372036854775") == 9223372036854775000LL);
    /* null is the same as absent. */
    gs_frame f;
    gs_err err;
    const char *s = "{\"frame\":{\"op\":1},\"received_at\":null}";
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, NULL), GS_OK);
    assert_int_equal(f.has_recv, 0);
    gs_json_destroy(p);
}

static void test_received_at_errors(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    struct {
        const char *v;
        const char *why;
    } bad[] = {
        {"\"garbage\"", "too short"},
        {"\"\"", "too short"},
        {"\"2022-02-30T00:00:00Z\"", "day out of range"},
        {"\"2023-02-29T00:00:00Z\"", "day out of range"},
        {"\"1900-02-29T00:00:00Z\"", "day out of range"},
        {"\"2022-04-31T00:00:00Z\"", "day out of range"},
        {"\"2022-01-00T00:00:00Z\"", "day out of range"},
        {"\"2022-13-01T00:00:00Z\"", "month out of range"},
        {"\"2022-00-01T00:00:00Z\"", "month out of range"},
        {"\"2022-11-01T24:00:00Z\"", "hour out of range"},
        {"\"2022-11-01T18:60:00Z\"", "minute out of range"},
        {"\"2022-11-01T18:40:61Z\"", "second out of range"},
        {"\"2022-11-01T18:40:00\"", "too short"},
        {"\"2022-11-01T18:40:00.Z\"", "empty fraction"},
        {"\"2022-11-01T18:40:00.1234567890Z\"", "more than 9"},
        {"\"2022-11-01T18:40:00+0100\"", "offset"},
        {"\"2022-11-01T18:40:00+24:00\"", "offset out of range"},
        {"\"2022-11-01T18:40:00+01:60\"", "offset out of range"},
        {"\"2022-11-01T18:40:00ZZ\"", "trailing"},
        {"\"2022-11-01T18:40:00Z \"", "trailing"},
        {"\"2022/11/01T18:40:00Z\"", "form"},
        {"\"2O22-11-01T18:40:00Z\"", "non-digit"},
        {"\"1969-12-31T23:59:59Z\"", "before 1970"},
        {"\"1970-01-01T00:30:00+01:00\"", "before 1970"},
        {"-1", "negative"},
        {"-1667328000000", "negative"},
        {"1667328000000.5", "neither"},
        {"1.6e12", "neither"},
        {"true", "neither"},
        {"[1667328000000]", "neither"},
        {"{}", "neither"},
        {"9223372036854776", "out of range"},
        {"18446744073709551615", "out of range"},
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"frame\":{\"op\":0,\"t\":\"READY\",\"s\":1},"
                 "\"received_at\":%s}",
                 bad[i].v);
        expect(p, line, GS_EENVELOPE, "envelope received_at");
        if (bad[i].v[0] == '"') {
            /* Strings: the message quotes the value and says what is expected. */
            char quoted[128];
            snprintf(quoted, sizeof(quoted), "%s is not an RFC 3339 date-time", bad[i].v);
            expect(p, line, GS_EENVELOPE, quoted);
        } else {
            expect(p, line, GS_EENVELOPE, bad[i].why);
        }
    }
    gs_json_destroy(p);
}

/* The RFC 3339 parser the envelope relies on (src/timefmt.c): calendar
 * arithmetic over two years, and the length bound. */
static void test_rfc3339_calendar(void **state)
{
    (void)state;
    int64_t us = 7;
    /* Not NUL-terminated: the length bounds the read. */
    const char buf[] = "2022-11-01T18:40:00Zjunk";
    assert_int_equal(gs_time_parse_rfc3339(buf, 20, &us), 0);
    assert_true(us == 1667328000000000LL);
    assert_int_equal(gs_time_parse_rfc3339(buf, 24, &us), -1);
    assert_int_equal(gs_time_parse_rfc3339(buf, 19, &us), -1);
    assert_int_equal(gs_time_parse_rfc3339("2022-11-01T18:40:00.1", 21, &us), -1);
    assert_int_equal(gs_time_parse_rfc3339("2022-11-01T18:40:00+01", 22, &us), -1);
    /* Every day of a common and a leap year, in order, one day apart. */
    int64_t prev = -1;
    for (int y = 2023; y <= 2024; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31; d++) {
                char s[32];
                snprintf(s, sizeof(s), "%04d-%02d-%02dT00:00:00Z", y, m, d);
                int valid = !(d > 30 && (m == 4 || m == 6 || m == 9 || m == 11)) &&
                            !(m == 2 && d > (y == 2024 ? 29 : 28));
                int rc = gs_time_parse_rfc3339(s, 20, &us);
                assert_int_equal(rc, valid ? 0 : -1);
                if (valid) {
                    if (prev >= 0)
                        assert_true(us - prev == 86400LL * 1000000);
                    prev = us;
                }
            }
        }
    }
    assert_true(prev == 1735603200000000LL); /* 2024-12-31 */
}

static void test_shard(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    const char *frame = "{\"frame\":{\"op\":1},\"shard\":%s}";
    char line[128];
    const char *ok[] = {"0", "1", "65535"};
    const int okv[] = {0, 1, 65535};
    for (size_t i = 0; i < GS_ARRAY_LEN(ok); i++) {
        snprintf(line, sizeof(line), frame, ok[i]);
        gs_frame f;
        gs_err err;
        assert_int_equal(parse_copy(p, line, strlen(line), &f, &err, NULL), GS_OK);
        assert_int_equal(f.has_shard, 1);
        assert_int_equal(f.shard, okv[i]);
    }
    const char *range[] = {"-1", "65536", "4294967296", "18446744073709551615"};
    for (size_t i = 0; i < GS_ARRAY_LEN(range); i++) {
        snprintf(line, sizeof(line), frame, range[i]);
        expect(p, line, GS_EENVELOPE, "shard is out of range");
    }
    const char *type[] = {"\"3\"", "1.5", "1e2", "true", "[]", "{}"};
    for (size_t i = 0; i < GS_ARRAY_LEN(type); i++) {
        snprintf(line, sizeof(line), frame, type[i]);
        expect(p, line, GS_EENVELOPE, "shard is not an integer");
    }
    gs_json_destroy(p);
}

/* --------------------------------------------------------------- errors */

static void test_frame_errors(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    /* Not JSON, or JSON but not one object. */
    expect(p, "", GS_EJSON, "empty");
    expect(p, "   ", GS_EJSON, "empty");
    expect(p, "hello", GS_EJSON, "malformed json");
    expect(p, "{\"op\":0,", GS_EJSON, "malformed json");
    expect(p, "{\"op\":1}{\"op\":1}", GS_EJSON, "malformed json");
    expect(p, "[{\"op\":0}]", GS_EJSON, "line is an array, not a JSON object");
    expect(p, "42", GS_EJSON, "line is a number");
    expect(p, "\"op\"", GS_EJSON, "line is a string");
    expect(p, "null", GS_EJSON, "line is null");
    expect(p, "true", GS_EJSON, "line is a boolean");

    /* op */
    expect(p, "{}", GS_EFRAME, "missing op");
    expect(p, "{\"t\":\"READY\",\"s\":1,\"d\":{}}", GS_EFRAME, "missing op");
    expect(p, "{\"op\":\"0\",\"t\":\"READY\"}", GS_EFRAME, "op is not an integer");
    expect(p, "{\"op\":0.0,\"t\":\"READY\"}", GS_EFRAME, "op is not an integer");
    expect(p, "{\"op\":1.5}", GS_EFRAME, "op is not an integer");
    expect(p, "{\"op\":null}", GS_EFRAME, "op is not an integer");
    expect(p, "{\"op\":[0]}", GS_EFRAME, "op is not an integer");
    expect(p, "{\"op\":-1}", GS_EFRAME, "op is out of range");
    expect(p, "{\"op\":4294967296}", GS_EFRAME, "op is out of range");
    expect(p, "{\"op\":18446744073709551615}", GS_EFRAME, "op is out of range");
    expect(p, "{\"OP\":0,\"t\":\"READY\"}", GS_EFRAME, "missing op");

    /* t on a dispatch */
    expect(p, "{\"op\":0,\"s\":1,\"d\":{}}", GS_EFRAME, "dispatch frame without t");
    expect(p, "{\"op\":0,\"t\":null,\"s\":1}", GS_EFRAME, "dispatch frame without t");
    expect(p, "{\"op\":0,\"t\":\"\",\"s\":1}", GS_EFRAME, "dispatch frame without t");
    expect(p, "{\"op\":0,\"t\":5,\"s\":1}", GS_EFRAME, "t is not a string");
    expect(p, "{\"op\":0,\"t\":[\"READY\"],\"s\":1}", GS_EFRAME, "t is not a string");
    expect(p, "{\"op\":1,\"t\":5}", GS_EFRAME, "t is not a string");

    /* s */
    expect(p, "{\"op\":0,\"t\":\"READY\",\"s\":\"1\"}", GS_EFRAME, "s is not an integer");
    expect(p, "{\"op\":0,\"t\":\"READY\",\"s\":-1}", GS_EFRAME, "s is negative");
    expect(p, "{\"op\":0,\"t\":\"READY\",\"s\":1.5}", GS_EFRAME, "s is not an integer");
    expect(p, "{\"op\":0,\"t\":\"READY\",\"s\":1e3}", GS_EFRAME, "s is not an integer");
    expect(p, "{\"op\":0,\"t\":\"READY\",\"s\":true}", GS_EFRAME, "s is not an integer");
    expect(p, "{\"op\":0,\"t\":\"READY\",\"s\":9223372036854775808}", GS_EFRAME,
           "s is out of range");
    expect(p, "{\"op\":11,\"s\":\"x\"}", GS_EFRAME, "s is not an integer");

    /* Envelope frame of the wrong type, or a bad inner frame. */
    expect(p, "{\"frame\":\"{\\\"op\\\":0}\"}", GS_EENVELOPE, "frame is a string, not an object");
    expect(p, "{\"frame\":[{\"op\":1}]}", GS_EENVELOPE, "frame is an array");
    expect(p, "{\"frame\":null,\"op\":1}", GS_EENVELOPE, "frame is null");
    expect(p, "{\"frame\":7}", GS_EENVELOPE, "frame is a number");
    expect(p, "{\"received_at\":0,\"frame\":{\"op\":0,\"s\":1}}", GS_EFRAME,
           "envelope frame at byte 25: dispatch frame without t");
    expect(p, "{\"frame\":{}}", GS_EFRAME, "missing op");

    /* Non-UTF-8 anywhere in the line, including the envelope's own fields. */
    expect(p, "{\"op\":0,\"t\":\"RE\xff\",\"s\":1}", GS_EUTF8, "UTF-8");
    expect(p, "{\"op\":1,\"d\":{\"x\":\"\xc3\"}}", GS_EUTF8, "UTF-8");
    expect(p, "{\"note\":\"\xed\xa0\x80\",\"frame\":{\"op\":1}}", GS_EUTF8, "UTF-8");
    gs_json_destroy(p);
}

static void test_valid_non_dispatch(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    gs_frame f;
    gs_err err;
    const char *cases[] = {
        "{\"op\":11}",
        "{\"op\":1,\"d\":null}",
        "{\"op\":9,\"d\":false,\"t\":null,\"s\":null}",
        "{\"op\":7,\"t\":\"\",\"s\":3}",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++)
        expect(p, cases[i], GS_OK, NULL);
    /* A dispatch with s null or absent, and without d (kord's RESUMED). */
    const char *s = "{\"t\":\"RESUMED\",\"s\":null,\"op\":0}";
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, NULL), GS_OK);
    assert_int_equal(f.op, 0);
    assert_true(f.seq == -1);
    assert_int_equal(f.event_len, 7);
    assert_memory_equal(f.event, "RESUMED", 7);
    s = "{\"op\":0,\"t\":\"X\"}";
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, NULL), GS_OK);
    assert_true(f.seq == -1);
    /* s = 0 and the largest int64 are accepted; t with escapes is decoded. */
    s = "{\"op\":0,\"t\":\"GUILD\\u005fCREATE\",\"s\":0}";
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, NULL), GS_OK);
    assert_true(f.seq == 0);
    assert_int_equal(f.event_len, 12);
    assert_memory_equal(f.event, "GUILD_CREATE", 12);
    s = "{\"op\":0,\"t\":\"X\",\"s\":9223372036854775807}";
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, NULL), GS_OK);
    assert_true(f.seq == INT64_MAX);
    /* Duplicate keys: the first wins, as in the JSON layer. */
    s = "{\"op\":0,\"t\":\"A\",\"t\":\"B\",\"s\":1}";
    assert_int_equal(parse_copy(p, s, strlen(s), &f, &err, NULL), GS_OK);
    assert_memory_equal(f.event, "A", 1);
    gs_json_destroy(p);
}

static void test_limits(void **state)
{
    (void)state;
    const char *line = "{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"a\":[1]}}";
    size_t len = strlen(line);
    gs_frame f;
    gs_err err;

    /* Exactly max_frame_bytes: accepted; one more: GS_ETOOBIG. */
    gs_json *p = new_parser(len, 64);
    assert_int_equal(parse_copy(p, line, len, &f, &err, NULL), GS_OK);
    gs_json_destroy(p);
    p = new_parser(len - 1, 64);
    assert_int_equal(parse_copy(p, line, len, &f, &err, NULL), GS_ETOOBIG);
    assert_non_null(strstr(err.msg, "exceeds"));
    /* Checked before parsing: a too-long garbage line is GS_ETOOBIG, not GS_EJSON. */
    char big[200];
    memset(big, 'x', sizeof(big));
    assert_int_equal(parse_copy(p, big, sizeof(big), &f, &err, NULL), GS_ETOOBIG);
    gs_json_destroy(p);

    /* Depth: this line's deepest value (1) is at depth 4. */
    p = new_parser(1u << 20, 4);
    assert_int_equal(parse_copy(p, line, len, &f, &err, NULL), GS_OK);
    gs_json_destroy(p);
    p = new_parser(1u << 20, 3);
    assert_int_equal(parse_copy(p, line, len, &f, &err, NULL), GS_ETOODEEP);
    /* Wrapped in an envelope the frame is one level deeper. */
    const char *env = "{\"frame\":{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"a\":1}}}";
    assert_int_equal(code_of(p, env), GS_ETOODEEP);
    gs_json_destroy(p);

    /* A very deep d. */
    p = new_parser(64u << 20, 256);
    size_t depth = 100000;
    size_t n = 0;
    char *deep = malloc(depth * 2 + 64);
    assert_non_null(deep);
    n += (size_t)sprintf(deep, "{\"op\":0,\"t\":\"X\",\"d\":");
    memset(deep + n, '[', depth);
    n += depth;
    memset(deep + n, ']', depth);
    n += depth;
    deep[n++] = '}';
    assert_int_equal(parse_copy(p, deep, n, &f, &err, NULL), GS_ETOODEEP);
    free(deep);
    gs_json_destroy(p);
}

/* Every proper prefix of a fixture line is refused with a JSON (or, for a
 * cut inside a multi-byte character, UTF-8) error; never accepted. */
static void test_truncated_lines(void **state)
{
    (void)state;
    gs_json *p = new_parser(1u << 20, 64);
    size_t flen;
    char *file = read_file(GS_FIXTURES "/twilight.ndjson", &flen);
    size_t checked = 0;
    for (size_t off = 0; off < flen;) {
        const char *nl = memchr(file + off, '\n', flen - off);
        size_t len = nl ? (size_t)(nl - (file + off)) : flen - off;
        for (size_t cut = 0; cut < len; cut++) {
            gs_frame f;
            gs_err err;
            int rc = parse_copy(p, file + off, cut, &f, &err, NULL);
            int mid_char = cut > 0 && ((unsigned char)file[off + cut] & 0xC0) == 0x80;
            if (!(rc == GS_EJSON || (mid_char && rc == GS_EUTF8)))
                fail_msg("prefix %zu of line at %zu: %s", cut, off, gs_errname(rc));
            checked++;
        }
        off += len + 1;
    }
    assert_true(checked > 4000);
    free(file);
    gs_json_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_line),
        cmocka_unit_test(test_envelopes_wrap_fixtures),
        cmocka_unit_test(test_envelope_minimal),
        cmocka_unit_test(test_received_at),
        cmocka_unit_test(test_received_at_errors),
        cmocka_unit_test(test_rfc3339_calendar),
        cmocka_unit_test(test_shard),
        cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_valid_non_dispatch),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncated_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
