/*
 * test_views_vdisk.c - the stored form of view values (vdisk.h): entity
 * values and name-index copies are in cpack form on disk, read back to the
 * exact msgpack, and damaged stored values are GS_ECORRUPT, never a crash.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpack.h"
#include "support_views.h"
#include "vdisk.h"
#include "views_int.h"

/* Views of the whole scenario, closed and reopened: nothing cached. */
static gs_views *built(char *dir, size_t cap)
{
    gs_tv_tmpdir(dir, cap);
    gs_views *v;
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    assert_int_equal(gs_tv_apply(v, &gs_tv_scen, 0, gs_tv_scen.n, 100), GS_OK);
    assert_int_equal(gs_views_close(v, NULL), GS_OK);
    assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
    return v;
}

static void put_raw(gs_views *v, int cf, const char *key, size_t klen, const void *val, size_t vlen)
{
    char *rerr = NULL;
    rocksdb_put_cf(v->db, v->wo, v->cf[cf], key, klen, val, vlen, &rerr);
    assert_null(rerr);
}

static void test_rules_and_identity(void **state)
{
    (void)state;
    uint8_t nkey[25] = {GS_VIDX_NAME};
    uint8_t ukey[17] = {'U'};
    assert_true(gs_vdisk_packed(GS_VIEW_MEMBER, nkey, 16));
    assert_true(gs_vdisk_packed(GS_VIEW_GUILD, nkey, 8));
    assert_true(gs_vdisk_packed(GS_VCF_IDX, nkey, 25));
    assert_false(gs_vdisk_packed(GS_VCF_IDX, ukey, 17));
    assert_false(gs_vdisk_packed(GS_VCF_IDX, nkey, 24));
    assert_false(gs_vdisk_packed(GS_VCF_META, "format", 6));

    /* msgpack without replaceable strings is its own stored form. */
    const uint8_t plain[] = {0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0xc0};
    gs_vbuf b = {0};
    size_t n;
    const uint8_t *s = gs_vdisk_pack(&b, ukey, 8, plain, sizeof(plain), &n);
    assert_int_equal(n, sizeof(plain));
    assert_memory_equal(s, plain, n);
    gs_err err;
    assert_int_equal(gs_vdisk_unpack(ukey, 8, plain, sizeof(plain), &b, "t", &err), GS_OK);
    assert_int_equal(b.len, sizeof(plain));
    assert_memory_equal(b.p, plain, sizeof(plain));
    /* Not msgpack: stored as given (the applier never builds that). */
    const uint8_t junk[] = {0xc1, 0xc1, 0xc1};
    s = gs_vdisk_pack(&b, ukey, 8, junk, sizeof(junk), &n);
    assert_ptr_equal(s, junk);
    assert_int_equal(n, sizeof(junk));
    /* A value of dictionary codes only expands 16 x: the second try. */
    uint8_t many[1 + 2 * 15];
    many[0] = 0x9f; /* array of 15 */
    for (int i = 0; i < 15; i++) {
        many[1 + 2 * i] = 0xc1;
        many[2 + 2 * i] = 20; /* "communication_disabled_until": 29 bytes */
    }
    assert_int_equal(gs_vdisk_unpack(ukey, 8, many, sizeof(many), &b, "t", &err), GS_OK);
    assert_int_equal(b.len, 1 + 15 * 29);
    /* Damaged: unknown code, truncated, trailing bytes. */
    assert_int_equal(gs_vdisk_unpack(ukey, 8, junk, sizeof(junk), &b, "t", &err), GS_ECORRUPT);
    assert_int_equal(gs_vdisk_unpack(ukey, 8, many, sizeof(many) - 1, &b, "t", &err), GS_ECORRUPT);
    const uint8_t two[] = {0x01, 0x02};
    assert_int_equal(gs_vdisk_unpack(ukey, 8, two, sizeof(two), &b, "t", &err), GS_ECORRUPT);
    gs_vbuf_free(&b);
}

/* Build {"id": "<id>", then pairs "k0".."k(n-2)": i} as msgpack. */
static size_t id_map(uint8_t *out, unsigned pairs, const char *id)
{
    size_t o = 0;
    if (pairs < 16) {
        out[o++] = (uint8_t)(0x80 | pairs);
    } else {
        out[o++] = 0xde;
        out[o++] = 0;
        out[o++] = (uint8_t)pairs;
    }
    size_t n = strlen(id);
    out[o++] = 0xa2;
    out[o++] = 'i';
    out[o++] = 'd';
    out[o++] = (uint8_t)(0xa0 | n);
    memcpy(out + o, id, n);
    o += n;
    for (unsigned i = 1; i < pairs; i++) {
        out[o++] = 0xa2;
        out[o++] = 'k';
        out[o++] = (uint8_t)('a' + i);
        out[o++] = (uint8_t)i;
    }
    return o;
}

/* Build the map of id_map(pairs, id) without its id pair: what the stored
 * form encodes after its mark. */
static size_t no_id_map(uint8_t *out, unsigned pairs)
{
    uint8_t full[256];
    size_t n = id_map(full, pairs, "1");
    size_t h = pairs < 16 ? 1 : 3, o = 0;
    if (pairs - 1 < 16) {
        out[o++] = (uint8_t)(0x80 | (pairs - 1));
    } else {
        out[o++] = 0xde;
        out[o++] = 0;
        out[o++] = (uint8_t)(pairs - 1);
    }
    memcpy(out + o, full + h + 5, n - h - 5); /* "id": "1" is 5 bytes */
    return o + n - h - 5;
}

/* One encoding serves both forms: the stored one is that of the value
 * without its id pair (encoded on its own here), the other decodes to
 * the value itself (what the entity cache keeps). */
static void test_pack_both(void **state)
{
    (void)state;
    static const char *const ids[] = {"1234567890123456789", "123", "18446744073709551615"};
    static const uint64_t nums[] = {1234567890123456789ull, 123, UINT64_MAX};
    const unsigned sizes[] = {1, 3, 16, 17};
    gs_vbuf b = {0}, o = {0};
    for (size_t k = 0; k < 3; k++) {
        uint8_t key[16];
        gs_be64(key, 7);
        gs_be64(key + 8, nums[k]);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            uint8_t val[256], rest[256], want[260], dec[256];
            size_t vlen = id_map(val, sizes[i], ids[k]);
            size_t n, cplen, n1;
            const uint8_t *cp;
            const uint8_t *st = gs_vdisk_pack_both(&b, key, 16, val, vlen, &n, &cp, &cplen);
            /* The full form. */
            assert_non_null(cp);
            assert_int_equal(gs_cpack_decode(cp, cplen, dec, sizeof(dec)), vlen);
            assert_memory_equal(dec, val, vlen);
            /* The stored form: the mark, then the value without the pair. */
            size_t rl = no_id_map(rest, sizes[i]);
            want[0] = 0xc1;
            want[1] = 0xf3;
            size_t wl = gs_cpack_encode(rest, rl, want + 2, sizeof(want) - 2);
            assert_true(wl > 0);
            assert_int_equal(n, wl + 2);
            assert_memory_equal(st, want, n);
            /* gs_vdisk_pack gives the same stored bytes. */
            const uint8_t *st1 = gs_vdisk_pack(&o, key, 16, val, vlen, &n1);
            assert_int_equal(n1, n);
            assert_memory_equal(st1, st, n);
        }
        /* Another id first: kept, and both forms are the plain encoding. */
        uint8_t val[256], dec[256];
        size_t vlen = id_map(val, 3, k == 1 ? "124" : "1234567890123456788");
        size_t n, cplen;
        const uint8_t *cp;
        const uint8_t *st = gs_vdisk_pack_both(&b, key, 16, val, vlen, &n, &cp, &cplen);
        assert_non_null(cp);
        assert_int_equal(n, cplen);
        assert_memory_equal(st, cp, n);
        assert_int_equal(gs_cpack_decode(st, n, dec, sizeof(dec)), vlen);
        assert_memory_equal(dec, val, vlen);
    }
    /* A longer map header than needed (map16 for 2 pairs) cannot be given
     * back by the reader: the id pair is kept, the value reads back. */
    {
        uint8_t key[16], dec[64];
        gs_be64(key, 7);
        gs_be64(key + 8, 1234567890123456789ull);
        uint8_t val[64] = {0xde, 0x00, 0x02, 0xa2, 'i', 'd', 0xb3};
        memcpy(val + 7, "1234567890123456789", 19);
        memcpy(val + 26,
               "\xa1"
               "a"
               "\x01",
               3);
        size_t vlen = 29, n, cplen;
        const uint8_t *cp;
        const uint8_t *st = gs_vdisk_pack_both(&b, key, 16, val, vlen, &n, &cp, &cplen);
        assert_false(st[0] == 0xc1 && st[1] == 0xf3);
        gs_err err;
        assert_int_equal(gs_vdisk_unpack(key, 16, st, n, &o, "t", &err), GS_OK);
        assert_int_equal(o.len, vlen);
        assert_memory_equal(o.p, val, vlen);
        assert_int_equal(gs_cpack_decode(cp, cplen, dec, sizeof(dec)), vlen);
    }
    /* Not msgpack: stored as given, no form for the cache. */
    const uint8_t junk[] = {0xc1, 0xc1, 0xc1};
    uint8_t key[16] = {0};
    size_t n, cplen;
    const uint8_t *cp;
    assert_ptr_equal(gs_vdisk_pack_both(&b, key, 16, junk, sizeof(junk), &n, &cp, &cplen), junk);
    assert_null(cp);
    assert_int_equal(cplen, 0);
    gs_vbuf_free(&b);
    gs_vbuf_free(&o);
}

/* The leading "id" pair the key implies is left out and given back. */
static void test_id_from_key(void **state)
{
    (void)state;
    uint8_t key[16];
    gs_be64(key, 7);
    gs_be64(key + 8, 1234567890123456789ull);
    gs_vbuf b = {0}, d = {0};
    gs_err err;
    uint8_t val[256];
    /* 3 pairs (fixmap), 16 pairs (map16 -> fixmap of 15 stored). */
    const unsigned sizes[] = {1, 3, 16, 17};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t vlen = id_map(val, sizes[i], "1234567890123456789");
        size_t n;
        const uint8_t *st = gs_vdisk_pack(&b, key, 16, val, vlen, &n);
        assert_true(n >= 2 && n < vlen - 19);
        assert_int_equal(st[0], 0xc1);
        assert_int_equal(st[1], 0xf3);
        assert_int_equal(gs_vdisk_unpack(key, 16, st, n, &d, "t", &err), GS_OK);
        assert_int_equal(d.len, vlen);
        assert_memory_equal(d.p, val, vlen);
        /* Another key cannot give it back: a wrong id, or none at all. */
        uint8_t other[16];
        memcpy(other, key, 16);
        other[15] ^= 1;
        assert_int_equal(gs_vdisk_unpack(other, 16, st, n, &d, "t", &err), GS_OK);
        assert_false(d.len == vlen && memcmp(d.p, val, vlen) == 0);
        assert_int_equal(gs_vdisk_unpack(key, 17, st, n, &d, "t", &err), GS_ECORRUPT);
    }
    /* An id that is not the key's (or not first) is kept in the value. */
    size_t vlen = id_map(val, 3, "1234567890123456788");
    size_t n;
    const uint8_t *st = gs_vdisk_pack(&b, key, 16, val, vlen, &n);
    assert_false(st[0] == 0xc1 && st[1] == 0xf3);
    assert_int_equal(gs_vdisk_unpack(key, 16, st, n, &d, "t", &err), GS_OK);
    assert_int_equal(d.len, vlen);
    assert_memory_equal(d.p, val, vlen);
    /* The mark before something that is not a map. */
    const uint8_t notmap[] = {0xc1, 0xf3, 0x93, 0x01, 0x02, 0x03};
    assert_int_equal(gs_vdisk_unpack(key, 16, notmap, sizeof(notmap), &d, "t", &err), GS_ECORRUPT);
    const uint8_t bare[] = {0xc1, 0xf3};
    assert_int_equal(gs_vdisk_unpack(key, 16, bare, sizeof(bare), &d, "t", &err), GS_ECORRUPT);
    gs_vbuf_free(&b);
    gs_vbuf_free(&d);
}

/* What is on disk is the cpack form, smaller, and reads back exactly. */
static void test_stored_form(void **state)
{
    (void)state;
    char dir[256];
    gs_views *v = built(dir, sizeof(dir));
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    size_t stored = 0, decoded = 0, users = 0, replaced = 0;
    gs_vbuf b = {0};
    gs_err err;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(v->db, ro, v->cf[GS_VIEW_USER]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const uint8_t *val = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        assert_int_equal(gs_vdisk_unpack(k, klen, val, vlen, &b, "t", &err), GS_OK);
        assert_true(b.len >= vlen);
        assert_true(vlen >= 2 && val[0] == 0xc1 && val[1] == 0xf3); /* id from the key */
        replaced += memchr(val, 0xc1, vlen) != NULL;
        stored += vlen;
        decoded += b.len;
        users++;
        /* A get returns the stored value decoded: the user as msgpack. */
        char *out;
        size_t olen;
        assert_int_equal(gs_views_get(v, GS_VIEW_USER, gs_get_be64((const uint8_t *)k), 0,
                                      GS_VFMT_MSGPACK, &out, &olen, NULL),
                         GS_OK);
        assert_int_equal(olen, b.len);
        assert_memory_equal(out, b.p, olen);
        free(out);
    }
    rocksdb_iter_destroy(it);
    assert_true(users > 0);
    assert_int_equal(replaced, users); /* every user has a snowflake id */
    assert_true(stored * 10 < decoded * 8);

    /* Name index entries hold the channel's value, packed the same way. */
    size_t names = 0;
    it = rocksdb_create_iterator_cf(v->db, ro, v->cf[GS_VCF_IDX]);
    for (rocksdb_iter_seek(it, "N", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen, clen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (k[0] != GS_VIDX_NAME)
            break;
        const char *val = rocksdb_iter_value(it, &vlen);
        char *rerr = NULL;
        char *cv = rocksdb_get_cf(v->db, ro, v->cf[GS_VIEW_CHANNEL], k + 9, 16, &clen, &rerr);
        assert_null(rerr);
        assert_non_null(cv);
        assert_int_equal(clen, vlen);
        assert_memory_equal(cv, val, vlen);
        assert_non_null(memchr(val, 0xc1, vlen));
        free(cv);
        names++;
    }
    rocksdb_iter_destroy(it);
    assert_true(names > 0);
    rocksdb_readoptions_destroy(ro);
    gs_vbuf_free(&b);
    gs_views_close(v, NULL);
    gs_tv_rmtree(dir);
}

/* A damaged stored value is GS_ECORRUPT from a get, a scan and a dump. */
static void test_damaged_value(void **state)
{
    (void)state;
    char dir[256];
    gs_views *v = built(dir, sizeof(dir));
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(v->db, ro, v->cf[GS_VIEW_USER]);
    rocksdb_iter_seek_to_first(it);
    assert_true(rocksdb_iter_valid(it));
    size_t klen, vlen;
    char key[8];
    memcpy(key, rocksdb_iter_key(it, &klen), 8);
    char *val = malloc(rocksdb_iter_value(it, &vlen) ? vlen : 1);
    memcpy(val, rocksdb_iter_value(it, &vlen), vlen);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    uint64_t id = gs_get_be64((const uint8_t *)key);
    gs_views_close(v, NULL);

    const uint8_t bad_code[] = {0x81, 0xc1, 0xff, 0x01};
    for (int round = 0; round < 2; round++) {
        assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
        if (round == 0)
            put_raw(v, GS_VIEW_USER, key, 8, val, vlen / 2); /* truncated */
        else
            put_raw(v, GS_VIEW_USER, key, 8, bad_code, sizeof(bad_code));
        gs_views_close(v, NULL);
        assert_int_equal(gs_views_open(dir, NULL, &v, NULL), GS_OK);
        char *out = NULL;
        size_t olen;
        gs_err err;
        assert_int_equal(gs_views_get(v, GS_VIEW_USER, id, 0, GS_VFMT_JSON, &out, &olen, &err),
                         GS_ECORRUPT);
        assert_null(out);
        assert_non_null(strstr(err.msg, "cpack"));
        gs_vwhere w = {"username", "nobody"};
        gs_vq_spec s = {.type = GS_VIEW_USER, .where = &w, .nwhere = 1};
        gs_vq *q;
        uint64_t n = 0;
        assert_int_equal(gs_vq_open(v, &s, &q, &err), GS_OK);
        assert_int_equal(gs_vq_count(q, &n, &err), GS_ECORRUPT);
        gs_vq_close(q);
        FILE *f = tmpfile();
        assert_int_equal(gs_views_dump(v, f, &err), GS_ECORRUPT);
        fclose(f);
        gs_views_close(v, NULL);
    }
    free(val);
    gs_tv_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_and_identity), cmocka_unit_test(test_id_from_key),
        cmocka_unit_test(test_pack_both),          cmocka_unit_test(test_stored_form),
        cmocka_unit_test(test_damaged_value),
    };
    return cmocka_run_group_tests(tests, gs_tv_scen_setup, gs_tv_scen_teardown);
}
