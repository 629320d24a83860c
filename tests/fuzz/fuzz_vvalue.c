/* fuzz_vvalue.c - libFuzzer target: the views' value codecs on arbitrary
 * bytes. Since view schema 4 every value read from RocksDB goes through
 * gs_vdisk_unpack (cpack.c decoding, and the key-implied "id" pair), and
 * every committed value through gs_vdisk_pack_both and the entity cache's
 * cpack form; damaged stored bytes must be refused, never overrun.
 *
 * Input: one byte picking the key (length 8, 16, 17 or 25, and whether its
 * id is small or large), then the bytes. They are fed two ways:
 * - as stored bytes: gs_vdisk_unpack returns GS_OK or GS_ECORRUPT only; a
 *   decoded value, packed again, decodes to itself;
 * - as a msgpack value: if gs_cpack_encode takes it, decoding gives the
 *   input exactly (and a buffer one byte short is refused), the stored
 *   form of gs_vdisk_pack_both reads back as the input and its cache form
 *   is that encoding; gs_vdisk_pack stores the same bytes. */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "cpack.h"
#include "vbuf.h"
#include "vdisk.h"
#include "views_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gs_vbuf A, B, C;

static void check_stored(const uint8_t *key, size_t klen, const uint8_t *in, size_t n)
{
    gs_err err;
    int rc = gs_vdisk_unpack(key, klen, in, n, &A, "fuzz", &err);
    if (rc == GS_ECORRUPT || rc == GS_ENOMEM)
        return;
    if (rc != GS_OK)
        abort();
    /* What decodes must survive a round trip (its bytes, not the input's:
     * a stream may spell a value other than the shortest way). */
    size_t sl;
    const uint8_t *st = gs_vdisk_pack(&B, key, klen, (const uint8_t *)A.p, A.len, &sl);
    if (gs_vdisk_unpack(key, klen, st, sl, &C, "fuzz", &err) != GS_OK || C.len != A.len ||
        memcmp(C.p, A.p, A.len) != 0)
        abort();
}

static void check_value(const uint8_t *key, size_t klen, const uint8_t *in, size_t n)
{
    uint8_t *enc = malloc(n + 8), *dec = malloc(n + 1);
    if (!enc || !dec)
        abort();
    size_t e = gs_cpack_encode(in, n, enc, n + 8);
    if (e) {
        if (e > n || gs_cpack_decode(enc, e, dec, n) != n || memcmp(dec, in, n) != 0)
            abort();
        if (n && gs_cpack_decode(enc, e, dec, n - 1) != 0)
            abort();
    }
    size_t sl, cl, sl1;
    const uint8_t *cp;
    const uint8_t *st = gs_vdisk_pack_both(&B, key, klen, in, n, &sl, &cp, &cl);
    gs_err err;
    if (cp) {
        if (cl != e || memcmp(cp, enc, e) != 0)
            abort();
        /* A value the encoder takes (well-formed msgpack: all the applier
         * ever stores) reads back exactly. Other bytes are stored as they
         * are and need not (the applier never builds them). */
        if (gs_vdisk_unpack(key, klen, st, sl, &A, "fuzz", &err) != GS_OK || A.len != n ||
            memcmp(A.p, in, n) != 0)
            abort();
    }
    uint8_t *copy = malloc(sl ? sl : 1);
    if (!copy)
        abort();
    memcpy(copy, st, sl);
    const uint8_t *st1 = gs_vdisk_pack(&C, key, klen, in, n, &sl1);
    if (sl1 != sl || memcmp(st1, copy, sl) != 0)
        abort();
    free(copy);
    free(enc);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1u << 16)
        return 0;
    static const size_t klens[] = {8, 16, 17, 25};
    uint8_t key[25] = {'N'};
    size_t klen = klens[data[0] & 3];
    /* The id in the key's last 8 bytes: a snowflake or a small number. */
    uint64_t id = data[0] & 4 ? 1234567890123456789ull : (uint64_t)(data[0] >> 3);
    gs_be64(key + klen - 8, id);
    check_stored(key, klen, data + 1, size - 1);
    check_value(key, klen, data + 1, size - 1);
    return 0;
}
