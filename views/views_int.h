/*
 * views_int.h - what the files of views/ share: the gs_views struct, the
 * column family numbering, and the per-record transaction the appliers
 * write through.
 */
#ifndef GS_VIEWS_INT_H
#define GS_VIEWS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <rocksdb/c.h>

#include "gs_common.h"
#include "json.h"
#include "views.h"
#include "vbuf.h"
#include "mp.h"
#include "overlay.h"
#include "cache.h"
#include "keycmp.h"
#include "keyset.h"

/* Column families: one per entity type (numbered as gs_view_type), then
 * meta and idx. Order is the dump order. */
enum {
    GS_VCF_META = GS_VIEW_TYPE_COUNT, /* watermark, versions, failures, availability */
    GS_VCF_IDX,                       /* locator and user->guild index */
    GS_VCF_COUNT
};

/* Largest raw frame the applier parses (the log caps frames lower). */
#define GS_VIEWS_MAX_FRAME (256u << 20)
#define GS_VIEWS_MAX_DEPTH 256

/* A stage's commit (apply.c): its sealed overlay, the values' stored and
 * cache forms built by the write, and the write's outcome. */
struct gs_vcommit {
    struct gs_views *v;
    gs_ov *ov;      /* sealed */
    gs_vbuf packed; /* one value's stored form; the batch copies it */
    gs_vbuf forms;  /* the cpack forms of the stage's values, back to back */
    struct gs_vform_ref {
        size_t off, len; /* len 0: none kept (the cache encodes) */
    } * refs;
    size_t nrefs, cap, next;
    int full; /* refs could not grow: none kept from there on */
    int rc;   /* the write's outcome, with err */
    gs_err err;
};

/* The stage handed to the committer thread, if any: it stays in flight
 * past the end of a gs_views_apply_more call, until the next apply call
 * (or gs_views_settle, a wipe, the close) lands it. wm and fails are what
 * it writes: the applier's position once it lands. */
/* The guilds whose role tombstones a stage not landed yet wrote or
 * deleted: for them the committed set of deleted roles is not the truth,
 * and a member read asks per role through the overlay. Any other guild's
 * members are checked against its committed range alone; with role
 * deletes 1 % of the generated updates, nearly every 256-record stage
 * holds one, so a flag for the stage sent every member the slow way.
 * Past GS_TOMB_TOUCHED_MAX guilds it stops counting: every guild. */
#define GS_TOMB_TOUCHED_MAX 8
struct gs_vtomb_touched {
    int n; /* -1: more guilds than fit */
    uint64_t g[GS_TOMB_TOUCHED_MAX];
};

struct gs_vflight {
    struct gs_vcommit c;
    int flying;
    uint64_t wm, fails;
    /* What the stage wrote that the committed state (user map, deleted
     * roles) will hold only once it lands: gs_vtx's tomb_touched and upend
     * as they were when the stage was sent. The applier consults both its
     * own and these, within a call and across calls (a stage left in
     * flight); landing frees them. */
    struct gs_vtomb_touched tomb_touched;
    uint64_t *upend;
    size_t upend_n, upend_cap;
};

struct gs_views {
    char *dir;
    int read_only;
    rocksdb_t *db;
    rocksdb_options_t *dbopts;
    rocksdb_options_t *cfopts[GS_VCF_COUNT];
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *filter; /* owned by bbto once set */
    rocksdb_column_family_handle_t *cf_default;
    rocksdb_column_family_handle_t *cf[GS_VCF_COUNT];
    rocksdb_readoptions_t *ro;     /* plain reads by the applier (total order) */
    rocksdb_readoptions_t *ro_pfx; /* the applier's idx prefix scans (prefix bloom) */
    rocksdb_writeoptions_t *wo;    /* WAL off: the log is the truth */

    uint32_t keep;  /* rules */
    int use_stored; /* take the stored rules (gs_views_rules.use_stored) */
    /* Big families' compression: asked for (tuning, DEFAULT = stored), then
     * in force once open; and what the meta family holds (DEFAULT: none). */
    gs_views_compression comp, stored_comp;
    /* 1 once the big families are written with LZ4: comp LZ4, or AUTO past
     * its threshold (db.c, gs_vdb_auto_compression). Never goes back to 0
     * in an open: a wipe keeps the options. Read by other threads. */
    _Atomic int lz4_now;
    gs_views_tuning tuning;

    /* Entity values as committed (cache.h). Lookups hold cache_lock for
     * reading; the applier changes it only with the lock held for writing,
     * right after each RocksDB write. NULL for read-only views. */
    gs_vcache *ecache;
    pthread_rwlock_t cache_lock;
    int cache_lock_init;
    uint64_t cache_gen; /* bumped (write lock held) by every commit and wipe */
    /* The applier holds cache_lock for reading across a whole small record
     * (apply.c, reads_lock): its reads then neither lock nor fill the
     * cache, and what RocksDB gave them waits in fills (cf, klen, vlen,
     * key, value) until the record is done. Applier-only state. */
    int reads_locked;
    gs_vbuf fills;
    /* RocksDB is ahead of the cache from the start of a write to the
     * cache's update after it (for a stage left in flight by
     * gs_views_apply_more, until the next call lands it). writes_begun
     * counts writes as they start; writes_level is the count the cache has
     * followed (set with the write lock held). A point get reading RocksDB
     * beside the cache needs them equal before and after its reads
     * (query.c); reads from the cache alone need nothing. */
    _Atomic uint64_t writes_begun;
    uint64_t writes_level;
    char wiped_reason[256];
    int wiped;

    /* Held for a whole catch-up and by wipe, so a wipe never lands in the
     * middle of a replay (which would then skip the records before it). */
    pthread_mutex_t catchup_mu;
    /* Applier state, guarded by apply_mu. */
    pthread_mutex_t apply_mu;
    gs_ov *ov;                   /* pending writes of the current apply call */
    gs_ov *ov2;                  /* with ov, the two stages of a pipelined call */
    struct gs_vpipe *pipe;       /* the committer thread (pipe.h); NULL: commit in line */
    rocksdb_writebatch_t *batch; /* what an overlay becomes (one write in flight at most) */
    struct gs_vflight flight;    /* the stage being written (apply.c) */
    gs_json *json;
    gs_json *json2; /* the next record's, parsed ahead (apply.c) */
    uint64_t watermark;
    uint64_t fail_count;
    /* The committed `me` (meta), read once: every member removal asks. */
    uint64_t me;
    int me_known;
    uint64_t last_trim_ns;  /* see trim() in apply.c */
    uint64_t last_renew_ns; /* see trim() in apply.c */
    int trim_deferred;      /* gs_views_defer_housekeeping */
    int commit_oom;         /* the cache could not follow a commit (apply.c) */
};

/* ---- db.c ---- */

/* Name of a column family ("guild", ..., "meta", "idx"). */
const char *gs_vcf_name(int cf);
/* Copy a RocksDB error string into err (freeing it) and return the mapped
 * code: "Corruption" -> GS_ECORRUPT, "No space" -> GS_ENOSPC, "IO error" ->
 * GS_EIO, anything else GS_EVIEW. what names the operation. */
int gs_vdb_err(gs_err *err, char *rocks_msg, const char *what);
/* The bound of all active write buffers together (db.c's default or the
 * tuning). */
size_t gs_vdb_write_buffer_budget(const gs_views *v);
/* Compression AUTO: once the big families' files pass the threshold
 * (gs_views_tuning.auto_lz4_bytes), flushes and compactions of those
 * families write LZ4 from then on. Cheap when there is nothing to do; a
 * failure leaves zstd in force and is retried at the next call (the choice
 * is about speed, never about what the views hold). Writable views; the
 * thread that applies, or any with it idle. */
void gs_vdb_auto_compression(gs_views *v);

/* ---- apply.c ---- */

/* Free what a landed (or dropped) stage carried (struct gs_vflight). */
void gs_vflight_free(gs_views *v);

/* ---- meta.c: keys of the meta family ---- */

#define GS_VMETA_FORMAT     "format"      /* u32 BE view schema version */
#define GS_VMETA_RULES      "rules"       /* u32 BE keep mask */
#define GS_VMETA_WATERMARK  "watermark"   /* u64 BE */
#define GS_VMETA_FAILCOUNT  "fail_count"  /* u64 BE */
#define GS_VMETA_ME         "me"          /* u64 BE current user id */
#define GS_VMETA_COMP       "compression" /* u32 BE gs_views_compression of big families */
#define GS_VMETA_FAIL       "fail/"       /* + u8 slot -> msgpack [lsn, event, reason] */
#define GS_VMETA_AVAIL      "avail/"      /* + u64 BE guild -> u8 1 = unavailable */
#define GS_VMETA_FAIL_SLOTS 16

/* Read a u64 (or u32) meta value outside a transaction: 1 found, 0 absent. */
int gs_vmeta_read_u64(gs_views *v, const rocksdb_readoptions_t *ro, const char *key, uint64_t *out,
                      gs_err *err);
/* Put the first-open meta (format, rules, watermark 0, fail count 0) into a
 * plain write batch. */
void gs_vmeta_init_batch(gs_views *v, rocksdb_writebatch_t *b);

/* gs_be64, gs_get_be64, gs_be32, gs_get_be32: keycmp.h. */

/* ---- tx.c: the per-record transaction over the overlay ---- */

typedef struct gs_vtx {
    gs_views *v;
    gs_ov *ov;
    gs_err *err;      /* system errors (I/O, corruption) */
    char reason[192]; /* why the payload is bad (with GS_EFRAME) */
    uint64_t lsn;     /* record being applied */
    gs_mpb mb;        /* scratch builders and buffers, reused per record */
    gs_vbuf val;
    uint64_t *ids; /* scratch id set for snapshot replacement */
    size_t nids, cap_ids;
    struct gs_vtomb_touched tomb_touched; /* by this stage */
    /* Users given a user index entry in this stage (a set; entries of
     * rolled-back records stay: it only sends a check the slow way). With
     * the stage in flight's (gs_vflight), what the committed user map and
     * deleted roles do not hold yet. */
    uint64_t *upend;
    size_t upend_n, upend_cap;
    /* RocksDB iterators kept for a stage of the call, per family and read
     * options (0 total order, 1 idx prefix). The only write RocksDB may
     * take meanwhile is the stage in flight, whose overlay shadows its keys
     * either way, and the iterators are dropped before that overlay goes
     * (apply.c, send_stage): a seek on a kept iterator sees what a new one
     * would, without the cost of creating it (~20 us). */
    rocksdb_iterator_t *its[GS_VCF_COUNT][2];
    uint8_t its_busy[GS_VCF_COUNT][2];
} gs_vtx;

/* Families whose guild-scoped ids the applier keeps in memory. */
int gs_vtx_keyset_family(int cf);
/* Destroy the kept iterators (before the call's write). */
void gs_vtx_drop_iters(gs_vtx *tx);

/* A bad payload: set tx->reason, return GS_EFRAME. The record is rolled
 * back and counted; the batch goes on. */
int gs_vtx_bad(gs_vtx *tx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 if the rules keep entities of column family cf (meta and idx always). */
int gs_vtx_keeps(const gs_vtx *tx, int cf);

/* Read through the overlay: 1 found (*val malloc'ed, free with free()),
 * 0 absent, <0 error. */
int gs_vtx_get(gs_vtx *tx, int cf, const void *key, size_t klen, char **val, size_t *vlen);
/* Put / delete in the batch (no-ops for families the rules drop). */
int gs_vtx_put(gs_vtx *tx, int cf, const void *key, size_t klen, const void *val, size_t vlen);
int gs_vtx_del(gs_vtx *tx, int cf, const void *key, size_t klen);

/* Iterate keys starting with prefix, seeing the call's own pending writes
 * (as they were when the iterator was opened: collect, close, then write). */
typedef struct gs_vtx_it {
    rocksdb_iterator_t *it; /* RocksDB part */
    uint8_t *busy;          /* kept iterator's busy flag (NULL: own it) */
    /* Or the committed part from the keysets (keyset.h): ids of one guild,
     * values read by point when asked for. */
    int ksmode, cf;
    uint64_t *ks;
    size_t nks, iks;
    uint8_t kkey[16];
    char *kval;
    size_t kvlen;
    int kval_read;
    gs_vbuf dval; /* the RocksDB part's value, decoded (vdisk.h) */
    uint8_t prefix[24];
    size_t plen;
    gs_ov_ent *ov; /* overlay part, sorted */
    size_t nov, iov;
    int src; /* 0 none, 1 RocksDB, 2 overlay */
    gs_vtx *tx;
    int rc; /* a read error met while moving (returned by valid) */
} gs_vtx_it;
int gs_vtx_it_open(gs_vtx *tx, int cf, const void *prefix, size_t plen, gs_vtx_it *it);
/* 1 positioned on a key with the prefix, 0 past the end, <0 error. */
int gs_vtx_it_valid(gs_vtx *tx, gs_vtx_it *it);
const uint8_t *gs_vtx_it_key(gs_vtx_it *it, size_t *klen);
const uint8_t *gs_vtx_it_val(gs_vtx_it *it, size_t *vlen);
void gs_vtx_it_next(gs_vtx_it *it);
void gs_vtx_it_close(gs_vtx_it *it);

/* ---- entity.c: writing entities with their indexes ---- */

/* Key of an entity: guild and user are 8 bytes (the id); every other type
 * is guild(8) + id(8). Returns the length. */
size_t gs_vkey(gs_view_type t, uint64_t guild, uint64_t id, uint8_t key[16]);
/* Types with a locator entry (id -> guild) in idx. */
int gs_vtype_has_locator(gs_view_type t);

/* Extra fields written ahead of the payload's own (they win over it). */
typedef struct gs_vextra {
    const char *key;
    enum { GS_VX_BOOL, GS_VX_JSON, GS_VX_IDSTR, GS_VX_IDOBJ, GS_VX_NULL } kind;
    int b;
    gs_jval j;
    uint64_t id;
} gs_vextra;

/* GS_VW_KNOWN (with GS_VW_MERGE): write only if the entity is there
 * already, read once (partial users refine users, never create them). */
enum { GS_VW_REPLACE = 0, GS_VW_MERGE = 1, GS_VW_KNOWN = 2 };

/* Write one entity. The stored value is: the normalized ids of its type
 * (FORMAT.md), then extras, then obj's members (obj may be NULL or a
 * non-object: nothing taken) except those named in skip (NULL-terminated, may be NULL),
 * then with GS_VW_MERGE the old value's members not yet present (except
 * skip). Maintains the locator / user index. *existed (may be NULL) is set
 * to whether the entity was there before. */
int gs_vent_write(gs_vtx *tx, gs_view_type t, uint64_t guild, uint64_t id, const gs_jval *obj,
                  const char *const *skip, const gs_vextra *extra, size_t nextra, int mode,
                  int *existed);
/* The channel name index (idx 'N', FORMAT.md): keep it level with a
 * channel write (val = the new value) or deletion (val = NULL), before the
 * write reaches the overlay (it reads the old value). */
int gs_vname_index(gs_vtx *tx, const uint8_t *key, size_t klen, const void *val, size_t vlen);
/* The name class of a `where name=` value: a hash of the string, never 0
 * (0 is the class of channels whose name is absent or not a string). */
uint64_t gs_vname_hash(const char *s, size_t n);
/* idx key of a channel in name class cls: 'N', cls, guild, id (25 bytes). */
size_t gs_vname_key(uint64_t cls, uint64_t guild, uint64_t id, uint8_t key[25]);
#define GS_VIDX_NAME 'N'
/* Locator: 'L', type, id -> the guild holding it (8 bytes, big-endian). */
#define GS_VIDX_LOCATOR     'L'
#define GS_VIDX_LOCATOR_LEN 10
size_t gs_vlocator_key(gs_view_type t, uint64_t id, uint8_t key[GS_VIDX_LOCATOR_LEN]);
/* Whether the entity cache may hold key of family cf: every entity, and
 * the locators, which each delete of a located type reads (before they
 * were cached, their RocksDB reads were 4.4 % of the applying thread's
 * samples in bench-views' update phase). The other idx keys are scanned,
 * not read by key. */
static inline int gs_vcacheable(int cf, const void *key, size_t klen)
{
    return cf < GS_VIEW_TYPE_COUNT || (cf == GS_VCF_IDX && klen == GS_VIDX_LOCATOR_LEN &&
                                       ((const uint8_t *)key)[0] == GS_VIDX_LOCATOR);
}
/* Prefix length of the idx family's prefix extractor: 'U' + user id. Every
 * idx key is longer. Prefix scans of idx at least this long (user index,
 * name index) use gs_views.ro_pfx / prefix_same_as_start. */
#define GS_VIDX_PREFIX 9

/* Delete one entity with its index entries (and, for a member, the user if
 * no membership is left). */
int gs_vent_delete(gs_vtx *tx, gs_view_type t, uint64_t guild, uint64_t id);
/* Delete every entity of type t in guild. */
int gs_vent_delete_guild(gs_vtx *tx, gs_view_type t, uint64_t guild);
/* Delete the user unless a membership is left or it is the current user. */
int gs_vent_user_gc(gs_vtx *tx, uint64_t user);

/* Replace the set of type t in guild by the array arr: entities not in it
 * are deleted, each element is written with GS_VW_REPLACE through put (or
 * the default writer when put is NULL). idkey names the element's id field.
 * what names the array in error messages. */
typedef int (*gs_vent_put_fn)(gs_vtx *tx, uint64_t guild, uint64_t id, gs_jval elem);
int gs_vent_replace_set(gs_vtx *tx, gs_view_type t, uint64_t guild, gs_jval arr, const char *idkey,
                        const char *what, gs_vent_put_fn put);

/* Payload helpers: a required snowflake field (GS_EFRAME with reason when
 * missing or not a snowflake), an optional one (0 when absent or null). */
int gs_vreq_id(gs_vtx *tx, gs_jval obj, const char *key, const char *what, uint64_t *out);
int gs_vopt_id(gs_vtx *tx, gs_jval obj, const char *key, const char *what, uint64_t *out);
/* The payload must be an object. */
int gs_vreq_obj(gs_vtx *tx, gs_jval v, const char *what);
/* obj[key] as an id, without a reason: 1 a snowflake other than 0 (in
 * *out), 0 missing or null (or obj not an object), -1 anything else. */
int gs_vid_look(gs_jval obj, const char *key, uint64_t *out);
/* Element i of the array named what: an object, with a snowflake under
 * idkey (stored in *id) unless idkey is NULL. The failure names "what[i]";
 * the name is only formatted then (these checks run for every member of a
 * GUILD_MEMBERS_CHUNK and every element of a replaced set). */
int gs_vreq_elem(gs_vtx *tx, gs_jval e, const char *what, size_t i, const char *idkey,
                 uint64_t *id);

/* The current user id from meta (0 if none). */
int gs_vtx_me(gs_vtx *tx, uint64_t *me);
/* Record a guild's availability in meta (and nothing else). */
int gs_vtx_avail(gs_vtx *tx, uint64_t guild, int unavailable);

/* ---- tomb.c: deleted-role tombstones (idx 'D' guild role) ---- */

#define GS_VIDX_ROLEDEL 'D'
size_t gs_vtomb_key(uint64_t guild, uint64_t role, uint8_t key[17]);
/* Set operations (gs_vtombs in cache.h); add: 0 ok, -1 out of memory. */
int gs_vtombs_add(gs_vtombs *s, uint64_t g, uint64_t r);
void gs_vtombs_del(gs_vtombs *s, uint64_t g, uint64_t r);
int gs_vtombs_has(const gs_vtombs *s, uint64_t g, uint64_t r);
/* The pairs of guild g (stride 2, roles ascending): their number. */
size_t gs_vtombs_guild(const gs_vtombs *s, uint64_t g, const uint64_t **pairs);
void gs_vtombs_free(gs_vtombs *s);
/* Read the tombstones of guild (all = 0) or of every guild (all = 1) with
 * ro into out (emptied first). */
int gs_vtomb_load(gs_views *v, const rocksdb_readoptions_t *ro, int all, uint64_t guild,
                  gs_vtombs *out, gs_err *err);
/* 1 if the member value's roles hold one of the n pairs' roles (one
 * guild's pairs, from gs_vtombs_guild). */
int gs_vtomb_roles_hit(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n);
/* A member value as it must be shown: 1 with out = val without those
 * roles, 0 if val shows as it is, <0 (GS_ECORRUPT, GS_ENOMEM). */
int gs_vtomb_filter(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n, gs_vbuf *out);
/* roles_hit with the bytes of the "roles" value (set when 1). */
int gs_vtomb_roles_find(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n,
                        const uint8_t **a, size_t *alen);
/* The roles array a[0..alen) without those roles, appended to out. */
int gs_vtomb_put_roles(const uint8_t *a, size_t alen, const uint64_t *pairs, size_t n,
                       gs_vbuf *out);
/* The entries of the member map val (its header too with header = 1),
 * those roles left out, appended to out: GS_OK, GS_ECORRUPT, GS_ENOMEM. */
int gs_vtomb_put_entries(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n,
                         gs_vbuf *out, int header);
/* Applier: is (guild, role) tombstoned (overlay, committed set, RocksDB):
 * 1, 0, <0. */
int gs_vtomb_is(gs_vtx *tx, uint64_t guild, uint64_t role);
int gs_vtomb_put(gs_vtx *tx, uint64_t guild, uint64_t role);
/* Strip role from every member of guild, then drop the tombstone. */
int gs_vtomb_materialize(gs_vtx *tx, uint64_t guild, uint64_t role);
/* Before a member value val (whose roles come from the payload) is
 * written: materialize every tombstone of the roles it lists;
 * *materialized = 1 if any was (the caller must rebuild val: the
 * transaction's scratch buffers were reused). */
int gs_vtomb_check_member(gs_vtx *tx, uint64_t guild, const uint8_t *val, size_t vlen,
                          int *materialized);
/* GUILD_DELETE: drop the guild's tombstones. */
int gs_vtomb_drop_guild(gs_vtx *tx, uint64_t guild);
/* ap_role.c: rewrite every member of guild holding role without it. */
int gs_vrole_strip(gs_vtx *tx, uint64_t guild, uint64_t role);

/* ---- dispatch.c ---- */

typedef int (*gs_vhandler)(gs_vtx *tx, gs_jval d);
/* The handler of an event name, or NULL (the event changes nothing). */
gs_vhandler gs_vdispatch(const char *name, size_t len);
/* The same, and in *hint what its handler will read first (gs_vhint_keys). */
gs_vhandler gs_vdispatch_hinted(const char *name, size_t len, int *hint);
/* The entity cache keys (family, key) that the handler of an event of this
 * hint will read for payload d, as far as d tells: at most max of them, the
 * count returned. Only a guess for prefetching (apply.c): nothing depends
 * on it being right. */
typedef struct gs_vhint_key {
    uint8_t cf, klen;
    uint8_t key[16];
} gs_vhint_key;
size_t gs_vhint_keys(int hint, gs_jval d, gs_vhint_key *out, size_t max);
/* The keys a snapshot's member put of array element e reads (its member,
 * its user) into out: 2, or 0 if e has no user id (gs_vahead). */
size_t gs_vahead_keys(uint64_t guild, gs_jval e, gs_vhint_key out[2]);

/* Handlers, one file per entity family. */
int gs_vh_ready(gs_vtx *tx, gs_jval d);
int gs_vh_guild_create(gs_vtx *tx, gs_jval d);
int gs_vh_guild_update(gs_vtx *tx, gs_jval d);
int gs_vh_guild_delete(gs_vtx *tx, gs_jval d);
int gs_vh_user_update(gs_vtx *tx, gs_jval d);
int gs_vh_channel_upsert(gs_vtx *tx, gs_jval d);
int gs_vh_channel_delete(gs_vtx *tx, gs_jval d);
int gs_vh_channel_pins(gs_vtx *tx, gs_jval d);
int gs_vh_thread_upsert(gs_vtx *tx, gs_jval d);
int gs_vh_thread_delete(gs_vtx *tx, gs_jval d);
int gs_vh_thread_list_sync(gs_vtx *tx, gs_jval d);
int gs_vh_thread_member_update(gs_vtx *tx, gs_jval d);
int gs_vh_thread_members_update(gs_vtx *tx, gs_jval d);
int gs_vh_role_upsert(gs_vtx *tx, gs_jval d);
int gs_vh_role_delete(gs_vtx *tx, gs_jval d);
int gs_vh_member_upsert(gs_vtx *tx, gs_jval d);
int gs_vh_member_remove(gs_vtx *tx, gs_jval d);
int gs_vh_members_chunk(gs_vtx *tx, gs_jval d);
int gs_vh_message(gs_vtx *tx, gs_jval d);
int gs_vh_member_in_event(gs_vtx *tx, gs_jval d);
int gs_vh_presence_update(gs_vtx *tx, gs_jval d);
int gs_vh_emojis_update(gs_vtx *tx, gs_jval d);
int gs_vh_stickers_update(gs_vtx *tx, gs_jval d);
int gs_vh_voice_state_update(gs_vtx *tx, gs_jval d);
int gs_vh_stage_upsert(gs_vtx *tx, gs_jval d);
int gs_vh_stage_delete(gs_vtx *tx, gs_jval d);
int gs_vh_sched_upsert(gs_vtx *tx, gs_jval d);
int gs_vh_sched_delete(gs_vtx *tx, gs_jval d);

/* Shared by handlers of several files. */
/* user may be NULL (then member.user is used); a member needs a user id. */
int gs_vmember_put(gs_vtx *tx, uint64_t guild, gs_jval member, const gs_jval *user, int mode);
/* A snapshot's member array walked a few elements ahead of its puts, to ask
 * the CPU cache for the entity cache entries each put will read (its
 * member and its user): the bucket 8 members ahead, then its first entry
 * 4 ahead. Begin with the array, step once before each member's put. */
typedef struct gs_vahead {
    gs_jiter far, near;
    uint64_t guild;
    int on;
} gs_vahead;
void gs_vahead_begin(gs_vtx *tx, gs_vahead *a, gs_jval arr, uint64_t guild);
void gs_vahead_step(gs_vtx *tx, gs_vahead *a);
int gs_vuser_put(gs_vtx *tx, gs_jval user, int only_if_known, uint64_t *id_out);
int gs_vpresence_put(gs_vtx *tx, uint64_t guild, gs_jval presence);
int gs_vvoice_put(gs_vtx *tx, uint64_t guild, uint64_t user, gs_jval vs);
int gs_vthread_put(gs_vtx *tx, uint64_t guild, uint64_t id, const gs_jval *obj, int mode);
int gs_vchannel_delete_threads(gs_vtx *tx, uint64_t guild, uint64_t parent);
/* Thread channel types 10, 11, 12. */
int gs_vchan_is_thread(gs_jval obj);

/* ---- the entity cache (tx.c, apply.c, query.c) ---- */

/* Read an entity value: the cache, else RocksDB with ro. fill = 1: the
 * applier's reads (takes the lock itself, or holds it already with
 * v->reads_locked set; remembers what RocksDB gave, then or at the end of
 * the record); fill = 0: the caller holds cache_lock for reading. 1 found
 * (*val malloc'ed), 0 absent, <0 error. */
int gs_vread(gs_views *v, const rocksdb_readoptions_t *ro, int cf, const void *key, size_t klen,
             int fill, char **val, size_t *vlen, gs_err *err);
/* What gs_vread found in RocksDB while v->reads_locked was set, into the
 * cache (under the write lock, which the caller must not hold). */
void gs_vread_fills(gs_views *v);

/* ---- query.c / out.c ---- */

/* The output object (msgpack) of a stored value: members get their user
 * joined from the users family of the same state (cached: through the
 * entity cache with cache_lock held for reading; else RocksDB with ro).
 * The result is either val itself or built in scratch. */
/* A member's roles leave out those of tombs (its guild's pairs from
 * gs_vtombs_guild, ntombs of them; NULL/0: none). */
int gs_vout_object(gs_views *v, const rocksdb_readoptions_t *ro, int cached, gs_view_type t,
                   const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                   const uint64_t *tombs, size_t ntombs, gs_vbuf *scratch, const uint8_t **out,
                   size_t *out_len, gs_err *err);

#endif
