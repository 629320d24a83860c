/* fuzz_linereader.c - libFuzzer target: NDJSON line splitting
 * (gs_linereader) over arbitrary input in a memory file, with a line limit
 * taken from the first input byte (tiny limits exercise the skipping of
 * overlong lines). Checks: every returned line is the input's bytes at its
 * offset, without the \n or \r\n; line numbers count up by one, skipped
 * lines included; the padding promise (cap) holds and the padding is
 * readable; at the end every input byte was consumed. */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "json.h"
#include "linereader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_line = data[0] < 128 ? (size_t)data[0] + 1 : (size_t)1 << 20;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    static int fd = -1; /* one memory file, refilled for each input */
    if (fd < 0)
        fd = memfd_create("fuzz-linereader", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0)
        abort();
    if (len && pwrite(fd, in, len, 0) != (ssize_t)len)
        abort();
    if (lseek(fd, 0, SEEK_SET) != 0)
        abort();
    gs_linereader *r;
    gs_err e;
    if (gs_linereader_open(fd, max_line, &r, &e) != GS_OK)
        abort();
    gs_line line;
    uint64_t lineno = 0, next_off = 0;
    int rc;
    while ((rc = gs_linereader_next(r, &line, &e)) != 0) {
        if (rc != 1 && rc != GS_ETOOBIG)
            abort();
        if (line.lineno != ++lineno)
            abort();
        if (rc == GS_ETOOBIG) {
            if (line.data)
                abort();
            continue;
        }
        if (line.offset < next_off || line.offset > len || line.len > len - line.offset ||
            line.len > max_line)
            abort();
        if (line.len && memcmp(line.data, in + line.offset, line.len) != 0)
            abort();
        if (line.cap < line.len + GS_JSON_PADDING)
            abort();
        volatile char sink = 0;
        for (size_t i = line.len; i < line.len + GS_JSON_PADDING; i++)
            sink ^= line.data[i]; /* the padding is readable (ASan checks) */
        (void)sink;
        /* The line ends at the end of input or before \n (or \r\n). */
        size_t end = (size_t)line.offset + line.len;
        if (end < len && in[end] != '\n' &&
            !(in[end] == '\r' && end + 1 < len && in[end + 1] == '\n'))
            abort();
        next_off = end;
    }
    if (gs_linereader_bytes(r) != len)
        abort();
    gs_linereader_close(r);
    return 0;
}
