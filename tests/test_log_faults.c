/* test_log_faults.c - fail each write / fsync / open / rename / ... of a
 * small SYNC workload in turn (ENOSPC, EIO, short write): the failing call
 * reports the real code naming the file, later calls get GS_EFAILED, and a
 * reopen with the real I/O finds every acknowledged record byte-exact, a
 * log that verifies, and appends that continue. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "support_fault_io.h"
#include "support_logtest.h"

#define NW 40

static lt_rec recs[NW];

static void opts_for(gs_log_opts *o, gs_io *io)
{
    gs_log_opts_init(o);
    o->io = io;
    o->durability = GS_DURABILITY_SYNC;
    o->segment_bytes = 4096; /* a roll every few appends */
    o->block_bytes = 1024;
}

typedef struct outcome {
    int open_rc;
    size_t acked; /* records acknowledged (LSN 1..acked) */
    size_t tried; /* records whose append was attempted */
    int fail_rc;  /* code of the first failure (0 = none) */
    char fail_msg[GS_ERRMSG_MAX];
} outcome;

/* Run the workload through f; returns what happened. */
static outcome run(const char *dir, fault_io *f)
{
    outcome out = {0};
    gs_log_opts o;
    opts_for(&o, &f->io);
    gs_log *log;
    gs_err e;
    out.open_rc = gs_log_open(dir, &o, &log, &e);
    if (out.open_rc) {
        out.fail_rc = out.open_rc;
        snprintf(out.fail_msg, sizeof(out.fail_msg), "%s", e.msg);
        return out;
    }
    for (size_t i = 0; i < NW; i++) {
        uint64_t first = 0;
        out.tried = i + 1;
        int rc = gs_log_append(log, &recs[i].in, 1, &first, &e);
        if (rc) {
            out.fail_rc = rc;
            snprintf(out.fail_msg, sizeof(out.fail_msg), "%s", e.msg);
            /* Everything after a failure is refused. */
            assert_int_equal(gs_log_append(log, &recs[i].in, 1, &first, &e), GS_EFAILED);
            assert_non_null(strstr(e.msg, "reopen"));
            assert_int_equal(gs_log_sync(log, &e), GS_EFAILED);
            break;
        }
        assert_int_equal(first, i + 1);
        assert_int_equal(gs_log_durable_lsn(log), i + 1);
        out.acked = i + 1;
    }
    int rc = gs_log_close(log, &e);
    if (!out.fail_rc && rc) {
        out.fail_rc = rc;
        snprintf(out.fail_msg, sizeof(out.fail_msg), "%s", e.msg);
    }
    return out;
}

/* Reopen with the real I/O: acknowledged records are all there, byte-exact;
 * anything beyond is one of the attempted records at its LSN; verify is
 * clean; appends go on. */
static void check_after(const char *dir, const outcome *out)
{
    gs_log_opts o;
    opts_for(&o, NULL);
    gs_log *log;
    gs_err e;
    int rc = gs_log_open(dir, &o, &log, &e);
    if (rc)
        fail_msg("reopen after fault: %s: %s", gs_errname(rc), e.msg);
    uint64_t head = gs_log_head_lsn(log);
    assert_true(head >= out->acked);
    assert_true(head <= out->tried);
    lt_rec extra;
    lt_make(&extra, 5, 77, 0);
    uint64_t first;
    assert_int_equal(gs_log_append(log, &extra.in, 1, &first, &e), GS_OK);
    assert_int_equal(first, head + 1);
    assert_int_equal(gs_log_close(log, &e), GS_OK);

    gs_log_verify_sum vs;
    rc = gs_log_verify_dir(dir, NULL, NULL, NULL, &vs, &e);
    if (rc)
        fail_msg("verify after fault: %s", e.msg);
    assert_int_equal(vs.records_ok, head + 1);

    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    uint64_t next = 1;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_int_equal(rec.lsn, next);
        const gs_log_rec_in *want = next <= head ? &recs[next - 1].in : &extra.in;
        assert_true(lt_same(&rec, want));
        next++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, head + 2);
    gs_log_reader_close(r);
    lt_free(&extra);
}

typedef struct scen {
    fio_kind kind;
    int err;
    int short_write;
} scen;

static const scen scens[] = {
    {FIO_PWRITE, ENOSPC, 0}, {FIO_PWRITE, EIO, 0},  {FIO_PWRITE, ENOSPC, 1},
    {FIO_PWRITE, EDQUOT, 1}, {FIO_FSYNC, EIO, 0},   {FIO_FSYNC, ENOSPC, 0},
    {FIO_OPEN, EIO, 0},      {FIO_OPEN, ENOSPC, 0}, {FIO_RENAME, EIO, 0},
    {FIO_FSYNC_DIR, EIO, 0}, {FIO_LIST, EIO, 0},    {FIO_MKDIR, EIO, 0},
};

static void test_each_call(void **state)
{
    GS_UNUSED(state);
    /* Count the calls of a clean run. */
    char *dir = lt_tmpdir("fault0");
    fault_io f;
    fault_io_init(&f, NULL);
    outcome clean = run(dir, &f);
    assert_int_equal(clean.fail_rc, 0);
    assert_int_equal(clean.acked, NW);
    uint64_t counts[FIO_NKINDS];
    for (int k = 0; k < FIO_NKINDS; k++)
        counts[k] = fault_io_count(&f, (fio_kind)k);
    assert_true(counts[FIO_PWRITE] > NW);
    assert_true(counts[FIO_RENAME] >= 3); /* the workload rolls */
    fault_io_destroy(&f);
    lt_rmrf(dir);
    free(dir);

    size_t runs = 0;
    for (size_t s = 0; s < GS_ARRAY_LEN(scens); s++) {
        const scen *sc = &scens[s];
        int want = sc->err == EIO ? GS_EIO : GS_ENOSPC;
        for (uint64_t n = 1; n <= counts[sc->kind]; n++) {
            dir = lt_tmpdir("fault");
            fault_io_init(&f, NULL);
            if (sc->short_write)
                fault_io_short_write(&f, n, sc->err);
            else
                fault_io_fail(&f, sc->kind, n, sc->err, 0);
            outcome out = run(dir, &f);
            if (out.fail_rc != want)
                fail_msg("%s #%llu (%s%s): got %s (%s), want %s", fault_io_kind_name(sc->kind),
                         (unsigned long long)n, strerror(sc->err), sc->short_write ? ", short" : "",
                         gs_errname(out.fail_rc), out.fail_msg, gs_errname(want));
            /* The message names the file (or directory) that failed. */
            if (!strstr(out.fail_msg, dir))
                fail_msg("message does not name the file: %s", out.fail_msg);
            fault_io_destroy(&f);
            check_after(dir, &out);
            lt_rmrf(dir);
            free(dir);
            runs++;
        }
    }
    assert_true(runs > 100);
}

/* A short write whose cleanup (ftruncate) fails too leaves half a block in
 * the file: the reopen cuts it as a torn tail. */
static void test_short_write_no_truncate(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("fault-trunc");
    fault_io f;
    fault_io_init(&f, NULL);
    fault_io_short_write(&f, 6, ENOSPC);
    fault_io_fail(&f, FIO_FTRUNCATE, 1, EIO, 1);
    outcome out = run(dir, &f);
    assert_int_equal(out.fail_rc, GS_ENOSPC);
    assert_true(fault_io_count(&f, FIO_FTRUNCATE) >= 1);
    fault_io_destroy(&f);

    gs_log_opts o;
    opts_for(&o, NULL);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    const gs_log_recovery *rv = gs_log_recovery_info(log);
    assert_int_equal(rv->truncated, 1);
    assert_true(rv->bytes_dropped > 0);
    assert_true(rv->last_good_lsn >= out.acked && rv->last_good_lsn <= out.tried);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    check_after(dir, &out);
    lt_rmrf(dir);
    free(dir);
}

/* BATCH mode: an fsync failure in the flusher (or in an explicit sync,
 * whichever comes first) fails the log; appends are refused after it, and a
 * reopen keeps every record that was reported durable. */
static void test_batch_fsync_failure(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("fault-batch");
    fault_io f;
    fault_io_init(&f, NULL);
    fault_io_fail(&f, FIO_FSYNC, 2, EIO, 0); /* 1: creating segment 1 */
    gs_log_opts o;
    opts_for(&o, &f.io);
    o.durability = GS_DURABILITY_BATCH;
    o.segment_bytes = 1 << 20;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    size_t tried = 0;
    int refused = 0;
    for (size_t i = 0; i < 10; i++) {
        /* The flusher may hit the failure at any point of this loop. */
        int r = gs_log_append(log, &recs[i].in, 1, NULL, &e);
        if (refused)
            assert_int_equal(r, GS_EFAILED);
        else if (r == GS_EFAILED)
            refused = 1;
        else
            assert_int_equal(r, GS_OK);
        if (r == GS_OK)
            tried = i + 1;
    }
    int rc = gs_log_sync(log, &e);
    assert_true(rc == GS_EIO || rc == GS_EFAILED);
    assert_non_null(strstr(e.msg, dir));
    uint64_t durable = gs_log_durable_lsn(log);
    assert_int_equal(gs_log_append(log, &recs[10].in, 1, NULL, &e), GS_EFAILED);
    assert_non_null(strstr(e.msg, "cannot fsync"));
    gs_log_close(log, &e);
    fault_io_destroy(&f);
    outcome out = {.acked = (size_t)durable, .tried = tried};
    check_after(dir, &out);
    lt_rmrf(dir);
    free(dir);
}

int main(void)
{
    for (unsigned i = 0; i < NW; i++)
        lt_make(&recs[i], i, 4, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_call),
        cmocka_unit_test(test_short_write_no_truncate),
        cmocka_unit_test(test_batch_fsync_failure),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (unsigned i = 0; i < NW; i++)
        lt_free(&recs[i]);
    return rc;
}
