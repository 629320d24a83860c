/*
 * slab.h - size-class allocator for the entity cache's entries.
 *
 * Why not malloc: glibc gives each thread its own arena, and an entry freed
 * by one thread goes back to the arena that allocated it. The cache is
 * filled by the applier (commits) and by every thread that reads (point
 * gets remember what they read from RocksDB), and each eviction frees an
 * entry that some other thread's arena may never reuse. Measured on the
 * large benchmark shape: 200 000 member gets on the main thread grew the
 * process by 30 MB while the cache stayed at its 40 MiB budget. Slots here
 * are reused whichever thread frees or asks for them, and the chunks are
 * mapped and unmapped whole.
 *
 * Requests of 1..GS_SLAB_MAX bytes get a slot of the next multiple of 16
 * from 64 KiB chunks (mmap); larger ones, or any once the chunks reach
 * their cap, return NULL and the caller uses malloc. Chunks are given back
 * only by gs_slab_release_all (a cache clear or destroy).
 *
 * Not thread-safe: the cache calls it under its write lock.
 */
#ifndef GS_VIEWS_SLAB_H
#define GS_VIEWS_SLAB_H

#include <stddef.h>

#define GS_SLAB_MAX   1024u
#define GS_SLAB_CHUNK (64u * 1024u)

typedef struct gs_slab gs_slab;

/* cap_bytes: mapped chunks stop growing at this (0: no slab at all). NULL
 * when out of memory. */
gs_slab *gs_slab_create(size_t cap_bytes);
void gs_slab_destroy(gs_slab *s);

/* The bytes a request of n takes: its slot (n <= GS_SLAB_MAX), else 0. */
size_t gs_slab_slot_size(size_t n);

/* A slot for n bytes, or NULL (too large, cap reached, out of memory). */
void *gs_slab_alloc(gs_slab *s, size_t n);
/* Give back a slot gs_slab_alloc returned for the same n. */
void gs_slab_free(gs_slab *s, void *p, size_t n);

/* Unmap every chunk: every slot handed out is gone. */
void gs_slab_release_all(gs_slab *s);

/* Bytes mapped now. */
size_t gs_slab_mapped(const gs_slab *s);

#endif
