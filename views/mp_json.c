/*
 * mp_json.c - msgpack view values back to JSON text, the shape the gateway
 * sent (field names kept, ids are strings since they were stored so).
 */
#include "gs_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

/* Values nest no deeper than the JSON they came from (the parser's limit);
 * deeper data is damage. */
#define MAX_DEPTH 512

/* Room for n more bytes: the common case without a call (a member's JSON
 * is some hundred small writes). 0 ok, -1 out of memory. */
static inline int room(gs_vbuf *out, size_t n)
{
    return out->cap - out->len >= n && !out->oom ? 0 : gs_vbuf_reserve(out, n);
}

static inline void put_lit(gs_vbuf *out, const char *s, size_t n)
{
    if (room(out, n) == 0) {
        memcpy(out->p + out->len, s, n);
        out->len += n;
    }
}

static inline void put_ch(gs_vbuf *out, char c)
{
    if (room(out, 1) == 0)
        out->p[out->len++] = c;
}

/* A decimal u64, negated if neg (printf is ten times slower). */
static void put_u64(gs_vbuf *out, uint64_t u, int neg)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        tmp[--i] = '-';
    put_lit(out, tmp + i, sizeof(tmp) - i);
}

/* Does any byte of x need an escape (< 0x20, '"' or '\\')? */
static inline int needs_escape(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t m = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
    return (m & highs) != 0;
}

int gs_json_quote(gs_vbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* Most strings need no escape: one copy. Scanned 8 bytes at a time
     * (any byte < 0x20, '"' or '\\'), then byte by byte from the first
     * word that holds one. */
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (needs_escape(x))
            break;
    }
    if (i < len && len - i < 8) {
        /* The tail (most keys are shorter than 8), padded with a letter. */
        uint64_t x;
        char t[8] = {'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'};
        memcpy(t, s + i, len - i);
        memcpy(&x, t, 8);
        if (!needs_escape(x))
            i = len;
    }
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\')
            break;
        i++;
    }
    if (i == len) {
        if (len > SIZE_MAX - 2 || room(out, len + 2) != 0)
            return GS_ENOMEM;
        char *o = out->p + out->len;
        o[0] = '"';
        memcpy(o + 1, s, len);
        o[len + 1] = '"';
        out->len += len + 2;
        return GS_OK;
    }
    if (gs_vbuf_putc(out, '"') != 0)
        return GS_ENOMEM;
    size_t run = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        gs_vbuf_put(out, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
            break;
        }
        gs_vbuf_put(out, esc, n);
    }
    gs_vbuf_put(out, s + run, len - run);
    if (gs_vbuf_putc(out, '"') != 0)
        return GS_ENOMEM;
    return GS_OK;
}

static int put_double(gs_vbuf *out, double d)
{
    if (!isfinite(d))
        return gs_vbuf_puts(out, "null");
    char tmp[40];
    /* The shortest of %.15g / %.17g that reads back to the same double. */
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    /* Keep it a JSON number that reads back as a double, not an integer. */
    if (!strpbrk(tmp, ".eEn"))
        strcat(tmp, ".0");
    return gs_vbuf_puts(out, tmp);
}

static int newline(gs_vbuf *out, int indent, int depth)
{
    if (indent <= 0)
        return 0;
    gs_vbuf_putc(out, '\n');
    for (int i = 0; i < indent * depth; i++)
        gs_vbuf_putc(out, ' ');
    return 0;
}

/* A fixstr at r (most keys and values of an entity): quoted without the
 * general reader. 1 done, 0 not a fixstr, <0 error (truncated). */
static int fixstr(gs_vbuf *out, gs_mpr *r)
{
    if (r->p >= r->end || (r->p[0] & 0xe0) != 0xa0)
        return 0;
    size_t n = r->p[0] & 0x1f;
    if ((size_t)(r->end - r->p) - 1 < n)
        return GS_ECORRUPT;
    const char *str = (const char *)r->p + 1;
    r->p += 1 + n;
    return gs_json_quote(out, str, n) == GS_OK ? 1 : GS_ENOMEM;
}

static int value(gs_vbuf *out, gs_mpr *r, int indent, int depth)
{
    int fs = fixstr(out, r);
    if (fs != 0)
        return fs < 0 ? fs : GS_OK;
    gs_mpv v;
    if (depth > MAX_DEPTH || gs_mpr_read(r, &v) != 0)
        return GS_ECORRUPT;
    switch (v.type) {
    case GS_MP_NIL:
    case GS_MP_BIN:
    case GS_MP_EXT: /* never written by views; shown as null */
        put_lit(out, "null", 4);
        break;
    case GS_MP_BOOL:
        if (v.b)
            put_lit(out, "true", 4);
        else
            put_lit(out, "false", 5);
        break;
    case GS_MP_INT: /* negative: its magnitude fits in a u64 */
        put_u64(out, v.i < 0 ? (uint64_t)0 - (uint64_t)v.i : (uint64_t)v.i, v.i < 0);
        break;
    case GS_MP_UINT:
        put_u64(out, v.u, 0);
        break;
    case GS_MP_DOUBLE:
        put_double(out, v.d);
        break;
    case GS_MP_STR:
        gs_json_quote(out, v.s, v.len);
        break;
    case GS_MP_ARRAY:
        put_ch(out, '[');
        for (uint32_t i = 0; i < v.n; i++) {
            if (i)
                put_ch(out, ',');
            newline(out, indent, depth + 1);
            int rc = value(out, r, indent, depth + 1);
            if (rc != GS_OK)
                return rc;
        }
        if (v.n)
            newline(out, indent, depth);
        put_ch(out, ']');
        break;
    case GS_MP_MAP:
        put_ch(out, '{');
        for (uint32_t i = 0; i < v.n; i++) {
            if (i)
                put_ch(out, ',');
            newline(out, indent, depth + 1);
            int fk = fixstr(out, r);
            if (fk < 0)
                return fk;
            if (fk == 0) {
                gs_mpv k;
                if (gs_mpr_read(r, &k) != 0 || k.type != GS_MP_STR)
                    return GS_ECORRUPT;
                gs_json_quote(out, k.s, k.len);
            }
            if (indent > 0)
                put_lit(out, ": ", 2);
            else
                put_ch(out, ':');
            int rc = value(out, r, indent, depth + 1);
            if (rc != GS_OK)
                return rc;
        }
        if (v.n)
            newline(out, indent, depth);
        put_ch(out, '}');
        break;
    }
    return out->oom ? GS_ENOMEM : GS_OK;
}

int gs_mp_to_json(gs_vbuf *out, const uint8_t *p, size_t len, int indent)
{
    gs_mpr r;
    gs_mpr_init(&r, p, len);
    int rc = value(out, &r, indent, 0);
    if (rc == GS_OK && r.p != r.end)
        return GS_ECORRUPT; /* trailing bytes */
    return rc;
}
