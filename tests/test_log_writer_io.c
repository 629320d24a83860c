/* test_log_writer_io.c - the writer does its file I/O without the mutex
 * appenders take: a block write held in flight (a pwrite hook that blocks
 * until the test releases it) must not stop appends, and a write error
 * while appends go on leaves nothing acknowledged beyond the durable point.
 *
 * The hook waits for the release without a deadline the test relies on: if
 * an append (or an accessor) waited for the blocked write, the test thread
 * never releases it, the hook gives up after a long fallback and the test
 * fails on `timed_out`. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "support_fault_io.h"
#include "support_logtest.h"

#define NREC     40
#define NBEFORE  3  /* records made durable before the held write */
#define NDURING  12 /* small records appended while it is held */
#define FALLBACK 30 /* seconds before the hook gives up (a failure) */

static lt_rec recs[NREC];

/* Holds the pwrite number arm_at until release_gate. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t arm_at;
    int entered, released, timed_out;
} gate;

static void gate_init(gate *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void gate_destroy(gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static void hold_hook(void *ud, uint64_t nth)
{
    gate *g = ud;
    pthread_mutex_lock(&g->mu);
    if (g->arm_at && nth == g->arm_at) {
        g->entered = 1;
        pthread_cond_broadcast(&g->cv);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += FALLBACK;
        while (!g->released)
            if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT) {
                g->timed_out = 1;
                break;
            }
    }
    pthread_mutex_unlock(&g->mu);
}

/* Wait until the armed write is in the hook (or it gave up). */
static void wait_entered(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void release_gate(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->released = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void opts_for(gs_log_opts *o, gs_io *io, int durability)
{
    gs_log_opts_init(o);
    o->io = io;
    o->durability = durability;
    o->segment_bytes = 1 << 20;
    o->block_bytes = 1024;
    o->batch_ms = 60000; /* only cuts, syncs and close write */
    o->batch_bytes = 1u << 30;
}

/* Reopen dir with the real I/O: it verifies, and holds exactly records
 * [0, n) of recs. */
static void check_log(const char *dir, uint64_t n)
{
    gs_err e;
    gs_log_verify_sum sum;
    assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, &sum, &e), GS_OK);
    gs_log *log;
    gs_log_opts o;
    opts_for(&o, NULL, GS_DURABILITY_SYNC);
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), n);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    uint64_t next = 1;
    int rc;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_true(next <= n);
        assert_int_equal(rec.lsn, next);
        assert_true(lt_same(&rec, &recs[next - 1].in));
        next++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, n + 1);
    gs_log_reader_close(r);
}

/* Open a log on f, make NBEFORE records durable, arm the gate on the next
 * pwrite (and make it fail with fail_errno if non-zero). */
static gs_log *open_armed(const char *dir, fault_io *f, gate *g, int durability, int fail_errno)
{
    gs_log_opts o;
    opts_for(&o, &f->io, durability);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    for (size_t i = 0; i < NBEFORE; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_sync(log, &e), GS_OK);
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE);
    uint64_t next = fault_io_count(f, FIO_PWRITE) + 1;
    if (fail_errno)
        fault_io_fail(f, FIO_PWRITE, next, fail_errno, 1);
    pthread_mutex_lock(&g->mu);
    g->arm_at = next;
    pthread_mutex_unlock(&g->mu);
    fault_io_pwrite_hook(f, hold_hook, g);
    return log;
}

/* BATCH: a full block goes to the flusher, whose write is held; appends of
 * the next records still return, and nothing is reported durable or
 * written meanwhile. After the release everything is synced and read back. */
static void test_batch_appends_during_held_write(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("wio-batch");
    fault_io f;
    fault_io_init(&f, NULL);
    gate g;
    gate_init(&g);
    gs_log *log = open_armed(dir, &f, &g, GS_DURABILITY_BATCH, 0);
    gs_err e;
    /* A record larger than block_bytes: its block is cut and handed. */
    assert_int_equal(gs_log_append(log, &recs[NBEFORE].in, 1, NULL, &e), GS_OK);
    wait_entered(&g);
    for (size_t i = NBEFORE + 1; i < NBEFORE + 1 + NDURING; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), NBEFORE + 1 + NDURING);
    assert_int_equal(gs_log_written_lsn(log), NBEFORE);
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE);
    release_gate(&g);
    assert_int_equal(g.timed_out, 0);
    assert_int_equal(gs_log_sync(log, &e), GS_OK);
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE + 1 + NDURING);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    check_log(dir, NBEFORE + 1 + NDURING);
    gate_destroy(&g);
    fault_io_destroy(&f);
    lt_rmrf(dir);
    free(dir);
}

/* BATCH: the held write then fails (ENOSPC). Appends made meanwhile return
 * (in memory only), the failure is sticky, durable stays where the last
 * fsync left it, and a reopen finds exactly the durable records. */
static void test_batch_write_error_while_appending(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("wio-batch-err");
    fault_io f;
    fault_io_init(&f, NULL);
    gate g;
    gate_init(&g);
    gs_log *log = open_armed(dir, &f, &g, GS_DURABILITY_BATCH, ENOSPC);
    gs_err e;
    assert_int_equal(gs_log_append(log, &recs[NBEFORE].in, 1, NULL, &e), GS_OK);
    wait_entered(&g);
    for (size_t i = NBEFORE + 1; i < NBEFORE + 1 + NDURING; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE);
    release_gate(&g);
    assert_int_equal(g.timed_out, 0);
    /* The flusher owns the failing write; a sync waits for it and is
     * refused. */
    assert_int_equal(gs_log_sync(log, &e), GS_EFAILED);
    assert_non_null(strstr(e.msg, "cannot write"));
    assert_non_null(strstr(e.msg, dir));
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE);
    assert_int_equal(gs_log_append(log, &recs[NREC - 1].in, 1, NULL, &e), GS_EFAILED);
    assert_int_equal(gs_log_close(log, &e), GS_EFAILED); /* records left undurable */
    check_log(dir, NBEFORE);
    gate_destroy(&g);
    fault_io_destroy(&f);
    lt_rmrf(dir);
    free(dir);
}

typedef struct appender {
    gs_log *log;
    size_t i;
    int rc;
} appender;

static void *append_one(void *arg)
{
    appender *a = arg;
    gs_err e;
    a->rc = gs_log_append(a->log, &recs[a->i].in, 1, NULL, &e);
    return NULL;
}

/* SYNC: A's block write is held, then fails. B appends meanwhile (its
 * record gets in memory while A writes: head advances) and waits for
 * durability; both are refused, nothing past the last fsync is
 * acknowledged, and the file reopens with exactly the durable records. */
static void test_sync_write_error_with_waiter(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("wio-sync-err");
    fault_io f;
    fault_io_init(&f, NULL);
    gate g;
    gate_init(&g);
    gs_log *log = open_armed(dir, &f, &g, GS_DURABILITY_SYNC, EIO);
    /* Small records: the write happens in A's sync, not while A holds the
     * append token (a cut inside an append keeps other appenders out). */
    appender a = {.log = log, .i = NBEFORE + 1}, b = {.log = log, .i = NBEFORE + 2};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, append_one, &a), 0);
    wait_entered(&g);
    assert_int_equal(pthread_create(&tb, NULL, append_one, &b), 0);
    /* Polls (no deadline asserted): the accessor must not wait for A. */
    for (int k = 0; k < FALLBACK * 1000 && gs_log_head_lsn(log) < NBEFORE + 2; k++)
        usleep(1000);
    assert_int_equal(gs_log_head_lsn(log), NBEFORE + 2);
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE);
    release_gate(&g);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(g.timed_out, 0);
    assert_int_equal(a.rc, GS_EIO);
    assert_int_equal(b.rc, GS_EFAILED);
    assert_int_equal(gs_log_durable_lsn(log), NBEFORE);
    gs_err e;
    assert_int_equal(gs_log_close(log, &e), GS_EFAILED);
    check_log(dir, NBEFORE);
    gate_destroy(&g);
    fault_io_destroy(&f);
    lt_rmrf(dir);
    free(dir);
}

int main(void)
{
    for (unsigned i = 0; i < NREC; i++)
        lt_make(&recs[i], i, 7, i == NBEFORE ? 3000 : (i < NBEFORE ? 0 : 12));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_appends_during_held_write),
        cmocka_unit_test(test_batch_write_error_while_appending),
        cmocka_unit_test(test_sync_write_error_with_waiter),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (unsigned i = 0; i < NREC; i++)
        lt_free(&recs[i]);
    return rc;
}
