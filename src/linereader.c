/*
 * linereader.c - NDJSON lines from a file descriptor in bounded memory.
 *
 * One buffer holds unconsumed input: buf[start..end) is data not yet
 * returned, and the last GS_JSON_PADDING bytes of the allocation are never
 * filled by read(), so every line handed out has that many readable bytes
 * after it. Reads are 1 MiB where room allows. The data part grows by
 * doubling from 1 MiB only while a single line needs it, up to
 * max_line_bytes + 2 (the line, then \r\n): memory stays below
 * max(1 MiB, max_line_bytes + 2) + GS_JSON_PADDING whatever the input. A
 * longer line is consumed chunk by chunk with memchr and never held.
 */
#include "gs_common.h"
#include "linereader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define GS_LR_CHUNK ((size_t)1 << 20)

struct gs_linereader {
    int fd;
    size_t max_line;
    char *buf;
    size_t data_cap; /* bytes read() may fill; the allocation adds GS_JSON_PADDING */
    size_t data_max; /* data_cap never grows beyond this */
    size_t start;    /* first byte not yet returned */
    size_t scanned;  /* buf[start..scanned) holds no '\n' (avoids rescans) */
    size_t end;      /* one past the last byte read */
    uint64_t base;   /* input offset of buf[0] */
    uint64_t lineno; /* lines returned so far (blank and too long included) */
    uint64_t nread;  /* bytes read from fd */
    int eof;
    int failed; /* a read error: sticky */
    int saved_errno;
};

int gs_linereader_open(int fd, size_t max_line_bytes, gs_linereader **out, gs_err *err)
{
    if (!out || fd < 0 || max_line_bytes == 0 || max_line_bytes > SIZE_MAX / 4)
        return gs_err_set(err, GS_EMISUSE, "line reader needs a descriptor and a line limit");
    gs_linereader *r = calloc(1, sizeof(*r));
    if (!r)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate line reader");
    r->fd = fd;
    r->max_line = max_line_bytes;
    r->data_max = max_line_bytes + 2 > GS_LR_CHUNK ? max_line_bytes + 2 : GS_LR_CHUNK;
    r->data_cap = GS_LR_CHUNK;
    r->buf = malloc(GS_LR_CHUNK + GS_JSON_PADDING);
    if (!r->buf) {
        free(r);
        return gs_err_set(err, GS_ENOMEM, "cannot allocate %zu-byte line buffer",
                          GS_LR_CHUNK + GS_JSON_PADDING);
    }
    *out = r;
    return GS_OK;
}

void gs_linereader_close(gs_linereader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

uint64_t gs_linereader_bytes(const gs_linereader *r)
{
    return r ? r->nread : 0;
}

/* read() into buf[end..data_cap): >0 bytes, 0 at end of input, -1 error. */
static ssize_t fill(gs_linereader *r)
{
    size_t room = r->data_cap - r->end;
    if (room > GS_LR_CHUNK)
        room = GS_LR_CHUNK;
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, room);
        if (n >= 0) {
            r->end += (size_t)n;
            r->nread += (uint64_t)n;
            if (n == 0)
                r->eof = 1;
            return n;
        }
        if (errno != EINTR) {
            r->failed = 1;
            r->saved_errno = errno;
            return -1;
        }
    }
}

static int read_error(const gs_linereader *r, gs_err *err)
{
    return gs_err_errno(err, GS_EIO, r->saved_errno, "cannot read input at byte %llu",
                        (unsigned long long)r->nread);
}

/* Make room after end: drop consumed bytes, then grow if still full. */
static int make_room(gs_linereader *r, gs_err *err)
{
    if (r->start > 0) {
        size_t keep = r->end - r->start;
        memmove(r->buf, r->buf + r->start, keep);
        r->base += r->start;
        r->scanned -= r->start;
        r->end = keep;
        r->start = 0;
    }
    if (r->end < r->data_cap)
        return GS_OK;
    size_t cap = r->data_cap * 2;
    if (cap > r->data_max)
        cap = r->data_max;
    char *b = realloc(r->buf, cap + GS_JSON_PADDING);
    if (!b)
        return gs_err_set(err, GS_ENOMEM, "cannot grow line buffer to %zu bytes",
                          cap + GS_JSON_PADDING);
    r->buf = b;
    r->data_cap = cap;
    return GS_OK;
}

static void emit(gs_linereader *r, size_t len, size_t next, gs_line *line)
{
    line->data = r->buf + r->start;
    line->len = len;
    line->cap = r->data_cap + GS_JSON_PADDING - r->start;
    line->lineno = ++r->lineno;
    line->offset = r->base + r->start;
    r->start = next;
    r->scanned = next;
}

static int too_long(gs_linereader *r, uint64_t offset, uint64_t len, gs_line *line, gs_err *err)
{
    memset(line, 0, sizeof(*line));
    line->lineno = ++r->lineno;
    line->offset = offset;
    line->len = (size_t)len;
    return gs_err_set(err, GS_ETOOBIG,
                      "line %llu (at byte %llu) is %llu bytes, over the %zu-byte limit",
                      (unsigned long long)line->lineno, (unsigned long long)offset,
                      (unsigned long long)len, r->max_line);
}

/* The line at start is over the limit and has no newline in the buffer:
 * consume it without keeping it, up to and including its newline. Its
 * length is still counted for the message. */
static int skip_long_line(gs_linereader *r, gs_line *line, gs_err *err)
{
    uint64_t offset = r->base + r->start;
    uint64_t len = r->end - r->start;
    char last = r->buf[r->end - 1]; /* for a \r\n split across reads */
    for (;;) {
        /* Everything buffered belongs to the long line: reuse the whole buffer. */
        r->base += r->end;
        r->start = r->scanned = r->end = 0;
        ssize_t n = fill(r);
        if (n < 0)
            return read_error(r, err);
        if (n == 0)
            return too_long(r, offset, len, line, err);
        char *nl = memchr(r->buf, '\n', r->end);
        if (nl) {
            size_t tail = (size_t)(nl - r->buf);
            len += tail;
            if ((tail > 0 ? r->buf[tail - 1] : last) == '\r')
                len--;
            r->start = r->scanned = tail + 1;
            return too_long(r, offset, len, line, err);
        }
        len += r->end;
        last = r->buf[r->end - 1];
    }
}

int gs_linereader_next(gs_linereader *r, gs_line *line, gs_err *err)
{
    if (!r || !line)
        return gs_err_set(err, GS_EMISUSE, "line reader: null argument");
    if (r->failed)
        return read_error(r, err);
    for (;;) {
        char *nl = NULL;
        if (r->scanned < r->end)
            nl = memchr(r->buf + r->scanned, '\n', r->end - r->scanned);
        if (nl) {
            size_t pos = (size_t)(nl - r->buf);
            size_t len = pos - r->start;
            if (len > 0 && r->buf[pos - 1] == '\r')
                len--;
            if (len > r->max_line) {
                uint64_t offset = r->base + r->start;
                r->start = r->scanned = pos + 1;
                return too_long(r, offset, len, line, err);
            }
            emit(r, len, pos + 1, line);
            return 1;
        }
        r->scanned = r->end;
        if (r->eof) {
            if (r->start == r->end)
                return 0;
            /* A last line without a newline. */
            size_t len = r->end - r->start;
            if (len > r->max_line) {
                uint64_t offset = r->base + r->start;
                r->start = r->scanned = r->end;
                return too_long(r, offset, len, line, err);
            }
            emit(r, len, r->end, line);
            return 1;
        }
        /* No newline within max_line + 2 bytes: the line is too long. */
        if (r->end - r->start >= r->max_line + 2)
            return skip_long_line(r, line, err);
        int rc = make_room(r, err);
        if (rc != GS_OK)
            return rc;
        if (fill(r) < 0)
            return read_error(r, err);
    }
}
