/*
 * meta.h - STORE/gatestore.meta: the store's identity and format versions.
 * Format: src/STORE_FORMAT.md.
 */
#ifndef GS_META_H
#define GS_META_H

#include "gs_common.h"

/* Version of the store layout (directory + meta file). */
#define GS_STORE_FORMAT_VERSION 1

typedef struct gs_store_meta {
    uint32_t format;      /* GS_STORE_FORMAT_VERSION when written */
    uint8_t store_id[16]; /* random, fixed at creation */
    int64_t created_us;
} gs_store_meta;

/* Read and check STORE/gatestore.meta. GS_ENOSTORE if absent or not ours,
 * GS_ECORRUPT if damaged, GS_EVERSION if newer than this library. */
int gs_meta_read(const char *store_dir, gs_store_meta *m, gs_err *err);
/* Create it with a fresh store id: written to a temporary file, fsynced,
 * renamed into place, directory fsynced. */
int gs_meta_create(const char *store_dir, gs_store_meta *m, gs_err *err);

#endif
