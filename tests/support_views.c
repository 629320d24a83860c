/* support_views.c - helpers for the views tests (see support_views.h). */
#include "gs_common.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support_views.h"

static void die(const char *what)
{
    fprintf(stderr, "support_views: %s\n", what);
    abort();
}

uint64_t gs_tv_id(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

void gs_tv_load_text(const char *text, gs_tv_file *f)
{
    memset(f, 0, sizeof(*f));
    gs_json *p;
    if (gs_json_create(1u << 26, 256, &p, NULL) != GS_OK)
        die("cannot create a parser");
    size_t cap = 16;
    f->recs = calloc(cap, sizeof(*f->recs));
    f->lines = calloc(cap, sizeof(*f->lines));
    f->events = calloc(cap, sizeof(*f->events));
    const char *s = text;
    size_t lineno = 0;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        lineno++;
        if (f->n == cap) {
            cap *= 2;
            f->recs = realloc(f->recs, cap * sizeof(*f->recs));
            f->lines = realloc(f->lines, cap * sizeof(*f->lines));
            f->events = realloc(f->events, cap * sizeof(*f->events));
        }
        char *line = malloc(len + 1);
        memcpy(line, s, len);
        line[len] = '\0';
        s += len + (nl ? 1 : 0);
        gs_jval root, t, op, seq;
        if (len == 0 || gs_json_parse(p, line, len, len, &root, NULL) != GS_OK) {
            free(line);
            continue;
        }
        const char *ev;
        size_t evlen;
        int64_t opv = -1, sv = -1;
        if (!gs_json_getz(root, "t", &t) || gs_json_string(t, &ev, &evlen) != 0 ||
            (gs_json_getz(root, "op", &op) && (gs_json_int64(op, &opv) != 0 || opv != 0))) {
            free(line); /* not a dispatch: the log would not store it */
            continue;
        }
        if (gs_json_getz(root, "s", &seq))
            gs_json_int64(seq, &sv);
        char *evc = malloc(evlen + 1);
        memcpy(evc, ev, evlen);
        evc[evlen] = '\0';
        gs_log_rec *r = &f->recs[f->n];
        memset(r, 0, sizeof(*r));
        r->lsn = lineno;
        r->shard = -1;
        r->seq = sv;
        r->event = evc;
        r->event_len = evlen;
        r->raw = line;
        r->raw_len = len;
        f->lines[f->n] = line;
        f->events[f->n] = evc;
        f->n++;
    }
    f->nlines = f->n;
    gs_json_destroy(p);
}

void gs_tv_load(const char *name, gs_tv_file *f)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", GS_FIXTURES, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        die(path);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (fread(text, 1, (size_t)size, fp) != (size_t)size)
        die(path);
    text[size] = '\0';
    fclose(fp);
    gs_tv_load_text(text, f);
    free(text);
}

void gs_tv_free(gs_tv_file *f)
{
    for (size_t i = 0; i < f->nlines; i++) {
        free(f->lines[i]);
        free(f->events[i]);
    }
    free(f->lines);
    free(f->events);
    free(f->recs);
    memset(f, 0, sizeof(*f));
}

void gs_tv_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(buf, cap, "%s/gsviews.XXXXXX", base);
    if (!mkdtemp(buf))
        die("mkdtemp");
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void gs_tv_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int gs_tv_apply(gs_views *v, const gs_tv_file *f, size_t from, size_t to, size_t batch)
{
    if (batch == 0)
        batch = 1;
    for (size_t i = from; i < to; i += batch) {
        size_t n = to - i < batch ? to - i : batch;
        gs_err err;
        gs_err_clear(&err);
        int rc = gs_views_apply(v, f->recs + i, n, &err);
        if (rc != GS_OK) {
            fprintf(stderr, "apply: %s\n", err.msg);
            return rc;
        }
    }
    return GS_OK;
}

size_t gs_tv_upto_seq(const gs_tv_file *f, int64_t s)
{
    size_t end = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->recs[i].seq >= 0 && f->recs[i].seq <= s)
            end = i + 1;
    return end;
}

char *gs_tv_dump(gs_views *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        die("open_memstream");
    gs_err err;
    if (gs_views_dump(v, fp, &err) != GS_OK)
        die(err.msg);
    fclose(fp);
    return buf;
}

int gs_tv_get(gs_views *v, gs_json *p, gs_view_type t, const char *id, const char *guild,
              gs_jval *root)
{
    static char *last;
    free(last);
    last = NULL;
    size_t len;
    gs_err err;
    int rc = gs_views_get(v, t, gs_tv_id(id), gs_tv_id(guild), GS_VFMT_JSON, &last, &len, &err);
    if (rc == GS_ENOTFOUND)
        return 0;
    if (rc != GS_OK) {
        fprintf(stderr, "get %s %s: %s\n", gs_view_type_name(t), id, err.msg);
        abort();
    }
    if (strlen(last) != len)
        die("get: JSON length differs from its NUL");
    if (gs_json_parse(p, last, len, len, root, &err) != GS_OK) {
        fprintf(stderr, "get returned bad JSON (%s): %s\n", err.msg, last);
        abort();
    }
    return 1;
}

const char *gs_tv_str(gs_jval obj, const char *key, char *buf, size_t cap)
{
    gs_jval v;
    const char *s;
    size_t len;
    if (!gs_json_getz(obj, key, &v))
        snprintf(buf, cap, "<absent>");
    else if (gs_json_type(v) == GS_JNULL)
        snprintf(buf, cap, "null");
    else if (gs_json_string(v, &s, &len) == 0)
        snprintf(buf, cap, "%.*s", (int)len, s);
    else
        snprintf(buf, cap, "<type %d>", (int)gs_json_type(v));
    return buf;
}

int64_t gs_tv_int(gs_jval obj, const char *key)
{
    gs_jval v;
    int64_t x;
    if (!gs_json_getz(obj, key, &v) || gs_json_int64(v, &x) != 0)
        return -1;
    return x;
}

uint64_t gs_tv_count(gs_views *v, gs_view_type t, const char *guild, const char *field,
                     const char *value)
{
    gs_vwhere w = {field, value};
    gs_vq_spec s = {.type = t, .guild = gs_tv_id(guild), .where = &w, .nwhere = field ? 1 : 0};
    gs_vq *q;
    gs_err err;
    if (gs_vq_open(v, &s, &q, &err) != GS_OK)
        die(err.msg);
    uint64_t n = 0;
    if (gs_vq_count(q, &n, &err) != GS_OK)
        die(err.msg);
    gs_vq_close(q);
    return n;
}
