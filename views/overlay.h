/*
 * overlay.h - the pending writes of one apply call: a hash map from
 * (column family, key) to the latest value or a deletion, with an undo log
 * so that the writes of one bad record can be taken back. Reads of the
 * appliers look here first, then in RocksDB; at the end of the call the
 * overlay becomes one RocksDB WriteBatch (one write per key, whatever the
 * number of updates it had in the call).
 *
 * Why not RocksDB's WriteBatchWithIndex: its skip list compares keys by
 * decoding them from the batch buffer on every step; profiles showed it
 * taking about a third of the apply time.
 *
 * Not thread-safe: owned by the applier (under gs_views.apply_mu).
 */
#ifndef GS_OVERLAY_H
#define GS_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#define GS_OV_KEY_MAX 24

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

/* 1 with *e set if the overlay has an entry for the key (a value or a
 * deletion), 0 if RocksDB must be asked. */
int gs_ov_get(gs_ov *ov, int cf, const void *key, size_t klen, gs_ov_ent *e);
/* Record a value / a deletion. 0 ok, -1 out of memory (or key too long,
 * or cf not below 32). */
int gs_ov_put(gs_ov *ov, int cf, const void *key, size_t klen, const void *val, size_t vlen);
int gs_ov_del(gs_ov *ov, int cf, const void *key, size_t klen);

/* Save point: the current position of the undo log. Rolling back to it
 * undoes every put/del made since. */
size_t gs_ov_mark(const gs_ov *ov);
void gs_ov_rollback(gs_ov *ov, size_t mark);

/* The live entries of family cf whose key starts with prefix, sorted by
 * key; *out is owned by the overlay and valid until the next call that
 * changes it. 0 ok, -1 out of memory. */
int gs_ov_prefix(gs_ov *ov, int cf, const void *prefix, size_t plen, gs_ov_ent **out, size_t *n);

/* Visit every live entry, family by family, keys sorted. 0 ok, -1 out of
 * memory. */
typedef void (*gs_ov_visit_fn)(void *ud, const gs_ov_ent *e);
int gs_ov_each(gs_ov *ov, gs_ov_visit_fn fn, void *ud);

/* Number of live entries. */
size_t gs_ov_count(const gs_ov *ov);

#endif
