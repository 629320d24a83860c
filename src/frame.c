/* frame.c - one NDJSON line to a gateway frame description (see frame.h). */
#include "gs_common.h"
#include "frame.h"
#include "timefmt.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int gs_frame_json_create(const gs_frame_limits *lim, gs_json **out, gs_err *err)
{
    if (!lim || !out)
        return gs_err_set(err, GS_EMISUSE, "frame parser: null argument");
    size_t max_len = lim->max_frame_bytes > SIZE_MAX ? SIZE_MAX : (size_t)lim->max_frame_bytes;
    return gs_json_create(max_len, lim->max_depth, out, err);
}

/* ------------------------------------------------------------ raw scanner */

/*
 * The line has already been validated by simdjson, so finding the byte span
 * of the envelope's "frame" value needs no grammar: skip strings (minding
 * escapes) and match brackets. Every index is still bounds-checked so a bug
 * here cannot read outside the line; a failure returns 0.
 */

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws(s[i]))
        i++;
    return i;
}

/* i at an opening quote; returns the index after the closing quote, or len. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* i at the first byte of a value; returns the index just after it. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    if (i >= len)
        return len;
    if (s[i] == '"')
        return skip_string(s, len, i);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, len, i);
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0)
                    return i + 1;
            }
            i++;
        }
        return len;
    }
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i]))
        i++;
    return i;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Does the JSON string body s[a..b) decode to the ASCII key `want`?
 * simdjson compares decoded keys, so "fr\u0061me" must match too. */
static int key_equals(const char *s, size_t a, size_t b, const char *want)
{
    size_t w = 0;
    size_t wlen = strlen(want);
    for (size_t i = a; i < b; w++) {
        if (w >= wlen)
            return 0;
        char c = s[i];
        if (c != '\\') {
            if (c != want[w])
                return 0;
            i++;
            continue;
        }
        if (i + 1 >= b)
            return 0;
        char e = s[i + 1];
        char d;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            d = e;
            break;
        case 'b':
            d = '\b';
            break;
        case 'f':
            d = '\f';
            break;
        case 'n':
            d = '\n';
            break;
        case 'r':
            d = '\r';
            break;
        case 't':
            d = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (i + 6 > b || hex4(s + i + 2, &cp) != 0 || cp >= 0x80)
                return 0; /* non-ASCII never matches an ASCII key */
            d = (char)cp;
            i += 4;
            break;
        }
        default:
            return 0;
        }
        if (d != want[w])
            return 0;
        i += 2;
    }
    return w == wlen;
}

/* Byte span [*start, *end) of the first member `key` of the top-level
 * object in s[0..len). 1 found, 0 not. */
static int find_member(const char *s, size_t len, const char *key, size_t *start, size_t *end)
{
    size_t i = skip_ws(s, len, 0);
    if (i >= len || s[i] != '{')
        return 0;
    i++;
    for (;;) {
        i = skip_ws(s, len, i);
        if (i >= len || s[i] != '"')
            return 0; /* '}' of an empty object, or not JSON after all */
        size_t k0 = i + 1;
        size_t k1 = skip_string(s, len, i);
        if (k1 >= len)
            return 0;
        int match = key_equals(s, k0, k1 - 1, key);
        i = skip_ws(s, len, k1);
        if (i >= len || s[i] != ':')
            return 0;
        i = skip_ws(s, len, i + 1);
        size_t v0 = i;
        size_t v1 = skip_value(s, len, i);
        if (v1 <= v0)
            return 0;
        if (match) {
            *start = v0;
            *end = v1;
            return 1;
        }
        i = skip_ws(s, len, v1);
        if (i >= len || s[i] != ',')
            return 0;
        i++;
    }
}

/* ---------------------------------------------------------------- frames */

/* Validate a frame object and fill op, seq and event. `where` prefixes
 * messages ("" for a bare frame). */
static int check_frame(gs_jval obj, const char *where, gs_frame *f, gs_err *err)
{
    gs_jval v;
    int64_t x;

    if (!gs_json_getz(obj, "op", &v))
        return gs_err_set(err, GS_EFRAME, "%smissing op", where);
    gs_jtype t = gs_json_type(v);
    if (t != GS_JINT && t != GS_JUINT)
        return gs_err_set(err, GS_EFRAME, "%sop is not an integer", where);
    if (gs_json_int64(v, &x) != 0 || x < 0 || x > INT_MAX)
        return gs_err_set(err, GS_EFRAME, "%sop is out of range", where);
    f->op = (int)x;

    f->seq = -1;
    if (gs_json_getz(obj, "s", &v) && gs_json_type(v) != GS_JNULL) {
        t = gs_json_type(v);
        if (t != GS_JINT && t != GS_JUINT)
            return gs_err_set(err, GS_EFRAME, "%ss is not an integer", where);
        if (gs_json_int64(v, &x) != 0)
            return gs_err_set(err, GS_EFRAME, "%ss is out of range", where);
        if (x < 0)
            return gs_err_set(err, GS_EFRAME, "%ss is negative (%lld)", where, (long long)x);
        f->seq = x;
    }

    f->event = NULL;
    f->event_len = 0;
    if (gs_json_getz(obj, "t", &v) && gs_json_type(v) != GS_JNULL) {
        if (gs_json_string(v, &f->event, &f->event_len) != 0)
            return gs_err_set(err, GS_EFRAME, "%st is not a string", where);
    }
    /* A dispatch must name its event; other opcodes carry t: null. */
    if (f->op == 0 && (!f->event || f->event_len == 0)) {
        f->event = NULL;
        return gs_err_set(err, GS_EFRAME, "%sdispatch frame without t", where);
    }
    return GS_OK;
}

static int check_envelope(gs_jval root, gs_frame *f, gs_err *err)
{
    gs_jval v;
    f->has_recv = 0;
    f->recv_us = 0;
    if (gs_json_getz(root, "received_at", &v) && gs_json_type(v) != GS_JNULL) {
        gs_jtype t = gs_json_type(v);
        if (t == GS_JSTRING) {
            const char *s;
            size_t n;
            gs_json_string(v, &s, &n);
            if (gs_time_parse_rfc3339(s, n, &f->recv_us) != 0)
                return gs_err_set(err, GS_EENVELOPE,
                                  "envelope received_at \"%.*s\" is not an RFC 3339 date-time "
                                  "(YYYY-MM-DDTHH:MM:SS[.frac] then Z or +hh:mm, every field in "
                                  "range, 1970 or later)",
                                  n > 64 ? 64 : (int)n, s);
        } else if (t == GS_JINT || t == GS_JUINT) {
            int64_t ms;
            if (gs_json_int64(v, &ms) != 0 || ms > INT64_MAX / 1000)
                return gs_err_set(err, GS_EENVELOPE,
                                  "envelope received_at is out of range (unix milliseconds)");
            if (ms < 0)
                return gs_err_set(err, GS_EENVELOPE, "envelope received_at is negative (%lld ms)",
                                  (long long)ms);
            f->recv_us = ms * 1000;
        } else {
            return gs_err_set(err, GS_EENVELOPE,
                              "envelope received_at is neither an RFC 3339 string nor an "
                              "integer of unix milliseconds");
        }
        f->has_recv = 1;
    }

    f->has_shard = 0;
    f->shard = 0;
    if (gs_json_getz(root, "shard", &v) && gs_json_type(v) != GS_JNULL) {
        gs_jtype t = gs_json_type(v);
        int64_t x;
        if (t != GS_JINT && t != GS_JUINT)
            return gs_err_set(err, GS_EENVELOPE, "envelope shard is not an integer");
        if (gs_json_int64(v, &x) != 0 || x < 0 || x > 65535)
            return gs_err_set(err, GS_EENVELOPE, "envelope shard is out of range [0, 65535]");
        f->shard = (int32_t)x;
        f->has_shard = 1;
    }
    return GS_OK;
}

static const char *type_name(gs_jtype t)
{
    switch (t) {
    case GS_JNULL:
        return "null";
    case GS_JBOOL:
        return "a boolean";
    case GS_JINT:
    case GS_JUINT:
    case GS_JDOUBLE:
        return "a number";
    case GS_JSTRING:
        return "a string";
    case GS_JARRAY:
        return "an array";
    case GS_JOBJECT:
        return "an object";
    }
    return "unknown";
}

int gs_frame_parse(gs_json *p, const char *line, size_t len, size_t cap, gs_frame *out, gs_err *err)
{
    if (!p || (!line && len) || !out)
        return gs_err_set(err, GS_EMISUSE, "frame parse: null argument");
    gs_jval root;
    int rc = gs_json_parse(p, line, len, cap, &root, err);
    if (rc != GS_OK)
        return rc;
    gs_jtype rt = gs_json_type(root);
    if (rt != GS_JOBJECT)
        return gs_err_set(err, GS_EJSON, "line is %s, not a JSON object", type_name(rt));

    gs_frame f;
    memset(&f, 0, sizeof(f));
    gs_jval inner;
    if (!gs_json_getz(root, "frame", &inner)) {
        rc = check_frame(root, "", &f, err);
        if (rc != GS_OK)
            return rc;
        size_t a = 0, b = len;
        while (a < b && is_ws(line[a]))
            a++;
        while (b > a && is_ws(line[b - 1]))
            b--;
        f.raw = line + a;
        f.raw_len = b - a;
        *out = f;
        return GS_OK;
    }

    f.envelope = 1;
    gs_jtype it = gs_json_type(inner);
    if (it != GS_JOBJECT)
        return gs_err_set(err, GS_EENVELOPE, "envelope frame is %s, not an object", type_name(it));
    size_t start, end;
    if (!find_member(line, len, "frame", &start, &end) || end - start < 2)
        return gs_err_set(err, GS_EENVELOPE, "cannot locate the envelope frame's bytes");
    char where[64];
    snprintf(where, sizeof(where), "envelope frame at byte %zu: ", start);
    rc = check_frame(inner, where, &f, err);
    if (rc != GS_OK)
        return rc;
    rc = check_envelope(root, &f, err);
    if (rc != GS_OK)
        return rc;
    f.raw = line + start;
    f.raw_len = end - start;
    *out = f;
    return GS_OK;
}
