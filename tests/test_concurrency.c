/* test_concurrency.c - readers beside writers on one store, for
 * ThreadSanitizer (configure with -DGS_SANITIZE=thread) and as a plain
 * test: 4 writer threads call gs_ingest_line while 2 reader threads read
 * the growing log, one with repeated whole-log passes (a query), one with a
 * single iterator that follows the head (like `tail --follow`). Every
 * record read must be byte-exact and LSNs must run 1, 2, 3... with each
 * writer's lines in its own order; a pass sees at least everything
 * acknowledged before it started (SYNC: what gs_ingest_line returned;
 * BATCH: gs_store_durable_lsn). In SYNC and BATCH mode, with small
 * segments so that the writer rolls while readers read. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_priv.h"
#include "support_logtest.h"

#define WRITERS    4
#define PER_WRITER 250
#define TOTAL      (WRITERS * PER_WRITER)

typedef struct shared {
    gs_store *st;
    int durability;
    atomic_uint_fast64_t acked; /* highest LSN known acknowledged */
    atomic_int writers_done;
    atomic_int failed;
    char why[256];
    pthread_mutex_t why_mu;
    uint64_t passes, follow_reads;
} shared;

static void set_failed(shared *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_failed(shared *s, const char *fmt, ...)
{
    pthread_mutex_lock(&s->why_mu);
    if (!atomic_load(&s->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof(s->why), fmt, ap);
        va_end(ap);
        atomic_store(&s->failed, 1);
    }
    pthread_mutex_unlock(&s->why_mu);
}

/* The line writer w writes as its kth: self-describing, so a reader can
 * rebuild it from its first bytes. Sizes vary (40..~1500 bytes). */
static size_t make_line(char *buf, size_t cap, int w, int k)
{
    int n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":%d,\"d\":{\"w\":%d,\"k\":%d,"
                     "\"pad\":\"",
                     k + 1, w, k);
    size_t pad = (size_t)((w * 131 + k * 977) % 1400);
    uint32_t x = (uint32_t)(w * 7919 + k * 104729 + 1); /* text that compresses little */
    for (size_t i = 0; i < pad; i++) {
        x = x * 1103515245u + 12345u;
        buf[n++] = (char)('a' + (x >> 16) % 26);
    }
    n += snprintf(buf + n, cap - (size_t)n, "\"}}");
    return (size_t)n;
}

typedef struct writer_arg {
    shared *s;
    int w;
} writer_arg;

static void bump_acked(shared *s, uint64_t lsn)
{
    uint64_t cur = atomic_load(&s->acked);
    while (lsn > cur && !atomic_compare_exchange_weak(&s->acked, &cur, lsn)) {
    }
}

static void *writer(void *arg)
{
    writer_arg *a = arg;
    shared *s = a->s;
    char buf[2048];
    for (int k = 0; k < PER_WRITER && !atomic_load(&s->failed); k++) {
        size_t len = make_line(buf, sizeof(buf), a->w, k);
        uint64_t lsn = 0;
        int rc = gs_ingest_line(s->st, buf, len, NULL, &lsn);
        if (rc != GS_OK) {
            set_failed(s, "writer %d line %d: %s", a->w, k, gs_errname(rc));
            break;
        }
        bump_acked(s, s->durability == GS_DURABILITY_SYNC ? lsn : gs_store_durable_lsn(s->st));
    }
    atomic_fetch_add(&s->writers_done, 1);
    return NULL;
}

/* Check one record; next_k[w] is the next line expected from writer w. */
static int check_record(shared *s, const gs_record *r, uint64_t want_lsn, int *next_k)
{
    int w, k;
    if (r->lsn != want_lsn) {
        set_failed(s, "LSN %llu where %llu was expected", (unsigned long long)r->lsn,
                   (unsigned long long)want_lsn);
        return -1;
    }
    char head[128];
    size_t hl = r->raw_len < sizeof(head) - 1 ? r->raw_len : sizeof(head) - 1;
    memcpy(head, r->raw, hl);
    head[hl] = '\0';
    if (sscanf(head, "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":%*d,\"d\":{\"w\":%d,\"k\":%d", &w,
               &k) != 2 ||
        w < 0 || w >= WRITERS || k < 0 || k >= PER_WRITER) {
        set_failed(s, "LSN %llu: unexpected bytes", (unsigned long long)r->lsn);
        return -1;
    }
    char buf[2048];
    size_t len = make_line(buf, sizeof(buf), w, k);
    if (len != r->raw_len || memcmp(buf, r->raw, len) != 0) {
        set_failed(s, "LSN %llu: bytes differ from writer %d line %d", (unsigned long long)r->lsn,
                   w, k);
        return -1;
    }
    if (k != next_k[w]) {
        set_failed(s, "LSN %llu: writer %d line %d out of order (expected %d)",
                   (unsigned long long)r->lsn, w, k, next_k[w]);
        return -1;
    }
    next_k[w]++;
    return 0;
}

/* Whole-log passes until the writers are done and a pass saw everything. */
static void *reader_passes(void *arg)
{
    shared *s = arg;
    for (;;) {
        int done = atomic_load(&s->writers_done) == WRITERS;
        uint64_t acked = atomic_load(&s->acked);
        gs_log_iter *it;
        int rc = gs_log_iter_open(s->st, NULL, &it);
        if (rc != GS_OK) {
            set_failed(s, "iterator open: %s", gs_errname(rc));
            return NULL;
        }
        int next_k[WRITERS] = {0};
        uint64_t lsn = 0;
        gs_record r;
        while ((rc = gs_log_iter_next(it, &r)) == 1)
            if (check_record(s, &r, ++lsn, next_k) != 0)
                break;
        gs_log_iter_close(it);
        if (rc < 0)
            set_failed(s, "pass: %s", gs_errname(rc));
        if (atomic_load(&s->failed))
            return NULL;
        if (lsn < acked) {
            set_failed(s, "a pass read %llu records, %llu were acknowledged before it",
                       (unsigned long long)lsn, (unsigned long long)acked);
            return NULL;
        }
        s->passes++;
        if (done && lsn == TOTAL)
            return NULL;
        if (done && lsn > TOTAL) {
            set_failed(s, "%llu records", (unsigned long long)lsn);
            return NULL;
        }
    }
}

/* One iterator, following the head until every record was read. */
static void *reader_follow(void *arg)
{
    shared *s = arg;
    gs_log_iter *it;
    int rc = gs_log_iter_open(s->st, NULL, &it);
    if (rc != GS_OK) {
        set_failed(s, "follow open: %s", gs_errname(rc));
        return NULL;
    }
    int next_k[WRITERS] = {0};
    uint64_t lsn = 0;
    while (lsn < TOTAL && !atomic_load(&s->failed)) {
        gs_record r;
        rc = gs_log_iter_next(it, &r);
        if (rc == 1) {
            if (check_record(s, &r, ++lsn, next_k) != 0)
                break;
            continue;
        }
        if (rc < 0) {
            set_failed(s, "follow: %s: %s", gs_errname(rc), gs_log_iter_errmsg(it));
            break;
        }
        /* At the end of what is written: once the writers are done, make
         * the rest visible (BATCH keeps a pending block in memory). */
        if (atomic_load(&s->writers_done) == WRITERS)
            gs_store_sync(s->st);
        else
            usleep(200);
    }
    s->follow_reads = lsn;
    gs_log_iter_close(it);
    return NULL;
}

static void run(int durability)
{
    char *dir = lt_tmpdir("conc");
    char *path = lt_path(dir, "st");
    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    gs_options_set_create(o, 1);
    gs_options_set_durability(o, (gs_durability)durability);
    gs_options_set_batch(o, 1, 64 << 10);
    gs_options_set_block_bytes(o, 4 << 10);
    o->segment_bytes = 16 << 10; /* below the public minimum: rolls under the readers */
    shared s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.why_mu, NULL);
    s.durability = durability;
    assert_int_equal(gs_store_open(path, o, &s.st), GS_OK);
    gs_options_destroy(o);

    pthread_t wt[WRITERS], rp, rf;
    writer_arg wa[WRITERS];
    assert_int_equal(pthread_create(&rp, NULL, reader_passes, &s), 0);
    assert_int_equal(pthread_create(&rf, NULL, reader_follow, &s), 0);
    for (int w = 0; w < WRITERS; w++) {
        wa[w] = (writer_arg){&s, w};
        assert_int_equal(pthread_create(&wt[w], NULL, writer, &wa[w]), 0);
    }
    for (int w = 0; w < WRITERS; w++)
        pthread_join(wt[w], NULL);
    pthread_join(rp, NULL);
    pthread_join(rf, NULL);
    if (atomic_load(&s.failed))
        fail_msg("%s", s.why);
    assert_int_equal(s.follow_reads, TOTAL);
    assert_true(s.passes >= 1);
    assert_int_equal(gs_store_head_lsn(s.st), TOTAL);
    gs_verify_summary vs;
    assert_int_equal(gs_log_verify(s.st, NULL, NULL, &vs), GS_OK);
    assert_int_equal(vs.records_ok, TOTAL);
    assert_true(vs.segments > 3);
    print_message("%s: %d records by %d writers; %llu whole-log passes and a follower read "
                  "them beside the writers; %llu segments\n",
                  durability == GS_DURABILITY_SYNC ? "sync" : "batch", TOTAL, WRITERS,
                  (unsigned long long)s.passes, (unsigned long long)vs.segments);
    assert_int_equal(gs_store_close(s.st), GS_OK);
    pthread_mutex_destroy(&s.why_mu);
    lt_rmrf(dir);
    free(path);
    free(dir);
}

static void test_concurrency_sync(void **state)
{
    GS_UNUSED(state);
    run(GS_DURABILITY_SYNC);
}

static void test_concurrency_batch(void **state)
{
    GS_UNUSED(state);
    run(GS_DURABILITY_BATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_sync),
        cmocka_unit_test(test_concurrency_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
