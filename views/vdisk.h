/*
 * vdisk.h - the stored form of view values (FORMAT.md section 3a): entity
 * values and the name index's channel copies are written in cpack form
 * (cpack.h) and read back to the exact msgpack the appliers built.
 */
#ifndef GS_VDISK_H
#define GS_VDISK_H

#include <stddef.h>
#include <stdint.h>

#include "gs_common.h"
#include "vbuf.h"

/* 1 if values of family cf under key are stored in cpack form: every
 * entity family, and idx 'N' entries (channel copies). Meta values and the
 * other idx values are not msgpack maps and are stored as they are. */
int gs_vdisk_packed(int cf, const void *key, size_t klen);

/* The bytes to store under key for the msgpack value val[0..vlen) of a
 * packed family: its cpack form in *buf (reset first), without a leading
 * "id" pair the key implies (its last 8 bytes), or val itself if encoding
 * fails (msgpack without replaced strings is a valid cpack stream, so the
 * reader needs no mark). *out_len receives the length. Thread-safe with
 * one buf per thread. */
const uint8_t *gs_vdisk_pack(gs_vbuf *buf, const void *key, size_t klen, const uint8_t *val,
                             size_t vlen, size_t *out_len);

/* gs_vdisk_pack, and the value's full cpack form (the "id" pair kept:
 * what the entity cache holds, cache.h) in *cp[0..*cplen), both views
 * into buf; *cp NULL and *cplen 0 if the value does not encode. */
const uint8_t *gs_vdisk_pack_both(gs_vbuf *buf, const void *key, size_t klen, const uint8_t *val,
                                  size_t vlen, size_t *out_len, const uint8_t **cp, size_t *cplen);

/* Decode stored bytes in[0..len) into *buf (reset first, reused). GS_OK,
 * GS_ECORRUPT (not a cpack stream: damaged views; err names where) or
 * GS_ENOMEM. */
int gs_vdisk_unpack(const void *key, size_t klen, const uint8_t *in, size_t len, gs_vbuf *buf,
                    const char *where, gs_err *err);

/* Decode a malloc'ed stored value (from rocksdb_get) in place: *val is
 * replaced by a malloc'ed decoded copy and the old one freed. Same codes;
 * on failure *val is freed and set to NULL. */
int gs_vdisk_unpack_owned(const void *key, size_t klen, char **val, size_t *vlen, const char *where,
                          gs_err *err);

#endif
