/*
 * query.c - point gets and iterators over the views, each on one RocksDB
 * snapshot: prefix scans by guild, the user index (guilds of a user), and
 * `where` filtering on the output objects.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "vdisk.h"
#include "views_int.h"
#include "where.h"

static int guild_scoped(gs_view_type t)
{
    return t != GS_VIEW_GUILD && t != GS_VIEW_USER;
}

static int keyed_by_user(gs_view_type t)
{
    return t == GS_VIEW_MEMBER || t == GS_VIEW_VOICE_STATE || t == GS_VIEW_PRESENCE;
}

static int db_get(gs_views *v, const rocksdb_readoptions_t *ro, int cf, const uint8_t *key,
                  size_t klen, char **val, size_t *vlen, gs_err *err)
{
    char *rerr = NULL;
    *val = rocksdb_get_cf(v->db, ro, v->cf[cf], (const char *)key, klen, vlen, &rerr);
    if (rerr) {
        *val = NULL;
        return gs_vdb_err(err, rerr, "cannot read views");
    }
    if (*val && gs_vdisk_packed(cf, key, klen)) {
        int rc = gs_vdisk_unpack_owned(key, klen, val, vlen, "views", err);
        if (rc != GS_OK)
            return rc;
    }
    return *val ? 1 : 0;
}

/* A user read from RocksDB by a point get, for the cache (NULL: none). */
typedef struct user_read {
    char *val;
    size_t len;
} user_read;

static int member_object(gs_views *v, const rocksdb_readoptions_t *ro, int cached,
                         const uint8_t *key, const uint8_t *val, size_t vlen, const uint8_t *roles,
                         size_t rlen, const uint64_t *tombs, size_t ntombs, gs_vbuf *scratch,
                         const uint8_t **out, size_t *out_len, user_read *keep, gs_err *err);

static int out_object(gs_views *v, const rocksdb_readoptions_t *ro, int cached, gs_view_type t,
                      const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                      const uint64_t *tombs, size_t ntombs, gs_vbuf *scratch, const uint8_t **out,
                      size_t *out_len, user_read *keep, gs_err *err)
{
    if (t != GS_VIEW_MEMBER || klen != 16) {
        *out = val;
        *out_len = vlen;
        return GS_OK;
    }
    /* Roles the guild deleted are not shown (tomb.c): the entries are then
     * copied one by one, the roles filtered. */
    const uint8_t *roles = NULL;
    size_t rlen = 0;
    int hit = ntombs && gs_vtomb_roles_find(val, vlen, tombs, ntombs, &roles, &rlen);
    return member_object(v, ro, cached, key, val, vlen, hit ? roles : NULL, rlen, tombs, ntombs,
                         scratch, out, out_len, keep, err);
}

int gs_vout_object(gs_views *v, const rocksdb_readoptions_t *ro, int cached, gs_view_type t,
                   const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                   const uint64_t *tombs, size_t ntombs, gs_vbuf *scratch, const uint8_t **out,
                   size_t *out_len, gs_err *err)
{
    return out_object(v, ro, cached, t, key, klen, val, vlen, tombs, ntombs, scratch, out, out_len,
                      NULL, err);
}

static int member_object(gs_views *v, const rocksdb_readoptions_t *ro, int cached,
                         const uint8_t *key, const uint8_t *val, size_t vlen, const uint8_t *roles,
                         size_t rlen, const uint64_t *tombs, size_t ntombs, gs_vbuf *scratch,
                         const uint8_t **out, size_t *out_len, user_read *keep, gs_err *err)
{
    /* A member is shown as Discord shows it: with its user object. */
    gs_mpr r;
    gs_mpv m;
    gs_mpr_init(&r, val, vlen);
    if (gs_mpr_read(&r, &m) != 0 || m.type != GS_MP_MAP)
        return gs_err_set(err, GS_ECORRUPT, "views member: stored value is not a map");
    uint64_t uid = gs_get_be64(key + 8);
    uint8_t ukey[16];
    char *user = NULL;
    size_t ulen = 0;
    size_t uklen = gs_vkey(GS_VIEW_USER, 0, uid, ukey);
    int rc = 0, from_db = 0;
    if (cached)
        rc = gs_vcache_get(v->ecache, GS_VIEW_USER, ukey, uklen, &user, &ulen);
    if (rc < 0)
        return gs_err_set(err, GS_ENOMEM, "out of memory reading views");
    if (rc == 0) {
        rc = db_get(v, ro, GS_VIEW_USER, ukey, uklen, &user, &ulen, err);
        from_db = rc == 1;
    }
    if (rc < 0)
        return rc;
    msgpack_packer pk;
    gs_vbuf_reset(scratch);
    msgpack_packer_init(&pk, scratch, gs_vbuf_mp_write);
    msgpack_pack_map(&pk, m.n + 1);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "user", 4);
    if (user) {
        gs_vbuf_put(scratch, user, ulen);
    } else {
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str(&pk, 2);
        msgpack_pack_str_body(&pk, "id", 2);
        gs_mp_pack_idstr(&pk, uid);
    }
    if (from_db && cached && keep && !keep->val) {
        keep->val = user; /* the caller caches it */
        keep->len = ulen;
    } else {
        rocksdb_free(user);
    }
    if (roles) {
        /* The bytes before and after the roles value as they are; the map
         * keeps its number of entries. */
        gs_vbuf_put(scratch, r.p, (size_t)(roles - r.p));
        rc = gs_vtomb_put_roles(roles, rlen, tombs, ntombs, scratch);
        if (rc != GS_OK)
            return gs_err_set(err, rc, "views member: stored value is damaged");
        gs_vbuf_put(scratch, roles + rlen, (size_t)(r.end - (roles + rlen)));
    } else {
        gs_vbuf_put(scratch, r.p, (size_t)(r.end - r.p));
    }
    if (scratch->oom)
        return gs_err_set(err, GS_ENOMEM, "out of memory building a member");
    *out = (const uint8_t *)scratch->p;
    *out_len = scratch->len;
    return GS_OK;
}

/* A msgpack map header for n pairs at p: its length. */
static size_t map_header(uint8_t *p, uint32_t n)
{
    if (n < 16) {
        p[0] = (uint8_t)(0x80 | n);
        return 1;
    }
    if (n < 65536) {
        p[0] = 0xde;
        p[1] = (uint8_t)(n >> 8);
        p[2] = (uint8_t)n;
        return 3;
    }
    p[0] = 0xdf;
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    return 5;
}

/* Measured (default shape, 2026-11-24, perf on a get-only loop): a
 * member get served here costs ~1.6 us, of which the two hash lookups
 * (cache misses: bucket, entry) ~15 %, decoding the compact form ~13 %,
 * the deleted-role filter ~8 % (it must run for every member of a guild
 * with tombstones, stripped at write or not, so stripping in the applier
 * was not done). Before (gs_vcache_get copies, a scratch object, a render
 * copy): ~2.6 us, eight allocations. Beyond the entity cache (large shape)
 * a member get is two RocksDB block reads (member, then its user), ~30 us:
 * zstd decompression of the 8 KiB bottommost blocks ~37 %, RocksDB's index
 * and block cache ~29 %, malloc ~12 %, pread ~7 %. */
/* A point get served by the entity cache alone, the read lock held: the
 * value (and a member's user) decoded straight into obj, which is sized
 * once, with no other copy or allocation beside a member's own bytes.
 * 1 served, 0 not (a key not cached: the caller falls back to RocksDB),
 * 2 not because the deleted roles are not loaded, <0 error. */
static int get_cached(gs_views *v, gs_view_type t, const uint8_t *key, size_t klen, uint64_t guild,
                      gs_vbuf *obj, gs_err *err)
{
    gs_vcache *c = v->ecache;
    gs_vcache_hit h, uh;
    if (t != GS_VIEW_MEMBER || klen != 16) {
        if (!gs_vcache_find(c, (int)t, key, klen, &h))
            return 0;
        if (gs_vbuf_reserve(obj, h.len + 1) != 0)
            return gs_err_set(err, GS_ENOMEM, "out of memory reading views");
        if (gs_vcache_copy(&h, obj->p) != 0)
            return 0;
        obj->len = h.len;
        return 1;
    }
    /* A member: its user and its guild's deleted roles must be cached too
     * (an absent user is shown as {"id": ...}: the slow path does that). */
    uint8_t ukey[16];
    size_t uklen = gs_vkey(GS_VIEW_USER, 0, gs_get_be64(key + 8), ukey);
    gs_vtombs *set = gs_vcache_tombs(c);
    if (!set)
        return 2;
    if (gs_vcache_find2(c, (int)t, key, klen, &h, GS_VIEW_USER, ukey, uklen, &uh) != 3)
        return 0;
    uint8_t small[1024];
    uint8_t *m = h.len <= sizeof(small) ? small : malloc(h.len);
    if (!m)
        return gs_err_set(err, GS_ENOMEM, "out of memory reading views");
    int rc = 0;
    if (gs_vcache_copy(&h, m) != 0)
        goto done;
    gs_mpr r;
    gs_mpv mv;
    gs_mpr_init(&r, m, h.len);
    if (gs_mpr_read(&r, &mv) != 0 || mv.type != GS_MP_MAP || mv.n == UINT32_MAX) {
        rc = gs_err_set(err, GS_ECORRUPT, "views member: stored value is not a map");
        goto done;
    }
    const uint64_t *tombs = NULL;
    size_t ntombs = gs_vtombs_guild(set, guild, &tombs);
    const uint8_t *roles = NULL;
    size_t rlen = 0;
    int hit = ntombs && gs_vtomb_roles_find(m, h.len, tombs, ntombs, &roles, &rlen);
    /* The same object as member_object builds: {"user": user, entries}.
     * Filtering roles never makes the array longer. */
    size_t body = (size_t)(r.end - r.p);
    if (gs_vbuf_reserve(obj, 5 + 5 + uh.len + body + 1) != 0) {
        rc = gs_err_set(err, GS_ENOMEM, "out of memory reading views");
        goto done;
    }
    uint8_t *o = (uint8_t *)obj->p;
    size_t n = map_header(o, mv.n + 1);
    memcpy(o + n, "\xa4user", 5);
    n += 5;
    if (gs_vcache_copy(&uh, o + n) != 0)
        goto done;
    obj->len = n + uh.len;
    if (hit) {
        gs_vbuf_put(obj, r.p, (size_t)(roles - r.p));
        if (gs_vtomb_put_roles(roles, rlen, tombs, ntombs, obj) != GS_OK) {
            rc = gs_err_set(err, GS_ECORRUPT, "views member: stored value is damaged");
            goto done;
        }
        gs_vbuf_put(obj, roles + rlen, (size_t)(r.end - (roles + rlen)));
    } else {
        gs_vbuf_put(obj, r.p, body);
    }
    rc = obj->oom ? gs_err_set(err, GS_ENOMEM, "out of memory building a member") : 1;
done:
    if (m != small)
        free(m);
    return rc;
}

/* Render an output object in the requested format into buf. */
static int render(const uint8_t *obj, size_t len, gs_vfmt fmt, gs_vbuf *buf, gs_err *err)
{
    gs_vbuf_reset(buf);
    int rc;
    if (fmt == GS_VFMT_MSGPACK) {
        rc = gs_vbuf_put(buf, obj, len) == 0 ? GS_OK : GS_ENOMEM;
    } else {
        rc = gs_mp_to_json(buf, obj, len, 0);
        if (rc == GS_OK && gs_vbuf_putc(buf, '\0') != 0)
            rc = GS_ENOMEM;
        if (rc == GS_OK)
            buf->len--; /* NUL-terminated, not counted */
    }
    if (rc == GS_ECORRUPT)
        return gs_err_set(err, rc, "views value is damaged");
    if (rc != GS_OK)
        return gs_err_set(err, rc, "out of memory rendering a view object");
    return GS_OK;
}

/* The committed deleted roles into the cache, for a point get that found
 * them missing (they are loaded by the first apply after a start, a wipe or
 * a cache clear: a store only read would ask RocksDB on every member get).
 * Only while no apply call runs (the applier reads the set without the
 * cache lock) and RocksDB holds the cache's state all along the read (no
 * write begun that the cache has not followed: a stage left in flight,
 * views_int.h); else the apply loads them. Called without the cache lock. */
static void load_tombs(gs_views *v)
{
    if (pthread_mutex_trylock(&v->apply_mu) != 0)
        return;
    pthread_rwlock_wrlock(&v->cache_lock);
    uint64_t begun = atomic_load(&v->writes_begun);
    if (!gs_vcache_tombs(v->ecache) && begun == v->writes_level) {
        gs_err lerr;
        gs_err_clear(&lerr);
        gs_vtombs *s = gs_vcache_tombs_slot(v->ecache);
        if (s && gs_vtomb_load(v, v->ro, 1, 0, s, &lerr) == GS_OK &&
            atomic_load(&v->writes_begun) == begun)
            gs_vcache_tombs_set_loaded(v->ecache, 1);
    }
    pthread_rwlock_unlock(&v->cache_lock);
    pthread_mutex_unlock(&v->apply_mu);
}

/* Hand out an output object built by get_cached in the requested format:
 * msgpack as it is, JSON rendered (NUL-terminated). Takes obj. */
static int finish(gs_vbuf *obj, gs_vfmt fmt, char **out, size_t *len, gs_err *err)
{
    if (fmt == GS_VFMT_MSGPACK) {
        *out = obj->p;
        *len = obj->len;
        return GS_OK;
    }
    gs_vbuf buf = {0};
    /* JSON of a member or user is about 1.3x its msgpack: one allocation. */
    gs_vbuf_reserve(&buf, obj->len + obj->len / 2 + 64);
    int rc = render((const uint8_t *)obj->p, obj->len, fmt, &buf, err);
    gs_vbuf_free(obj);
    if (rc != GS_OK) {
        gs_vbuf_free(&buf);
        return rc;
    }
    *out = buf.p;
    *len = buf.len;
    return GS_OK;
}

/* The guild of an entity from the locator; 1 found, 0 not. */
static int locate(gs_views *v, const rocksdb_readoptions_t *ro, gs_view_type t, uint64_t id,
                  uint64_t *guild, gs_err *err)
{
    uint8_t key[GS_VIDX_LOCATOR_LEN];
    char *val;
    size_t vlen;
    int rc = db_get(v, ro, GS_VCF_IDX, key, gs_vlocator_key(t, id, key), &val, &vlen, err);
    if (rc != 1)
        return rc;
    if (vlen == 8)
        *guild = gs_get_be64((const uint8_t *)val);
    else
        rc = gs_err_set(err, GS_ECORRUPT, "views locator of %llu is damaged",
                        (unsigned long long)id);
    rocksdb_free(val);
    return rc;
}

/* A get that read RocksDB beside the entity cache while RocksDB was, or
 * became, ahead of it: done again on a snapshot alone. */
#define GET_AGAIN 2

/* One consistent state for every read of the call. cached: the entity
 * cache, the cache lock held for reading (no cache update can land), and
 * RocksDB's latest state for what the cache lacks, which holds the cache's
 * state only while no write has begun that the cache has not followed
 * (views_int.h, writes_begun): checked before and after the reads, else
 * GET_AGAIN. Not cached (read-only views, or again): a RocksDB snapshot. */
static int get_at(gs_views *v, gs_view_type t, uint64_t id, uint64_t guild, gs_vfmt fmt, int cached,
                  char **out, size_t *len, gs_err *err)
{
    const rocksdb_snapshot_t *snap = NULL;
    rocksdb_readoptions_t *ro = v->ro;
    uint64_t gen = 0, begun = 0;
    int was_cached = 0;
    int needs_locate = guild_scoped(t) && !keyed_by_user(t) && !guild;
    if (cached) {
        pthread_rwlock_rdlock(&v->cache_lock);
        gen = v->cache_gen;
        if (!needs_locate) {
            uint8_t key[16];
            size_t klen = gs_vkey(t, guild, id, key);
            gs_vbuf obj = {0};
            int rc = get_cached(v, t, key, klen, guild, &obj, err);
            pthread_rwlock_unlock(&v->cache_lock);
            if (rc == 1)
                return finish(&obj, fmt, out, len, err);
            gs_vbuf_free(&obj);
            if (rc < 0)
                return rc;
            if (rc == 2)
                load_tombs(v);
            pthread_rwlock_rdlock(&v->cache_lock);
            gen = v->cache_gen;
        }
        begun = atomic_load(&v->writes_begun);
        if (begun != v->writes_level) {
            pthread_rwlock_unlock(&v->cache_lock);
            return GET_AGAIN;
        }
    } else {
        snap = rocksdb_create_snapshot(v->db);
        ro = rocksdb_readoptions_create();
        if (!ro) {
            rocksdb_release_snapshot(v->db, snap);
            return gs_err_set(err, GS_ENOMEM, "cannot read views");
        }
        rocksdb_readoptions_set_snapshot(ro, snap);
    }
    int rc = 1;
    if (needs_locate)
        rc = locate(v, ro, t, id, &guild, err);
    char *val = NULL;
    size_t vlen = 0;
    uint8_t key[16];
    size_t klen = gs_vkey(t, guild, id, key);
    if (rc == 1 && cached) {
        was_cached = gs_vcache_get(v->ecache, (int)t, key, klen, &val, &vlen);
        if (was_cached < 0)
            rc = gs_err_set(err, GS_ENOMEM, "out of memory reading views");
    }
    if (rc == 1 && was_cached != 1)
        rc = db_get(v, ro, (int)t, key, klen, &val, &vlen, err);
    if (rc == 0)
        rc = gs_err_set(err, GS_ENOTFOUND, "no %s %llu", gs_view_type_name(t),
                        (unsigned long long)id);
    gs_vbuf scratch = {0}, buf = {0};
    const uint8_t *obj = NULL;
    size_t olen = 0;
    /* A member's guild's deleted roles, from the same state as the value:
     * the committed set under the cache lock, else RocksDB. */
    gs_vtombs own = {0};
    const uint64_t *tombs = NULL;
    size_t ntombs = 0;
    if (rc == 1 && t == GS_VIEW_MEMBER) {
        gs_vtombs *set = cached ? gs_vcache_tombs(v->ecache) : NULL;
        if (set) {
            ntombs = gs_vtombs_guild(set, guild, &tombs);
        } else {
            rc = gs_vtomb_load(v, ro, 0, guild, &own, err);
            rc = rc == GS_OK ? 1 : rc;
            tombs = own.p;
            ntombs = own.n;
        }
    }
    user_read user = {0};
    if (rc == 1)
        rc = out_object(v, ro, cached, t, key, klen, (const uint8_t *)val, vlen, tombs, ntombs,
                        &scratch, &obj, &olen, &user, err);
    gs_vtombs_free(&own);
    if (cached && atomic_load(&v->writes_begun) != begun)
        rc = GET_AGAIN; /* nothing remembered, nothing rendered */
    if (cached) {
        pthread_rwlock_unlock(&v->cache_lock);
        /* Remember what was read from RocksDB, unless a commit landed in
         * between (the value might be stale then). */
        if (rc == GS_OK && (was_cached != 1 || user.val)) {
            pthread_rwlock_wrlock(&v->cache_lock);
            if (v->cache_gen == gen && was_cached != 1)
                gs_vcache_put(v->ecache, (int)t, key, klen, val, vlen);
            /* The member's user too: else a member get after a restart
             * would read it from RocksDB every time. */
            if (v->cache_gen == gen && user.val) {
                uint8_t ukey[16];
                size_t uklen = gs_vkey(GS_VIEW_USER, 0, id, ukey);
                gs_vcache_put(v->ecache, GS_VIEW_USER, ukey, uklen, user.val, user.len);
            }
            pthread_rwlock_unlock(&v->cache_lock);
        }
        rocksdb_free(user.val);
    } else {
        rocksdb_readoptions_destroy(ro);
        rocksdb_release_snapshot(v->db, snap);
    }
    /* Rendering needs no lock: obj is our own copy. */
    if (rc == GS_OK)
        rc = render(obj, olen, fmt, &buf, err);
    free(val);
    gs_vbuf_free(&scratch);
    if (rc != GS_OK) {
        gs_vbuf_free(&buf);
        return rc;
    }
    *out = buf.p;
    *len = buf.len;
    return GS_OK;
}

int gs_views_get(gs_views *v, gs_view_type t, uint64_t id, uint64_t guild, gs_vfmt fmt, char **out,
                 size_t *len, gs_err *err)
{
    if ((int)t < 0 || t >= GS_VIEW_TYPE_COUNT)
        return gs_err_set(err, GS_EMISUSE, "no view type %d", (int)t);
    if (keyed_by_user(t) && !guild)
        return gs_err_set(err, GS_EMISUSE, "a %s is found by guild and user id: give the guild",
                          gs_view_type_name(t));
    int rc = v->ecache ? get_at(v, t, id, guild, fmt, 1, out, len, err) : GET_AGAIN;
    return rc == GET_AGAIN ? get_at(v, t, id, guild, fmt, 0, out, len, err) : rc;
}

/* ---- iterators ---- */

/* A Q_KEYS entity: key and where its value is in kvals. */
struct qkey {
    uint8_t key[16];
    size_t off, len;
};

enum qmode {
    Q_SCAN,   /* prefix (or full) scan of the type's family */
    Q_USERS,  /* users of a guild: scan its members, join users */
    Q_INDEX,  /* entities of a user: scan idx 'U' user, one get per guild */
    Q_SINGLE, /* one key */
    Q_KEYS,   /* listed keys (from a secondary index), in key order */
};

struct gs_vq {
    gs_views *v;
    gs_view_type type;
    enum qmode mode;
    gs_vwhere *where;
    size_t nwhere;
    uint64_t limit;
    uint64_t returned;
    uint64_t user;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it;
    uint8_t prefix[16];
    size_t plen;
    uint8_t single_key[16];
    size_t single_klen;
    int single_done;
    struct qkey *keys; /* Q_KEYS: sorted by key */
    size_t nkeys, ikey;
    gs_vbuf kvals;    /* Q_KEYS: their values */
    gs_vbuf dval;     /* a stored value decoded (vdisk.h): Q_SCAN's last result */
    int scan_pending; /* Q_SCAN: the iterator still points at the last result */
    char *val;        /* from a get, freed on the next step */
    uint8_t key[16];
    size_t klen;
    gs_vbuf scratch;
    gs_vbuf out;
    /* Members: the deleted roles of the guild of the last one read. */
    gs_vtombs tombs;
    uint64_t tomb_guild;
    int tomb_known;
};

void gs_vq_close(gs_vq *q)
{
    if (!q)
        return;
    if (q->it)
        rocksdb_iter_destroy(q->it);
    if (q->ro)
        rocksdb_readoptions_destroy(q->ro);
    if (q->snap)
        rocksdb_release_snapshot(q->v->db, q->snap);
    rocksdb_free(q->val);
    free(q->keys);
    gs_vbuf_free(&q->kvals);
    gs_vbuf_free(&q->dval);
    for (size_t i = 0; i < q->nwhere; i++) {
        free((char *)(uintptr_t)q->where[i].field);
        free((char *)(uintptr_t)q->where[i].value);
    }
    free(q->where);
    gs_vbuf_free(&q->scratch);
    gs_vbuf_free(&q->out);
    gs_vtombs_free(&q->tombs);
    free(q);
}

static int copy_where(gs_vq *q, const gs_vq_spec *s, gs_err *err)
{
    if (!s->nwhere)
        return GS_OK;
    q->where = calloc(s->nwhere, sizeof(*q->where));
    if (!q->where)
        return gs_err_set(err, GS_ENOMEM, "out of memory opening a query");
    for (size_t i = 0; i < s->nwhere; i++) {
        if (!s->where[i].field || !s->where[i].value || !*s->where[i].field)
            return gs_err_set(err, GS_EMISUSE, "where condition %zu is empty", i);
        q->where[i].field = strdup(s->where[i].field);
        q->where[i].value = strdup(s->where[i].value);
        q->nwhere = i + 1;
        if (!q->where[i].field || !q->where[i].value)
            return gs_err_set(err, GS_ENOMEM, "out of memory opening a query");
    }
    return GS_OK;
}

static int open_iter(gs_vq *q, int cf, const uint8_t *prefix, size_t plen, gs_err *err)
{
    memcpy(q->prefix, prefix, plen);
    q->plen = plen;
    q->it = rocksdb_create_iterator_cf(q->v->db, q->ro, q->v->cf[cf]);
    if (!q->it)
        return gs_err_set(err, GS_ENOMEM, "cannot create a views iterator");
    if (plen)
        rocksdb_iter_seek(q->it, (const char *)prefix, plen);
    else
        rocksdb_iter_seek_to_first(q->it);
    return GS_OK;
}

static int cmp_qkey(const void *a, const void *b)
{
    return memcmp(((const struct qkey *)a)->key, ((const struct qkey *)b)->key, 16);
}

/* Q_KEYS for `where name=value` on channels: the channels in the value's
 * name class and in class 0 (name absent or not a string: such a name may
 * still equal the value, e.g. 123 or null), values copied from the index
 * entries (same snapshot, same batch as the channel). Every candidate then
 * goes through all the where conditions, so the index only narrows the
 * scan; sorted, they come out in the scan's order. */
static int collect_named(gs_vq *q, const char *name, uint64_t guild, gs_err *err)
{
    uint64_t cls[2] = {gs_vname_hash(name, strlen(name)), 0};
    size_t cap = 0;
    for (int c = 0; c < 2; c++) {
        uint8_t p[17];
        size_t plen = 9;
        p[0] = GS_VIDX_NAME;
        gs_be64(p + 1, cls[c]);
        if (guild) {
            gs_be64(p + 9, guild);
            plen = 17;
        }
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(q->v->db, q->ro, q->v->cf[GS_VCF_IDX]);
        if (!it)
            return gs_err_set(err, GS_ENOMEM, "cannot create a views iterator");
        for (rocksdb_iter_seek(it, (const char *)p, plen); rocksdb_iter_valid(it);
             rocksdb_iter_next(it)) {
            size_t klen;
            const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
            if (klen < plen || memcmp(k, p, plen) != 0)
                break;
            if (klen != 25)
                continue;
            if (q->nkeys == cap) {
                cap = cap ? cap * 2 : 64;
                struct qkey *n = realloc(q->keys, cap * sizeof(*n));
                if (!n) {
                    rocksdb_iter_destroy(it);
                    return gs_err_set(err, GS_ENOMEM, "out of memory opening a query");
                }
                q->keys = n;
            }
            size_t vlen;
            const char *val = rocksdb_iter_value(it, &vlen);
            int rc = gs_vdisk_unpack(k, klen, (const uint8_t *)val, vlen, &q->dval,
                                     "views name index", err);
            if (rc != GS_OK) {
                rocksdb_iter_destroy(it);
                return rc;
            }
            struct qkey *e = &q->keys[q->nkeys++];
            memcpy(e->key, k + 9, 16);
            e->off = q->kvals.len;
            e->len = q->dval.len;
            gs_vbuf_put(&q->kvals, q->dval.p, q->dval.len);
        }
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        rocksdb_iter_destroy(it);
        if (rerr)
            return gs_vdb_err(err, rerr, "cannot iterate views");
    }
    if (q->kvals.oom)
        return gs_err_set(err, GS_ENOMEM, "out of memory opening a query");
    if (q->nkeys > 1)
        qsort(q->keys, q->nkeys, sizeof(*q->keys), cmp_qkey);
    return GS_OK;
}

int gs_vq_open(gs_views *v, const gs_vq_spec *s, gs_vq **out, gs_err *err)
{
    *out = NULL;
    gs_view_type t = s->type;
    if ((int)t < 0 || t >= GS_VIEW_TYPE_COUNT)
        return gs_err_set(err, GS_EMISUSE, "no view type %d", (int)t);
    if (s->user && guild_scoped(t) && !keyed_by_user(t))
        return gs_err_set(err, GS_EMISUSE,
                          "a user scope applies to member, voice_state, presence, user and guild, "
                          "not %s",
                          gs_view_type_name(t));
    gs_vq *q = calloc(1, sizeof(*q));
    if (!q)
        return gs_err_set(err, GS_ENOMEM, "out of memory opening a query");
    q->v = v;
    q->type = t;
    q->limit = s->limit;
    q->user = s->user;
    int rc = copy_where(q, s, err);
    if (rc != GS_OK)
        goto fail;
    q->snap = rocksdb_create_snapshot(v->db);
    q->ro = rocksdb_readoptions_create();
    if (!q->ro) {
        rc = gs_err_set(err, GS_ENOMEM, "out of memory opening a query");
        goto fail;
    }
    rocksdb_readoptions_set_snapshot(q->ro, q->snap);
    rocksdb_readoptions_set_total_order_seek(q->ro, 1);
    /* Full scans read every block once: keep them out of the cache. */
    if (!s->guild && !s->user)
        rocksdb_readoptions_set_fill_cache(q->ro, 0);

    /* `where name=` on channels: the name index narrows the scan. */
    const char *name = NULL;
    for (size_t i = 0; t == GS_VIEW_CHANNEL && !s->user && !s->no_index && i < q->nwhere; i++)
        if (strcmp(q->where[i].field, "name") == 0) {
            name = q->where[i].value;
            break;
        }

    uint8_t p[17];
    if (s->user && (t == GS_VIEW_USER || (keyed_by_user(t) && s->guild))) {
        q->mode = Q_SINGLE;
        q->single_klen = gs_vkey(t, s->guild, s->user, q->single_key);
    } else if (s->user) {
        q->mode = Q_INDEX;
        /* A 9-byte idx prefix: the prefix bloom may skip files. */
        rocksdb_readoptions_set_total_order_seek(q->ro, 0);
        rocksdb_readoptions_set_prefix_same_as_start(q->ro, 1);
        p[0] = 'U';
        gs_be64(p + 1, s->user);
        rc = open_iter(q, GS_VCF_IDX, p, 9, err);
    } else if (t == GS_VIEW_GUILD && s->guild) {
        q->mode = Q_SINGLE;
        q->single_klen = gs_vkey(t, 0, s->guild, q->single_key);
    } else if (t == GS_VIEW_USER && s->guild) {
        q->mode = Q_USERS;
        gs_be64(p, s->guild);
        rc = open_iter(q, GS_VIEW_MEMBER, p, 8, err);
    } else if (name) {
        q->mode = Q_KEYS;
        rocksdb_readoptions_set_total_order_seek(q->ro, 0);
        rocksdb_readoptions_set_prefix_same_as_start(q->ro, 1);
        rc = collect_named(q, name, s->guild, err);
    } else if (s->guild) {
        q->mode = Q_SCAN;
        gs_be64(p, s->guild);
        rc = open_iter(q, (int)t, p, 8, err);
    } else {
        q->mode = Q_SCAN;
        rc = open_iter(q, (int)t, p, 0, err);
    }
    if (rc != GS_OK)
        goto fail;
    *out = q;
    return GS_OK;
fail:
    gs_vq_close(q);
    return rc;
}

/* Is the iterator on a key with the prefix? 1 / 0 / <0 error. */
static int iter_ok(gs_vq *q, gs_err *err)
{
    if (!rocksdb_iter_valid(q->it)) {
        char *rerr = NULL;
        rocksdb_iter_get_error(q->it, &rerr);
        return rerr ? gs_vdb_err(err, rerr, "cannot iterate views") : 0;
    }
    size_t klen;
    const char *k = rocksdb_iter_key(q->it, &klen);
    return klen >= q->plen && memcmp(k, q->prefix, q->plen) == 0;
}

/* Step to the next stored entity of the query: 1 with key/value set (valid
 * until the next step), 0 at the end, <0 error. */
static int step(gs_vq *q, const uint8_t **key, size_t *klen, const uint8_t **val, size_t *vlen,
                gs_err *err)
{
    rocksdb_free(q->val);
    q->val = NULL;
    for (;;) {
        int rc;
        if (q->mode == Q_SINGLE) {
            if (q->single_done)
                return 0;
            q->single_done = 1;
            memcpy(q->key, q->single_key, q->single_klen);
            q->klen = q->single_klen;
        } else if (q->mode == Q_KEYS) {
            if (q->ikey == q->nkeys)
                return 0;
            const struct qkey *e = &q->keys[q->ikey++];
            memcpy(q->key, e->key, 16);
            *key = q->key;
            *klen = 16;
            *val = (const uint8_t *)q->kvals.p + e->off;
            *vlen = e->len;
            return 1;
        } else {
            rc = iter_ok(q, err);
            if (rc <= 0)
                return rc;
            size_t ik_len, iv_len;
            const uint8_t *ik = (const uint8_t *)rocksdb_iter_key(q->it, &ik_len);
            const uint8_t *iv = (const uint8_t *)rocksdb_iter_value(q->it, &iv_len);
            if (q->mode == Q_SCAN) {
                rc = gs_vdisk_unpack(ik, ik_len, iv, iv_len, &q->dval, "views", err);
                if (rc != GS_OK)
                    return rc;
                memcpy(q->key, ik, ik_len < 16 ? ik_len : 16);
                q->klen = ik_len < 16 ? ik_len : 16;
                *key = q->key;
                *klen = q->klen;
                *val = (const uint8_t *)q->dval.p;
                *vlen = q->dval.len;
                /* Advanced on the next call: iv stays valid until then. */
                q->scan_pending = 1;
                return 1;
            }
            if (q->mode == Q_USERS && ik_len == 16) {
                q->klen = gs_vkey(GS_VIEW_USER, 0, gs_get_be64(ik + 8), q->key);
            } else if (q->mode == Q_INDEX && ik_len == 17) {
                uint64_t g = gs_get_be64(ik + 9);
                /* A guild is keyed by its own id, the others by guild + user. */
                q->klen = q->type == GS_VIEW_GUILD ? gs_vkey(q->type, 0, g, q->key)
                                                   : gs_vkey(q->type, g, q->user, q->key);
            } else {
                rocksdb_iter_next(q->it);
                continue;
            }
            rocksdb_iter_next(q->it);
        }
        int cf = q->mode == Q_USERS ? GS_VIEW_USER : (int)q->type;
        size_t len;
        rc = db_get(q->v, q->ro, cf, q->key, q->klen, &q->val, &len, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue; /* index entry without its entity (rules), or absent */
        *key = q->key;
        *klen = q->klen;
        *val = (const uint8_t *)q->val;
        *vlen = len;
        return 1;
    }
}

/* A Q_SCAN step leaves the iterator on the entity just returned so its
 * value stays valid; advance it before the next step. */
static void advance(gs_vq *q)
{
    if (q->mode == Q_SCAN && q->scan_pending) {
        rocksdb_iter_next(q->it);
        q->scan_pending = 0;
    }
}

/* Next match as an output object in q->scratch or the stored value. */
static int next_match(gs_vq *q, const uint8_t **obj, size_t *olen, gs_err *err)
{
    for (;;) {
        advance(q);
        const uint8_t *key = NULL, *val = NULL;
        size_t klen = 0, vlen = 0;
        int rc = step(q, &key, &klen, &val, &vlen, err);
        if (rc <= 0)
            return rc;
        gs_view_type t = q->mode == Q_USERS ? GS_VIEW_USER : q->type;
        if (t == GS_VIEW_MEMBER && klen == 16 &&
            (!q->tomb_known || q->tomb_guild != gs_get_be64(key))) {
            /* Members come grouped by guild: one read per guild. */
            q->tomb_known = 0;
            q->tomb_guild = gs_get_be64(key);
            rc = gs_vtomb_load(q->v, q->ro, 0, q->tomb_guild, &q->tombs, err);
            if (rc != GS_OK)
                return rc;
            q->tomb_known = 1;
        }
        int tm = t == GS_VIEW_MEMBER && klen == 16;
        rc = gs_vout_object(q->v, q->ro, 0, t, key, klen, val, vlen, tm ? q->tombs.p : NULL,
                            tm ? q->tombs.n : 0, &q->scratch, obj, olen, err);
        if (rc != GS_OK)
            return rc;
        rc = gs_vwhere_match(*obj, *olen, q->where, q->nwhere);
        if (rc < 0)
            return gs_err_set(err, GS_ECORRUPT, "views %s value is damaged", gs_view_type_name(t));
        if (rc == 1)
            return 1;
    }
}

int gs_vq_next(gs_vq *q, gs_vfmt fmt, const char **out, size_t *len, gs_err *err)
{
    if (q->limit && q->returned >= q->limit)
        return 0;
    const uint8_t *obj;
    size_t olen;
    int rc = next_match(q, &obj, &olen, err);
    if (rc <= 0)
        return rc;
    rc = render(obj, olen, fmt, &q->out, err);
    if (rc != GS_OK)
        return rc;
    q->returned++;
    *out = q->out.p;
    *len = q->out.len;
    return 1;
}

int gs_vq_count(gs_vq *q, uint64_t *count, gs_err *err)
{
    uint64_t n = 0;
    int rc;
    if (q->nwhere == 0 && q->mode == Q_SCAN) {
        /* Keys only: no value is decoded. */
        advance(q);
        while ((rc = iter_ok(q, err)) == 1) {
            n++;
            rocksdb_iter_next(q->it);
        }
    } else {
        const uint8_t *obj;
        size_t olen;
        while ((rc = next_match(q, &obj, &olen, err)) == 1)
            n++;
    }
    if (rc < 0)
        return rc;
    *count = n;
    return GS_OK;
}
