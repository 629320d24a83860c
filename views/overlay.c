/*
 * overlay.c - pending writes of an apply call (see overlay.h).
 *
 * Open addressing with linear probing over slots; keys and values live in
 * an append-only arena (offsets, so the arena may grow). An entry is never
 * removed from the table during a call: undoing the put that created it
 * marks it absent, which keeps every probe chain intact (undo is LIFO, and
 * absent entries behave as if the key was not there).
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "keycmp.h"
#include "overlay.h"

enum { S_EMPTY = 0, S_ABSENT, S_PUT, S_DEL };

typedef struct slot {
    uint64_t hash;
    uint32_t koff; /* key bytes in the arena */
    uint8_t klen;
    uint8_t cf;
    uint8_t state;
    uint32_t voff; /* value bytes in the arena (S_PUT) */
    uint32_t vlen;
} slot;

typedef struct undo {
    uint32_t slot;
    uint8_t state; /* what the slot held before */
    uint32_t voff;
    uint32_t vlen;
} undo;

/* The keys of one column family, in the order they were first written. */
typedef struct keyref {
    uint64_t hash;
    uint32_t koff;
    uint8_t klen;
} keyref;

#define GS_OV_CFS 32

struct gs_ov {
    keyref *keys[GS_OV_CFS]; /* per family: prefix scans and the commit */
    size_t nkeys[GS_OV_CFS], ckeys[GS_OV_CFS];
    slot *slots;
    size_t cap;  /* power of two */
    size_t used; /* slots not S_EMPTY */
    size_t live; /* S_PUT or S_DEL */
    uint8_t *arena;
    size_t alen, acap;
    undo *undo;
    size_t nundo, cundo;
    gs_ov_ent *scratch; /* gs_ov_prefix results */
    size_t nscratch, cscratch;
    /* The sort's work space (sort_ents): its keys, twice the entries
     * sorted (the merges go back and forth between two halves), and for
     * sort_scratch the entries in order. */
    struct sortkey *sk;
    size_t csk;
    gs_ov_ent *sorted;
    size_t csorted;
    /* gs_ov_each's sorted entries, kept until the next change: a commit
     * visits twice (the write batch, then the entity cache). */
    gs_ov_ent *all;
    size_t nall, call;
    int all_valid;
    /* A sealed overlay whose write is still in flight (gs_ov_set_below):
     * read through, never changed. */
    const gs_ov *below;
};

gs_ov *gs_ov_create(void)
{
    gs_ov *ov = calloc(1, sizeof(*ov));
    if (!ov)
        return NULL;
    ov->cap = 1024;
    ov->slots = gs_zalloc(ov->cap, sizeof(*ov->slots));
    if (!ov->slots) {
        free(ov);
        return NULL;
    }
    return ov;
}

void gs_ov_destroy(gs_ov *ov)
{
    if (!ov)
        return;
    free(ov->slots);
    free(ov->arena);
    free(ov->undo);
    free(ov->scratch);
    free(ov->sk);
    free(ov->sorted);
    free(ov->all);
    for (int c = 0; c < GS_OV_CFS; c++)
        free(ov->keys[c]);
    free(ov);
}

void gs_ov_reset(gs_ov *ov)
{
    /* A batch that grew the table a lot gives the memory back. */
    if (ov->cap > (1u << 16)) {
        slot *s = calloc(1024, sizeof(*s));
        if (s) {
            free(ov->slots);
            ov->slots = s;
            ov->cap = 1024;
        } else {
            memset(ov->slots, 0, ov->cap * sizeof(*ov->slots));
        }
    } else {
        memset(ov->slots, 0, ov->cap * sizeof(*ov->slots));
    }
    if (ov->acap > (64u << 20)) {
        free(ov->arena);
        ov->arena = NULL;
        ov->acap = 0;
    }
    if (ov->call > 65536) {
        free(ov->all);
        ov->all = NULL;
        ov->call = 0;
    }
    if (ov->csk > 2 * 65536) {
        free(ov->sk);
        free(ov->sorted);
        ov->sk = NULL;
        ov->sorted = NULL;
        ov->csk = ov->csorted = 0;
    }
    ov->used = ov->live = 0;
    ov->below = NULL;
    ov->alen = 0;
    ov->nall = 0;
    ov->all_valid = 0;
    ov->nundo = 0;
    for (int c = 0; c < GS_OV_CFS; c++)
        ov->nkeys[c] = 0;
}

static uint64_t hash_key(int cf, const void *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, (uint64_t)cf + 1);
}

static int arena_add(gs_ov *ov, const void *p, size_t n, uint32_t *off)
{
    if (n > UINT32_MAX - ov->alen)
        return -1;
    if (ov->acap - ov->alen < n) {
        size_t cap = ov->acap ? ov->acap : 64 * 1024;
        while (cap - ov->alen < n)
            cap *= 2;
        uint8_t *a = realloc(ov->arena, cap);
        if (!a)
            return -1;
        ov->arena = a;
        ov->acap = cap;
    }
    if (n)
        memcpy(ov->arena + ov->alen, p, n);
    *off = (uint32_t)ov->alen;
    ov->alen += n;
    return 0;
}

/* The slot of the key: found (1) or the empty slot where it would go (0). */
static int find(const gs_ov *ov, int cf, const void *key, size_t klen, uint64_t h, size_t *idx)
{
    size_t mask = ov->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const slot *s = &ov->slots[i];
        if (s->state == S_EMPTY) {
            *idx = i;
            return 0;
        }
        if (s->hash == h && s->cf == cf && s->klen == klen &&
            gs_key_eq(ov->arena + s->koff, key, klen)) {
            *idx = i;
            return 1;
        }
    }
}

static int grow(gs_ov *ov)
{
    size_t cap = ov->cap * 2;
    slot *n = gs_zalloc(cap, sizeof(*n));
    if (!n)
        return -1;
    /* Undo entries name slots: remap them as the slots move. */
    size_t *moved = malloc(ov->cap * sizeof(*moved));
    if (!moved) {
        free(n);
        return -1;
    }
    for (size_t i = 0; i < ov->cap; i++) {
        const slot *s = &ov->slots[i];
        if (s->state == S_EMPTY)
            continue;
        size_t j = (size_t)s->hash & (cap - 1);
        while (n[j].state != S_EMPTY)
            j = (j + 1) & (cap - 1);
        n[j] = *s;
        moved[i] = j;
    }
    for (size_t u = 0; u < ov->nundo; u++)
        ov->undo[u].slot = (uint32_t)moved[ov->undo[u].slot];
    free(moved);
    free(ov->slots);
    ov->slots = n;
    ov->cap = cap;
    return 0;
}

static int set(gs_ov *ov, int cf, const void *key, size_t klen, int state, const void *val,
               size_t vlen)
{
    if (klen > GS_OV_KEY_MAX || cf < 0 || cf >= GS_OV_CFS)
        return -1;
    if ((ov->used + 1) * 4 > ov->cap * 3 && grow(ov) != 0)
        return -1;
    if (ov->nundo == ov->cundo) {
        size_t c = ov->cundo ? ov->cundo * 2 : 1024;
        undo *u = realloc(ov->undo, c * sizeof(*u));
        if (!u)
            return -1;
        ov->undo = u;
        ov->cundo = c;
    }
    ov->all_valid = 0;
    uint64_t h = hash_key(cf, key, klen);
    size_t i;
    int found = find(ov, cf, key, klen, h, &i);
    uint32_t voff = 0;
    if (state == S_PUT && arena_add(ov, val, vlen, &voff) != 0)
        return -1;
    slot *s = &ov->slots[i];
    if (!found) {
        uint32_t koff;
        if (ov->nkeys[cf] == ov->ckeys[cf]) {
            size_t c = ov->ckeys[cf] ? ov->ckeys[cf] * 2 : 256;
            keyref *k = realloc(ov->keys[cf], c * sizeof(*k));
            if (!k)
                return -1;
            ov->keys[cf] = k;
            ov->ckeys[cf] = c;
        }
        if (arena_add(ov, key, klen, &koff) != 0)
            return -1;
        keyref *kr = &ov->keys[cf][ov->nkeys[cf]++];
        kr->hash = h;
        kr->koff = koff;
        kr->klen = (uint8_t)klen;
        s->hash = h;
        s->koff = koff;
        s->klen = (uint8_t)klen;
        s->cf = (uint8_t)cf;
        s->state = S_ABSENT;
        ov->used++;
    }
    undo *u = &ov->undo[ov->nundo++];
    u->slot = (uint32_t)i;
    u->state = s->state;
    u->voff = s->voff;
    u->vlen = s->vlen;
    if (s->state == S_ABSENT)
        ov->live++;
    s->state = (uint8_t)state;
    s->voff = voff;
    s->vlen = state == S_PUT ? (uint32_t)vlen : 0;
    return 0;
}

int gs_ov_put(gs_ov *ov, int cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (vlen > UINT32_MAX)
        return -1;
    return set(ov, cf, key, klen, S_PUT, val, vlen);
}

int gs_ov_del(gs_ov *ov, int cf, const void *key, size_t klen)
{
    return set(ov, cf, key, klen, S_DEL, NULL, 0);
}

static void to_ent(const gs_ov *ov, const slot *s, gs_ov_ent *e)
{
    e->cf = s->cf;
    e->key = ov->arena + s->koff;
    e->klen = s->klen;
    e->deleted = s->state == S_DEL;
    e->val = s->state == S_PUT ? ov->arena + s->voff : NULL;
    e->vlen = s->state == S_PUT ? s->vlen : 0;
}

/* Own entries only: 1 found (a value or a deletion), 0 not. */
static int get_own(const gs_ov *ov, int cf, const void *key, size_t klen, uint64_t h, gs_ov_ent *e)
{
    size_t i;
    if (ov->live == 0 || !find(ov, cf, key, klen, h, &i))
        return 0;
    const slot *s = &ov->slots[i];
    if (s->state == S_ABSENT)
        return 0;
    to_ent(ov, s, e);
    return 1;
}

int gs_ov_get(gs_ov *ov, int cf, const void *key, size_t klen, gs_ov_ent *e)
{
    if (klen > GS_OV_KEY_MAX || (ov->live == 0 && (!ov->below || ov->below->live == 0)))
        return 0;
    uint64_t h = hash_key(cf, key, klen);
    return get_own(ov, cf, key, klen, h, e) ||
           (ov->below && get_own(ov->below, cf, key, klen, h, e));
}

void gs_ov_set_below(gs_ov *ov, const gs_ov *below)
{
    ov->below = below;
}

size_t gs_ov_mark(const gs_ov *ov)
{
    return ov->nundo;
}

void gs_ov_rollback(gs_ov *ov, size_t mark)
{
    ov->all_valid = 0;
    while (ov->nundo > mark) {
        const undo *u = &ov->undo[--ov->nundo];
        slot *s = &ov->slots[u->slot];
        if (u->state == S_ABSENT && s->state != S_ABSENT)
            ov->live--;
        s->state = u->state;
        s->voff = u->voff;
        s->vlen = u->vlen;
    }
}

/* Sorting the scratch entries by key. qsort over the 48-byte entries,
 * through a compare function that follows both key pointers, was 2.7 % of
 * the applier's instructions (callgrind, bench-views): a stage's 500-1000
 * keys are sorted once for the write and each guild-scoped scan sorts its
 * part. Here a key's first 16 bytes, zero-padded, are two big-endian words
 * beside the entry's index, and a bottom-up merge sort orders those. The
 * words order as the bytes do (a padded byte is 0 only where the shorter
 * key ends, and the shorter is then a prefix of the other up to there), so
 * only keys equal in their first 16 bytes are compared in full. */
struct sortkey {
    uint64_t hi, lo;
    size_t i; /* index in the entries sorted */
};

static inline int sk_less(const struct sortkey *a, const struct sortkey *b, const gs_ov_ent *e)
{
    if (a->hi != b->hi)
        return a->hi < b->hi;
    if (a->lo != b->lo)
        return a->lo < b->lo;
    return gs_key_cmp(e[a->i].key, e[a->i].klen, e[b->i].key, e[b->i].klen) < 0;
}

/* Merge the sorted runs a[0..na) and b[0..nb) into out. */
static void sk_merge(const struct sortkey *a, size_t na, const struct sortkey *b, size_t nb,
                     struct sortkey *out, const gs_ov_ent *e)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb)
        out[k++] = sk_less(&b[j], &a[i], e) ? b[j++] : a[i++];
    while (i < na)
        out[k++] = a[i++];
    while (j < nb)
        out[k++] = b[j++];
}

/* e[0..n) into dst in key order (dst and e do not overlap). -1 out of
 * memory. */
static int sort_ents(gs_ov *ov, const gs_ov_ent *e, size_t n, gs_ov_ent *dst)
{
    if (ov->csk < 2 * n) {
        struct sortkey *k = realloc(ov->sk, 2 * n * sizeof(*k));
        if (!k)
            return -1;
        ov->sk = k;
        ov->csk = 2 * n;
    }
    struct sortkey *src = ov->sk, *tmp = ov->sk + n;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[16] = {0};
        memcpy(b, e[i].key, e[i].klen < 16 ? e[i].klen : 16);
        src[i].hi = gs_key_word(b);
        src[i].lo = gs_key_word(b + 8);
        src[i].i = i;
    }
    /* Runs of 8 by insertion, then merges back and forth. */
    enum { RUN = 8 };
    for (size_t r = 0; r < n; r += RUN) {
        size_t end = r + RUN < n ? r + RUN : n;
        for (size_t i = r + 1; i < end; i++) {
            struct sortkey x = src[i];
            size_t j = i;
            for (; j > r && sk_less(&x, &src[j - 1], e); j--)
                src[j] = src[j - 1];
            src[j] = x;
        }
    }
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            sk_merge(src + lo, mid - lo, src + mid, hi - mid, tmp + lo, e);
        }
        struct sortkey *t = src;
        src = tmp;
        tmp = t;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = e[src[i].i];
    return 0;
}

/* ov->scratch in key order, in place. */
static int sort_scratch(gs_ov *ov)
{
    size_t n = ov->nscratch;
    if (n < 2)
        return 0;
    if (ov->csorted < n) {
        gs_ov_ent *a = realloc(ov->sorted, ov->cscratch * sizeof(*a));
        if (!a)
            return -1;
        ov->sorted = a;
        ov->csorted = ov->cscratch;
    }
    if (sort_ents(ov, ov->scratch, n, ov->sorted) != 0)
        return -1;
    /* The sorted copy becomes the scratch (both hold cscratch entries). */
    gs_ov_ent *t = ov->scratch;
    size_t c = ov->csorted;
    ov->scratch = ov->sorted;
    ov->sorted = t;
    ov->csorted = ov->cscratch;
    ov->cscratch = c;
    return 0;
}

/* The slot of a key known to be in the table. */
static const slot *slot_of(const gs_ov *ov, int cf, const keyref *k)
{
    size_t i;
    if (!find(ov, cf, ov->arena + k->koff, k->klen, k->hash, &i))
        return NULL;
    return &ov->slots[i];
}

static int push_ent(gs_ov *ov, const gs_ov_ent *e)
{
    if (ov->nscratch == ov->cscratch) {
        size_t c = ov->cscratch ? ov->cscratch * 2 : 64;
        gs_ov_ent *a = realloc(ov->scratch, c * sizeof(*a));
        if (!a)
            return -1;
        ov->scratch = a;
        ov->cscratch = c;
    }
    ov->scratch[ov->nscratch++] = *e;
    return 0;
}

static int push_scratch(gs_ov *ov, const slot *s)
{
    gs_ov_ent e;
    to_ent(ov, s, &e);
    return push_ent(ov, &e);
}

/* Append src's live entries of cf under prefix to ov's scratch, leaving
 * out keys that shadow (ov itself, when src is below it). */
static int collect(gs_ov *ov, const gs_ov *src, const gs_ov *shadow, int cf, const void *prefix,
                   size_t plen)
{
    if (!src->live)
        return 0;
    for (size_t i = 0; i < src->nkeys[cf]; i++) {
        const keyref *k = &src->keys[cf][i];
        const uint8_t *kp = src->arena + k->koff;
        if (k->klen < plen || memcmp(kp, prefix, plen) != 0)
            continue;
        const slot *s = slot_of(src, cf, k);
        if (!s || (s->state != S_PUT && s->state != S_DEL))
            continue;
        gs_ov_ent e;
        if (shadow && get_own(shadow, cf, kp, k->klen, k->hash, &e))
            continue;
        to_ent(src, s, &e);
        if (push_ent(ov, &e) != 0)
            return -1;
    }
    return 0;
}

int gs_ov_prefix(gs_ov *ov, int cf, const void *prefix, size_t plen, gs_ov_ent **out, size_t *n)
{
    ov->nscratch = 0;
    *out = ov->scratch;
    *n = 0;
    if (cf < 0 || cf >= GS_OV_CFS)
        return 0;
    if (collect(ov, ov, NULL, cf, prefix, plen) != 0)
        return -1;
    if (ov->below && collect(ov, ov->below, ov, cf, prefix, plen) != 0)
        return -1;
    if (sort_scratch(ov) != 0)
        return -1;
    *out = ov->scratch;
    *n = ov->nscratch;
    return 0;
}

int gs_ov_seal(gs_ov *ov)
{
    /* Family by family, keys in order: the memtable inserts then follow
     * each other instead of landing at random places of its skip list. */
    if (!ov->all_valid) {
        ov->nall = 0;
        for (int cf = 0; cf < GS_OV_CFS && ov->live; cf++) {
            ov->nscratch = 0;
            for (size_t i = 0; i < ov->nkeys[cf]; i++) {
                const slot *s = slot_of(ov, cf, &ov->keys[cf][i]);
                if (s && (s->state == S_PUT || s->state == S_DEL) && push_scratch(ov, s) != 0)
                    return -1;
            }
            if (ov->call - ov->nall < ov->nscratch) {
                size_t c = ov->call ? ov->call : 256;
                while (c - ov->nall < ov->nscratch)
                    c *= 2;
                gs_ov_ent *a = realloc(ov->all, c * sizeof(*a));
                if (!a)
                    return -1;
                ov->all = a;
                ov->call = c;
            }
            if (ov->nscratch > 1 &&
                sort_ents(ov, ov->scratch, ov->nscratch, ov->all + ov->nall) != 0)
                return -1;
            if (ov->nscratch == 1)
                ov->all[ov->nall] = ov->scratch[0];
            ov->nall += ov->nscratch;
        }
        ov->all_valid = 1;
    }
    return 0;
}

int gs_ov_each(gs_ov *ov, gs_ov_visit_fn fn, void *ud)
{
    if (gs_ov_seal(ov) != 0)
        return -1;
    gs_ov_visit_sealed(ov, fn, ud);
    return 0;
}

void gs_ov_visit_sealed(const gs_ov *ov, gs_ov_visit_fn fn, void *ud)
{
    for (size_t i = 0; i < ov->nall; i++)
        fn(ud, &ov->all[i]);
}

const gs_ov_ent *gs_ov_sealed(const gs_ov *ov, size_t *n)
{
    *n = ov->nall;
    return ov->all;
}

size_t gs_ov_count(const gs_ov *ov)
{
    return ov->live;
}
