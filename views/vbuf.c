/* vbuf.c - growable byte buffer. */
#include "gs_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vbuf.h"

int gs_vbuf_reserve(gs_vbuf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len >= extra)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int gs_vbuf_put(gs_vbuf *b, const void *d, size_t n)
{
    if (n == 0)
        return b->oom ? -1 : 0;
    if (gs_vbuf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

int gs_vbuf_putc(gs_vbuf *b, char c)
{
    if (gs_vbuf_reserve(b, 1) != 0)
        return -1;
    b->p[b->len++] = c;
    return 0;
}

int gs_vbuf_puts(gs_vbuf *b, const char *s)
{
    return gs_vbuf_put(b, s, strlen(s));
}

int gs_vbuf_printf(gs_vbuf *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return gs_vbuf_put(b, small, (size_t)n);
    if (gs_vbuf_reserve(b, (size_t)n + 1) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void gs_vbuf_reset(gs_vbuf *b)
{
    b->len = 0;
    b->oom = 0;
}

void gs_vbuf_free(gs_vbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* msgpack-c calls this for every header and every body it packs, most of
 * them one byte long (fixmap, fixstr and fixint headers, nil, booleans):
 * those go in without the calls of gs_vbuf_put. */
int gs_vbuf_mp_write(void *data, const char *buf, size_t len)
{
    gs_vbuf *b = data;
    if (len == 1 && b->len < b->cap && !b->oom) {
        b->p[b->len++] = buf[0];
        return 0;
    }
    return gs_vbuf_put(b, buf, len);
}
