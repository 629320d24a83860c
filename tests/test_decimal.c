/*
 * test_decimal.c - src/decimal.h (decimal strings to uint64_t eight digits
 * at a time) against a digit-at-a-time reference: every length, a bad byte
 * at every position, the 64-bit boundary, and random strings.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_bad_bytes),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
