/*
 * cache.c - bounded entity cache (see cache.h): chained hash table, one
 * allocation per entry, CLOCK eviction by bytes.
 */
#include "gs_common.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "cache.h"

#define KEY_MAX 24
/* Bytes charged per entry beyond key and value: the struct and malloc's
 * own header, so that the budget tracks resident memory. */
#define ENTRY_OVERHEAD (sizeof(struct entry) + 16)

struct entry {
    struct entry *next;
    uint64_t hash;
    uint32_t vlen;
    uint8_t cf;
    uint8_t klen;
    atomic_uchar ref; /* CLOCK bit, set by lookups under the read lock */
    uint8_t key[KEY_MAX];
    uint8_t val[];
};

struct gs_vcache {
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t entries;
    size_t bytes;
    size_t budget;
    size_t hand; /* CLOCK position (a bucket) */
};

gs_vcache *gs_vcache_create(size_t budget_bytes)
{
    if (!budget_bytes)
        return NULL;
    gs_vcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = 4096;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->budget = budget_bytes;
    c->bytes = c->nbuckets * sizeof(*c->buckets);
    return c;
}

void gs_vcache_clear(gs_vcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e) {
            struct entry *n = e->next;
            free(e);
            e = n;
        }
        c->buckets[i] = NULL;
    }
    c->entries = 0;
    c->bytes = c->nbuckets * sizeof(*c->buckets);
}

void gs_vcache_destroy(gs_vcache *c)
{
    if (!c)
        return;
    gs_vcache_clear(c);
    free(c->buckets);
    free(c);
}

static uint64_t hash_of(int cf, const void *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, (uint64_t)cf + 1);
}

static size_t charge(const struct entry *e)
{
    return ENTRY_OVERHEAD + e->vlen;
}

static struct entry **slot_of(gs_vcache *c, int cf, const void *key, size_t klen, uint64_t h)
{
    struct entry **p = &c->buckets[h & (c->nbuckets - 1)];
    for (; *p; p = &(*p)->next) {
        const struct entry *e = *p;
        if (e->hash == h && e->cf == cf && e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
    }
    return p;
}

int gs_vcache_peek(gs_vcache *c, int cf, const void *key, size_t klen, const uint8_t **val,
                   size_t *vlen)
{
    if (!c || klen > KEY_MAX)
        return 0;
    uint64_t h = hash_of(cf, key, klen);
    struct entry *e = *slot_of(c, cf, key, klen, h);
    if (!e)
        return 0;
    atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
    *val = e->val;
    *vlen = e->vlen;
    return 1;
}

static void unlink_entry(gs_vcache *c, struct entry **p)
{
    struct entry *e = *p;
    *p = e->next;
    c->bytes -= charge(e);
    c->entries--;
    free(e);
}

void gs_vcache_del(gs_vcache *c, int cf, const void *key, size_t klen)
{
    if (!c || klen > KEY_MAX)
        return;
    struct entry **p = slot_of(c, cf, key, klen, hash_of(cf, key, klen));
    if (*p)
        unlink_entry(c, p);
}

/* Evict with CLOCK until need more bytes fit. */
static void make_room(gs_vcache *c, size_t need)
{
    size_t sweeps = 0;
    while (c->bytes + need > c->budget && c->entries && sweeps < 4 * c->nbuckets) {
        struct entry **p = &c->buckets[c->hand];
        while (*p && c->bytes + need > c->budget) {
            if (atomic_load_explicit(&(*p)->ref, memory_order_relaxed)) {
                atomic_store_explicit(&(*p)->ref, 0, memory_order_relaxed);
                p = &(*p)->next;
            } else {
                unlink_entry(c, p);
            }
        }
        c->hand = (c->hand + 1) & (c->nbuckets - 1);
        sweeps++;
    }
}

static void grow(gs_vcache *c)
{
    size_t n = c->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* keep the longer chains */
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e) {
            struct entry *next = e->next;
            size_t j = e->hash & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    c->bytes += (n - c->nbuckets) * sizeof(*b);
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    c->hand = 0;
}

void gs_vcache_put(gs_vcache *c, int cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!c || klen > KEY_MAX)
        return;
    uint64_t h = hash_of(cf, key, klen);
    struct entry **p = slot_of(c, cf, key, klen, h);
    if (*p)
        unlink_entry(c, p);
    size_t need = ENTRY_OVERHEAD + vlen;
    if (vlen > UINT32_MAX || need > c->budget / 8)
        return;
    make_room(c, need);
    if (c->bytes + need > c->budget)
        return;
    struct entry *e = malloc(sizeof(*e) + vlen);
    if (!e)
        return;
    e->hash = h;
    e->vlen = (uint32_t)vlen;
    e->cf = (uint8_t)cf;
    e->klen = (uint8_t)klen;
    atomic_init(&e->ref, 0);
    memcpy(e->key, key, klen);
    memcpy(e->val, val, vlen);
    struct entry **b = &c->buckets[h & (c->nbuckets - 1)];
    e->next = *b;
    *b = e;
    c->entries++;
    c->bytes += need;
    if (c->entries > c->nbuckets && c->bytes + c->nbuckets * sizeof(*b) <= c->budget)
        grow(c);
}

void gs_vcache_stats_get(const gs_vcache *c, gs_vcache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    out->entries = c->entries;
    out->bytes = c->bytes;
    out->budget = c->budget;
}
