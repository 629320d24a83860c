/* fuzz_views.c - libFuzzer target: applying gateway payloads to the views
 * (gs_views_apply), then querying them.
 *
 * Input: one control byte, then up to MAX_RECS records separated by NUL
 * bytes (JSON text never holds a raw NUL). A record's first byte picks the
 * event name (events[], byte % NEVENTS: every name views/dispatch.c routes,
 * and two it does not); the rest is the `d` value, pasted into a frame
 * {"op":0,"s":N,"t":"EVENT","d":...} (no "d" at all when it is empty). The
 * seeds (gen_views_seeds.py) are the fixtures' dispatch payloads, one per
 * input and as runs of consecutive frames. A custom mutator adds structured
 * mutations: a record retargeted to another event, a JSON scalar replaced
 * by an id from a small pool or a value of the wrong type, a record
 * duplicated (create then update, update then delete on the same ids).
 *
 * Two views databases in /dev/shm (or /tmp) live across inputs: A (entity
 * cache on) gets the records one call each, B (no entity cache) all of them
 * in one call. Both are wiped at the start of each input, so an input is
 * replayable alone, and recreated from scratch every RECREATE_EVERY inputs
 * (after a reopen check), which keeps RocksDB's range tombstones few.
 *
 * Invariants (abort otherwise), beyond "no crash, no sanitizer report":
 *   - gs_views_apply returns GS_OK for any payload;
 *   - the failure count rises by 0 or 1 per record and the watermark
 *     becomes the record's LSN;
 *   - a record that fails applies nothing: the dump is unchanged apart from
 *     the failure count and ring, and the newest failure names its LSN and
 *     event;
 *   - an event the views do not route changes nothing and never fails;
 *   - applying the last record again (LSN <= watermark) changes nothing;
 *   - B (one batch, per-record save points, no cache) dumps equal to A;
 *   - every view type can be queried on A; each result is a JSON object,
 *     gs_vq_count agrees with the number gs_vq_next returns, the msgpack
 *     form is returned for each, and a point get of each id-keyed entity
 *     returns the same bytes on A and on B;
 *   - every RECREATE_EVERY inputs: closing and reopening A keeps its dump.
 */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "views.h"
#include "views_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* gen_views_seeds.py reads this list (one quoted name per line, between
 * the BEGIN and END markers): keep the format. */
/* clang-format off */
static const char *const events[] = {
    /* BEGIN events */
    "CHANNEL_CREATE",
    "CHANNEL_DELETE",
    "CHANNEL_PINS_UPDATE",
    "CHANNEL_UPDATE",
    "GUILD_CREATE",
    "GUILD_DELETE",
    "GUILD_EMOJIS_UPDATE",
    "GUILD_MEMBERS_CHUNK",
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_REMOVE",
    "GUILD_MEMBER_UPDATE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_DELETE",
    "GUILD_ROLE_UPDATE",
    "GUILD_SCHEDULED_EVENT_CREATE",
    "GUILD_SCHEDULED_EVENT_DELETE",
    "GUILD_SCHEDULED_EVENT_UPDATE",
    "GUILD_STICKERS_UPDATE",
    "GUILD_UPDATE",
    "MESSAGE_CREATE",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_UPDATE",
    "PRESENCE_UPDATE",
    "READY",
    "STAGE_INSTANCE_CREATE",
    "STAGE_INSTANCE_DELETE",
    "STAGE_INSTANCE_UPDATE",
    "THREAD_CREATE",
    "THREAD_DELETE",
    "THREAD_LIST_SYNC",
    "THREAD_MEMBERS_UPDATE",
    "THREAD_MEMBER_UPDATE",
    "THREAD_UPDATE",
    "TYPING_START",
    "USER_UPDATE",
    "VOICE_STATE_UPDATE",
    /* not routed: must change nothing */
    "MESSAGE_DELETE",
    "RESUMED",
    /* END events */
};
/* clang-format on */
#define NEVENTS    GS_ARRAY_LEN(events)
#define NROUTED    (NEVENTS - 2)
#define MAX_RECS   16
#define FRAME_HEAD "{\"op\":0,\"s\":"

#define RECREATE_EVERY 2000
#define COMPACT_EVERY  32

static char dir_a[256], dir_b[256];
static gs_views *va, *vb;
static gs_json *json;
static uint64_t next_lsn = 1; /* rises forever: wipes reset the watermark */
static unsigned long inputs;

static void die(const char *what, const gs_err *e)
{
    fprintf(stderr, "fuzz_views: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    abort();
}

static void rm_tree(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        die("cannot remove a views directory", NULL);
}

static gs_views *open_views(const char *dir, int cache)
{
    /* Small buffers: flushes happen now and then, as in a long-lived store. */
    gs_views_tuning t = {.cache_bytes = 1 << 20,
                         .big_write_buffer_bytes = 1 << 20,
                         .small_write_buffer_bytes = 256 << 10,
                         .db_write_buffer_bytes = 4 << 20,
                         .entity_cache_bytes = 1 << 20,
                         .no_entity_cache = !cache};
    gs_views *v = NULL;
    gs_err e;
    if (gs_views_open_tuned(dir, NULL, &t, &v, &e) != GS_OK)
        die("cannot open views", &e);
    return v;
}

static void close_views(gs_views *v)
{
    gs_err e;
    if (gs_views_close(v, &e) != GS_OK)
        die("cannot close views", &e);
}

static void recreate(void)
{
    if (va)
        close_views(va);
    if (vb)
        close_views(vb);
    rm_tree(dir_a);
    rm_tree(dir_b);
    va = open_views(dir_a, 1);
    vb = open_views(dir_b, 0);
}

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir_a, sizeof(dir_a), "%s/gs-fuzz-views-%ld-a", base, (long)getpid());
    snprintf(dir_b, sizeof(dir_b), "%s/gs-fuzz-views-%ld-b", base, (long)getpid());
    gs_err e;
    if (gs_json_create(1u << 24, 256, &json, &e) != GS_OK)
        die("cannot create a JSON parser", &e);
    /* The list must match the dispatch table: every routed name has an
     * applier, the others none. */
    for (size_t i = 0; i < NEVENTS; i++)
        if ((gs_vdispatch(events[i], strlen(events[i])) != NULL) != (i < NROUTED))
            die(events[i], NULL);
    recreate();
}

static void cleanup(void)
{
    close_views(va);
    close_views(vb);
    va = vb = NULL;
    rm_tree(dir_a);
    rm_tree(dir_b);
}

/* ---- helpers ---- */

static char *dump(gs_views *v, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        die("open_memstream", NULL);
    gs_err e;
    if (gs_views_dump(v, f, &e) != GS_OK)
        die("cannot dump views", &e);
    fclose(f);
    *len = n;
    return buf;
}

/* Is this dump line the failure count or a failure ring slot? */
static int is_failure_line(const char *line, size_t len)
{
    static char pfx_count[64], pfx_ring[64];
    if (!pfx_count[0]) {
        const char *m = gs_vcf_name(GS_VCF_META);
        int n = snprintf(pfx_count, sizeof(pfx_count), "%s\t", m);
        for (const char *k = GS_VMETA_FAILCOUNT; *k; k++)
            n += snprintf(pfx_count + n, sizeof(pfx_count) - (size_t)n, "%02x", (unsigned char)*k);
        n += snprintf(pfx_count + n, sizeof(pfx_count) - (size_t)n, "\t");
        n = snprintf(pfx_ring, sizeof(pfx_ring), "%s\t", m);
        for (const char *k = GS_VMETA_FAIL; *k; k++)
            n += snprintf(pfx_ring + n, sizeof(pfx_ring) - (size_t)n, "%02x", (unsigned char)*k);
    }
    size_t a = strlen(pfx_count), b = strlen(pfx_ring);
    return (len >= a && memcmp(line, pfx_count, a) == 0) ||
           (len >= b && memcmp(line, pfx_ring, b) == 0);
}

/* The dumps are equal once failure-count and failure-ring lines are
 * dropped from both. */
static int same_but_failures(const char *x, size_t xn, const char *y, size_t yn)
{
    const char *xe = x + xn, *ye = y + yn;
    for (;;) {
        while (x < xe) {
            const char *nl = memchr(x, '\n', (size_t)(xe - x));
            size_t l = nl ? (size_t)(nl - x) : (size_t)(xe - x);
            if (!is_failure_line(x, l))
                break;
            x += l + (nl ? 1 : 0);
        }
        while (y < ye) {
            const char *nl = memchr(y, '\n', (size_t)(ye - y));
            size_t l = nl ? (size_t)(nl - y) : (size_t)(ye - y);
            if (!is_failure_line(y, l))
                break;
            y += l + (nl ? 1 : 0);
        }
        if (x == xe || y == ye)
            return x == xe && y == ye;
        const char *xnl = memchr(x, '\n', (size_t)(xe - x));
        const char *ynl = memchr(y, '\n', (size_t)(ye - y));
        size_t xl = xnl ? (size_t)(xnl - x) : (size_t)(xe - x);
        size_t yl = ynl ? (size_t)(ynl - y) : (size_t)(ye - y);
        if (xl != yl || memcmp(x, y, xl) != 0)
            return 0;
        x += xl + (xnl ? 1 : 0);
        y += yl + (ynl ? 1 : 0);
    }
}

static void status(gs_views *v, gs_views_status *s)
{
    gs_err e;
    if (gs_views_status_read(v, s, &e) != GS_OK)
        die("cannot read the views status", &e);
}

/* ---- the records of an input ---- */

struct rec {
    gs_log_rec r;
    char *frame;
    int routed;
};

static size_t build(const uint8_t *data, size_t size, struct rec *recs)
{
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (p < end && n < MAX_RECS) {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        const uint8_t *re = z ? z : end;
        if (re > p) {
            size_t ev = p[0] % NEVENTS;
            const char *d = (const char *)p + 1;
            size_t dlen = (size_t)(re - p) - 1;
            size_t cap = dlen + 128 + GS_JSON_PADDING;
            char *f = malloc(cap);
            if (!f)
                die("out of memory", NULL);
            int h = snprintf(f, cap, FRAME_HEAD "%zu,\"t\":\"%s\"%s", n + 1, events[ev],
                             dlen ? ",\"d\":" : "");
            memcpy(f + h, d, dlen);
            f[h + dlen] = '}';
            struct rec *r = &recs[n++];
            memset(r, 0, sizeof(*r));
            r->frame = f;
            r->routed = ev < NROUTED;
            r->r.lsn = next_lsn++;
            r->r.shard = -1;
            r->r.seq = (int64_t)n;
            r->r.event = events[ev];
            r->r.event_len = strlen(events[ev]);
            r->r.raw = f;
            r->r.raw_len = (size_t)h + dlen + 1;
        }
        if (!z)
            break;
        p = z + 1;
    }
    return n;
}

/* Apply one record to A and check the per-record invariants. *dump_io is
 * A's dump before (in) and after (out); again: apply it a second time. */
static void apply_one(const struct rec *r, char **dump_io, size_t *dump_len, int again)
{
    gs_views_status s0, s1;
    status(va, &s0);
    char *d0 = *dump_io;
    size_t n0 = *dump_len, n1;
    gs_err e;
    if (gs_views_apply(va, &r->r, 1, &e) != GS_OK)
        die("apply failed", &e);
    status(va, &s1);
    if (s1.watermark != r->r.lsn)
        die("the watermark is not the record's LSN", NULL);
    char *d1 = dump(va, &n1);
    if (s1.failed_records == s0.failed_records + 1) {
        if (!r->routed)
            die("an event without an applier failed", NULL);
        if (!same_but_failures(d0, n0, d1, n1))
            die("a failed record changed the views", NULL);
        const gs_views_failure *f = &s1.failures[0];
        size_t el = r->r.event_len < sizeof(f->event) ? r->r.event_len : sizeof(f->event) - 1;
        if (s1.nfailures == 0 || f->lsn != r->r.lsn || strncmp(f->event, r->r.event, el) != 0)
            die("the failure is not the newest in the status", NULL);
    } else if (s1.failed_records != s0.failed_records) {
        die("the failure count moved by more than one", NULL);
    } else if (!r->routed && (n0 != n1 || memcmp(d0, d1, n0) != 0)) {
        die("an event without an applier changed the views", NULL);
    }
    free(d0);
    *dump_io = d1;
    *dump_len = n1;
    if (!again)
        return;
    /* At or below the watermark now, so skipped. */
    if (gs_views_apply(va, &r->r, 1, &e) != GS_OK)
        die("apply (again) failed", &e);
    size_t n2;
    char *d2 = dump(va, &n2);
    gs_views_status s2;
    status(va, &s2);
    if (n2 != n1 || memcmp(d1, d2, n1) != 0 || s2.failed_records != s1.failed_records)
        die("a record at the watermark was applied again", NULL);
    free(d2);
}

/* Query every type on A, parse each result, get id-keyed ones on A and B. */
static void query_all(void)
{
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++) {
        gs_vq_spec spec = {.type = (gs_view_type)t};
        gs_vq *q;
        gs_err e;
        if (gs_vq_open(va, &spec, &q, &e) != GS_OK)
            die("cannot open a query", &e);
        uint64_t count = 0, seen = 0;
        if (gs_vq_count(q, &count, &e) != GS_OK)
            die("cannot count", &e);
        gs_vq_close(q);
        if (gs_vq_open(va, &spec, &q, &e) != GS_OK)
            die("cannot open a query", &e);
        const char *out;
        size_t len;
        int rc;
        while ((rc = gs_vq_next(q, GS_VFMT_JSON, &out, &len, &e)) == 1) {
            seen++;
            char *copy = malloc(len + GS_JSON_PADDING);
            if (!copy)
                die("out of memory", NULL);
            memcpy(copy, out, len);
            gs_jval root, idv;
            if (gs_json_parse(json, copy, len, len + GS_JSON_PADDING, &root, &e) != GS_OK)
                die("a query returned bad JSON", &e);
            if (gs_json_type(root) != GS_JOBJECT)
                die("a query returned a non-object", NULL);
            uint64_t id;
            int guild_keyed =
                t == GS_VIEW_MEMBER || t == GS_VIEW_VOICE_STATE || t == GS_VIEW_PRESENCE;
            if (!guild_keyed && gs_json_getz(root, "id", &idv) &&
                gs_json_snowflake(idv, &id) == 0) {
                char *ga = NULL, *gb = NULL;
                size_t la = 0, lb = 0;
                int ra = gs_views_get(va, (gs_view_type)t, id, 0, GS_VFMT_JSON, &ga, &la, &e);
                int rb = gs_views_get(vb, (gs_view_type)t, id, 0, GS_VFMT_JSON, &gb, &lb, &e);
                if (ra != rb || (ra == GS_OK && (la != lb || memcmp(ga, gb, la) != 0)))
                    die("a get differs between A (cached) and B", NULL);
                if (ra != GS_OK && ra != GS_ENOTFOUND)
                    die("a get failed", &e);
                free(ga);
                free(gb);
            }
            free(copy);
        }
        if (rc != 0)
            die("query next failed", &e);
        if (seen != count)
            die("gs_vq_count disagrees with gs_vq_next", NULL);
        gs_vq_close(q);
        /* The msgpack form of each. */
        if (gs_vq_open(va, &spec, &q, &e) != GS_OK)
            die("cannot open a query", &e);
        uint64_t seen2 = 0;
        while ((rc = gs_vq_next(q, GS_VFMT_MSGPACK, &out, &len, &e)) == 1) {
            if (len == 0)
                die("an empty msgpack result", NULL);
            seen2++;
        }
        if (rc != 0 || seen2 != count)
            die("msgpack query differs", &e);
        gs_vq_close(q);
    }
}

/* Flush and compact every family: drops the range tombstones the per-input
 * wipes leave, which every new iterator would otherwise fragment anew. */
static void compact(gs_views *v)
{
    for (int cf = 0; cf < GS_VCF_COUNT; cf++)
        rocksdb_compact_range_cf(v->db, v->cf[cf], NULL, 0, NULL, 0);
}

static void reopen_check(void)
{
    size_t n0, n1;
    char *d0 = dump(va, &n0);
    uint64_t wm = gs_views_watermark(va);
    close_views(va);
    va = open_views(dir_a, 1);
    char *d1 = dump(va, &n1);
    if (n0 != n1 || memcmp(d0, d1, n0) != 0 || gs_views_watermark(va) != wm)
        die("reopening changed the views", NULL);
    free(d0);
    free(d1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!va) {
        setup();
        atexit(cleanup);
    }
    if (size < 1)
        return 0;
    static unsigned long every;
    if (!every) {
        const char *ev = getenv("GS_FUZZ_VIEWS_RECREATE");
        every = ev ? strtoul(ev, NULL, 10) : RECREATE_EVERY;
    }
    if (++inputs % every == 0) {
        reopen_check();
        recreate();
    } else if (inputs % COMPACT_EVERY == 0) {
        compact(va);
        compact(vb);
    }
    gs_err e;
    if ((gs_views_watermark(va) && gs_views_wipe(va, &e) != GS_OK) ||
        (gs_views_watermark(vb) && gs_views_wipe(vb, &e) != GS_OK))
        die("cannot wipe views", &e);

    struct rec recs[MAX_RECS];
    size_t n = build(data + 1, size - 1, recs);
    size_t na = 0, nb;
    char *da = dump(va, &na);
    for (size_t i = 0; i < n; i++)
        apply_one(&recs[i], &da, &na, i + 1 == n);

    gs_log_rec batch[MAX_RECS];
    for (size_t i = 0; i < n; i++)
        batch[i] = recs[i].r;
    if (n && gs_views_apply(vb, batch, n, &e) != GS_OK)
        die("batch apply failed", &e);
    char *db = dump(vb, &nb);
    if (na != nb || memcmp(da, db, na) != 0)
        die("one batch (B) and one call per record (A) differ", NULL);
    free(da);
    free(db);
    if (data[0] & 1)
        query_all();
    for (size_t i = 0; i < n; i++)
        free(recs[i].frame);
    return 0;
}

/* ---- structured mutations ---- */

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Values a payload field might wrongly (or collidingly) hold. */
static const char *const values[] = {
    "\"1000\"",
    "\"1001\"",
    "\"50\"",
    "\"51\"",
    "1000",
    "0",
    "-1",
    "\"0\"",
    "\"\"",
    "null",
    "true",
    "false",
    "{}",
    "[]",
    "[{}]",
    "\"x\"",
    "1.5",
    "1e400",
    "\"18446744073709551615\"",
    "\"18446744073709551616\"",
    "18446744073709551615",
    "\"-5\"",
    "{\"id\":\"1000\"}",
    "[\"1000\"]",
    "[{\"id\":\"51\"}]",
    "{\"id\":\"50\",\"username\":\"u\"}",
    "\"\\u0000\"",
};

/* [start, end) of the JSON scalar (string, number, literal) at or after
 * pos; 0 if none. */
static int scalar_at(const uint8_t *d, size_t n, size_t pos, size_t *start, size_t *end)
{
    for (size_t i = pos; i < n; i++) {
        if (d[i] == '"') {
            size_t j = i + 1;
            while (j < n && d[j] != '"' && d[j] != 0)
                j += d[j] == '\\' ? 2 : 1;
            if (j >= n || d[j] != '"')
                return 0;
            *start = i;
            *end = j + 1;
            return 1;
        }
        if (d[i] == '-' || (d[i] >= '0' && d[i] <= '9') || d[i] == 't' || d[i] == 'f' ||
            d[i] == 'n') {
            size_t j = i;
            while (j < n && d[j] != ',' && d[j] != '}' && d[j] != ']' && d[j] != 0 && d[j] != ' ' &&
                   d[j] != ':')
                j++;
            *start = i;
            *end = j;
            return 1;
        }
        if (d[i] == 0)
            return 0;
    }
    return 0;
}

/* Offsets of each record's event byte (after the control byte). */
static size_t record_starts(const uint8_t *d, size_t n, size_t *at)
{
    size_t k = 0;
    if (n < 2)
        return 0;
    at[k++] = 1;
    for (size_t i = 1; i + 1 < n && k < MAX_RECS; i++)
        if (d[i] == 0)
            at[k++] = i + 1;
    return k;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t s = seed | 1;
    uint32_t what = rnd(&s) % 8;
    size_t at[MAX_RECS];
    size_t nrec = record_starts(data, size, at);
    if (what < 4 || nrec == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    size_t r = at[rnd(&s) % nrec];
    if (what == 4) { /* same payload, another event */
        data[r] = (uint8_t)(rnd(&s) % NEVENTS);
        return size;
    }
    if (what == 5 && size + 1 < max_size) { /* duplicate a record at the end */
        const uint8_t *z = memchr(data + r, 0, size - r);
        size_t len = z ? (size_t)(z - (data + r)) : size - r;
        if (size + 1 + len > max_size)
            return LLVMFuzzerMutate(data, size, max_size);
        data[size] = 0;
        memmove(data + size + 1, data + r, len);
        return size + 1 + len;
    }
    /* replace a scalar of this record's payload */
    size_t st, en;
    if (size <= r + 1 || !scalar_at(data, size, r + 1 + rnd(&s) % (size - r - 1), &st, &en))
        return LLVMFuzzerMutate(data, size, max_size);
    const char *v = values[rnd(&s) % GS_ARRAY_LEN(values)];
    size_t vl = strlen(v);
    if (size - (en - st) + vl > max_size)
        return LLVMFuzzerMutate(data, size, max_size);
    memmove(data + st + vl, data + en, size - en);
    memcpy(data + st, v, vl);
    return size - (en - st) + vl;
}
