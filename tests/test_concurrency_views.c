/* test_concurrency_views.c - queries and log reads beside the writer, in
 * one process, for ThreadSanitizer (-DGS_SANITIZE=thread; CI runs it in
 * its TSan step) and as a plain test. One thread ingests a deterministic
 * stream of gateway frames (gs_tv_stream_frame: guilds, channels, members,
 * roles, deletes, about one bad payload in 16) while the store's applier
 * thread keeps the views level and these read at the same time:
 *   - gets: gs_get / gs_get_msgpack on pool ids; every hit is a JSON object;
 *   - queries: gs_query_* (guild scan, where, user index, count) and
 *     gs_views_status_get, whose watermark never passes the head nor goes
 *     back (except across the rebuild the writer runs half-way), and
 *     gs_views_memory_get, within its budgets;
 *   - log: gs_log_iter passes from random LSNs; LSNs consecutive, each
 *     record byte-exact;
 *   - a second, read-only store handle opened and closed again and again
 *     beside the writer: its log reads are byte-exact too, its views answer
 *     or say they have none yet.
 * Afterwards the views must be level with the log and answer every pool id
 * exactly as views rebuilt from the log by one thread do. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "store_priv.h"
#include "support_logtest.h"
#include "support_views.h"

#define LINES  2000
#define GUILD0 1000
#define GUILDS 6

typedef struct shared {
    gs_store *st;
    const char *path;
    atomic_int done;
    atomic_int failed;
    atomic_long gets, queries, records, ro_opens;
    atomic_long rounds[4]; /* each reader's finished rounds */
    atomic_int rebuild;    /* odd while the writer rebuilds the views */
    char why[256];
    pthread_mutex_t why_mu;
} shared;

static void set_failed(shared *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_failed(shared *s, const char *fmt, ...)
{
    pthread_mutex_lock(&s->why_mu);
    if (!atomic_load(&s->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof(s->why), fmt, ap);
        va_end(ap);
        atomic_store(&s->failed, 1);
    }
    pthread_mutex_unlock(&s->why_mu);
}

/* Readers count their rounds; the writer waits for a round of each every
 * PACE lines, so reads really interleave with writes however the threads
 * are scheduled. */
#define PACE 100

static int running_round(shared *s, int who)
{
    atomic_fetch_add(&s->rounds[who], 1);
    return !atomic_load(&s->done) && !atomic_load(&s->failed);
}

static void wait_for_readers(shared *s)
{
    long seen[4];
    for (int i = 0; i < 4; i++)
        seen[i] = atomic_load(&s->rounds[i]);
    for (int waited_ms = 0; waited_ms < 10000 && !atomic_load(&s->failed); waited_ms++) {
        int all = 1;
        for (int i = 0; i < 4; i++)
            all &= atomic_load(&s->rounds[i]) > seen[i];
        if (all)
            return;
        usleep(1000);
    }
}

static unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* GS_OK with a JSON object, or GS_ENOTFOUND. */
static void check_get(shared *s, gs_json *p, int rc, char *json, size_t len, const char *what)
{
    if (rc == GS_ENOTFOUND)
        return;
    if (rc != GS_OK) {
        set_failed(s, "%s: %s", what, gs_errname(rc));
        return;
    }
    gs_jval root;
    if (strlen(json) != len || gs_json_parse(p, json, len, len, &root, NULL) != GS_OK ||
        gs_json_type(root) != GS_JOBJECT)
        set_failed(s, "%s: not a JSON object", what);
    gs_free(json);
}

static void *reader_gets(void *arg)
{
    shared *s = arg;
    gs_json *p;
    if (gs_json_create(1u << 24, 256, &p, NULL) != GS_OK) {
        set_failed(s, "cannot create a parser");
        return NULL;
    }
    unsigned seed = 7;
    while (running_round(s, 0)) {
        uint64_t g = GUILD0 + next_rand(&seed) % GUILDS, u = 50 + next_rand(&seed) % 40;
        char *out = NULL;
        size_t len = 0;
        int rc = gs_get(s->st, "member", u, g, &out, &len);
        check_get(s, p, rc, out, len, "get member");
        rc = gs_get(s->st, "guild", g, 0, &out, &len);
        check_get(s, p, rc, out, len, "get guild");
        rc = gs_get(s->st, "channel", g * 100 + next_rand(&seed) % 40, 0, &out, &len);
        check_get(s, p, rc, out, len, "get channel");
        rc = gs_get_msgpack(s->st, "role", g, 0, &out, &len);
        if (rc == GS_OK && len == 0)
            set_failed(s, "empty msgpack");
        else if (rc != GS_OK && rc != GS_ENOTFOUND)
            set_failed(s, "get role: %s", gs_errname(rc));
        if (rc == GS_OK)
            gs_free(out);
        atomic_fetch_add(&s->gets, 4);
    }
    gs_json_destroy(p);
    return NULL;
}

static void *reader_queries(void *arg)
{
    shared *s = arg;
    unsigned seed = 11;
    uint64_t last_wm = 0;
    int epoch = 0;
    while (running_round(s, 1)) {
        uint64_t g = GUILD0 + next_rand(&seed) % GUILDS;
        gs_query *q;
        const char *json;
        size_t len;
        uint64_t n = 0, count = 0;
        int rc;
        if (gs_query_create(s->st, "member", &q) != GS_OK || gs_query_guild(q, g) != GS_OK) {
            set_failed(s, "member query");
            return NULL;
        }
        while ((rc = gs_query_next(q, &json, &len)) == 1)
            n++;
        if (rc != 0)
            set_failed(s, "member query: %s", gs_query_errmsg(q));
        gs_query_destroy(q);

        if (gs_query_create(s->st, "channel", &q) != GS_OK ||
            gs_query_where(q, "name", "general") != GS_OK || gs_query_count(q, &count) != GS_OK)
            set_failed(s, "channel count");
        gs_query_destroy(q);

        if (gs_query_create(s->st, "guild", &q) != GS_OK ||
            gs_query_user(q, 50 + next_rand(&seed) % 40) != GS_OK || gs_query_limit(q, 3) != GS_OK)
            set_failed(s, "guild query");
        n = 0;
        while ((rc = gs_query_next_msgpack(q, &json, &len)) == 1)
            n++;
        if (rc != 0 || n > 3)
            set_failed(s, "guilds of a user: rc %d, %llu results", rc, (unsigned long long)n);
        gs_query_destroy(q);

        /* A rebuild (beside us) takes the watermark back to 0. */
        gs_views_status vs;
        int e0 = atomic_load(&s->rebuild);
        rc = gs_views_status_get(s->st, &vs);
        uint64_t head = gs_store_head_lsn(s->st);
        if (e0 != epoch || (e0 & 1) || atomic_load(&s->rebuild) != e0) {
            epoch = e0;
            last_wm = 0;
        }
        if (rc != GS_OK)
            set_failed(s, "status: %s", gs_errname(rc));
        else if ((vs.watermark < last_wm && !(epoch & 1)) || vs.watermark > head)
            set_failed(s, "watermark %llu after %llu, head %llu", (unsigned long long)vs.watermark,
                       (unsigned long long)last_wm, (unsigned long long)head);
        last_wm = vs.watermark;

        /* Memory figures beside the applier: within their budgets. */
        gs_views_memory m;
        rc = gs_views_memory_get(s->st, &m);
        if (rc != GS_OK)
            set_failed(s, "memory: %s", gs_errname(rc));
        else if (m.entity_cache_bytes > m.entity_cache_budget || m.entity_cache_budget == 0 ||
                 m.block_cache_budget == 0)
            set_failed(s, "memory: entity cache %llu of %llu, block cache budget %llu",
                       (unsigned long long)m.entity_cache_bytes,
                       (unsigned long long)m.entity_cache_budget,
                       (unsigned long long)m.block_cache_budget);
        atomic_fetch_add(&s->queries, 5);
    }
    return NULL;
}

/* Read st's log from a random LSN to its end; every record byte-exact. */
static void log_pass(shared *s, gs_store *st, unsigned *seed)
{
    uint64_t head = gs_store_head_lsn(st);
    gs_log_range range = {.from_lsn = 1 + (head ? next_rand(seed) % head : 0)};
    gs_log_iter *it;
    int rc = gs_log_iter_open(st, &range, &it);
    if (rc != GS_OK) {
        set_failed(s, "log iterator: %s", gs_errname(rc));
        return;
    }
    uint64_t want = range.from_lsn;
    gs_record r;
    char buf[2048];
    while ((rc = gs_log_iter_next(it, &r)) == 1) {
        const char *ev;
        size_t len = gs_tv_stream_frame(r.lsn, buf, sizeof(buf), &ev);
        if (r.lsn != want || r.raw_len != len || memcmp(r.raw, buf, len) != 0) {
            set_failed(s, "log: LSN %llu (expected %llu) differs", (unsigned long long)r.lsn,
                       (unsigned long long)want);
            break;
        }
        want++;
        atomic_fetch_add(&s->records, 1);
    }
    if (rc < 0)
        set_failed(s, "log: %s: %s", gs_errname(rc), gs_log_iter_errmsg(it));
    gs_log_iter_close(it);
}

static void *reader_log(void *arg)
{
    shared *s = arg;
    unsigned seed = 13;
    while (running_round(s, 2))
        log_pass(s, s->st, &seed);
    return NULL;
}

/* A second handle, read-only, opened again and again beside the writer. */
static void *reader_second_handle(void *arg)
{
    shared *s = arg;
    unsigned seed = 17;
    gs_json *p;
    if (gs_json_create(1u << 24, 256, &p, NULL) != GS_OK) {
        set_failed(s, "cannot create a parser");
        return NULL;
    }
    while (running_round(s, 3)) {
        gs_options *o;
        gs_store *ro;
        if (gs_options_create(&o) != GS_OK || gs_options_set_read_only(o, 1) != GS_OK) {
            set_failed(s, "options");
            break;
        }
        int rc = gs_store_open(s->path, o, &ro);
        gs_options_destroy(o);
        if (rc != GS_OK) {
            set_failed(s, "read-only open: %s: %s", gs_errname(rc), gs_open_errmsg());
            break;
        }
        log_pass(s, ro, &seed);
        for (int i = 0; i < 8; i++) {
            char *out = NULL;
            size_t len = 0;
            rc = gs_get(ro, "guild", GUILD0 + next_rand(&seed) % GUILDS, 0, &out, &len);
            if (rc != GS_EVIEW) /* no views flushed yet */
                check_get(s, p, rc, out, len, "read-only get guild");
        }
        gs_store_close(ro);
        atomic_fetch_add(&s->ro_opens, 1);
    }
    gs_json_destroy(p);
    return NULL;
}

/* Every pool id's get, as one string (NULL entries for absent ones). */
static char *snapshot_gets(gs_store *st)
{
    char *all = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&all, &len);
    assert_non_null(f);
    static const char *const types[] = {"guild",       "channel",  "role", "member",
                                        "voice_state", "presence", "user"};
    for (size_t t = 0; t < GS_ARRAY_LEN(types); t++) {
        for (uint64_t g = GUILD0; g < GUILD0 + GUILDS; g++) {
            for (uint64_t k = 0; k < 100; k++) {
                int keyed = !strcmp(types[t], "member") || !strcmp(types[t], "voice_state") ||
                            !strcmp(types[t], "presence");
                uint64_t id = keyed || !strcmp(types[t], "user") ? 50 + k % 40
                              : !strcmp(types[t], "guild")       ? g
                                                                 : g * 100 + k;
                char *out = NULL;
                size_t olen = 0;
                int rc = gs_get(st, types[t], id, keyed ? g : 0, &out, &olen);
                assert_true(rc == GS_OK || rc == GS_ENOTFOUND);
                fprintf(f, "%s %llu %llu: %s\n", types[t], (unsigned long long)g,
                        (unsigned long long)id, rc == GS_OK ? out : "-");
                gs_free(out);
            }
        }
    }
    fclose(f);
    return all;
}

static void test_readers_beside_writer(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("concv");
    char *path = lt_path(dir, "st");
    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    gs_options_set_create(o, 1);
    gs_options_set_durability(o, GS_DURABILITY_BATCH);
    gs_options_set_batch(o, 1, 64 << 10);
    gs_options_set_block_bytes(o, 4 << 10);
    o->segment_bytes = 32 << 10; /* below the public minimum: rolls under the readers */
    shared s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.why_mu, NULL);
    s.path = path;
    assert_int_equal(gs_store_open(path, o, &s.st), GS_OK);
    gs_options_destroy(o);

    /* In the order of their rounds[] slots. */
    void *(*fns[])(void *) = {reader_gets, reader_queries, reader_log, reader_second_handle};
    pthread_t th[GS_ARRAY_LEN(fns)];
    for (size_t i = 0; i < GS_ARRAY_LEN(fns); i++)
        assert_int_equal(pthread_create(&th[i], NULL, fns[i], &s), 0);
    char buf[2048];
    for (uint64_t lsn = 1; lsn <= LINES && !atomic_load(&s.failed); lsn++) {
        const char *ev;
        size_t len = gs_tv_stream_frame(lsn, buf, sizeof(buf), &ev);
        uint64_t got = 0;
        int rc = gs_ingest_line(s.st, buf, len, NULL, &got);
        if (rc != GS_OK || got != lsn)
            set_failed(&s, "ingest of line %llu: %s, LSN %llu", (unsigned long long)lsn,
                       gs_errname(rc), (unsigned long long)got);
        if (lsn % 500 == 0)
            assert_int_equal(gs_store_sync(s.st), GS_OK);
        if (lsn % PACE == 0)
            wait_for_readers(&s);
        if (lsn == LINES / 2) { /* a rebuild beside the readers */
            atomic_fetch_add(&s.rebuild, 1);
            assert_int_equal(gs_views_rebuild(s.st), GS_OK);
            atomic_fetch_add(&s.rebuild, 1);
        }
    }
    atomic_store(&s.done, 1);
    for (size_t i = 0; i < GS_ARRAY_LEN(fns); i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&s.failed))
        fail_msg("%s", s.why);

    gs_err err;
    assert_int_equal(gs_store_views_sync(s.st, &err), GS_OK);
    gs_views_status vs;
    assert_int_equal(gs_views_status_get(s.st, &vs), GS_OK);
    assert_int_equal(vs.watermark, LINES);
    assert_int_equal(gs_store_head_lsn(s.st), LINES);
    assert_true(vs.failed_records > 0); /* the stream's bad payloads */
    char *live = snapshot_gets(s.st);
    assert_int_equal(gs_views_rebuild(s.st), GS_OK);
    char *rebuilt = snapshot_gets(s.st);
    assert_string_equal(live, rebuilt);
    assert_non_null(strstr(live, ": {")); /* not all absent */
    print_message("%d lines ingested beside %ld gets, %ld queries, %ld log records read, "
                  "%ld read-only opens; views equal a rebuild\n",
                  LINES, atomic_load(&s.gets), atomic_load(&s.queries), atomic_load(&s.records),
                  atomic_load(&s.ro_opens));
    free(live);
    free(rebuilt);
    assert_int_equal(gs_store_close(s.st), GS_OK);
    pthread_mutex_destroy(&s.why_mu);
    lt_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_beside_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
