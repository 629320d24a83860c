/* fuzz_block.c - libFuzzer target: segment and block reading. The input
 * (after one control byte) is written as segment 1 of an empty log
 * directory (in memory, memfs.h), then read by everything that reads segments: the reader (from
 * the start and from an LSN found on the way), verify, stat, a read-only
 * open, and (control bit 1) a writable open, which runs recovery, appends
 * one record and must read it back.
 *
 * Control bit 0 recomputes the checksums (segment header, each block in
 * sequence, index footer) before writing, so that mutations get past them
 * into the decoders (zstd, msgpack records, LSN and index checks); without
 * it the checksums themselves are fuzzed. Bit 2 names the file 2, as if
 * it followed an empty segment 1 (written too), so the reader crosses
 * segments.
 *
 * Invariants checked: only documented codes; the reader makes progress
 * (bounded number of calls) and returns strictly increasing LSNs; a record
 * appended after recovery reads back byte-exact at the head LSN. */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "log_int.h"
#include "memfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The log directory, in memory (memfs.h): no system calls per input. */
static const char dir[] = "fz";

static void write_file(const char *name, const uint8_t *b, size_t len)
{
    char p[64];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    memfs_write(p, b, len);
}

/* Recompute the header checksum, each block's in sequence, and the
 * footer's, wherever the lengths allow. */
static void fix_checksums(uint8_t *b, size_t len)
{
    if (len < GS_SEG_HDR_LEN)
        return;
    uint32_t hlen = gs_get32(b + 12);
    if (hlen < GS_SEG_HDR_LEN || hlen > len || hlen % 8)
        hlen = GS_SEG_HDR_LEN;
    gs_put64(b + hlen - 8, XXH3_64bits(b, hlen - 8));
    size_t off = hlen;
    while (off + GS_BLK_HDR_LEN <= len) {
        uint32_t comp = gs_get32(b + off + 8);
        if (comp > len - off - GS_BLK_HDR_LEN)
            break;
        gs_put64(b + off + 48, gs_blk_hash(b + off, b + off + GS_BLK_HDR_LEN, comp));
        off += GS_BLK_HDR_LEN + comp;
    }
    if (len >= hlen + GS_IDX_TRAILER_LEN) {
        uint8_t *t = b + len - GS_IDX_TRAILER_LEN;
        uint64_t ioff = gs_get64(t + 8);
        if (ioff <= len - GS_IDX_TRAILER_LEN)
            gs_put64(t + 40, gs_idx_hash(b + ioff, len - GS_IDX_TRAILER_LEN - ioff, t));
    }
}

static int known(int rc)
{
    return rc >= 0 || rc == GS_ECORRUPT || rc == GS_EVERSION || rc == GS_ENOMEM ||
           rc == GS_ENOTFOUND;
}

static void on_bad(void *ud, const char *seg, uint64_t off, int code, const char *what)
{
    GS_UNUSED(ud);
    GS_UNUSED(seg);
    GS_UNUSED(off);
    if (!what || (code != GS_ECORRUPT && code != GS_EVERSION))
        abort();
}

/* Read everything from `from`; returns the highest LSN seen. */
static uint64_t read_all(uint64_t from, size_t size)
{
    gs_log_reader *r;
    gs_err e;
    int rc = gs_log_reader_open(dir, memfs_io(), from, 0, &r, &e);
    if (rc != GS_OK) {
        if (!known(rc))
            abort();
        return 0;
    }
    uint64_t last = 0, calls = 0;
    gs_log_rec rec;
    while ((rc = gs_log_reader_next(r, &rec, &e)) != 0) {
        if (++calls > 4 * (uint64_t)size + 100)
            abort(); /* no progress */
        if (rc == GS_EVERSION)
            break;
        if (rc < 0) {
            if (!known(rc))
                abort();
            continue;
        }
        if (rec.lsn <= last || rec.lsn < from)
            abort();
        last = rec.lsn;
    }
    gs_log_reader_close(r);
    return last;
}

static void recover_and_append(void)
{
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.io = memfs_io();
    o.durability = GS_DURABILITY_SYNC;
    gs_log *log;
    gs_err e;
    int rc = gs_log_open(dir, &o, &log, &e);
    if (rc != GS_OK) {
        if (!known(rc) && rc != GS_EIO)
            abort();
        return;
    }
    uint64_t head = gs_log_head_lsn(log);
    static const char frame[] = "{\"op\":0,\"t\":\"X\",\"s\":1,\"d\":{}}";
    gs_log_rec_in in = {.recv_us = 1,
                        .shard = 2,
                        .op = 0,
                        .seq = 3,
                        .event = "X",
                        .event_len = 1,
                        .raw = frame,
                        .raw_len = sizeof(frame) - 1};
    uint64_t first = 0;
    rc = gs_log_append(log, &in, 1, &first, &e);
    if (rc != GS_OK || first != head + 1)
        abort();
    if (gs_log_close(log, &e) != GS_OK)
        abort();
    gs_log_reader *r;
    if (gs_log_reader_open(dir, memfs_io(), first, 0, &r, &e) != GS_OK)
        abort();
    gs_log_rec rec;
    do
        rc = gs_log_reader_next(r, &rec, &e);
    while (rc == GS_ECORRUPT);
    if (rc != 1 || rec.lsn != first || rec.raw_len != in.raw_len ||
        memcmp(rec.raw, frame, in.raw_len) != 0)
        abort();
    gs_log_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    size_t len = size - 1;
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return 0;
    memcpy(b, data + 1, len);
    if (ctl & 1)
        fix_checksums(b, len);
    memfs_reset();
    memfs_mkdir(dir);
    char name[GS_SEG_NAME_MAX];
    if (ctl & 4) {
        /* an empty, valid segment 1 before it */
        uint8_t h[GS_SEG_HDR_LEN] = {0};
        gs_seg_hdr sh = {
            .version = 1, .min_reader = 1, .header_len = GS_SEG_HDR_LEN, .base_lsn = 1};
        gs_seg_hdr_encode(&sh, h);
        gs_seg_name(1, name);
        write_file(name, h, sizeof(h));
        gs_seg_name(2, name);
    } else {
        gs_seg_name(1, name);
    }
    write_file(name, b, len);
    free(b);

    uint64_t last = read_all(1, size);
    if (last > 2)
        read_all(last / 2 + 1, size);
    gs_log_verify_sum vs;
    gs_err e;
    int rc = gs_log_verify_dir(dir, memfs_io(), on_bad, NULL, &vs, &e);
    if (!known(rc))
        abort();
    gs_log_stats st;
    rc = gs_log_stat_dir(dir, memfs_io(), &st, &e);
    if (!known(rc))
        abort();
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.io = memfs_io();
    o.read_only = 1;
    gs_log *log;
    rc = gs_log_open(dir, &o, &log, &e);
    if (rc == GS_OK)
        gs_log_close(log, &e);
    else if (!known(rc))
        abort();
    if (ctl & 2)
        recover_and_append();
    return 0;
}
