/* fuzz_frame.c - libFuzzer target: gs_frame_parse on arbitrary lines (bare
 * gateway frames and capture envelopes), parsed both in place (with the
 * padding the parser may read) and from a buffer without padding (copied).
 * Checks what the parser promises: GS_OK or one of the documented codes;
 * raw is a span of the line; for a bare frame raw is the line without
 * surrounding blanks; the two ways of parsing agree. */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"

static gs_json *parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known(int rc)
{
    return rc == GS_OK || rc == GS_ETOOBIG || rc == GS_ETOODEEP || rc == GS_EUTF8 ||
           rc == GS_EJSON || rc == GS_EFRAME || rc == GS_EENVELOPE || rc == GS_ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!parser) {
        gs_frame_limits lim = {1 << 20, 64};
        if (gs_frame_json_create(&lim, &parser, NULL) != GS_OK)
            abort();
    }
    /* In place: the line followed by the padding the parser may read. */
    char *buf = malloc(size + GS_JSON_PADDING);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    memset(buf + size, 'x', GS_JSON_PADDING);
    gs_frame a, b;
    gs_err err;
    int ra = gs_frame_parse(parser, buf, size, size + GS_JSON_PADDING, &a, &err);
    if (!known(ra))
        abort();
    if (ra == GS_OK) {
        if (a.raw < buf || a.raw_len > size || a.raw + a.raw_len > buf + size || a.op < 0)
            abort();
        if (a.event && a.event_len > size)
            abort();
        if (a.has_shard && (a.shard < 0 || a.shard > 65535))
            abort();
    }
    /* Copied: exactly size bytes, nothing readable after them. */
    char *exact = malloc(size ? size : 1);
    if (!exact) {
        free(buf);
        return 0;
    }
    memcpy(exact, data, size);
    int rb = gs_frame_parse(parser, exact, size, size, &b, &err);
    if (rb != ra)
        abort();
    if (rb == GS_OK && (b.raw - exact != a.raw - buf || b.raw_len != a.raw_len || b.op != a.op ||
                        b.seq != a.seq || b.envelope != a.envelope || b.recv_us != a.recv_us ||
                        b.shard != a.shard || b.event_len != a.event_len))
        abort();
    free(exact);
    free(buf);
    return 0;
}
