/*
 * overlay.h - the pending writes of one stage of an apply call: a hash
 * map from (column family, key) to the latest value or a deletion, with an
 * undo log so that the writes of one bad record can be taken back. Reads
 * of the appliers look here first, then in RocksDB; at the end of the
 * stage the overlay becomes one RocksDB WriteBatch (one write per key,
 * whatever the number of updates it had in the stage).
 *
 * Why not RocksDB's WriteBatchWithIndex: its skip list compares keys by
 * decoding them from the batch buffer on every step; profiles showed it
 * taking about a third of the apply time.
 *
 * Two overlays make a pipeline (apply.c): while one sealed overlay is
 * being written to RocksDB on the committer thread, the applier fills the
 * next one, set "above" it (gs_ov_set_below) so that its reads see the
 * writes still in flight.
 *
 * Not thread-safe: owned by the applier (under gs_views.apply_mu). A
 * sealed overlay may be read from two threads at once (gs_ov_get,
 * gs_ov_visit_sealed, and as another overlay's below) as long as nobody
 * changes it.
 */
#ifndef GS_OVERLAY_H
#define GS_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#define GS_OV_KEY_MAX 32

typedef struct gs_ov gs_ov;

/* A pending entry as seen by readers. */
typedef struct gs_ov_ent {
    int cf;
    const uint8_t *key;
    size_t klen;
    int deleted;        /* 1: a deletion */
    const uint8_t *val; /* valid until the next put/del/reset */
    size_t vlen;
} gs_ov_ent;

gs_ov *gs_ov_create(void);
void gs_ov_destroy(gs_ov *ov);
/* Forget everything (keeps the memory). */
void gs_ov_reset(gs_ov *ov);

/* 1 with *e set if the overlay, or the overlay below it, has an entry for
 * the key (a value or a deletion; the overlay's own wins), 0 if RocksDB
 * must be asked. */
int gs_ov_get(gs_ov *ov, int cf, const void *key, size_t klen, gs_ov_ent *e);
/* Record a value / a deletion. 0 ok, -1 out of memory (or key too long,
 * or cf not below 32). */
int gs_ov_put(gs_ov *ov, int cf, const void *key, size_t klen, const void *val, size_t vlen);
int gs_ov_del(gs_ov *ov, int cf, const void *key, size_t klen);

/* Save point: the current position of the undo log. Rolling back to it
 * undoes every put/del made since. */
size_t gs_ov_mark(const gs_ov *ov);
void gs_ov_rollback(gs_ov *ov, size_t mark);

/* The live entries of family cf whose key starts with prefix (its own and
 * those of the overlay below that it does not shadow), sorted by key; *out
 * is owned by the overlay and valid until the next call that changes it. 0
 * ok, -1 out of memory. */
int gs_ov_prefix(gs_ov *ov, int cf, const void *prefix, size_t plen, gs_ov_ent **out, size_t *n);

/* Visit every live entry of the overlay itself (never the one below),
 * family by family, keys sorted. 0 ok, -1 out of memory. */
typedef void (*gs_ov_visit_fn)(void *ud, const gs_ov_ent *e);
int gs_ov_each(gs_ov *ov, gs_ov_visit_fn fn, void *ud);
/* gs_ov_each in two steps: sort once (0 ok, -1 out of memory), then visit
 * without changing anything (safe beside readers of the sealed overlay),
 * as often as needed until the next change. */
int gs_ov_seal(gs_ov *ov);
void gs_ov_visit_sealed(const gs_ov *ov, gs_ov_visit_fn fn, void *ud);
/* The entries gs_ov_visit_sealed visits, in its order: for callers that
 * look ahead (prefetching). Valid as the visit is. */
const gs_ov_ent *gs_ov_sealed(const gs_ov *ov, size_t *n);

/* Read through to below (NULL: none) where this overlay has no entry. The
 * caller keeps below alive and unchanged until it sets another. */
void gs_ov_set_below(gs_ov *ov, const gs_ov *below);

/* Number of live entries. */
size_t gs_ov_count(const gs_ov *ov);

#endif
