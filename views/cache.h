/*
 * cache.h - a bounded in-process cache of entity values (key -> msgpack
 * bytes) and of the locators (id -> guild; gs_vcacheable) in front of
 * RocksDB.
 *
 * Why: a RocksDB point read costs several microseconds (Debian's build has
 * its assertions on; see FORMAT.md, "Tuning"), and the appliers read every
 * entity they merge into, as do point gets. The cache holds the values as
 * committed, so it is always equal to RocksDB's latest state:
 *  - the applier fills it with what it reads and, after each successful
 *    RocksDB write, replaces or drops every key of that write;
 *  - readers look up under gs_views.cache_lock held for reading, so no
 *    commit lands between the reads of one call (they see one state).
 * Eviction is CLOCK over the buckets, by bytes (keys, values, overhead).
 * Values are kept in cpack.h's compact form and decoded on each hit.
 *
 * Not thread-safe by itself: the lock lives in gs_views. Lookups may run
 * concurrently (the reference bit is atomic); changes need the write lock.
 */
#ifndef GS_CACHE_H
#define GS_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct gs_vcache gs_vcache;

/* NULL if out of memory or budget is 0 (no cache). */
gs_vcache *gs_vcache_create(size_t budget_bytes);
void gs_vcache_destroy(gs_vcache *c);

/* 1 with *val a malloc'ed copy of the cached value (free()) of *vlen
 * bytes, 0 on a miss, -1 out of memory. Needs the lock held for reading. */
int gs_vcache_get(gs_vcache *c, int cf, const void *key, size_t klen, char **val, size_t *vlen);
/* A cached value found by gs_vcache_find, without a copy: valid while the
 * lock stays held (entries are only freed under the write lock). */
typedef struct gs_vcache_hit {
    const uint8_t *stored; /* the bytes kept (compact form if packed) */
    size_t stored_len;
    size_t len; /* bytes of the value itself */
    int packed;
} gs_vcache_hit;
/* 1 with *h set (marks it recently used), 0 on a miss. Needs the lock held
 * for reading. */
int gs_vcache_find(gs_vcache *c, int cf, const void *key, size_t klen, gs_vcache_hit *h);
/* Two lookups at once (a member and its user): both chains are walked
 * side by side so that their cache misses overlap, and the values' bytes
 * are touched before they are decoded. Bit 0 set if the first was found,
 * bit 1 the second. Same lock rule. */
int gs_vcache_find2(gs_vcache *c, int cf1, const void *key1, size_t klen1, gs_vcache_hit *h1,
                    int cf2, const void *key2, size_t klen2, gs_vcache_hit *h2);
/* Write the value of h (h->len bytes) to out, which has room for them:
 * point gets decode straight into their output. 0 ok, -1 damaged (cannot
 * happen: checked when stored). Same lock rule. */
int gs_vcache_copy(const gs_vcache_hit *h, void *out);
/* 1 if the key is cached (marks it recently used), else 0. */
int gs_vcache_has(gs_vcache *c, int cf, const void *key, size_t klen);
/* Insert or replace (evicting as needed). A value larger than an eighth of
 * the budget is not kept (and any older one is dropped). */
void gs_vcache_put(gs_vcache *c, int cf, const void *key, size_t klen, const void *val,
                   size_t vlen);
/* gs_vcache_put with the value's cpack form cp[0..cplen) already at hand
 * (gs_cpack_encode of val, as the commit's stored form makes it: vdisk.h),
 * so the cache does not encode it again. Same result as gs_vcache_put. */
void gs_vcache_put_packed(gs_vcache *c, int cf, const void *key, size_t klen, const void *val,
                          size_t vlen, const void *cp, size_t cplen);
/* Hints before a run of puts (or lookups) whose keys are known ahead: a
 * key's hash bucket is loaded into the CPU cache by step 0, and by step 1
 * (a few keys later, once the bucket is there) its first entry and that
 * entry's slab chunk header. Changes nothing; needs the lock (either
 * mode). The cache's entries are spread over its whole budget, so each put
 * otherwise waits on two or three memory loads in a row. */
void gs_vcache_prefetch(const gs_vcache *c, int cf, const void *key, size_t klen, int step);
void gs_vcache_del(gs_vcache *c, int cf, const void *key, size_t klen);
void gs_vcache_clear(gs_vcache *c);

/* A sorted set of (guild, role) pairs: the deleted-role tombstones
 * (tomb.c). p[2i] is the guild, p[2i + 1] the role; n pairs. */
typedef struct gs_vtombs {
    uint64_t *p;
    size_t n, cap;
} gs_vtombs;

/* The committed tombstones the cache holds beside the entities (same lock
 * rules), or NULL when c is NULL or they are not loaded (then ask
 * RocksDB). gs_vcache_tombs_load_slot hands out the empty set to fill;
 * gs_vcache_tombs_set_loaded(c, 1) then publishes it. A clear forgets
 * them (not loaded). */
gs_vtombs *gs_vcache_tombs(gs_vcache *c);
gs_vtombs *gs_vcache_tombs_slot(gs_vcache *c);
void gs_vcache_tombs_set_loaded(gs_vcache *c, int loaded);

/* Completeness: while set, every entity key committed to RocksDB is either
 * cached or was added to a bloom filter of keys left out (evicted, too
 * large, out of memory); a key in neither is absent, and the applier skips
 * the RocksDB miss. Set (with an empty bloom) when the database is known
 * empty: the first apply at watermark 0, a wipe. A clear drops it.
 * gs_vcache_absent: 1 = surely absent (lock held for reading);
 * gs_vcache_decided: whether the first apply has decided yet. */
int gs_vcache_absent(gs_vcache *c, int cf, const void *key, size_t klen);
int gs_vcache_decided(const gs_vcache *c);
int gs_vcache_complete(const gs_vcache *c);
/* The applier's guild-scoped id sets (keyset.h), cleared with the cache
 * and whenever completeness is set. NULL if c is. */
struct gs_vks *gs_vcache_keysets(gs_vcache *c);
/* The user map (keyset.h), only while complete (else NULL). */
struct gs_vum *gs_vcache_usermap(gs_vcache *c);
void gs_vcache_set_complete(gs_vcache *c, int complete);

typedef struct gs_vcache_stats {
    size_t entries, bytes, budget;
    /* What the entries take: the slab's mapped chunks (free slots
     * included), malloc'd entries and the buckets. Above bytes by the
     * slots free in one size class while another is full (slab.h). */
    size_t resident;
    /* keysets and user map (not charged to the budget), as of the last
     * gs_vcache_publish_sets */
    size_t sets_bytes;
} gs_vcache_stats;
/* Record the keysets' and user map's size for gs_vcache_stats_get. They
 * belong to the applier, which changes them without the lock; it calls
 * this with the lock held for writing after each commit (clear and
 * set_complete, which empty them, call it themselves), so readers of the
 * stats (under the read lock) never look at the sets themselves. */
void gs_vcache_publish_sets(gs_vcache *c);
void gs_vcache_stats_get(const gs_vcache *c, gs_vcache_stats *out);

#endif
