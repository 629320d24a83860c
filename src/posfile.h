/*
 * posfile.h - small checksummed position files in the store directory:
 * the applier's published watermark (STORE/watermark) and the durable
 * consumers' acknowledged LSNs (STORE/consumers/NAME). Formats:
 * src/CONSUMERS_FORMAT.md.
 */
#ifndef GS_POSFILE_H
#define GS_POSFILE_H

#include "gs_common.h"

#define GS_POSFILE_LEN 32

/* The watermark file: opened once by the writer, then overwritten in
 * place (pwrite, no fsync: it is advisory, see the format). */
int gs_wmfile_open(const char *store_dir, int *fd_out, gs_err *err);
void gs_wmfile_publish(int fd, uint64_t lsn);
/* Read STORE/watermark: GS_OK with *lsn, GS_ENOTFOUND if absent,
 * GS_ECORRUPT on a bad checksum (a torn concurrent write: retry). */
int gs_wmfile_read(const char *store_dir, uint64_t *lsn, gs_err *err);

/* 1 if name is a valid consumer name (1..64 of [A-Za-z0-9._-], no leading
 * '.'). */
int gs_consumer_name_ok(const char *name);
/* Take the consumer's lock (STORE/consumers/NAME.lock, flock): GS_EBUSY if
 * held by another handle. Creates STORE/consumers/ if missing. */
int gs_consumer_lock(const char *store_dir, const char *name, int *fd_out, gs_err *err);
/* Read the acknowledged LSN: GS_OK, GS_ENOTFOUND (never acked),
 * GS_ECORRUPT, GS_EVERSION, GS_EIO. */
int gs_consumer_read(const char *store_dir, const char *name, uint64_t *acked, gs_err *err);
/* Store it durably: temp file, fsync, rename, fsync the directory. */
int gs_consumer_write(const char *store_dir, const char *name, uint64_t acked, gs_err *err);

#endif
