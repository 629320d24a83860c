/* test_log_corrupt.c - flip bytes in a copy of a valid log: every byte of
 * a chosen block, a sample of bytes of every other block, segment headers
 * and index footers. verify must name the segment and block, count every
 * other block as good, and a reader must report the damage once, never
 * return a record whose bytes differ from what was written, and go on. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "support_logtest.h"

#define NREC 160

static lt_rec recs[NREC];
static char *dir;
static char **segs;
static size_t nsegs;
static lt_block **blocks; /* per segment */
static size_t *nblocks;
static uint64_t *blocks_end;
static size_t total_blocks;

static int setup(void **state)
{
    GS_UNUSED(state);
    for (unsigned i = 0; i < NREC; i++)
        lt_make(&recs[i], i, 8, 0);
    dir = lt_tmpdir("corrupt");
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = GS_DURABILITY_OFF;
    o.segment_bytes = 12 * 1024;
    o.block_bytes = 1024;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    for (unsigned i = 0; i < NREC; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    nsegs = lt_segments(dir, &segs);
    assert_true(nsegs >= 4);
    blocks = calloc(nsegs, sizeof(*blocks));
    nblocks = calloc(nsegs, sizeof(*nblocks));
    blocks_end = calloc(nsegs, sizeof(*blocks_end));
    for (size_t s = 0; s < nsegs; s++) {
        nblocks[s] = lt_scan_blocks(dir, segs[s], &blocks[s], &blocks_end[s]);
        total_blocks += nblocks[s];
    }
    assert_true(nblocks[nsegs - 1] >= 2); /* the active segment has blocks */
    return 0;
}

static int teardown(void **state)
{
    GS_UNUSED(state);
    for (size_t s = 0; s < nsegs; s++)
        free(blocks[s]);
    free(blocks);
    free(nblocks);
    free(blocks_end);
    lt_free_names(segs, nsegs);
    lt_rmrf(dir);
    free(dir);
    for (unsigned i = 0; i < NREC; i++)
        lt_free(&recs[i]);
    return 0;
}

/* Flip one bit of byte `off` of segment s in place; calling it again
 * restores the byte. */
static void flip(size_t s, uint64_t off, unsigned char mask)
{
    char *p = lt_path(dir, segs[s]);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    c ^= mask;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
    free(p);
}

typedef struct seen {
    int n;
    char seg[64];
    uint64_t off;
    int other; /* a report for anything other than the first */
} seen;

static void on_bad(void *ud, const char *segment, uint64_t offset, int code, const char *what)
{
    seen *v = ud;
    GS_UNUSED(what);
    assert_int_equal(code, GS_ECORRUPT);
    if (v->n++ == 0) {
        snprintf(v->seg, sizeof(v->seg), "%s", segment);
        v->off = offset;
    }
}

/* Read the whole log. Every record returned must be exact; returns the
 * number of GS_ECORRUPT results and fills *got with the records read. */
static int read_whole(uint64_t *got, char *first_msg, size_t cap)
{
    gs_log_reader *r;
    gs_err e;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    int rc, corrupt = 0;
    uint64_t prev = 0;
    *got = 0;
    for (int guard = 0; guard < 100000; guard++) {
        rc = gs_log_reader_next(r, &rec, &e);
        if (rc == 0)
            break;
        if (rc == GS_ECORRUPT) {
            if (corrupt++ == 0)
                snprintf(first_msg, cap, "%s", e.msg);
            continue;
        }
        assert_int_equal(rc, 1);
        assert_true(rec.lsn > prev && rec.lsn <= NREC);
        prev = rec.lsn;
        if (!lt_same(&rec, &recs[rec.lsn - 1].in))
            fail_msg("record %" PRIu64 " differs from what was written", rec.lsn);
        (*got)++;
    }
    assert_int_equal(rc, 0);
    gs_log_reader_close(r);
    return corrupt;
}

/* With byte `pos` of block b of segment s flipped. */
static void check_block_flip(size_t s, size_t b, uint64_t pos)
{
    const lt_block *blk = &blocks[s][b];
    flip(s, blk->off + pos, (unsigned char)(1u << (pos % 8)));
    seen v = {0};
    gs_log_verify_sum vs;
    gs_err e;
    int rc = gs_log_verify_dir(dir, NULL, on_bad, &v, &vs, &e);
    uint64_t got;
    char msg[GS_ERRMSG_MAX] = "";
    int corrupt = read_whole(&got, msg, sizeof(msg));
    flip(s, blk->off + pos, (unsigned char)(1u << (pos % 8))); /* restore */

    if (rc != GS_ECORRUPT || v.n != 1 || strcmp(v.seg, segs[s]) || v.off != blk->off)
        fail_msg("flip seg %zu block %zu byte %" PRIu64
                 ": verify %s, %d reports, first %s@%" PRIu64,
                 s, b, pos, gs_errname(rc), v.n, v.seg, v.off);
    assert_int_equal(vs.blocks_bad, 1);
    assert_int_equal(vs.blocks_ok, total_blocks - 1);
    assert_int_equal(vs.records_ok, NREC - blk->count);
    int tail = s == nsegs - 1 && b == nblocks[s] - 1;
    if (tail) {
        /* The last block of the newest segment: indistinguishable from a
         * write in progress, so the reader stops there ("not yet
         * written") and recovery would cut it. */
        assert_int_equal(corrupt, 0);
    } else {
        if (corrupt != 1)
            fail_msg("flip seg %zu block %zu byte %" PRIu64 ": reader reported %d errors (%s)", s,
                     b, pos, corrupt, msg);
        char where[128];
        snprintf(where, sizeof(where), "segment %s offset %" PRIu64 ":", segs[s], blk->off);
        if (!strstr(msg, where))
            fail_msg("reader message \"%s\" does not name %s", msg, where);
    }
    assert_int_equal(got, NREC - blk->count);
}

static void test_every_byte_of_a_block(void **state)
{
    GS_UNUSED(state);
    size_t s = nsegs / 2, b = nblocks[s] / 2;
    for (uint64_t pos = 0; pos < blocks[s][b].len; pos++)
        check_block_flip(s, b, pos);
    /* and a block in the middle of the active segment (scanned, no index) */
    s = nsegs - 1;
    b = nblocks[s] / 2;
    if (b == nblocks[s] - 1)
        b = 0;
    for (uint64_t pos = 0; pos < blocks[s][b].len; pos++)
        check_block_flip(s, b, pos);
}

static void test_sample_every_block(void **state)
{
    GS_UNUSED(state);
    for (size_t s = 0; s < nsegs; s++) {
        for (size_t b = 0; b < nblocks[s]; b++) {
            uint64_t len = blocks[s][b].len;
            const uint64_t picks[] = {0, 3, 9, 14, 27, 41, 49, 55, len / 2, len - 1};
            for (size_t i = 0; i < GS_ARRAY_LEN(picks); i++)
                if (picks[i] < len)
                    check_block_flip(s, b, picks[i]);
        }
    }
}

static void test_segment_header_flip(void **state)
{
    GS_UNUSED(state);
    size_t s = 1;
    for (uint64_t pos = 0; pos < 64; pos += 3) {
        flip(s, pos, 0x04);
        seen v = {0};
        gs_log_verify_sum vs;
        gs_err e;
        assert_int_equal(gs_log_verify_dir(dir, NULL, on_bad, &v, &vs, &e), GS_ECORRUPT);
        assert_int_equal(v.n, 1);
        assert_string_equal(v.seg, segs[s]);
        assert_int_equal(v.off, 0);
        assert_int_equal(vs.blocks_bad, 0);
        assert_int_equal(vs.records_ok, NREC);
        uint64_t got;
        char msg[GS_ERRMSG_MAX] = "";
        assert_int_equal(read_whole(&got, msg, sizeof(msg)), 1);
        assert_non_null(strstr(msg, segs[s]));
        assert_int_equal(got, NREC); /* the blocks carry their own checksums */
        flip(s, pos, 0x04);
    }
}

static void test_index_footer_flip(void **state)
{
    GS_UNUSED(state);
    size_t s = 1;
    char *p = lt_path(dir, segs[s]);
    size_t size;
    unsigned char *buf = lt_read_file(p, &size);
    free(buf);
    free(p);
    uint64_t idx = blocks_end[s];
    assert_true(size > idx + 48);
    const uint64_t picks[] = {idx,       idx + 9,   idx + 33,  size - 48, size - 45,
                              size - 40, size - 30, size - 20, size - 9,  size - 1};
    for (size_t i = 0; i < GS_ARRAY_LEN(picks); i++) {
        flip(s, picks[i], 0x20);
        seen v = {0};
        gs_log_verify_sum vs;
        gs_err e;
        assert_int_equal(gs_log_verify_dir(dir, NULL, on_bad, &v, &vs, &e), GS_ECORRUPT);
        assert_int_equal(v.n, 1);
        assert_string_equal(v.seg, segs[s]);
        assert_int_equal(v.off, idx);
        assert_int_equal(vs.blocks_bad, 0);
        assert_int_equal(vs.blocks_ok, total_blocks);
        /* Reading falls back to a scan and loses nothing. */
        uint64_t got;
        char msg[GS_ERRMSG_MAX] = "";
        assert_int_equal(read_whole(&got, msg, sizeof(msg)), 0);
        assert_int_equal(got, NREC);
        /* Seeking into that segment still works. */
        gs_log_reader *r;
        assert_int_equal(gs_log_reader_open(dir, NULL, blocks[s][1].first_lsn, 0, &r, &e), GS_OK);
        gs_log_rec rec;
        assert_int_equal(gs_log_reader_next(r, &rec, &e), 1);
        assert_int_equal(rec.lsn, blocks[s][1].first_lsn);
        gs_log_reader_close(r);
        flip(s, picks[i], 0x20);
    }
    gs_err e;
    assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, NULL, &e), GS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_of_a_block),
        cmocka_unit_test(test_sample_every_block),
        cmocka_unit_test(test_segment_header_flip),
        cmocka_unit_test(test_index_footer_flip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
