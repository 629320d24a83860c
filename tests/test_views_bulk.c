/*
 * test_views_bulk.c - a catch-up of a whole log into empty views (rebuild,
 * wipe, first open; replay.c). It must give exactly the views of an
 * incremental apply, and a SIGKILL in the middle of it must leave views
 * that reopen at a batch boundary, equal to the reference there, and catch
 * up to the same result. (Written for a pipelined bulk load that was
 * measured and dropped; it now guards the stages that apply.c writes on
 * its committer thread.)
 */
#include "gs_common.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "support_views.h"

/* Several replay batches (replay.c: 1024 records). */
#define NRECS 6000
/* What a catch-up commits at once: replay.c's batches of 1024 records go
 * to RocksDB in stages of 256 (apply.c, STAGE_RECORDS; these records are
 * far below its byte bound), so a killed one reopens at a multiple of it
 * (or at the end). */
#define REPLAY_BATCH 256

/* Small write buffers: many flushes (and level-0 files) during the load. */
static const gs_views_tuning TINY = {.cache_bytes = 1u << 20,
                                     .big_write_buffer_bytes = 64u << 10,
                                     .small_write_buffer_bytes = 64u << 10,
                                     .db_write_buffer_bytes = 128u << 10};

static char *reference_dump(const char *dir, uint64_t upto)
{
    gs_views *ref;
    assert_int_equal(gs_views_open(dir, NULL, &ref, NULL), GS_OK);
    assert_int_equal(gs_views_wipe(ref, NULL), GS_OK);
    assert_int_equal(gs_tv_apply_stream(ref, 1, upto, 37), GS_OK);
    char *d = gs_tv_dump(ref);
    gs_views_close(ref, NULL);
    return d;
}

static void test_bulk_equals_incremental(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    const char *dir = D.root, *logdir = D.log, *vdir = D.views, *rdir = D.ref;
    gs_tv_log_stream(logdir, NRECS);
    char *want = reference_dump(rdir, NRECS);

    gs_views *v;
    gs_err err;
    uint64_t n = 0;
    assert_int_equal(gs_views_open_tuned(vdir, NULL, &TINY, &v, &err), GS_OK);
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, NRECS);
    assert_int_equal(gs_views_watermark(v), NRECS);
    char *got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    /* A rebuild (wipe + catch-up) gives the same again, and later
     * incremental applies go on from it. */
    assert_int_equal(gs_views_wipe(v, &err), GS_OK);
    assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
    assert_int_equal(n, NRECS);
    got = gs_tv_dump(v);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(gs_tv_apply_stream(v, NRECS + 1, NRECS + 200, 16), GS_OK);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    assert_int_equal(gs_views_open_tuned(vdir, NULL, &TINY, &v, &err), GS_OK);
    assert_int_equal(gs_views_watermark(v), NRECS + 200);
    got = gs_tv_dump(v);
    free(want);
    want = reference_dump(rdir, NRECS + 200);
    assert_string_equal(got, want);
    free(got);
    free(want);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

/* The child: wipe, say so, replay the whole log. */
static void child(const char *vdir, const char *logdir, int ready_fd)
{
    gs_views *v;
    if (gs_views_open_tuned(vdir, NULL, &TINY, &v, NULL) != GS_OK)
        _exit(3);
    if (gs_views_wipe(v, NULL) != GS_OK)
        _exit(4);
    if (write(ready_fd, "r", 1) != 1)
        _exit(6);
    uint64_t n;
    gs_err err;
    if (gs_views_catch_up(v, logdir, NULL, 0, &n, &err) != GS_OK)
        _exit(4);
    gs_views_close(v, NULL);
    _exit(0);
}

static void test_kill_during_bulk(void **state)
{
    (void)state;
    gs_tv_dirs D;
    gs_tv_dirs_make(&D);
    const char *dir = D.root, *logdir = D.log, *vdir = D.views, *rdir = D.ref;
    gs_tv_log_stream(logdir, NRECS);
    /* Reference dumps at every batch boundary, from one incremental pass. */
    enum { NREF = NRECS / REPLAY_BATCH + 2 };
    char *refs[NREF];
    uint64_t at[NREF];
    gs_views *ref;
    assert_int_equal(gs_views_open(rdir, NULL, &ref, NULL), GS_OK);
    size_t nref = 0;
    for (uint64_t l = 0;; l += REPLAY_BATCH) {
        uint64_t upto = l < NRECS ? l : NRECS;
        if (upto > 0)
            assert_int_equal(gs_tv_apply_stream(ref, at[nref - 1] + 1, upto, 37), GS_OK);
        at[nref] = upto;
        refs[nref++] = gs_tv_dump(ref);
        if (upto == NRECS)
            break;
    }
    gs_views_close(ref, NULL);
    char *full = refs[nref - 1];
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    /* Round 0 runs to the end and times the load; later rounds are killed
     * at a random moment within that time. */
    long full_us = 0;
    int killed = 0;
    for (int i = 0; i < 5; i++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* A fresh process image: RocksDB's threads do not survive fork. */
            char fd[16];
            snprintf(fd, sizeof(fd), "%d", fds[1]);
            close(fds[0]);
            execl("/proc/self/exe", "test_views_bulk", "--child", vdir, logdir, fd, (char *)NULL);
            _exit(5);
        }
        close(fds[1]);
        char c;
        if (read(fds[0], &c, 1) != 1)
            fail_msg("child stopped early");
        uint64_t t0 = gs_mono_ns();
        int status;
        if (i > 0) {
            usleep((useconds_t)(rand() % (full_us + 1)));
            if (kill(pid, SIGKILL) == 0)
                killed++;
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (i == 0) {
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            full_us = (long)((gs_mono_ns() - t0) / 1000);
        }
        close(fds[0]);

        gs_views *v;
        gs_err err;
        assert_int_equal(gs_views_open_tuned(vdir, NULL, &TINY, &v, &err), GS_OK);
        if (gs_views_wiped_reason(v))
            fail_msg("views wiped after a kill: %s", gs_views_wiped_reason(v));
        uint64_t wm = gs_views_watermark(v);
        assert_true(wm <= NRECS);
        if (i == 0)
            assert_int_equal(wm, NRECS);
        fprintf(stderr, "round %d: reopened at watermark %llu (load %ld us)\n", i,
                (unsigned long long)wm, full_us);
        size_t k = 0;
        while (k < nref && at[k] != wm)
            k++;
        if (k == nref)
            fail_msg("round %d: watermark %llu is not at a batch boundary", i,
                     (unsigned long long)wm);
        char *got = gs_tv_dump(v);
        if (strcmp(got, refs[k]) != 0)
            fail_msg("round %d: views at watermark %llu differ from the reference", i,
                     (unsigned long long)wm);
        free(got);
        /* And the catch-up from there (a bulk load again if wm is 0). */
        uint64_t n;
        assert_int_equal(gs_views_catch_up(v, logdir, NULL, 0, &n, &err), GS_OK);
        assert_int_equal(n, NRECS - wm);
        got = gs_tv_dump(v);
        assert_string_equal(got, full);
        free(got);
        assert_int_equal(gs_views_close(v, NULL), GS_OK);
    }
    assert_true(killed >= 1);
    for (size_t k = 0; k < nref; k++)
        free(refs[k]);
    gs_tv_rmtree(dir);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--child") == 0)
        child(argv[2], argv[3], atoi(argv[4]));
    /* As test_views_crash: kills do not depend on fsync, so use tmpfs when
     * there is one (RocksDB's fsyncs of tiny flushes then cost nothing). */
    struct stat sb;
    if (!getenv("TMPDIR") && stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode))
        setenv("TMPDIR", "/dev/shm", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_equals_incremental),
        cmocka_unit_test(test_kill_during_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
