/*
 * bench_log.c - gatestore-bench-log FILE.ndjson [--dir D] [--batch-ms N]
 *
 * Measures the segment log alone: the NDJSON file is read into memory and
 * every line is appended as one record through gs_log_append (the event
 * name found by a cheap scan for "t":"...", no JSON parsing), in each
 * durability mode, each into a fresh directory. Baselines measured in the
 * same run on the same file: read() of the file into a buffer, the zstd
 * CLI at level 1 on one thread, and libzstd level 1 in-process.
 * MB are 10^6 bytes of raw frames (line bytes without the newline).
 */
#include "gs_common.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

typedef struct line {
    const char *p;
    size_t len;
    const char *ev;
    size_t ev_len;
} line;

typedef struct result {
    const char *name;
    double secs;
    uint64_t bytes;
    uint64_t frames;
    uint64_t disk_bytes;
} result;

static void usage(void)
{
    fprintf(stderr, "usage: gatestore-bench-log FILE.ndjson [--dir D] [--batch-ms N]\n"
                    "  --dir D       where to create the logs (default: a new dir in /tmp)\n"
                    "  --batch-ms N  BATCH flush interval (default 10)\n");
}

static void rmrf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        rmrf(p);
    }
    closedir(d);
    rmdir(path);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    fstat(fd, &st);
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return buf;
}

/* The event name: the string after "t":" (cheap scan, not a JSON parse). */
static void find_event(line *l)
{
    l->ev = NULL;
    l->ev_len = 0;
    const char *k = memmem(l->p, l->len, "\"t\":\"", 5);
    if (!k)
        return;
    const char *s = k + 5;
    const char *e = memchr(s, '"', (size_t)(l->p + l->len - s));
    if (e) {
        l->ev = s;
        l->ev_len = (size_t)(e - s);
    }
}

static double secs_since(uint64_t t0)
{
    return (double)(gs_mono_ns() - t0) / 1e9;
}

static result bench_read(const char *path, uint64_t size)
{
    result r = {"read() into a buffer", 0, size, 0, 0};
    char *buf = malloc(1 << 20);
    uint64_t t0 = gs_mono_ns();
    int fd = open(path, O_RDONLY);
    while (fd >= 0 && read(fd, buf, 1 << 20) > 0)
        ;
    if (fd >= 0)
        close(fd);
    r.secs = secs_since(t0);
    free(buf);
    return r;
}

static result bench_zstd_cli(const char *path, uint64_t size)
{
    result r = {"zstd -1 -T1 -c FILE >/dev/null", -1, size, 0, 0};
    uint64_t t0 = gs_mono_ns();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execlp("zstd", "zstd", "-1", "-T1", "-q", "-c", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        r.secs = secs_since(t0);
    return r;
}

static result bench_zstd_lib(const char *data, size_t size)
{
    result r = {"libzstd level 1, in-process", 0, size, 0, 0};
    size_t cap = ZSTD_compressBound(size);
    char *out = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    uint64_t t0 = gs_mono_ns();
    size_t n = ZSTD_compressCCtx(c, out, cap, data, size, 1);
    r.secs = secs_since(t0);
    r.disk_bytes = ZSTD_isError(n) ? 0 : n;
    ZSTD_freeCCtx(c);
    free(out);
    return r;
}

/* Append lines[0..n) in groups of `group` records per call. */
static result bench_log(const char *name, const char *dir, int durability, uint32_t batch_ms,
                        const line *lines, size_t n, size_t group)
{
    result r = {name, -1, 0, n, 0};
    rmrf(dir);
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = durability;
    o.batch_ms = batch_ms;
    gs_log *log;
    gs_err e;
    if (gs_log_open(dir, &o, &log, &e) != GS_OK) {
        fprintf(stderr, "bench-log: %s\n", e.msg);
        return r;
    }
    gs_log_rec_in *in = calloc(group, sizeof(*in));
    int64_t t_base = 1700000000000000LL;
    uint64_t t0 = gs_mono_ns();
    for (size_t i = 0; i < n; i += group) {
        size_t k = n - i < group ? n - i : group;
        for (size_t j = 0; j < k; j++) {
            const line *l = &lines[i + j];
            in[j] = (gs_log_rec_in){.recv_us = t_base + (int64_t)(i + j),
                                    .shard = -1,
                                    .op = 0,
                                    .seq = -1,
                                    .event = l->ev,
                                    .event_len = l->ev_len,
                                    .raw = l->p,
                                    .raw_len = l->len};
            r.bytes += l->len;
        }
        if (gs_log_append(log, in, k, NULL, &e) != GS_OK) {
            fprintf(stderr, "bench-log: append: %s\n", e.msg);
            gs_log_close(log, NULL);
            free(in);
            return r;
        }
    }
    if (gs_log_close(log, &e) != GS_OK) {
        fprintf(stderr, "bench-log: close: %s\n", e.msg);
        free(in);
        return r;
    }
    r.secs = secs_since(t0);
    free(in);
    gs_log_stats st;
    if (gs_log_stat_dir(dir, NULL, &st, &e) == GS_OK)
        r.disk_bytes = st.file_bytes;
    return r;
}

static void print_row(const result *r)
{
    if (r->secs < 0) {
        printf("%-36s %10s\n", r->name, "failed");
        return;
    }
    double mbs = r->secs > 0 ? (double)r->bytes / 1e6 / r->secs : 0;
    printf("%-36s %9.3f %10.1f", r->name, r->secs, mbs);
    if (r->frames)
        printf(" %12.0f", r->secs > 0 ? (double)r->frames / r->secs : 0);
    else
        printf(" %12s", "-");
    if (r->disk_bytes)
        printf(" %9.2fx", (double)r->bytes / (double)r->disk_bytes);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    uint32_t batch_ms = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--batch-ms") && i + 1 < argc)
            batch_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            usage();
            return 2;
        }
    }
    if (!file || batch_ms == 0) {
        usage();
        return 2;
    }
    char tmpl[] = "/tmp/gs-bench-log-XXXXXX";
    int own_dir = 0;
    if (!dir) {
        dir = mkdtemp(tmpl);
        own_dir = 1;
    } else {
        mkdir(dir, 0755);
    }
    size_t size;
    char *data = read_file(file, &size);
    if (!data || !dir) {
        fprintf(stderr, "bench-log: cannot read %s: %s\n", file, strerror(errno));
        return 1;
    }
    size_t cap = 1024, n = 0;
    line *lines = malloc(cap * sizeof(*lines));
    for (size_t pos = 0; pos < size;) {
        const char *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t len = end - pos;
        if (len && data[pos + len - 1] == '\r')
            len--;
        if (len) {
            if (n == cap)
                lines = realloc(lines, (cap *= 2) * sizeof(*lines));
            lines[n] = (line){data + pos, len, NULL, 0};
            find_event(&lines[n]);
            n++;
        }
        pos = end + 1;
    }
    printf("file %s: %zu bytes, %zu lines\n", file, size, n);

    char d_batch[4096], d_off[4096], d_sync1[4096], d_syncg[4096];
    snprintf(d_batch, sizeof(d_batch), "%s/batch", dir);
    snprintf(d_off, sizeof(d_off), "%s/off", dir);
    snprintf(d_sync1, sizeof(d_sync1), "%s/sync1", dir);
    snprintf(d_syncg, sizeof(d_syncg), "%s/sync1000", dir);

    result rs[8];
    int k = 0;
    rs[k++] = bench_read(file, size);
    result zcli = bench_zstd_cli(file, size);
    rs[k++] = zcli;
    rs[k++] = bench_zstd_lib(data, size);
    char bname[64];
    snprintf(bname, sizeof(bname), "log BATCH (%u ms), 1/append", batch_ms);
    result batch = bench_log(bname, d_batch, GS_DURABILITY_BATCH, batch_ms, lines, n, 1);
    rs[k++] = batch;
    rs[k++] = bench_log("log OFF, 1/append", d_off, GS_DURABILITY_OFF, batch_ms, lines, n, 1);
    size_t n1 = n < 2000 ? n : 2000;
    rs[k++] = bench_log("log SYNC, 1/append (first 2000)", d_sync1, GS_DURABILITY_SYNC, batch_ms,
                        lines, n1, 1);
    rs[k++] =
        bench_log("log SYNC, 1000/append", d_syncg, GS_DURABILITY_SYNC, batch_ms, lines, n, 1000);

    printf("%-36s %9s %10s %12s %10s\n", "what", "seconds", "MB/s", "frames/s", "ratio");
    for (int i = 0; i < k; i++)
        print_row(&rs[i]);
    if (zcli.secs > 0 && batch.secs > 0) {
        double zr = (double)zcli.bytes / zcli.secs, br = (double)batch.bytes / batch.secs;
        printf("BATCH / zstd -1 CLI speed: %.0f %%\n", 100.0 * br / zr);
    }
    if (own_dir)
        rmrf(dir);
    else {
        rmrf(d_batch);
        rmrf(d_off);
        rmrf(d_sync1);
        rmrf(d_syncg);
    }
    free(lines);
    free(data);
    return 0;
}
