/*
 * decimal.h - decimal strings of up to 20 digits to uint64_t, eight digits
 * at a time.
 *
 * Snowflakes (17 to 20 digits) are parsed for every id of every value the
 * views write: JSON ids into keys (gs_json_snowflake) and stored strings
 * into the compact form's 8-byte codes (views/cpack.c). A digit at a time
 * is a chain of 19 dependent multiply-adds; here the 8-byte groups are
 * checked and combined with three multiplications each (pairs, quads,
 * then the eight), so a 19-digit id takes 3 digits alone and 2 groups.
 * Header-only so that the C++ JSON adapter and the C views share it.
 */
#ifndef GS_DECIMAL_H
#define GS_DECIMAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 and the value of the 8 ASCII digits at s in *out; 0 if a byte is not
 * '0'..'9'. Little-endian loads: s[0] is the low byte and the most
 * significant digit. */
static inline int gs_dec_eight(const char *s, uint64_t *out)
{
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, threes = 0x3030303030303030ull;
    uint64_t x;
    memcpy(&x, s, 8);
    /* A digit's high nibble is 3, and stays 3 once 6 is added to the byte
     * ('9' + 6 = 0x3F; ':' + 6 = 0x40). A byte that carries out of itself
     * (>= 0xFA) has failed the first test already. */
    if ((x & hi) != threes || ((x + 0x0606060606060606ull) & hi) != threes)
        return 0;
    x -= threes; /* each byte 0..9: no borrows */
    /* Bytes (a, b) -> 10a + b in the low byte of each 16-bit lane. */
    x = ((x * 10) + (x >> 8)) & 0x00FF00FF00FF00FFull;
    /* Lanes (p, q) of 2 digits -> 100p + q in each 32-bit lane. */
    x = ((x * 100) + (x >> 16)) & 0x0000FFFF0000FFFFull;
    /* The two 4-digit halves -> 10000h + l. */
    *out = ((x * 10000) + (x >> 32)) & 0xFFFFFFFFull;
    return 1;
}

/* s[0..n) as an unsigned value: 1 and *out, or 0 if n is 0 or above 20, a
 * byte is not a digit, or the value passes UINT64_MAX. Leading zeros are
 * the caller's to refuse. */
static inline int gs_dec_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return 0;
    /* Up to 19 digits never pass UINT64_MAX (about 1.8e19); the 20th
     * digit of a 20-digit string is added with the check. */
    size_t m = n < 20 ? n : 19;
    size_t head = m % 8, i = 0;
    uint64_t x = 0;
    for (; i < head; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        x = x * 10 + d;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i < m; i += 8) {
        uint64_t e;
        if (!gs_dec_eight(s + i, &e))
            return 0;
        x = x * 100000000ull + e;
    }
#else
    for (; i < m; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return 0;
        x = x * 10 + d;
    }
#endif
    if (n == 20) {
        unsigned d = (unsigned)(unsigned char)s[19] - '0';
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

#ifdef __cplusplus
}
#endif

#endif
