/*
 * dump.c - a full, deterministic text dump of the views (every family in a
 * fixed order, keys in RocksDB order), to compare two views byte for byte:
 * incremental against rebuilt, before and after unknown events.
 */
#include "gs_common.h"

#include <string.h>

#include "vdisk.h"
#include "views_int.h"

static void hex(FILE *f, const char *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(digits[c >> 4], f);
        fputc(digits[c & 15], f);
    }
}

int gs_views_dump(gs_views *v, FILE *f, gs_err *err)
{
    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(v->db);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (!ro) {
        rocksdb_release_snapshot(v->db, snap);
        return gs_err_set(err, GS_ENOMEM, "cannot dump views");
    }
    rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    /* Members are dumped as they read: without the roles their guild
     * deleted (tomb.c); the tombstones themselves follow in idx. */
    gs_vtombs tombs = {0};
    gs_vbuf filtered = {0};
    gs_vbuf decoded = {0};
    int rc = gs_vtomb_load(v, ro, 1, 0, &tombs, err);
    for (int cf = 0; cf < GS_VCF_COUNT && rc == GS_OK; cf++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(v->db, ro, v->cf[cf]);
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t klen, vlen;
            const char *k = rocksdb_iter_key(it, &klen);
            const char *val = rocksdb_iter_value(it, &vlen);
            /* The position in the log is not state: two views holding the
             * same entities dump the same whatever their watermark. */
            if (cf == GS_VCF_META && klen == strlen(GS_VMETA_WATERMARK) &&
                memcmp(k, GS_VMETA_WATERMARK, klen) == 0)
                continue;
            /* Values are dumped as msgpack, not in their stored form, so a
             * dump does not depend on the encoding (vdisk.h). */
            if (gs_vdisk_packed(cf, k, klen)) {
                rc = gs_vdisk_unpack(k, klen, (const uint8_t *)val, vlen, &decoded, "views dump",
                                     err);
                if (rc != GS_OK)
                    break;
                val = decoded.p;
                vlen = decoded.len;
            }
            fputs(gs_vcf_name(cf), f);
            fputc('\t', f);
            hex(f, k, klen);
            fputc('\t', f);
            const uint64_t *gt;
            size_t ngt;
            if (cf == GS_VIEW_MEMBER && klen == 16 &&
                (ngt = gs_vtombs_guild(&tombs, gs_get_be64((const uint8_t *)k), &gt)) != 0 &&
                gs_vtomb_filter((const uint8_t *)val, vlen, gt, ngt, &filtered) == 1) {
                val = filtered.p;
                vlen = filtered.len;
            }
            hex(f, val, vlen);
            fputc('\n', f);
        }
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr)
            rc = gs_vdb_err(err, rerr, "cannot dump views");
        rocksdb_iter_destroy(it);
    }
    gs_vtombs_free(&tombs);
    gs_vbuf_free(&filtered);
    gs_vbuf_free(&decoded);
    rocksdb_readoptions_destroy(ro);
    rocksdb_release_snapshot(v->db, snap);
    if (rc == GS_OK && ferror(f))
        rc = gs_err_set(err, GS_EIO, "cannot write the views dump");
    return rc;
}
