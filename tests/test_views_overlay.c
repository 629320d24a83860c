/*
 * test_views_overlay.c - the two in-memory structures of the views: the
 * overlay of pending writes (put/get/delete, undo to a mark, growth with
 * undo entries outstanding, sorted prefix lists) and the entity cache
 * (replace, delete, byte budget, oversized values).
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
#include "overlay.h"

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

static void test_cache(void **state)
{
    (void)state;
    assert_null(gs_vcache_create(0));
    gs_vcache *c = gs_vcache_create(1u << 20);
    assert_non_null(c);
    const uint8_t *v;
    size_t vl;
    assert_int_equal(gs_vcache_peek(c, 1, "k", 1, &v, &vl), 0);
    gs_vcache_put(c, 1, "k", 1, "value", 5);
    assert_int_equal(gs_vcache_peek(c, 1, "k", 1, &v, &vl), 1);
    assert_int_equal(vl, 5);
    assert_memory_equal(v, "value", 5);
    assert_int_equal(gs_vcache_peek(c, 2, "k", 1, &v, &vl), 0);
    gs_vcache_put(c, 1, "k", 1, "v2", 2);
    assert_int_equal(gs_vcache_peek(c, 1, "k", 1, &v, &vl), 1);
    assert_memory_equal(v, "v2", 2);
    gs_vcache_del(c, 1, "k", 1);
    assert_int_equal(gs_vcache_peek(c, 1, "k", 1, &v, &vl), 0);
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
    assert_int_equal(gs_vcache_peek(c, 3, "key4999", 7, &v, &vl), 1);
    gs_vcache_stats st;
    gs_vcache_stats_get(c, &st);
    assert_true(st.entries > 100 && st.entries < 5000);
    /* Too large for the cache: not kept, and an older value goes. */
    gs_vcache_put(c, 3, "big", 3, "small", 5);
    char *huge = calloc(1, 200000);
    gs_vcache_put(c, 3, "big", 3, huge, 200000);
    free(huge);
    assert_int_equal(gs_vcache_peek(c, 3, "big", 3, &v, &vl), 0);
    gs_vcache_clear(c);
    gs_vcache_stats_get(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(gs_vcache_peek(c, 3, "key4999", 7, &v, &vl), 0);
    gs_vcache_destroy(c);
    gs_vcache_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlay_basics),
        cmocka_unit_test(test_overlay_rollback),
        cmocka_unit_test(test_overlay_prefix_and_order),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
