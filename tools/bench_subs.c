/*
 * bench_subs.c - append-to-delivery latency of subscriptions under a
 * sustained, paced ingest (BATCH durability, views on).
 *
 *   gatestore-bench-subs [--rate N] [--seconds S] [--mix message|channel]
 *                        [--dir DIR] [--stages]
 *
 * One thread ingests frames at --rate a second (paced in 1 ms ticks: each
 * tick it catches up with rate x elapsed, then sleeps) for --seconds. Each
 * frame carries the monotonic time taken just before its gs_ingest_line
 * call; a plain and a GS_SUB_CONFIRM subscriber compute now - that time
 * for every frame (so an append that waits, e.g. for the log's flusher to
 * free its hand-off slot, counts: the line "gs_ingest_line call itself"
 * shows how much of it is the call). Printed: achieved rate,
 * p50/p99/p99.9/max for both, how
 * many frames each read back from the log instead of the in-memory feed,
 * and the same-run baselines: the same pacing through a bare in-process
 * queue (mutex + condition variable) to one consumer thread, and how late
 * the ingest thread's own 1 ms wake-ups came (the machine's scheduling
 * delay, which every hand-off in the pipeline pays too).
 *
 * Frames (--mix): "message" = MESSAGE_CREATE without a member (the views
 * parse it and change nothing: the floor of apply cost); "channel" = one in
 * ten is a CHANNEL_UPDATE of one of 1 000 channels (a read-merge-write in
 * the views), the rest MESSAGE_CREATE.
 */
#include "gs_common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "stages.h"

typedef struct lat {
    uint64_t *ns; /* by LSN - 1 */
    uint64_t n;   /* capacity */
    atomic_uint_fast64_t got;
} lat;

static uint64_t frame_t0(const char *raw, size_t len)
{
    static const char key[] = "\"t0\":";
    const char *p = memmem(raw, len, key, sizeof(key) - 1);
    return p ? strtoull(p + sizeof(key) - 1, NULL, 10) : 0;
}

static void on_event(void *ud, const gs_event *ev)
{
    lat *l = ud;
    if (!ev)
        return;
    uint64_t now = gs_mono_ns();
    uint64_t t0 = frame_t0(ev->raw, ev->raw_len);
    if (ev->lsn >= 1 && ev->lsn <= l->n && t0)
        l->ns[ev->lsn - 1] = now - t0;
    atomic_fetch_add(&l->got, 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, uint64_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    if (!n) {
        printf("%-34s no samples\n", what);
        return;
    }
    printf("%-34s %10.1f %10.1f %10.1f %10.1f\n", what, (double)v[n / 2] / 1e3,
           (double)v[(n * 99) / 100] / 1e3, (double)v[(n * 999) / 1000] / 1e3,
           (double)v[n - 1] / 1e3);
}

static void sleep_until(uint64_t t_ns)
{
    uint64_t now = gs_mono_ns();
    if (t_ns <= now)
        return;
    struct timespec ts = {(time_t)((t_ns - now) / 1000000000ull),
                          (long)((t_ns - now) % 1000000000ull)};
    nanosleep(&ts, NULL);
}

/* Sleep to the next 1 ms tick since start; note how late the wake-up came
 * in late[*n] (while *n < cap): the machine's scheduling delay. */
static void tick(uint64_t start, uint64_t *late, uint64_t cap, uint64_t *n)
{
    uint64_t due_at = gs_mono_ns() + 1000000ull - (gs_mono_ns() - start) % 1000000ull;
    sleep_until(due_at);
    uint64_t woke = gs_mono_ns();
    if (*n < cap)
        late[(*n)++] = woke > due_at ? woke - due_at : 0;
}

/* ----------------------------------------------------------- stages */

/* One line per stage: t(to) - t(from) over the LSNs that reached both. */
static void report_span(const char *what, const uint64_t *from, const uint64_t *to, uint64_t n,
                        uint64_t *scratch)
{
    uint64_t k = 0;
    for (uint64_t i = 0; i < n; i++)
        if (from[i] && to[i])
            scratch[k++] = to[i] >= from[i] ? to[i] - from[i] : 0;
    if (k < n) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s [%" PRIu64 "]", what, k);
        report(buf, scratch, k);
        return;
    }
    report(what, scratch, k);
}

static void report_stages(const uint64_t *t0, uint64_t n)
{
    static const struct {
        enum gs_stage from, to;
        const char *name;
    } spans[] = {
        {GS_ST_APPEND, GS_ST_PUSH, "  append done -> feed push"},
        {GS_ST_PUSH, GS_ST_PICK, "  feed push -> applier pickup"},
        {GS_ST_PICK, GS_ST_APPLIED, "  applier pickup -> applied"},
        {GS_ST_APPLIED, GS_ST_WM, "  applied -> watermark (memory)"},
        {GS_ST_WM, GS_ST_WMFILE, "  watermark -> watermark file"},
        {GS_ST_PUSH, GS_ST_PLAIN_WAKE, "  feed push -> plain dispatcher"},
        {GS_ST_PLAIN_WAKE, GS_ST_PLAIN_CB, "  plain dispatcher -> callback"},
        {GS_ST_WM, GS_ST_CONF_WAKE, "  watermark -> confirm dispatcher"},
        {GS_ST_CONF_WAKE, GS_ST_CONF_CB, "  confirm dispatcher -> callback"},
    };
    static const char *cum[GS_ST_COUNT] = {
        "  call start -> append done",        "  call start -> feed push",
        "  call start -> applier pickup",     "  call start -> applied",
        "  call start -> watermark",          "  call start -> watermark file",
        "  call start -> plain dispatcher",   "  call start -> plain callback",
        "  call start -> confirm dispatcher", "  call start -> confirm callback",
    };
    uint64_t *scratch = calloc(n ? n : 1, sizeof(uint64_t));
    uint64_t *st[GS_ST_COUNT] = {0};
    int ok = scratch != NULL;
    for (int s = 0; s < GS_ST_COUNT && ok; s++) {
        st[s] = calloc(n ? n : 1, sizeof(uint64_t));
        ok = st[s] != NULL;
        if (ok)
            gs_stages_copy((enum gs_stage)s, st[s], n);
    }
    if (!ok) {
        for (int s = 0; s < GS_ST_COUNT; s++)
            free(st[s]);
        free(scratch);
        return;
    }
    printf("stages, from the previous stage (us)  p50        p99      p99.9        max\n");
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
        report_span(spans[i].name, st[spans[i].from], st[spans[i].to], n, scratch);
    printf("stages, from the call's start (us)    p50        p99      p99.9        max\n");
    for (int s = 0; s < GS_ST_COUNT; s++)
        report_span(cum[s], t0, st[s], n, scratch);
    for (int s = 0; s < GS_ST_COUNT; s++)
        free(st[s]);
    free(scratch);
}

/* ---------------------------------------------------- baseline queue */

typedef struct bq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t *items;
    uint64_t head, tail, cap;
    int done;
    uint64_t *lat;
} bq;

/* Frames due by now when sending rate a second since start (1 ms ticks of
 * the caller's loop), capped at total. */
static uint64_t paced_due(uint64_t start, uint64_t rate, uint64_t total)
{
    uint64_t due = (gs_mono_ns() - start) * rate / 1000000000ull + 1;
    return due > total ? total : due;
}

static void *bq_consumer(void *arg)
{
    bq *q = arg;
    uint64_t i = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->tail == q->head && !q->done)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->tail == q->head && q->done)
            break;
        uint64_t t0 = q->items[q->tail++ % q->cap];
        pthread_mutex_unlock(&q->mu);
        q->lat[i++] = gs_mono_ns() - t0;
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static uint64_t run_baseline(uint64_t rate, uint64_t total, uint64_t *lat_out, uint64_t *late_out,
                             uint64_t nlate, uint64_t *nlate_out)
{
    bq q;
    memset(&q, 0, sizeof(q));
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv, NULL);
    q.cap = 1u << 20;
    q.items = calloc(q.cap, sizeof(uint64_t));
    q.lat = lat_out;
    pthread_t t;
    pthread_create(&t, NULL, bq_consumer, &q);
    uint64_t start = gs_mono_ns(), sent = 0;
    while (sent < total) {
        uint64_t due = paced_due(start, rate, total);
        while (sent < due) {
            pthread_mutex_lock(&q.mu);
            q.items[q.head++ % q.cap] = gs_mono_ns();
            pthread_cond_signal(&q.cv);
            pthread_mutex_unlock(&q.mu);
            sent++;
        }
        tick(start, late_out, nlate, nlate_out);
    }
    pthread_mutex_lock(&q.mu);
    q.done = 1;
    pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
    pthread_join(t, NULL);
    free(q.items);
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.cv);
    return total;
}

/* --------------------------------------------------------------- main */

static size_t make_line(char *buf, size_t cap, uint64_t i, int channel_mix, uint64_t t0)
{
    if (channel_mix && i % 10 == 0)
        return (size_t)snprintf(buf, cap,
                                "{\"op\":0,\"t\":\"CHANNEL_UPDATE\",\"s\":%" PRIu64
                                ",\"d\":{\"id\":\"%" PRIu64
                                "\",\"guild_id\":\"42\",\"type\":0,\"name\":\"chan-%" PRIu64
                                "\",\"topic\":\"topic %" PRIu64 "\",\"t0\":%" PRIu64 "}}",
                                i, 1000 + i % 1000, i % 1000, i, t0);
    return (size_t)snprintf(buf, cap,
                            "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":%" PRIu64
                            ",\"d\":{\"id\":\"%" PRIu64
                            "\",\"channel_id\":\"1005\",\"guild_id\":\"42\",\"author\":{\"id\":"
                            "\"77\",\"username\":\"bench\"},\"content\":\"hello world, message "
                            "%" PRIu64 "\",\"t0\":%" PRIu64 "}}",
                            i, (uint64_t)900000000000000000ull + i, i, t0);
}

int main(int argc, char **argv)
{
    uint64_t rate = 50000;
    double seconds = 3;
    int channel_mix = 0;
    const char *dir = NULL;
    int stages = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--rate") == 0 && v) {
            rate = strtoull(v, NULL, 10);
            i++;
        } else if (strcmp(argv[i], "--seconds") == 0 && v) {
            seconds = atof(v);
            i++;
        } else if (strcmp(argv[i], "--mix") == 0 && v) {
            channel_mix = strcmp(v, "channel") == 0;
            i++;
        } else if (strcmp(argv[i], "--dir") == 0 && v) {
            dir = v;
            i++;
        } else if (strcmp(argv[i], "--stages") == 0) {
            stages = 1;
        } else {
            fprintf(stderr, "usage: gatestore-bench-subs [--rate N] [--seconds S] [--mix "
                            "message|channel] [--dir DIR] [--stages]\n");
            return 2;
        }
    }
    if (rate == 0 || seconds <= 0)
        return 2;
    char tmp[] = "/tmp/gs-bench-subs-XXXXXX";
    if (!dir) {
        if (!mkdtemp(tmp))
            return 1;
        dir = tmp;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/store", dir);
    uint64_t total = (uint64_t)((double)rate * seconds);

    if (stages && gs_stages_enable(total) != GS_OK)
        return 1;
    gs_options *o;
    gs_options_create(&o);
    gs_options_set_create(o, 1);
    gs_options_set_durability(o, GS_DURABILITY_BATCH);
    gs_store *st;
    if (gs_store_open(path, o, &st) != GS_OK) {
        fprintf(stderr, "open: %s\n", gs_open_errmsg());
        return 1;
    }
    gs_options_destroy(o);
    lat plain = {calloc(total, 8), total, 0}, conf = {calloc(total, 8), total, 0};
    gs_sub *sp, *sc;
    if (gs_subscribe(st, NULL, on_event, &plain, 0, &sp) != GS_OK ||
        gs_subscribe(st, NULL, on_event, &conf, GS_SUB_CONFIRM, &sc) != GS_OK) {
        fprintf(stderr, "subscribe: %s\n", gs_store_errmsg(st));
        return 1;
    }

    char line[1024];
    /* How late each of the ingest thread's 1 ms wake-ups came: the
     * machine's own scheduling delay, measured in the same run. */
    uint64_t nticks = (uint64_t)(seconds * 1000.0) + 16, ticks = 0;
    uint64_t *late_ns = calloc(nticks, 8);
    uint64_t *call_ns = calloc(total, 8);
    uint64_t *t0s = calloc(total, 8);
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t start = gs_mono_ns(), sent = 0;
    while (sent < total) {
        uint64_t due = paced_due(start, rate, total);
        while (sent < due) {
            uint64_t t0 = gs_mono_ns();
            t0s[sent] = t0;
            size_t n = make_line(line, sizeof(line), sent + 1, channel_mix, t0);
            int rc = gs_ingest_line(st, line, n, NULL, NULL);
            call_ns[sent] = gs_mono_ns() - t0;
            if (rc != GS_OK) {
                fprintf(stderr, "ingest: %s\n", gs_store_errmsg(st));
                return 1;
            }
            sent++;
        }
        tick(start, late_ns, nticks, &ticks);
    }
    double ingest_s = (double)(gs_mono_ns() - start) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    for (int i = 0; i < 30000; i++) {
        if (atomic_load(&plain.got) >= total && atomic_load(&conf.got) >= total)
            break;
        sleep_until(gs_mono_ns() + 1000000ull);
    }
    gs_sub_stats ps, cs;
    gs_sub_stats_get(sp, &ps);
    gs_sub_stats_get(sc, &cs);
    gs_unsubscribe(sp);
    gs_unsubscribe(sc);
    gs_store_close(st);

    uint64_t *base = calloc(total, 8);
    uint64_t *base_late = calloc(nticks, 8), base_ticks = 0;
    run_baseline(rate, total, base, base_late, nticks, &base_ticks);

    printf("subscriptions: %" PRIu64 " frames (%s), target %" PRIu64
           " frames/s, achieved %.0f frames/s over %.2f s, BATCH durability, views on\n",
           total, channel_mix ? "10% CHANNEL_UPDATE" : "MESSAGE_CREATE", rate,
           (double)total / ingest_s, ingest_s);
    printf("CPU during ingest (all threads): %.2f cores; context switches: %ld voluntary, %ld "
           "involuntary\n",
           cpu_s / ingest_s, ru.ru_nvcsw - ru0.ru_nvcsw, ru.ru_nivcsw - ru0.ru_nivcsw);
    printf("%-34s %10s %10s %10s %10s\n", "append -> delivery (us)", "p50", "p99", "p99.9", "max");
    report("bare queue hand-off (baseline)", base, total);
    report("  its producer's 1 ms sleeps, late by", base_late, base_ticks);
    report("ingest thread's 1 ms sleeps, late by", late_ns, ticks);
    report("gs_ingest_line call itself", call_ns, total);
    report("plain subscriber", plain.ns, atomic_load(&plain.got) < total ? 0 : total);
    report("confirm subscriber", conf.ns, atomic_load(&conf.got) < total ? 0 : total);
    printf("delivered: plain %" PRIu64 ", confirm %" PRIu64
           "; read back from the log: plain %" PRIu64 ", confirm %" PRIu64 "\n",
           ps.delivered, cs.delivered, ps.from_log, cs.from_log);
    if (stages) {
        report_stages(t0s, total);
        gs_stages_disable();
    }
    free(plain.ns);
    free(conf.ns);
    free(base);
    free(call_ns);
    free(late_ns);
    free(base_late);
    free(t0s);
    if (dir == tmp) {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmp);
    }
    return 0;
}
