/*
 * meta.c - the meta column family: schema version, rules, watermark,
 * failure count and ring, current user, guild availability. Numbers are
 * big-endian so a dump reads naturally and keys sort by guild id.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

int gs_vmeta_read_u64(gs_views *v, const rocksdb_readoptions_t *ro, const char *key, uint64_t *out,
                      gs_err *err)
{
    char *rerr = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(v->db, ro, v->cf[GS_VCF_META], key, strlen(key), &len, &rerr);
    if (rerr)
        return gs_vdb_err(err, rerr, "cannot read views meta");
    if (!val)
        return 0;
    int rc = 1;
    if (len == 8)
        *out = gs_get_be64((const uint8_t *)val);
    else if (len == 4)
        *out = gs_get_be32((const uint8_t *)val);
    else
        rc = gs_err_set(err, GS_ECORRUPT, "views meta %s: value of %zu bytes", key, len);
    rocksdb_free(val);
    return rc;
}

void gs_vmeta_init_batch(gs_views *v, rocksdb_writebatch_t *b)
{
    uint8_t u32[4], u64[8];
    rocksdb_column_family_handle_t *cf = v->cf[GS_VCF_META];
    gs_be32(u32, GS_VIEWS_SCHEMA);
    rocksdb_writebatch_put_cf(b, cf, GS_VMETA_FORMAT, strlen(GS_VMETA_FORMAT), (char *)u32, 4);
    gs_be32(u32, v->keep);
    rocksdb_writebatch_put_cf(b, cf, GS_VMETA_RULES, strlen(GS_VMETA_RULES), (char *)u32, 4);
    gs_be32(u32, v->comp ? (uint32_t)v->comp : GS_VIEWS_COMPRESSION_AUTO);
    rocksdb_writebatch_put_cf(b, cf, GS_VMETA_COMP, strlen(GS_VMETA_COMP), (char *)u32, 4);
    gs_be64(u64, 0);
    rocksdb_writebatch_put_cf(b, cf, GS_VMETA_WATERMARK, strlen(GS_VMETA_WATERMARK), (char *)u64,
                              8);
    rocksdb_writebatch_put_cf(b, cf, GS_VMETA_FAILCOUNT, strlen(GS_VMETA_FAILCOUNT), (char *)u64,
                              8);
}
