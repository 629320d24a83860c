/*
 * where.c - `where` conditions: a field (dotted path) of an output object
 * equals a value given as text, compared as the field's own type.
 */
#include "gs_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "where.h"

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    if (!*s || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

/* Does the single value at r equal text? Advances r past the value.
 * 1 / 0, -1 damaged. in_array: arrays inside arrays do not match. */
static int value_eq(gs_mpr *r, const char *text, int in_array)
{
    const uint8_t *start = r->p;
    gs_mpv v;
    if (gs_mpr_read(r, &v) != 0)
        return -1;
    switch (v.type) {
    case GS_MP_NIL:
        return strcmp(text, "null") == 0;
    case GS_MP_BOOL:
        return strcmp(text, v.b ? "true" : "false") == 0;
    case GS_MP_UINT: {
        uint64_t u;
        return parse_u64(text, &u) == 0 && u == v.u;
    }
    case GS_MP_INT: {
        int64_t i;
        return parse_i64(text, &i) == 0 && i == v.i;
    }
    case GS_MP_DOUBLE: {
        char *end;
        double d = strtod(text, &end);
        return *text && !*end && d == v.d;
    }
    case GS_MP_STR:
        return strlen(text) == v.len && memcmp(text, v.s, v.len) == 0;
    case GS_MP_ARRAY: {
        int match = 0;
        for (uint32_t i = 0; i < v.n; i++) {
            if (in_array) {
                if (gs_mpr_skip(r) != 0)
                    return -1;
                continue;
            }
            int m = value_eq(r, text, 1);
            if (m < 0)
                return -1;
            match |= m;
        }
        return match;
    }
    case GS_MP_MAP:
        r->p = start;
        return gs_mpr_skip(r) == 0 ? 0 : -1;
    case GS_MP_BIN:
    case GS_MP_EXT:
        return 0;
    }
    return 0;
}

int gs_vwhere_match(const uint8_t *obj, size_t len, const gs_vwhere *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t pl;
        int rc = gs_mp_path_find(obj, len, w[i].field, &p, &pl);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (strcmp(w[i].value, "null") != 0)
                return 0;
            continue;
        }
        gs_mpr r;
        gs_mpr_init(&r, p, pl);
        rc = value_eq(&r, w[i].value, 0);
        if (rc <= 0)
            return rc;
    }
    return 1;
}
