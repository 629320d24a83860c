/*
 * keyset.h - per (family, guild) sorted id sets kept in memory for the
 * applier's guild-scoped scans (keyset.c). Not thread-safe: used by the
 * applier only (the entity cache owns it and clears it with itself).
 */
#ifndef GS_KEYSET_H
#define GS_KEYSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct gs_vks gs_vks;

gs_vks *gs_vks_create(void);
void gs_vks_destroy(gs_vks *s);
/* Forget every set. */
void gs_vks_clear(gs_vks *s);
/* Bytes held (for the cache's accounting). */
size_t gs_vks_bytes(const gs_vks *s);
/* 1 with the sorted ids (valid until the next change) if the set of
 * (cf, guild) is known, else 0. */
int gs_vks_get(const gs_vks *s, int cf, uint64_t guild, const uint64_t **ids, size_t *n);
/* Make the set of (cf, guild) known as ids[0..n) (sorted). 0 or -1 (out of
 * memory). */
int gs_vks_set(gs_vks *s, int cf, uint64_t guild, const uint64_t *ids, size_t n);
/* Add to / remove from a known set; add with create = 1 makes an unknown
 * set known (as {id}). 0 or -1 (out of memory). */
int gs_vks_add(gs_vks *s, int cf, uint64_t guild, uint64_t id, int create);
void gs_vks_del(gs_vks *s, int cf, uint64_t guild, uint64_t id);

/* The user map: for each user, the one guild it is a member of (as
 * committed), "none", or "several" (then unknown). Kept by the applier
 * while the entity cache is complete (every commit since an empty
 * database went through it), from the user index entries ('U' user guild)
 * of each commit: put and del are exact on "none" and "one". Gives up
 * (gs_vum_get -1 for every user) once its table would take more than
 * max_bytes (16 bytes a slot, at most 3/4 used: 4 MiB holds about 196 000
 * users). */
typedef struct gs_vum gs_vum;
gs_vum *gs_vum_create(size_t max_bytes);
void gs_vum_destroy(gs_vum *m);
void gs_vum_clear(gs_vum *m);
size_t gs_vum_bytes(const gs_vum *m);
void gs_vum_put(gs_vum *m, uint64_t user, uint64_t guild);
void gs_vum_del(gs_vum *m, uint64_t user, uint64_t guild);
/* 1 with *guild: a member of exactly that guild; 0: of none; -1: unknown
 * (several, or the map gave up). */
int gs_vum_get(const gs_vum *m, uint64_t user, uint64_t *guild);

#endif
