/*
 * db.c - the RocksDB database behind the views: options, column families,
 * open (with wipe on schema or rules change), close, and the containment of
 * RocksDB error strings.
 *
 * Why WAL off + atomic flush: the log is the truth, so RocksDB's own WAL
 * would only duplicate it. Without a WAL, what survives a crash is what the
 * last flush wrote; atomic_flush makes every flush cover all column families
 * at once, so the watermark (meta) on disk always matches the entities on
 * disk. Views then catch up from that watermark. Never flush one column
 * family alone (rocksdb_flush_cf): that would break this; closing the
 * database flushes all of them together.
 */
#include "gs_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "pipe.h"
#include "views_int.h"

static const char *const cf_names[GS_VCF_COUNT] = {
    "guild",   "channel",     "thread",   "role",           "member",          "user", "emoji",
    "sticker", "voice_state", "presence", "stage_instance", "scheduled_event", "meta", "idx"};

/* Memory budget (see FORMAT.md, "Tuning"): one shared block cache, write
 * buffers capped for the whole database. 12 MiB of write buffers instead
 * of 16 did not lower the peak (large e2e shape, one run each, busy
 * machine: 143.2 -> 144.4 MB): flushes that are still running hold their
 * memtables either way. Smaller memtable arena blocks (64/256 KiB) did not
 * move it beyond the noise either (default shape 104-112 MB). */
#define CACHE_BYTES        (8u << 20)
#define ENTITY_CACHE_BYTES (40u << 20)
#define DB_WRITE_BUF_BYTES (16u << 20)
/* Compaction output files. A table's full bloom filter is built from every
 * key hash of the file, held until the file is finished: at RocksDB's
 * default 64 MiB files that was the largest single item of the large
 * shape's peak heap (19.6 MB, about 2 M member keys in one output file). */
#define TARGET_FILE_BYTES     (8u << 20)
#define L0_COMPACTION_TRIGGER 8

size_t gs_vdb_write_buffer_budget(const gs_views *v)
{
    return v->tuning.db_write_buffer_bytes ? v->tuning.db_write_buffer_bytes : DB_WRITE_BUF_BYTES;
}

/* One family's write buffer: the tuning's, else a share of the total (the
 * tuning's or the default): half for the big families (member, user,
 * presence: 8 MiB of 16), an eighth for the others (2 MiB). */
static size_t cf_write_buffer(const gs_views *v, int big)
{
    size_t set = big ? v->tuning.big_write_buffer_bytes : v->tuning.small_write_buffer_bytes;
    return set ? set : gs_vdb_write_buffer_budget(v) / (big ? 2 : 8);
}

const char *gs_vcf_name(int cf)
{
    return cf >= 0 && cf < GS_VCF_COUNT ? cf_names[cf] : "?";
}

int gs_vdb_err(gs_err *err, char *rocks_msg, const char *what)
{
    int code = GS_EVIEW;
    const char *m = rocks_msg ? rocks_msg : "unknown error";
    if (strncmp(m, "Corruption", 10) == 0)
        code = GS_ECORRUPT;
    else if (strstr(m, "No space") || strstr(m, "no space"))
        code = GS_ENOSPC;
    else if (strstr(m, "lock file") || strstr(m, "LOCK"))
        code = GS_EBUSY;
    else if (strncmp(m, "IO error", 8) == 0)
        code = GS_EIO;
    gs_err_set(err, code, "%s: %s", what, m);
    free(rocks_msg);
    return code;
}

static int big_cf(int cf)
{
    return cf == GS_VIEW_MEMBER || cf == GS_VIEW_USER || cf == GS_VIEW_PRESENCE;
}

static void options_free(gs_views *v)
{
    for (int i = 0; i < GS_VCF_COUNT; i++) {
        if (v->cfopts[i])
            rocksdb_options_destroy(v->cfopts[i]);
        v->cfopts[i] = NULL;
    }
    if (v->dbopts)
        rocksdb_options_destroy(v->dbopts);
    if (v->bbto)
        rocksdb_block_based_options_destroy(v->bbto);
    if (v->cache)
        rocksdb_cache_destroy(v->cache);
    if (v->ro)
        rocksdb_readoptions_destroy(v->ro);
    if (v->ro_pfx)
        rocksdb_readoptions_destroy(v->ro_pfx);
    if (v->wo)
        rocksdb_writeoptions_destroy(v->wo);
    v->dbopts = NULL;
    v->bbto = NULL;
    v->cache = NULL;
    v->ro = NULL;
    v->ro_pfx = NULL;
    v->wo = NULL;
}

static size_t or_default(size_t x, size_t def)
{
    return x ? x : def;
}

static void cf_options(gs_views *v, rocksdb_options_t *o, int cf)
{
    rocksdb_options_set_block_based_table_factory(o, v->bbto);
    /* LZ4 for flushes and every level above the last. zstd level 1 there
     * made L0 28 % smaller than LZ4 (member values of the default shape,
     * 6.6 -> 4.7 MB), which counted while the views closed with their data
     * in L0 (the default shape never reaches a compaction: 7 L0 files per
     * family at close). Now the close compacts such families into the last
     * level (close_compact), so L0's size only lasts while the views are
     * open, and LZ4 costs the flush thread a fraction of zstd's CPU (half
     * of its samples were libzstd): README, "LZ4 flushes, compaction at
     * close". */
    rocksdb_options_set_compression(o, rocksdb_lz4_compression);
    /* The last level holds most of the data and is written only by
     * compactions (background): zstd there took the views of the default
     * benchmark shape from 28 to 22 MB when flushes were LZ4. */
    rocksdb_options_set_bottommost_compression(o, rocksdb_zstd_compression);
    /* No zstd dictionary: a 16 KiB one took the compacted views of the
     * default shape from 18.6 to 16.0 MB, but training it on every
     * compaction cost ingest time and buffered each output file's blocks
     * in memory (one e2e run: peak RSS 125 -> 170 MB). Level 3: level 6
     * took the compacted views (16 KiB blocks) from 16.8 to 16.0 MB for
     * ~25% more CPU in a rebuild, level 9 to 15.9 MB for ~50%. Level 1
     * (as above it) made the fully compacted views (cpack values, schema
     * 4) 12.57 -> 12.72 MB for ~10% less CPU in that compaction: kept 3. */
    rocksdb_options_set_bottommost_compression_options(o, -14, 3, 0, 0, 1);
    rocksdb_options_set_write_buffer_size(o, cf_write_buffer(v, big_cf(cf)));
    rocksdb_options_set_max_write_buffer_number(o, 2);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
    /* Compact L0 at 8 files instead of RocksDB's 4. Updates land all over
     * the members' and users' key space, so every L0 file overlaps the
     * whole base level and each L0 compaction rewrites (and recompresses)
     * nearly all of the family: waiting for twice the files halves those
     * rewrites. Default e2e ingest: 51 -> 12 compactions writing 12.0 ->
     * 3.1 MB; large: 200 -> 134 MB. Reads consult up to 7 more L0 files
     * (their filters and indexes are in memory); the slowdown (20) and stop
     * (36) triggers stay RocksDB's. README, "L0 compaction trigger". */
    rocksdb_options_set_level0_file_num_compaction_trigger(o, L0_COMPACTION_TRIGGER);
    /* idx keys (the user index: 17 bytes, empty values) delta-encode to a
     * few bytes each, so a file of idx holds several times the keys of an
     * entity file of the same size, and each key adds two hashes (whole key
     * and prefix) to the filter being built. */
    rocksdb_options_set_target_file_size_base(o, cf == GS_VCF_IDX ? TARGET_FILE_BYTES / 4
                                                                  : TARGET_FILE_BYTES);
    /* No memtable bloom filter: each new memtable allocated one of 5 % of
     * its family's write buffer up front (0.4 MiB for the big families,
     * 0.1 MiB for the others, again for every memtable a flush still
     * holds): 6.8 MB of the large e2e shape's peak heap (heaptrack, during
     * the rebuild), for no measured gain in the applier's reads (README,
     * "no memtable bloom filter"). */
}

/* Not done: fixing glibc's mmap threshold (mallopt M_MMAP_THRESHOLD 256
 * KiB, so that freed memtables, write batches and parser buffers go back
 * to the system instead of staying in the per-thread arenas). Peak RSS of
 * the default e2e shape went down 10-13 MB (base build with
 * MALLOC_MMAP_THRESHOLD_=262144, 3 alternated pairs: 120.1/123.5/124.0 ->
 * 110.5/110.8/111.8 MB), but ingest to confirmed went 4.84 -> 8.38,
 * 4.00 -> 7.31 and 6.16 -> 4.75 s (update events/s about halved in two
 * pairs): every memtable block is then mapped, faulted in and unmapped. */
static int options_create(gs_views *v, gs_err *err)
{
    v->cache = rocksdb_cache_create_lru(or_default(v->tuning.cache_bytes, CACHE_BYTES));
    v->bbto = rocksdb_block_based_options_create();
    v->dbopts = rocksdb_options_create();
    v->ro = rocksdb_readoptions_create();
    v->ro_pfx = rocksdb_readoptions_create();
    v->wo = rocksdb_writeoptions_create();
    if (!v->cache || !v->bbto || !v->dbopts || !v->ro || !v->ro_pfx || !v->wo)
        return gs_err_set(err, GS_ENOMEM, "cannot create views options");
    /* idx has a prefix extractor (below): plain iterators keep the total
     * order; prefix scans of GS_VIDX_PREFIX bytes or more may use the
     * prefix bloom filters to skip files. */
    rocksdb_readoptions_set_total_order_seek(v->ro, 1);
    rocksdb_readoptions_set_prefix_same_as_start(v->ro_pfx, 1);
    rocksdb_block_based_options_set_block_cache(v->bbto, v->cache);
    rocksdb_block_based_options_set_filter_policy(v->bbto,
                                                  rocksdb_filterpolicy_create_bloom_full(10));
    /* Index and filter blocks stay in the table readers (not the block
     * cache): every point read consults them. They grow with the views
     * (gs_views_memory's table_readers_bytes: 6.4 MB at the large benchmark
     * shape, views 120 MB). Charged to the 8 MiB block cache instead, they
     * took the large shape's update phase from 14.8/13.1 to 12.9/12.6 k
     * events/s (2 alternated runs) for no lower peak RSS; with RocksDB's
     * 64 MiB files a single filter block was 1.6 MB and member get p50 went
     * from 32 to 380 us. Partitioned (two-level index, 4 KiB partitions,
     * cached, top level pinned), one large e2e run: peak RSS 141.2 MB (by
     * confirmed 123.8; unpartitioned 134.5-141.2 and 121.9-126.5), rebuild
     * 24.4 MB/s (28-34): the cache then holds fewer data blocks. */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(v->bbto, 0);
    /* 8 KiB blocks. 16 KiB made the compacted views of the default shape
     * 10% smaller (18.6 -> 16.8 MB), but the large shape (views 150-180 MB,
     * far beyond the block cache) reads a whole block per missed point
     * read: member get p50 35 -> 50 us, p99 0.5 -> 4.2 ms, and its ingest
     * and rebuild got much slower (one run each, busy machine). */
    rocksdb_block_based_options_set_block_size(v->bbto, 8 * 1024);
    /* A hash index inside data blocks: point reads skip the binary search. */
    rocksdb_block_based_options_set_data_block_index_type(v->bbto, 1);
    rocksdb_block_based_options_set_data_block_hash_ratio(v->bbto, 0.75);

    rocksdb_options_t *o = v->dbopts;
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_set_atomic_flush(o, 1);
    rocksdb_options_set_db_write_buffer_size(o, gs_vdb_write_buffer_budget(v));
    rocksdb_options_set_max_background_jobs(o, 2);
    rocksdb_options_set_max_open_files(o, 256);
    rocksdb_options_set_info_log_level(o, 3); /* errors only */
    /* RocksDB's own info log holds errors and its options dump (~100 KB
     * an open); the previous open's copy (LOG.old.*) helped no one and was
     * part of the store's size on disk. */
    rocksdb_options_set_keep_log_file_num(o, 1);
    rocksdb_options_set_max_log_file_size(o, 1u << 20);
    cf_options(v, o, -1);
    for (int i = 0; i < GS_VCF_COUNT; i++) {
        v->cfopts[i] = rocksdb_options_create_copy(o);
        if (!v->cfopts[i])
            return gs_err_set(err, GS_ENOMEM, "cannot create views options");
        cf_options(v, v->cfopts[i], i);
    }
    /* The user index ('U' user guild) is scanned by user for every member
     * removal (is any membership left?): whole-prefix bloom filters let
     * that seek skip the files without the user. 'L' and 'N' keys are
     * longer than the prefix too. */
    rocksdb_slicetransform_t *pfx = rocksdb_slicetransform_create_fixed_prefix(GS_VIDX_PREFIX);
    if (!pfx)
        return gs_err_set(err, GS_ENOMEM, "cannot create views options");
    rocksdb_options_set_prefix_extractor(v->cfopts[GS_VCF_IDX], pfx);
    rocksdb_writeoptions_disable_WAL(v->wo, 1);
    return GS_OK;
}

static void db_close(gs_views *v)
{
    for (int i = 0; i < GS_VCF_COUNT; i++) {
        if (v->cf[i])
            rocksdb_column_family_handle_destroy(v->cf[i]);
        v->cf[i] = NULL;
    }
    if (v->cf_default)
        rocksdb_column_family_handle_destroy(v->cf_default);
    v->cf_default = NULL;
    if (v->db)
        rocksdb_close(v->db);
    v->db = NULL;
}

static int db_exists(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    return access(path, F_OK) == 0;
}

/* Column families on disk that this build does not know mean the views
 * were written by another schema: 1 (and why in reason), else 0. */
static int unknown_cfs(gs_views *v, char *reason, size_t reason_len, gs_err *err)
{
    size_t n = 0;
    char *rerr = NULL;
    char **names = rocksdb_list_column_families(v->dbopts, v->dir, &n, &rerr);
    if (rerr) {
        gs_vdb_err(err, rerr, "cannot list view column families");
        snprintf(reason, reason_len, "views damaged: %.120s", err->msg);
        return 1;
    }
    int unknown = 0;
    for (size_t i = 0; i < n && !unknown; i++) {
        int known = strcmp(names[i], "default") == 0;
        for (int c = 0; c < GS_VCF_COUNT && !known; c++)
            known = strcmp(names[i], cf_names[c]) == 0;
        if (!known) {
            snprintf(reason, reason_len, "unknown view column family '%s'", names[i]);
            unknown = 1;
        }
    }
    rocksdb_list_column_families_destroy(names, n);
    return unknown;
}

static int db_open(gs_views *v, int read_only, gs_err *err)
{
    const char *names[GS_VCF_COUNT + 1];
    const rocksdb_options_t *opts[GS_VCF_COUNT + 1];
    rocksdb_column_family_handle_t *h[GS_VCF_COUNT + 1];
    names[0] = "default";
    opts[0] = v->dbopts;
    for (int i = 0; i < GS_VCF_COUNT; i++) {
        names[i + 1] = cf_names[i];
        opts[i + 1] = v->cfopts[i];
    }
    char *rerr = NULL;
    if (read_only)
        v->db = rocksdb_open_for_read_only_column_families(v->dbopts, v->dir, GS_VCF_COUNT + 1,
                                                           names, opts, h, 0, &rerr);
    else
        v->db = rocksdb_open_column_families(v->dbopts, v->dir, GS_VCF_COUNT + 1, names, opts, h,
                                             &rerr);
    if (rerr) {
        v->db = NULL;
        char what[4200];
        snprintf(what, sizeof(what), "cannot open views %s", v->dir);
        return gs_vdb_err(err, rerr, what);
    }
    v->cf_default = h[0];
    for (int i = 0; i < GS_VCF_COUNT; i++)
        v->cf[i] = h[i + 1];
    return GS_OK;
}

static int db_destroy(gs_views *v, gs_err *err)
{
    char *rerr = NULL;
    db_close(v);
    rocksdb_destroy_db(v->dbopts, v->dir, &rerr);
    if (rerr) {
        char what[4200];
        snprintf(what, sizeof(what), "cannot remove views %s", v->dir);
        return gs_vdb_err(err, rerr, what);
    }
    return GS_OK;
}

/* The stored compression choice: DEFAULT when there is none (views built
 * before it was recorded, all zstd) or it is not one we know; a damaged
 * value must not cost a rebuild, since the files hold their own type. */
static gs_views_compression comp_of(const char *val, size_t len)
{
    uint32_t c = val && len == 4 ? gs_get_be32((const uint8_t *)val) : 0;
    return c == GS_VIEWS_COMPRESSION_ZSTD || c == GS_VIEWS_COMPRESSION_LZ4 ||
                   c == GS_VIEWS_COMPRESSION_AUTO
               ? (gs_views_compression)c
               : GS_VIEWS_COMPRESSION_DEFAULT;
}

/* The compression key of db's meta family into *out; RocksDB's error
 * (to free) or NULL. */
static char *get_comp(rocksdb_t *db, const rocksdb_readoptions_t *ro,
                      rocksdb_column_family_handle_t *meta, gs_views_compression *out)
{
    char *rerr = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(db, ro, meta, GS_VMETA_COMP, strlen(GS_VMETA_COMP), &len, &rerr);
    if (!rerr)
        *out = comp_of(val, len);
    rocksdb_free(val);
    return rerr;
}

static int read_stored_comp(gs_views *v, gs_err *err)
{
    char *rerr = get_comp(v->db, v->ro, v->cf[GS_VCF_META], &v->stored_comp);
    return rerr ? gs_vdb_err(err, rerr, "cannot read views meta") : GS_OK;
}

/* Before views are wiped as damaged or foreign, the compression they were
 * given, so that the rebuild keeps it (the other wipes keep it through
 * check_meta). From the open database, else from a read-only open of its
 * meta family alone, which works when the others are unknown to this
 * build; if that fails too (damaged beyond it), the default. */
static void comp_before_wipe(gs_views *v)
{
    if (v->comp)
        return; /* asked for: that wins anyway */
    gs_err e;
    if (v->db) {
        if (read_stored_comp(v, &e) == GS_OK)
            v->comp = v->stored_comp;
        return;
    }
    const char *names[2] = {"default", cf_names[GS_VCF_META]};
    const rocksdb_options_t *opts[2] = {v->dbopts, v->cfopts[GS_VCF_META]};
    rocksdb_column_family_handle_t *h[2] = {NULL, NULL};
    char *rerr = NULL;
    rocksdb_t *db =
        rocksdb_open_for_read_only_column_families(v->dbopts, v->dir, 2, names, opts, h, 0, &rerr);
    if (rerr) {
        free(rerr);
        return;
    }
    free(get_comp(db, v->ro, h[1], &v->comp));
    for (int i = 0; i < 2; i++)
        rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(db);
}

/* Switch the big families' flushes and compactions to LZ4. Both settings
 * are mutable: files already written keep what they were written with and
 * are read as they are; compactions rewrite them in LZ4 over time. */
static int big_families_lz4(gs_views *v, gs_err *err)
{
    static const char *const keys[2] = {"compression", "bottommost_compression"};
    static const char *const vals[2] = {"kLZ4Compression", "kLZ4Compression"};
    char *rerr = NULL;
    for (int cf = 0; cf < GS_VCF_COUNT; cf++) {
        if (!big_cf(cf))
            continue;
        rocksdb_set_options_cf(v->db, v->cf[cf], 2, keys, vals, &rerr);
        if (rerr)
            return gs_vdb_err(err, rerr, "cannot set the views' compression");
    }
    atomic_store(&v->lz4_now, 1);
    return GS_OK;
}

/* Per family: bytes in L0 and in all (with mem, what the memtables hold
 * counts as L0: the close's flush puts it there). 0, or -1 if RocksDB
 * cannot list its files. */
static int level_bytes(gs_views *v, int mem, uint64_t l0[GS_VCF_COUNT], uint64_t all[GS_VCF_COUNT])
{
    memset(l0, 0, GS_VCF_COUNT * sizeof(l0[0]));
    memset(all, 0, GS_VCF_COUNT * sizeof(all[0]));
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(v->db);
    if (!lf)
        return -1;
    int n = rocksdb_livefiles_count(lf);
    for (int i = 0; i < n; i++) {
        const char *name = rocksdb_livefiles_column_family_name(lf, i);
        int cf = 0;
        while (cf < GS_VCF_COUNT && (!name || strcmp(name, cf_names[cf]) != 0))
            cf++;
        if (cf == GS_VCF_COUNT)
            continue; /* RocksDB's default family */
        size_t sz = rocksdb_livefiles_size(lf, i);
        all[cf] += sz;
        if (rocksdb_livefiles_level(lf, i) == 0)
            l0[cf] += sz;
    }
    rocksdb_livefiles_destroy(lf);
    for (int cf = 0; mem && cf < GS_VCF_COUNT; cf++) {
        uint64_t m = 0;
        if (rocksdb_property_int_cf(v->db, v->cf[cf], "rocksdb.cur-size-all-mem-tables", &m) == 0) {
            l0[cf] += m;
            all[cf] += m;
        }
    }
    return 0;
}

/* The bytes of the big families' table files now (live, so files a
 * compaction is about to drop count until it has: a slight overestimate
 * while the views grow). */
static uint64_t big_families_bytes(gs_views *v)
{
    uint64_t l0[GS_VCF_COUNT], all[GS_VCF_COUNT], sum = 0;
    if (level_bytes(v, 0, l0, all) != 0)
        return 0;
    for (int cf = 0; cf < GS_VCF_COUNT; cf++)
        if (big_cf(cf))
            sum += all[cf];
    return sum;
}

/* AUTO's threshold. zstd keeps the views smallest, and costs nothing while
 * the entity cache holds the big families (reads and updates then never
 * decompress a block); once their files pass half the cache's budget,
 * their values no longer fit it (in the cache's compact form they take
 * about 3 times the bytes of their zstd files: the default benchmark
 * shape's 11-14 MB of files fill 39 MB of the 40 MiB cache), point reads
 * and updates go to RocksDB and each miss decompresses a block: LZ4 does
 * that several times faster (README, "Views compression: auto"). The
 * default shape stays below it; twice that shape passes it two thirds of
 * the way in (27 MB of files at the end), the large one early in its
 * snapshots. Without an entity cache, the block cache's budget. */
static uint64_t auto_threshold(const gs_views *v)
{
    if (v->tuning.auto_lz4_bytes)
        return v->tuning.auto_lz4_bytes;
    if (v->tuning.no_entity_cache)
        return or_default(v->tuning.cache_bytes, CACHE_BYTES);
    return or_default(v->tuning.entity_cache_bytes, ENTITY_CACHE_BYTES) / 2;
}

/* AUTO, and the big families past its threshold. */
static int auto_wants_lz4(gs_views *v)
{
    return v->comp == GS_VIEWS_COMPRESSION_AUTO && big_families_bytes(v) > auto_threshold(v);
}

void gs_vdb_auto_compression(gs_views *v)
{
    if (v->read_only || atomic_load(&v->lz4_now) || !auto_wants_lz4(v))
        return;
    gs_err e;
    (void)big_families_lz4(v, &e);
}

/* Settle the big families' compression once the database is open: the
 * asked-for choice, else the stored one, else zstd (what the families were
 * opened with). A new choice is stored and flushed at once, so it holds for
 * the next open even if this process dies before writing anything. AUTO
 * looks at the families' size now: reopened big views write LZ4 at once. */
static int settle_compression(gs_views *v, gs_err *err)
{
    if (!v->comp)
        v->comp = v->stored_comp ? v->stored_comp : GS_VIEWS_COMPRESSION_ZSTD;
    if (v->read_only) {
        /* This open writes nothing: report what a writer with the
         * default budgets would write at these sizes (a writer in another
         * process may have other budgets, so this is the best guess). */
        atomic_store(&v->lz4_now, v->comp == GS_VIEWS_COMPRESSION_LZ4 || auto_wants_lz4(v));
        return GS_OK;
    }
    char *rerr = NULL;
    if (v->stored_comp != v->comp) {
        uint8_t u32[4];
        gs_be32(u32, (uint32_t)v->comp);
        rocksdb_put_cf(v->db, v->wo, v->cf[GS_VCF_META], GS_VMETA_COMP, strlen(GS_VMETA_COMP),
                       (const char *)u32, 4, &rerr);
        if (rerr)
            return gs_vdb_err(err, rerr, "cannot store the views' compression");
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        if (!fo)
            return gs_err_set(err, GS_ENOMEM, "cannot create views flush options");
        rocksdb_flushoptions_set_wait(fo, 1);
        rocksdb_flush_cf(v->db, fo, v->cf[GS_VCF_META], &rerr);
        rocksdb_flushoptions_destroy(fo);
        if (rerr)
            return gs_vdb_err(err, rerr, "cannot store the views' compression");
        v->stored_comp = v->comp;
    }
    if (v->comp == GS_VIEWS_COMPRESSION_LZ4)
        return big_families_lz4(v, err);
    gs_vdb_auto_compression(v);
    return GS_OK;
}

static int write_init_meta(gs_views *v, gs_err *err)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    if (!b)
        return gs_err_set(err, GS_ENOMEM, "cannot create views batch");
    gs_vmeta_init_batch(v, b);
    char *rerr = NULL;
    rocksdb_write(v->db, v->wo, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr)
        return gs_vdb_err(err, rerr, "cannot initialize views meta");
    v->stored_comp = v->comp ? v->comp : GS_VIEWS_COMPRESSION_AUTO;
    return GS_OK;
}

static void names_of(uint32_t keep, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++) {
        if (!(keep & GS_VIEW_BIT(t)))
            continue;
        int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", gs_view_type_name(t));
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
    }
    if (!off)
        snprintf(buf, len, "none");
}

/* Check format and rules of an open database. 0 fine (fresh ones are
 * initialized), 1 needs a wipe (reason set), <0 error. */
static int check_meta(gs_views *v, char *reason, size_t reason_len, gs_err *err)
{
    uint64_t format = 0, rules = 0, wm = 0;
    int rc = gs_vmeta_read_u64(v, v->ro, GS_VMETA_FORMAT, &format, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        rc = gs_vmeta_read_u64(v, v->ro, GS_VMETA_WATERMARK, &wm, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            snprintf(reason, reason_len, "views damaged: no schema version");
            return 1;
        }
        if (v->read_only)
            return gs_err_set(err, GS_ENOTFOUND, "views %s are empty", v->dir);
        return write_init_meta(v, err);
    }
    /* Before the schema check, so a rebuild keeps the choice (like the
     * rules below). */
    rc = read_stored_comp(v, err);
    if (rc != GS_OK)
        return rc;
    if (!v->comp)
        v->comp = v->stored_comp;
    if (v->use_stored) {
        /* Taken before the schema check so a rebuild for a new schema keeps
         * the rules the views had. Damaged rules fall through to the wipe
         * below (with everything kept). */
        rc = gs_vmeta_read_u64(v, v->ro, GS_VMETA_RULES, &rules, err);
        if (rc < 0)
            return rc;
        if (rc == 1)
            v->keep = (uint32_t)rules & GS_VIEW_ALL;
    }
    if (format != GS_VIEWS_SCHEMA) {
        snprintf(reason, reason_len, "view schema version %llu -> %d", (unsigned long long)format,
                 GS_VIEWS_SCHEMA);
        return 1;
    }
    rc = gs_vmeta_read_u64(v, v->ro, GS_VMETA_RULES, &rules, err);
    if (rc < 0)
        return rc;
    if (v->read_only || (v->use_stored && rc == 1)) {
        v->keep = (uint32_t)rules & GS_VIEW_ALL;
        return 0;
    }
    if (rc == 0 || rules != v->keep) {
        char dropped[160], added[160];
        names_of((uint32_t)rules & ~v->keep, dropped, sizeof(dropped));
        names_of(v->keep & ~(uint32_t)rules, added, sizeof(added));
        if (rc == 0)
            snprintf(reason, reason_len, "rules changed: no rules recorded");
        else
            snprintf(reason, reason_len, "rules changed: no longer kept %.60s; now kept %.60s",
                     dropped, added);
        return 1;
    }
    return 0;
}

static int load_state(gs_views *v, gs_err *err)
{
    int rc = gs_vmeta_read_u64(v, v->ro, GS_VMETA_WATERMARK, &v->watermark, err);
    if (rc < 0)
        return rc;
    rc = gs_vmeta_read_u64(v, v->ro, GS_VMETA_FAILCOUNT, &v->fail_count, err);
    if (rc < 0)
        return rc;
    return GS_OK;
}

static gs_views *views_alloc(const char *dir, gs_err *err)
{
    gs_views *v = calloc(1, sizeof(*v));
    if (!v) {
        gs_err_set(err, GS_ENOMEM, "cannot allocate views");
        return NULL;
    }
    v->dir = strdup(dir);
    if (!v->dir || pthread_mutex_init(&v->apply_mu, NULL) != 0) {
        free(v->dir);
        free(v);
        gs_err_set(err, GS_ENOMEM, "cannot allocate views");
        return NULL;
    }
    if (pthread_mutex_init(&v->catchup_mu, NULL) != 0) {
        pthread_mutex_destroy(&v->apply_mu);
        free(v->dir);
        free(v);
        gs_err_set(err, GS_ENOMEM, "cannot allocate views");
        return NULL;
    }
    return v;
}

static void views_free(gs_views *v)
{
    gs_vpipe_stop(v->pipe); /* idle: the close landed the last stage */
    v->pipe = NULL;
    gs_vflight_free(v);
    db_close(v);
    options_free(v);
    gs_ov_destroy(v->ov);
    gs_ov_destroy(v->ov2);
    gs_vcache_destroy(v->ecache);
    gs_vbuf_free(&v->fills);
    if (v->cache_lock_init)
        pthread_rwlock_destroy(&v->cache_lock);
    if (v->batch)
        rocksdb_writebatch_destroy(v->batch);
    gs_json_destroy(v->json);
    gs_json_destroy(v->json2);
    pthread_mutex_destroy(&v->apply_mu);
    pthread_mutex_destroy(&v->catchup_mu);
    free(v->dir);
    free(v);
}

int gs_views_open(const char *dir, const gs_views_rules *rules, gs_views **out, gs_err *err)
{
    return gs_views_open_tuned(dir, rules, NULL, out, err);
}

int gs_views_open_tuned(const char *dir, const gs_views_rules *rules, const gs_views_tuning *tuning,
                        gs_views **out, gs_err *err)
{
    *out = NULL;
    gs_views *v = views_alloc(dir, err);
    if (!v)
        return GS_ENOMEM;
    if (tuning)
        v->tuning = *tuning;
    v->comp = v->tuning.compression;
    v->keep = rules && !rules->use_stored ? rules->keep & GS_VIEW_ALL : GS_VIEW_ALL;
    v->use_stored = rules && rules->use_stored;
    int rc = options_create(v, err);
    if (rc != GS_OK)
        goto fail;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        rc = gs_err_errno(err, gs_errno_code(errno), errno, "cannot create views %s", dir);
        goto fail;
    }

    for (int attempt = 0;; attempt++) {
        char reason[sizeof(v->wiped_reason)] = "";
        int wipe = db_exists(dir) && unknown_cfs(v, reason, sizeof(reason), err);
        if (!wipe) {
            rc = db_open(v, 0, err);
            if (rc == GS_ECORRUPT) {
                snprintf(reason, sizeof(reason), "views damaged: %.120s", err->msg);
                wipe = 1;
            } else if (rc != GS_OK) {
                goto fail;
            } else {
                rc = check_meta(v, reason, sizeof(reason), err);
                if (rc == GS_OK)
                    rc = load_state(v, err);
                if (rc == GS_ECORRUPT) {
                    snprintf(reason, sizeof(reason), "views damaged: %.120s", err->msg);
                    rc = 1;
                }
                if (rc < 0)
                    goto fail;
                wipe = rc == 1;
            }
        }
        if (!wipe)
            break;
        if (attempt > 0) {
            rc = gs_err_set(err, GS_EVIEW, "cannot recreate views %s: %s", dir, reason);
            goto fail;
        }
        /* Views are derived: anything that does not match this build is
         * dropped and rebuilt from the log. */
        snprintf(v->wiped_reason, sizeof(v->wiped_reason), "%s", reason);
        v->wiped = 1;
        comp_before_wipe(v);
        rc = db_destroy(v, err);
        if (rc != GS_OK)
            goto fail;
    }
    v->ov = gs_ov_create();
    v->batch = rocksdb_writebatch_create();
    if (!v->tuning.serial_commit) {
        /* Without either, apply calls commit in line: slower, not wrong. */
        v->ov2 = gs_ov_create();
        v->pipe = v->ov2 ? gs_vpipe_start() : NULL;
    }
    if (!v->tuning.no_entity_cache)
        v->ecache = gs_vcache_create(or_default(v->tuning.entity_cache_bytes, ENTITY_CACHE_BYTES));
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Commits must not wait behind a stream of point gets. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    v->cache_lock_init = pthread_rwlock_init(&v->cache_lock, &attr) == 0;
    pthread_rwlockattr_destroy(&attr);
    if (!v->ov || !v->batch || !v->cache_lock_init || (!v->tuning.no_entity_cache && !v->ecache)) {
        rc = gs_err_set(err, GS_ENOMEM, "cannot create views batch");
        goto fail;
    }
    rc = gs_json_create(GS_VIEWS_MAX_FRAME, GS_VIEWS_MAX_DEPTH, &v->json, err);
    if (rc == GS_OK) { /* without it, no record is parsed ahead (apply.c) */
        gs_err jerr;
        if (gs_json_create(GS_VIEWS_MAX_FRAME, GS_VIEWS_MAX_DEPTH, &v->json2, &jerr) != GS_OK)
            v->json2 = NULL;
    }
    if (rc == GS_OK)
        rc = settle_compression(v, err);
    if (rc != GS_OK)
        goto fail;
    *out = v;
    return GS_OK;
fail:
    views_free(v);
    return rc;
}

int gs_views_open_readonly(const char *dir, gs_views **out, gs_err *err)
{
    *out = NULL;
    gs_views *v = views_alloc(dir, err);
    if (!v)
        return GS_ENOMEM;
    v->read_only = 1;
    int rc = options_create(v, err);
    if (rc != GS_OK)
        goto fail;
    if (!db_exists(dir)) {
        rc = gs_err_set(err, GS_ENOTFOUND, "no views in %s", dir);
        goto fail;
    }
    char reason[sizeof(v->wiped_reason)] = "";
    if (unknown_cfs(v, reason, sizeof(reason), err)) {
        rc = gs_err_set(err, GS_EVIEW, "views %s need a rebuild: %s", dir, reason);
        goto fail;
    }
    rc = db_open(v, 1, err);
    if (rc != GS_OK)
        goto fail;
    rc = check_meta(v, reason, sizeof(reason), err);
    if (rc < 0)
        goto fail;
    if (rc == 1) {
        rc = gs_err_set(err, GS_EVIEW, "views %s need a rebuild: %s", dir, reason);
        goto fail;
    }
    rc = load_state(v, err);
    if (rc == GS_OK)
        rc = settle_compression(v, err);
    if (rc != GS_OK)
        goto fail;
    *out = v;
    return GS_OK;
fail:
    views_free(v);
    return rc;
}

const char *gs_views_wiped_reason(const gs_views *v)
{
    return v && v->wiped ? v->wiped_reason : NULL;
}

/* Families whose table files total at most this are compacted at close
 * when at least half of their bytes are still in L0 (close_compact). */
#define CLOSE_COMPACT_MAX_BYTES (64u << 20)
/* Free space the close compaction leaves beside its own estimate. */
#define CLOSE_COMPACT_SPARE (8u << 20)

/* Which families the close compacts (a bit each), and the bytes they hold. */
static uint32_t compactable(const uint64_t l0[GS_VCF_COUNT], const uint64_t all[GS_VCF_COUNT],
                            uint64_t *bytes)
{
    uint32_t set = 0;
    *bytes = 0;
    for (int cf = 0; cf < GS_VCF_COUNT; cf++)
        if (l0[cf] && 2 * l0[cf] >= all[cf] && all[cf] <= CLOSE_COMPACT_MAX_BYTES) {
            set |= 1u << cf;
            *bytes += all[cf];
        }
    return set;
}

/* Flushes write LZ4 (cheap on the flush thread) and L0 is compacted only at
 * 8 files, so views that never reached a compaction (the default benchmark
 * shape: every family's data in 7 L0 files at close) would stay on disk in
 * LZ4 blocks with every version of their keys. At close, such families
 * (half their bytes or more in L0, 64 MiB at most in all, so the
 * compaction is bounded) are compacted into their last level, zstd level 3
 * (or LZ4 where auto or lz4 chose it). The close's own flush must come
 * first and be atomic across families (the watermark must not get ahead
 * of their data: WAL off), which only rocksdb_close does: so the database
 * is closed, reopened and compacted; its memtables are empty then and the
 * compaction flushes nothing. Skipped when the file system lacks the room
 * for the compaction's output and a margin: a write failing inside
 * RocksDB is worse than a few MB of L0 (Debian's build asserts on some
 * of those paths). A failure leaves the files as they were. */
static void close_compact(gs_views *v)
{
    uint64_t l0[GS_VCF_COUNT], all[GS_VCF_COUNT], need;
    if (level_bytes(v, 1, l0, all) != 0 || !compactable(l0, all, &need))
        return;
    struct statvfs fs;
    if (statvfs(v->dir, &fs) != 0 ||
        (uint64_t)fs.f_bavail * fs.f_frsize < need + CLOSE_COMPACT_SPARE)
        return;
    int lz4 = atomic_load(&v->lz4_now);
    db_close(v);
    gs_err e;
    if (db_open(v, 0, &e) != GS_OK)
        return; /* (the next open reports it) */
    if (lz4 && big_families_lz4(v, &e) != GS_OK)
        return;
    if (level_bytes(v, 0, l0, all) != 0)
        return;
    uint32_t set = compactable(l0, all, &need);
    for (int cf = 0; cf < GS_VCF_COUNT; cf++)
        if (set & (1u << cf))
            rocksdb_compact_range_cf(v->db, v->cf[cf], NULL, 0, NULL, 0);
}

int gs_views_close(gs_views *v, gs_err *err)
{
    if (!v)
        return GS_OK;
    /* A stage still in flight (gs_views_apply_more) lands first; if its
     * write failed, the views close at the stage before, and say so. */
    int rc = v->read_only ? GS_OK : gs_views_settle(v, err);
    if (rc == GS_OK && !v->read_only && v->db && !v->tuning.no_close_compact)
        close_compact(v);
    /* rocksdb_close flushes every column family with unpersisted data in
     * one atomic flush (atomic_flush is on and the WAL is off). */
    views_free(v);
    return rc;
}

uint64_t gs_views_watermark(gs_views *v)
{
    pthread_mutex_lock(&v->apply_mu);
    uint64_t wm = v->watermark;
    pthread_mutex_unlock(&v->apply_mu);
    return wm;
}

gs_views_rules gs_views_get_rules(const gs_views *v)
{
    gs_views_rules r = {v->keep, 0};
    return r;
}

gs_views_compression gs_views_get_compression(const gs_views *v)
{
    return v->comp;
}

gs_views_compression gs_views_get_compression_now(gs_views *v)
{
    return atomic_load(&v->lz4_now) ? GS_VIEWS_COMPRESSION_LZ4 : GS_VIEWS_COMPRESSION_ZSTD;
}
