/*
 * keyset.c - the ids of each guild's channels, threads, roles, emojis,
 * stickers, stage instances and scheduled events, as committed, in memory
 * (keyset.h).
 *
 * Why: the appliers scan "every X of guild G" for CHANNEL_DELETE (its
 * threads), THREAD_LIST_SYNC, the set replacements of GUILD_CREATE,
 * GUILD_EMOJIS_UPDATE and GUILD_STICKERS_UPDATE; a RocksDB seek costs about
 * 25 us here, each of those events one or more. A few ids per guild and
 * type are cheap to keep; values are then read by point (from the entity
 * cache).
 *
 * A table of (family, guild) -> sorted id array, open addressing. Owned by
 * the entity cache (cleared with it); used by the applier only.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "keyset.h"

struct ks_ent {
    uint64_t guild; /* 0 with cf 0: empty slot */
    int cf;
    int used;
    uint64_t *ids;
    size_t n, cap;
};

struct gs_vks {
    struct ks_ent *t;
    size_t cap, used;
    size_t ids; /* total ids held */
};

gs_vks *gs_vks_create(void)
{
    return calloc(1, sizeof(gs_vks));
}

void gs_vks_clear(gs_vks *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->t[i].ids);
    free(s->t);
    s->t = NULL;
    s->cap = s->used = s->ids = 0;
}

void gs_vks_destroy(gs_vks *s)
{
    gs_vks_clear(s);
    free(s);
}

size_t gs_vks_bytes(const gs_vks *s)
{
    return s ? s->cap * sizeof(struct ks_ent) + s->ids * sizeof(uint64_t) : 0;
}

static size_t slot_hash(int cf, uint64_t guild)
{
    uint64_t x = guild * 0x9e3779b97f4a7c15ull + (uint64_t)cf * 0xbf58476d1ce4e5b9ull;
    return (size_t)(x ^ (x >> 29));
}

static struct ks_ent *find(const gs_vks *s, int cf, uint64_t guild)
{
    if (!s->cap)
        return NULL;
    size_t mask = s->cap - 1;
    for (size_t i = slot_hash(cf, guild) & mask;; i = (i + 1) & mask) {
        struct ks_ent *e = &s->t[i];
        if (!e->used)
            return NULL;
        if (e->cf == cf && e->guild == guild)
            return e;
    }
}

static int grow(gs_vks *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    struct ks_ent *t = gs_zalloc(cap, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->t[i].used)
            continue;
        size_t j = slot_hash(s->t[i].cf, s->t[i].guild) & (cap - 1);
        while (t[j].used)
            j = (j + 1) & (cap - 1);
        t[j] = s->t[i];
    }
    free(s->t);
    s->t = t;
    s->cap = cap;
    return 0;
}

static struct ks_ent *insert(gs_vks *s, int cf, uint64_t guild)
{
    struct ks_ent *e = find(s, cf, guild);
    if (e)
        return e;
    if ((s->used + 1) * 2 > s->cap && grow(s) != 0)
        return NULL;
    size_t mask = s->cap - 1;
    size_t i = slot_hash(cf, guild) & mask;
    while (s->t[i].used)
        i = (i + 1) & mask;
    e = &s->t[i];
    memset(e, 0, sizeof(*e));
    e->used = 1;
    e->cf = cf;
    e->guild = guild;
    s->used++;
    return e;
}

int gs_vks_get(const gs_vks *s, int cf, uint64_t guild, const uint64_t **ids, size_t *n)
{
    const struct ks_ent *e = s ? find(s, cf, guild) : NULL;
    *ids = e ? e->ids : NULL;
    *n = e ? e->n : 0;
    return e != NULL;
}

static int reserve(struct ks_ent *e, size_t n)
{
    if (n <= e->cap)
        return 0;
    size_t cap = e->cap ? e->cap : 8;
    while (cap < n)
        cap *= 2;
    uint64_t *p = realloc(e->ids, cap * sizeof(*p));
    if (!p)
        return -1;
    e->ids = p;
    e->cap = cap;
    return 0;
}

int gs_vks_set(gs_vks *s, int cf, uint64_t guild, const uint64_t *ids, size_t n)
{
    struct ks_ent *e = insert(s, cf, guild);
    if (!e || reserve(e, n) != 0)
        return -1;
    if (n)
        memcpy(e->ids, ids, n * sizeof(*ids));
    s->ids += n;
    s->ids -= e->n;
    e->n = n;
    return 0;
}

/* Index of the first id >= x. */
static size_t lower(const struct ks_ent *e, uint64_t x)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->ids[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int gs_vks_add(gs_vks *s, int cf, uint64_t guild, uint64_t id, int create)
{
    struct ks_ent *e = create ? insert(s, cf, guild) : find(s, cf, guild);
    if (!e)
        return create ? -1 : 0;
    size_t i = lower(e, id);
    if (i < e->n && e->ids[i] == id)
        return 0;
    if (reserve(e, e->n + 1) != 0)
        return -1;
    memmove(e->ids + i + 1, e->ids + i, (e->n - i) * sizeof(*e->ids));
    e->ids[i] = id;
    e->n++;
    s->ids++;
    return 0;
}

void gs_vks_del(gs_vks *s, int cf, uint64_t guild, uint64_t id)
{
    struct ks_ent *e = find(s, cf, guild);
    if (!e)
        return;
    size_t i = lower(e, id);
    if (i >= e->n || e->ids[i] != id)
        return;
    memmove(e->ids + i, e->ids + i + 1, (e->n - i - 1) * sizeof(*e->ids));
    e->n--;
    s->ids--;
}

/* ---- the user map: which guild a user is a member of, when only one ---- */

#define UM_NONE  0
#define UM_MULTI UINT64_MAX
/* Slots are 16 bytes; the table doubles at 3/4 full up to the largest
 * power of two that fits the map's memory bound (gs_vum_create), and
 * beyond it the map gives up: membership checks go back to RocksDB. */
#define UM_MIN_SLOTS 4096u

struct um_slot {
    uint64_t user; /* 0: empty (user ids are never 0) */
    uint64_t guild;
};

struct gs_vum {
    struct um_slot *t;
    size_t cap, used;
    int off;          /* gave up (too many users or out of memory) */
    size_t max_slots; /* the bound (0: never kept) */
};

gs_vum *gs_vum_create(size_t max_bytes)
{
    gs_vum *m = calloc(1, sizeof(gs_vum));
    if (!m)
        return NULL;
    for (size_t n = UM_MIN_SLOTS; n * sizeof(struct um_slot) <= max_bytes; n *= 2)
        m->max_slots = n;
    return m;
}

void gs_vum_clear(gs_vum *m)
{
    if (!m)
        return;
    free(m->t);
    size_t max = m->max_slots;
    memset(m, 0, sizeof(*m));
    m->max_slots = max;
}

void gs_vum_destroy(gs_vum *m)
{
    gs_vum_clear(m);
    free(m);
}

size_t gs_vum_bytes(const gs_vum *m)
{
    return m ? m->cap * sizeof(struct um_slot) : 0;
}

static size_t um_hash(uint64_t user)
{
    uint64_t x = user * 0x9e3779b97f4a7c15ull;
    return (size_t)(x ^ (x >> 31));
}

static struct um_slot *um_find(const gs_vum *m, uint64_t user, int *found)
{
    size_t mask = m->cap - 1;
    for (size_t i = um_hash(user) & mask;; i = (i + 1) & mask) {
        if (m->t[i].user == user || m->t[i].user == 0) {
            *found = m->t[i].user == user;
            return &m->t[i];
        }
    }
}

static int um_grow(gs_vum *m)
{
    size_t cap = m->cap ? m->cap * 2 : UM_MIN_SLOTS;
    if (cap > m->max_slots)
        return -1;
    struct um_slot *t = gs_zalloc(cap, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->t[i].user)
            continue;
        size_t j = um_hash(m->t[i].user) & (cap - 1);
        while (t[j].user)
            j = (j + 1) & (cap - 1);
        t[j] = m->t[i];
    }
    free(m->t);
    m->t = t;
    m->cap = cap;
    return 0;
}

void gs_vum_put(gs_vum *m, uint64_t user, uint64_t guild)
{
    if (!m || m->off || !user)
        return;
    if ((m->used + 1) * 4 > m->cap * 3 && um_grow(m) != 0) {
        gs_vum_clear(m);
        m->off = 1;
        return;
    }
    int found;
    struct um_slot *s = um_find(m, user, &found);
    if (!found) {
        s->user = user;
        s->guild = guild;
        m->used++;
    } else if (s->guild == UM_NONE) {
        s->guild = guild;
    } else if (s->guild != guild) {
        s->guild = UM_MULTI;
    }
}

void gs_vum_del(gs_vum *m, uint64_t user, uint64_t guild)
{
    if (!m || m->off || !m->cap)
        return;
    int found;
    struct um_slot *s = um_find(m, user, &found);
    /* A guild id equal to UM_MULTI (a payload may carry 2^64-1) must not
     * turn "several" into "none": the user may still be a member elsewhere.
     * Leave the entry as it is; "several" sends the check to RocksDB. */
    if (found && s->guild == guild && guild != UM_MULTI)
        s->guild = UM_NONE;
}

int gs_vum_get(const gs_vum *m, uint64_t user, uint64_t *guild)
{
    if (!m || m->off || !user) /* 0 marks empty slots: ask RocksDB */
        return -1;
    *guild = UM_NONE;
    if (!m->cap)
        return 0;
    int found;
    const struct um_slot *s = um_find(m, user, &found);
    if (!found || s->guild == UM_NONE)
        return 0;
    if (s->guild == UM_MULTI)
        return -1;
    *guild = s->guild;
    return 1;
}
