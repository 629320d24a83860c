/*
 * tx.c - the per-record transaction: reads look at the pending writes of
 * the apply call (the overlay) first, then at RocksDB, so a record sees the
 * writes of the records before it in the same call (and its own); writes
 * go to the overlay only. A bad record is undone by rolling the overlay
 * back to the mark taken before it (apply.c).
 */
#include "gs_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdisk.h"
#include "views_int.h"

int gs_vtx_bad(gs_vtx *tx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tx->reason, sizeof(tx->reason), fmt, ap);
    va_end(ap);
    return GS_EFRAME;
}

int gs_vtx_keeps(const gs_vtx *tx, int cf)
{
    if (cf >= GS_VIEW_TYPE_COUNT)
        return 1;
    return (tx->v->keep & GS_VIEW_BIT(cf)) != 0;
}

int gs_vtx_get(gs_vtx *tx, int cf, const void *key, size_t klen, char **val, size_t *vlen)
{
    *val = NULL;
    if (!gs_vtx_keeps(tx, cf))
        return 0;
    gs_ov_ent e;
    if (gs_ov_get(tx->ov, cf, key, klen, &e)) {
        if (e.deleted)
            return 0;
        /* A copy: the overlay may move its bytes on the next write. */
        *val = malloc(e.vlen ? e.vlen : 1);
        if (!*val)
            return gs_err_set(tx->err, GS_ENOMEM, "out of memory reading views");
        memcpy(*val, e.val, e.vlen);
        *vlen = e.vlen;
        return 1;
    }
    return gs_vread(tx->v, tx->v->ro, cf, key, klen, 1, val, vlen, tx->err);
}

int gs_vread(gs_views *v, const rocksdb_readoptions_t *ro, int cf, const void *key, size_t klen,
             int fill, char **val, size_t *vlen, gs_err *err)
{
    *val = NULL;
    int cacheable = v->ecache && gs_vcacheable(cf, key, klen);
    if (cacheable) {
        /* Point gets may be filling the cache beside the applier: it takes
         * the read lock here unless it holds it for the whole record.
         * Callers with fill == 0 hold the read lock. */
        int lock = fill && !v->reads_locked;
        if (lock)
            pthread_rwlock_rdlock(&v->cache_lock);
        int hit = gs_vcache_get(v->ecache, cf, key, klen, val, vlen);
        /* New members, users, presences: known absent without asking
         * RocksDB (a miss costs 1-2 us through its filters). */
        int absent = hit == 0 && fill && gs_vcache_absent(v->ecache, cf, key, klen);
        if (lock)
            pthread_rwlock_unlock(&v->cache_lock);
        if (hit < 0)
            return gs_err_set(err, GS_ENOMEM, "out of memory reading views");
        if (hit)
            return 1;
        if (absent)
            return 0;
    }
    char *rerr = NULL;
    *val = rocksdb_get_cf(v->db, ro, v->cf[cf], key, klen, vlen, &rerr);
    if (rerr) {
        *val = NULL;
        return gs_vdb_err(err, rerr, "cannot read views");
    }
    if (!*val)
        return 0;
    if (gs_vdisk_packed(cf, key, klen)) {
        int rc = gs_vdisk_unpack_owned(key, klen, val, vlen, "views", err);
        if (rc != GS_OK)
            return rc;
    }
    if (cacheable && fill && v->reads_locked) {
        /* Filled when the record is done (gs_vread_fills). Nothing changes
         * the committed value meanwhile: only the applier's stages write
         * RocksDB, and one in flight that holds this key would have
         * answered from its overlay. A fill left out (no memory) leaves the
         * key uncached, which the cache allows. Each one: cf, klen, vlen
         * (u32, host order), key, value. */
        if (klen <= 255 && *vlen <= UINT32_MAX) {
            uint8_t h[6] = {(uint8_t)cf, (uint8_t)klen};
            uint32_t n = (uint32_t)*vlen;
            memcpy(h + 2, &n, 4);
            gs_vbuf_put(&v->fills, h, sizeof(h));
            gs_vbuf_put(&v->fills, key, klen);
            gs_vbuf_put(&v->fills, *val, *vlen);
        }
    } else if (cacheable && fill) {
        /* Only the applier writes RocksDB, so nothing changed the value
         * since it was read. */
        pthread_rwlock_wrlock(&v->cache_lock);
        gs_vcache_put(v->ecache, cf, key, klen, *val, *vlen);
        pthread_rwlock_unlock(&v->cache_lock);
    }
    return 1;
}

void gs_vread_fills(gs_views *v)
{
    gs_vbuf *f = &v->fills;
    if (!f->len)
        return;
    if (!f->oom) { /* else some may be cut short: fill none */
        pthread_rwlock_wrlock(&v->cache_lock);
        const uint8_t *p = (const uint8_t *)f->p, *end = p + f->len;
        while (end - p >= 6) {
            int cf = p[0];
            size_t klen = p[1];
            uint32_t vlen;
            memcpy(&vlen, p + 2, 4);
            p += 6;
            if ((size_t)(end - p) < klen + vlen)
                break;
            gs_vcache_put(v->ecache, cf, p, klen, (const char *)p + klen, vlen);
            p += klen + vlen;
        }
        pthread_rwlock_unlock(&v->cache_lock);
    }
    gs_vbuf_reset(f);
}

int gs_vtx_put(gs_vtx *tx, int cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!gs_vtx_keeps(tx, cf))
        return GS_OK;
    if (cf == GS_VIEW_CHANNEL) {
        int rc = gs_vname_index(tx, key, klen, val, vlen);
        if (rc != GS_OK)
            return rc;
    }
    if (gs_ov_put(tx->ov, cf, key, klen, val, vlen) != 0)
        return gs_err_set(tx->err, GS_ENOMEM, "out of memory writing views");
    return GS_OK;
}

int gs_vtx_del(gs_vtx *tx, int cf, const void *key, size_t klen)
{
    if (!gs_vtx_keeps(tx, cf))
        return GS_OK;
    if (cf == GS_VIEW_CHANNEL) {
        int rc = gs_vname_index(tx, key, klen, NULL, 0);
        if (rc != GS_OK)
            return rc;
    }
    if (gs_ov_del(tx->ov, cf, key, klen) != 0)
        return gs_err_set(tx->err, GS_ENOMEM, "out of memory writing views");
    return GS_OK;
}

static int cmp_key(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

int gs_vtx_keyset_family(int cf)
{
    return cf == GS_VIEW_CHANNEL || cf == GS_VIEW_THREAD || cf == GS_VIEW_ROLE ||
           cf == GS_VIEW_EMOJI || cf == GS_VIEW_STICKER || cf == GS_VIEW_STAGE_INSTANCE ||
           cf == GS_VIEW_SCHEDULED_EVENT;
}

/* The committed part's current key. */
static const uint8_t *part_key(gs_vtx_it *it, size_t *klen)
{
    if (it->ksmode) {
        gs_be64(it->kkey + 8, it->ks[it->iks]);
        *klen = 16;
        return it->kkey;
    }
    return (const uint8_t *)rocksdb_iter_key(it->it, klen);
}

static void part_next(gs_vtx_it *it)
{
    if (it->ksmode) {
        free(it->kval);
        it->kval = NULL;
        it->kval_read = 0;
        it->iks++;
    } else {
        rocksdb_iter_next(it->it);
    }
}

/* 1 if the RocksDB iterator is on a key with the prefix, 0 if not, <0 on a
 * read error. */
static int db_ok(gs_vtx *tx, gs_vtx_it *it)
{
    if (it->ksmode)
        return it->iks < it->nks;
    if (!it->it)
        return 0;
    if (!rocksdb_iter_valid(it->it)) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it->it, &rerr);
        if (rerr)
            return gs_vdb_err(tx->err, rerr, "cannot iterate views");
        return 0;
    }
    size_t klen;
    const char *k = rocksdb_iter_key(it->it, &klen);
    /* No iterate_upper_bound (RocksDB 7.8 trips an assertion on it in
     * some iterator states): stop at the end of the prefix here. */
    return klen >= it->plen && memcmp(k, it->prefix, it->plen) == 0;
}

/* Position on the next live entry of the merge of RocksDB and the overlay
 * (the overlay wins on equal keys; its deletions hide RocksDB's entries). */
static int settle(gs_vtx *tx, gs_vtx_it *it)
{
    for (;;) {
        int d = db_ok(tx, it);
        if (d < 0)
            return d;
        int o = it->iov < it->nov;
        if (!d && !o) {
            it->src = 0;
            return 0;
        }
        if (d && o) {
            size_t klen;
            const uint8_t *k = part_key(it, &klen);
            const gs_ov_ent *e = &it->ov[it->iov];
            int c = cmp_key(k, klen, e->key, e->klen);
            if (c < 0) {
                it->src = 1;
                return 1;
            }
            if (c == 0)
                part_next(it); /* shadowed by the overlay */
        } else if (d) {
            it->src = 1;
            return 1;
        }
        if (it->ov[it->iov].deleted) {
            it->iov++;
            continue;
        }
        it->src = 2;
        return 1;
    }
}

/* The committed ids of the guild (it->prefix) from the keysets: known, or
 * empty when the cache is complete (every commit since an empty database
 * created its sets), else read once from RocksDB and kept. */
static int keyset_open(gs_vtx *tx, gs_vks *ks, int cf, gs_vtx_it *it)
{
    uint64_t guild = gs_get_be64(it->prefix);
    memcpy(it->kkey, it->prefix, 8);
    it->ksmode = 1;
    const uint64_t *ids;
    size_t n;
    if (gs_vks_get(ks, cf, guild, &ids, &n) || gs_vcache_complete(tx->v->ecache)) {
        if (n) {
            it->ks = malloc(n * sizeof(*it->ks));
            if (!it->ks)
                return gs_err_set(tx->err, GS_ENOMEM, "out of memory iterating views");
            memcpy(it->ks, ids, n * sizeof(*ids));
        }
        it->nks = n;
        return GS_OK;
    }
    rocksdb_iterator_t *ri;
    int kept = !tx->its_busy[cf][0];
    if (kept) {
        if (!tx->its[cf][0])
            tx->its[cf][0] = rocksdb_create_iterator_cf(tx->v->db, tx->v->ro, tx->v->cf[cf]);
        ri = tx->its[cf][0];
    } else {
        ri = rocksdb_create_iterator_cf(tx->v->db, tx->v->ro, tx->v->cf[cf]);
    }
    if (!ri)
        return gs_err_set(tx->err, GS_ENOMEM, "cannot create views iterator");
    size_t cap = 0;
    int rc = GS_OK;
    for (rocksdb_iter_seek(ri, (const char *)it->prefix, 8); rocksdb_iter_valid(ri);
         rocksdb_iter_next(ri)) {
        size_t klen;
        const char *k = rocksdb_iter_key(ri, &klen);
        if (klen < 8 || memcmp(k, it->prefix, 8) != 0)
            break;
        if (klen != 16)
            continue;
        if (it->nks == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(it->ks, cap * sizeof(*p));
            if (!p) {
                rc = gs_err_set(tx->err, GS_ENOMEM, "out of memory iterating views");
                break;
            }
            it->ks = p;
        }
        it->ks[it->nks++] = gs_get_be64((const uint8_t *)k + 8);
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(ri, &rerr);
    if (rerr && rc == GS_OK)
        rc = gs_vdb_err(tx->err, rerr, "cannot iterate views");
    else
        rocksdb_free(rerr);
    if (!kept)
        rocksdb_iter_destroy(ri);
    /* Out of memory keeping it: just not kept (asked again next time). */
    if (rc == GS_OK)
        gs_vks_set(ks, cf, guild, it->ks, it->nks);
    return rc;
}

int gs_vtx_it_open(gs_vtx *tx, int cf, const void *prefix, size_t plen, gs_vtx_it *it)
{
    memset(it, 0, sizeof(*it));
    if (plen > sizeof(it->prefix))
        return gs_err_set(tx->err, GS_EMISUSE, "views prefix of %zu bytes", plen);
    memcpy(it->prefix, prefix, plen);
    it->plen = plen;
    it->tx = tx;
    if (!gs_vtx_keeps(tx, cf))
        return GS_OK; /* empty */
    gs_ov_ent *ents;
    size_t n;
    if (gs_ov_prefix(tx->ov, cf, prefix, plen, &ents, &n) != 0)
        return gs_err_set(tx->err, GS_ENOMEM, "out of memory iterating views");
    if (n) {
        /* Our own copy: another iterator may reuse the overlay's array. */
        it->ov = malloc(n * sizeof(*it->ov));
        if (!it->ov)
            return gs_err_set(tx->err, GS_ENOMEM, "out of memory iterating views");
        memcpy(it->ov, ents, n * sizeof(*it->ov));
        it->nov = n;
    }
    int pfx = cf == GS_VCF_IDX && plen >= GS_VIDX_PREFIX;
    const rocksdb_readoptions_t *ro = pfx ? tx->v->ro_pfx : tx->v->ro;
    it->cf = cf;
    gs_vks *ks = gs_vcache_keysets(tx->v->ecache);
    if (ks && plen == 8 && gs_vtx_keyset_family(cf)) {
        int rc = keyset_open(tx, ks, cf, it);
        if (rc != GS_OK) {
            free(it->ov);
            it->ov = NULL;
            return rc;
        }
        rc = settle(tx, it);
        return rc < 0 ? rc : GS_OK;
    }
    if (!tx->its_busy[cf][pfx]) {
        if (!tx->its[cf][pfx])
            tx->its[cf][pfx] = rocksdb_create_iterator_cf(tx->v->db, ro, tx->v->cf[cf]);
        it->it = tx->its[cf][pfx];
        if (it->it) {
            it->busy = &tx->its_busy[cf][pfx];
            *it->busy = 1;
        }
    } else {
        /* Nested scans of one family: a private iterator. */
        it->it = rocksdb_create_iterator_cf(tx->v->db, ro, tx->v->cf[cf]);
    }
    if (!it->it) {
        free(it->ov);
        it->ov = NULL;
        return gs_err_set(tx->err, GS_ENOMEM, "cannot create views iterator");
    }
    rocksdb_iter_seek(it->it, (const char *)it->prefix, plen);
    int rc = settle(tx, it);
    return rc < 0 ? rc : GS_OK;
}

int gs_vtx_it_valid(gs_vtx *tx, gs_vtx_it *it)
{
    GS_UNUSED(tx);
    return it->rc < 0 ? it->rc : it->src != 0;
}

const uint8_t *gs_vtx_it_key(gs_vtx_it *it, size_t *klen)
{
    if (it->src == 2) {
        *klen = it->ov[it->iov].klen;
        return it->ov[it->iov].key;
    }
    return part_key(it, klen);
}

const uint8_t *gs_vtx_it_val(gs_vtx_it *it, size_t *vlen)
{
    if (it->src == 2) {
        *vlen = it->ov[it->iov].vlen;
        return it->ov[it->iov].val;
    }
    if (it->ksmode) {
        if (!it->kval_read) {
            size_t klen;
            const uint8_t *k = part_key(it, &klen);
            it->kval_read = 1;
            it->kvlen = 0;
            int rc = gs_vread(it->tx->v, it->tx->v->ro, it->cf, k, klen, 1, &it->kval, &it->kvlen,
                              it->tx->err);
            if (rc < 0)
                it->rc = rc;
            else if (rc == 0) /* the keysets name a key RocksDB lacks */
                it->rc = gs_err_set(it->tx->err, GS_ECORRUPT, "views %s: a listed key is missing",
                                    gs_vcf_name(it->cf));
        }
        *vlen = it->kvlen;
        return it->kval ? (const uint8_t *)it->kval : (const uint8_t *)"";
    }
    size_t klen;
    const char *k = rocksdb_iter_key(it->it, &klen);
    const uint8_t *raw = (const uint8_t *)rocksdb_iter_value(it->it, vlen);
    if (!gs_vdisk_packed(it->cf, k, klen))
        return raw;
    int rc = gs_vdisk_unpack(k, klen, raw, *vlen, &it->dval, "views iterator", it->tx->err);
    if (rc != GS_OK) {
        it->rc = rc;
        *vlen = 0;
        return (const uint8_t *)"";
    }
    *vlen = it->dval.len;
    return (const uint8_t *)it->dval.p;
}

void gs_vtx_it_next(gs_vtx_it *it)
{
    if (it->src == 1)
        part_next(it);
    else if (it->src == 2)
        it->iov++;
    else
        return;
    int rc = settle(it->tx, it);
    if (rc < 0)
        it->rc = rc;
}

void gs_vtx_it_close(gs_vtx_it *it)
{
    free(it->ks);
    free(it->kval);
    gs_vbuf_free(&it->dval);
    it->ks = NULL;
    it->kval = NULL;
    it->nks = it->iks = 0;
    if (it->busy)
        *it->busy = 0;
    else if (it->it)
        rocksdb_iter_destroy(it->it);
    it->busy = NULL;
    free(it->ov);
    it->it = NULL;
    it->ov = NULL;
    it->nov = it->iov = 0;
    it->src = 0;
}

void gs_vtx_drop_iters(gs_vtx *tx)
{
    for (int cf = 0; cf < GS_VCF_COUNT; cf++)
        for (int k = 0; k < 2; k++) {
            if (tx->its[cf][k])
                rocksdb_iter_destroy(tx->its[cf][k]);
            tx->its[cf][k] = NULL;
            tx->its_busy[cf][k] = 0;
        }
}

int gs_vtx_me(gs_vtx *tx, uint64_t *me)
{
    *me = 0;
    gs_ov_ent e;
    gs_views *v = tx->v;
    /* The call's own write first, then the committed value (kept in v by
     * commit, apply.c), read from RocksDB only once. */
    if (!gs_ov_get(tx->ov, GS_VCF_META, GS_VMETA_ME, strlen(GS_VMETA_ME), &e) && v->me_known) {
        *me = v->me;
        return GS_OK;
    }
    char *val;
    size_t len;
    int rc = gs_vtx_get(tx, GS_VCF_META, GS_VMETA_ME, strlen(GS_VMETA_ME), &val, &len);
    if (rc < 0)
        return rc;
    if (rc == 1 && len == 8)
        *me = gs_get_be64((const uint8_t *)val);
    free(val);
    if (!gs_ov_get(tx->ov, GS_VCF_META, GS_VMETA_ME, strlen(GS_VMETA_ME), &e)) {
        v->me = *me;
        v->me_known = 1;
    }
    return GS_OK;
}

int gs_vtx_avail(gs_vtx *tx, uint64_t guild, int unavailable)
{
    uint8_t key[sizeof(GS_VMETA_AVAIL) - 1 + 8];
    memcpy(key, GS_VMETA_AVAIL, sizeof(GS_VMETA_AVAIL) - 1);
    gs_be64(key + sizeof(GS_VMETA_AVAIL) - 1, guild);
    if (unavailable < 0)
        return gs_vtx_del(tx, GS_VCF_META, key, sizeof(key));
    uint8_t val = unavailable ? 1 : 0;
    return gs_vtx_put(tx, GS_VCF_META, key, sizeof(key), &val, 1);
}
