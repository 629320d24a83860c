/*
 * slab.h - size-class allocator for the entity cache's entries.
 *
 * Why not malloc: glibc gives each thread its own arena, and an entry freed
 * by one thread goes back to the arena that allocated it. The cache is
 * filled by the applier (commits) and by every thread that reads (point
 * gets remember what they read from RocksDB), and each eviction frees an
 * entry that the evicting thread's arena may never reuse. Measured on the
 * large benchmark shape: 200 000 member gets on the main thread grew the
 * process by 30 MB while the cache stayed at its 40 MiB budget. Slots here
 * are reused whichever thread frees or asks for them.
 *
 * Requests of 1..GS_SLAB_MAX bytes get a slot of their size class (16-byte
 * steps up to 1 KiB, then eight per doubling) in 64 KiB chunks of that
 * class, mapped as needed and unmapped once their last slot is freed (one
 * empty chunk is kept as a spare for the next class in need). Larger
 * requests, or a class without a free slot when the caller
 * does not allow a new chunk (or the cap is reached), return NULL.
 *
 * Not thread-safe: the cache calls it under its write lock.
 */
#ifndef GS_VIEWS_SLAB_H
#define GS_VIEWS_SLAB_H

#include <stddef.h>

#define GS_SLAB_MAX   16384u
#define GS_SLAB_CHUNK (64u * 1024u)

typedef struct gs_slab gs_slab;

/* cap_bytes: mapped chunks never exceed it (below one chunk: no slot at
 * all). NULL when out of memory. */
gs_slab *gs_slab_create(size_t cap_bytes);
void gs_slab_destroy(gs_slab *s);

/* The bytes a request of n takes: its slot (n <= GS_SLAB_MAX), else 0. */
size_t gs_slab_slot_size(size_t n);

/* A slot for n bytes, or NULL. may_map: a new chunk may be mapped if the
 * class has no free slot. */
void *gs_slab_alloc(gs_slab *s, size_t n, int may_map);
/* Give back a slot gs_slab_alloc returned (its chunk, found from its
 * address, knows the size). */
void gs_slab_free(gs_slab *s, void *p);
/* 1 if a request of n would get a slot without mapping a chunk. */
int gs_slab_ready(const gs_slab *s, size_t n);

/* Unmap every chunk: every slot handed out is gone. */
void gs_slab_release_all(gs_slab *s);

/* Bytes mapped now. */
size_t gs_slab_mapped(const gs_slab *s);

#endif
