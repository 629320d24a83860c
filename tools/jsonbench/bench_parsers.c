/*
 * bench_parsers.c - which JSON parser for gatestore: a measurement.
 *
 *   gatestore-jsonbench FILE.ndjson [--runs N] [--only TEXT] [--wall]
 *
 * Loads FILE into memory, then for each candidate parses and validates every
 * non-blank line, best of N runs (default 3). DOM parsers also read op, t and
 * s and walk the whole of `d` (every node, every string's bytes), so the cost
 * of getting at the data is counted, not only tokenising. Prints one table:
 * MB/s over the file's bytes, and lines/s. The node and string-byte totals
 * are a cross-check: every DOM parser must see the same tree. --only runs
 * the candidates whose name or API contains TEXT.
 *
 * Candidates: simdjson through gatestore's adapter (src/json.h, in place and
 * with a copy) and through gs_frame_parse, yajl (tree and callback parser
 * with no callbacks), json-c, jansson, cJSON; baseline: memchr for newlines.
 * These libraries are used only here; libgatestore depends on simdjson alone.
 */
#include "gs_common.h"
#include "frame.h"
#include "json.h"

#include "bench.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*bench_fn)(const corpus *c, tally *t);

/* CPU time of this (single-threaded) process by default: on a shared
 * machine, time spent descheduled is not the parser's. --wall for wall time. */
static int g_wall;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(g_wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- gs_json */

static gs_json *g_gs;

static void walk_gs(gs_jval v, tally *t)
{
    t->nodes++;
    gs_jiter it;
    gs_jval e;
    const char *s;
    size_t n;
    switch (gs_json_type(v)) {
    case GS_JSTRING:
        gs_json_string(v, &s, &n);
        t->str_bytes += n;
        break;
    case GS_JARRAY:
        gs_json_arr_begin(v, &it);
        while (gs_json_arr_next(&it, &e))
            walk_gs(e, t);
        break;
    case GS_JOBJECT:
        gs_json_obj_begin(v, &it);
        while (gs_json_obj_next(&it, &s, &n, &e)) {
            t->str_bytes += n;
            walk_gs(e, t);
        }
        break;
    default:
        break;
    }
}

static void use_gs(gs_jval root, tally *t)
{
    gs_jval v;
    int64_t x;
    const char *s;
    size_t n;
    if (gs_json_getz(root, "op", &v) && gs_json_int64(v, &x) == 0)
        t->opsum += (uint64_t)x;
    if (gs_json_getz(root, "s", &v) && gs_json_int64(v, &x) == 0)
        t->opsum += (uint64_t)x;
    if (gs_json_getz(root, "t", &v) && gs_json_string(v, &s, &n) == 0)
        t->opsum += n;
    if (gs_json_getz(root, "d", &v))
        walk_gs(v, t);
}

static void bench_gs_inplace(const corpus *c, tally *t)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        gs_jval root;
        /* Everything after the line up to the end of the buffer is readable. */
        size_t cap = (size_t)(c->buf + c->len + GS_JSON_PADDING - l->p);
        if (gs_json_parse(g_gs, l->p, l->len, cap, &root, NULL) != GS_OK) {
            t->bad++;
            continue;
        }
        t->ok++;
        use_gs(root, t);
    }
}

static void bench_gs_copy(const corpus *c, tally *t)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        gs_jval root;
        if (gs_json_parse(g_gs, l->p, l->len, l->len, &root, NULL) != GS_OK) {
            t->bad++;
            continue;
        }
        t->ok++;
        use_gs(root, t);
    }
}

static void bench_gs_frame(const corpus *c, tally *t)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        gs_frame f;
        size_t cap = (size_t)(c->buf + c->len + GS_JSON_PADDING - l->p);
        if (gs_frame_parse(g_gs, l->p, l->len, cap, &f, NULL) != GS_OK) {
            t->bad++;
            continue;
        }
        t->ok++;
        t->opsum += (uint64_t)f.op + (f.seq > 0 ? (uint64_t)f.seq : 0) + f.event_len;
    }
}

/* ------------------------------------------------------------ baseline */

static void bench_memchr(const corpus *c, tally *t)
{
    const char *p = c->buf, *end = c->buf + c->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        t->ok++;
        p = nl + 1;
    }
}

/* ---------------------------------------------------------------- main */

static int load(const char *path, corpus *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -1;
    }
    long n = ftell(f);
    rewind(f);
    c->len = (size_t)n;
    c->buf = malloc(c->len + GS_JSON_PADDING + 1);
    if (!c->buf || fread(c->buf, 1, c->len, f) != c->len) {
        fprintf(stderr, "cannot read %s\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* A final newline so every line is followed by one (yajl borrows it). */
    if (c->len == 0 || c->buf[c->len - 1] != '\n')
        c->buf[c->len++] = '\n';
    memset(c->buf + c->len, 0, GS_JSON_PADDING);

    size_t cap = 1024;
    c->lines = malloc(cap * sizeof(*c->lines));
    c->nlines = 0;
    for (char *p = c->buf, *end = c->buf + c->len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)(nl - p);
        size_t tl = l > 0 && p[l - 1] == '\r' ? l - 1 : l;
        int blank = 1;
        for (size_t k = 0; k < tl && blank; k++)
            blank = p[k] == ' ' || p[k] == '\t';
        if (!blank) {
            if (c->nlines == cap) {
                cap *= 2;
                c->lines = realloc(c->lines, cap * sizeof(*c->lines));
                if (!c->lines)
                    return -1;
            }
            c->lines[c->nlines++] = (line_ref){p, tl};
        }
        p = nl + 1;
    }
    return 0;
}

typedef struct candidate {
    const char *name;
    const char *api;
    int dom; /* walks d: its totals must match the others' */
    bench_fn fn;
} candidate;

int main(int argc, char **argv)
{
    const char *path = NULL;
    const char *only = NULL;
    int runs = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--wall") == 0)
            g_wall = 1;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr,
                    "usage: gatestore-jsonbench FILE.ndjson [--runs N] [--only TEXT] [--wall]\n");
            return 2;
        }
    }
    if (!path || runs < 1) {
        fprintf(stderr,
                "usage: gatestore-jsonbench FILE.ndjson [--runs N] [--only TEXT] [--wall]\n");
        return 2;
    }
    corpus c;
    if (load(path, &c) != 0)
        return 1;
    gs_err err;
    if (gs_json_create(64u << 20, 256, &g_gs, &err) != GS_OK) {
        fprintf(stderr, "gs_json_create: %s\n", err.msg);
        return 1;
    }

    /* RTLD_DEEPBIND: json-c and its module resolve their own symbols first,
     * not jansson's namesakes already loaded. */
    void *jsonc = dlopen(GS_JSONBENCH_JSONC_MODULE, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    bench_fn jsonc_fn = NULL;
    if (jsonc)
        *(void **)&jsonc_fn = dlsym(jsonc, "bench_jsonc");
    if (!jsonc_fn) {
        fprintf(stderr, "cannot load %s: %s\n", GS_JSONBENCH_JSONC_MODULE, dlerror());
        return 1;
    }

    const candidate cands[] = {
        {"baseline", "memchr for newlines", 0, bench_memchr},
        {"simdjson 3.0.1", "gs_json_parse, in place", 1, bench_gs_inplace},
        {"simdjson 3.0.1", "gs_json_parse, copy", 1, bench_gs_copy},
        {"simdjson 3.0.1", "gs_frame_parse (no walk)", 0, bench_gs_frame},
        {"yajl 2.1.0", "yajl_tree_parse", 1, bench_yajl_tree},
        {"yajl 2.1.0", "yajl_parse, no callbacks", 0, bench_yajl_events},
        {"json-c 0.16", "json_tokener_parse_ex strict", 1, jsonc_fn},
        {"jansson 2.14", "json_loadb", 1, bench_jansson},
        {"cJSON 1.7.15", "cJSON_ParseWithLengthOpts", 1, bench_cjson},
    };

    printf("file: %s, %.1f MB, %zu lines, best of %d, %s time\n\n", path, (double)c.len / 1e6,
           c.nlines, runs, g_wall ? "wall" : "CPU");
    printf("| %-14s | %-28s | %9s | %11s | %9s | %12s | %12s |\n", "parser", "API", "MB/s",
           "lines/s", "ok lines", "d nodes", "d str bytes");
    printf("|%s|%s|%s|%s|%s|%s|%s|\n", "----------------", "------------------------------",
           "----------:", "------------:", "----------:", "-------------:", "-------------:");
    tally ref = {0};
    int have_ref = 0, mismatch = 0;
    for (size_t k = 0; k < GS_ARRAY_LEN(cands); k++) {
        if (only && !strstr(cands[k].name, only) && !strstr(cands[k].api, only))
            continue;
        double best = 0;
        tally t = {0};
        for (int r = 0; r < runs; r++) {
            memset(&t, 0, sizeof(t));
            double t0 = now_s();
            cands[k].fn(&c, &t);
            double s = now_s() - t0;
            if (r == 0 || s < best)
                best = s;
        }
        size_t lines = cands[k].fn == bench_memchr ? t.ok : c.nlines;
        printf("| %-14s | %-28s | %9.0f | %11.0f | %9zu | %12llu | %12llu |\n", cands[k].name,
               cands[k].api, (double)c.len / 1e6 / best, (double)lines / best, t.ok,
               (unsigned long long)t.nodes, (unsigned long long)t.str_bytes);
        fflush(stdout);
        if (cands[k].dom) {
            if (!have_ref) {
                ref = t;
                have_ref = 1;
            } else if (t.ok != ref.ok || t.nodes != ref.nodes || t.str_bytes != ref.str_bytes) {
                mismatch = 1;
            }
        }
    }
    if (mismatch)
        printf("\nwarning: the DOM parsers disagree on lines accepted or tree contents\n");
    gs_json_destroy(g_gs);
    dlclose(jsonc);
    free(c.lines);
    free(c.buf);
    return mismatch ? 1 : 0;
}
