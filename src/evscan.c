/* evscan.c - locate `d` and the guild id in a stored frame (see evscan.h). */
#include "gs_common.h"

#include <string.h>

#include "decimal.h"
#include "evscan.h"

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at '"': returns just past the closing quote, or e. */
static const char *skip_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return e;
}

/* p at a value's first byte: returns just past it, or e. */
static const char *skip_value(const char *p, const char *e)
{
    if (p >= e)
        return e;
    if (*p == '"')
        return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            char c = *p;
            if (c == '"') {
                p = skip_string(p, e);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return e;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\t' &&
           *p != '\r')
        p++;
    return p;
}

/* Find key's value among the members of the object at p: 1 with *v, *vlen
 * set, else 0. */
static int find_member(const char *p, const char *e, const char *key, const char **v, size_t *vlen)
{
    size_t klen = strlen(key);
    p = skip_ws(p, e);
    if (p >= e || *p != '{')
        return 0;
    p++;
    for (;;) {
        p = skip_ws(p, e);
        if (p >= e || *p != '"')
            return 0;
        const char *k = p + 1;
        p = skip_string(p, e);
        size_t this_len = (size_t)(p - k) - 1;
        p = skip_ws(p, e);
        if (p >= e || *p != ':')
            return 0;
        p = skip_ws(p + 1, e);
        const char *val = p;
        p = skip_value(p, e);
        if (p > e || p == val)
            return 0;
        if (this_len == klen && memcmp(k, key, klen) == 0) {
            *v = val;
            *vlen = (size_t)(p - val);
            return 1;
        }
        p = skip_ws(p, e);
        if (p >= e || *p != ',')
            return 0;
        p++;
    }
}

/* A snowflake: a string of 1..20 digits. */
static uint64_t parse_id(const char *v, size_t len)
{
    uint64_t id;
    if (len < 3 || v[0] != '"' || v[len - 1] != '"' || !gs_dec_u64(v + 1, len - 2, &id))
        return 0;
    return id;
}

static int is_event(const char *ev, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(ev, name, len) == 0;
}

void gs_evscan_frame(const char *raw, size_t len, const char *event, size_t event_len,
                     gs_evscan *out)
{
    memset(out, 0, sizeof(*out));
    const char *e = raw + len;
    const char *d;
    size_t d_len;
    if (!find_member(raw, e, "d", &d, &d_len))
        return;
    out->d = d;
    out->d_len = d_len;
    const char *key = "guild_id";
    if (event &&
        (is_event(event, event_len, "GUILD_CREATE") || is_event(event, event_len, "GUILD_UPDATE") ||
         is_event(event, event_len, "GUILD_DELETE")))
        key = "id";
    const char *v;
    size_t vlen;
    if (find_member(d, d + d_len, key, &v, &vlen))
        out->guild_id = parse_id(v, vlen);
}
