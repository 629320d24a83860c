/*
 * bench_e2e.c - the end-to-end benchmark: generate a workload, ingest it
 * (log + views, BATCH durability) until the views' watermark reaches the
 * head ("confirmed"), query it, rebuild the views, and print one table with
 * baselines measured in the same run on the same file.
 *
 *   gatestore-bench-e2e [--shape default|large|chunked|small] [--scales 1,2,4]
 *                       [--dir DIR] [--input FILE] [--json] [--keep]
 *                       [--malloc-arenas N]   (default 2, as the CLI)
 *                       [--malloc-mmap-threshold BYTES]   (default 2 MiB, as the CLI)
 *
 * Beside the figures, the CPU time each thread spent to confirmed (from
 * /proc/self/task, grouped by thread name) and the cores kept busy: where
 * the time went, without a profiler.
 *
 * The input is streamed (1 MiB reads), never held in memory, so peak RSS is
 * the store's. Baselines: a plain read of the file, `zstd -1 -T1` of it (a
 * child process) and a parse-only pass of the JSON parser (simdjson through
 * gs_json) over every line.
 *
 * To profile the ingest alone (to confirmed): GS_BENCH_PERF_CTL=FIFO makes
 * the bench write "enable" to FIFO before the first line and "disable" once
 * confirmed, for `perf record -D -1 --control fifo:FIFO`.
 */
#include "gs_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "json.h"
#include "linereader.h"

struct shape {
    const char *name;
    unsigned guilds, channels, roles, members, updates;
    int chunked;
};

static const struct shape shapes[] = {
    {"small", 20, 20, 10, 200, 10000, 0},
    {"default", 200, 50, 30, 500, 100000, 0},
    {"chunked", 200, 50, 30, 500, 100000, 1},
    {"large", 1000, 50, 30, 1000, 200000, 0},
};

/* Where the CPU went between the first line and confirmed, by thread, read
 * from /proc (no profiler needed): the ingest (this thread), the views'
 * applier and committer, the log's flusher (it compresses the blocks),
 * RocksDB's flush and compaction threads, then the whole process from
 * getrusage (it also counts threads that ended). */
enum tkind { T_INGEST, T_LOG, T_APPLIER, T_COMMITTER, T_FLUSH, T_COMPACTION, T_TOTAL, T_KINDS };
static const char *const tkind_name[T_KINDS] = {"ingest (this thread)",
                                                "log flusher (gs-log-flush)",
                                                "views applier (gs-applier)",
                                                "views committer (gs-commit)",
                                                "flush (rocksdb:high)",
                                                "compaction (rocksdb:low)",
                                                "whole process"};

/* The parts of a run whose CPU the bench reports, with their table titles
 * and --json names; each part's wall time is part_wall's. */
enum cpu_part { P_CONFIRM, P_SNAPSHOT, P_UPDATE, P_REBUILD, P_COUNT };
static const struct {
    const char *title, *json;
} cpu_parts[P_COUNT] = {
    {"CPU s to confirmed, by thread:", "cpu_s"},
    {"CPU s in the snapshot phase:", "cpu_snapshot_s"},
    {"CPU s in the update phase:", "cpu_update_s"},
    {"CPU s in the rebuild:", "cpu_rebuild_s"},
};

struct result {
    char shape[32];
    unsigned scale;
    uint64_t bytes, lines, frames;
    uint64_t snap_members; /* the shape's guilds x members: all arrive in the snapshot phase */
    double read_mbs, zstd_mbs, parse_mbs;
    double snap_s, upd_s, confirm_s;
    uint64_t snap_bytes, upd_bytes, snap_frames, upd_frames;
    double member_p50_us, member_p99_us, guild_p50_us, guild_p99_us;
    double where_ms;
    uint64_t where_count, channels_total;
    double rebuild_s;
    gs_views_compression comp;     /* the choice in force after the ingest */
    gs_views_compression comp_now; /* what the big families were written with then */
    uint64_t log_bytes, views_bytes;
    long peak_rss_kb;
    long confirmed_peak_rss_kb; /* peak RSS when the views reached the head */
    long queries_peak_rss_kb;   /* ... and after the gets and where-scans */
    gs_views_memory mem;        /* what the views held then */
    double malloc_used_mb;      /* glibc malloc at confirmed: in use by the program, */
    double malloc_free_mb;      /* ... freed but kept by malloc (not returned), */
    double rss_anon_mb;         /* ... and the process's anonymous resident memory */
    /* CPU seconds by thread kind: to confirmed, in the snapshot phase (to
     * its confirmed), in the update phase (from there to confirmed) and in
     * the rebuild (its replay runs on this thread). */
    double cpu_s[P_COUNT][T_KINDS];
};

#define MAX_TASKS 64
struct task_cpu {
    int tid;
    int kind; /* enum tkind, or -1: counted in the whole process only */
    unsigned long long ticks;
};

static int task_kind(const char *comm, int is_self)
{
    if (is_self)
        return T_INGEST;
    if (strcmp(comm, "gs-log-flush") == 0)
        return T_LOG;
    if (strcmp(comm, "gs-applier") == 0)
        return T_APPLIER;
    if (strcmp(comm, "gs-commit") == 0)
        return T_COMMITTER;
    if (strncmp(comm, "rocksdb:high", 12) == 0)
        return T_FLUSH;
    if (strncmp(comm, "rocksdb:low", 11) == 0)
        return T_COMPACTION;
    return -1;
}

/* The process's threads with their user + system ticks; how many. */
static size_t read_tasks(struct task_cpu *t, size_t max)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    int self = (int)gettid();
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* "tid (comm) state ...": comm may hold spaces; utime and stime are
         * the 14th and 15th fields, the 12th and 13th after the ')'. */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close || close < open)
            continue;
        size_t cl = (size_t)(close - open - 1);
        memcpy(comm, open + 1, cl < sizeof(comm) - 1 ? cl : sizeof(comm) - 1);
        unsigned long long ut = 0, stt = 0;
        char *p = close + 1;
        for (int field = 3; field <= 15 && p; field++) {
            while (*p == ' ')
                p++;
            if (field == 14)
                ut = strtoull(p, NULL, 10);
            else if (field == 15)
                stt = strtoull(p, NULL, 10);
            p = strchr(p, ' ');
        }
        t[n].tid = atoi(e->d_name);
        t[n].kind = task_kind(comm, t[n].tid == self);
        t[n].ticks = ut + stt;
        n++;
    }
    closedir(d);
    return n;
}

static double process_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

struct cpu_mark {
    struct task_cpu t[MAX_TASKS];
    size_t n;
    double process_s;
};

static void cpu_mark(struct cpu_mark *m)
{
    m->n = read_tasks(m->t, MAX_TASKS);
    m->process_s = process_cpu_s();
}

/* CPU seconds by kind from mark a to now. A thread that ended in between
 * is only in the whole process's figure. */
static void cpu_since(const struct cpu_mark *a, double out[T_KINDS])
{
    struct cpu_mark b;
    cpu_mark(&b);
    double tick = (double)sysconf(_SC_CLK_TCK);
    for (int k = 0; k < T_KINDS; k++)
        out[k] = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (b.t[i].kind < 0)
            continue;
        unsigned long long before = 0;
        for (size_t j = 0; j < a->n; j++)
            if (a->t[j].tid == b.t[i].tid)
                before = a->t[j].ticks;
        out[b.t[i].kind] += (double)(b.t[i].ticks - before) / tick;
    }
    out[T_TOTAL] = b.process_s - a->process_s;
}

static double now_s(void)
{
    return (double)gs_mono_ns() / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench-e2e: %s: %s\n", what, msg);
    exit(1);
}

/* execvp wants char *const[]; the strings are copied so nothing const is
 * cast away. */
static int run_child_c(const char *const cargv[], const char *out_path);

static int run_child(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, STDOUT_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_child_c(const char *const cargv[], const char *out_path)
{
    char *argv[32];
    size_t n = 0;
    for (; cargv[n] && n < GS_ARRAY_LEN(argv) - 1; n++)
        argv[n] = strdup(cargv[n]);
    argv[n] = NULL;
    int rc = run_child(argv, out_path);
    for (size_t i = 0; i < n; i++)
        free(argv[i]);
    return rc;
}

static void generate(const char *gen, const struct shape *sh, unsigned scale, const char *path)
{
    char g[16], c[16], r[16], m[16], u[16];
    snprintf(g, sizeof(g), "%u", sh->guilds * scale);
    snprintf(c, sizeof(c), "%u", sh->channels);
    snprintf(r, sizeof(r), "%u", sh->roles);
    snprintf(m, sizeof(m), "%u", sh->members);
    snprintf(u, sizeof(u), "%u", sh->updates * scale);
    const char *argv[] = {
        gen, "--guilds",  g, "--channels", c,    "--roles", r,    "--members",
        m,   "--updates", u, "--seed",     "42", "-o",      path, sh->chunked ? "--chunked" : NULL,
        NULL};
    if (run_child_c(argv, NULL) != 0)
        die("generate", "gatestore-gen failed");
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static double baseline_read(const char *path)
{
    static char buf[1 << 20];
    double best = 1e9;
    for (int k = 0; k < 3; k++) {
        int fd = open(path, O_RDONLY);
        double t0 = now_s();
        while (read(fd, buf, sizeof(buf)) > 0) {
        }
        double t = now_s() - t0;
        close(fd);
        best = t < best ? t : best;
    }
    return (double)file_size(path) / 1e6 / best;
}

static double baseline_zstd(const char *path)
{
    const char *argv[] = {"zstd", "-1", "-T1", "-q", "-c", path, NULL};
    double t0 = now_s();
    if (run_child_c(argv, "/dev/null") != 0)
        return 0;
    return (double)file_size(path) / 1e6 / (now_s() - t0);
}

static double baseline_parse(const char *path)
{
    gs_json *p = NULL;
    gs_err err;
    if (gs_json_create(64u << 20, 256, &p, &err))
        die("json", err.msg);
    int fd = open(path, O_RDONLY);
    gs_linereader *lr = NULL;
    if (gs_linereader_open(fd, 64u << 20, &lr, &err))
        die("linereader", err.msg);
    double t0 = now_s();
    gs_line line;
    while (gs_linereader_next(lr, &line, &err) == 1) {
        gs_jval root;
        if (line.len)
            gs_json_parse(p, line.data, line.len, line.cap, &root, &err);
    }
    double t = now_s() - t0;
    gs_linereader_close(lr);
    close(fd);
    gs_json_destroy(p);
    return (double)file_size(path) / 1e6 / t;
}

/* The snapshot phase ends at the first dispatch that is not READY,
 * GUILD_CREATE or GUILD_MEMBERS_CHUNK (the generator writes snapshots
 * first). A cheap look at `"t":"` is enough for generated lines. */
static int is_snapshot_line(const char *p, size_t n)
{
    const char *t = memmem(p, n < 64 ? n : 64, "\"t\":\"", 5);
    if (!t)
        return 1; /* non-dispatch */
    t += 5;
    size_t rest = n - (size_t)(t - p);
    return (rest > 6 && memcmp(t, "READY\"", 6) == 0) ||
           (rest > 13 && memcmp(t, "GUILD_CREATE\"", 13) == 0) ||
           (rest > 20 && memcmp(t, "GUILD_MEMBERS_CHUNK\"", 20) == 0);
}

/* Wait on the views' watermark (gs_wait_confirmed) rather than polling
 * gs_views_status_get: each status read takes and releases a RocksDB
 * snapshot, and every release makes RocksDB 7.8 mark the last level's
 * newest files for a rewrite that only zeroes their sequence numbers
 * (compaction reason "BottommostFiles"); polling every 200 us did that
 * thousands of times a second while the views caught up. */
static void wait_confirmed(gs_store *st)
{
    uint64_t head = gs_store_head_lsn(st);
    int rc;
    while ((rc = gs_wait_confirmed(st, head, 1000)) == GS_ETIMEOUT)
        ;
    if (rc != GS_OK)
        die("waiting for confirmed", gs_store_errmsg(st));
}

/* perf's control FIFO (GS_BENCH_PERF_CTL), or NULL. */
static FILE *perf_ctl;

static void perf_say(const char *cmd)
{
    if (perf_ctl) {
        fputs(cmd, perf_ctl);
        fflush(perf_ctl);
    }
}

static void ingest(gs_store *st, const char *path, struct result *r)
{
    gs_err err;
    int fd = open(path, O_RDONLY);
    gs_linereader *lr = NULL;
    if (fd < 0 || gs_linereader_open(fd, 64u << 20, &lr, &err))
        die("open input", path);
    int phase = 0;
    struct cpu_mark cpu0, cpu1;
    cpu_mark(&cpu0);
    perf_say("enable\n");
    double t0 = now_s(), t_phase = t0;
    gs_line line;
    int rc;
    while ((rc = gs_linereader_next(lr, &line, &err)) == 1) {
        if (line.len == 0)
            continue;
        if (phase == 0 && !is_snapshot_line(line.data, line.len)) {
            gs_store_sync(st);
            wait_confirmed(st);
            double t = now_s();
            cpu_since(&cpu0, r->cpu_s[P_SNAPSHOT]);
            cpu_mark(&cpu1);
            r->snap_s = t - t0;
            t_phase = t;
            phase = 1;
        }
        uint64_t lsn;
        rc = gs_ingest_line_cap(st, line.data, line.len, line.cap, NULL, &lsn);
        if (rc < 0)
            die("ingest", gs_store_errmsg(st));
        if (phase == 0) {
            r->snap_bytes += line.len + 1;
            r->snap_frames += rc == GS_OK;
        } else {
            r->upd_bytes += line.len + 1;
            r->upd_frames += rc == GS_OK;
        }
        r->lines++;
    }
    gs_store_sync(st);
    wait_confirmed(st);
    double t = now_s();
    cpu_since(&cpu0, r->cpu_s[P_CONFIRM]);
    if (phase == 0) {
        r->snap_s = t - t0;
        memcpy(r->cpu_s[P_SNAPSHOT], r->cpu_s[P_CONFIRM], sizeof(r->cpu_s[P_CONFIRM]));
    } else {
        r->upd_s = t - t_phase;
        cpu_since(&cpu1, r->cpu_s[P_UPDATE]);
    }
    r->confirm_s = t - t0;
    perf_say("disable\n");
    r->frames = r->snap_frames + r->upd_frames;
    gs_linereader_close(lr);
    close(fd);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Collect ids to query: (guild, user) of members and guild ids, through the
 * query API itself (untimed). */
static size_t collect_ids(gs_store *st, const char *type, uint64_t *guild, uint64_t *id, size_t max)
{
    gs_query *q = NULL;
    if (gs_query_create(st, type, &q) != GS_OK)
        die("query", gs_store_errmsg(st));
    gs_query_limit(q, max);
    gs_json *p = NULL;
    gs_err err;
    gs_json_create(1u << 24, 64, &p, &err);
    size_t n = 0;
    const char *js;
    size_t len;
    while (n < max && gs_query_next(q, &js, &len) == 1) {
        gs_jval root, v, u;
        if (gs_json_parse(p, js, len, len, &root, &err) != GS_OK)
            continue;
        uint64_t g = 0, i = 0;
        if (strcmp(type, "member") == 0) {
            if (gs_json_getz(root, "guild_id", &v) && gs_json_getz(root, "user", &u) &&
                gs_json_getz(u, "id", &u) && gs_json_snowflake(v, &g) == 0 &&
                gs_json_snowflake(u, &i) == 0) {
                guild[n] = g;
                id[n++] = i;
            }
        } else if (gs_json_getz(root, "id", &v) && gs_json_snowflake(v, &i) == 0) {
            guild[n] = 0;
            id[n++] = i;
        }
    }
    gs_json_destroy(p);
    gs_query_destroy(q);
    return n;
}

static void time_gets(gs_store *st, const char *type, size_t rounds, double *p50, double *p99)
{
    enum { MAXIDS = 200000 };
    uint64_t *g = malloc(MAXIDS * sizeof(*g)), *id = malloc(MAXIDS * sizeof(*id));
    size_t n = collect_ids(st, type, g, id, MAXIDS);
    if (n == 0)
        die("gets", "no ids found");
    double *lat = malloc(rounds * sizeof(*lat));
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < rounds + rounds / 10; k++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t i = (size_t)(rng % n);
        char *out = NULL;
        size_t len;
        uint64_t t0 = gs_mono_ns();
        int rc = gs_get_msgpack(st, type, id[i], g[i], &out, &len);
        uint64_t t1 = gs_mono_ns();
        if (rc != GS_OK)
            die("get", gs_store_errmsg(st));
        gs_free(out);
        if (k >= rounds / 10) /* the first tenth warms the cache */
            lat[k - rounds / 10] = (double)(t1 - t0) / 1e3;
    }
    qsort(lat, rounds, sizeof(*lat), cmp_double);
    *p50 = lat[rounds / 2];
    *p99 = lat[rounds * 99 / 100];
    free(lat);
    free(g);
    free(id);
}

static void time_where(gs_store *st, struct result *r)
{
    gs_query *q = NULL;
    uint64_t total = 0;
    if (gs_query_create(st, "channel", &q) != GS_OK || gs_query_count(q, &total) != GS_OK)
        die("count channels", gs_store_errmsg(st));
    gs_query_destroy(q);
    r->channels_total = total;
    double best = 1e9;
    for (int k = 0; k < 5; k++) {
        double t0 = now_s();
        gs_query_create(st, "channel", &q);
        gs_query_where(q, "name", "general");
        const char *js;
        size_t len;
        uint64_t n = 0;
        while (gs_query_next(q, &js, &len) == 1)
            n++;
        gs_query_destroy(q);
        double t = now_s() - t0;
        best = t < best ? t : best;
        r->where_count = n;
    }
    r->where_ms = best * 1e3;
}

static uint64_t du_total;
static int du_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)p;
    (void)f;
    if (flag == FTW_F)
        du_total += (uint64_t)sb->st_size;
    return 0;
}
static uint64_t du(const char *path)
{
    du_total = 0;
    nftw(path, du_one, 16, FTW_PHYS);
    return du_total;
}
static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

/* --entity-cache-mb, --block-cache-mb, --write-buffer-mb (0: default). */
static uint64_t budget_mb[3];
/* --views-compression (DEFAULT: new views' auto). */
static gs_views_compression views_comp;

/* Where the process's resident memory beyond the views' own figures is:
 * glibc's malloc statistics (in use, including blocks it mmaps; freed but
 * kept in its arenas) and RssAnon from /proc. Zero where unavailable. */
static void malloc_figures(struct result *r)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    r->malloc_used_mb = (double)(mi.uordblks + mi.hblkhd) / 1e6;
    r->malloc_free_mb = (double)mi.fordblks / 1e6;
#endif
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
            r->rss_anon_mb = (double)kb * 1024.0 / 1e6;
    if (f)
        fclose(f);
}

static void run_one(const char *gen, const struct shape *sh, unsigned scale, const char *dir,
                    const char *input, int keep, struct result *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->shape, sizeof(r->shape), "%s", sh->name);
    r->scale = scale;
    char path[PATH_MAX], store[PATH_MAX + 64], sub[PATH_MAX + 128];
    if (input) {
        snprintf(path, sizeof(path), "%s", input);
    } else {
        snprintf(path, sizeof(path), "%s/%s-x%u.ndjson", dir, sh->name, scale);
        generate(gen, sh, scale, path);
    }
    r->bytes = file_size(path);
    r->snap_members = (uint64_t)sh->guilds * scale * sh->members;
    r->read_mbs = baseline_read(path);
    r->zstd_mbs = baseline_zstd(path);
    r->parse_mbs = baseline_parse(path);

    snprintf(store, sizeof(store), "%s/store-%s-x%u", dir, sh->name, scale);
    nftw(store, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    gs_options *o = NULL;
    gs_options_create(&o);
    gs_options_set_create(o, 1);
    gs_options_set_durability(o, GS_DURABILITY_BATCH);
    if (gs_options_set_views_memory(o, budget_mb[0] << 20, budget_mb[1] << 20,
                                    budget_mb[2] << 20) != GS_OK)
        die("memory budgets", "each is 0 (default) or 1 MiB .. 1 TiB");
    if (gs_options_set_views_compression(o, views_comp) != GS_OK)
        die("views compression", "auto, zstd or lz4");
    gs_store *st = NULL;
    if (gs_store_open(store, o, &st) != GS_OK)
        die("open", gs_open_errmsg());
    ingest(st, path, r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->confirmed_peak_rss_kb = ru.ru_maxrss;
    if (gs_views_memory_get(st, &r->mem) != GS_OK)
        die("views memory", gs_store_errmsg(st));
    malloc_figures(r);
    if (gs_views_compression_get(st, &r->comp) != GS_OK ||
        gs_views_compression_now(st, &r->comp_now) != GS_OK)
        die("views compression", gs_store_errmsg(st));

    time_gets(st, "member", 200000, &r->member_p50_us, &r->member_p99_us);
    time_gets(st, "guild", 100000, &r->guild_p50_us, &r->guild_p99_us);
    time_where(st, r);
    getrusage(RUSAGE_SELF, &ru);
    r->queries_peak_rss_kb = ru.ru_maxrss;
    struct cpu_mark cpu_rb;
    cpu_mark(&cpu_rb);
    double t0 = now_s();
    if (gs_views_rebuild(st) != GS_OK)
        die("rebuild", gs_store_errmsg(st));
    r->rebuild_s = now_s() - t0;
    cpu_since(&cpu_rb, r->cpu_s[P_REBUILD]);
    gs_store_close(st);
    gs_options_destroy(o);
    snprintf(sub, sizeof(sub), "%s/log", store);
    r->log_bytes = du(sub);
    snprintf(sub, sizeof(sub), "%s/views", store);
    r->views_bytes = du(sub);
    getrusage(RUSAGE_SELF, &ru);
    r->peak_rss_kb = ru.ru_maxrss;
    if (!keep) {
        nftw(store, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        if (!input)
            unlink(path);
    }
}

/* "zstd", "lz4", or "auto: zstd" / "auto: lz4" (what was written at
 * confirmed). */
static const char *comp_label(const struct result *r)
{
    if (r->comp != GS_VIEWS_COMPRESSION_AUTO)
        return gs_cli_compression_name(r->comp_now);
    return r->comp_now == GS_VIEWS_COMPRESSION_LZ4 ? "auto: lz4" : "auto: zstd";
}

static double part_wall(const struct result *r, enum cpu_part p)
{
    switch (p) {
    case P_SNAPSHOT:
        return r->snap_s;
    case P_UPDATE:
        return r->upd_s;
    case P_REBUILD:
        return r->rebuild_s;
    default:
        return r->confirm_s;
    }
}

/* Process CPU over wall time for one part of a run; 0 when the part took
 * no time. */
static double cpu_share(const struct result *r, enum cpu_part p)
{
    double wall = part_wall(r, p);
    return wall > 0 ? r->cpu_s[p][T_TOTAL] / wall : 0;
}

static void print_table(const struct result *r, size_t n)
{
    printf("%-34s", "figure");
    for (size_t i = 0; i < n; i++) {
        char h[64];
        snprintf(h, sizeof(h), "%.31s x%u", r[i].shape, r[i].scale);
        printf(" %14s", h);
    }
    printf("\n");
#define ROW(label, fmt, expr)                                                                      \
    do {                                                                                           \
        printf("%-34s", label);                                                                    \
        for (size_t i = 0; i < n; i++)                                                             \
            printf(" %14" fmt, expr);                                                              \
        printf("\n");                                                                              \
    } while (0)
    ROW("input MB", ".1f", (double)r[i].bytes / 1e6);
    ROW("frames stored", PRIu64, r[i].frames);
    ROW("views compression (big families)", "s", comp_label(&r[i]));
    ROW("baseline: plain read MB/s", ".0f", r[i].read_mbs);
    ROW("baseline: zstd -1 -T1 MB/s", ".1f", r[i].zstd_mbs);
    ROW("baseline: simdjson parse MB/s", ".1f", r[i].parse_mbs);
    ROW("ingest to confirmed s", ".3f", r[i].confirm_s);
    ROW("ingest to confirmed MB/s", ".1f", (double)r[i].bytes / 1e6 / r[i].confirm_s);
    ROW("  ratio to zstd -1", ".2f", (double)r[i].bytes / 1e6 / r[i].confirm_s / r[i].zstd_mbs);
    ROW("snapshot phase MB/s", ".1f", (double)r[i].snap_bytes / 1e6 / r[i].snap_s);
    ROW("snapshot phase frames/s", ".0f", (double)r[i].snap_frames / r[i].snap_s);
    ROW("snapshot phase members/s", ".0f", (double)r[i].snap_members / r[i].snap_s);
    ROW("update phase events/s", ".0f", r[i].upd_s > 0 ? (double)r[i].upd_frames / r[i].upd_s : 0);
    ROW("update phase MB/s", ".1f", r[i].upd_s > 0 ? (double)r[i].upd_bytes / 1e6 / r[i].upd_s : 0);
    ROW("member get p50 us", ".2f", r[i].member_p50_us);
    ROW("member get p99 us", ".2f", r[i].member_p99_us);
    ROW("guild get p50 us", ".2f", r[i].guild_p50_us);
    ROW("guild get p99 us", ".2f", r[i].guild_p99_us);
    ROW("channels in views", PRIu64, r[i].channels_total);
    ROW("where name=general ms", ".3f", r[i].where_ms);
    ROW("  matches", PRIu64, r[i].where_count);
    ROW("rebuild views s", ".3f", r[i].rebuild_s);
    ROW("rebuild MB/s of raw frames", ".1f", (double)r[i].bytes / 1e6 / r[i].rebuild_s);
    ROW("log on disk MB", ".1f", (double)r[i].log_bytes / 1e6);
    ROW("views on disk MB", ".1f", (double)r[i].views_bytes / 1e6);
    /* ru_maxrss is in KiB. The target is in MB (10^6 bytes, as the
     * sizes on disk); these rows were MiB, labelled MB, until the eighth
     * session (README, "Peak RSS in MB"). */
    ROW("peak RSS MB (process so far)", ".1f", (double)r[i].peak_rss_kb * 1024.0 / 1e6);
    ROW("  peak RSS MB by confirmed", ".1f", (double)r[i].confirmed_peak_rss_kb * 1024.0 / 1e6);
    ROW("  peak RSS MB by end of queries", ".1f", (double)r[i].queries_peak_rss_kb * 1024.0 / 1e6);
    ROW("  peak RSS MiB (process so far)", ".1f", (double)r[i].peak_rss_kb / 1024.0);
    /* The same threads over each part: where a phase's time goes, and
     * whether one thread is its limit (busy all along) or both cores are. */
    for (int p = 0; p < P_COUNT; p++) {
        ROW(cpu_parts[p].title, "s", "");
        for (int k = 0; k < T_KINDS; k++) {
            char label[48];
            snprintf(label, sizeof(label), "  %s",
                     p == P_REBUILD && k == T_INGEST ? "replay (this thread)" : tkind_name[k]);
            ROW(label, ".2f", r[i].cpu_s[p][k]);
        }
        ROW("  cores busy (process CPU / wall)", ".2f", cpu_share(&r[i], (enum cpu_part)p));
    }
    ROW("views memory at confirmed:", "s", "");
    ROW("  entity cache MB", ".1f", (double)r[i].mem.entity_cache_bytes / 1e6);
    ROW("  entity cache entries", PRIu64, r[i].mem.entity_cache_entries);
    ROW("  id sets and user map MB", ".1f", (double)r[i].mem.id_sets_bytes / 1e6);
    ROW("  block cache MB", ".1f", (double)r[i].mem.block_cache_bytes / 1e6);
    ROW("  memtables MB", ".1f", (double)r[i].mem.memtable_bytes / 1e6);
    ROW("  table readers MB", ".1f", (double)r[i].mem.table_readers_bytes / 1e6);
    ROW("process memory at confirmed:", "s", "");
    ROW("  anonymous resident MB", ".1f", r[i].rss_anon_mb);
    ROW("  malloc in use MB", ".1f", r[i].malloc_used_mb);
    ROW("  malloc freed, kept MB", ".1f", r[i].malloc_free_mb);
#undef ROW
}

static void print_json_cpu(const char *name, const double *c)
{
    printf(",\"%s\":{\"ingest\":%.3f,\"log_flusher\":%.3f,\"applier\":%.3f,\"committer\":%.3f,"
           "\"flush\":%.3f,\"compaction\":%.3f,\"process\":%.3f}",
           name, c[T_INGEST], c[T_LOG], c[T_APPLIER], c[T_COMMITTER], c[T_FLUSH], c[T_COMPACTION],
           c[T_TOTAL]);
}

static void print_json(const struct result *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("{\"format\":1,\"shape\":\"%s\",\"scale\":%u,\"views_compression\":\"%s\","
               "\"views_compression_choice\":\"%s\","
               "\"bytes\":%" PRIu64 ",\"frames\":%" PRIu64
               ",\"read_mbs\":%.1f,\"zstd_mbs\":%.1f,\"parse_mbs\":%.1f,"
               "\"confirm_s\":%.4f,\"snapshot_s\":%.4f,\"snapshot_members\":%" PRIu64
               ",\"update_s\":%.4f,\"update_events\":%" PRIu64
               ",\"member_p50_us\":%.3f,\"member_p99_us\":%.3f,\"guild_p50_us\":%.3f,"
               "\"guild_p99_us\":%.3f,\"where_ms\":%.4f,\"where_matches\":%" PRIu64
               ",\"channels\":%" PRIu64 ",\"rebuild_s\":%.4f,\"log_bytes\":%" PRIu64
               ",\"views_bytes\":%" PRIu64
               ",\"peak_rss_kb\":%ld,\"confirmed_peak_rss_kb\":%ld,\"queries_peak_rss_kb\":%ld,"
               "\"entity_cache_bytes\":%" PRIu64 ",\"block_cache_bytes\":%" PRIu64
               ",\"memtable_bytes\":%" PRIu64 ",\"table_readers_bytes\":%" PRIu64,
               r[i].shape, r[i].scale, gs_cli_compression_name(r[i].comp_now),
               gs_cli_compression_name(r[i].comp), r[i].bytes, r[i].frames, r[i].read_mbs,
               r[i].zstd_mbs, r[i].parse_mbs, r[i].confirm_s, r[i].snap_s, r[i].snap_members,
               r[i].upd_s, r[i].upd_frames, r[i].member_p50_us, r[i].member_p99_us,
               r[i].guild_p50_us, r[i].guild_p99_us, r[i].where_ms, r[i].where_count,
               r[i].channels_total, r[i].rebuild_s, r[i].log_bytes, r[i].views_bytes,
               r[i].peak_rss_kb, r[i].confirmed_peak_rss_kb, r[i].queries_peak_rss_kb,
               r[i].mem.entity_cache_bytes, r[i].mem.block_cache_bytes, r[i].mem.memtable_bytes,
               r[i].mem.table_readers_bytes);
        print_json_cpu(cpu_parts[P_CONFIRM].json, r[i].cpu_s[P_CONFIRM]);
        printf(",\"id_sets_bytes\":%" PRIu64 ",\"entity_cache_entries\":%" PRIu64
               ",\"rss_anon_mb\":%.1f,\"malloc_used_mb\":%.1f,\"malloc_free_mb\":%.1f",
               r[i].mem.id_sets_bytes, r[i].mem.entity_cache_entries, r[i].rss_anon_mb,
               r[i].malloc_used_mb, r[i].malloc_free_mb);
        for (int p = P_SNAPSHOT; p < P_COUNT; p++)
            print_json_cpu(cpu_parts[p].json, r[i].cpu_s[p]);
        printf("}\n");
    }
}

int main(int argc, char **argv)
{
    const char *shape = "default", *dir = "/tmp", *input = NULL, *scales = "1";
    int json = 0, keep = 0;
    unsigned arenas = 2; /* as the CLI (tools/gatestore.c); 0: glibc's default */
    size_t mmap_threshold = GS_MALLOC_MMAP_THRESHOLD; /* likewise */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--shape") == 0 && v)
            shape = argv[++i];
        else if (strcmp(a, "--scales") == 0 && v)
            scales = argv[++i];
        else if (strcmp(a, "--dir") == 0 && v)
            dir = argv[++i];
        else if (strcmp(a, "--input") == 0 && v)
            input = argv[++i];
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--keep") == 0)
            keep = 1;
        else if (strcmp(a, "--entity-cache-mb") == 0 && v)
            budget_mb[0] = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--block-cache-mb") == 0 && v)
            budget_mb[1] = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--write-buffer-mb") == 0 && v)
            budget_mb[2] = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--malloc-arenas") == 0 && v)
            arenas = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--malloc-mmap-threshold") == 0 && v)
            mmap_threshold = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--views-compression") == 0 && v &&
                 gs_cli_parse_compression(v, &views_comp) == 0)
            i++;
        else {
            fprintf(stderr, "usage: gatestore-bench-e2e [--shape small|default|chunked|large] "
                            "[--scales 1,2,4] [--dir DIR] [--input FILE] [--json] [--keep]\n"
                            "       [--entity-cache-mb N] [--block-cache-mb N] "
                            "[--write-buffer-mb N]   (views memory budgets; 0 = default)\n"
                            "       [--views-compression auto|zstd|lz4] [--malloc-arenas N]   "
                            "(default 2, as the CLI; 0 = glibc's default)\n"
                            "       [--malloc-mmap-threshold BYTES]   (default 2097152, as the "
                            "CLI; 0 = glibc's dynamic threshold)\n");
            return 2;
        }
    }
    /* Before any thread. Peak RSS depends on it (gatestore.h). */
    int applied = 0; /* left 0 when refused */
    if (arenas)
        (void)gs_set_malloc_arenas(arenas, &applied);
    if (applied)
        fprintf(stderr, "bench-e2e: malloc arenas: %u\n", arenas);
    else
        fprintf(stderr, "bench-e2e: malloc arenas: %s\n",
                arenas ? "not set (the environment chooses, or refused)" : "glibc's default");
    applied = 0;
    if (mmap_threshold && gs_set_malloc_mmap_threshold(mmap_threshold, &applied) == GS_EMISUSE)
        die("--malloc-mmap-threshold", "1 .. 33554432 bytes, or 0 for glibc's default");
    if (applied)
        fprintf(stderr, "bench-e2e: malloc mmap threshold: %zu bytes\n", mmap_threshold);
    else
        fprintf(stderr, "bench-e2e: malloc mmap threshold: %s\n",
                mmap_threshold ? "not set (the environment chooses, or refused)"
                               : "glibc's dynamic default");
    const struct shape *sh = NULL;
    for (size_t i = 0; i < GS_ARRAY_LEN(shapes); i++)
        if (strcmp(shapes[i].name, shape) == 0)
            sh = &shapes[i];
    if (!sh)
        die("--shape", "unknown shape");
    const char *ctl = getenv("GS_BENCH_PERF_CTL");
    if (ctl && !(perf_ctl = fopen(ctl, "w")))
        die(ctl, "cannot open the perf control FIFO");
    char self[PATH_MAX], gen[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        die("readlink", "cannot find my own directory");
    self[n] = '\0';
    snprintf(gen, sizeof(gen), "%s/gatestore-gen", dirname(self));

    struct result res[8];
    size_t nres = 0;
    char *sc = strdup(scales);
    for (char *tok = strtok(sc, ","); tok && nres < GS_ARRAY_LEN(res); tok = strtok(NULL, ",")) {
        unsigned k = (unsigned)strtoul(tok, NULL, 10);
        if (k == 0)
            die("--scales", tok);
        fprintf(stderr, "bench-e2e: %s x%u...\n", sh->name, k);
        run_one(gen, sh, k, dir, input, keep, &res[nres++]);
    }
    free(sc);
    if (json)
        print_json(res, nres);
    else
        print_table(res, nres);
    if (nres > 1 && !json) {
        printf("\ncost growth (ingest-to-confirmed seconds per MB, relative to x%u):",
               res[0].scale);
        for (size_t i = 0; i < nres; i++)
            printf(" x%u %.2f", res[i].scale,
                   (res[i].confirm_s / (double)res[i].bytes) /
                       (res[0].confirm_s / (double)res[0].bytes));
        printf("\n");
    }
    return 0;
}
