/*
 * vbuf.h - a growable byte buffer for building keys, values and JSON text.
 */
#ifndef GS_VBUF_H
#define GS_VBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct gs_vbuf {
    char *p;
    size_t len;
    size_t cap;
    int oom; /* set once an allocation failed; later appends are dropped */
} gs_vbuf;

/* Make room for extra more bytes. 0 ok, -1 out of memory (oom set). */
int gs_vbuf_reserve(gs_vbuf *b, size_t extra);
/* Append n bytes. 0 ok, -1 out of memory. */
int gs_vbuf_put(gs_vbuf *b, const void *d, size_t n);
int gs_vbuf_putc(gs_vbuf *b, char c);
int gs_vbuf_puts(gs_vbuf *b, const char *s);
/* Append printf-formatted text. */
int gs_vbuf_printf(gs_vbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forget the contents, keep the memory; clears oom. */
void gs_vbuf_reset(gs_vbuf *b);
void gs_vbuf_free(gs_vbuf *b);
/* msgpack_packer write callback over a gs_vbuf (data = the gs_vbuf). */
int gs_vbuf_mp_write(void *data, const char *buf, size_t len);

#endif
