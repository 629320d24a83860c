/*
 * bench_views.c - gatestore-bench-views: view-apply throughput, point-get
 * latency and a filtered scan, in-process, on an NDJSON file of gateway
 * frames (e.g. from gatestore-gen).
 *
 *   gatestore-bench-views FILE.ndjson [--dir DIR] [--batch N] [--gets N]
 *
 * Frames are applied through gs_views_apply_more, as a replay applies them,
 * in batches (up to N records or 4 MiB of raw frames); the time to land
 * the last stage of a phase is counted to it. The snapshot phase is the run of READY, GUILD_CREATE
 * and GUILD_MEMBERS_CHUNK frames the file starts with (a session's start);
 * the update phase is everything after (later GUILD_CREATEs after outages
 * included). Only the time inside gs_views_apply is counted as apply time;
 * reading the file and the parse that finds `t` are reported apart.
 *
 * To profile the update phase alone: GS_BENCH_PERF_CTL=FIFO makes the bench
 * write "enable" to FIFO before the first update-phase apply call and
 * "disable" after the last, for `perf record -D -1 --control fifo:FIFO`.
 * GS_BENCH_PERF_PHASE=snapshot does the same for the snapshot phase.
 */
#include "gs_common.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "views.h"

#define BATCH_BYTES (4u << 20)

typedef struct phase {
    uint64_t events, bytes, ns, batches;
    uint64_t cpu_ns;      /* the calling thread's CPU time inside the apply calls */
    uint64_t first, last; /* wall clock: its first line read, its last stage landed */
} phase;

typedef struct pending {
    gs_log_rec *recs;
    char **bufs;
    size_t n, cap, bytes;
    int snapshot;
} pending;

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "gatestore-bench-views: %s: %s\n", what, msg);
    exit(1);
}

/* This thread's CPU time: beside wall time, a figure that other jobs on a
 * shared machine move less (they can still evict its caches). */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* perf's control FIFO (GS_BENCH_PERF_CTL), or NULL; the phase it covers
 * (GS_BENCH_PERF_PHASE: 0 snapshot, 1 update, the default). */
static FILE *perf_ctl;
static int perf_phase = 1;
static int perf_on;

static void perf_say(const char *cmd)
{
    if (perf_ctl) {
        fputs(cmd, perf_ctl);
        fflush(perf_ctl);
    }
}

/* Calls apply with gs_views_apply_more, as a replay does (--land-each:
 * gs_views_apply); the phase whose last stage may be in flight, or -1. */
static int land_each;
static int flying = -1;

/* The wall and CPU time since t0 and c0 counted to phase x, which ends
 * now so far. */
static void charge(phase *x, uint64_t t0, uint64_t c0)
{
    uint64_t t1 = gs_mono_ns();
    x->ns += t1 - t0;
    x->cpu_ns += thread_cpu_ns() - c0;
    x->last = t1;
}

/* Land what is in flight, the time counted to its phase. */
static void settle(gs_views *v, phase *ph)
{
    if (flying < 0)
        return;
    gs_err err;
    uint64_t t0 = gs_mono_ns(), c0 = thread_cpu_ns();
    if (gs_views_settle(v, &err) != GS_OK)
        die("apply", err.msg);
    charge(&ph[flying], t0, c0);
    flying = -1;
}

static void flush(gs_views *v, pending *p, phase *ph)
{
    if (!p->n)
        return;
    int which = p->snapshot ? 0 : 1;
    if (flying != which)
        settle(v, ph);
    if (which == perf_phase && !perf_on) {
        perf_say("enable\n");
        perf_on = 1;
    } else if (which != perf_phase && perf_on) {
        perf_say("disable\n");
        perf_on = 0;
    }
    gs_err err;
    uint64_t t0 = gs_mono_ns(), c0 = thread_cpu_ns();
    int rc = land_each ? gs_views_apply(v, p->recs, p->n, &err)
                       : gs_views_apply_more(v, p->recs, p->n, &err);
    if (rc != GS_OK)
        die("apply", err.msg);
    charge(&ph[which], t0, c0);
    flying = land_each ? -1 : which;
    phase *x = &ph[which];
    x->events += p->n;
    x->bytes += p->bytes;
    x->batches++;
    for (size_t i = 0; i < p->n; i++)
        free(p->bufs[i]);
    p->n = 0;
    p->bytes = 0;
}

static int is_snapshot(const char *t, size_t len)
{
    return (len == 5 && memcmp(t, "READY", 5) == 0) ||
           (len == 12 && memcmp(t, "GUILD_CREATE", 12) == 0) ||
           (len == 19 && memcmp(t, "GUILD_MEMBERS_CHUNK", 19) == 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* p50 / p99 of n get latencies (ns), each get of a random (guild, id). */
static void bench_gets(gs_views *v, gs_view_type t, const uint64_t *guilds, const uint64_t *ids,
                       size_t nkeys, size_t ngets, gs_vfmt fmt, const char *label)
{
    uint64_t *lat = malloc(ngets * sizeof(*lat));
    if (!lat)
        die("gets", "out of memory");
    gs_err err;
    uint64_t total = 0;
    for (size_t i = 0; i < ngets; i++) {
        size_t k = rng() % nkeys;
        char *out;
        size_t len;
        uint64_t t0 = gs_mono_ns();
        int rc = gs_views_get(v, t, ids[k], guilds ? guilds[k] : 0, fmt, &out, &len, &err);
        uint64_t dt = gs_mono_ns() - t0;
        if (rc != GS_OK)
            die("get", err.msg);
        free(out);
        lat[i] = dt;
        total += dt;
    }
    qsort(lat, ngets, sizeof(*lat), cmp_u64);
    printf("get %-6s %-7s %zu gets of %zu keys: p50 %.2f us  p99 %.2f us  mean %.2f us\n", label,
           fmt == GS_VFMT_JSON ? "json" : "msgpack", ngets, nkeys, lat[ngets / 2] / 1e3,
           lat[ngets * 99 / 100] / 1e3, (double)total / (double)ngets / 1e3);
    free(lat);
}

/* Collect the keys of every entity of a type (ids parsed from the JSON). */
static size_t collect(gs_views *v, gs_view_type t, gs_json *p, uint64_t **guilds, uint64_t **ids)
{
    gs_vq_spec s = {.type = t};
    gs_vq *q;
    gs_err err;
    if (gs_vq_open(v, &s, &q, &err) != GS_OK)
        die("collect", err.msg);
    size_t n = 0, cap = 1024;
    *guilds = malloc(cap * sizeof(**guilds));
    *ids = malloc(cap * sizeof(**ids));
    const char *out;
    size_t len;
    int rc;
    while ((rc = gs_vq_next(q, GS_VFMT_JSON, &out, &len, &err)) == 1) {
        gs_jval root, x;
        if (gs_json_parse(p, out, len, len, &root, &err) != GS_OK)
            die("collect", err.msg);
        uint64_t g = 0, id = 0;
        if (gs_json_getz(root, "guild_id", &x))
            gs_json_snowflake(x, &g);
        if (t == GS_VIEW_MEMBER) {
            gs_jval u;
            if (gs_json_getz(root, "user", &u) && gs_json_getz(u, "id", &x))
                gs_json_snowflake(x, &id);
        } else if (gs_json_getz(root, "id", &x)) {
            gs_json_snowflake(x, &id);
        }
        if (n == cap) {
            cap *= 2;
            *guilds = realloc(*guilds, cap * sizeof(**guilds));
            *ids = realloc(*ids, cap * sizeof(**ids));
        }
        (*guilds)[n] = g;
        (*ids)[n] = id;
        n++;
    }
    if (rc < 0)
        die("collect", err.msg);
    gs_vq_close(q);
    return n;
}

/* Current resident set (MB), from /proc/self/statm. */
static double rss_now_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / 1e6;
}

static uint64_t disk_bytes;
static int add_size(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        disk_bytes += (uint64_t)sb->st_size;
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void usage(void)
{
    fputs("usage: gatestore-bench-views FILE.ndjson [--dir DIR] [--batch N] [--gets N] [--cache-mb "
          "N]\n"
          "  --dir DIR   views directory (default: a fresh one under /tmp, removed after)\n"
          "  --batch N   records per gs_views_apply call (default 1024)\n"
          "  --gets N    point gets per measurement (default 200000)\n"
          "  --cache-mb N          RocksDB block cache (default: the views' 8)\n"
          "  --entity-cache-mb N   entity cache, 0 = none (default: the views' 40)\n"
          "  --write-buffer-mb N   all write buffers together (default: the views' 16)\n"
          "  --views-compression auto|zstd|lz4   members, users, presences (default auto)\n"
          "  --serial    commit each apply call in line (no committer thread)\n"
          "  --land-each every call lands its stages before returning (gs_views_apply;\n"
          "              default: gs_views_apply_more, as replays call it)\n"
          "  --stage N   records per committed stage of a call (default: the views' 256)\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    size_t batch = 1024, ngets = 200000;
    gs_views_tuning tuning = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--gets") == 0 && i + 1 < argc)
            ngets = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cache-mb") == 0 && i + 1 < argc)
            tuning.cache_bytes = strtoull(argv[++i], NULL, 10) << 20;
        else if (strcmp(argv[i], "--entity-cache-mb") == 0 && i + 1 < argc) {
            tuning.entity_cache_bytes = strtoull(argv[++i], NULL, 10) << 20;
            tuning.no_entity_cache = tuning.entity_cache_bytes == 0;
        } else if (strcmp(argv[i], "--write-buffer-mb") == 0 && i + 1 < argc)
            tuning.db_write_buffer_bytes = strtoull(argv[++i], NULL, 10) << 20;
        else if (strcmp(argv[i], "--serial") == 0)
            tuning.serial_commit = 1;
        else if (strcmp(argv[i], "--land-each") == 0)
            land_each = 1;
        else if (strcmp(argv[i], "--stage") == 0 && i + 1 < argc)
            tuning.stage_records = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--views-compression") == 0 && i + 1 < argc &&
                 gs_cli_parse_compression(argv[i + 1], &tuning.compression) == 0)
            i++;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else if (!file && argv[i][0] != '-')
            file = argv[i];
        else {
            usage();
            return 2;
        }
    }
    if (!file || batch == 0 || ngets == 0) {
        usage();
        return 2;
    }
    char tmp[] = "/tmp/gsbench-views.XXXXXX";
    int own_dir = !dir;
    if (own_dir) {
        if (!mkdtemp(tmp))
            die("mkdtemp", "cannot create a directory");
        dir = tmp;
    }
    FILE *f = fopen(file, "rb");
    if (!f)
        die(file, "cannot open");
    const char *ctl = getenv("GS_BENCH_PERF_CTL");
    const char *ctl_phase = getenv("GS_BENCH_PERF_PHASE");
    if (ctl_phase && strcmp(ctl_phase, "snapshot") == 0)
        perf_phase = 0;
    if (ctl && !(perf_ctl = fopen(ctl, "w")))
        die(ctl, "cannot open the perf control FIFO");
    gs_err err;
    gs_views *v;
    if (gs_views_open_tuned(dir, NULL, &tuning, &v, &err) != GS_OK)
        die("open", err.msg);
    gs_json *p;
    if (gs_json_create(256u << 20, 256, &p, &err) != GS_OK)
        die("json", err.msg);

    pending pend = {0};
    pend.cap = batch;
    pend.recs = calloc(batch, sizeof(*pend.recs));
    pend.bufs = calloc(batch, sizeof(*pend.bufs));
    phase ph[2] = {{0}};
    uint64_t lsn = 0, skipped = 0;
    int in_snapshot = 1;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t n;
    uint64_t t_start = gs_mono_ns();
    while ((n = getline(&line, &line_cap, f)) > 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        gs_jval root, t, op;
        const char *ev;
        size_t evlen;
        int64_t opv = 0;
        if (gs_json_parse(p, line, len, line_cap, &root, &err) != GS_OK ||
            !gs_json_getz(root, "t", &t) || gs_json_string(t, &ev, &evlen) != 0 ||
            (gs_json_getz(root, "op", &op) && (gs_json_int64(op, &opv) != 0 || opv != 0))) {
            skipped++; /* not a dispatch: the log would not hold it */
            continue;
        }
        int snap = in_snapshot && is_snapshot(ev, evlen);
        in_snapshot = snap;
        if (!ph[snap ? 0 : 1].first)
            ph[snap ? 0 : 1].first = gs_mono_ns();
        if (pend.n && (snap != pend.snapshot || pend.n == pend.cap || pend.bytes >= BATCH_BYTES))
            flush(v, &pend, ph);
        pend.snapshot = snap;
        /* One buffer per record: the event name, then the raw frame. */
        char *buf = malloc(evlen + len);
        if (!buf)
            die("read", "out of memory");
        memcpy(buf, ev, evlen);
        memcpy(buf + evlen, line, len);
        gs_log_rec *r = &pend.recs[pend.n];
        memset(r, 0, sizeof(*r));
        r->lsn = ++lsn;
        r->shard = -1;
        r->seq = -1;
        r->event = buf;
        r->event_len = evlen;
        r->raw = buf + evlen;
        r->raw_len = len;
        pend.bufs[pend.n++] = buf;
        pend.bytes += len;
    }
    flush(v, &pend, ph);
    settle(v, ph);
    perf_say("disable\n");
    uint64_t t_total = gs_mono_ns() - t_start;
    free(line);
    fclose(f);

    printf("file %s: %llu dispatch frames (%llu other lines skipped)\n", file,
           (unsigned long long)lsn, (unsigned long long)skipped);
    const char *names[2] = {"snapshot phase (leading READY/GUILD_CREATE/GUILD_MEMBERS_CHUNK)",
                            "update phase (everything after)"};
    for (int i = 0; i < 2; i++) {
        double s = (double)ph[i].ns / 1e9;
        printf("apply %s: %llu events, %.1f MB raw, %llu batches, %.3f s: %.0f events/s, "
               "%.1f MB/s\n",
               names[i], (unsigned long long)ph[i].events, (double)ph[i].bytes / 1e6,
               (unsigned long long)ph[i].batches, s, s > 0 ? (double)ph[i].events / s : 0,
               s > 0 ? (double)ph[i].bytes / 1e6 / s : 0);
        double w = ph[i].last > ph[i].first ? (double)(ph[i].last - ph[i].first) / 1e9 : 0;
        printf("  the same phase's wall time incl. reading and finding t: %.3f s: %.0f events/s\n",
               w, w > 0 ? (double)ph[i].events / w : 0);
        printf("  the applying thread's CPU time in it: %.3f s (%.2f us an event)\n",
               (double)ph[i].cpu_ns / 1e9,
               ph[i].events ? (double)ph[i].cpu_ns / 1e3 / (double)ph[i].events : 0);
    }
    printf("whole run incl. reading and finding t: %.3f s; RSS now %.1f MB\n",
           (double)t_total / 1e9, rss_now_mb());
    gs_views_status st;
    if (gs_views_status_read(v, &st, &err) != GS_OK)
        die("status", err.msg);
    printf("watermark %llu, failed records %llu\n", (unsigned long long)st.watermark,
           (unsigned long long)st.failed_records);

    uint64_t *mg, *mu, *gg, *gi;
    size_t nm = collect(v, GS_VIEW_MEMBER, p, &mg, &mu);
    size_t ng = collect(v, GS_VIEW_GUILD, p, &gg, &gi);
    if (!nm || !ng)
        die("gets", "no members or guilds to get");
    bench_gets(v, GS_VIEW_MEMBER, mg, mu, nm, ngets, GS_VFMT_MSGPACK, "member");
    bench_gets(v, GS_VIEW_MEMBER, mg, mu, nm, ngets, GS_VFMT_JSON, "member");
    bench_gets(v, GS_VIEW_GUILD, NULL, gi, ng, ngets, GS_VFMT_MSGPACK, "guild");
    bench_gets(v, GS_VIEW_GUILD, NULL, gi, ng, ngets, GS_VFMT_JSON, "guild");
    free(mg);
    free(mu);
    free(gg);
    free(gi);

    /* `list channel --where name=general` over every channel. */
    gs_vwhere w = {"name", "general"};
    gs_vq_spec all = {.type = GS_VIEW_CHANNEL};
    gs_vq_spec gen = {.type = GS_VIEW_CHANNEL, .where = &w, .nwhere = 1};
    gs_vq *q;
    uint64_t nch = 0, found = 0;
    if (gs_vq_open(v, &all, &q, &err) != GS_OK || gs_vq_count(q, &nch, &err) != GS_OK)
        die("count", err.msg);
    gs_vq_close(q);
    /* Baseline in the same run: the plain scan (no name index). */
    gs_vq_spec scan = gen;
    scan.no_index = 1;
    for (int round = 0; round < 6; round++) {
        const gs_vq_spec *sp = round < 3 ? &scan : &gen;
        uint64_t t0 = gs_mono_ns();
        if (gs_vq_open(v, sp, &q, &err) != GS_OK)
            die("list", err.msg);
        const char *out;
        size_t len;
        int rc;
        found = 0;
        while ((rc = gs_vq_next(q, GS_VFMT_JSON, &out, &len, &err)) == 1)
            found++;
        if (rc < 0)
            die("list", err.msg);
        gs_vq_close(q);
        printf("list channel --where name=general (%s, round %d): %llu of %llu channels in %.3f "
               "ms\n",
               round < 3 ? "scan baseline" : "name index", round % 3 + 1, (unsigned long long)found,
               (unsigned long long)nch, (double)(gs_mono_ns() - t0) / 1e6);
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %.1f MB (now %.1f MB)\n", (double)ru.ru_maxrss * 1024.0 / 1e6, rss_now_mb());
    gs_json_destroy(p);
    if (perf_ctl)
        fclose(perf_ctl);
    free(pend.recs);
    free(pend.bufs);
    if (gs_views_close(v, &err) != GS_OK)
        die("close", err.msg);
    nftw(dir, add_size, 16, FTW_PHYS);
    printf("views on disk after close: %.1f MB\n", (double)disk_bytes / 1e6);
    if (own_dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
