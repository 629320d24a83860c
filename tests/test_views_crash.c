/*
 * test_views_crash.c - crash consistency of the views: a child process
 * applies an endless deterministic stream in small batches and is killed
 * with SIGKILL at a random moment, 100 times (GS_CRASH_ITERS to change).
 * After each kill the views are reopened and must equal a reference built
 * from the same stream up to the reopened watermark (so the watermark is
 * never ahead of or behind the entities on disk), and the next child
 * catches up from there. Write buffers are tiny so that flushes, and kills
 * during flushes, are frequent.
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

#include "support_views.h"

static const gs_views_tuning TINY = {.cache_bytes = 1u << 20,
                                     .big_write_buffer_bytes = 64u << 10,
                                     .small_write_buffer_bytes = 64u << 10,
                                     .db_write_buffer_bytes = 128u << 10};

static void child(const char *dir, int ready_fd)
{
    gs_views *v;
    if (gs_views_open_tuned(dir, NULL, &TINY, &v, NULL) != GS_OK)
        _exit(3);
    /* Tell the parent the database is open: kills should land while
     * records are applied and flushed, not during the open. */
    if (write(ready_fd, "r", 1) != 1)
        _exit(6);
    uint64_t l = gs_views_watermark(v) + 1;
    for (;; l += 16) {
        if (gs_tv_apply_stream(v, l, l + 15, 16) != GS_OK)
            _exit(4);
        /* One byte per batch: the parent kills after a random number. */
        if (write(ready_fd, "b", 1) != 1)
            _exit(6);
    }
}

static void test_kill_and_reopen(void **state)
{
    (void)state;
    /* 100 kills; fewer under sanitizers, which make RocksDB's own
     * allocations several times slower (GS_CRASH_ITERS overrides). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    int iters = 25;
#else
    int iters = 100;
#endif
    const char *env = getenv("GS_CRASH_ITERS");
    if (env && atoi(env) > 0)
        iters = atoi(env);
    /* A killed process leaves its written pages in the page cache, so this
     * test does not depend on fsync: run it on tmpfs when there is one,
     * where RocksDB's many fsyncs of tiny flushes cost nothing. */
    struct stat sb;
    if (!getenv("TMPDIR") && stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode))
        setenv("TMPDIR", "/dev/shm", 1);
    char dir[256], ref_dir[256];
    gs_tv_tmpdir(dir, sizeof(dir));
    gs_tv_tmpdir(ref_dir, sizeof(ref_dir));
    gs_views *ref;
    assert_int_equal(gs_views_open(ref_dir, NULL, &ref, NULL), GS_OK);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    uint64_t prev = 0;
    int advanced = 0, killed = 0;
    for (int i = 0; i < iters; i++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* A fresh process image: RocksDB's background threads do not
             * survive fork(), so the child must not inherit the parent's. */
            char fd[16];
            snprintf(fd, sizeof(fd), "%d", fds[1]);
            close(fds[0]);
            execl("/proc/self/exe", "test_views_crash", "--child", dir, fd, (char *)NULL);
            _exit(5);
        }
        close(fds[1]);
        /* Wait for the open and a random number of batches (0..60), then
         * kill: the child is somewhere in the batches that follow. */
        int batches = rand() % 61;
        for (int k = 0; k <= batches; k++) {
            char c;
            if (read(fds[0], &c, 1) != 1)
                fail_msg("child stopped early");
        }
        usleep((useconds_t)(rand() % 2000));
        if (kill(pid, SIGKILL) == 0)
            killed++;
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(fds[0]);
        if (WIFEXITED(status))
            fail_msg("child exited with %d", WEXITSTATUS(status));

        gs_views *v;
        gs_err err;
        assert_int_equal(gs_views_open_tuned(dir, NULL, &TINY, &v, &err), GS_OK);
        if (gs_views_wiped_reason(v))
            fail_msg("views wiped after a kill: %s", gs_views_wiped_reason(v));
        uint64_t wm = gs_views_watermark(v);
        assert_true(wm >= prev); /* reopening flushed what the last one saw */
        advanced += wm > prev;
        assert_int_equal(gs_tv_apply_stream(ref, prev + 1, wm, 37), GS_OK);
        assert_int_equal(gs_views_watermark(ref), wm);
        char *got = gs_tv_dump(v);
        char *want = gs_tv_dump(ref);
        if (strcmp(got, want) != 0)
            fail_msg("iteration %d: views at watermark %llu differ from the reference", i,
                     (unsigned long long)wm);
        free(got);
        free(want);
        prev = wm;
        assert_int_equal(gs_views_close(v, NULL), GS_OK);
    }
    /* Enough kills must have landed after some progress was flushed. */
    fprintf(stderr, "crash test: %d kills, watermark advanced %d times, final %llu\n", killed,
            advanced, (unsigned long long)prev);
    assert_int_equal(killed, iters);
    assert_true(advanced >= iters / 5);
    gs_views_close(ref, NULL);
    gs_tv_rmtree(dir);
    gs_tv_rmtree(ref_dir);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        child(argv[2], atoi(argv[3]));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
