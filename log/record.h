/*
 * record.h - packing and unpacking of one log record (msgpack array
 * [lsn, recv_us, shard|nil, seq|nil, op, event str|nil, raw bin]).
 * Format: log/FORMAT.md, "Records". Pure functions, any thread.
 */
#ifndef GS_LOG_RECORD_H
#define GS_LOG_RECORD_H

#include "log.h"

/* Upper bound of the packed size of r. */
size_t gs_rec_bound(const gs_log_rec_in *r);
/* Pack r with lsn into out (at least gs_rec_bound(r) bytes); returns the
 * bytes written. shard < 0 and seq < 0 are packed as nil, and so is a NULL
 * event (an empty but non-NULL event is an empty string). */
size_t gs_rec_pack(uint8_t *out, uint64_t lsn, const gs_log_rec_in *r);
/* Decode the record at p[0..len). On GS_OK *used is its length and the
 * event/raw pointers of *out point into p. GS_ECORRUPT with *what set
 * otherwise; never reads outside p[0..len). */
int gs_rec_unpack(const uint8_t *p, size_t len, gs_log_rec *out, size_t *used, const char **what);

#endif
