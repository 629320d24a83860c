/*
 * test_subs_durable.c - a durable consumer killed mid-stream resumes at the
 * next unacknowledged LSN.
 *
 * The parent holds the store open for writing and keeps ingesting; a child
 * process (this program re-executed with --consumer) opens it read-only,
 * subscribes under a name, reports every delivered LSN on a pipe and acks
 * every ACK_EVERY-th. The parent SIGKILLs it after a random number of
 * deliveries, then checks the stored position and starts a new child:
 *  - the position is at least the last ack the child reported as done, and
 *    at most the last LSN it delivered;
 *  - the new child's first delivery is the position + 1 (no gap);
 *  - what is delivered twice (the at-least-once window) is at most the
 *    frames delivered since the last ack: <= ACK_EVERY;
 *  - within a child, LSNs run one by one.
 * Ends when a child has delivered the last LSN.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posfile.h"
#include "support_subs.h"
#include "support_tmp.h"

#define NAME      "durable-test"
#define PRELOAD   2000
#define LIVE      2000
#define TOTAL     (PRELOAD + LIVE)
#define ACK_EVERY 7

/* ------------------------------------------------------------- child */

static gs_sub *child_sub;
static volatile int child_done;

static void put_line(char kind, uint64_t lsn)
{
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "%c %llu\n", kind, (unsigned long long)lsn);
    if (write(STDOUT_FILENO, buf, (size_t)n) != n)
        _exit(3);
}

static void child_cb(void *ud, const gs_event *ev)
{
    (void)ud;
    if (!ev) {
        put_line('X', 0);
        _exit(4);
    }
    put_line('D', ev->lsn);
    if (ev->lsn % ACK_EVERY == 0 || ev->lsn == TOTAL) {
        int rc = gs_sub_ack(child_sub, ev->lsn);
        if (rc != GS_OK) {
            fprintf(stderr, "child: ack %llu: %s\n", (unsigned long long)ev->lsn, gs_errname(rc));
            _exit(5);
        }
        put_line('A', ev->lsn);
    }
    if (ev->lsn == TOTAL) {
        put_line('E', ev->lsn);
        child_done = 1;
    }
}

static int child_main(const char *dir)
{
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 1);
    gs_sub_options *o;
    gs_sub_options_create(&o);
    gs_sub_options_set_name(o, NAME);
    int rc = gs_subscribe(st, o, child_cb, NULL, 0, &child_sub);
    gs_sub_options_destroy(o);
    if (rc != GS_OK) {
        fprintf(stderr, "child: gs_subscribe: %s: %s\n", gs_errname(rc), gs_store_errmsg(st));
        return 2;
    }
    while (!child_done) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    gs_unsubscribe(child_sub);
    gs_store_close(st);
    return 0;
}

/* ------------------------------------------------------------ parent */

typedef struct writer {
    gs_store *st;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    for (uint64_t i = PRELOAD + 1; i <= TOTAL; i++) {
        gs_ts_ingest_channel(w->st, i, 42);
        struct timespec ts = {0, 300000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static pid_t spawn_child(const char *dir, FILE **out)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl("/proc/self/exe", "test_subs_durable", "--consumer", dir, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *out = fdopen(p[0], "r");
    assert_non_null(*out);
    return pid;
}

static void test_kill_and_resume(void **state)
{
    (void)state;
    char dir[256];
    gs_test_tmpdir(dir, sizeof(dir));
    gs_store *st = gs_ts_open(dir, 0, GS_DURABILITY_BATCH, 0);
    for (uint64_t i = 1; i <= PRELOAD; i++)
        gs_ts_ingest_channel(st, i, 42);
    writer w = {st};
    pthread_t wt;
    pthread_create(&wt, NULL, writer_main, &w);

    srand(12345);
    uint64_t expect_first = 1, max_delivered = 0, total_dups = 0;
    int rounds = 0, finished = 0;
    while (!finished) {
        FILE *in = NULL;
        pid_t pid = spawn_child(dir, &in);
        int kill_after = 100 + rand() % 400;
        uint64_t first = 0, prev = 0, last_ack = 0;
        int got = 0;
        char line[64];
        while (fgets(line, sizeof(line), in)) {
            char kind = line[0];
            uint64_t lsn = strtoull(line + 2, NULL, 10);
            if (kind == 'D') {
                if (!first) {
                    first = lsn;
                    if (first != expect_first)
                        fail_msg("round %d: first delivery %llu, expected %llu", rounds,
                                 (unsigned long long)first, (unsigned long long)expect_first);
                    if (first <= max_delivered)
                        total_dups += max_delivered - first + 1;
                } else if (lsn != prev + 1) {
                    fail_msg("round %d: %llu after %llu", rounds, (unsigned long long)lsn,
                             (unsigned long long)prev);
                }
                prev = lsn;
                if (lsn > max_delivered)
                    max_delivered = lsn;
                /* Kill, then read what it wrote before it died. */
                if (++got == kill_after)
                    kill(pid, SIGKILL);
            } else if (kind == 'A') {
                last_ack = lsn;
            } else if (kind == 'E') {
                finished = 1;
            } else {
                fail_msg("round %d: child says %s", rounds, line);
            }
        }
        int status = 0;
        waitpid(pid, &status, 0);
        fclose(in);
        if (finished)
            assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        else if (WIFEXITED(status)) /* only our SIGKILL may end it early */
            fail_msg("round %d: the child exited with %d", rounds, WEXITSTATUS(status));
        uint64_t pos = 0;
        gs_err err;
        int rc = gs_consumer_read(dir, NAME, &pos, &err);
        if (rc == GS_ENOTFOUND)
            pos = 0;
        else if (rc != GS_OK)
            fail_msg("round %d: %s", rounds, err.msg);
        if (pos < last_ack || pos > prev)
            fail_msg("round %d: stored position %llu, last ack %llu, last delivered %llu", rounds,
                     (unsigned long long)pos, (unsigned long long)last_ack,
                     (unsigned long long)prev);
        assert_true(prev - pos <= ACK_EVERY); /* the at-least-once window */
        expect_first = pos + 1;
        rounds++;
        assert_true(rounds < 200);
    }
    assert_int_equal(max_delivered, TOTAL);
    printf("%d children, %llu frames delivered twice (window <= %d a kill)\n", rounds,
           (unsigned long long)total_dups, ACK_EVERY);
    pthread_join(wt, NULL);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_test_rmtree(dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--consumer") == 0)
        return child_main(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
