/* test_json.c - the simdjson adapter behind src/json.h. */
#include "gs_common.h"
#include "json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_LEN   (64u << 20)
#define MAX_DEPTH 64u

static gs_json *new_parser(size_t max_len, size_t max_depth)
{
    gs_json *p = NULL;
    gs_err err;
    assert_int_equal(gs_json_create(max_len, max_depth, &p, &err), GS_OK);
    assert_non_null(p);
    return p;
}

/* Parse s from an exactly sized heap copy (cap == len: the adapter must copy;
 * ASan catches any read past the end). */
static int parse_exact(gs_json *p, const char *s, size_t len, gs_jval *root, gs_err *err)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, s, len);
    int rc = gs_json_parse(p, buf, len, len, root, err);
    free(buf);
    return rc;
}

static int parse_str(gs_json *p, const char *s, gs_jval *root, gs_err *err)
{
    return parse_exact(p, s, strlen(s), root, err);
}

static int parse_code(gs_json *p, const char *s)
{
    gs_jval v;
    gs_err err;
    return parse_str(p, s, &v, &err);
}

static void assert_str(gs_jval v, const char *want)
{
    const char *s;
    size_t n;
    assert_int_equal(gs_json_type(v), GS_JSTRING);
    assert_int_equal(gs_json_string(v, &s, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
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

/* ------------------------------------------------------------------ tests */

static void test_create_misuse(void **state)
{
    (void)state;
    gs_json *p = NULL;
    gs_err err;
    assert_int_equal(gs_json_create(0, 10, &p, &err), GS_EMISUSE);
    assert_null(p);
    assert_int_equal(gs_json_create(10, 0, &p, &err), GS_EMISUSE);
    assert_null(p);
    gs_json_destroy(NULL);
}

static void test_every_type(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    const char *doc = "{\"n\":null,\"t\":true,\"f\":false,\"i\":-42,\"z\":0,"
                      "\"imax\":9223372036854775807,\"imin\":-9223372036854775808,"
                      "\"u\":9223372036854775808,\"umax\":18446744073709551615,"
                      "\"d\":1.5,\"e\":1e3,\"neg0\":-0.0,\"s\":\"h\\u00e9\\n\\\"\","
                      "\"nul\":\"a\\u0000b\",\"a\":[1,\"x\"],\"o\":{}}";
    gs_jval root, v;
    gs_err err;
    assert_int_equal(parse_str(p, doc, &root, &err), GS_OK);
    assert_int_equal(gs_json_type(root), GS_JOBJECT);
    assert_int_equal(gs_json_len(root), 16);

    int b = -1;
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;

    assert_int_equal(gs_json_getz(root, "n", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JNULL);
    assert_int_equal(gs_json_bool(v, &b), -1);
    assert_int_equal(gs_json_int64(v, &i), -1);

    assert_int_equal(gs_json_getz(root, "t", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JBOOL);
    assert_int_equal(gs_json_bool(v, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(gs_json_getz(root, "f", &v), 1);
    assert_int_equal(gs_json_bool(v, &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(gs_json_int64(v, &i), -1);

    assert_int_equal(gs_json_getz(root, "i", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JINT);
    assert_int_equal(gs_json_int64(v, &i), 0);
    assert_true(i == -42);
    assert_int_equal(gs_json_uint64(v, &u), -1); /* negative */
    assert_int_equal(gs_json_double(v, &d), 0);
    assert_true(d == -42.0);
    assert_int_equal(gs_json_snowflake(v, &u), -1);
    assert_int_equal(gs_json_bool(v, &b), -1);
    assert_int_equal(gs_json_string(v, &(const char *){NULL}, &(size_t){0}), -1);

    assert_int_equal(gs_json_getz(root, "z", &v), 1);
    assert_int_equal(gs_json_uint64(v, &u), 0);
    assert_true(u == 0);

    assert_int_equal(gs_json_getz(root, "imax", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JINT);
    assert_int_equal(gs_json_int64(v, &i), 0);
    assert_true(i == INT64_MAX);
    assert_int_equal(gs_json_getz(root, "imin", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JINT);
    assert_int_equal(gs_json_int64(v, &i), 0);
    assert_true(i == INT64_MIN);

    assert_int_equal(gs_json_getz(root, "u", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JUINT);
    assert_int_equal(gs_json_int64(v, &i), -1); /* above INT64_MAX */
    assert_int_equal(gs_json_uint64(v, &u), 0);
    assert_true(u == 9223372036854775808u);
    assert_int_equal(gs_json_getz(root, "umax", &v), 1);
    assert_int_equal(gs_json_uint64(v, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(gs_json_snowflake(v, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(gs_json_double(v, &d), 0);
    assert_true(d == 18446744073709551615.0);

    assert_int_equal(gs_json_getz(root, "d", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JDOUBLE);
    assert_int_equal(gs_json_double(v, &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(gs_json_int64(v, &i), -1);
    assert_int_equal(gs_json_uint64(v, &u), -1);
    assert_int_equal(gs_json_snowflake(v, &u), -1);
    assert_int_equal(gs_json_getz(root, "e", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JDOUBLE); /* exponent: double even if integral */
    assert_int_equal(gs_json_double(v, &d), 0);
    assert_true(d == 1000.0);
    assert_int_equal(gs_json_getz(root, "neg0", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JDOUBLE);

    assert_int_equal(gs_json_getz(root, "s", &v), 1);
    assert_str(v, "h\xc3\xa9\n\"");
    assert_int_equal(gs_json_double(v, &d), -1);
    assert_int_equal(gs_json_len(v), 0);

    /* An escaped NUL stays inside the string: the length is exact. */
    const char *s;
    size_t n;
    assert_int_equal(gs_json_getz(root, "nul", &v), 1);
    assert_int_equal(gs_json_string(v, &s, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "a\0b", 3);

    assert_int_equal(gs_json_getz(root, "a", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JARRAY);
    assert_int_equal(gs_json_len(v), 2);
    assert_int_equal(gs_json_getz(v, "x", &v), 0); /* get on an array: absent */

    assert_int_equal(gs_json_getz(root, "o", &v), 1);
    assert_int_equal(gs_json_type(v), GS_JOBJECT);
    assert_int_equal(gs_json_len(v), 0);

    /* Scalars at the root. */
    assert_int_equal(parse_str(p, "  \"only\"  ", &root, &err), GS_OK);
    assert_str(root, "only");
    assert_int_equal(parse_str(p, "null", &root, &err), GS_OK);
    assert_int_equal(gs_json_type(root), GS_JNULL);
    assert_int_equal(gs_json_getz(root, "x", &v), 0);
    gs_json_destroy(p);
}

static void test_nested_and_missing(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    const char *doc = "{\"op\":0,\"d\":{\"guild\":{\"id\":\"41771983423143937\",\"roles\":"
                      "[{\"id\":\"1\",\"name\":\"a\"},{\"id\":\"2\",\"name\":\"b\"}]},"
                      "\"k\\u00e9y\":1,\"dup\":1,\"dup\":2,\"\":\"empty key\"}}";
    gs_jval root, d, g, roles, r, v;
    gs_err err;
    assert_int_equal(parse_str(p, doc, &root, &err), GS_OK);
    assert_int_equal(gs_json_getz(root, "d", &d), 1);
    assert_int_equal(gs_json_getz(d, "guild", &g), 1);
    assert_int_equal(gs_json_getz(g, "id", &v), 1);
    uint64_t id = 0;
    assert_int_equal(gs_json_snowflake(v, &id), 0);
    assert_true(id == 41771983423143937u);
    assert_int_equal(gs_json_getz(g, "roles", &roles), 1);
    assert_int_equal(gs_json_len(roles), 2);

    gs_jiter it;
    assert_int_equal(gs_json_arr_begin(roles, &it), 0);
    int k = 0;
    while (gs_json_arr_next(&it, &r)) {
        assert_int_equal(gs_json_getz(r, "name", &v), 1);
        assert_str(v, k == 0 ? "a" : "b");
        k++;
    }
    assert_int_equal(k, 2);
    assert_int_equal(gs_json_arr_next(&it, &r), 0); /* stays at the end */

    /* Missing keys, keys that are prefixes or extensions of real ones, case. */
    assert_int_equal(gs_json_getz(root, "missing", &v), 0);
    assert_int_equal(gs_json_getz(root, "o", &v), 0);
    assert_int_equal(gs_json_getz(root, "opp", &v), 0);
    assert_int_equal(gs_json_getz(root, "OP", &v), 0);
    assert_int_equal(gs_json_getz(g, "op", &v), 0);       /* not searched recursively */
    assert_int_equal(gs_json_get(root, "opx", 2, &v), 1); /* key_len honoured */

    /* Escaped key compares by its decoded bytes; empty key; duplicates: first. */
    assert_int_equal(gs_json_getz(d, "k\xc3\xa9y", &v), 1);
    assert_int_equal(gs_json_get(d, "", 0, &v), 1);
    assert_str(v, "empty key");
    int64_t x = 0;
    assert_int_equal(gs_json_getz(d, "dup", &v), 1);
    assert_int_equal(gs_json_int64(v, &x), 0);
    assert_true(x == 1);
    gs_json_destroy(p);
}

static void test_iteration_order(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    const char *doc = "{\"z\":1,\"a\":2,\"m\":[3,[4],{\"q\":5}],\"b\":null,\"a\":6}";
    gs_jval root, v, m;
    gs_err err;
    assert_int_equal(parse_str(p, doc, &root, &err), GS_OK);

    const char *want_keys[] = {"z", "a", "m", "b", "a"};
    gs_jiter it;
    const char *key;
    size_t key_len;
    size_t k = 0;
    assert_int_equal(gs_json_obj_begin(root, &it), 0);
    while (gs_json_obj_next(&it, &key, &key_len, &v)) {
        assert_true(k < GS_ARRAY_LEN(want_keys));
        assert_int_equal(key_len, strlen(want_keys[k]));
        assert_memory_equal(key, want_keys[k], key_len);
        k++;
    }
    assert_int_equal(k, 5);
    assert_int_equal(gs_json_len(root), 5);

    assert_int_equal(gs_json_getz(root, "m", &m), 1);
    gs_jtype want_types[] = {GS_JINT, GS_JARRAY, GS_JOBJECT};
    k = 0;
    assert_int_equal(gs_json_arr_begin(m, &it), 0);
    while (gs_json_arr_next(&it, &v))
        assert_int_equal(gs_json_type(v), want_types[k++]);
    assert_int_equal(k, 3);

    /* Iterating the wrong kind: begin fails, next yields nothing. */
    assert_int_equal(gs_json_arr_begin(root, &it), -1);
    assert_int_equal(gs_json_arr_next(&it, &v), 0);
    assert_int_equal(gs_json_obj_begin(m, &it), -1);
    assert_int_equal(gs_json_obj_next(&it, &key, &key_len, &v), 0);

    /* Empty containers. */
    assert_int_equal(parse_str(p, "[]", &root, &err), GS_OK);
    assert_int_equal(gs_json_arr_begin(root, &it), 0);
    assert_int_equal(gs_json_arr_next(&it, &v), 0);
    assert_int_equal(parse_str(p, "{}", &root, &err), GS_OK);
    assert_int_equal(gs_json_obj_begin(root, &it), 0);
    assert_int_equal(gs_json_obj_next(&it, &key, &key_len, &v), 0);
    gs_json_destroy(p);
}

static void test_large_array_len(void **state)
{
    (void)state;
    /* simdjson saturates container sizes at 2^24-1; gs_json_len counts past. */
    size_t n = (1u << 24) + 3;
    size_t len = 2 * n + 1;
    char *buf = malloc(len + GS_JSON_PADDING);
    assert_non_null(buf);
    buf[0] = '[';
    for (size_t i = 0; i < n; i++) {
        buf[1 + 2 * i] = '0';
        buf[2 + 2 * i] = i + 1 < n ? ',' : ']';
    }
    gs_json *p = new_parser(len, 4);
    gs_jval root;
    gs_err err;
    assert_int_equal(gs_json_parse(p, buf, len, len + GS_JSON_PADDING, &root, &err), GS_OK);
    assert_int_equal(gs_json_len(root), n);
    gs_json_destroy(p);
    free(buf);
}

static void test_snowflake(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    struct {
        const char *doc;
        int rc;
        uint64_t want;
    } cases[] = {
        {"\"0\"", 0, 0},
        {"\"7\"", 0, 7},
        {"\"41771983423143937\"", 0, 41771983423143937u},
        {"\"18446744073709551615\"", 0, UINT64_MAX},
        {"\"00000000000000000001\"", 0, 1}, /* 20 digits */
        {"41771983423143937", 0, 41771983423143937u},
        {"18446744073709551615", 0, UINT64_MAX},
        {"0", 0, 0},
        {"\"18446744073709551616\"", -1, 0}, /* overflow */
        {"\"99999999999999999999\"", -1, 0},
        {"\"000000000000000000001\"", -1, 0}, /* 21 digits */
        {"\"\"", -1, 0},
        {"\"-1\"", -1, 0},
        {"\"+1\"", -1, 0},
        {"\" 1\"", -1, 0},
        {"\"1 \"", -1, 0},
        {"\"1.0\"", -1, 0},
        {"\"1e3\"", -1, 0},
        {"\"0x10\"", -1, 0},
        {"\"1\\u0000\"", -1, 0},
        {"-1", -1, 0},
        {"1.0", -1, 0},
        {"1e3", -1, 0},
        {"true", -1, 0},
        {"null", -1, 0},
        {"[\"1\"]", -1, 0},
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++) {
        gs_jval v;
        gs_err err;
        uint64_t u = 12345;
        assert_int_equal(parse_str(p, cases[i].doc, &v, &err), GS_OK);
        int rc = gs_json_snowflake(v, &u);
        if (rc != cases[i].rc)
            fail_msg("snowflake %s: rc %d, want %d", cases[i].doc, rc, cases[i].rc);
        if (rc == 0)
            assert_true(u == cases[i].want);
        else
            assert_true(u == 12345); /* untouched on failure */
    }
    gs_json_destroy(p);
}

/* A document of `levels` nested arrays, innermost holding `inner`. */
static char *nested(size_t levels, const char *inner, size_t *len)
{
    size_t il = strlen(inner);
    *len = 2 * levels + il;
    char *b = malloc(*len + GS_JSON_PADDING);
    assert_non_null(b);
    memset(b, '[', levels);
    memcpy(b + levels, inner, il);
    memset(b + levels + il, ']', levels);
    memset(b + *len, 0, GS_JSON_PADDING);
    return b;
}

static int parse_nested(gs_json *p, size_t levels, const char *inner)
{
    size_t len;
    char *b = nested(levels, inner, &len);
    gs_jval v;
    gs_err err;
    int rc = gs_json_parse(p, b, len, len + GS_JSON_PADDING, &v, &err);
    free(b);
    return rc;
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* Depth counts values, root at 1 (see json.h). */
    for (size_t depth = 1; depth <= 5; depth++) {
        gs_json *p = new_parser(MAX_LEN, depth);
        assert_int_equal(parse_code(p, "1"), GS_OK);
        /* depth-1 arrays around a scalar: the scalar is at depth `depth`. */
        assert_int_equal(parse_nested(p, depth - 1, "1"), GS_OK);
        assert_int_equal(parse_nested(p, depth, ""), GS_OK); /* innermost empty */
        assert_int_equal(parse_nested(p, depth, "1"), GS_ETOODEEP);
        assert_int_equal(parse_nested(p, depth + 1, ""), GS_ETOODEEP);
        gs_json_destroy(p);
    }

    gs_json *p = new_parser(MAX_LEN, 3);
    assert_int_equal(parse_code(p, "{\"a\":{\"b\":1}}"), GS_OK);
    assert_int_equal(parse_code(p, "{\"a\":{\"b\":{}}}"), GS_OK);
    assert_int_equal(parse_code(p, "{\"a\":{\"b\":{\"c\":1}}}"), GS_ETOODEEP);
    assert_int_equal(parse_code(p, "[{\"a\":[1]}]"), GS_ETOODEEP);
    assert_int_equal(parse_code(p, "[1,[2],{\"a\":3}]"), GS_OK);
    /* The parser stays usable after a depth error. */
    gs_jval v;
    gs_err err;
    assert_int_equal(parse_str(p, "[[7]]", &v, &err), GS_OK);
    gs_json_destroy(p);

    /* The default limit of gs_options. */
    p = new_parser(MAX_LEN, 256);
    assert_int_equal(parse_nested(p, 255, "1"), GS_OK);
    assert_int_equal(parse_nested(p, 256, "1"), GS_ETOODEEP);
    gs_json_destroy(p);
}

static void test_million_deep(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, 256);
    assert_int_equal(parse_nested(p, 1000000, ""), GS_ETOODEEP);
    assert_int_equal(parse_nested(p, 1000000, "1"), GS_ETOODEEP);
    /* Unbalanced: a million opens and nothing else. */
    size_t len = 1000000;
    char *b = malloc(len + GS_JSON_PADDING);
    assert_non_null(b);
    memset(b, '[', len);
    gs_jval v;
    gs_err err;
    int rc = gs_json_parse(p, b, len, len + GS_JSON_PADDING, &v, &err);
    assert_true(rc == GS_ETOODEEP || rc == GS_EJSON);
    free(b);
    gs_json_destroy(p);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    const char *bad[] = {
        "\"\xff\"",             /* never valid */
        "\"\xc3\"",             /* truncated 2-byte sequence */
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xe0\x80\xaf\"",     /* overlong 3-byte */
        "\"\xed\xa0\x80\"",     /* UTF-16 surrogate */
        "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\x80\"",             /* lone continuation */
        "{\"k\xfe\":1}",        /* in a key */
        "{\"t\":\"a\",\"d\":\"\xe2\x82\"}",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++) {
        int rc = parse_code(p, bad[i]);
        if (rc != GS_EUTF8)
            fail_msg("case %zu: got %s, want GS_EUTF8", i, gs_errname(rc));
    }
    /* Valid multi-byte text next to the boundaries above. */
    assert_int_equal(parse_code(p, "\"\xc2\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf \xf0\x9f\x91\x8c\""),
                     GS_OK);
    /* Escaped lone surrogates are a string error in simdjson, not UTF-8. */
    assert_int_equal(parse_code(p, "\"\\ud800\""), GS_EJSON);
    gs_json_destroy(p);
}

static void test_malformed(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    const char *bad[] = {
        "",          " \n\t ",     "{",       "}",          "[1,]",
        "{\"a\" 1}", "{\"a\":1,}", "{'a':1}", "nul",        "tru",
        "[NaN]",     "[Infinity]", "{} {}",   "1 2",        "[1]x",
        "\"abc",     "\"\\x\"",    "\"\t\"",  "{\"a\":01}", "[-]",
        "[1.]",      "[.5]",       "[+1]",    "{1:2}",      "[\"a\" \"b\"]",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++) {
        gs_jval v;
        gs_err err;
        memset(&err, 0, sizeof(err));
        int rc = parse_str(p, bad[i], &v, &err);
        if (rc != GS_EJSON)
            fail_msg("case %zu '%s': got %s, want GS_EJSON", i, bad[i], gs_errname(rc));
        assert_int_equal(err.code, GS_EJSON);
        assert_true(strlen(err.msg) > 0);
    }
    gs_jval v;
    gs_err err;
    assert_int_equal(parse_str(p, "", &v, &err), GS_EJSON);
    assert_non_null(strstr(err.msg, "empty"));
    /* NULL buffer with length 0 is an empty document, not a crash. */
    assert_int_equal(gs_json_parse(p, NULL, 0, 0, &v, &err), GS_EJSON);
    assert_int_equal(gs_json_parse(p, NULL, 5, 0, &v, &err), GS_EMISUSE);
    gs_json_destroy(p);
}

static void test_numbers_out_of_range(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    const char *bad[] = {
        "18446744073709551616", "-9223372036854775809", "123456789012345678901234567890", "[1e400]",
        "{\"s\":-1e309}",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++) {
        gs_jval v;
        gs_err err;
        int rc = parse_str(p, bad[i], &v, &err);
        if (rc != GS_EJSON)
            fail_msg("case %zu '%s': got %s, want GS_EJSON", i, bad[i], gs_errname(rc));
        assert_non_null(strstr(err.msg, "number out of range"));
    }
    /* Underflow rounds to zero: accepted. */
    gs_jval v;
    gs_err err;
    double d = 1;
    assert_int_equal(parse_str(p, "1e-400", &v, &err), GS_OK);
    assert_int_equal(gs_json_double(v, &d), 0);
    assert_true(d == 0.0);
    gs_json_destroy(p);
}

/* Every proper prefix of a top-level object is malformed; a cut inside a
 * multi-byte character may be reported as UTF-8 instead. */
static void test_truncated(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    size_t flen;
    char *file = read_file(GS_FIXTURES "/websocket-kit-capture.ndjson", &flen);
    char *nl = memchr(file, '\n', flen);
    assert_non_null(nl);
    size_t len = (size_t)(nl - file);
    gs_jval v;
    gs_err err;
    assert_int_equal(parse_exact(p, file, len, &v, &err), GS_OK);
    size_t utf8_cuts = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = parse_exact(p, file, cut, &v, &err);
        /* A cut right after a lead byte or inside a continuation run. */
        int mid_char = cut > 0 && ((unsigned char)file[cut] & 0xC0) == 0x80;
        if (mid_char) {
            utf8_cuts++;
            if (rc != GS_EUTF8 && rc != GS_EJSON)
                fail_msg("cut %zu: %s", cut, gs_errname(rc));
        } else if (rc != GS_EJSON) {
            fail_msg("cut %zu of %zu: got %s, want GS_EJSON", cut, len, gs_errname(rc));
        }
    }
    gs_json_destroy(p);
    free(file);
    (void)utf8_cuts;
}

static void test_too_big(void **state)
{
    (void)state;
    gs_json *p = new_parser(16, MAX_DEPTH);
    assert_int_equal(parse_code(p, "[1,2,3,4,5,6,7]"), GS_OK);  /* 15 bytes */
    assert_int_equal(parse_code(p, "[1,2,3,4,5,6,78]"), GS_OK); /* 16 bytes: at the limit */
    gs_jval v;
    gs_err err;
    assert_int_equal(parse_str(p, "[1,2,3,4,5,6,789]", &v, &err), GS_ETOOBIG);
    assert_non_null(strstr(err.msg, "17"));
    gs_json_destroy(p);

    /* Growth from the initial allocation up to a large limit and back. */
    p = new_parser(8u << 20, MAX_DEPTH);
    for (size_t n = 10; n <= (4u << 20); n *= 7) {
        char *b = malloc(n + 2);
        assert_non_null(b);
        b[0] = '"';
        memset(b + 1, 'x', n);
        b[n + 1] = '"';
        assert_int_equal(parse_exact(p, b, n + 2, &v, &err), GS_OK);
        assert_int_equal(gs_json_type(v), GS_JSTRING);
        free(b);
    }
    assert_int_equal(parse_code(p, "[1]"), GS_OK);
    gs_json_destroy(p);
}

static void test_huge_string(void **state)
{
    (void)state;
    size_t n = 20u << 20; /* 20 MiB of text with escapes and UTF-8 */
    char *b = malloc(n + 2 + GS_JSON_PADDING);
    assert_non_null(b);
    b[0] = '"';
    const char unit[] = "ab\\n\xc3\xa9\\u00e9"; /* decodes to 6 bytes */
    size_t ul = sizeof(unit) - 1;
    size_t units = n / ul;
    for (size_t i = 0; i < units; i++)
        memcpy(b + 1 + i * ul, unit, ul);
    size_t len = 1 + units * ul + 1;
    b[len - 1] = '"';
    gs_json *p = new_parser(64u << 20, MAX_DEPTH);
    gs_jval v;
    gs_err err;
    assert_int_equal(gs_json_parse(p, b, len, len + GS_JSON_PADDING, &v, &err), GS_OK);
    const char *s;
    size_t sl;
    assert_int_equal(gs_json_string(v, &s, &sl), 0);
    assert_int_equal(sl, units * 7);
    assert_memory_equal(s, "ab\n\xc3\xa9\xc3\xa9", 7);
    assert_memory_equal(s + sl - 7, "ab\n\xc3\xa9\xc3\xa9", 7);
    gs_json_destroy(p);
    free(b);
}

/* A canonical dump of a value, to compare two parses of the same bytes. */
typedef struct dumpbuf {
    char *b;
    size_t len, cap;
} dumpbuf;

static void dump_put(dumpbuf *d, const void *p, size_t n)
{
    if (d->len + n > d->cap) {
        d->cap = (d->len + n) * 2;
        d->b = realloc(d->b, d->cap);
        assert_non_null(d->b);
    }
    memcpy(d->b + d->len, p, n);
    d->len += n;
}

static void dump(dumpbuf *d, gs_jval v)
{
    char tmp[64];
    gs_jtype t = gs_json_type(v);
    dump_put(d, &t, sizeof(t));
    gs_jiter it;
    gs_jval e;
    const char *s;
    size_t n;
    int64_t i;
    uint64_t u;
    double x;
    int b;
    switch (t) {
    case GS_JNULL:
        break;
    case GS_JBOOL:
        assert_int_equal(gs_json_bool(v, &b), 0);
        dump_put(d, &b, sizeof(b));
        break;
    case GS_JINT:
        assert_int_equal(gs_json_int64(v, &i), 0);
        dump_put(d, &i, sizeof(i));
        break;
    case GS_JUINT:
        assert_int_equal(gs_json_uint64(v, &u), 0);
        dump_put(d, &u, sizeof(u));
        break;
    case GS_JDOUBLE:
        assert_int_equal(gs_json_double(v, &x), 0);
        snprintf(tmp, sizeof(tmp), "%.17g", x);
        dump_put(d, tmp, strlen(tmp));
        break;
    case GS_JSTRING:
        assert_int_equal(gs_json_string(v, &s, &n), 0);
        dump_put(d, &n, sizeof(n));
        dump_put(d, s, n);
        break;
    case GS_JARRAY:
        n = gs_json_len(v);
        dump_put(d, &n, sizeof(n));
        assert_int_equal(gs_json_arr_begin(v, &it), 0);
        while (gs_json_arr_next(&it, &e))
            dump(d, e);
        break;
    case GS_JOBJECT:
        n = gs_json_len(v);
        dump_put(d, &n, sizeof(n));
        assert_int_equal(gs_json_obj_begin(v, &it), 0);
        while (gs_json_obj_next(&it, &s, &n, &e)) {
            dump_put(d, &n, sizeof(n));
            dump_put(d, s, n);
            dump(d, e);
        }
        break;
    }
}

/* The same documents parsed in place (with garbage in the padding) and via
 * the copy (cap too small) give the same values. */
static void test_in_place_vs_copy(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    size_t flen;
    char *file = read_file(GS_FIXTURES "/scenario.ndjson", &flen);
    size_t lines = 0;
    for (size_t off = 0; off < flen;) {
        char *nl = memchr(file + off, '\n', flen - off);
        size_t len = nl ? (size_t)(nl - (file + off)) : flen - off;

        char *buf = malloc(len + GS_JSON_PADDING);
        assert_non_null(buf);
        memcpy(buf, file + off, len);
        memset(buf + len, '"', GS_JSON_PADDING); /* padding content must not matter */

        gs_jval a, b;
        gs_err err;
        dumpbuf da = {0}, db = {0};
        assert_int_equal(gs_json_parse(p, buf, len, len + GS_JSON_PADDING, &a, &err), GS_OK);
        dump(&da, a);
        /* cap one short of the padding: must copy. */
        assert_int_equal(gs_json_parse(p, buf, len, len + GS_JSON_PADDING - 1, &b, &err), GS_OK);
        dump(&db, b);
        assert_int_equal(da.len, db.len);
        assert_memory_equal(da.b, db.b, da.len);
        assert_true(da.len > 16);
        free(da.b);
        free(db.b);

        /* The input buffer is not modified by parsing in place. */
        assert_memory_equal(buf, file + off, len);
        free(buf);
        lines++;
        off += len + (nl ? 1 : 0);
    }
    assert_int_equal(lines, 29);
    free(file);
    gs_json_destroy(p);
}

/* {"a":[0,1,2,...]} of about len bytes, in a malloc'd buffer. */
static char *int_array_doc(size_t len, size_t *out_len, size_t *count)
{
    char *b = malloc(len + 64);
    assert_non_null(b);
    size_t n = (size_t)sprintf(b, "{\"a\":[");
    size_t k = 0;
    while (n < len) {
        n += (size_t)sprintf(b + n, k ? ",%zu" : "%zu", k);
        k++;
    }
    n += (size_t)sprintf(b + n, "]}");
    *out_len = n;
    *count = k;
    return b;
}

static size_t array_len_of(gs_json *p, const char *doc, size_t len)
{
    gs_jval root, a;
    gs_err err;
    assert_int_equal(gs_json_parse(p, doc, len, len, &root, &err), GS_OK);
    assert_true(gs_json_getz(root, "a", &a));
    return gs_json_len(a);
}

/* A large document grows the buffers; a long run of small ones gives them
 * back, and a large one after that grows them again. Values parsed either
 * side of the shrink are right. */
static void test_capacity_shrinks(void **state)
{
    (void)state;
    gs_json *p = new_parser(MAX_LEN, MAX_DEPTH);
    size_t initial = gs_json_capacity(p);
    assert_true(initial >= 1024);
    size_t blen, bcount, slen, scount;
    char *big = int_array_doc(4 * 1024 * 1024, &blen, &bcount);
    char *small = int_array_doc(initial / 16, &slen, &scount);
    assert_int_equal(array_len_of(p, big, blen), bcount);
    size_t grown = gs_json_capacity(p);
    assert_true(grown >= blen);
    for (int i = 0; i < 1023; i++)
        assert_int_equal(array_len_of(p, small, slen), scount);
    assert_int_equal(gs_json_capacity(p), grown); /* not yet */
    assert_int_equal(array_len_of(p, small, slen), scount);
    assert_int_equal(gs_json_capacity(p), initial);
    /* A document above an eighth of the capacity restarts the count. */
    assert_int_equal(array_len_of(p, big, blen), bcount);
    grown = gs_json_capacity(p);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(array_len_of(p, small, slen), scount);
    assert_int_equal(array_len_of(p, big, blen), bcount);
    for (int i = 0; i < 1023; i++)
        assert_int_equal(array_len_of(p, small, slen), scount);
    assert_int_equal(gs_json_capacity(p), grown);
    assert_int_equal(array_len_of(p, small, slen), scount);
    assert_int_equal(gs_json_capacity(p), initial);
    free(big);
    free(small);
    gs_json_destroy(p);
}

/* Every fixture line parses and is an object with an integer op. */
static void test_all_fixtures_parse(void **state)
{
    (void)state;
    static const char *files[] = {
        "discord-api-docs.ndjson",
        "discord-api-docs.nondispatch.ndjson",
        "hikari.ndjson",
        "kord.ndjson",
        "kord.nondispatch.ndjson",
        "scenario.ndjson",
        "twilight.ndjson",
        "twilight.nondispatch.ndjson",
        "websocket-kit-capture.ndjson",
        "websocket-kit-capture.nondispatch.ndjson",
    };
    gs_json *p = new_parser(MAX_LEN, 64);
    size_t total = 0;
    for (size_t f = 0; f < GS_ARRAY_LEN(files); f++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", GS_FIXTURES, files[f]);
        size_t flen;
        char *file = read_file(path, &flen);
        for (size_t off = 0; off < flen;) {
            char *nl = memchr(file + off, '\n', flen - off);
            size_t len = nl ? (size_t)(nl - (file + off)) : flen - off;
            if (len) {
                gs_jval root, op;
                gs_err err;
                int rc = parse_exact(p, file + off, len, &root, &err);
                if (rc != GS_OK)
                    fail_msg("%s at byte %zu: %s", files[f], off, err.msg);
                assert_int_equal(gs_json_type(root), GS_JOBJECT);
                assert_int_equal(gs_json_getz(root, "op", &op), 1);
                assert_int_equal(gs_json_type(op), GS_JINT);
                total++;
            }
            off += len + (nl ? 1 : 0);
        }
        free(file);
    }
    assert_int_equal(total, 157);
    gs_json_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_misuse),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_nested_and_missing),
        cmocka_unit_test(test_iteration_order),
        cmocka_unit_test(test_large_array_len),
        cmocka_unit_test(test_snowflake),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_million_deep),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_numbers_out_of_range),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_huge_string),
        cmocka_unit_test(test_in_place_vs_copy),
        cmocka_unit_test(test_capacity_shrinks),
        cmocka_unit_test(test_all_fixtures_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
