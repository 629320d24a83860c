/*
 * cache.h - a bounded in-process cache of entity values (key -> msgpack
 * bytes) in front of RocksDB.
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

/* 1 with *val / *vlen pointing at the cached bytes (valid while the lock
 * is held and until the next change), 0 on a miss. */
int gs_vcache_peek(gs_vcache *c, int cf, const void *key, size_t klen, const uint8_t **val,
                   size_t *vlen);
/* Insert or replace (evicting as needed). A value larger than an eighth of
 * the budget is not kept (and any older one is dropped). */
void gs_vcache_put(gs_vcache *c, int cf, const void *key, size_t klen, const void *val,
                   size_t vlen);
void gs_vcache_del(gs_vcache *c, int cf, const void *key, size_t klen);
void gs_vcache_clear(gs_vcache *c);

typedef struct gs_vcache_stats {
    size_t entries, bytes, budget;
} gs_vcache_stats;
void gs_vcache_stats_get(const gs_vcache *c, gs_vcache_stats *out);

#endif
