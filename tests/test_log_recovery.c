/* test_log_recovery.c - recovery on a writable open: a torn tail cut at
 * every byte of the last block, a segment torn inside its header, damage in
 * the middle of the newest segment, and a read-only open that writes
 * nothing. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "support_fault_io.h"
#include "support_logtest.h"

#define NREC 33 /* 30 single appends + one append of 3 */

static lt_rec recs[NREC];
static char *base_dir;
static char *newest; /* newest segment's name */
static lt_block last_blk;

static void opts_for(gs_log_opts *o)
{
    gs_log_opts_init(o);
    o->durability = GS_DURABILITY_SYNC;
    o->segment_bytes = 4096;
    o->block_bytes = 1024;
}

static int setup(void **state)
{
    GS_UNUSED(state);
    for (unsigned i = 0; i < NREC; i++)
        lt_make(&recs[i], i, 6, i >= 30 ? 300 : 0);
    base_dir = lt_tmpdir("torn-base");
    gs_log_opts o;
    opts_for(&o);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(base_dir, &o, &log, &e), GS_OK);
    for (unsigned i = 0; i < 30; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    gs_log_rec_in in[3] = {recs[30].in, recs[31].in, recs[32].in};
    assert_int_equal(gs_log_append(log, in, 3, NULL, &e), GS_OK);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    char **names;
    size_t n = lt_segments(base_dir, &names);
    assert_true(n >= 3);
    newest = strdup(names[n - 1]);
    lt_free_names(names, n);
    lt_block *b;
    uint64_t end;
    size_t nb = lt_scan_blocks(base_dir, newest, &b, &end);
    assert_true(nb >= 1);
    last_blk = b[nb - 1];
    assert_int_equal(last_blk.first_lsn, 31);
    assert_int_equal(last_blk.count, 3);
    free(b);
    return 0;
}

static int teardown(void **state)
{
    GS_UNUSED(state);
    for (unsigned i = 0; i < NREC; i++)
        lt_free(&recs[i]);
    lt_rmrf(base_dir);
    free(base_dir);
    free(newest);
    return 0;
}

/* Read the whole log: LSN 1..upto match recs[], then `extra` (if any). */
static void read_all(const char *dir, uint64_t upto, const lt_rec *extra)
{
    gs_log_reader *r;
    gs_err e;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    uint64_t next = 1;
    int rc;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_int_equal(rec.lsn, next);
        assert_true(lt_same(&rec, next <= upto ? &recs[next - 1].in : &extra->in));
        next++;
    }
    if (rc)
        fail_msg("read_all: %s", e.msg);
    assert_int_equal(next, upto + (extra ? 2 : 1));
    gs_log_reader_close(r);
}

static void test_torn_every_offset(void **state)
{
    GS_UNUSED(state);
    char *seg_path = lt_path(base_dir, newest);
    size_t seg_len;
    unsigned char *orig = lt_read_file(seg_path, &seg_len);
    assert_int_equal(seg_len, last_blk.off + last_blk.len);
    free(seg_path);
    lt_rec extra;
    lt_make(&extra, 3, 99, 0);
    for (uint64_t t = last_blk.off + 1; t < last_blk.off + last_blk.len; t++) {
        char *dir = lt_tmpdir("torn");
        lt_copydir(base_dir, dir);
        char *p = lt_path(dir, newest);
        assert_int_equal(truncate(p, (off_t)t), 0);
        free(p);

        gs_log_opts o;
        opts_for(&o);
        gs_log *log;
        gs_err e;
        int rc = gs_log_open(dir, &o, &log, &e);
        if (rc)
            fail_msg("open torn at %llu: %s", (unsigned long long)t, e.msg);
        const gs_log_recovery *rv = gs_log_recovery_info(log);
        assert_int_equal(rv->truncated, 1);
        assert_int_equal(rv->mid_damage, 0);
        assert_int_equal(rv->bytes_dropped, t - last_blk.off);
        assert_int_equal(rv->last_good_lsn, 30);
        assert_int_equal(rv->offset, last_blk.off);
        assert_string_equal(rv->segment, newest);
        size_t qlen;
        unsigned char *q = lt_read_file(rv->quarantine, &qlen);
        assert_non_null(q);
        assert_int_equal(qlen, t - last_blk.off);
        assert_memory_equal(q, orig + last_blk.off, qlen);
        free(q);
        uint64_t first;
        assert_int_equal(gs_log_append(log, &extra.in, 1, &first, &e), GS_OK);
        assert_int_equal(first, 31);
        assert_int_equal(gs_log_close(log, &e), GS_OK);
        read_all(dir, 30, &extra);
        lt_rmrf(dir);
        free(dir);
    }
    lt_free(&extra);
    free(orig);
}

/* A newest segment cut inside its header (a crash while it was created) or
 * with a garbage header and no block is quarantined and replaced. */
static void test_torn_header(void **state)
{
    GS_UNUSED(state);
    static const uint64_t cuts[] = {0, 1, 10, 63};
    /* Make a log whose newest segment has no block yet: base + one roll. */
    char **names;
    size_t n = lt_segments(base_dir, &names);
    char *prev = strdup(names[n - 2]); /* a sealed segment */
    lt_free_names(names, n);
    for (size_t c = 0; c <= GS_ARRAY_LEN(cuts); c++) {
        char *dir = lt_tmpdir("torn-hdr");
        lt_copydir(base_dir, dir);
        /* drop the newest segment: the sealed one before it is newest, and
         * fake the empty next segment by a short (or garbage) file */
        char *p = lt_path(dir, newest);
        unlink(p);
        free(p);
        lt_block *b;
        uint64_t end;
        size_t nb = lt_scan_blocks(dir, prev, &b, &end);
        uint64_t next_lsn = b[nb - 1].first_lsn + b[nb - 1].count;
        free(b);
        char name[64];
        snprintf(name, sizeof(name), "%020llu.seg", (unsigned long long)next_lsn);
        p = lt_path(dir, name);
        unsigned char junk[64];
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (unsigned char)(i * 7 + 1);
        size_t len = c < GS_ARRAY_LEN(cuts) ? (size_t)cuts[c] : sizeof(junk);
        lt_write_file(p, junk, len);
        free(p);

        gs_log_opts o;
        opts_for(&o);
        gs_log *log;
        gs_err e;
        int rc = gs_log_open(dir, &o, &log, &e);
        if (rc)
            fail_msg("open with torn header (%zu bytes): %s", len, e.msg);
        const gs_log_recovery *rv = gs_log_recovery_info(log);
        assert_int_equal(rv->truncated, 1);
        assert_int_equal(rv->bytes_dropped, len);
        assert_int_equal(rv->last_good_lsn, next_lsn - 1);
        assert_string_equal(rv->segment, name);
        size_t qlen;
        unsigned char *q = lt_read_file(rv->quarantine, &qlen);
        assert_non_null(q);
        assert_int_equal(qlen, len);
        free(q);
        uint64_t first;
        assert_int_equal(gs_log_append(log, &recs[next_lsn - 1].in, 1, &first, &e), GS_OK);
        assert_int_equal(first, next_lsn);
        assert_int_equal(gs_log_close(log, &e), GS_OK);
        read_all(dir, next_lsn, NULL);
        gs_log_verify_sum vs;
        assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, &vs, &e), GS_OK);
        lt_rmrf(dir);
        free(dir);
    }
    free(prev);
}

typedef struct bad_list {
    int n;
    char seg[64];
    uint64_t off;
} bad_list;

static void on_bad(void *ud, const char *segment, uint64_t offset, int code, const char *what)
{
    bad_list *b = ud;
    GS_UNUSED(what);
    assert_int_equal(code, GS_ECORRUPT);
    if (b->n++ == 0) {
        snprintf(b->seg, sizeof(b->seg), "%s", segment);
        b->off = offset;
    }
}

/* Damage in a block followed by good blocks is not a torn tail: nothing is
 * cut, the segment is left as is and writing goes on in a new segment. */
static void test_mid_damage(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("mid");
    lt_copydir(base_dir, dir);
    lt_block *b;
    uint64_t end;
    size_t nb = lt_scan_blocks(dir, newest, &b, &end);
    assert_true(nb >= 2);
    lt_block victim = b[nb - 2];
    free(b);
    char *p = lt_path(dir, newest);
    size_t len;
    unsigned char *buf = lt_read_file(p, &len);
    buf[victim.off + victim.len / 2] ^= 0x10;
    lt_write_file(p, buf, len);

    gs_log_opts o;
    opts_for(&o);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    const gs_log_recovery *rv = gs_log_recovery_info(log);
    assert_int_equal(rv->mid_damage, 1);
    assert_int_equal(rv->truncated, 0);
    assert_int_equal(rv->offset, victim.off);
    assert_int_equal(rv->last_good_lsn, NREC);
    uint64_t first;
    lt_rec extra;
    lt_make(&extra, 1, 55, 0);
    assert_int_equal(gs_log_append(log, &extra.in, 1, &first, &e), GS_OK);
    assert_int_equal(first, NREC + 1);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    /* the damaged segment is untouched */
    size_t len2;
    unsigned char *buf2 = lt_read_file(p, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf, buf2, len);
    free(buf2);

    bad_list bl = {0};
    gs_log_verify_sum vs;
    assert_int_equal(gs_log_verify_dir(dir, NULL, on_bad, &bl, &vs, &e), GS_ECORRUPT);
    assert_string_equal(bl.seg, newest);
    assert_int_equal(bl.off, victim.off);

    /* The reader reports the block once and goes on. */
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    int rc, corrupt = 0;
    uint64_t count = 0;
    while ((rc = gs_log_reader_next(r, &rec, &e)) != 0) {
        if (rc == GS_ECORRUPT) {
            corrupt++;
            assert_non_null(strstr(e.msg, newest));
            continue;
        }
        assert_int_equal(rc, 1);
        assert_true(rec.lsn < victim.first_lsn || rec.lsn >= victim.first_lsn + victim.count);
        assert_true(lt_same(&rec, rec.lsn <= NREC ? &recs[rec.lsn - 1].in : &extra.in));
        count++;
    }
    assert_int_equal(corrupt, 1);
    assert_int_equal(count, NREC + 1 - victim.count);
    gs_log_reader_close(r);
    lt_free(&extra);
    free(buf);
    free(p);
    lt_rmrf(dir);
    free(dir);
}

/* A read-only open of a log with a torn tail changes nothing on disk. */
static void test_read_only_no_writes(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("ro");
    lt_copydir(base_dir, dir);
    char *p = lt_path(dir, newest);
    assert_int_equal(truncate(p, (off_t)(last_blk.off + 5)), 0);
    fault_io f;
    fault_io_init(&f, NULL);
    gs_log_opts o;
    opts_for(&o);
    o.io = &f.io;
    o.read_only = 1;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), 30);
    assert_int_equal(gs_log_append(log, &recs[0].in, 1, NULL, &e), GS_EREADONLY);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    static const fio_kind writes[] = {FIO_PWRITE, FIO_FSYNC, FIO_FTRUNCATE, FIO_RENAME,
                                      FIO_UNLINK, FIO_MKDIR, FIO_FSYNC_DIR};
    for (size_t i = 0; i < GS_ARRAY_LEN(writes); i++)
        assert_int_equal(fault_io_count(&f, writes[i]), 0);
    fault_io_destroy(&f);
    size_t len;
    unsigned char *buf = lt_read_file(p, &len);
    assert_int_equal(len, last_blk.off + 5);
    free(buf);
    /* A reader sees the torn block as "not yet written". */
    read_all(dir, 30, NULL);
    free(p);
    lt_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torn_every_offset),
        cmocka_unit_test(test_torn_header),
        cmocka_unit_test(test_mid_damage),
        cmocka_unit_test(test_read_only_no_writes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
