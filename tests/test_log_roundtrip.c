/* test_log_roundtrip.c - append, reopen, read back byte-exact across
 * several segments, seek by LSN and time, in every durability mode; and
 * concurrent SYNC appenders. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "support_logtest.h"

#define NREC 400

static void opts_for(gs_log_opts *o, int durability)
{
    gs_log_opts_init(o);
    o->durability = durability;
    o->segment_bytes = 16 * 1024; /* tiny: many segments */
    o->block_bytes = 2048;
    o->batch_ms = 2;
    o->batch_bytes = 8192;
    memset(o->store_id, 0x5a, 16);
}

static lt_rec *make_workload(size_t *n)
{
    lt_rec *v = calloc(NREC, sizeof(*v));
    for (unsigned i = 0; i < NREC; i++)
        lt_make(&v[i], i, 1, i == 123 ? 5u * 1024 * 1024 : 0); /* one 5 MB frame */
    *n = NREC;
    return v;
}

/* Read from `from` (and since) to the end; check against want[] which
 * holds LSN k at index k-1. Returns the number read. */
static size_t read_check(const char *dir, uint64_t from, int64_t since, const lt_rec *want,
                         size_t n)
{
    gs_log_reader *r;
    gs_err e;
    assert_int_equal(gs_log_reader_open(dir, NULL, from, since, &r, &e), GS_OK);
    gs_log_rec rec;
    int rc;
    size_t got = 0;
    uint64_t next = from ? from : 1;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        /* the next record must be the first at or after `next` that passes
         * the time filter */
        while (next <= n && since && want[next - 1].in.recv_us < since)
            next++;
        assert_true(next <= n);
        assert_int_equal(rec.lsn, next);
        assert_true(lt_same(&rec, &want[next - 1].in));
        next++;
        got++;
    }
    if (rc != 0)
        fail_msg("reader: %s: %s", gs_errname(rc), e.msg);
    while (next <= n && since && want[next - 1].in.recv_us < since)
        next++;
    assert_int_equal(next, from > n + 1 ? from : n + 1);
    gs_log_reader_close(r);
    return got;
}

static void roundtrip_mode(int durability)
{
    char *dir = lt_tmpdir("rt");
    size_t n;
    lt_rec *w = make_workload(&n);
    gs_log_opts o;
    opts_for(&o, durability);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), 0);

    /* Appends of 1, 2, 3... records at a time. */
    size_t i = 0, step = 1;
    while (i < n) {
        size_t k = step < n - i ? step : n - i;
        gs_log_rec_in in[16];
        for (size_t j = 0; j < k; j++)
            in[j] = w[i + j].in;
        uint64_t first = 0;
        int rc = gs_log_append(log, in, k, &first, &e);
        if (rc)
            fail_msg("append: %s", e.msg);
        assert_int_equal(first, i + 1);
        i += k;
        step = step % 7 + 1;
    }
    assert_int_equal(gs_log_head_lsn(log), n);
    if (durability == GS_DURABILITY_SYNC)
        assert_int_equal(gs_log_durable_lsn(log), n);
    if (durability == GS_DURABILITY_BATCH) {
        /* The flusher makes everything durable on its own (no deadline is
         * asserted: this only waits, up to a minute, for it to happen). */
        for (int k = 0; k < 60000 && gs_log_durable_lsn(log) < n; k++)
            usleep(1000);
        assert_int_equal(gs_log_durable_lsn(log), n);
        assert_int_equal(gs_log_written_lsn(log), n);
    }
    assert_int_equal(gs_log_sync(log, &e), GS_OK);
    assert_int_equal(gs_log_durable_lsn(log), n);
    assert_int_equal(gs_log_written_lsn(log), n);
    assert_int_equal(gs_log_close(log, &e), GS_OK);

    char **names;
    size_t nseg = lt_segments(dir, &names);
    assert_true(nseg > 3);
    lt_free_names(names, nseg);

    gs_log_stats st;
    assert_int_equal(gs_log_stat_dir(dir, NULL, &st, &e), GS_OK);
    assert_int_equal(st.records, n);
    assert_int_equal(st.first_lsn, 1);
    assert_int_equal(st.last_lsn, n);
    assert_int_equal(st.segments, nseg);
    assert_int_equal(st.sealed_segments, nseg - 1);
    uint64_t raw = 0;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t j = 0; j < n; j++) {
        raw += w[j].in.raw_len;
        mn = w[j].in.recv_us < mn ? w[j].in.recv_us : mn;
        mx = w[j].in.recv_us > mx ? w[j].in.recv_us : mx;
    }
    assert_int_equal(st.raw_bytes, raw);
    assert_int_equal(st.min_recv_us, mn);
    assert_int_equal(st.max_recv_us, mx);

    gs_log_verify_sum vs;
    assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, &vs, &e), GS_OK);
    assert_int_equal(vs.records_ok, n);
    assert_int_equal(vs.blocks_bad, 0);

    /* Whole log, then seeks by LSN: first, middle, last, past the end. */
    assert_int_equal(read_check(dir, 0, 0, w, n), n);
    assert_int_equal(read_check(dir, 1, 0, w, n), n);
    assert_int_equal(read_check(dir, 124, 0, w, n), n - 123);
    assert_int_equal(read_check(dir, 200, 0, w, n), n - 199);
    assert_int_equal(read_check(dir, n, 0, w, n), 1);
    assert_int_equal(read_check(dir, n + 1, 0, w, n), 0);
    assert_int_equal(read_check(dir, n + 1000, 0, w, n), 0);
    /* By time: from the middle, and past every record. */
    read_check(dir, 0, w[250].in.recv_us, w, n);
    read_check(dir, 300, w[100].in.recv_us, w, n);
    assert_int_equal(read_check(dir, 0, mx + 1, w, n), 0);

    /* Reopen for write: appends continue at n + 1. */
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    assert_int_equal(gs_log_head_lsn(log), n);
    assert_int_equal(gs_log_recovery_info(log)->truncated, 0);
    assert_int_equal(gs_log_recovery_info(log)->mid_damage, 0);
    lt_rec extra;
    lt_make(&extra, 7, 9, 0);
    uint64_t first;
    assert_int_equal(gs_log_append(log, &extra.in, 1, &first, &e), GS_OK);
    assert_int_equal(first, n + 1);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    w = realloc(w, (n + 1) * sizeof(*w));
    w[n] = extra;
    assert_int_equal(read_check(dir, n, 0, w, n + 1), 2);

    lt_free_all(w, n + 1);
    lt_rmrf(dir);
    free(dir);
}

static void test_roundtrip_sync(void **state)
{
    GS_UNUSED(state);
    roundtrip_mode(GS_DURABILITY_SYNC);
}
static void test_roundtrip_batch(void **state)
{
    GS_UNUSED(state);
    roundtrip_mode(GS_DURABILITY_BATCH);
}
static void test_roundtrip_off(void **state)
{
    GS_UNUSED(state);
    roundtrip_mode(GS_DURABILITY_OFF);
}

/* Regression: a segment roll makes everything written durable, and the
 * flusher then sleeps without a deadline (head == durable). The roll left
 * the BATCH pending-bytes count as it was, so the next append did not look
 * like the first pending one and did not wake the flusher: its records
 * stayed undurable until batch_bytes more arrived (1 run in ~12 of
 * test_roundtrip_batch). Here big records each fill a block (the flusher
 * writes it and rolls), then one small record stays in the block buffer. */
static void test_batch_roll_wakes_flusher(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("rollwake");
    gs_log_opts o;
    opts_for(&o, GS_DURABILITY_BATCH);
    o.segment_bytes = 4096;
    o.block_bytes = 1024;
    o.batch_ms = 200;
    o.batch_bytes = 1u << 30; /* only the timer or a wake-up flushes */
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    lt_rec w[64];
    unsigned n = 0;
    /* Append full blocks until one of them rolls the segment. */
    for (;;) {
        assert_true(n < 60);
        lt_make(&w[n], n, 4, 2000);
        assert_int_equal(gs_log_append(log, &w[n].in, 1, NULL, &e), GS_OK);
        n++;
        /* Waits (bounded, no deadline asserted) for the block to be written. */
        for (int k = 0; k < 10000 && gs_log_written_lsn(log) < n; k++)
            usleep(1000);
        assert_int_equal(gs_log_written_lsn(log), n);
        if (gs_log_durable_lsn(log) == n)
            break;
    }
    usleep(50 * 1000); /* let the flusher go back to sleep */
    lt_make(&w[n], n, 4, 100);
    assert_int_equal(gs_log_append(log, &w[n].in, 1, NULL, &e), GS_OK);
    n++;
    /* Only waits (up to 10 s, far past batch_ms) for the flusher. */
    for (int k = 0; k < 10000 && gs_log_durable_lsn(log) < n; k++)
        usleep(1000);
    assert_int_equal(gs_log_durable_lsn(log), n);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    for (unsigned i = 0; i < n; i++)
        lt_free(&w[i]);
    lt_rmrf(dir);
    free(dir);
}

/* ---- concurrent appenders ---- */

#define NTHREADS   4
#define PER_THREAD 150

typedef struct worker {
    gs_log *log;
    int id;
    uint64_t lsn[PER_THREAD];
    lt_rec rec[PER_THREAD];
    int rc;
} worker;

static void *work(void *arg)
{
    worker *wk = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        lt_make(&wk->rec[i], (unsigned)i, (unsigned)wk->id + 10, 0);
        gs_err e;
        int rc = gs_log_append(wk->log, &wk->rec[i].in, 1, &wk->lsn[i], &e);
        if (rc) {
            wk->rc = rc;
            break;
        }
    }
    return NULL;
}

static void test_concurrent_sync(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("conc");
    gs_log_opts o;
    opts_for(&o, GS_DURABILITY_SYNC);
    o.segment_bytes = 64 * 1024;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    static worker wk[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&wk[t], 0, sizeof(wk[t]));
        wk[t].log = log;
        wk[t].id = t;
        pthread_create(&th[t], NULL, work, &wk[t]);
    }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    uint64_t total = NTHREADS * PER_THREAD;
    assert_int_equal(gs_log_durable_lsn(log), total);
    assert_int_equal(gs_log_close(log, &e), GS_OK);

    const gs_log_rec_in **by_lsn = calloc(total + 1, sizeof(*by_lsn));
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(wk[t].rc, 0);
        for (int i = 0; i < PER_THREAD; i++) {
            uint64_t l = wk[t].lsn[i];
            assert_true(l >= 1 && l <= total);
            assert_null(by_lsn[l]); /* distinct */
            by_lsn[l] = &wk[t].rec[i].in;
            if (i)
                assert_true(l > wk[t].lsn[i - 1]); /* each thread's order kept */
        }
    }
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    uint64_t next = 1;
    int rc;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_int_equal(rec.lsn, next);
        assert_true(lt_same(&rec, by_lsn[next]));
        next++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, total + 1);
    gs_log_reader_close(r);
    free(by_lsn);
    for (int t = 0; t < NTHREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            lt_free(&wk[t].rec[i]);
    lt_rmrf(dir);
    free(dir);
}

/* BATCH and OFF: 4 threads appending groups of 5 records through the
 * compression hand-off; each call's records get consecutive LSNs. */
#define GROUP 5
typedef struct gworker {
    gs_log *log;
    int id;
    uint64_t first[PER_THREAD / GROUP];
    lt_rec rec[PER_THREAD];
    int rc;
} gworker;

static void *gwork(void *arg)
{
    gworker *wk = arg;
    for (int i = 0; i < PER_THREAD; i++)
        lt_make(&wk->rec[i], (unsigned)i, (unsigned)wk->id + 20, 0);
    for (int g = 0; g < PER_THREAD / GROUP; g++) {
        gs_log_rec_in in[GROUP];
        for (int j = 0; j < GROUP; j++)
            in[j] = wk->rec[g * GROUP + j].in;
        gs_err e;
        int rc = gs_log_append(wk->log, in, GROUP, &wk->first[g], &e);
        if (rc) {
            wk->rc = rc;
            break;
        }
    }
    return NULL;
}

static void concurrent_groups(int durability)
{
    char *dir = lt_tmpdir("concg");
    gs_log_opts o;
    opts_for(&o, durability);
    o.block_bytes = 1024; /* many hand-offs */
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    static gworker wk[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&wk[t], 0, sizeof(wk[t]));
        wk[t].log = log;
        wk[t].id = t;
        pthread_create(&th[t], NULL, gwork, &wk[t]);
    }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    uint64_t total = NTHREADS * PER_THREAD;
    const gs_log_rec_in **by_lsn = calloc(total + 1, sizeof(*by_lsn));
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(wk[t].rc, 0);
        for (int g = 0; g < PER_THREAD / GROUP; g++)
            for (int j = 0; j < GROUP; j++) {
                uint64_t l = wk[t].first[g] + (uint64_t)j;
                assert_true(l >= 1 && l <= total);
                assert_null(by_lsn[l]);
                by_lsn[l] = &wk[t].rec[g * GROUP + j].in;
            }
    }
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    uint64_t next = 1;
    int rc;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_int_equal(rec.lsn, next);
        assert_true(lt_same(&rec, by_lsn[next]));
        next++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, total + 1);
    gs_log_reader_close(r);
    free(by_lsn);
    for (int t = 0; t < NTHREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            lt_free(&wk[t].rec[i]);
    lt_rmrf(dir);
    free(dir);
}

static void test_concurrent_groups_batch(void **state)
{
    GS_UNUSED(state);
    concurrent_groups(GS_DURABILITY_BATCH);
}

static void test_concurrent_groups_off(void **state)
{
    GS_UNUSED(state);
    concurrent_groups(GS_DURABILITY_OFF);
}

/* A reader follows a writer: records appended after it reached the end,
 * including into new segments, show up on later next() calls. */
static void test_follow(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("follow");
    gs_log_opts o;
    opts_for(&o, GS_DURABILITY_OFF);
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    assert_int_equal(gs_log_reader_next(r, &rec, &e), 0);
    lt_rec *w = calloc(300, sizeof(*w));
    uint64_t next = 1;
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = round * 100; i < round * 100 + 100; i++) {
            lt_make(&w[i], i, 3, 0);
            assert_int_equal(gs_log_append(log, &w[i].in, 1, NULL, &e), GS_OK);
        }
        assert_int_equal(gs_log_sync(log, &e), GS_OK);
        int rc;
        while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
            assert_int_equal(rec.lsn, next);
            assert_true(lt_same(&rec, &w[next - 1].in));
            next++;
        }
        if (rc)
            fail_msg("follow: %s", e.msg);
        assert_int_equal(next, round * 100 + 101);
    }
    gs_log_reader_close(r);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    lt_free_all(w, 300);
    lt_rmrf(dir);
    free(dir);
}

/* Bad arguments are GS_EMISUSE / GS_ETOOBIG / GS_EREADONLY, not crashes. */
static void test_bad_calls(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("bad");
    gs_log_opts o;
    opts_for(&o, GS_DURABILITY_SYNC);
    gs_log *log;
    gs_err e;
    o.segment_bytes = 10;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_EMISUSE);
    opts_for(&o, GS_DURABILITY_SYNC);
    o.durability = 7;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_EMISUSE);
    opts_for(&o, GS_DURABILITY_SYNC);
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    gs_log_rec_in in = {.raw = NULL, .raw_len = 5};
    assert_int_equal(gs_log_append(log, &in, 1, NULL, &e), GS_EMISUSE);
    in.raw = "x";
    in.raw_len = (size_t)2 << 30;
    assert_int_equal(gs_log_append(log, &in, 1, NULL, &e), GS_ETOOBIG);
    assert_int_equal(gs_log_head_lsn(log), 0);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    o.read_only = 1;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    in.raw_len = 1;
    assert_int_equal(gs_log_append(log, &in, 1, NULL, &e), GS_EREADONLY);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open("/nonexistent/gs-log", NULL, 1, 0, &r, &e), GS_ENOTFOUND);
    lt_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sync),
        cmocka_unit_test(test_roundtrip_batch),
        cmocka_unit_test(test_roundtrip_off),
        cmocka_unit_test(test_concurrent_sync),
        cmocka_unit_test(test_concurrent_groups_batch),
        cmocka_unit_test(test_concurrent_groups_off),
        cmocka_unit_test(test_follow),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_batch_roll_wakes_flusher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
