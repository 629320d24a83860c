/*
 * status.c - what `views status` shows: watermark, schema version, rules,
 * current user, the records that could not be applied, and the memory the
 * views hold.
 */
#include "gs_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "views_int.h"

static int by_lsn_desc(const void *a, const void *b)
{
    uint64_t x = ((const gs_views_failure *)a)->lsn, y = ((const gs_views_failure *)b)->lsn;
    return x > y ? -1 : x < y;
}

static void copy_str(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Decode a failure entry [lsn, event, reason]; 0 ok, -1 damaged. */
static int decode_failure(const char *val, size_t len, gs_views_failure *f)
{
    gs_mpr r;
    gs_mpv a, lsn, ev, why;
    gs_mpr_init(&r, val, len);
    if (gs_mpr_read(&r, &a) != 0 || a.type != GS_MP_ARRAY || a.n != 3 ||
        gs_mpr_read(&r, &lsn) != 0 || lsn.type != GS_MP_UINT || gs_mpr_read(&r, &ev) != 0 ||
        ev.type != GS_MP_STR || gs_mpr_read(&r, &why) != 0 || why.type != GS_MP_STR)
        return -1;
    f->lsn = lsn.u;
    copy_str(f->event, sizeof(f->event), ev.s, ev.len);
    copy_str(f->reason, sizeof(f->reason), why.s, why.len);
    return 0;
}

int gs_views_status_read(gs_views *v, gs_views_status *out, gs_err *err)
{
    memset(out, 0, sizeof(*out));
    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(v->db);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (!ro)
        return gs_err_set(err, GS_ENOMEM, "cannot read views status");
    rocksdb_readoptions_set_snapshot(ro, snap);
    uint64_t x = 0;
    int rc = gs_vmeta_read_u64(v, ro, GS_VMETA_WATERMARK, &out->watermark, err);
    if (rc >= 0)
        rc = gs_vmeta_read_u64(v, ro, GS_VMETA_FORMAT, &x, err);
    out->schema_version = (uint32_t)x;
    x = 0;
    if (rc >= 0)
        rc = gs_vmeta_read_u64(v, ro, GS_VMETA_RULES, &x, err);
    out->types_kept = (uint32_t)x;
    if (rc >= 0)
        rc = gs_vmeta_read_u64(v, ro, GS_VMETA_ME, &out->current_user_id, err);
    if (rc >= 0)
        rc = gs_vmeta_read_u64(v, ro, GS_VMETA_FAILCOUNT, &out->failed_records, err);
    gs_views_failure ring[GS_VMETA_FAIL_SLOTS];
    size_t n = 0;
    for (int slot = 0; rc >= 0 && slot < GS_VMETA_FAIL_SLOTS; slot++) {
        uint8_t key[sizeof(GS_VMETA_FAIL)];
        memcpy(key, GS_VMETA_FAIL, sizeof(GS_VMETA_FAIL) - 1);
        key[sizeof(GS_VMETA_FAIL) - 1] = (uint8_t)slot;
        char *rerr = NULL;
        size_t len = 0;
        char *val = rocksdb_get_cf(v->db, ro, v->cf[GS_VCF_META], (const char *)key, sizeof(key),
                                   &len, &rerr);
        if (rerr) {
            rc = gs_vdb_err(err, rerr, "cannot read views status");
            break;
        }
        if (val && decode_failure(val, len, &ring[n]) == 0)
            n++;
        rocksdb_free(val);
    }
    rocksdb_readoptions_destroy(ro);
    rocksdb_release_snapshot(v->db, snap);
    if (rc < 0)
        return rc;
    qsort(ring, n, sizeof(ring[0]), by_lsn_desc);
    out->nfailures = (uint32_t)(n < GS_VIEWS_FAILURES_MAX ? n : GS_VIEWS_FAILURES_MAX);
    memcpy(out->failures, ring, out->nfailures * sizeof(ring[0]));
    out->rebuilt_on_open = v->wiped;
    if (v->wiped)
        copy_str(out->rebuild_reason, sizeof(out->rebuild_reason), v->wiped_reason,
                 strlen(v->wiped_reason));
    return GS_OK;
}

static uint64_t sum_property(gs_views *v, const char *name)
{
    uint64_t total = 0;
    for (int cf = 0; cf < GS_VCF_COUNT; cf++) {
        uint64_t x = 0;
        if (v->cf[cf] && rocksdb_property_int_cf(v->db, v->cf[cf], name, &x) == 0)
            total += x;
    }
    return total;
}

void gs_views_memory_read(gs_views *v, gs_views_memory *out)
{
    memset(out, 0, sizeof(*out));
    if (v->ecache) {
        gs_vcache_stats cs;
        pthread_rwlock_rdlock(&v->cache_lock);
        gs_vcache_stats_get(v->ecache, &cs);
        pthread_rwlock_unlock(&v->cache_lock);
        out->entity_cache_bytes = cs.resident > cs.bytes ? cs.resident : cs.bytes;
        out->entity_cache_entries = cs.entries;
        out->entity_cache_budget = cs.budget;
        out->id_sets_bytes = cs.sets_bytes;
    }
    out->block_cache_bytes = rocksdb_cache_get_usage(v->cache);
    out->block_cache_pinned = rocksdb_cache_get_pinned_usage(v->cache);
    out->block_cache_budget = rocksdb_cache_get_capacity(v->cache);
    /* size-all-mem-tables: the active memtable, the full ones waiting for
     * their flush, and flushed ones an iterator still reads. */
    out->memtable_bytes = sum_property(v, "rocksdb.size-all-mem-tables");
    out->write_buffer_budget = gs_vdb_write_buffer_budget(v);
    out->table_readers_bytes = sum_property(v, "rocksdb.estimate-table-readers-mem");
}
