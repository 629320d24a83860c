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

int gs_tv_more;

static int apply_call(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err)
{
    return gs_tv_more ? gs_views_apply_more(v, recs, n, err) : gs_views_apply(v, recs, n, err);
}

int gs_tv_apply(gs_views *v, const gs_tv_file *f, size_t from, size_t to, size_t batch)
{
    if (batch == 0)
        batch = 1;
    for (size_t i = from; i < to; i += batch) {
        size_t n = to - i < batch ? to - i : batch;
        gs_err err;
        gs_err_clear(&err);
        int rc = apply_call(v, f->recs + i, n, &err);
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

#define STREAM_GUILDS 6

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
size_t gs_tv_stream_frame(uint64_t lsn, char *buf, size_t cap, const char **event)
{
    uint64_t h = mix(lsn);
    unsigned g = 1000 + (unsigned)(h % STREAM_GUILDS);
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

int gs_tv_apply_stream(gs_views *v, uint64_t from, uint64_t to, size_t batch)
{
    enum { MAXB = 64, FRAME = 1024 };
    if (batch == 0 || batch > MAXB)
        batch = MAXB;
    char *bufs = malloc((size_t)MAXB * FRAME);
    gs_log_rec recs[MAXB];
    if (!bufs)
        return GS_ENOMEM;
    int rc = GS_OK;
    for (uint64_t l = from; l <= to && rc == GS_OK;) {
        size_t n = 0;
        for (; n < batch && l <= to; n++, l++) {
            memset(&recs[n], 0, sizeof(recs[n]));
            recs[n].lsn = l;
            recs[n].raw = bufs + n * FRAME;
            recs[n].raw_len = gs_tv_stream_frame(l, bufs + n * FRAME, FRAME, &recs[n].event);
            recs[n].event_len = strlen(recs[n].event);
        }
        gs_err err;
        rc = apply_call(v, recs, n, &err);
        if (rc != GS_OK)
            fprintf(stderr, "apply: %s\n", err.msg);
    }
    free(bufs);
    return rc;
}

const char *gs_tv_roles(gs_views *v, gs_json *p, const char *user, const char *guild)
{
    static char buf[512];
    gs_jval root, roles, e;
    if (!gs_tv_get(v, p, GS_VIEW_MEMBER, user, guild, &root))
        return "<no member>";
    if (!gs_json_getz(root, "roles", &roles))
        return "<no roles>";
    buf[0] = '\0';
    gs_jiter it;
    gs_json_arr_begin(roles, &it);
    while (gs_json_arr_next(&it, &e) == 1) {
        const char *str;
        size_t len;
        if (gs_json_string(e, &str, &len) != 0)
            die("roles: an element is not a string");
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%.*s", buf[0] ? "," : "",
                 (int)len, str);
    }
    return buf;
}

char *gs_tv_direct_dump(const char *dir, const gs_tv_file *f, size_t batch)
{
    gs_views *d;
    if (gs_views_open(dir, NULL, &d, NULL) != GS_OK)
        die("cannot open the direct views");
    if (gs_tv_apply(d, f, 0, f->n, batch) != GS_OK)
        die("cannot apply to the direct views");
    char *dump = gs_tv_dump(d);
    gs_views_close(d, NULL);
    return dump;
}

void gs_tv_dirs_make(gs_tv_dirs *d)
{
    gs_tv_tmpdir(d->root, sizeof(d->root));
    snprintf(d->log, sizeof(d->log), "%s/log", d->root);
    snprintf(d->views, sizeof(d->views), "%s/views", d->root);
    snprintf(d->ref, sizeof(d->ref), "%s/ref", d->root);
}

gs_log_rec_in gs_tv_log_in(const gs_tv_file *f, size_t i)
{
    gs_log_rec_in in = {.recv_us = 1,
                        .shard = -1,
                        .op = 0,
                        .seq = f->recs[i].seq,
                        .event = f->recs[i].event,
                        .event_len = f->recs[i].event_len,
                        .raw = f->recs[i].raw,
                        .raw_len = f->recs[i].raw_len};
    return in;
}

gs_log *gs_tv_log_open(const char *logdir)
{
    gs_log_opts o;
    gs_log_opts_init(&o);
    gs_log *log;
    gs_err err;
    if (gs_log_open(logdir, &o, &log, &err) != GS_OK) {
        fprintf(stderr, "log open %s: %s\n", logdir, err.msg);
        abort();
    }
    return log;
}

uint64_t gs_tv_log_append(gs_log *log, const gs_log_rec_in *in)
{
    uint64_t lsn = 0;
    gs_err err;
    if (gs_log_append(log, in, 1, &lsn, &err) != GS_OK) {
        fprintf(stderr, "log append: %s\n", err.msg);
        abort();
    }
    return lsn;
}

void gs_tv_log_close(gs_log *log)
{
    gs_err err;
    if (gs_log_close(log, &err) != GS_OK) {
        fprintf(stderr, "log close: %s\n", err.msg);
        abort();
    }
}

uint64_t gs_tv_log_file(const char *logdir, gs_tv_file *f)
{
    gs_log *log = gs_tv_log_open(logdir);
    uint64_t lsn = 0;
    for (size_t i = 0; i < f->n; i++) {
        gs_log_rec_in in = gs_tv_log_in(f, i);
        lsn = gs_tv_log_append(log, &in);
        f->recs[i].lsn = lsn;
    }
    gs_tv_log_close(log);
    return lsn;
}

void gs_tv_log_stream(const char *logdir, uint64_t n)
{
    gs_log *log = gs_tv_log_open(logdir);
    static char buf[1024];
    for (uint64_t l = 1; l <= n; l++) {
        const char *event;
        size_t len = gs_tv_stream_frame(l, buf, sizeof(buf), &event);
        gs_log_rec_in in = {.recv_us = 1,
                            .shard = -1,
                            .op = 0,
                            .seq = (int64_t)l,
                            .event = event,
                            .event_len = strlen(event),
                            .raw = buf,
                            .raw_len = len};
        if (gs_tv_log_append(log, &in) != l) {
            fprintf(stderr, "log append: LSN is not %llu\n", (unsigned long long)l);
            abort();
        }
    }
    gs_tv_log_close(log);
}

gs_tv_file gs_tv_scen;

int gs_tv_scen_setup(void **state)
{
    (void)state;
    gs_tv_load("scenario.ndjson", &gs_tv_scen);
    return 0;
}

int gs_tv_scen_teardown(void **state)
{
    (void)state;
    gs_tv_free(&gs_tv_scen);
    return 0;
}
