/*
 * crash_harness.c - kill -9 an ingesting process at random moments and
 * check what survives.
 *
 * Each round forks a child that opens the store (which runs recovery),
 * ingests input lines from where the log ends, and writes every LSN it got
 * confirmed onto a pipe. The parent sleeps a random time (seeded), sends
 * SIGKILL, then reopens the store and checks:
 *   - every confirmed LSN is in the log, with no hole below the head;
 *   - every stored frame is byte-exact: input lines map to LSNs one to one
 *     (the input must hold dispatch frames only), so LSN k holds line
 *     (k - 1) mod nlines;
 *   - `log verify` passes;
 *   - with --views: as the crash left them, views whose watermark is <= the
 *     head dump equal to a rebuild of the surviving log up to it (views fed
 *     from memory may be ahead of the durable log: the reopen must then
 *     rebuild them); after the reopen they equal a full rebuild.
 * A failing seed replays exactly: `gatestore-crash --seed S ...`.
 *
 * Usage: gatestore-crash --store DIR --input FILE [--rounds N] [--seed S]
 *                        [--durability sync|batch|off] [--max-sleep-us N]
 */
#include "gs_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_input.h"
#include "crash_views.h"

struct harness {
    const char *store;
    struct input in;
    uint64_t rounds;
    uint64_t seed;
    gs_durability durability;
    uint64_t max_sleep_us;
    uint64_t max_per_round; /* 0 = no cap; else the child idles after this many */
    int views;
};

static gs_store *open_store(const char *path, gs_durability d, int create)
{
    gs_options *o = NULL;
    gs_options_create(&o);
    gs_options_set_create(o, create);
    gs_options_set_durability(o, d);
    gs_options_set_batch(o, 2, 1 << 20);
    gs_options_set_segment_bytes(o, 256 << 10); /* many rolls: crash during them too */
    gs_options_set_block_bytes(o, 16 << 10);
    gs_store *st = NULL;
    int rc = gs_store_open(path, o, &st);
    gs_options_destroy(o);
    if (rc) {
        fprintf(stderr, "crash: open %s: %s: %s\n", path, gs_errname(rc), gs_open_errmsg());
        return NULL;
    }
    return st;
}

/* The child: ingest from where the log ends, report each confirmed LSN. */
static void child_main(const struct harness *h, int wfd)
{
    gs_store *st = open_store(h->store, h->durability, 0);
    if (!st)
        _exit(3);
    uint64_t head = gs_store_head_lsn(st);
    for (uint64_t k = head;; k++) {
        if (h->max_per_round && k - head >= h->max_per_round)
            pause(); /* keeps the log small; the kill still lands at a random time */
        size_t i = (size_t)(k % h->in.n);
        uint64_t lsn = 0;
        int rc = gs_ingest_line(st, h->in.line[i], h->in.line_len[i], NULL, &lsn);
        if (rc != GS_OK) {
            fprintf(stderr, "crash child: ingest: %s: %s\n", gs_errname(rc), gs_store_errmsg(st));
            _exit(4);
        }
        if (lsn != k + 1) {
            fprintf(stderr, "crash child: got LSN %" PRIu64 ", expected %" PRIu64 "\n", lsn, k + 1);
            _exit(5);
        }
        /* In SYNC mode the append returned after fsync: confirmed. In the
         * other modes only gs_store_durable_lsn is. */
        uint64_t confirmed = h->durability == GS_DURABILITY_SYNC ? lsn : gs_store_durable_lsn(st);
        if (write(wfd, &confirmed, sizeof(confirmed)) != (ssize_t)sizeof(confirmed))
            _exit(6);
    }
}

static int check_store(const struct harness *h, uint64_t confirmed, uint64_t round,
                       uint64_t *head_out)
{
    if (h->views && gs_crash_views_pre(h->store, round) != 0)
        return -1;
    gs_store *st = open_store(h->store, h->durability, 0); /* runs recovery */
    if (!st)
        return -1;
    uint64_t head = gs_store_head_lsn(st);
    int bad = 0;
    if (head < confirmed) {
        fprintf(stderr, "round %" PRIu64 ": head %" PRIu64 " < confirmed %" PRIu64 "\n", round,
                head, confirmed);
        bad = 1;
    }
    gs_log_iter *it = NULL;
    int rc = gs_log_iter_open(st, NULL, &it);
    uint64_t expect = 1;
    gs_record r;
    while (!bad && rc == GS_OK && (rc = gs_log_iter_next(it, &r)) == 1) {
        size_t i = (size_t)((r.lsn - 1) % h->in.n);
        if (r.lsn != expect) {
            fprintf(stderr, "round %" PRIu64 ": hole: LSN %" PRIu64 " after %" PRIu64 "\n", round,
                    r.lsn, expect - 1);
            bad = 1;
        } else if (r.raw_len != h->in.line_len[i] || memcmp(r.raw, h->in.line[i], r.raw_len)) {
            fprintf(stderr, "round %" PRIu64 ": LSN %" PRIu64 " bytes differ from line %zu\n",
                    round, r.lsn, i + 1);
            bad = 1;
        }
        expect++;
        rc = GS_OK;
    }
    if (rc < 0) {
        fprintf(stderr, "round %" PRIu64 ": read: %s: %s\n", round, gs_errname(rc),
                gs_log_iter_errmsg(it));
        bad = 1;
    }
    gs_log_iter_close(it);
    if (!bad && expect - 1 != head) {
        fprintf(stderr, "round %" PRIu64 ": read %" PRIu64 " records, head is %" PRIu64 "\n", round,
                expect - 1, head);
        bad = 1;
    }
    if (!bad) {
        gs_verify_summary sum;
        rc = gs_log_verify(st, NULL, NULL, &sum);
        if (rc != GS_OK) {
            fprintf(stderr, "round %" PRIu64 ": log verify: %s: %s\n", round, gs_errname(rc),
                    gs_store_errmsg(st));
            bad = 1;
        }
    }
    if (!bad && h->views && gs_crash_check_views(st, head, round) != 0)
        bad = 1;
    gs_store_close(st);
    *head_out = head;
    return bad ? -1 : 0;
}

static int run(const struct harness *h)
{
    gs_store *st = open_store(h->store, h->durability, 1);
    if (!st)
        return 1;
    gs_store_close(st);
    uint64_t rng = h->seed;
    uint64_t confirmed_total = 0, kills = 0, head = 0;
    uint64_t t0 = gs_mono_ns();
    for (uint64_t round = 1; round <= h->rounds; round++) {
        int p[2];
        if (pipe(p) != 0)
            return 1;
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            close(p[0]);
            child_main(h, p[1]);
        }
        close(p[1]);
        uint64_t sleep_us = rng_next(&rng) % (h->max_sleep_us + 1);
        struct timespec ts = {(time_t)(sleep_us / 1000000), (long)(sleep_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status)) {
            fprintf(stderr, "round %" PRIu64 ": child exited with %d before the kill\n", round,
                    WEXITSTATUS(status));
            return 1;
        }
        kills++;
        uint64_t confirmed = 0, v;
        while (read(p[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
            if (v > confirmed)
                confirmed = v;
        close(p[0]);
        if (check_store(h, confirmed, round, &head) != 0) {
            fprintf(stderr, "crash: FAILED at round %" PRIu64 " (replay: --seed %" PRIu64 ")\n",
                    round, h->seed);
            return 1;
        }
        confirmed_total = confirmed > confirmed_total ? confirmed : confirmed_total;
    }
    double secs = (double)(gs_mono_ns() - t0) / 1e9;
    printf("crash: %" PRIu64 " kill points, head LSN %" PRIu64 ", highest confirmed %" PRIu64
           ", 0 confirmed lost, 0 holes, 0 failed reopen%s (%.1f s, seed %" PRIu64 ")\n",
           kills, head, confirmed_total, h->views ? ", views equal a rebuild every time" : "", secs,
           h->seed);
    printf("%" PRIu64 " passed, 0 failed\n", kills);
    return 0;
}

static const char usage[] =
    "usage: gatestore-crash --store DIR --input FILE [--rounds N] [--seed S]\n"
    "                       [--durability sync|batch|off] [--max-sleep-us N] [--views]\n"
    "                       [--max-per-round N]\n";

int main(int argc, char **argv)
{
    struct harness h;
    memset(&h, 0, sizeof(h));
    h.rounds = 100;
    h.seed = 1;
    h.durability = GS_DURABILITY_SYNC;
    h.max_sleep_us = 30000;
    const char *input = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--store") == 0 && v)
            h.store = argv[++i];
        else if (strcmp(a, "--input") == 0 && v)
            input = argv[++i];
        else if (strcmp(a, "--rounds") == 0 && v)
            h.rounds = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--seed") == 0 && v)
            h.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--max-sleep-us") == 0 && v)
            h.max_sleep_us = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--max-per-round") == 0 && v)
            h.max_per_round = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--views") == 0)
            h.views = 1;
        else if (strcmp(a, "--durability") == 0 && v) {
            i++;
            if (strcmp(v, "sync") == 0)
                h.durability = GS_DURABILITY_SYNC;
            else if (strcmp(v, "batch") == 0)
                h.durability = GS_DURABILITY_BATCH;
            else if (strcmp(v, "off") == 0)
                h.durability = GS_DURABILITY_OFF;
            else {
                fputs(usage, stderr);
                return 2;
            }
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!h.store || !input) {
        fputs(usage, stderr);
        return 2;
    }
    if (load_input(input, &h.in) != 0) {
        fprintf(stderr, "crash: cannot read %s (or it is empty)\n", input);
        return 2;
    }
    int rc = run(&h);
    input_free(&h.in);
    return rc;
}
