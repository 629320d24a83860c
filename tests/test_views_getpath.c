/*
 * test_views_getpath.c - point gets served by the entity cache alone
 * (views/query.c get_cached: the member and its user decoded straight into
 * the output, the deleted roles left out) give byte for byte what views
 * without the cache give (RocksDB on a snapshot), in JSON and msgpack,
 * right after the applier filled the cache, after a reopen (the first get
 * reads RocksDB and caches the user and the deleted roles, the next one is
 * served by the cache), and after a GUILD_ROLE_DELETE. Also the pieces:
 * the compact form's snowflakes and dictionary strings at every length and
 * exact buffer sizes, and the JSON writer's escapes and integers.
 */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "cpack.h"
#include "mp.h"
#include "support_views.h"
#include "views_int.h"

#define F(t, d) "{\"op\":0,\"t\":\"" t "\",\"d\":" d "}\n"

/* Guild 100 (roles 104, 120, 130), members 7..12; user names with escapes
 * on both sides of 8-byte boundaries, a long one, UTF-8, numbers. Guild
 * 200 shares user 7. */
/* clang-format off */
static const char *const SETUP =
    F("READY", "{\"user\":{\"id\":\"1\",\"username\":\"bot\"},\"guilds\":[]}")
    F("GUILD_CREATE", "{\"id\":\"100\",\"name\":\"G\",\"roles\":[{\"id\":\"104\",\"name\":\"a\"},"
      "{\"id\":\"120\",\"name\":\"b\"},{\"id\":\"130\",\"name\":\"c\"}],\"members\":["
      "{\"user\":{\"id\":\"7\",\"username\":\"u\\\"7\",\"public_flags\":-5},\"roles\":[\"104\",\"120\"],"
      "\"nick\":\"seven\\\\x\",\"joined_at\":\"2021-01-02T03:04:05.123456+00:00\"},"
      "{\"user\":{\"id\":\"8\",\"username\":\"abcdefgh\\\"ijklmnop\\nq\",\"accent_color\":18446744073709551615},"
      "\"roles\":[\"120\"]},"
      "{\"user\":{\"id\":\"9\",\"username\":\"caf\\u00e9 \\u0001 \\u00ff\"},\"roles\":[]},"
      "{\"user\":{\"id\":\"10\",\"username\":\"0123456789abcdef0123456789abcdef0123456789\","
      "\"avatar\":\"0123456789abcdef0123456789abcdef\"},\"roles\":[\"130\",\"120\",\"104\"],\"deaf\":true},"
      "{\"user\":{\"id\":\"1566421553692905472\",\"username\":\"big\",\"global_name\":null},"
      "\"roles\":[\"1566421553692905473\"],\"flags\":0},"
      "{\"user\":{\"id\":\"12\",\"username\":\"x\",\"bot\":false},\"roles\":[\"120\",\"120\"],\"pending\":false}]}")
    F("GUILD_CREATE", "{\"id\":\"200\",\"name\":\"H\",\"members\":[{\"user\":{\"id\":\"7\",\"username\":\"u\\\"7\"},"
      "\"roles\":[\"120\"]}]}");
/* clang-format on */

static const char *const DEL120 =
    F("GUILD_ROLE_DELETE", "{\"guild_id\":\"100\",\"role_id\":\"120\"}");

static const struct {
    uint64_t user, guild;
} MEMBERS[] = {{7, 100},  {8, 100}, {9, 100}, {10, 100}, {1566421553692905472ull, 100},
               {12, 100}, {7, 200}};
#define NMEMBERS (sizeof(MEMBERS) / sizeof(MEMBERS[0]))

static gs_views *open_views(const char *dir, int no_cache)
{
    gs_views_tuning tu;
    memset(&tu, 0, sizeof(tu));
    tu.no_entity_cache = no_cache;
    gs_views *v;
    gs_err err;
    if (gs_views_open_tuned(dir, NULL, no_cache ? &tu : NULL, &v, &err) != GS_OK)
        fail_msg("open: %s", err.msg);
    return v;
}

static void feed(gs_views *v, const char *text, uint64_t *lsn)
{
    gs_tv_file f;
    gs_tv_load_text(text, &f);
    for (size_t i = 0; i < f.n; i++)
        f.recs[i].lsn = ++*lsn;
    assert_int_equal(gs_tv_apply(v, &f, 0, f.n, f.n), GS_OK);
    gs_tv_free(&f);
}

/* A member get, either format, as a malloc'ed buffer. */
static char *get(gs_views *v, size_t i, gs_vfmt fmt, size_t *len)
{
    char *out = NULL;
    gs_err err;
    int rc =
        gs_views_get(v, GS_VIEW_MEMBER, MEMBERS[i].user, MEMBERS[i].guild, fmt, &out, len, &err);
    if (rc != GS_OK)
        fail_msg("get member %zu: %s", i, err.msg);
    if (fmt == GS_VFMT_JSON)
        assert_int_equal(out[*len], '\0');
    return out;
}

/* Every member, both formats: a and b give the same bytes. */
static void same_gets(gs_views *a, gs_views *b)
{
    for (size_t i = 0; i < NMEMBERS; i++) {
        for (int f = 0; f < 2; f++) {
            gs_vfmt fmt = f ? GS_VFMT_JSON : GS_VFMT_MSGPACK;
            size_t la, lb;
            char *x = get(a, i, fmt, &la), *y = get(b, i, fmt, &lb);
            if (la != lb || memcmp(x, y, la) != 0)
                fail_msg("member %zu (%s) differs:\n%.*s\n%.*s", i, f ? "json" : "msgpack", (int)la,
                         x, (int)lb, y);
            free(x);
            free(y);
        }
    }
}

/* Is the user cached (the lock taken as readers do)? */
static int user_cached(gs_views *v, uint64_t user)
{
    uint8_t key[16];
    size_t klen = gs_vkey(GS_VIEW_USER, 0, user, key);
    gs_vcache_hit h;
    pthread_rwlock_rdlock(&v->cache_lock);
    int hit = gs_vcache_find(v->ecache, GS_VIEW_USER, key, klen, &h);
    pthread_rwlock_unlock(&v->cache_lock);
    return hit;
}

static int tombs_loaded(gs_views *v)
{
    pthread_rwlock_rdlock(&v->cache_lock);
    int loaded = gs_vcache_tombs(v->ecache) != NULL;
    pthread_rwlock_unlock(&v->cache_lock);
    return loaded;
}

static void test_cached_gets_match_rocksdb(void **state)
{
    (void)state;
    char dc[256], dn[256];
    gs_tv_tmpdir(dc, sizeof(dc));
    gs_tv_tmpdir(dn, sizeof(dn));
    gs_views *c = open_views(dc, 0), *n = open_views(dn, 1);
    gs_json *p;
    assert_int_equal(gs_json_create(1u << 20, 64, &p, NULL), GS_OK);
    assert_non_null(c->ecache);
    assert_null(n->ecache);
    uint64_t lc = 0, ln = 0;
    feed(c, SETUP, &lc);
    feed(n, SETUP, &ln);
    /* Filled by the applier: served by the cache. */
    assert_true(user_cached(c, 8));
    assert_true(tombs_loaded(c));
    same_gets(c, n);
    /* The output is what was stored: spot checks of the JSON. */
    size_t len;
    char *js = get(c, 1, GS_VFMT_JSON, &len);
    assert_non_null(strstr(js, "\"username\":\"abcdefgh\\\"ijklmnop\\nq\""));
    assert_non_null(strstr(js, "\"accent_color\":18446744073709551615"));
    assert_non_null(strstr(js, "\"roles\":[\"120\"]"));
    free(js);
    js = get(c, 0, GS_VFMT_JSON, &len);
    assert_non_null(strstr(js, "\"public_flags\":-5"));
    assert_non_null(strstr(js, "\"joined_at\":\"2021-01-02T03:04:05.123456+00:00\""));
    free(js);
    js = get(c, 2, GS_VFMT_JSON, &len);
    assert_non_null(strstr(js, "\"username\":\"caf\xc3\xa9 \\u0001 \xc3\xbf\""));
    free(js);

    /* A deleted role: left out by both paths, in the guild it left only. */
    feed(c, DEL120, &lc);
    feed(n, DEL120, &ln);
    same_gets(c, n);
    for (size_t i = 0; i < NMEMBERS; i++) {
        char *mp = get(c, i, GS_VFMT_MSGPACK, &len);
        int has120 = memmem(mp, len,
                            "\xa3"
                            "120",
                            4) != NULL;
        assert_int_equal(has120, MEMBERS[i].guild == 200);
        free(mp);
    }
    assert_string_equal(gs_tv_roles(c, p, "10", "100"), "130,104");
    assert_string_equal(gs_tv_roles(c, p, "12", "100"), "");

    /* Reopened: nothing cached. The first get reads RocksDB and keeps the
     * member, its user and the deleted roles; the second is served by the
     * cache; both give the same bytes. */
    gs_views_close(c, NULL);
    c = open_views(dc, 0);
    assert_false(user_cached(c, 8));
    assert_false(tombs_loaded(c));
    same_gets(c, n);
    assert_true(user_cached(c, 8));
    assert_true(user_cached(c, 1566421553692905472ull));
    assert_true(tombs_loaded(c));
    same_gets(c, n);

    /* A member added after the reopen (the applier fills the cache) and a
     * member update: both paths still agree. */
    const char *more =
        F("GUILD_MEMBER_ADD", "{\"guild_id\":\"100\",\"user\":{\"id\":\"13\",\"username\":\"n\"},"
                              "\"roles\":[\"120\",\"104\"]}")
            F("GUILD_MEMBER_UPDATE", "{\"guild_id\":\"100\",\"user\":{\"id\":\"8\",\"username\":"
                                     "\"abcdefgh\\\"ijklmnop\\nq\"},\"roles\":[\"130\"]}");
    feed(c, more, &lc);
    feed(n, more, &ln);
    same_gets(c, n);
    /* A write after the delete that names the role gives it back
     * (test_views_roledel, test_role_given_back). */
    assert_string_equal(gs_tv_roles(c, p, "13", "100"), "120,104");
    assert_string_equal(gs_tv_roles(c, p, "8", "100"), "130");

    /* Not found: the same error from the cache path. */
    char *out;
    gs_err err;
    assert_int_equal(gs_views_get(c, GS_VIEW_MEMBER, 99, 100, GS_VFMT_JSON, &out, &len, &err),
                     GS_ENOTFOUND);
    assert_int_equal(gs_views_get(c, GS_VIEW_MEMBER, 7, 0, GS_VFMT_JSON, &out, &len, &err),
                     GS_EMISUSE);
    gs_json_destroy(p);
    gs_views_close(c, NULL);
    gs_views_close(n, NULL);
    gs_tv_rmtree(dc);
    gs_tv_rmtree(dn);
}

/* The other types through the cache path: same bytes as RocksDB. */
static void test_cached_guild_and_user(void **state)
{
    (void)state;
    char dc[256], dn[256];
    gs_tv_tmpdir(dc, sizeof(dc));
    gs_tv_tmpdir(dn, sizeof(dn));
    gs_views *c = open_views(dc, 0), *n = open_views(dn, 1);
    uint64_t lc = 0, ln = 0;
    feed(c, SETUP, &lc);
    feed(n, SETUP, &ln);
    const struct {
        gs_view_type t;
        uint64_t id, guild;
    } keys[] = {{GS_VIEW_GUILD, 100, 0},
                {GS_VIEW_USER, 9, 0},
                {GS_VIEW_ROLE, 104, 100},
                {GS_VIEW_USER, 1566421553692905472ull, 0}};
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            for (int f = 0; f < 2; f++) {
                gs_vfmt fmt = f ? GS_VFMT_JSON : GS_VFMT_MSGPACK;
                char *x, *y;
                size_t lx, ly;
                gs_err err;
                assert_int_equal(
                    gs_views_get(c, keys[i].t, keys[i].id, keys[i].guild, fmt, &x, &lx, &err),
                    GS_OK);
                assert_int_equal(
                    gs_views_get(n, keys[i].t, keys[i].id, keys[i].guild, fmt, &y, &ly, &err),
                    GS_OK);
                assert_int_equal(lx, ly);
                assert_memory_equal(x, y, lx);
                free(x);
                free(y);
            }
        }
        gs_views_close(c, NULL);
        c = open_views(dc, 0); /* then once more, from RocksDB into the cache */
    }
    gs_views_close(c, NULL);
    gs_views_close(n, NULL);
    gs_tv_rmtree(dc);
    gs_tv_rmtree(dn);
}

/* msgpack str of s into b (minimal header, as msgpack-c writes). */
static void pack_str(gs_vbuf *b, const char *s)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, gs_vbuf_mp_write);
    msgpack_pack_str(&pk, strlen(s));
    msgpack_pack_str_body(&pk, s, strlen(s));
}

/* Encode then decode: the exact bytes back, with an exact-size buffer and
 * not with one byte less. Returns the encoded length. */
static size_t roundtrip(const gs_vbuf *in)
{
    uint8_t enc[512], dec[512];
    assert_true(in->len <= sizeof(dec));
    size_t el = gs_cpack_encode((const uint8_t *)in->p, in->len, enc, sizeof(enc));
    assert_true(el > 0);
    assert_int_equal(gs_cpack_decode(enc, el, dec, in->len), in->len);
    assert_memory_equal(dec, in->p, in->len);
    assert_int_equal(gs_cpack_decode(enc, el, dec, in->len - 1), 0);
    return el;
}

static void test_cpack_snowflakes_and_names(void **state)
{
    (void)state;
    /* Every length of snowflake and the 10^k boundaries: ids of 10 digits
     * or more become 10 bytes; the others and non-canonical ones stay. */
    const char *ids[] = {"1000000000",           "9999999999",           "10000000000",
                         "99999999999999999",    "100000000000000000",   "1566421553692905472",
                         "9999999999999999999",  "10000000000000000000", "18446744073709551615",
                         "18446744073709551616", "0123456789012",        "123456789"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        gs_vbuf b = {0};
        pack_str(&b, ids[i]);
        size_t el = roundtrip(&b);
        size_t n = strlen(ids[i]);
        int coded = i < 9;
        assert_int_equal(el, coded ? 10 : 1 + n);
        gs_vbuf_free(&b);
    }
    /* Dictionary strings of every length, alone and packed together, and
     * a map whose last string is a dictionary one (the 32-byte copy must
     * not run past an exact-size buffer). */
    const char *names[] = {"0",
                           "id",
                           "nick",
                           "roles",
                           "avatar",
                           "username",
                           "flags",
                           "public_flags",
                           "display_name_styles",
                           "default_thread_rate_limit_per_user",
                           "communication_disabled_until"};
    gs_vbuf all = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &all, gs_vbuf_mp_write);
    msgpack_pack_array(&pk, sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        gs_vbuf b = {0};
        pack_str(&b, names[i]);
        roundtrip(&b);
        gs_vbuf_free(&b);
        pack_str(&all, names[i]);
    }
    roundtrip(&all);
    gs_vbuf_free(&all);
}

static char *to_json(const gs_vbuf *mp)
{
    gs_vbuf out = {0};
    assert_int_equal(gs_mp_to_json(&out, (const uint8_t *)mp->p, mp->len, 0), GS_OK);
    gs_vbuf_putc(&out, '\0');
    return out.p;
}

static void test_json_strings_and_numbers(void **state)
{
    (void)state;
    /* A '"', '\\' or control byte at every position of a 20-byte string
     * (the scan reads 8 bytes at a time), and bytes >= 0x80 unescaped. */
    const char esc[] = {'"', '\\', '\n', 0x01, 0x1f};
    const char *want[] = {"\\\"", "\\\\", "\\n", "\\u0001", "\\u001f"};
    for (size_t e = 0; e < sizeof(esc); e++) {
        for (size_t pos = 0; pos < 20; pos++) {
            char s[21];
            memset(s, 'a', 20);
            s[20] = '\0';
            s[pos] = esc[e];
            gs_vbuf b = {0};
            msgpack_packer pk;
            msgpack_packer_init(&pk, &b, gs_vbuf_mp_write);
            msgpack_pack_str(&pk, 20);
            msgpack_pack_str_body(&pk, s, 20);
            char *js = to_json(&b);
            char exp[64];
            snprintf(exp, sizeof(exp), "\"%.*s%s%.*s\"", (int)pos, "aaaaaaaaaaaaaaaaaaaa", want[e],
                     (int)(19 - pos), "aaaaaaaaaaaaaaaaaaaa");
            assert_string_equal(js, exp);
            free(js);
            gs_vbuf_free(&b);
        }
    }
    gs_vbuf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, gs_vbuf_mp_write);
    msgpack_pack_array(&pk, 11);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_int64(&pk, -1);
    msgpack_pack_int64(&pk, -128);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_uint64(&pk, 9);
    msgpack_pack_uint64(&pk, 10);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);
    msgpack_pack_nil(&pk);
    msgpack_pack_str(&pk, 10);
    msgpack_pack_str_body(&pk, "\xc3\xa9\xff\x7f\"ab\\cd", 10);
    char *js = to_json(&b);
    assert_string_equal(js, "[-9223372036854775808,-1,-128,0,9,10,18446744073709551615,true,"
                            "false,null,\"\xc3\xa9\xff\x7f\\\"ab\\\\cd\"]");
    free(js);
    /* Truncated: damage, not a crash. */
    gs_vbuf out = {0};
    assert_int_equal(gs_mp_to_json(&out, (const uint8_t *)b.p, b.len - 3, 0), GS_ECORRUPT);
    gs_vbuf_free(&out);
    gs_vbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cached_gets_match_rocksdb),
        cmocka_unit_test(test_cached_guild_and_user),
        cmocka_unit_test(test_cpack_snowflakes_and_names),
        cmocka_unit_test(test_json_strings_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
