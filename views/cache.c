/*
 * cache.c - bounded entity cache (see cache.h): chained hash table, one
 * allocation per entry, CLOCK eviction by bytes. Values are kept in the
 * compact form of cpack.h (about 40 % of the msgpack for members and
 * users), so the same budget holds about twice the entities.
 */
#include "gs_common.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "cache.h"
#include "cpack.h"
#include "keycmp.h"
#include "keyset.h"
#include "slab.h"

#define KEY_MAX 24
/* Buckets of a new or cleared cache; the array doubles with the entries. */
#define BUCKETS_MIN 4096
/* Bytes charged per entry beyond key and value: the struct and malloc's
 * own header, so that the budget tracks resident memory (a slab slot is
 * charged its own size, which is never more). */
#define ENTRY_OVERHEAD (sizeof(struct entry) + 16)

enum { F_PACKED = 1, F_SLAB = 2 };

struct entry {
    struct entry *next;
    uint32_t hash;
    uint32_t vlen; /* bytes kept (encoded or raw) */
    uint32_t dlen; /* bytes of the value itself */
    uint8_t cf;
    uint8_t klen;
    uint8_t flags;    /* F_PACKED: data holds gs_cpack_encode's form;
                         F_SLAB: the entry is a slab slot, else malloc'd */
    atomic_uchar ref; /* CLOCK bit, set by lookups under the read lock */
    uint8_t data[];   /* key, then value */
};

struct gs_vcache {
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t entries;
    size_t bytes;
    size_t budget;
    size_t hand;      /* CLOCK position (a bucket) */
    uint8_t *scratch; /* encoding buffer (changes hold the write lock) */
    size_t scratch_cap;
    gs_vtombs tombs; /* committed deleted roles (tomb.c) */
    int tombs_loaded;
    /* Completeness (cache.h, gs_vcache_absent): every committed entity key
     * is cached or in the bloom of keys left out (evicted, too large). */
    int complete, decided;
    gs_slab *slab;   /* where entries live (NULL: malloc only) */
    gs_vks *keysets; /* guild-scoped id sets (keyset.h) */
    gs_vum *usermap; /* the one guild of each user (keyset.h) */
    uint8_t *bloom;
    size_t bloom_mask; /* bits - 1 */
    size_t sets_bytes; /* gs_vcache_publish_sets */
    size_t heap_bytes; /* charged to malloc'd entries (the rest are slots) */
};

gs_vcache *gs_vcache_create(size_t budget_bytes)
{
    if (!budget_bytes)
        return NULL;
    gs_vcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = BUCKETS_MIN;
    c->buckets = gs_zalloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->budget = budget_bytes;
    c->bytes = c->nbuckets * sizeof(*c->buckets);
    c->slab = gs_slab_create(budget_bytes); /* and see alloc_entry */
    /* About 2.5 % of the budget: 1 MiB (8 Mbit) for 40 MiB keeps false
     * positives near 3 % up to a million keys left out. */
    size_t bb = 64 * 1024;
    while (bb * 2 <= budget_bytes / 32)
        bb *= 2;
    c->keysets = gs_vks_create();
    /* An eighth of the budget at most (beside it, like the bloom): 4 MiB,
     * about 196 000 users, of the default 40 MiB. Beyond, the map gives
     * up, and a member removal seeks RocksDB for the user's other guilds;
     * at 8 MiB it held up to 390 000 users, and at the large benchmark
     * shape (1 M users) grew to its end and gave up during every ingest
     * and rebuild, at the height of their memory use. */
    c->usermap = gs_vum_create(budget_bytes / 8);
    /* Not charged to the budget: the budget is sized to hold the entities
     * of a shape (FORMAT.md, "Tuning"); the bloom is a fixed extra. */
    c->bloom = calloc(bb, 1);
    if (c->bloom)
        c->bloom_mask = bb * 8 - 1;
    return c;
}

static void bloom_add(gs_vcache *c, int cf, const void *key, size_t klen)
{
    if (!c->complete || !c->bloom)
        return;
    uint64_t h = XXH3_64bits_withSeed(key, klen, (uint64_t)cf + 101);
    uint32_t a = (uint32_t)h, b = (uint32_t)(h >> 32) | 1;
    for (uint32_t i = 0; i < 3; i++) {
        size_t bit = (a + i * b) & c->bloom_mask;
        c->bloom[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    }
}

static int bloom_maybe(const gs_vcache *c, int cf, const void *key, size_t klen)
{
    uint64_t h = XXH3_64bits_withSeed(key, klen, (uint64_t)cf + 101);
    uint32_t a = (uint32_t)h, b = (uint32_t)(h >> 32) | 1;
    for (uint32_t i = 0; i < 3; i++) {
        size_t bit = (a + i * b) & c->bloom_mask;
        if (!(c->bloom[bit >> 3] & (1u << (bit & 7))))
            return 0;
    }
    return 1;
}

int gs_vcache_absent(gs_vcache *c, int cf, const void *key, size_t klen)
{
    if (!c || !c->complete || !c->bloom || klen > KEY_MAX)
        return 0;
    return !bloom_maybe(c, cf, key, klen);
}

int gs_vcache_complete(const gs_vcache *c)
{
    return c && c->complete;
}

gs_vks *gs_vcache_keysets(gs_vcache *c)
{
    return c ? c->keysets : NULL;
}

gs_vum *gs_vcache_usermap(gs_vcache *c)
{
    return c && c->complete ? c->usermap : NULL;
}

int gs_vcache_decided(const gs_vcache *c)
{
    return c ? c->decided : 1;
}

void gs_vcache_set_complete(gs_vcache *c, int complete)
{
    if (!c)
        return;
    c->decided = 1;
    c->complete = complete && c->bloom;
    gs_vks_clear(c->keysets);
    gs_vum_clear(c->usermap);
    gs_vcache_publish_sets(c);
    if (c->bloom)
        memset(c->bloom, 0, (c->bloom_mask + 1) / 8);
}

void gs_vcache_clear(gs_vcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e) {
            struct entry *n = e->next;
            if (!(e->flags & F_SLAB))
                free(e);
            e = n;
        }
        c->buckets[i] = NULL;
    }
    /* The bucket array grew with the entries (4 MiB for the 40 MiB cache
     * of the large benchmark shape): give it back, so that a rebuild
     * starts from nothing instead of holding it while its replay fills
     * everything else; it grows again with the entries. */
    if (c->nbuckets > BUCKETS_MIN) {
        struct entry **b = calloc(BUCKETS_MIN, sizeof(*b));
        if (b) {
            free(c->buckets);
            c->buckets = b;
            c->nbuckets = BUCKETS_MIN;
        }
    }
    c->hand = 0;
    gs_slab_release_all(c->slab); /* every slab entry at once */
    c->entries = 0;
    c->heap_bytes = 0;
    c->bytes = c->nbuckets * sizeof(*c->buckets);
    free(c->tombs.p);
    memset(&c->tombs, 0, sizeof(c->tombs));
    c->tombs_loaded = 0;
    /* What was cached is gone: no claim about absent keys any more (a
     * wipe makes a new one, gs_vcache_set_complete). */
    c->complete = 0;
    gs_vks_clear(c->keysets);
    gs_vum_clear(c->usermap);
    gs_vcache_publish_sets(c);
}

gs_vtombs *gs_vcache_tombs(gs_vcache *c)
{
    return c && c->tombs_loaded ? &c->tombs : NULL;
}

gs_vtombs *gs_vcache_tombs_slot(gs_vcache *c)
{
    if (!c)
        return NULL;
    c->tombs_loaded = 0;
    c->tombs.n = 0;
    return &c->tombs;
}

void gs_vcache_tombs_set_loaded(gs_vcache *c, int loaded)
{
    if (c)
        c->tombs_loaded = loaded;
}

void gs_vcache_destroy(gs_vcache *c)
{
    if (!c)
        return;
    gs_vcache_clear(c);
    free(c->buckets);
    free(c->scratch);
    free(c->bloom);
    gs_slab_destroy(c->slab);
    gs_vks_destroy(c->keysets);
    gs_vum_destroy(c->usermap);
    free(c);
}

static uint32_t hash_of(int cf, const void *key, size_t klen)
{
    return (uint32_t)XXH3_64bits_withSeed(key, klen, (uint64_t)cf + 1);
}

void gs_vcache_prefetch(const gs_vcache *c, int cf, const void *key, size_t klen, int step)
{
    if (!c || klen > KEY_MAX)
        return;
    struct entry *const *b = &c->buckets[hash_of(cf, key, klen) & (c->nbuckets - 1)];
    if (step == 0) {
        __builtin_prefetch(b);
        return;
    }
    const struct entry *e = *b;
    if (e) {
        __builtin_prefetch(e);
        /* gs_slab_free's chunk header (slab.c: the address rounded down). */
        __builtin_prefetch((const void *)((uintptr_t)e & ~(uintptr_t)(GS_SLAB_CHUNK - 1)));
    }
}

static size_t entry_size(const struct entry *e)
{
    return sizeof(*e) + e->klen + e->vlen;
}

static size_t charge(const struct entry *e)
{
    if (e->flags & F_SLAB)
        return gs_slab_slot_size(entry_size(e));
    return ENTRY_OVERHEAD + e->klen + e->vlen;
}

static struct entry **slot_of(gs_vcache *c, int cf, const void *key, size_t klen, uint32_t h)
{
    struct entry **p = &c->buckets[h & (c->nbuckets - 1)];
    for (; *p; p = &(*p)->next) {
        const struct entry *e = *p;
        if (e->hash == h && e->cf == cf && e->klen == klen && gs_key_eq(e->data, key, klen))
            break;
    }
    return p;
}

static struct entry *lookup(gs_vcache *c, int cf, const void *key, size_t klen)
{
    if (!c || klen > KEY_MAX)
        return NULL;
    struct entry *e = *slot_of(c, cf, key, klen, hash_of(cf, key, klen));
    if (e)
        atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
    return e;
}

int gs_vcache_has(gs_vcache *c, int cf, const void *key, size_t klen)
{
    return lookup(c, cf, key, klen) != NULL;
}

int gs_vcache_find(gs_vcache *c, int cf, const void *key, size_t klen, gs_vcache_hit *h)
{
    struct entry *e = lookup(c, cf, key, klen);
    if (!e)
        return 0;
    h->stored = e->data + e->klen;
    h->stored_len = e->vlen;
    h->len = e->dlen;
    h->packed = e->flags & F_PACKED;
    return 1;
}

static int matches(const struct entry *e, int cf, const void *key, size_t klen, uint32_t h)
{
    return e->hash == h && e->cf == cf && e->klen == klen && gs_key_eq(e->data, key, klen);
}

static void hit_of(struct entry *e, gs_vcache_hit *h)
{
    atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
    h->stored = e->data + e->klen;
    h->stored_len = e->vlen;
    h->len = e->dlen;
    h->packed = e->flags & F_PACKED;
}

/* One step along a bucket chain: a match ends it (*p = NULL). */
static inline void chain_step(struct entry **p, int cf, const void *key, size_t klen, uint32_t x,
                              gs_vcache_hit *h, int bit, int *found)
{
    if (!*p)
        return;
    if (matches(*p, cf, key, klen, x)) {
        hit_of(*p, h);
        *found |= bit;
        *p = NULL;
    } else {
        *p = (*p)->next;
    }
}

int gs_vcache_find2(gs_vcache *c, int cf1, const void *key1, size_t klen1, gs_vcache_hit *h1,
                    int cf2, const void *key2, size_t klen2, gs_vcache_hit *h2)
{
    if (!c || klen1 > KEY_MAX || klen2 > KEY_MAX)
        return 0;
    uint32_t x1 = hash_of(cf1, key1, klen1), x2 = hash_of(cf2, key2, klen2);
    size_t mask = c->nbuckets - 1;
    /* Both heads are read before either is compared: the two cache misses
     * of a random lookup (bucket, entry) are taken once for both keys. */
    struct entry *a = c->buckets[x1 & mask], *b = c->buckets[x2 & mask];
    int found = 0;
    while (a || b) {
        chain_step(&a, cf1, key1, klen1, x1, h1, 1, &found);
        chain_step(&b, cf2, key2, klen2, x2, h2, 2, &found);
    }
    /* The values span a few cache lines each: read one byte of every line
     * now so those misses overlap too (decoding then walks them in turn). */
    volatile uint8_t touch = 0;
    for (int i = 0; i < 2; i++) {
        const gs_vcache_hit *h = i ? h2 : h1;
        if (!(found & (1 << i)))
            continue;
        for (size_t off = 64; off < h->stored_len; off += 64)
            touch ^= h->stored[off];
    }
    (void)touch;
    return found;
}

int gs_vcache_copy(const gs_vcache_hit *h, void *out)
{
    if (!h->packed) {
        memcpy(out, h->stored, h->len);
        return 0;
    }
    return gs_cpack_decode(h->stored, h->stored_len, out, h->len) == h->len ? 0 : -1;
}

int gs_vcache_get(gs_vcache *c, int cf, const void *key, size_t klen, char **val, size_t *vlen)
{
    gs_vcache_hit h;
    if (!gs_vcache_find(c, cf, key, klen, &h))
        return 0;
    char *v = malloc(h.len ? h.len : 1);
    if (!v)
        return -1;
    if (gs_vcache_copy(&h, v) != 0) {
        free(v); /* cannot happen: it was checked when stored */
        return 0;
    }
    *val = v;
    *vlen = h.len;
    return 1;
}

static void unlink_entry(gs_vcache *c, struct entry **p)
{
    struct entry *e = *p;
    *p = e->next;
    c->bytes -= charge(e);
    if (!(e->flags & F_SLAB))
        c->heap_bytes -= charge(e);
    c->entries--;
    if (e->flags & F_SLAB)
        gs_slab_free(c->slab, e);
    else
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

/* One CLOCK step: the bucket under the hand, whose referenced entries lose
 * their bit and whose others are evicted, while need more bytes do not fit
 * (until_fits) or until one was evicted; then the hand moves on. How many
 * went. */
static size_t clock_step(gs_vcache *c, size_t need, int until_fits)
{
    size_t evicted = 0;
    struct entry **p = &c->buckets[c->hand];
    while (*p && (until_fits ? c->bytes + need > c->budget : evicted == 0)) {
        if (atomic_load_explicit(&(*p)->ref, memory_order_relaxed)) {
            atomic_store_explicit(&(*p)->ref, 0, memory_order_relaxed);
            p = &(*p)->next;
        } else {
            bloom_add(c, (*p)->cf, (*p)->data, (*p)->klen);
            unlink_entry(c, p);
            evicted++;
        }
    }
    c->hand = (c->hand + 1) & (c->nbuckets - 1);
    return evicted;
}

/* Evict with CLOCK until need more bytes fit. */
static void make_room(gs_vcache *c, size_t need)
{
    for (size_t sweeps = 0; c->bytes + need > c->budget && c->entries && sweeps < 4 * c->nbuckets;
         sweeps++)
        clock_step(c, need, 1);
}

/* Evict one entry the CLOCK hand finds unreferenced: 1, or 0 if none. */
static int evict_one(gs_vcache *c)
{
    for (size_t sweeps = 0; c->entries && sweeps < 4 * c->nbuckets; sweeps++)
        if (clock_step(c, 0, 0))
            return 1;
    return 0;
}

/* What the entries take: mapped chunks (free slots included), malloc'd
 * entries, the buckets. */
static size_t resident(const gs_vcache *c)
{
    return gs_slab_mapped(c->slab) + c->heap_bytes + c->nbuckets * sizeof(*c->buckets);
}

/* Evictions tried beyond make_room's for a slot of the right size. */
#define EXTRA_EVICTIONS 8

/* Memory for a new entry of size bytes: a slot of its size, in a new chunk
 * only if what the cache takes stays within the budget, else malloc within
 * the same bound (heap_charge: what the entry would be charged). If
 * neither fits, evicting a few more entries may free a slot of this size,
 * or a whole chunk (unmapped with its last slot). NULL: not cached.
 *
 * So the budget bounds the memory the cache holds, not only the bytes of
 * its entries: charged bytes alone would let free slots of one size class
 * and malloc'd entries of another both fill it. */
static struct entry *alloc_entry(gs_vcache *c, size_t size, size_t heap_charge, uint8_t *flags)
{
    for (int tries = 0; tries <= EXTRA_EVICTIONS; tries++) {
        if (tries && !evict_one(c))
            break;
        struct entry *e = gs_slab_alloc(c->slab, size, resident(c) + GS_SLAB_CHUNK <= c->budget);
        if (e) {
            *flags = F_SLAB;
            return e;
        }
        if (resident(c) + heap_charge <= c->budget) {
            *flags = 0;
            return malloc(size);
        }
    }
    return NULL;
}

static void grow(gs_vcache *c)
{
    size_t n = c->nbuckets * 2;
    struct entry **b = gs_zalloc(n, sizeof(*b));
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

/* Whether values of family cf and this length are kept compact. Guilds
 * stay raw: few, large, and read by every guild get; so do tiny values. */
static int packs(int cf, size_t vlen)
{
    return vlen >= 16 && cf != 0;
}

/* The compact form of val in c->scratch: its length, or 0 (keep raw). */
static size_t pack(gs_vcache *c, int cf, const void *val, size_t vlen)
{
    if (!packs(cf, vlen))
        return 0;
    if (c->scratch_cap < vlen) {
        uint8_t *s = realloc(c->scratch, vlen);
        if (!s)
            return 0;
        c->scratch = s;
        c->scratch_cap = vlen;
    }
    size_t n = gs_cpack_encode(val, vlen, c->scratch, vlen);
    return n && n < vlen ? n : 0;
}

void gs_vcache_put(gs_vcache *c, int cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    gs_vcache_put_packed(c, cf, key, klen, val, vlen, NULL, 0);
}

void gs_vcache_put_packed(gs_vcache *c, int cf, const void *key, size_t klen, const void *val,
                          size_t vlen, const void *cp, size_t cplen)
{
    if (!c || klen > KEY_MAX)
        return;
    uint32_t h = hash_of(cf, key, klen);
    struct entry **p = slot_of(c, cf, key, klen, h);
    if (*p)
        unlink_entry(c, p);
    /* A key left out is remembered as maybe present (completeness). */
    if (vlen > UINT32_MAX || ENTRY_OVERHEAD + klen + vlen > c->budget / 8) {
        bloom_add(c, cf, key, klen);
        return;
    }
    /* The same choice as pack(): the given form where it would pack. */
    size_t plen = cp ? (packs(cf, vlen) && cplen < vlen ? cplen : 0) : pack(c, cf, val, vlen);
    const uint8_t *packed = cp ? (const uint8_t *)cp : c->scratch;
    size_t keep = plen ? plen : vlen;
    size_t need = ENTRY_OVERHEAD + klen + keep;
    make_room(c, need);
    if (c->bytes + need > c->budget) {
        bloom_add(c, cf, key, klen);
        return;
    }
    uint8_t flags = 0;
    struct entry *e = alloc_entry(c, sizeof(struct entry) + klen + keep, need, &flags);
    if (!e) {
        bloom_add(c, cf, key, klen);
        return;
    }
    e->hash = h;
    e->vlen = (uint32_t)keep;
    e->dlen = (uint32_t)vlen;
    e->cf = (uint8_t)cf;
    e->klen = (uint8_t)klen;
    e->flags = flags | (plen ? F_PACKED : 0);
    atomic_init(&e->ref, 0);
    memcpy(e->data, key, klen);
    memcpy(e->data + klen, plen ? packed : (const uint8_t *)val, keep);
    struct entry **b = &c->buckets[h & (c->nbuckets - 1)];
    e->next = *b;
    *b = e;
    c->entries++;
    c->bytes += charge(e);
    if (!(flags & F_SLAB))
        c->heap_bytes += charge(e);
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
    out->sets_bytes = c->sets_bytes;
    out->resident = resident(c);
}

void gs_vcache_publish_sets(gs_vcache *c)
{
    if (c)
        c->sets_bytes = gs_vks_bytes(c->keysets) + gs_vum_bytes(c->usermap);
}
