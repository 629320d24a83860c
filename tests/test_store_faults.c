/* test_store_faults.c - fault injection at every I/O call of a small
 * store workload, through the public ingest API.
 *
 * The workload: open a store whose newest segment ends in a torn tail (so
 * the open recovers: quarantine, truncate), ingest lines in SYNC mode with
 * tiny segments (so ingest rolls: index, create, rename, directory fsync),
 * close. For each kind of call and each N, the Nth call of that kind fails
 * (EIO, ENOSPC, or a short write then ENOSPC). The failure must surface as
 * exactly that code with a message naming a path in the store, from
 * gs_store_open or gs_ingest_line; after a failed ingest the next one is
 * GS_EFAILED. A reopen with the real I/O then finds every acknowledged line
 * byte-exact at its LSN, a log that verifies, and appends that go on at the
 * next LSN. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_priv.h"
#include "support_fault_io.h"
#include "support_logtest.h"

#define NPRE   6  /* lines in the store before the workload */
#define NWORK  12 /* lines the workload ingests */
#define NLINES (NPRE + NWORK + 1)

static char *lines[NLINES];
static size_t line_len[NLINES];
static char *base_dir; /* the prepared store (with a torn tail) */

static gs_options *make_opts(int create)
{
    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    gs_options_set_create(o, create);
    gs_options_set_durability(o, GS_DURABILITY_SYNC);
    gs_options_set_block_bytes(o, 1024);
    o->segment_bytes = 4096; /* below the public minimum: a roll every few lines */
    /* The log alone: the views' applier thread reads the log concurrently,
     * which would make the number of reads vary between runs and the Nth
     * call not the same call. Views under crashes: tests/t_crash_views.sh. */
    gs_options_set_views(o, 0);
    return o;
}

static void copy_tree(const char *src, const char *dst)
{
    mkdir(dst, 0755);
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *s = lt_path(src, e->d_name), *t = lt_path(dst, e->d_name);
        struct stat sb;
        assert_int_equal(stat(s, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            copy_tree(s, t);
        } else {
            size_t len;
            unsigned char *buf = lt_read_file(s, &len);
            lt_write_file(t, buf, len);
            free(buf);
        }
        free(s);
        free(t);
    }
    closedir(d);
}

static int setup(void **state)
{
    GS_UNUSED(state);
    for (int i = 0; i < NLINES; i++) {
        size_t cap = 4096;
        lines[i] = malloc(cap);
        int n = snprintf(lines[i], cap,
                         "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":%d,\"d\":{\"id\":\"%d\","
                         "\"content\":\"",
                         i + 1, 1000 + i);
        /* 200..1900 bytes of varied text, so blocks differ in size */
        size_t body = 200 + (size_t)(i * 397) % 1700;
        uint32_t x = 2463534242u + (uint32_t)i; /* xorshift: text that compresses little */
        for (size_t k = 0; k < body; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            lines[i][n++] = "abcdefghijklmnopqrstuvwxyz 0123456789"[x % 37];
        }
        n += snprintf(lines[i] + n, cap - (size_t)n, "\"}}");
        line_len[i] = (size_t)n;
    }
    base_dir = lt_tmpdir("sf-base");
    char *path = lt_path(base_dir, "st");
    gs_options *o = make_opts(1);
    gs_store *st;
    assert_int_equal(gs_store_open(path, o, &st), GS_OK);
    gs_options_destroy(o);
    for (int i = 0; i < NPRE; i++)
        assert_int_equal(gs_ingest_line(st, lines[i], line_len[i], NULL, NULL), GS_OK);
    assert_int_equal(gs_store_close(st), GS_OK);
    /* A torn tail: the start of a block header at the end of the newest
     * segment, as a crash mid-write leaves it. */
    char *log = lt_path(path, "log");
    char **names;
    size_t nseg = lt_segments(log, &names);
    assert_true(nseg >= 2);
    char *seg = lt_path(log, names[nseg - 1]);
    FILE *f = fopen(seg, "ab");
    assert_non_null(f);
    static const unsigned char torn[20] = {0xF5, 0x1C, 0xC3, 0x8A, 1, 0, 0, 0, 200};
    assert_int_equal(fwrite(torn, 1, sizeof(torn), f), sizeof(torn));
    fclose(f);
    free(seg);
    lt_free_names(names, nseg);
    free(log);
    free(path);
    return 0;
}

static int teardown(void **state)
{
    GS_UNUSED(state);
    for (int i = 0; i < NLINES; i++)
        free(lines[i]);
    lt_rmrf(base_dir);
    free(base_dir);
    return 0;
}

typedef struct outcome {
    int open_rc;
    int fail_rc; /* first failure (open or ingest), 0 = none */
    char msg[GS_ERRMSG_MAX];
    uint64_t acked; /* highest LSN acknowledged */
    uint64_t tried; /* highest LSN an ingest was attempted for */
} outcome;

static outcome run(const char *path, fault_io *f)
{
    outcome out = {0};
    gs_options *o = make_opts(0);
    gs_store *st = NULL;
    out.open_rc = gs_store_open_io(path, o, &f->io, &st);
    gs_options_destroy(o);
    out.acked = out.tried = NPRE; /* the torn tail holds no record */
    if (out.open_rc) {
        out.fail_rc = out.open_rc;
        snprintf(out.msg, sizeof(out.msg), "%s", gs_open_errmsg());
        return out;
    }
    for (int i = NPRE; i < NPRE + NWORK; i++) {
        uint64_t lsn = 0;
        out.tried = (uint64_t)i + 1;
        int rc = gs_ingest_line(st, lines[i], line_len[i], NULL, &lsn);
        if (rc) {
            out.fail_rc = rc;
            snprintf(out.msg, sizeof(out.msg), "%s", gs_store_errmsg(st));
            /* Everything after a failure is refused until reopened. */
            int rc2 = gs_ingest_line(st, lines[i], line_len[i], NULL, &lsn);
            if (rc2 != GS_EFAILED)
                fail_msg("after %s (%s): %s (%s)", gs_errname(rc), out.msg, gs_errname(rc2),
                         gs_store_errmsg(st));
            assert_non_null(strstr(gs_store_errmsg(st), "reopen"));
            break;
        }
        assert_int_equal(lsn, (uint64_t)i + 1);
        out.acked = lsn;
    }
    int rc = gs_store_close(st);
    if (out.fail_rc)
        assert_true(rc == GS_OK || rc == GS_EFAILED);
    else if (rc) {
        out.fail_rc = rc;
        snprintf(out.msg, sizeof(out.msg), "%s", gs_open_errmsg());
    }
    return out;
}

/* Reopen with the real I/O and check everything. */
static void check_after(const char *path, const outcome *out)
{
    gs_options *o = make_opts(0);
    gs_store *st;
    int rc = gs_store_open(path, o, &st);
    gs_options_destroy(o);
    if (rc)
        fail_msg("reopen: %s: %s", gs_errname(rc), gs_open_errmsg());
    uint64_t head = gs_store_head_lsn(st);
    assert_true(head >= out->acked);
    assert_true(head <= out->tried);
    gs_log_iter *it;
    assert_int_equal(gs_log_iter_open(st, NULL, &it), GS_OK);
    gs_record r;
    uint64_t next = 1;
    while ((rc = gs_log_iter_next(it, &r)) == 1) {
        assert_int_equal(r.lsn, next);
        assert_int_equal(r.raw_len, line_len[next - 1]);
        assert_memory_equal(r.raw, lines[next - 1], r.raw_len);
        next++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, head + 1);
    gs_log_iter_close(it);
    gs_verify_summary vs;
    rc = gs_log_verify(st, NULL, NULL, &vs);
    if (rc)
        fail_msg("verify: %s", gs_store_errmsg(st));
    assert_int_equal(vs.records_ok, head);
    uint64_t lsn = 0;
    assert_int_equal(gs_ingest_line(st, lines[head], line_len[head], NULL, &lsn), GS_OK);
    assert_int_equal(lsn, head + 1);
    assert_int_equal(gs_store_close(st), GS_OK);
}

typedef struct scen {
    fio_kind kind;
    int err;
    int short_write;
} scen;

static const scen scens[] = {
    {FIO_PWRITE, EIO, 0},    {FIO_PWRITE, ENOSPC, 0}, {FIO_PWRITE, ENOSPC, 1},
    {FIO_PWRITE, EIO, 1},    {FIO_FSYNC, EIO, 0},     {FIO_FSYNC, ENOSPC, 0},
    {FIO_FSYNC_DIR, EIO, 0}, {FIO_OPEN, EIO, 0},      {FIO_OPEN, ENOSPC, 0},
    {FIO_RENAME, EIO, 0},    {FIO_RENAME, ENOSPC, 0}, {FIO_FTRUNCATE, EIO, 0},
    {FIO_MKDIR, ENOSPC, 0},  {FIO_PREAD, EIO, 0},     {FIO_FSIZE, EIO, 0},
    {FIO_LIST, EIO, 0},
};

static void test_every_call(void **state)
{
    GS_UNUSED(state);
    /* Count each kind of call in a clean run. */
    char *dir = lt_tmpdir("sf0");
    char *path = lt_path(dir, "st");
    char *src0 = lt_path(base_dir, "st");
    copy_tree(src0, path);
    free(src0);
    fault_io f;
    fault_io_init(&f, NULL);
    outcome clean = run(path, &f);
    assert_int_equal(clean.fail_rc, 0);
    assert_int_equal(clean.acked, NPRE + NWORK);
    uint64_t counts[FIO_NKINDS];
    for (int k = 0; k < FIO_NKINDS; k++)
        counts[k] = fault_io_count(&f, (fio_kind)k);
    fault_io_destroy(&f);
    /* The workload reaches every path: recovery, rolls, quarantine. */
    assert_true(counts[FIO_PWRITE] > NWORK);
    assert_true(counts[FIO_FSYNC] >= NWORK);
    assert_true(counts[FIO_RENAME] >= 2);
    assert_true(counts[FIO_FSYNC_DIR] >= 3);
    assert_int_equal(counts[FIO_FTRUNCATE], 1);
    assert_int_equal(counts[FIO_MKDIR], 2); /* log/ (exists) and quarantine/ */
    print_message("clean run: %llu pwrite, %llu fsync, %llu fsync_dir, %llu open, %llu rename, "
                  "%llu ftruncate, %llu mkdir, %llu pread, %llu fsize, %llu list\n",
                  (unsigned long long)counts[FIO_PWRITE], (unsigned long long)counts[FIO_FSYNC],
                  (unsigned long long)counts[FIO_FSYNC_DIR], (unsigned long long)counts[FIO_OPEN],
                  (unsigned long long)counts[FIO_RENAME], (unsigned long long)counts[FIO_FTRUNCATE],
                  (unsigned long long)counts[FIO_MKDIR], (unsigned long long)counts[FIO_PREAD],
                  (unsigned long long)counts[FIO_FSIZE], (unsigned long long)counts[FIO_LIST]);
    check_after(path, &clean);
    lt_rmrf(dir);
    free(path);
    free(dir);

    size_t runs = 0;
    for (size_t s = 0; s < GS_ARRAY_LEN(scens); s++) {
        const scen *sc = &scens[s];
        int want = sc->err == EIO ? GS_EIO : GS_ENOSPC;
        for (uint64_t n = 1; n <= counts[sc->kind]; n++) {
            dir = lt_tmpdir("sf");
            path = lt_path(dir, "st");
            char *src = lt_path(base_dir, "st");
            copy_tree(src, path);
            free(src);
            fault_io_init(&f, NULL);
            if (sc->short_write)
                fault_io_short_write(&f, n, sc->err);
            else
                fault_io_fail(&f, sc->kind, n, sc->err, 0);
            outcome out = run(path, &f);
            assert_true(f.fired > 0);
            if (out.fail_rc != want)
                fail_msg("%s #%llu (%s%s): got %s (%s), want %s", fault_io_kind_name(sc->kind),
                         (unsigned long long)n, strerror(sc->err), sc->short_write ? ", short" : "",
                         gs_errname(out.fail_rc), out.msg, gs_errname(want));
            if (!strstr(out.msg, path))
                fail_msg("%s #%llu: message does not name a path in the store: %s",
                         fault_io_kind_name(sc->kind), (unsigned long long)n, out.msg);
            fault_io_destroy(&f);
            check_after(path, &out);
            lt_rmrf(dir);
            free(path);
            free(dir);
            runs++;
        }
    }
    print_message("%zu injected faults, each reported and recovered\n", runs);
    assert_true(runs > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_call),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
