/* fuzz_record.c - libFuzzer target: msgpack record decoding
 * (gs_rec_unpack) on arbitrary bytes. A decoded record must lie within the
 * input, and packing it again and decoding that must give the same record
 * back (the writer's shortest encoding may differ from the input's bytes).
 * Then the same bytes as a block payload: gs_blk_decode_records with a
 * header made from the input's first bytes (count, first LSN), which must
 * fail cleanly or decode records that fill the payload exactly. */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "log_int.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const gs_log_rec *a, const gs_log_rec *b)
{
    return a->lsn == b->lsn && a->recv_us == b->recv_us && a->shard == b->shard && a->op == b->op &&
           a->seq == b->seq && a->event_len == b->event_len &&
           (a->event == NULL) == (b->event == NULL) &&
           (a->event_len == 0 || memcmp(a->event, b->event, a->event_len) == 0) &&
           a->raw_len == b->raw_len && (a->raw_len == 0 || memcmp(a->raw, b->raw, a->raw_len) == 0);
}

static void round_trip(const uint8_t *data, size_t size)
{
    gs_log_rec r;
    size_t used = 0;
    const char *what = NULL;
    int rc = gs_rec_unpack(data, size, &r, &used, &what);
    if (rc != GS_OK) {
        if (rc != GS_ECORRUPT || !what)
            abort();
        return;
    }
    if (used == 0 || used > size)
        abort();
    if (r.raw_len && (r.raw < (const char *)data || r.raw + r.raw_len > (const char *)data + used))
        abort();
    if (r.event_len &&
        (r.event < (const char *)data || r.event + r.event_len > (const char *)data + used))
        abort();
    gs_log_rec_in in = {.recv_us = r.recv_us,
                        .shard = r.shard,
                        .op = r.op,
                        .seq = r.seq,
                        .event = r.event,
                        .event_len = r.event_len,
                        .raw = r.raw,
                        .raw_len = r.raw_len};
    size_t bound = gs_rec_bound(&in);
    uint8_t *p = malloc(bound);
    if (!p)
        return;
    size_t n = gs_rec_pack(p, r.lsn, &in);
    if (n > bound)
        abort();
    gs_log_rec r2;
    size_t used2;
    if (gs_rec_unpack(p, n, &r2, &used2, &what) != GS_OK || used2 != n || !same(&r, &r2))
        abort();
    free(p);
}

static void as_block(const uint8_t *data, size_t size)
{
    static gs_codec codec;
    static int init;
    if (!init) {
        if (gs_codec_init(&codec, 1, NULL) != GS_OK)
            abort();
        init = 1;
    }
    if (size < 12)
        return;
    gs_blk_hdr h;
    memset(&h, 0, sizeof(h));
    h.flags = GS_BLK_CODEC_NONE;
    h.count = 1 + data[0] % 16;
    h.first_lsn = 1 + gs_get64(data + 1) % 1000;
    h.raw_len = (uint32_t)(size - 9);
    h.comp_len = h.raw_len;
    const uint8_t *payload = data + 9;
    /* Totals from a first decode attempt are unknown: let the fuzzer find
     * them; min/max/frame_bytes mismatches are GS_ECORRUPT, which is fine. */
    h.min_us = INT64_MIN;
    h.max_us = INT64_MAX;
    gs_log_rec *recs = NULL;
    size_t cap = 0;
    const char *what = NULL;
    int rc = gs_blk_decode_records(&codec, &h, payload, &recs, &cap, &what, NULL);
    if (rc != GS_OK && rc != GS_ECORRUPT && rc != GS_ENOMEM)
        abort();
    free(recs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    round_trip(data, size);
    as_block(data, size);
    return 0;
}
