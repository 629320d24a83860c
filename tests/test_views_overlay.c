/*
 * test_views_overlay.c - the two in-memory structures of the views: the
 * overlay of pending writes (put/get/delete, undo to a mark, growth with
 * undo entries outstanding, sorted prefix lists), the entity cache
 * (replace, delete, byte budget, oversized values, churn over every size)
 * and the slab its entries live in; the inline key compares both use.
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
#include "keycmp.h"
#include "keyset.h"
#include "mp.h"
#include "overlay.h"
#include "slab.h"

static int getv(gs_ov *ov, int cf, const char *k, char *out, size_t cap)
{
    gs_ov_ent e;
    if (!gs_ov_get(ov, cf, k, strlen(k), &e))
        return 0; /* not in the overlay */
    if (e.deleted)
        return -1;
    snprintf(out, cap, "%.*s", (int)e.vlen, (const char *)e.val);
    return 1;
}

static void put(gs_ov *ov, int cf, const char *k, const char *v)
{
    assert_int_equal(gs_ov_put(ov, cf, k, strlen(k), v, strlen(v)), 0);
}

static void test_overlay_basics(void **state)
{
    (void)state;
    gs_ov *ov = gs_ov_create();
    assert_non_null(ov);
    char buf[64];
    assert_int_equal(getv(ov, 1, "a", buf, sizeof(buf)), 0);
    put(ov, 1, "a", "one");
    put(ov, 2, "a", "other family");
    assert_int_equal(getv(ov, 1, "a", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "one");
    assert_int_equal(getv(ov, 2, "a", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "other family");
    put(ov, 1, "a", "two");
    assert_int_equal(getv(ov, 1, "a", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "two");
    assert_int_equal(gs_ov_del(ov, 1, "a", 1), 0);
    assert_int_equal(getv(ov, 1, "a", buf, sizeof(buf)), -1);
    assert_int_equal(gs_ov_count(ov), 2);
    /* Keys too long, families out of range: refused. */
    char longkey[40];
    memset(longkey, 'k', sizeof(longkey));
    assert_int_equal(gs_ov_put(ov, 1, longkey, sizeof(longkey), "x", 1), -1);
    assert_int_equal(gs_ov_put(ov, 99, "a", 1, "x", 1), -1);
    assert_int_equal(gs_ov_put(ov, -1, "a", 1, "x", 1), -1);
    gs_ov_reset(ov);
    assert_int_equal(getv(ov, 1, "a", buf, sizeof(buf)), 0);
    assert_int_equal(gs_ov_count(ov), 0);
    gs_ov_destroy(ov);
    gs_ov_destroy(NULL);
}

static void test_overlay_rollback(void **state)
{
    (void)state;
    gs_ov *ov = gs_ov_create();
    char buf[64];
    put(ov, 0, "kept", "v1");
    put(ov, 0, "changed", "old");
    size_t mark = gs_ov_mark(ov);
    put(ov, 0, "changed", "new");
    put(ov, 0, "added", "x");
    assert_int_equal(gs_ov_del(ov, 0, "kept", 4), 0);
    /* Enough new keys to grow the table several times while undo entries
     * are outstanding. */
    for (int i = 0; i < 5000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "n%05d", i);
        put(ov, 3, k, k);
    }
    assert_int_equal(gs_ov_count(ov), 5003);
    gs_ov_rollback(ov, mark);
    assert_int_equal(gs_ov_count(ov), 2);
    assert_int_equal(getv(ov, 0, "kept", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "v1");
    assert_int_equal(getv(ov, 0, "changed", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "old");
    assert_int_equal(getv(ov, 0, "added", buf, sizeof(buf)), 0);
    assert_int_equal(getv(ov, 3, "n00042", buf, sizeof(buf)), 0);
    /* A key undone and written again is live again. */
    put(ov, 0, "added", "y");
    assert_int_equal(getv(ov, 0, "added", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "y");
    assert_int_equal(gs_ov_count(ov), 3);
    gs_ov_destroy(ov);
}

static int visited;
static char order[16][8];
static void visit(void *ud, const gs_ov_ent *e)
{
    (void)ud;
    snprintf(order[visited++], 8, "%d%.*s%s", e->cf, (int)e->klen, (const char *)e->key,
             e->deleted ? "-" : "");
}

static void test_overlay_prefix_and_order(void **state)
{
    (void)state;
    gs_ov *ov = gs_ov_create();
    put(ov, 2, "gb2", "x");
    put(ov, 2, "ga1", "x");
    put(ov, 1, "zz", "x");
    put(ov, 2, "gb1", "x");
    put(ov, 2, "h", "x");
    assert_int_equal(gs_ov_del(ov, 2, "gb3", 3), 0);
    size_t mark = gs_ov_mark(ov);
    put(ov, 2, "gb0", "rolled back");
    gs_ov_rollback(ov, mark);
    gs_ov_ent *e;
    size_t n;
    assert_int_equal(gs_ov_prefix(ov, 2, "gb", 2, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(e[0].key, "gb1", 3);
    assert_memory_equal(e[1].key, "gb2", 3);
    assert_memory_equal(e[2].key, "gb3", 3);
    assert_int_equal(e[2].deleted, 1);
    assert_int_equal(gs_ov_prefix(ov, 1, "gb", 2, &e, &n), 0);
    assert_int_equal(n, 0);
    visited = 0;
    assert_int_equal(gs_ov_each(ov, visit, NULL), 0);
    assert_int_equal(visited, 6);
    const char *want[] = {"1zz", "2ga1", "2gb1", "2gb2", "2gb3-", "2h"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(order[i], want[i]);
    gs_ov_destroy(ov);
}

/* Many keys of 1 to 26 bytes that share long prefixes (16 bytes, the sort's
 * words, and beyond), end in zero bytes or are prefixes of each other: the
 * commit's order (gs_ov_each) and a prefix scan's are memcmp's, then the
 * shorter first, each key once. */
struct rawkey {
    uint8_t b[26];
    size_t n;
};

static int rawkey_cmp(const void *x, const void *y)
{
    const struct rawkey *a = x, *b = y;
    int c = memcmp(a->b, b->b, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

#define SORT_KEYS 3000
static struct rawkey sort_seen[SORT_KEYS];
static size_t sort_nseen;

static void visit_raw(void *ud, const gs_ov_ent *e)
{
    (void)ud;
    assert_true(sort_nseen < SORT_KEYS && e->klen <= 26);
    memcpy(sort_seen[sort_nseen].b, e->key, e->klen);
    sort_seen[sort_nseen++].n = e->klen;
}

static void test_overlay_sort_many(void **state)
{
    (void)state;
    static struct rawkey keys[SORT_KEYS];
    uint64_t r = 0x2545f4914f6cdd1dull;
    size_t nk = 0;
    gs_ov *ov = gs_ov_create();
    while (nk < SORT_KEYS) {
        struct rawkey k = {{0}, 0};
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        k.n = 1 + (size_t)(r >> 59) % 26;
        /* Bytes from a small alphabet (0, 1, 0xff) so that prefixes repeat. */
        for (size_t i = 0; i < k.n; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            static const uint8_t alpha[] = {0, 1, 0xff};
            k.b[i] = i < 14 && (r >> 60) < 12 ? 0 : alpha[(r >> 33) % 3];
        }
        int dup = 0;
        for (size_t j = 0; j < nk && !dup; j++)
            dup = keys[j].n == k.n && memcmp(keys[j].b, k.b, k.n) == 0;
        if (dup)
            continue;
        keys[nk++] = k;
        if (nk % 7 == 0)
            assert_int_equal(gs_ov_del(ov, 3, k.b, k.n), 0);
        else
            assert_int_equal(gs_ov_put(ov, 3, k.b, k.n, "v", 1), 0);
    }
    qsort(keys, nk, sizeof(keys[0]), rawkey_cmp);
    sort_nseen = 0;
    assert_int_equal(gs_ov_each(ov, visit_raw, NULL), 0);
    assert_int_equal(sort_nseen, nk);
    for (size_t i = 0; i < nk; i++)
        if (rawkey_cmp(&sort_seen[i], &keys[i]) != 0)
            fail_msg("commit order differs at %zu of %zu", i, nk);
    /* A prefix scan: the keys starting with 0 0 (all of a 16-byte run too). */
    gs_ov_ent *e;
    size_t n, want = 0;
    assert_int_equal(gs_ov_prefix(ov, 3, "\0\0", 2, &e, &n), 0);
    for (size_t i = 0; i < nk; i++)
        if (keys[i].n >= 2 && keys[i].b[0] == 0 && keys[i].b[1] == 0) {
            assert_true(want < n);
            struct rawkey got = {{0}, e[want].klen};
            memcpy(got.b, e[want].key, got.n);
            if (rawkey_cmp(&got, &keys[i]) != 0)
                fail_msg("prefix scan order differs at %zu of %zu", want, n);
            want++;
        }
    assert_int_equal(n, want);
    assert_true(want > 100);
    gs_ov_destroy(ov);
}

/* gs_vcache_get, then compare with want (NULL: a miss expected). */
static void cache_expect(gs_vcache *c, int cf, const char *key, const void *want, size_t wlen)
{
    char *v = NULL;
    size_t vl = 0;
    int rc = gs_vcache_get(c, cf, key, strlen(key), &v, &vl);
    assert_int_equal(gs_vcache_has(c, cf, key, strlen(key)), want != NULL);
    if (!want) {
        assert_int_equal(rc, 0);
        return;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(vl, wlen);
    assert_memory_equal(v, want, wlen);
    free(v);
}

static void test_cache(void **state)
{
    (void)state;
    assert_null(gs_vcache_create(0));
    gs_vcache *c = gs_vcache_create(1u << 20);
    assert_non_null(c);
    cache_expect(c, 1, "k", NULL, 0);
    gs_vcache_put(c, 1, "k", 1, "value", 5);
    cache_expect(c, 1, "k", "value", 5);
    cache_expect(c, 2, "k", NULL, 0);
    gs_vcache_put(c, 1, "k", 1, "v2", 2);
    cache_expect(c, 1, "k", "v2", 2);
    gs_vcache_del(c, 1, "k", 1);
    cache_expect(c, 1, "k", NULL, 0);
    /* Many entries: the budget holds, recent ones are there. */
    char val[1000];
    memset(val, 'x', sizeof(val));
    for (int i = 0; i < 5000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "key%d", i);
        gs_vcache_put(c, 3, k, strlen(k), val, sizeof(val));
        gs_vcache_stats st;
        gs_vcache_stats_get(c, &st);
        assert_true(st.bytes <= st.budget);
    }
    cache_expect(c, 3, "key4999", val, sizeof(val));
    gs_vcache_stats st;
    gs_vcache_stats_get(c, &st);
    assert_true(st.entries > 100 && st.entries < 5000);
    /* Too large for the cache: not kept, and an older value goes. */
    gs_vcache_put(c, 3, "big", 3, "small", 5);
    char *huge = calloc(1, 200000);
    gs_vcache_put(c, 3, "big", 3, huge, 200000);
    free(huge);
    cache_expect(c, 3, "big", NULL, 0);
    gs_vcache_clear(c);
    gs_vcache_stats_get(c, &st);
    assert_int_equal(st.entries, 0);
    cache_expect(c, 3, "key4999", NULL, 0);
    gs_vcache_destroy(c);
    gs_vcache_destroy(NULL);
}

/* Slots: sizes, reuse, alignment, no overlap, the cap, a chunk unmapped
 * with its last slot, release. */
static void test_slab(void **state)
{
    (void)state;
    assert_int_equal(gs_slab_slot_size(0), 0);
    assert_int_equal(gs_slab_slot_size(1), 16);
    assert_int_equal(gs_slab_slot_size(16), 16);
    assert_int_equal(gs_slab_slot_size(17), 32);
    assert_int_equal(gs_slab_slot_size(1024), 1024);
    assert_int_equal(gs_slab_slot_size(1025), 1152);
    assert_int_equal(gs_slab_slot_size(2048), 2048);
    assert_int_equal(gs_slab_slot_size(2049), 2304);
    assert_int_equal(gs_slab_slot_size(GS_SLAB_MAX), GS_SLAB_MAX);
    assert_int_equal(gs_slab_slot_size(GS_SLAB_MAX + 1), 0);
    for (size_t n = 1; n <= GS_SLAB_MAX; n++) { /* never short, at most 1/8 over */
        size_t z = gs_slab_slot_size(n);
        assert_true(z >= n && (z - n < 16 || z - n <= n / 8));
    }

    gs_slab *none = gs_slab_create(GS_SLAB_CHUNK - 1); /* below one chunk */
    assert_non_null(none);
    assert_null(gs_slab_alloc(none, 8, 1));
    gs_slab_destroy(none);

    gs_slab *s = gs_slab_create(2 * GS_SLAB_CHUNK);
    assert_non_null(s);
    assert_null(gs_slab_alloc(s, GS_SLAB_MAX + 1, 1));
    assert_null(gs_slab_alloc(s, 0, 1));
    assert_null(gs_slab_alloc(s, 60, 0)); /* no chunk yet, none allowed */
    assert_false(gs_slab_ready(s, 60));
    /* Two chunks of 64-byte slots, each slot filled with its own byte. */
    uint8_t **p = calloc(4096, sizeof(*p));
    assert_non_null(p);
    size_t n = 0;
    while ((p[n] = gs_slab_alloc(s, 60, 1)) != NULL) {
        assert_int_equal((uintptr_t)p[n] % 16, 0);
        memset(p[n], (int)(n & 0xff), 60);
        n++;
        assert_true(n < 4096);
    }
    assert_true(n > 2000 && n < 2048); /* headers take a little */
    assert_int_equal(gs_slab_mapped(s), 2 * GS_SLAB_CHUNK);
    assert_null(gs_slab_alloc(s, 16, 1)); /* the cap holds for any class */
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < 60; b++)
            assert_int_equal(p[i][b], (uint8_t)(i & 0xff));
    /* A freed slot is given again, to its own class only. */
    gs_slab_free(s, p[7]);
    assert_true(gs_slab_ready(s, 50));
    assert_false(gs_slab_ready(s, 100));
    assert_null(gs_slab_alloc(s, 100, 1));
    assert_ptr_equal(gs_slab_alloc(s, 49, 0), p[7]);
    /* Every slot of the first chunk back: it stays mapped as the spare,
     * which the next class to need a chunk gets without mapping one. */
    size_t first = 0;
    uintptr_t c0 = (uintptr_t)p[0] & ~(uintptr_t)(GS_SLAB_CHUNK - 1);
    for (size_t i = 0; i < n; i++)
        if (((uintptr_t)p[i] & ~(uintptr_t)(GS_SLAB_CHUNK - 1)) == c0) {
            gs_slab_free(s, p[i]);
            p[i] = NULL;
            first++;
        }
    assert_true(first > 1000);
    assert_int_equal(gs_slab_mapped(s), 2 * GS_SLAB_CHUNK);
    assert_true(gs_slab_ready(s, 5000));
    uint8_t *q = gs_slab_alloc(s, 5000, 0);
    assert_non_null(q);
    assert_int_equal((uintptr_t)q & ~(uintptr_t)(GS_SLAB_CHUNK - 1), c0);
    memset(q, 1, 5000);
    for (size_t i = 0; i < n; i++) /* the other chunk is intact */
        if (p[i])
            for (size_t b = 0; b < 60; b++)
                assert_int_equal(p[i][b], (uint8_t)(i & 0xff));
    /* The 60-byte chunk emptied: the new spare. Then the 5000-byte one
     * empties with a spare already kept: unmapped. */
    for (size_t i = 0; i < n; i++)
        if (p[i])
            gs_slab_free(s, p[i]);
    assert_int_equal(gs_slab_mapped(s), 2 * GS_SLAB_CHUNK);
    gs_slab_free(s, q);
    assert_int_equal(gs_slab_mapped(s), GS_SLAB_CHUNK);
    gs_slab_release_all(s);
    assert_int_equal(gs_slab_mapped(s), 0);
    assert_false(gs_slab_ready(s, 1000));
    q = gs_slab_alloc(s, 1000, 1);
    assert_non_null(q);
    memset(q, 1, 1000);
    assert_int_equal(gs_slab_mapped(s), GS_SLAB_CHUNK);
    gs_slab_destroy(s);
    gs_slab_destroy(NULL);
    free(p);
}

/* Values of every size from 1 to 1600 bytes (both kinds of size class),
 * put, replaced and deleted at random in a small cache: whatever is still
 * cached is the last value put, and the budget always holds. */
static void test_cache_churn(void **state)
{
    (void)state;
    enum { KEYS = 3000, ROUNDS = 60000, VMAX = 1600 };
    gs_vcache *c = gs_vcache_create(1u << 20);
    assert_non_null(c);
    uint16_t *len = calloc(KEYS, sizeof(*len)); /* 0: deleted or never put */
    uint8_t *gen = calloc(KEYS, 1);
    uint8_t val[VMAX];
    assert_non_null(len);
    assert_non_null(gen);
    uint64_t x = 88172645463325252ull;
    for (int r = 0; r < ROUNDS; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned k = (unsigned)(x % KEYS);
        char key[16];
        int klen = snprintf(key, sizeof(key), "k%u", k);
        if ((x >> 32) % 8 == 0) {
            gs_vcache_del(c, 5, key, (size_t)klen);
            len[k] = 0;
        } else {
            len[k] = (uint16_t)(1 + (x >> 40) % VMAX);
            gen[k]++;
            memset(val, gen[k], len[k]);
            gs_vcache_put(c, 5, key, (size_t)klen, val, len[k]);
        }
        gs_vcache_stats st;
        gs_vcache_stats_get(c, &st);
        assert_true(st.bytes <= st.budget);
        assert_true(st.resident <= st.budget);
    }
    size_t present = 0;
    for (unsigned k = 0; k < KEYS; k++) {
        char key[16];
        int klen = snprintf(key, sizeof(key), "k%u", k);
        gs_vcache_hit h;
        if (!gs_vcache_find(c, 5, key, (size_t)klen, &h))
            continue;
        assert_int_not_equal(len[k], 0); /* a deleted key never comes back */
        assert_int_equal(h.len, len[k]);
        uint8_t *out = malloc(h.len);
        assert_non_null(out);
        assert_int_equal(gs_vcache_copy(&h, out), 0);
        for (size_t i = 0; i < h.len; i++)
            assert_int_equal(out[i], gen[k]);
        free(out);
        present++;
    }
    assert_true(present > 100);
    /* What the entries take (chunks with their free slots, malloc'd
     * entries) stays within the budget too. */
    gs_vcache_stats rs;
    gs_vcache_stats_get(c, &rs);
    assert_true(rs.resident <= rs.budget);
    assert_true(rs.bytes <= rs.resident);
    gs_vcache_clear(c);
    gs_vcache_stats st;
    gs_vcache_stats_get(c, &st);
    assert_int_equal(st.entries, 0);
    /* Usable again after a clear gave the slabs back. */
    memset(val, 9, 300);
    gs_vcache_put(c, 5, "again", 5, val, 300);
    cache_expect(c, 5, "again", val, 300);
    gs_vcache_destroy(c);
    free(len);
    free(gen);
}

/* Every value changes size class at once (100 -> 1500 bytes): the
 * chunks of the old size empty out as CLOCK evicts their entries and are
 * unmapped, so the new size gets the memory; the budget holds throughout. */
static void test_cache_size_shift(void **state)
{
    (void)state;
    gs_vcache *c = gs_vcache_create(1u << 20);
    assert_non_null(c);
    uint8_t val[1500];
    memset(val, 3, sizeof(val));
    char key[16];
    for (int round = 0; round < 2; round++) {
        size_t len = round ? 1500 : 100;
        for (int i = 0; i < 40000; i++) {
            int klen = snprintf(key, sizeof(key), "%c%d", round ? 'b' : 'a', i);
            gs_vcache_put(c, 6, key, (size_t)klen, val, len);
            gs_vcache_stats st;
            gs_vcache_stats_get(c, &st);
            assert_true(st.resident <= st.budget);
        }
    }
    size_t cached = 0;
    for (int i = 0; i < 40000; i++) {
        int klen = snprintf(key, sizeof(key), "b%d", i);
        gs_vcache_hit h;
        cached += gs_vcache_find(c, 6, key, (size_t)klen, &h);
    }
    /* 1 MiB holds about 650 of them (1.6 KB with overhead). */
    assert_true(cached > 400);
    gs_vcache_destroy(c);
}

/* The user map answers exactly within its memory bound and gives up
 * (unknown for every user) past it; a clear keeps the bound. */
static void test_user_map_bound(void **state)
{
    (void)state;
    gs_vum *m = gs_vum_create(256u << 10); /* 16 384 slots: 12 288 users */
    assert_non_null(m);
    uint64_t g;
    for (int round = 0; round < 2; round++) {
        for (uint64_t u = 1; u <= 12000; u++)
            gs_vum_put(m, u, 1000 + u % 7);
        gs_vum_put(m, 5, 999); /* a second guild: several */
        assert_true(gs_vum_bytes(m) <= 256u << 10);
        assert_int_equal(gs_vum_get(m, 4, &g), 1);
        assert_int_equal(g, 1000 + 4 % 7);
        assert_int_equal(gs_vum_get(m, 5, &g), -1);
        assert_int_equal(gs_vum_get(m, 20000, &g), 0); /* in none */
        for (uint64_t u = 12001; u <= 13000; u++)      /* past the bound */
            gs_vum_put(m, u, 1);
        assert_int_equal(gs_vum_get(m, 4, &g), -1);
        assert_int_equal(gs_vum_get(m, 20000, &g), -1);
        assert_int_equal(gs_vum_bytes(m), 0);
        gs_vum_clear(m); /* known again, same bound */
        assert_int_equal(gs_vum_get(m, 4, &g), 0);
    }
    gs_vum_destroy(m);
    gs_vum *none = gs_vum_create(1000); /* below one table: never kept */
    gs_vum_put(none, 1, 2);
    assert_int_equal(gs_vum_get(none, 1, &g), -1);
    gs_vum_destroy(none);
}

/* A clear gives back what the entries had grown, the bucket array
 * included (a rebuild then starts from nothing), and the cache fills and
 * answers again after it. */
static void test_cache_clear_gives_back(void **state)
{
    (void)state;
    gs_vcache *c = gs_vcache_create(8u << 20);
    assert_non_null(c);
    gs_vcache_stats st0, st;
    gs_vcache_stats_get(c, &st0);
    uint8_t val[40];
    for (int round = 0; round < 2; round++) {
        for (uint32_t k = 0; k < 60000; k++) {
            memset(val, (int)(k + (uint32_t)round), sizeof(val));
            gs_vcache_put(c, 4, &k, sizeof(k), val, sizeof(val));
        }
        gs_vcache_stats_get(c, &st);
        assert_true(st.entries > 50000);
        /* 60 000 entries: at least 64 Ki buckets of 8 bytes beside them. */
        assert_true(st.resident > st0.resident + (512u << 10));
        uint32_t k = 12345;
        char *out;
        size_t outlen;
        assert_int_equal(gs_vcache_get(c, 4, &k, sizeof(k), &out, &outlen), 1);
        assert_int_equal(outlen, sizeof(val));
        assert_int_equal((uint8_t)out[0], (uint8_t)(k + (uint32_t)round));
        free(out);
        gs_vcache_clear(c);
        gs_vcache_stats_get(c, &st);
        assert_int_equal(st.entries, 0);
        assert_int_equal(st.resident, st0.resident);
        assert_int_equal(st.bytes, st0.bytes);
        assert_int_equal(gs_vcache_get(c, 4, &k, sizeof(k), &out, &outlen), 0);
    }
    gs_vcache_destroy(c);
}

/* Encode p[0..n) and check that decoding gives it back exactly (or that it
 * was refused); returns the encoded length (0 = refused). */
static size_t cpack_roundtrip(const void *p, size_t n)
{
    uint8_t *enc = malloc(n + 1), *dec = malloc(n + 1);
    assert_non_null(enc);
    assert_non_null(dec);
    size_t e = gs_cpack_encode(p, n, enc, n);
    if (e) {
        assert_true(e <= n);
        assert_int_equal(gs_cpack_decode(enc, e, dec, n), n);
        assert_memory_equal(dec, p, n);
        /* A buffer one byte short is refused, never overrun. */
        assert_int_equal(gs_cpack_decode(enc, e, dec, n - 1), 0);
        /* A truncated stream is refused. */
        if (e > 1)
            assert_int_equal(gs_cpack_decode(enc, e - 1, dec, n), 0);
        /* Into a buffer of exactly its size (heap, so that the sanitizers
         * see any write past it) the encoding is the same; a byte less is
         * refused. */
        uint8_t *tight = malloc(e);
        assert_non_null(tight);
        assert_int_equal(gs_cpack_encode(p, n, tight, e), e);
        assert_memory_equal(tight, enc, e);
        assert_int_equal(gs_cpack_encode(p, n, tight, e - 1), 0);
        free(tight);
    }
    free(enc);
    free(dec);
    return e;
}

/* Values built into a gs_vbuf write their strings in one step
 * (mp_build.c, pack_str): the bytes must be msgpack-c's own, for strings of
 * every header size (fixstr, str8, str16, str32) as values and as keys, and
 * for ids, so that stored values and their comparisons do not change. */
static void test_pack_str_as_msgpack_c(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
    gs_json *js;
    gs_err err;
    assert_int_equal(gs_json_create(1u << 20, 64, &js, &err), GS_OK);
    size_t cap = 2 * 70000 + 64;
    char *doc = malloc(cap);
    assert_non_null(doc);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i], o = 0;
        /* {"<n x k>":"<n x v>","id":"1503495375884402688"} */
        doc[o++] = '{';
        doc[o++] = '"';
        memset(doc + o, 'k', n);
        o += n;
        memcpy(doc + o, "\":\"", 3);
        o += 3;
        memset(doc + o, 'v', n);
        o += n;
        static const char tail[] = "\",\"id\":\"1503495375884402688\"}";
        memcpy(doc + o, tail, sizeof(tail) - 1);
        o += sizeof(tail) - 1;
        gs_jval root;
        assert_int_equal(gs_json_parse(js, doc, o, cap, &root, &err), GS_OK);
        gs_vbuf fast = {0};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &fast, gs_vbuf_mp_write);
        assert_int_equal(gs_mp_pack_json(&pk, root), 0);
        assert_int_equal(gs_mp_pack_idstr(&pk, 1503495375884402688ull), 0);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        assert_int_equal(gs_mp_pack_json(&pk, root), 0);
        assert_int_equal(gs_mp_pack_idstr(&pk, 1503495375884402688ull), 0);
        assert_int_equal(fast.len, sb.size);
        assert_memory_equal(fast.p, sb.data, sb.size);
        /* The header msgpack-c chose is the shortest. */
        size_t at = 1; /* after the fixmap */
        uint8_t h = (uint8_t)fast.p[at];
        assert_int_equal(h, n < 32 ? 0xa0 | n : n < 256 ? 0xd9 : n < 65536 ? 0xda : 0xdb);
        /* The same key through a map builder: its offset names its bytes. */
        gs_mpb b;
        gs_mpb_init(&b);
        assert_int_equal(gs_mpb_json_members(&b, root, NULL), GS_OK);
        assert_int_equal(gs_mpb_has(&b, doc + 2, n), 1);
        assert_int_equal(gs_mpb_has(&b, "id", 2), 1);
        assert_int_equal(gs_mpb_has(&b, "nope", 4), 0);
        gs_vbuf out = {0};
        assert_int_equal(gs_mpb_finish(&b, &out), GS_OK);
        assert_int_equal(out.len + 0, fast.len - 20); /* without the trailing id string */
        assert_memory_equal(out.p, fast.p, out.len);
        gs_vbuf_free(&out);
        gs_mpb_free(&b);
        msgpack_sbuffer_destroy(&sb);
        gs_vbuf_free(&fast);
    }
    free(doc);
    gs_json_destroy(js);
}

/* text parsed by js (through buf, which the document lives in). */
static gs_jval parse_text(gs_json *js, const char *text, char *buf, size_t cap)
{
    size_t n = strlen(text);
    assert_true(n < cap);
    memcpy(buf, text, n);
    gs_jval root;
    gs_err err;
    assert_int_equal(gs_json_parse(js, buf, n, cap, &root, &err), GS_OK);
    return root;
}

/* text as msgpack, as a stored value is (out must be freed). */
static void pack_text(gs_json *js, const char *text, gs_vbuf *out)
{
    char buf[256];
    gs_jval root = parse_text(js, text, buf, sizeof(buf));
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, gs_vbuf_mp_write);
    assert_int_equal(gs_mp_pack_json(&pk, root), 0);
}

/* A merge (gs_mpb_old_members) keeps every new member and adds the old
 * ones the new value lacks, once each, whatever order the old value lists
 * them in (its key checks start after the key found last). */
static void test_merge_old_members(void **state)
{
    (void)state;
    gs_json *js;
    assert_int_equal(gs_json_create(1u << 20, 64, &js, NULL), GS_OK);
    static const char neu[] = "{\"c\":1,\"a\":2,\"bb\":3,\"d\":4}";
    static const char *const olds[] = {
        "{\"a\":9,\"bb\":9,\"c\":9,\"d\":9,\"e\":5}", /* other order, one more */
        "{\"c\":9,\"a\":9,\"bb\":9,\"d\":9,\"e\":5}", /* same order */
        "{\"e\":5,\"d\":9,\"bb\":9,\"a\":9,\"c\":9}", /* reversed */
        "{\"d\":9,\"e\":5,\"c\":9,\"x\":6,\"a\":9}",  /* interleaved, two more */
    };
    static const char *const want[] = {
        "{\"c\":1,\"a\":2,\"bb\":3,\"d\":4,\"e\":5}",
        "{\"c\":1,\"a\":2,\"bb\":3,\"d\":4,\"e\":5}",
        "{\"c\":1,\"a\":2,\"bb\":3,\"d\":4,\"e\":5}",
        "{\"c\":1,\"a\":2,\"bb\":3,\"d\":4,\"e\":5,\"x\":6}",
    };
    for (size_t i = 0; i < sizeof(olds) / sizeof(olds[0]); i++) {
        gs_vbuf old = {0}, got = {0}, exp = {0};
        pack_text(js, olds[i], &old);
        /* The new value, then the old one's members merged in. */
        char buf[256];
        gs_mpb b;
        gs_mpb_init(&b);
        assert_int_equal(gs_mpb_json_members(&b, parse_text(js, neu, buf, sizeof(buf)), NULL),
                         GS_OK);
        assert_int_equal(gs_mpb_old_members(&b, (const uint8_t *)old.p, old.len, NULL), GS_OK);
        assert_int_equal(gs_mpb_finish(&b, &got), GS_OK);
        /* Compared with the msgpack of the expected JSON. */
        pack_text(js, want[i], &exp);
        if (got.len != exp.len || memcmp(got.p, exp.p, exp.len) != 0)
            fail_msg("merge %zu differs from %s", i, want[i]);
        /* A stored value cut short, or not a map, is refused, not merged. */
        gs_mpb_reset(&b);
        assert_int_equal(gs_mpb_old_members(&b, (const uint8_t *)old.p, old.len - 1, NULL),
                         GS_ECORRUPT);
        gs_mpb_reset(&b);
        assert_int_equal(gs_mpb_old_members(&b, (const uint8_t *)old.p + 1, 1, NULL), GS_ECORRUPT);
        gs_vbuf_free(&got);
        gs_vbuf_free(&exp);
        gs_vbuf_free(&old);
        gs_mpb_free(&b);
    }
    gs_json_destroy(js);
}

static void test_cpack(void **state)
{
    (void)state;
    /* Every kind of string the codec replaces, and near misses it must not. */
    gs_json *js;
    gs_err err;
    assert_int_equal(gs_json_create(1u << 20, 64, &js, &err), GS_OK);
    static const char *const docs[] = {
        "{\"id\":\"1566421553692905472\",\"username\":\"x\",\"avatar\":"
        "\"7745fa88451305da348ec18c03458ed8\",\"joined_at\":\"2026-11-01T12:00:01.105000+00:00\","
        "\"discriminator\":\"0\",\"roles\":[\"1503495375884402688\",\"18446744073709551615\"],"
        "\"n\":[1,-1,300,-300,70000,-70000,5000000000,-5000000000,1.5,true,false,null]}",
        "{\"a\":\"0123456789012\",\"b\":\"18446744073709551616\",\"c\":\"99999999999999999999\","
        "\"d\":\"7745FA88451305DA348EC18C03458ED8\",\"e\":\"2026-11-01T12:00:01.105000+01:00\","
        "\"f\":\"2026-11-01 12:00:01.105000+00:00\",\"g\":\"\",\"h\":\"123456789\","
        "\"i\":\"0000-00-00T00:00:00.000000+00:00\",\"j\":\"9999-99-99T99:99:99.999999+00:00\","
        "\"k\":{\"name\":{\"type\":[[],{},[{}]]}},\"l\":\"1234567890\",\"m\":\"-1234567890\"}",
        "[\"online\",\"dnd\",\"idle\",\"offline\",\"en-US\",\"0\",\"00\"]",
        "\"just a string that is long enough to be thirty-two+ bytes\"",
        "42",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        gs_jval root;
        size_t n = strlen(docs[i]);
        assert_int_equal(gs_json_parse(js, docs[i], n, n, &root, &err), GS_OK);
        gs_vbuf b = {0};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, gs_vbuf_mp_write);
        assert_int_equal(gs_mp_pack_json(&pk, root), 0);
        size_t e = cpack_roundtrip(b.p, b.len);
        if (i == 0)
            assert_true(e > 0 && e * 3 < b.len * 2); /* it does shrink */
        gs_vbuf_free(&b);
    }
    gs_json_destroy(js);
    /* Not msgpack, truncated, or using the reserved byte: refused. */
    static const uint8_t bad[][4] = {{0xc1}, {0x92, 0x01}, {0xa5, 'a'}, {0xdc, 0x00}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cpack_roundtrip(bad[i], i == 0 ? 1 : 2), 0);
    /* Two values where one is expected: refused. */
    assert_int_equal(cpack_roundtrip("\x01\x02", 2), 0);
    /* Non-minimal string headers are kept as they are. */
    static const uint8_t str8[] = {0xd9, 0x02, 'i', 'd'};
    uint8_t enc[8], dec[8];
    size_t e = gs_cpack_encode(str8, sizeof(str8), enc, sizeof(enc));
    assert_int_equal(e, sizeof(str8));
    assert_int_equal(gs_cpack_decode(enc, e, dec, sizeof(dec)), sizeof(str8));
    assert_memory_equal(dec, str8, sizeof(str8));
    /* Random bytes never crash either side. */
    uint64_t x = 88172645463325252ull;
    uint8_t buf[64], out[256];
    for (int round = 0; round < 200000; round++) {
        size_t n = 1 + round % 63;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[k] = (uint8_t)x;
        }
        size_t en = gs_cpack_encode(buf, n, out, sizeof(out));
        if (en) {
            uint8_t back[64];
            assert_int_equal(gs_cpack_decode(out, en, back, sizeof(back)), n);
            assert_memory_equal(back, buf, n);
        }
        gs_cpack_decode(buf, n, out, sizeof(out));
    }
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

/* gs_key_cmp orders as memcmp then length, gs_key_eq agrees with it, over
 * keys of every length the views use and below, equal up to any byte. */
static void test_key_compare(void **state)
{
    (void)state;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    uint8_t a[32], b[32];
    for (int round = 0; round < 20000; round++) {
        size_t an = (size_t)(round % 27), bn = (size_t)((round / 27) % 27);
        for (size_t i = 0; i < sizeof(a); i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            a[i] = (uint8_t)(r >> 56);
            b[i] = a[i];
        }
        /* b: a's bytes up to at, then others (a little-endian word compare
         * would be decided by the last differing byte, not the first). */
        size_t at = (size_t)(r >> 8) % 27;
        for (size_t i = at; round % 3 && i < sizeof(b); i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            b[i] = (uint8_t)(r >> 56);
        }
        size_t n = an < bn ? an : bn;
        int want = sign(memcmp(a, b, n));
        if (!want)
            want = (an > bn) - (an < bn);
        assert_int_equal(sign(gs_key_cmp(a, an, b, bn)), want);
        assert_int_equal(sign(gs_key_cmp(b, bn, a, an)), -want);
        if (an == bn)
            assert_int_equal(gs_key_eq(a, b, an), want == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlay_basics),
        cmocka_unit_test(test_overlay_rollback),
        cmocka_unit_test(test_overlay_prefix_and_order),
        cmocka_unit_test(test_overlay_sort_many),
        cmocka_unit_test(test_key_compare),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_slab),
        cmocka_unit_test(test_cache_churn),
        cmocka_unit_test(test_cache_size_shift),
        cmocka_unit_test(test_user_map_bound),
        cmocka_unit_test(test_cache_clear_gives_back),
        cmocka_unit_test(test_pack_str_as_msgpack_c),
        cmocka_unit_test(test_merge_old_members),
        cmocka_unit_test(test_cpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
