/*
 * tx.c - the per-record transaction: reads and writes go through one
 * RocksDB WriteBatchWithIndex, so a record sees the writes of the records
 * before it in the same batch (and its own), and a bad record is undone by
 * rolling back to the save point taken before it (apply.c).
 */
#include "gs_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    if (!gs_vtx_keeps(tx, cf))
        return 0;
    char *rerr = NULL;
    *val = rocksdb_writebatch_wi_get_from_batch_and_db_cf(tx->wb, tx->v->db, tx->v->ro,
                                                          tx->v->cf[cf], key, klen, vlen, &rerr);
    if (rerr) {
        *val = NULL;
        return gs_vdb_err(tx->err, rerr, "cannot read views");
    }
    return *val ? 1 : 0;
}

int gs_vtx_put(gs_vtx *tx, int cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!gs_vtx_keeps(tx, cf))
        return GS_OK;
    rocksdb_writebatch_wi_put_cf(tx->wb, tx->v->cf[cf], key, klen, val, vlen);
    return GS_OK;
}

int gs_vtx_del(gs_vtx *tx, int cf, const void *key, size_t klen)
{
    if (!gs_vtx_keeps(tx, cf))
        return GS_OK;
    rocksdb_writebatch_wi_delete_cf(tx->wb, tx->v->cf[cf], key, klen);
    return GS_OK;
}

int gs_vtx_it_open(gs_vtx *tx, int cf, const void *prefix, size_t plen, gs_vtx_it *it)
{
    memset(it, 0, sizeof(*it));
    if (plen > sizeof(it->prefix))
        return gs_err_set(tx->err, GS_EMISUSE, "views prefix of %zu bytes", plen);
    memcpy(it->prefix, prefix, plen);
    it->plen = plen;
    if (!gs_vtx_keeps(tx, cf))
        return GS_OK; /* it->it NULL: empty */
    it->ro = rocksdb_readoptions_create();
    if (!it->ro)
        return gs_err_set(tx->err, GS_ENOMEM, "cannot create views iterator");
    /* No iterate_upper_bound: RocksDB 7.8's iterator over a batch with a
     * base (BaseDeltaIterator) advances the base past an exhausted bound and
     * trips an assertion in Debian's build (seen on the second open of a
     * store, once the views are in SST files). gs_vtx_it_valid stops at the
     * end of the prefix instead. */
    rocksdb_iterator_t *base = rocksdb_create_iterator_cf(tx->v->db, it->ro, tx->v->cf[cf]);
    /* The batch iterator takes over the base iterator. */
    it->it = rocksdb_writebatch_wi_create_iterator_with_base_cf(tx->wb, base, tx->v->cf[cf]);
    if (!it->it) {
        rocksdb_readoptions_destroy(it->ro);
        it->ro = NULL;
        return gs_err_set(tx->err, GS_ENOMEM, "cannot create views iterator");
    }
    rocksdb_iter_seek(it->it, (const char *)it->prefix, plen);
    return GS_OK;
}

int gs_vtx_it_valid(gs_vtx *tx, gs_vtx_it *it)
{
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
    /* The batch part of the iterator ignores the upper bound. */
    return klen >= it->plen && memcmp(k, it->prefix, it->plen) == 0;
}

const uint8_t *gs_vtx_it_key(gs_vtx_it *it, size_t *klen)
{
    return (const uint8_t *)rocksdb_iter_key(it->it, klen);
}

const uint8_t *gs_vtx_it_val(gs_vtx_it *it, size_t *vlen)
{
    return (const uint8_t *)rocksdb_iter_value(it->it, vlen);
}

void gs_vtx_it_next(gs_vtx_it *it)
{
    rocksdb_iter_next(it->it);
}

void gs_vtx_it_close(gs_vtx_it *it)
{
    if (it->it)
        rocksdb_iter_destroy(it->it);
    if (it->ro)
        rocksdb_readoptions_destroy(it->ro);
    it->it = NULL;
    it->ro = NULL;
}

int gs_vtx_me(gs_vtx *tx, uint64_t *me)
{
    char *val;
    size_t len;
    *me = 0;
    int rc = gs_vtx_get(tx, GS_VCF_META, GS_VMETA_ME, strlen(GS_VMETA_ME), &val, &len);
    if (rc <= 0)
        return rc;
    if (len == 8)
        *me = gs_get_be64((const uint8_t *)val);
    rocksdb_free(val);
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
