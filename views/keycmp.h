/*
 * keycmp.h - equality and order of view keys, and the big-endian ids in
 * them, inline. Keys are short (8 to 25 bytes) and start with big-endian
 * ids; the hash tables compare a key on every hit and the overlay sorts
 * each stage's keys, and a call to memcmp per compare cost more than the
 * compare (profile of the applier: memcmp was its largest libc entry).
 */
#ifndef GS_VIEWS_KEYCMP_H
#define GS_VIEWS_KEYCMP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t gs_key_word(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w; /* big-endian value: compares as the bytes do */
}

/* Big-endian ids in keys and values (views/FORMAT.md): one load or store
 * and a byte swap. They were byte loops in meta.c, which the compiler kept
 * as eight shifts and ORs where LTO inlined them (gs_vent_write builds
 * two or three keys per write); no difference measurable end to end. */
static inline void gs_be64(uint8_t out[8], uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    memcpy(out, &x, 8);
}

static inline uint64_t gs_get_be64(const uint8_t in[8])
{
    return gs_key_word(in);
}

static inline void gs_be32(uint8_t out[4], uint32_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap32(x);
#endif
    memcpy(out, &x, 4);
}

static inline uint32_t gs_get_be32(const uint8_t in[4])
{
    uint32_t x;
    memcpy(&x, in, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap32(x);
#endif
    return x;
}

static inline int gs_key_eq(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, w;
        memcpy(&u, p + i, 8);
        memcpy(&w, q + i, 8);
        if (u != w)
            return 0;
    }
    for (; i < n; i++)
        if (p[i] != q[i])
            return 0;
    return 1;
}

/* memcmp's order, then the shorter first. */
static inline int gs_key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    const uint8_t *p = a, *q = b;
    size_t n = an < bn ? an : bn, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u = gs_key_word(p + i), w = gs_key_word(q + i);
        if (u != w)
            return u < w ? -1 : 1;
    }
    for (; i < n; i++)
        if (p[i] != q[i])
            return p[i] < q[i] ? -1 : 1;
    return (an > bn) - (an < bn);
}

#endif
