/* test_log_version.c - format versions. A golden log written by format
 * version 1 (tests/data/log-v1/, committed once, never regenerated unless
 * the format is deliberately frozen anew) must open and read byte-exact
 * forever; a segment of a future version, or with an unknown flag, is
 * refused with GS_EVERSION naming the file and the versions.
 *
 * To (re)create the golden files: GS_REGEN_GOLDEN=1 ./test_log_version */
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
#include "support_logtest.h"

#define GOLDEN_DIR GS_TEST_DATA "/log-v1"
#define NGOLD      16

/* The golden records. Frozen: changing this breaks the golden test. */
typedef struct gold {
    gs_log_rec_in in;
    char raw[600];
} gold;
static gold golds[NGOLD];

static void make_golds(void)
{
    static const char *events[] = {"READY", "GUILD_CREATE", "", NULL};
    uint32_t x = 12345;
    for (int i = 0; i < NGOLD; i++) {
        gold *g = &golds[i];
        size_t n = i == 3 ? 0 : (size_t)(100 + 31 * i);
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            g->raw[k] = (char)(x >> 16);
        }
        if (i % 2 == 0 && n > 20)
            memcpy(g->raw, "{\"op\":0,\"t\":\"READY\",", 20);
        g->in.raw = g->raw;
        g->in.raw_len = n;
        g->in.event = events[i % 4];
        g->in.event_len = g->in.event ? strlen(g->in.event) : 0;
        g->in.recv_us = 1600000000000000LL + i * 1000003LL - (i == 5 ? 5000000 : 0);
        g->in.shard = i % 3 == 0 ? -1 : i;
        g->in.seq = i % 5 == 0 ? -1 : 1000 + i;
        g->in.op = 0;
    }
}

static void regen(void)
{
    lt_rmrf(GOLDEN_DIR);
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = GS_DURABILITY_SYNC;
    o.segment_bytes = 4096;
    o.block_bytes = 256;
    memcpy(o.store_id, "golden-store-v1!", 16);
    gs_log *log;
    gs_err e;
    if (gs_log_open(GOLDEN_DIR, &o, &log, &e) != GS_OK)
        fail_msg("%s", e.msg);
    for (int i = 0; i < NGOLD; i++)
        assert_int_equal(gs_log_append(log, &golds[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
}

static void read_golden(const char *dir, int expect_n)
{
    gs_log_reader *r;
    gs_err e;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    int rc, n = 0;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_int_equal(rec.lsn, n + 1);
        assert_true(lt_same(&rec, &golds[n].in));
        n++;
    }
    if (rc)
        fail_msg("golden read: %s", e.msg);
    assert_int_equal(n, expect_n);
    gs_log_reader_close(r);
}

static void test_golden_reads(void **state)
{
    GS_UNUSED(state);
    char **names;
    size_t n = lt_segments(GOLDEN_DIR, &names);
    assert_int_equal(n, 2); /* one sealed (with index), one active */
    char *p = lt_path(GOLDEN_DIR, names[0]);
    size_t len;
    unsigned char *buf = lt_read_file(p, &len);
    static const unsigned char magic[4] = {0xF9, 0x9B, 0x0E, 0xD3};
    assert_memory_equal(buf, magic, 4);
    assert_int_equal(buf[4], 1); /* format version 1 */
    free(buf);
    free(p);
    lt_free_names(names, n);

    read_golden(GOLDEN_DIR, NGOLD);
    gs_log_verify_sum vs;
    gs_err e;
    assert_int_equal(gs_log_verify_dir(GOLDEN_DIR, NULL, NULL, NULL, &vs, &e), GS_OK);
    assert_int_equal(vs.records_ok, NGOLD);
    gs_log_stats st;
    assert_int_equal(gs_log_stat_dir(GOLDEN_DIR, NULL, &st, &e), GS_OK);
    assert_int_equal(st.segments, 2);
    assert_int_equal(st.sealed_segments, 1);
    assert_int_equal(st.records, NGOLD);
    assert_int_equal(st.last_lsn, NGOLD);
    /* Seek by LSN into the sealed segment uses its index. */
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(GOLDEN_DIR, NULL, 4, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    assert_int_equal(gs_log_reader_next(r, &rec, &e), 1);
    assert_int_equal(rec.lsn, 4);
    assert_true(lt_same(&rec, &golds[3].in));
    gs_log_reader_close(r);

    /* A writable open of a copy continues it. */
    char *dir = lt_tmpdir("golden");
    lt_copydir(GOLDEN_DIR, dir);
    gs_log_opts o;
    gs_log_opts_init(&o);
    memcpy(o.store_id, "golden-store-v1!", 16);
    gs_log *log;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), NGOLD);
    uint64_t first;
    assert_int_equal(gs_log_append(log, &golds[0].in, 1, &first, &e), GS_OK);
    assert_int_equal(first, NGOLD + 1);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    /* Another store's id is refused. */
    memcpy(o.store_id, "another-store-id", 16);
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_ECORRUPT);
    lt_rmrf(dir);
    free(dir);
}

/* Rewrite segment `name` of dir with a header changed by the caller. */
static void rewrite_header(const char *dir, const char *name, uint16_t version, uint16_t min_reader,
                           uint32_t flags)
{
    char *p = lt_path(dir, name);
    size_t len;
    unsigned char *buf = lt_read_file(p, &len);
    gs_seg_hdr h;
    assert_int_equal(gs_seg_hdr_decode(buf, len, name, &h, NULL), GS_OK);
    h.version = version;
    h.min_reader = min_reader;
    h.flags = flags;
    gs_seg_hdr_encode(&h, buf); /* with a valid checksum */
    lt_write_file(p, buf, len);
    free(buf);
    free(p);
}

static void expect_refused(const char *dir, const char *name, const char *needle, int writable_too)
{
    gs_err e;
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    int rc;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1)
        ;
    assert_int_equal(rc, GS_EVERSION);
    assert_non_null(strstr(e.msg, name));
    assert_non_null(strstr(e.msg, needle));
    /* and it stays refused */
    assert_int_equal(gs_log_reader_next(r, &rec, &e), GS_EVERSION);
    gs_log_reader_close(r);
    assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, NULL, &e), GS_EVERSION);
    assert_non_null(strstr(e.msg, name));
    if (writable_too) {
        gs_log_opts o;
        gs_log_opts_init(&o);
        gs_log *log;
        assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_EVERSION);
        assert_non_null(strstr(e.msg, name));
    }
}

static void test_future_version_refused(void **state)
{
    GS_UNUSED(state);
    char **names;
    size_t n = lt_segments(GOLDEN_DIR, &names);
    for (size_t which = 0; which < n; which++) {
        char *dir = lt_tmpdir("future");
        lt_copydir(GOLDEN_DIR, dir);
        rewrite_header(dir, names[which], 2, 2, 0);
        expect_refused(dir, names[which], "needs reader version 2", 1);
        assert_non_null(strstr(gs_errstr(GS_EVERSION), "version"));
        lt_rmrf(dir);
        free(dir);

        dir = lt_tmpdir("flags");
        lt_copydir(GOLDEN_DIR, dir);
        rewrite_header(dir, names[which], 1, 1, 0x10);
        expect_refused(dir, names[which], "unknown header flags 0x00000010", 1);
        lt_rmrf(dir);
        free(dir);
    }
    /* A newer writer that keeps min_reader at 1 can be read, but this code
     * will not append to its segment. */
    char *dir = lt_tmpdir("compat");
    lt_copydir(GOLDEN_DIR, dir);
    rewrite_header(dir, names[n - 1], 3, 1, 0);
    read_golden(dir, NGOLD);
    gs_log_opts o;
    gs_log_opts_init(&o);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_EVERSION);
    assert_non_null(strstr(e.msg, names[n - 1]));
    o.read_only = 1;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), NGOLD);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    lt_rmrf(dir);
    free(dir);
    lt_free_names(names, n);
}

/* Header decoding of bad bytes is GS_ECORRUPT, never a crash. */
static void test_header_garbage(void **state)
{
    GS_UNUSED(state);
    uint8_t buf[GS_SEG_HDR_LEN];
    gs_seg_hdr h = {.version = 1, .min_reader = 1, .base_lsn = 7};
    gs_seg_hdr_encode(&h, buf);
    gs_seg_hdr out;
    assert_int_equal(gs_seg_hdr_decode(buf, sizeof(buf), "x", &out, NULL), GS_OK);
    assert_int_equal(out.base_lsn, 7);
    for (size_t len = 0; len < sizeof(buf); len++)
        assert_int_equal(gs_seg_hdr_decode(buf, len, "x", &out, NULL), GS_ECORRUPT);
    buf[12] = 0xff; /* header_len absurd */
    assert_int_equal(gs_seg_hdr_decode(buf, sizeof(buf), "x", &out, NULL), GS_ECORRUPT);
    /* A block header with absurd lengths is refused before any allocation. */
    gs_blk_hdr bh = {.flags = GS_BLK_CODEC_ZSTD,
                     .comp_len = 10,
                     .raw_len = (2u << 30),
                     .count = 1,
                     .first_lsn = 1};
    uint8_t bb[GS_BLK_HDR_LEN];
    gs_blk_hdr_encode(&bh, bb);
    const char *what;
    gs_blk_hdr d;
    assert_int_equal(gs_blk_hdr_decode(bb, &d, &what), GS_ECORRUPT);
    bh.raw_len = 100;
    bh.comp_len = 5000; /* above the zstd bound of 100 bytes */
    gs_blk_hdr_encode(&bh, bb);
    assert_int_equal(gs_blk_hdr_decode(bb, &d, &what), GS_ECORRUPT);
    bh.comp_len = 50;
    bh.count = 50; /* 50 records cannot fit 100 bytes */
    gs_blk_hdr_encode(&bh, bb);
    assert_int_equal(gs_blk_hdr_decode(bb, &d, &what), GS_ECORRUPT);
    bh.count = 2;
    gs_blk_hdr_encode(&bh, bb);
    assert_int_equal(gs_blk_hdr_decode(bb, &d, &what), GS_OK);
    bb[4] |= 0x80; /* unknown flag */
    assert_int_equal(gs_blk_hdr_decode(bb, &d, &what), GS_ECORRUPT);
}

int main(void)
{
    make_golds();
    if (getenv("GS_REGEN_GOLDEN")) {
        regen();
        printf("wrote %s\n", GOLDEN_DIR);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_reads),
        cmocka_unit_test(test_future_version_refused),
        cmocka_unit_test(test_header_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
