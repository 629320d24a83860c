/*
 * cpack.h - a compact, lossless form of msgpack values, for the entity
 * cache and the stored view values (vdisk.h, views/FORMAT.md 3a): Discord
 * field names, decimal snowflakes, hex hashes and timestamps become short
 * codes. See cpack.c.
 */
#ifndef GS_CPACK_H
#define GS_CPACK_H

#include <stddef.h>
#include <stdint.h>

/* Encode the msgpack value in[0..len) into out[0..cap), which must not
 * overlap it (anything in out past the returned length may be written).
 * Returns the encoded length, or 0 if in is not one well-formed msgpack
 * value or out is too small. Thread-safe. */
size_t gs_cpack_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Decode what gs_cpack_encode wrote back to the exact original bytes.
 * Returns the decoded length, 0 if damaged or out is too small. */
size_t gs_cpack_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
void gs_cpack_init(void);
/* id in decimal (no leading zeros) as a msgpack fixstr at out, which has
 * room for 21 bytes: the bytes written. What a CP_ID code decodes to; the
 * stored form's implied "id" (vdisk.c) uses it too. */
size_t gs_cpack_idstr(uint8_t *out, uint64_t id);

#endif
