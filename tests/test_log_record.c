/* test_log_record.c - the record codec and the checks behind the block
 * checksum: pack/unpack round trips at the edges, every truncation and
 * random damage of a record refused cleanly, and a block whose checksum is
 * right but whose records are wrong (a writer bug, or a forged block)
 * reported as GS_ECORRUPT by the reader and by verify. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "log.h"
#include "record.h"
#include "support_logtest.h"

/* Encode raw as a block and decode it back with a second codec. */
static void block_roundtrip(gs_codec *enc, gs_codec *dec, const uint8_t *raw, size_t len)
{
    gs_err err;
    gs_blk_hdr h;
    memset(&h, 0, sizeof(h));
    const uint8_t *blk, *back;
    size_t blen;
    const char *what = NULL;
    assert_int_equal(gs_codec_encode(enc, &h, raw, len, &blk, &blen, &err), GS_OK);
    assert_int_equal(h.raw_len, len);
    assert_int_equal(gs_codec_decode(dec, &h, blk + GS_BLK_HDR_LEN, &back, &what, &err), GS_OK);
    assert_memory_equal(back, raw, len);
}

/* The codecs' buffers grow with a large block and go back once 64 blocks
 * in a row needed under half of them; the blocks stay right throughout. */
static void test_codec_buffer_shrinks(void **state)
{
    (void)state;
    gs_codec enc, dec;
    gs_err err;
    assert_int_equal(gs_codec_init(&enc, 1, &err), GS_OK);
    assert_int_equal(gs_codec_init(&dec, 1, &err), GS_OK);
    size_t big = 3u << 20, small = 200u << 10;
    uint8_t *raw = malloc(big);
    assert_non_null(raw);
    for (size_t i = 0; i < big; i++)
        raw[i] = (uint8_t)("gateway frames "[i % 15] + (i / 4096) % 7);
    block_roundtrip(&enc, &dec, raw, small);
    size_t enc_small = enc.out_cap, dec_small = dec.out_cap;
    block_roundtrip(&enc, &dec, raw, big);
    assert_true(enc.out_cap >= big && dec.out_cap >= big);
    for (int i = 0; i < 63; i++)
        block_roundtrip(&enc, &dec, raw + i, small);
    assert_true(enc.out_cap >= big && dec.out_cap >= big); /* not yet */
    block_roundtrip(&enc, &dec, raw + 63, small);
    assert_int_equal(enc.out_cap, enc_small);
    assert_int_equal(dec.out_cap, dec_small);
    block_roundtrip(&enc, &dec, raw, big); /* and it grows again */
    assert_true(enc.out_cap >= big);
    gs_codec_free(&enc);
    gs_codec_free(&dec);
    free(raw);
}

static void roundtrip(const gs_log_rec_in *in, uint64_t lsn)
{
    uint8_t *buf = malloc(gs_rec_bound(in));
    size_t n = gs_rec_pack(buf, lsn, in);
    assert_true(n <= gs_rec_bound(in));
    gs_log_rec out;
    size_t used;
    const char *what;
    assert_int_equal(gs_rec_unpack(buf, n, &out, &used, &what), GS_OK);
    assert_int_equal(used, n);
    assert_int_equal(out.lsn, lsn);
    assert_true(lt_same(&out, in));
    /* every strict prefix is refused */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(gs_rec_unpack(buf, k, &out, &used, &what), GS_ECORRUPT);
    free(buf);
}

static void test_edges(void **state)
{
    GS_UNUSED(state);
    static const int64_t times[] = {INT64_MIN, -1, 0, 1, 127, 128, 65536, INT64_MAX};
    static const int64_t seqs[] = {-1, 0, 127, 128, 255, 256, 65535, 65536, INT64_MAX};
    static const int32_t shards[] = {-1, 0, 31, 255, 65536, INT32_MAX};
    static const int32_t ops[] = {INT32_MIN, -33, -1, 0, 7, 200, INT32_MAX};
    static const uint64_t lsns[] = {1, 127, 128, 255, 256, 65536, UINT64_MAX};
    char big[70000];
    memset(big, 'z', sizeof(big));
    static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
    int k = 0;
    for (size_t a = 0; a < GS_ARRAY_LEN(times); a++)
        for (size_t b = 0; b < GS_ARRAY_LEN(lens); b++, k++) {
            gs_log_rec_in in = {.recv_us = times[a],
                                .seq = seqs[k % GS_ARRAY_LEN(seqs)],
                                .shard = shards[k % GS_ARRAY_LEN(shards)],
                                .op = ops[k % GS_ARRAY_LEN(ops)],
                                .event = k % 3 ? big : NULL,
                                .event_len = k % 3 ? lens[(b + 1) % GS_ARRAY_LEN(lens)] % 300 : 0,
                                .raw = big,
                                .raw_len = lens[b]};
            roundtrip(&in, lsns[k % GS_ARRAY_LEN(lsns)]);
        }
}

static void test_garbage(void **state)
{
    GS_UNUSED(state);
    gs_log_rec_in in = {.recv_us = 99,
                        .seq = 5,
                        .shard = 2,
                        .op = 0,
                        .event = "READY",
                        .event_len = 5,
                        .raw = "{\"op\":0}",
                        .raw_len = 8};
    uint8_t buf[128];
    size_t n = gs_rec_pack(buf, 42, &in);
    uint32_t x = 1;
    for (int i = 0; i < 200000; i++) {
        uint8_t m[128];
        memcpy(m, buf, n);
        int flips = 1 + i % 3;
        for (int f = 0; f < flips; f++) {
            x = x * 1664525u + 1013904223u;
            m[(x >> 8) % n] = (uint8_t)(x >> 24);
        }
        gs_log_rec out;
        size_t used;
        const char *what = NULL;
        int rc = gs_rec_unpack(m, n, &out, &used, &what);
        if (rc == GS_OK) {
            /* whatever it decoded lies inside the buffer */
            assert_true(used <= n);
            assert_true(out.raw >= (const char *)m && out.raw + out.raw_len <= (const char *)m + n);
        } else {
            assert_int_equal(rc, GS_ECORRUPT);
            assert_non_null(what);
        }
    }
    /* shapes that are never records */
    static const uint8_t bad[][4] = {{0x96}, {0x98}, {0xdc, 0, 7}, {0x87}, {0xc0}};
    for (size_t i = 0; i < GS_ARRAY_LEN(bad); i++) {
        gs_log_rec out;
        size_t used;
        const char *what;
        assert_int_equal(gs_rec_unpack(bad[i], sizeof(bad[i]), &out, &used, &what), GS_ECORRUPT);
    }
}

/* Write a log, then replace one block by a forged one with a valid checksum
 * whose records do not match its header. */
static void test_forged_block(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("forged");
    lt_rec recs[6];
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = GS_DURABILITY_SYNC;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    for (unsigned i = 0; i < 6; i++) {
        lt_make(&recs[i], i, 21, 40);
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    }
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    char **names;
    size_t nseg = lt_segments(dir, &names);
    assert_int_equal(nseg, 1);
    lt_block *b;
    uint64_t end;
    size_t nb = lt_scan_blocks(dir, names[0], &b, &end);
    assert_int_equal(nb, 6);
    char *p = lt_path(dir, names[0]);
    size_t len;
    unsigned char *orig = lt_read_file(p, &len);

    /* Forgeries of block 2 (LSN 3), each the same length as the original:
     * the record inside claims LSN 4; or the header's count is 2. */
    for (int variant = 0; variant < 2; variant++) {
        unsigned char *f = malloc(len);
        memcpy(f, orig, len);
        uint8_t *hdr = f + b[2].off;
        gs_blk_hdr h;
        const char *what;
        assert_int_equal(gs_blk_hdr_decode(hdr, &h, &what), GS_OK);
        assert_int_equal(h.flags & GS_BLK_CODEC_MASK, GS_BLK_CODEC_NONE);
        uint8_t *payload = hdr + GS_BLK_HDR_LEN;
        if (variant == 0) {
            assert_int_equal(payload[1], 3); /* fixint LSN 3 */
            payload[1] = 4;
        } else {
            h.count = 2;
        }
        gs_blk_hdr_encode(&h, hdr);
        gs_put64(hdr + 48, gs_blk_hash(hdr, payload, h.comp_len));
        lt_write_file(p, f, len);
        free(f);

        gs_log_verify_sum vs;
        assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, &vs, &e), GS_ECORRUPT);
        assert_int_equal(vs.blocks_bad, 1);
        assert_int_equal(vs.blocks_ok, 5);
        gs_log_reader *r;
        assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
        gs_log_rec rec;
        int rc, corrupt = 0;
        uint64_t got = 0;
        while ((rc = gs_log_reader_next(r, &rec, &e)) != 0) {
            if (rc == GS_ECORRUPT) {
                corrupt++;
                assert_non_null(strstr(e.msg, names[0]));
                continue;
            }
            assert_int_equal(rc, 1);
            assert_true(rec.lsn != 3);
            assert_true(lt_same(&rec, &recs[rec.lsn - 1].in));
            got++;
        }
        assert_int_equal(corrupt, 1);
        assert_int_equal(got, 5);
        gs_log_reader_close(r);
    }
    free(orig);
    free(p);
    free(b);
    lt_free_names(names, nseg);
    for (unsigned i = 0; i < 6; i++)
        lt_free(&recs[i]);
    lt_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_buffer_shrinks),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_forged_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
