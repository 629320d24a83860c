/*
 * apply.c - applying a batch of log records: one write (an overlay) per
 * stage of the call, a save point per record (a record that cannot be
 * applied is rolled back and recorded, the others stay), and the watermark
 * written in the same atomic write as the entities. A stage is written by
 * the committer thread (pipe.h) while the next is built.
 */
#include "gs_common.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "pipe.h"
#include "vdisk.h"
#include "views_int.h"

static void tx_init(gs_vtx *tx, gs_views *v, gs_err *err)
{
    memset(tx, 0, sizeof(*tx));
    tx->v = v;
    tx->ov = v->ov;
    tx->err = err;
    gs_mpb_init(&tx->mb);
}

static void tx_free(gs_vtx *tx)
{
    gs_vtx_drop_iters(tx);
    free(tx->upend);
    gs_mpb_free(&tx->mb);
    gs_vbuf_free(&tx->val);
    free(tx->ids);
}

/* A record parsed, possibly one record ahead of its turn: the next record
 * is parsed (into the other parser) before the current one is applied, and
 * the entity cache keys it will read (gs_vhint_keys) are asked of the CPU
 * cache then, so that their loads overlap the current record's work. The
 * cache holds every entity over tens of MB: each lookup otherwise waits on
 * two or three memory loads in a row (slot_of was 14 % of the applier's
 * samples in bench-views' update phase). */
struct parsed {
    uint64_t lsn; /* the record it holds; 0: none */
    gs_vhandler h;
    int rc; /* gs_json_parse's */
    gs_err perr;
    gs_jval root;
    size_t nkeys;
    gs_vhint_key keys[4];
};

/* Frames above this size are parsed at their turn only, so the second
 * parser stays small (a 280 KB GUILD_CREATE grows a parser to 5 MB). */
#define AHEAD_MAX_FRAME (64u << 10)

static void prepare(gs_views *v, gs_json *p, const gs_log_rec *r, struct parsed *a)
{
    int hint;
    a->lsn = r->lsn;
    a->nkeys = 0;
    a->h = gs_vdispatch_hinted(r->event, r->event_len, &hint);
    if (!a->h)
        return; /* unknown or stateless events change nothing */
    gs_err_clear(&a->perr);
    a->rc = gs_json_parse(p, r->raw, r->raw_len, r->raw_len, &a->root, &a->perr);
    gs_jval d;
    if (a->rc == GS_OK && v->ecache && gs_json_getz(a->root, "d", &d))
        a->nkeys = gs_vhint_keys(hint, d, a->keys, GS_ARRAY_LEN(a->keys));
}

/* step 0: the buckets of a's keys; 1: their entries (gs_vcache_prefetch). */
static void prefetch(gs_views *v, const struct parsed *a, int step)
{
    if (!a->nkeys)
        return;
    if (!v->reads_locked)
        pthread_rwlock_rdlock(&v->cache_lock);
    for (size_t i = 0; i < a->nkeys; i++)
        gs_vcache_prefetch(v->ecache, a->keys[i].cf, a->keys[i].key, a->keys[i].klen, step);
    if (!v->reads_locked)
        pthread_rwlock_unlock(&v->cache_lock);
}

/* Records up to this size are applied with cache_lock held for reading
 * throughout (reads_lock): a point get that must fill the cache waits for
 * the record at most, tens of microseconds. A record reads the cache 4-6
 * times; a lock and unlock each was 3 % of the applying thread's samples
 * (bench-views, update phase). Bigger records (snapshots) lock per read. */
#define LOCKED_MAX_FRAME AHEAD_MAX_FRAME

static void reads_lock(gs_views *v, const gs_log_rec *r)
{
    if (!v->ecache || r->raw_len > LOCKED_MAX_FRAME)
        return;
    pthread_rwlock_rdlock(&v->cache_lock);
    v->reads_locked = 1;
}

/* The record is done: the lock goes, then what its reads found in RocksDB
 * goes into the cache (gs_vread_fills). */
static void reads_unlock(gs_views *v)
{
    if (!v->reads_locked)
        return;
    v->reads_locked = 0;
    pthread_rwlock_unlock(&v->cache_lock);
    gs_vread_fills(v);
}

/* Apply one parsed record inside the batch. GS_OK, GS_EFRAME (bad payload,
 * reason in tx->reason) or another code (system error: the batch is
 * abandoned). */
static int apply_one(gs_vtx *tx, const gs_log_rec *r, const struct parsed *a)
{
    if (!a->h)
        return GS_OK;
    if (a->rc == GS_ENOMEM)
        return gs_err_set(tx->err, a->rc, "lsn %llu: %s", (unsigned long long)r->lsn, a->perr.msg);
    if (a->rc != GS_OK)
        return gs_vtx_bad(tx, "frame: %s", a->perr.msg);
    gs_jval d;
    if (!gs_json_getz(a->root, "d", &d))
        return gs_vtx_bad(tx, "frame: missing d");
    return a->h(tx, d);
}

static int put_u64(gs_vtx *tx, const char *key, uint64_t x)
{
    uint8_t val[8];
    gs_be64(val, x);
    return gs_vtx_put(tx, GS_VCF_META, key, strlen(key), val, 8);
}

/* Record a failed record in the ring of the last GS_VMETA_FAIL_SLOTS. */
static int record_failure(gs_vtx *tx, const gs_log_rec *r, uint64_t nth)
{
    gs_vbuf val = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &val, gs_vbuf_mp_write);
    size_t elen = r->event_len < 63 ? r->event_len : 63;
    size_t rlen = strlen(tx->reason);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, r->lsn);
    msgpack_pack_str(&pk, elen);
    msgpack_pack_str_body(&pk, r->event, elen);
    msgpack_pack_str(&pk, rlen);
    msgpack_pack_str_body(&pk, tx->reason, rlen);
    if (val.oom) {
        gs_vbuf_free(&val);
        return gs_err_set(tx->err, GS_ENOMEM, "out of memory recording a view failure");
    }
    uint8_t key[sizeof(GS_VMETA_FAIL)];
    memcpy(key, GS_VMETA_FAIL, sizeof(GS_VMETA_FAIL) - 1);
    key[sizeof(GS_VMETA_FAIL) - 1] = (uint8_t)(nth % GS_VMETA_FAIL_SLOTS);
    int rc = gs_vtx_put(tx, GS_VCF_META, key, sizeof(key), val.p, val.len);
    gs_vbuf_free(&val);
    return rc;
}

/* One commit of an overlay, in two parts: the write (the batch, then one
 * RocksDB write; on the committer thread when pipelined, so it touches
 * only this context, the sealed overlay and RocksDB), then the finish on
 * the applier's thread (the entity cache and `me`). Both visit the same
 * sorted entries; the first keeps each value's cpack form for the second,
 * so a value is encoded once (vdisk.h), not once for RocksDB and again for
 * the cache. */
/* struct gs_vcommit (views_int.h). */

static void keep_form(struct gs_vcommit *b, const uint8_t *cp, size_t cplen)
{
    if (b->full)
        return;
    if (b->nrefs == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        struct gs_vform_ref *r = realloc(b->refs, cap * sizeof(*r));
        if (!r) {
            b->full = 1; /* the cache encodes the rest itself */
            return;
        }
        b->refs = r;
        b->cap = cap;
    }
    struct gs_vform_ref *r = &b->refs[b->nrefs++];
    r->off = b->forms.len;
    r->len = 0;
    if (cp && cplen && gs_vbuf_put(&b->forms, cp, cplen) == 0)
        r->len = cplen;
}

static void add_to_batch(void *ud, const gs_ov_ent *e)
{
    struct gs_vcommit *b = ud;
    gs_views *v = b->v;
    if (e->deleted) {
        if (v->ecache)
            keep_form(b, NULL, 0);
        rocksdb_writebatch_delete_cf(v->batch, v->cf[e->cf], (const char *)e->key, e->klen);
        return;
    }
    const uint8_t *val = e->val, *cp = NULL;
    size_t vlen = e->vlen, cplen = 0;
    if (gs_vdisk_packed(e->cf, e->key, e->klen))
        val = gs_vdisk_pack_both(&b->packed, e->key, e->klen, e->val, e->vlen, &vlen, &cp, &cplen);
    if (v->ecache)
        keep_form(b, e->cf < GS_VIEW_TYPE_COUNT ? cp : NULL, cplen);
    rocksdb_writebatch_put_cf(v->batch, v->cf[e->cf], (const char *)e->key, e->klen,
                              (const char *)val, vlen);
}

static void add_to_cache(void *ud, const gs_ov_ent *e)
{
    struct gs_vcommit *b = ud;
    gs_views *v = b->v;
    /* This entry's kept form: refs were appended in the same order (fewer
     * of them only if an allocation failed: then none from there on). */
    const struct gs_vform_ref *ref = b->next < b->nrefs ? &b->refs[b->next] : NULL;
    b->next++;
    if (e->cf == GS_VCF_IDX && e->klen == 17 && e->key[0] == 'U') {
        gs_vum *um = gs_vcache_usermap(v->ecache);
        uint64_t u = gs_get_be64(e->key + 1), g = gs_get_be64(e->key + 9);
        if (um && e->deleted)
            gs_vum_del(um, u, g);
        else if (um)
            gs_vum_put(um, u, g);
        return;
    }
    if (e->cf == GS_VCF_IDX && e->klen == 17 && e->key[0] == GS_VIDX_ROLEDEL) {
        gs_vtombs *s = gs_vcache_tombs(v->ecache);
        uint64_t g = gs_get_be64(e->key + 1), r = gs_get_be64(e->key + 9);
        if (s && e->deleted)
            gs_vtombs_del(s, g, r);
        else if (s && gs_vtombs_add(s, g, r) != 0) /* out of memory: ask RocksDB */
            gs_vcache_tombs_set_loaded(v->ecache, 0);
        return;
    }
    if (!gs_vcacheable(e->cf, e->key, e->klen))
        return;
    gs_vks *ks = gs_vcache_keysets(v->ecache);
    if (ks && e->klen == 16 && gs_vtx_keyset_family(e->cf)) {
        uint64_t g = gs_get_be64(e->key), id = gs_get_be64(e->key + 8);
        if (e->deleted)
            gs_vks_del(ks, e->cf, g, id);
        else if (gs_vks_add(ks, e->cf, g, id, gs_vcache_complete(v->ecache)) != 0)
            v->commit_oom = 1;
    }
    if (e->deleted)
        gs_vcache_del(v->ecache, e->cf, e->key, e->klen);
    else
        gs_vcache_put_packed(v->ecache, e->cf, e->key, e->klen, e->val, e->vlen,
                             ref && ref->len ? b->forms.p + ref->off : NULL, ref ? ref->len : 0);
}

static void ctx_free(struct gs_vcommit *b)
{
    gs_vbuf_free(&b->packed);
    gs_vbuf_free(&b->forms);
    free(b->refs);
    b->refs = NULL;
}

/* The overlay (entities and watermark together) as one atomic write. Only
 * one write is ever in flight, so v->batch serves them all. */
static void commit_write(void *ud)
{
    struct gs_vcommit *b = ud;
    gs_views *v = b->v;
    rocksdb_set_perf_level(rocksdb_disable);
    rocksdb_writebatch_clear(v->batch);
    gs_ov_visit_sealed(b->ov, add_to_batch, b);
    gs_vbuf_free(&b->packed);
    char *rerr = NULL;
    atomic_fetch_add(&v->writes_begun, 1); /* before RocksDB moves ahead */
    rocksdb_write(v->db, v->wo, v->batch, &rerr);
    rocksdb_writebatch_clear(v->batch);
    b->rc = rerr ? gs_vdb_err(&b->err, rerr, "cannot write views") : GS_OK;
}

/* How many puts ahead commit_finish asks for a key's bucket; its entry is
 * asked for half as far ahead. */
#define PREFETCH_AHEAD 8

/* A write begun (writes_begun) failed: RocksDB still holds the cache's
 * state, so point gets may read beside the cache again (views_int.h). */
static void nothing_written(gs_views *v)
{
    if (!v->ecache)
        return;
    pthread_rwlock_wrlock(&v->cache_lock);
    v->writes_level = atomic_load(&v->writes_begun);
    pthread_rwlock_unlock(&v->cache_lock);
}

/* After the write: the entity cache brought level with it. */
static int commit_finish(struct gs_vcommit *b, gs_err *err)
{
    gs_views *v = b->v;
    if (b->rc != GS_OK) {
        nothing_written(v);
        gs_err_set(err, b->rc, "%s", b->err.msg);
        ctx_free(b);
        return b->rc;
    }
    gs_ov_ent me;
    if (gs_ov_get(b->ov, GS_VCF_META, GS_VMETA_ME, strlen(GS_VMETA_ME), &me)) {
        v->me = !me.deleted && me.vlen == 8 ? gs_get_be64(me.val) : 0;
        v->me_known = 1;
    }
    if (v->ecache) {
        pthread_rwlock_wrlock(&v->cache_lock);
        v->commit_oom = 0;
        /* The keys are known ahead: their buckets and entries are asked
         * for a few puts before they are needed (cache.h). */
        size_t n;
        const gs_ov_ent *all = gs_ov_sealed(b->ov, &n);
        for (size_t i = 0; i < n; i++) {
            const gs_ov_ent *a = i + PREFETCH_AHEAD < n ? &all[i + PREFETCH_AHEAD] : NULL;
            const gs_ov_ent *h = i + PREFETCH_AHEAD / 2 < n ? &all[i + PREFETCH_AHEAD / 2] : NULL;
            if (a && gs_vcacheable(a->cf, a->key, a->klen))
                gs_vcache_prefetch(v->ecache, a->cf, a->key, a->klen, 0);
            if (h && gs_vcacheable(h->cf, h->key, h->klen))
                gs_vcache_prefetch(v->ecache, h->cf, h->key, h->klen, 1);
            add_to_cache(b, &all[i]);
        }
        if (v->commit_oom) /* cannot tell which keys are stale: forget them all */
            gs_vcache_clear(v->ecache);
        gs_vcache_publish_sets(v->ecache);
        v->cache_gen++;
        /* One write in flight at most: this one is the last begun. */
        v->writes_level = atomic_load(&v->writes_begun);
        pthread_rwlock_unlock(&v->cache_lock);
    }
    ctx_free(b);
    return GS_OK;
}

/* Write and finish in line. */
static int commit(gs_views *v, gs_ov *ov, gs_err *err)
{
    struct gs_vcommit b = {.v = v, .ov = ov};
    gs_ov_set_below(ov, NULL);
    if (gs_ov_seal(ov) != 0)
        return gs_err_set(err, GS_ENOMEM, "out of memory writing views");
    commit_write(&b);
    return commit_finish(&b, err);
}

/* At the first apply, whether the cache is complete; then the committed
 * tombstones into the entity cache, once (after a start, a wipe or a cache
 * clear). Without them every member write asks RocksDB. */
static void load_tombs(gs_views *v)
{
    if (v->ecache && !gs_vcache_decided(v->ecache)) {
        /* At watermark 0 nothing was ever committed: the (empty) cache
         * holds every key there is (cache.h, completeness). */
        pthread_rwlock_wrlock(&v->cache_lock);
        gs_vcache_set_complete(v->ecache, v->watermark == 0);
        pthread_rwlock_unlock(&v->cache_lock);
    }
    if (!v->ecache || gs_vcache_tombs(v->ecache))
        return;
    gs_err lerr;
    gs_err_clear(&lerr);
    pthread_rwlock_wrlock(&v->cache_lock);
    gs_vtombs *s = gs_vcache_tombs_slot(v->ecache);
    if (gs_vtomb_load(v, v->ro, 1, 0, s, &lerr) == GS_OK)
        gs_vcache_tombs_set_loaded(v->ecache, 1);
    pthread_rwlock_unlock(&v->cache_lock);
}

/* Give freed memory back to the system, at most every 250 ms. The
 * applier, RocksDB's flush and compaction threads and the store's threads
 * each allocate from their own malloc arena; memtables, compaction buffers
 * and parse buffers freed in one are not reused by another, and glibc keeps
 * them resident (measured: 40 MB of the 128 MB of a default-shape ingest).
 * A trim costs about a millisecond. Every 250 ms rather than every second:
 * default e2e shape, 5 alternated pairs, peak RSS 122.9/119.0/126.3/127.6/
 * 122.2 -> 120.4/111.5/117.3/112.2/121.2 MB, ingest to confirmed and
 * rebuild within the pairs' noise (chunked, one pair: 112.2 -> 117.2). The
 * batch and parser renewals below stay once a second: each renewal makes
 * the next GUILD_CREATE grow the parser again. Compression AUTO looks at
 * the big families' size here too (gs_vdb_auto_compression).
 *
 * The store's applier defers it (gs_views_defer_housekeeping) and calls it
 * after publishing the batch's watermark: inside gs_views_apply it delayed
 * the confirmation of every batch it landed on, about one batch in 100 at
 * 50 000 events/s, i.e. right at the confirm-latency p99. Not idle (more
 * records waiting), it waits until a second overdue. */
static void trim(gs_views *v, int idle)
{
    uint64_t now = gs_mono_ns();
    uint64_t since = now - v->last_trim_ns;
    if (since < 250000000ull || (!idle && since < 1250000000ull))
        return;
    v->last_trim_ns = now;
    malloc_trim(0);
    gs_vdb_auto_compression(v);
    if (now - v->last_renew_ns < 1000000000ull)
        return;
    v->last_renew_ns = now;
    /* The write batch keeps the capacity of the largest commit (a 4 MiB
     * replay batch of GUILD_CREATEs makes it 8 MB, then held through the
     * update phase: default e2e shape). A new one costs nothing here. */
    rocksdb_writebatch_t *b = v->flight.flying ? NULL : rocksdb_writebatch_create();
    if (b) { /* (not under a stage being written: it fills v->batch) */
        rocksdb_writebatch_destroy(v->batch);
        v->batch = b;
    }
    /* Likewise the parser: sized for the largest frame seen (a ~280 KB
     * GUILD_CREATE makes it 5 MB), while updates are a few KB. It grows
     * back within one frame when a large one comes. */
    gs_json *j = NULL;
    gs_err jerr;
    if (gs_json_create(GS_VIEWS_MAX_FRAME, GS_VIEWS_MAX_DEPTH, &j, &jerr) == GS_OK) {
        gs_json_destroy(v->json);
        v->json = j;
    }
    if (v->json2 && gs_json_create(GS_VIEWS_MAX_FRAME, GS_VIEWS_MAX_DEPTH, &j, &jerr) == GS_OK) {
        gs_json_destroy(v->json2);
        v->json2 = j;
    }
}

void gs_views_defer_housekeeping(gs_views *v, int on)
{
    pthread_mutex_lock(&v->apply_mu);
    v->trim_deferred = on;
    pthread_mutex_unlock(&v->apply_mu);
}

void gs_views_housekeep(gs_views *v, int idle)
{
    if (v->read_only)
        return;
    pthread_mutex_lock(&v->apply_mu);
    trim(v, idle);
    pthread_mutex_unlock(&v->apply_mu);
}

/* A long apply call is cut into stages of about this many records or raw
 * bytes. Each stage is committed on its own (entities and its watermark in
 * one atomic write, as a call is otherwise) by the committer thread while
 * the applier builds the next stage in the other overlay, which reads
 * through to the one in flight (overlay.h). A stage's write (packing its
 * values, about a fifth of the apply's instructions, and the memtable
 * inserts, a quarter) then runs on the second core. Smaller stages overlap
 * more of the last write of a call but write more often: README,
 * Benchmarks, "Committing on the second core". */
#define STAGE_RECORDS 256
#define STAGE_BYTES   (256u << 10)

void gs_vflight_free(gs_views *v)
{
    struct gs_vflight *f = &v->flight;
    free(f->upend);
    f->tomb_touched.n = 0;
    f->upend = NULL;
    f->upend_n = f->upend_cap = 0;
}

/* The position the write of tx->ov leaves the views at: its watermark and,
 * if it changed since the write before, the failure count. Iterators are
 * dropped then: opened before the write in flight lands, they would miss
 * it once its overlay is gone. */
static int put_position(gs_views *v, gs_vtx *tx, uint64_t wm, uint64_t fails)
{
    int rc = put_u64(tx, GS_VMETA_WATERMARK, wm);
    if (rc == GS_OK && fails != v->flight.fails)
        rc = put_u64(tx, GS_VMETA_FAILCOUNT, fails);
    gs_vtx_drop_iters(tx);
    return rc;
}

/* Wait for the stage in flight and finish it: the cache, then the
 * watermark it committed. Its overlay is then free. */
static int land(gs_views *v, gs_err *err)
{
    struct gs_vflight *f = &v->flight;
    if (!f->flying)
        return GS_OK;
    gs_vpipe_wait(v->pipe);
    f->flying = 0;
    int rc = commit_finish(&f->c, err);
    /* The committed state holds the stage now (or nothing of it). */
    gs_vflight_free(v);
    if (rc == GS_OK) {
        v->watermark = f->wm;
        v->fail_count = f->fails;
    }
    gs_ov_reset(f->c.ov);
    return rc;
}

/* The records applied since the last stage (in tx->ov) with their
 * watermark, sent to the committer once the stage before has landed;
 * tx->ov becomes the other overlay, set above the one sent. */
static int send_stage(gs_views *v, gs_vtx *tx, uint64_t wm, uint64_t fails, gs_err *err)
{
    struct gs_vflight *f = &v->flight;
    int rc = put_position(v, tx, wm, fails);
    if (rc != GS_OK)
        return rc;
    rc = land(v, err);
    if (rc != GS_OK)
        return rc;
    gs_ov *cur = tx->ov;
    gs_ov_set_below(cur, NULL);
    if (gs_ov_seal(cur) != 0)
        return gs_err_set(err, GS_ENOMEM, "out of memory writing views");
    memset(&f->c, 0, sizeof(f->c));
    f->c.v = v;
    f->c.ov = cur;
    f->wm = wm;
    f->fails = fails;
    f->flying = 1;
    /* The stage's pending state goes with it; the next one starts empty. */
    f->tomb_touched = tx->tomb_touched;
    f->upend = tx->upend;
    f->upend_n = tx->upend_n;
    f->upend_cap = tx->upend_cap;
    tx->tomb_touched.n = 0;
    tx->upend = NULL;
    tx->upend_n = tx->upend_cap = 0;
    gs_vpipe_submit(v->pipe, commit_write, &f->c);
    gs_ov *next = cur == v->ov ? v->ov2 : v->ov;
    gs_ov_reset(next);
    gs_ov_set_below(next, cur);
    tx->ov = next;
    return GS_OK;
}

enum call_mode {
    CALL_INLINE, /* one write, on the caller's thread */
    CALL_STAGED, /* stages through the committer, all landed by the return */
    CALL_MORE    /* the same, the last stage left in flight */
};

static int apply_call(gs_views *v, const gs_log_rec *recs, size_t n, enum call_mode mode,
                      gs_err *err)
{
    if (v->read_only)
        return gs_err_set(err, GS_EREADONLY, "views %s are open read-only", v->dir);
    pthread_mutex_lock(&v->apply_mu);
    /* RocksDB's per-thread perf counters are on by default and counted on
     * every key comparison; nothing here reads them (0.9 % of the apply's
     * instructions, callgrind). The level is per thread: the committer
     * sets it too. */
    rocksdb_set_perf_level(rocksdb_disable);
    struct gs_vflight *f = &v->flight;
    int pipelined = mode != CALL_INLINE && v->pipe && v->ov2;
    /* A stage left in flight by the call before: an in-line call lands it
     * first; a staged one builds above it. */
    int rc = pipelined ? GS_OK : land(v, err);
    /* Completeness and the deleted roles are decided from the committed
     * state (v->watermark, RocksDB as the cache holds it): nothing in
     * flight then. Once after a start, a wipe or a cache clear. */
    if (rc == GS_OK && f->flying && v->ecache &&
        (!gs_vcache_decided(v->ecache) || !gs_vcache_tombs(v->ecache)))
        rc = land(v, err);
    gs_vtx tx;
    tx_init(&tx, v, err);
    if (f->flying) {
        tx.ov = f->c.ov == v->ov ? v->ov2 : v->ov;
        gs_ov_reset(tx.ov);
        gs_ov_set_below(tx.ov, f->c.ov);
    } else {
        gs_ov_reset(v->ov);
        if (v->ov2)
            gs_ov_reset(v->ov2);
        f->wm = v->watermark;
        f->fails = v->fail_count;
    }
    if (rc == GS_OK)
        load_tombs(v);
    /* Where the records applied so far leave the views. */
    uint64_t wm = f->wm, start_wm = v->watermark;
    uint64_t fails = f->fails;
    size_t stage_max = v->tuning.stage_records ? v->tuning.stage_records : STAGE_RECORDS;
    size_t stage_n = 0, stage_bytes = 0;
    /* The record at hand and the next one, parsed by v->json and
     * v->json2 in turn (struct parsed). */
    struct parsed pa[2];
    gs_json *parser[2] = {v->json, v->json2};
    int cur = 0;
    pa[0].lsn = pa[1].lsn = 0;
    for (size_t i = 0; i < n && rc == GS_OK; i++) {
        const gs_log_rec *r = &recs[i];
        if (r->lsn <= wm)
            continue;
        struct parsed *a = &pa[cur], *next = &pa[cur ^ 1];
        reads_lock(v, r);
        if (a->lsn != r->lsn)
            prepare(v, parser[cur], r, a);
        else
            prefetch(v, a, 1);
        next->lsn = 0;
        if (parser[1] && i + 1 < n && recs[i + 1].lsn > r->lsn &&
            recs[i + 1].raw_len <= AHEAD_MAX_FRAME) {
            prepare(v, parser[cur ^ 1], &recs[i + 1], next);
            prefetch(v, next, 0);
        }
        tx.lsn = r->lsn;
        tx.reason[0] = '\0';
        size_t mark = gs_ov_mark(tx.ov);
        rc = apply_one(&tx, r, a);
        reads_unlock(v);
        if (parser[1])
            cur ^= 1;
        if (rc == GS_EFRAME) {
            gs_ov_rollback(tx.ov, mark);
            rc = record_failure(&tx, r, fails);
            if (rc != GS_OK)
                break;
            fails++;
        } else if (rc != GS_OK) {
            break;
        }
        wm = r->lsn;
        stage_n++;
        stage_bytes += r->raw_len;
        if (pipelined && i + 1 < n && (stage_n >= stage_max || stage_bytes >= STAGE_BYTES)) {
            rc = send_stage(v, &tx, wm, fails, err);
            stage_n = stage_bytes = 0;
        }
    }
    int left_flying = 0;
    if (rc == GS_OK && wm != f->wm) {
        if (mode == CALL_MORE && pipelined) {
            /* The caller goes on with other work (reading the next batch)
             * while this stage is written. */
            rc = send_stage(v, &tx, wm, fails, err);
            left_flying = rc == GS_OK;
        } else {
            rc = put_position(v, &tx, wm, fails);
            if (rc == GS_OK)
                rc = land(v, err);
            if (rc == GS_OK)
                rc = commit(v, tx.ov, err);
            if (rc == GS_OK) {
                v->watermark = wm;
                v->fail_count = fails;
            }
        }
    }
    gs_vtx_drop_iters(&tx);
    if (!left_flying) {
        /* Whatever stopped the call, a stage in flight is a whole commit:
         * land it (its own error only if the call had none). What was
         * applied above it and not sent is dropped with the overlays. */
        gs_err lerr;
        int lrc = land(v, rc == GS_OK ? err : &lerr);
        if (rc == GS_OK)
            rc = lrc;
        gs_ov_reset(v->ov);
        if (v->ov2)
            gs_ov_reset(v->ov2);
    }
    if (rc == GS_OK && v->watermark != start_wm && !v->trim_deferred)
        trim(v, 1);
    tx_free(&tx);
    pthread_mutex_unlock(&v->apply_mu);
    return rc;
}

int gs_views_apply(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err)
{
    return apply_call(v, recs, n, CALL_STAGED, err);
}

int gs_views_apply_more(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err)
{
    return apply_call(v, recs, n, CALL_MORE, err);
}

int gs_views_apply_inline(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err)
{
    return apply_call(v, recs, n, CALL_INLINE, err);
}

int gs_views_settle(gs_views *v, gs_err *err)
{
    if (v->read_only)
        return GS_OK;
    pthread_mutex_lock(&v->apply_mu);
    int rc = land(v, err);
    pthread_mutex_unlock(&v->apply_mu);
    return rc;
}

int gs_views_wipe(gs_views *v, gs_err *err)
{
    if (v->read_only)
        return gs_err_set(err, GS_EREADONLY, "views %s are open read-only", v->dir);
    static const char end[32] = {
        (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
        (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
        (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
        (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
        (char)0xff, (char)0xff, (char)0xff, (char)0xff};
    pthread_mutex_lock(&v->catchup_mu);
    pthread_mutex_lock(&v->apply_mu);
    /* A stage still in flight lands first (wiped with the rest). */
    gs_err lerr;
    land(v, &lerr);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    int rc = GS_OK;
    if (!b) {
        rc = gs_err_set(err, GS_ENOMEM, "cannot create views batch");
    } else {
        /* Range deletions: one atomic write whatever the size, and readers
         * holding a snapshot keep seeing the old views. */
        for (int cf = 0; cf < GS_VCF_COUNT; cf++)
            rocksdb_writebatch_delete_range_cf(b, v->cf[cf], "", 0, end, sizeof(end));
        gs_vmeta_init_batch(v, b);
        char *rerr = NULL;
        atomic_fetch_add(&v->writes_begun, 1);
        rocksdb_write(v->db, v->wo, b, &rerr);
        rocksdb_writebatch_destroy(b);
        if (rerr) {
            nothing_written(v);
            rc = gs_vdb_err(err, rerr, "cannot wipe views");
        } else {
            /* Every block cached so far belongs to data just deleted:
             * drop them (entries in use stay until released), rather than
             * hold 8 MiB of them while the replay that follows fills the
             * rest of its memory. The capacity is put back at once. */
            size_t cap = rocksdb_cache_get_capacity(v->cache);
            rocksdb_cache_set_capacity(v->cache, 0);
            rocksdb_cache_set_capacity(v->cache, cap);
            v->watermark = 0;
            v->fail_count = 0;
            v->me = 0;
            v->me_known = 0;
            if (v->ecache) {
                pthread_rwlock_wrlock(&v->cache_lock);
                gs_vcache_clear(v->ecache);
                gs_vcache_set_complete(v->ecache, 1); /* the database is empty */
                v->cache_gen++;
                v->writes_level = atomic_load(&v->writes_begun);
                pthread_rwlock_unlock(&v->cache_lock);
                /* The cache's entries were allocated by whichever thread
                 * applied (the store's applier); a rebuild refills it from
                 * this one, in another malloc arena. Hand the freed pages
                 * back, or the process holds both. */
                malloc_trim(0);
            }
        }
    }
    pthread_mutex_unlock(&v->apply_mu);
    pthread_mutex_unlock(&v->catchup_mu);
    return rc;
}
