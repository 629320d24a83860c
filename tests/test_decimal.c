/*
 * test_decimal.c - src/decimal.h (decimal strings to uint64_t eight digits
 * at a time) against a digit-at-a-time reference: every length, a bad byte
 * at every position, the 64-bit boundary, and random strings; then its
 * callers on bad input (segment names, ids in stored frames and stored
 * values), each string on the heap at its exact size so that the
 * sanitizers see any read past it.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decimal.h"
#include "evscan.h"
#include "log_int.h"
#include "mp.h"

/* The obvious parser: what gs_dec_u64 must agree with. */
static int reference(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

/* Both parsers on s[0..n), which sits at an odd offset inside a larger
 * buffer with digits around it, so that no read past n can go unnoticed
 * by the result. */
static void check(const char *s, size_t n)
{
    char buf[64];
    memset(buf, '7', sizeof(buf));
    assert_true(n + 1 + 8 <= sizeof(buf));
    memcpy(buf + 1, s, n);
    uint64_t a = 12345, b = 54321;
    int ra = reference(buf + 1, n, &a), rb = gs_dec_u64(buf + 1, n, &b);
    if (ra != rb || (ra && a != b))
        fail_msg("\"%.*s\" (%zu): reference %d %llu, gs_dec_u64 %d %llu", (int)n, s, n, ra,
                 (unsigned long long)a, rb, (unsigned long long)b);
    if (!rb)
        assert_true(b == 54321); /* untouched on failure */
}

static void test_lengths_and_bad_bytes(void **state)
{
    (void)state;
    /* Bytes around the digits' range and far from it. */
    static const unsigned char bad[] = {0x00, '/', ':', ';',  '?',         ' ',  '-',  '+',  '.',
                                        'a',  'e', 'O', 0x20, 0x39 + 0x10, 0x80, 0xb0, 0xfa, 0xff};
    static const char digits[] = "98765432109876543210";
    for (size_t n = 0; n <= 21; n++) {
        char s[32] = {0};
        for (size_t i = 0; i < n; i++)
            s[i] = digits[i % 20];
        check(s, n);
        for (size_t pos = 0; pos < n; pos++) {
            for (size_t b = 0; b < sizeof(bad); b++) {
                char t[32];
                memcpy(t, s, n);
                t[pos] = (char)bad[b];
                check(t, n);
            }
        }
        /* All zeros and all nines. */
        memset(s, '0', n);
        check(s, n);
        memset(s, '9', n);
        check(s, n);
    }
}

static void test_boundary(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "18446744073709551615",
        "18446744073709551616",
        "18446744073709551610",
        "18446744073709551619",
        "18446744073709552000",
        "19000000000000000000",
        "09999999999999999999",
        "99999999999999999999",
        "10000000000000000000",
        "1844674407370955161",
        "9999999999999999999",
        "1566421553692905472",
        "41771983423143937",
        "100000000",
        "12345678",
        "1234567",
        "0",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++)
        check(cases[i], strlen(cases[i]));
    uint64_t x;
    assert_int_equal(gs_dec_u64("18446744073709551615", 20, &x), 1);
    assert_true(x == UINT64_MAX);
    assert_int_equal(gs_dec_u64("18446744073709551616", 20, &x), 0);
    assert_int_equal(gs_dec_u64("1566421553692905472", 19, &x), 1);
    assert_true(x == 1566421553692905472ull);
    assert_int_equal(gs_dec_u64("12345678", 8, &x), 1);
    assert_true(x == 12345678u);
}

static void test_random(void **state)
{
    (void)state;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < 200000; k++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        size_t n = 1 + (size_t)(r % 20);
        char s[32];
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            /* Mostly digits, now and then any byte. */
            s[i] = (r & 0xff) < 8 ? (char)(r >> 8) : (char)('0' + (r >> 8) % 10);
        }
        check(s, n);
    }
    /* Every value printed back parses to itself. */
    for (int k = 0; k < 100000; k++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        uint64_t v = r >> (r % 64);
        char s[32];
        int n = snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
        uint64_t x = 0;
        assert_int_equal(gs_dec_u64(s, (size_t)n, &x), 1);
        assert_true(x == v);
    }
}

static int seg_name(const char *name, uint64_t *base)
{
    char *h = strdup(name);
    assert_non_null(h);
    int r = gs_seg_parse_name(h, base);
    free(h);
    return r;
}

static void test_segment_names(void **state)
{
    (void)state;
    uint64_t b = 7;
    assert_int_equal(seg_name("00000000000000000001.seg", &b), 1);
    assert_true(b == 1);
    assert_int_equal(seg_name("18446744073709551615.seg", &b), 1);
    assert_true(b == UINT64_MAX);
    static const char *const bad[] = {
        "",
        "1.seg",
        ".seg",
        "00000000000000000000.seg",  /* base 0 */
        "18446744073709551616.seg",  /* past 2^64 - 1 */
        "0000000000000000001.seg",   /* 19 digits */
        "000000000000000000001.seg", /* 21 digits */
        "0000000000000000000a.seg",
        "0000000000 000000001.seg",
        "00000000000000000001.seX",
        "00000000000000000001.seg.tmp",
        "00000000000000000001",
        "0000000000000000000",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++) {
        b = 7;
        if (seg_name(bad[i], &b) != 0)
            fail_msg("segment name \"%s\" accepted", bad[i]);
        assert_true(b == 7);
    }
}

/* gs_evscan_frame's guild id: a string of 1..20 digits, else none (0). */
static void test_frame_guild_ids(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        uint64_t want;
    } cases[] = {
        {"\"123\"", 123},
        {"\"18446744073709551615\"", UINT64_MAX},
        {"\"18446744073709551616\"", 0},
        {"\"000000000000000000001\"", 0},
        {"\"12a\"", 0},
        {"\"\"", 0},
        {"\"-1\"", 0},
        {"123", 0},
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++) {
        char frame[128];
        int n = snprintf(frame, sizeof(frame), "{\"op\":0,\"t\":\"X\",\"d\":{\"guild_id\":%s}}",
                         cases[i].id);
        char *h = malloc((size_t)n);
        assert_non_null(h);
        memcpy(h, frame, (size_t)n);
        gs_evscan sc;
        gs_evscan_frame(h, (size_t)n, "X", 1, &sc);
        free(h);
        if (sc.guild_id != cases[i].want)
            fail_msg("guild_id %s: %llu, want %llu", cases[i].id, (unsigned long long)sc.guild_id,
                     (unsigned long long)cases[i].want);
    }
}

/* gs_mp_as_id: an unsigned integer, or a string of 1..20 digits. */
static void test_value_ids(void **state)
{
    (void)state;
    static const char *const strs[] = {
        "7", "18446744073709551615", "18446744073709551616", "000000000000000000001", "1x", "",
        " 1"};
    static const int ok[] = {1, 1, 0, 0, 0, 0, 0};
    static const uint64_t want[] = {7, UINT64_MAX, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < GS_ARRAY_LEN(strs); i++) {
        size_t n = strlen(strs[i]);
        uint8_t *h = malloc(1 + n);
        assert_non_null(h);
        h[0] = (uint8_t)(0xa0 | n); /* fixstr */
        memcpy(h + 1, strs[i], n);
        uint64_t id = 99;
        int r = gs_mp_as_id(h, 1 + n, &id);
        free(h);
        if (r != ok[i] || (r && id != want[i]) || (!r && id != 99))
            fail_msg("id string \"%s\": %d %llu", strs[i], r, (unsigned long long)id);
    }
    /* Truncated: a fixstr header promising more bytes than there are. */
    uint8_t cut[3] = {0xa5, '1', '2'};
    uint64_t id = 99;
    assert_int_equal(gs_mp_as_id(cut, sizeof(cut), &id), 0);
    assert_true(id == 99);
    /* A msgpack unsigned integer. */
    uint8_t u8[2] = {0xcc, 200};
    assert_int_equal(gs_mp_as_id(u8, sizeof(u8), &id), 1);
    assert_true(id == 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_bad_bytes),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_segment_names),
        cmocka_unit_test(test_frame_guild_ids),
        cmocka_unit_test(test_value_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
