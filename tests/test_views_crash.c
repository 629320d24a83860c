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

#define GUILDS 6

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The frame of LSN lsn (a pure function of lsn). Ids come from small pools
 * so that updates and deletes hit existing entities and the state stays
 * small however long the stream. */
static size_t frame(uint64_t lsn, char *buf, size_t cap, const char **event)
{
    uint64_t h = mix(lsn);
    unsigned g = 1000 + (unsigned)(h % GUILDS);
    unsigned a = (unsigned)((h >> 8) % 40), b = (unsigned)((h >> 16) % 40);
    int n;
    if (lsn == 1) {
        *event = "READY";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"READY\",\"s\":1,\"d\":{\"user\":{\"id\":\"1\","
                     "\"username\":\"bot\"},\"guilds\":[{\"id\":\"1000\"},{\"id\":\"1001\"}]}}");
        return (size_t)n;
    }
    switch ((h >> 32) % 16) {
    case 0:
        *event = "GUILD_CREATE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"%u\",\"name\":\"g%llu\","
                     "\"channels\":[{\"id\":\"%u01\",\"name\":\"general\",\"type\":0},"
                     "{\"id\":\"%u02\",\"name\":\"c%u\",\"type\":2}],\"roles\":[{\"id\":\"%u\","
                     "\"name\":\"@everyone\"},{\"id\":\"%u5%u\",\"name\":\"r\"}],\"members\":"
                     "[{\"user\":{\"id\":\"%u\",\"username\":\"u%u\"},\"roles\":[\"%u5%u\"]}],"
                     "\"voice_states\":[{\"user_id\":\"%u\",\"channel_id\":\"%u02\"}]}}",
                     g, (unsigned long long)lsn, g, g, a, g, g, a % 4, 50 + a, a, g, a % 4, 50 + b,
                     g);
        break;
    case 1:
        *event = "GUILD_DELETE";
        n = snprintf(buf, cap, "{\"op\":0,\"t\":\"GUILD_DELETE\",\"d\":{\"id\":\"%u\"%s}}", g,
                     a % 3 ? ",\"unavailable\":true" : "");
        break;
    case 2:
    case 3:
        *event = "CHANNEL_CREATE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"CHANNEL_CREATE\",\"d\":{\"id\":\"%u%02u\",\"guild_id\":"
                     "\"%u\",\"name\":\"c%llu\",\"type\":%u}}",
                     g, a, g, (unsigned long long)lsn, b % 3 == 0 ? 2 : 0);
        break;
    case 4:
        *event = "CHANNEL_DELETE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"CHANNEL_DELETE\",\"d\":{\"id\":\"%u%02u\",\"guild_id\":"
                     "\"%u\",\"type\":0}}",
                     g, a, g);
        break;
    case 5:
        *event = "THREAD_CREATE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"THREAD_CREATE\",\"d\":{\"id\":\"%u9%02u\",\"guild_id\":"
                     "\"%u\",\"parent_id\":\"%u%02u\",\"type\":11,\"name\":\"t%llu\"}}",
                     g, a, g, g, b, (unsigned long long)lsn);
        break;
    case 6:
        *event = "GUILD_ROLE_CREATE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"GUILD_ROLE_CREATE\",\"d\":{\"guild_id\":\"%u\",\"role\":"
                     "{\"id\":\"%u5%u\",\"name\":\"r%llu\"}}}",
                     g, g, a % 4, (unsigned long long)lsn);
        break;
    case 7:
        *event = "GUILD_ROLE_DELETE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"GUILD_ROLE_DELETE\",\"d\":{\"guild_id\":\"%u\","
                     "\"role_id\":\"%u5%u\"}}",
                     g, g, a % 4);
        break;
    case 8:
    case 9:
    case 10:
        *event = "GUILD_MEMBER_UPDATE";
        if (b % 2)
            n = snprintf(buf, cap,
                         "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"d\":{\"guild_id\":\"%u\","
                         "\"user\":{\"id\":\"%u\",\"username\":\"u%llu\"},\"roles\":[\"%u5%u\","
                         "\"%u5%u\"],\"nick\":\"n%u\"}}",
                         g, 50 + a, (unsigned long long)lsn, g, b % 4, g, (b + 1) % 4, b);
        else
            n = snprintf(buf, cap,
                         "{\"op\":0,\"t\":\"GUILD_MEMBER_UPDATE\",\"d\":{\"guild_id\":\"%u\","
                         "\"user\":{\"id\":\"%u\"},\"roles\":[]}}",
                         g, 50 + a);
        break;
    case 11:
        *event = "GUILD_MEMBER_REMOVE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"%u\","
                     "\"user\":{\"id\":\"%u\"}}}",
                     g, 50 + a);
        break;
    case 12:
        *event = "PRESENCE_UPDATE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"PRESENCE_UPDATE\",\"d\":{\"guild_id\":\"%u\",\"user\":"
                     "{\"id\":\"%u\"},\"status\":\"%s\"}}",
                     g, 50 + a, b % 2 ? "online" : "idle");
        break;
    case 13:
        *event = "VOICE_STATE_UPDATE";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"VOICE_STATE_UPDATE\",\"d\":{\"guild_id\":\"%u\","
                     "\"user_id\":\"%u\",\"channel_id\":%s}}",
                     g, 50 + a, b % 3 ? "\"1\"" : "null");
        break;
    case 14:
        /* A bad payload: counted as a failure, must be consistent too. */
        *event = "CHANNEL_UPDATE";
        n = snprintf(buf, cap, "{\"op\":0,\"t\":\"CHANNEL_UPDATE\",\"d\":{\"guild_id\":\"%u\"}}",
                     g);
        break;
    default:
        *event = "TYPING_START";
        n = snprintf(buf, cap,
                     "{\"op\":0,\"t\":\"TYPING_START\",\"d\":{\"guild_id\":\"%u\",\"channel_id\":"
                     "\"%u01\",\"user_id\":\"%u\",\"member\":{\"user\":{\"id\":\"%u\"},\"roles\":"
                     "[]}}}",
                     g, g, 50 + a, 50 + a);
        break;
    }
    return (size_t)n;
}

/* Apply lsn from..to (inclusive) in batches of batch. */
static int apply_range(gs_views *v, uint64_t from, uint64_t to, size_t batch)
{
    enum { MAXB = 64 };
    static char bufs[MAXB][1024];
    gs_log_rec recs[MAXB];
    if (batch > MAXB)
        batch = MAXB;
    for (uint64_t l = from; l <= to;) {
        size_t n = 0;
        for (; n < batch && l <= to; n++, l++) {
            memset(&recs[n], 0, sizeof(recs[n]));
            recs[n].lsn = l;
            recs[n].raw = bufs[n];
            recs[n].raw_len = frame(l, bufs[n], sizeof(bufs[n]), &recs[n].event);
            recs[n].event_len = strlen(recs[n].event);
        }
        gs_err err;
        int rc = gs_views_apply(v, recs, n, &err);
        if (rc != GS_OK) {
            fprintf(stderr, "apply: %s\n", err.msg);
            return rc;
        }
    }
    return GS_OK;
}

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
        if (apply_range(v, l, l + 15, 16) != GS_OK)
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
        assert_int_equal(apply_range(ref, prev + 1, wm, 37), GS_OK);
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
