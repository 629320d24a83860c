/*
 * linereader.h - NDJSON lines from a file descriptor in bounded memory.
 * (Interface fixed by the lead: tools/cmd_ingest.c codes against it.)
 *
 * The buffer grows up to max_line_bytes + GS_JSON_PADDING and no further: a
 * longer line is skipped to its newline without being buffered and reported
 * as GS_ETOOBIG with its line number, and the next call returns the line
 * after it. Each returned line has at least GS_JSON_PADDING readable bytes
 * after it (cap), so it can be parsed in place.
 *
 * Ownership: the reader does not own or close fd. Returned pointers are
 * valid until the next gs_linereader_next or gs_linereader_close.
 * Thread-safety: one thread at a time.
 */
#ifndef GS_LINEREADER_H
#define GS_LINEREADER_H

#include "gs_common.h"

typedef struct gs_linereader gs_linereader;

typedef struct gs_line {
    const char *data; /* without the trailing \n or \r\n */
    size_t len;
    size_t cap;      /* bytes readable at data, >= len + GS_JSON_PADDING */
    uint64_t lineno; /* 1-based */
    uint64_t offset; /* byte offset of the line's start in the input */
} gs_line;

int gs_linereader_open(int fd, size_t max_line_bytes, gs_linereader **out, gs_err *err);
/* 1: a line in *line (possibly empty: len 0, or only blanks; the caller
 * decides); 0: end of input; GS_ETOOBIG: the line numbered line->lineno was
 * longer than the limit and was skipped (line->data is NULL; call again for
 * the next one); GS_EIO: read error (message names errno). */
int gs_linereader_next(gs_linereader *r, gs_line *line, gs_err *err);
/* Total bytes consumed from fd so far (for progress). */
uint64_t gs_linereader_bytes(const gs_linereader *r);
void gs_linereader_close(gs_linereader *r);

#endif
