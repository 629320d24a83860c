/*
 * tomb.c - deleted-role tombstones (FORMAT.md, "Deleted roles").
 *
 * GUILD_ROLE_DELETE strips the role from every member of the guild. Doing
 * it by rewriting every member cost a scan of the guild's members per event
 * (0.6-0.9 ms for 500 members, a quarter of the update phase). Instead the
 * delete writes one idx key 'D' guild role, and every read of a member
 * leaves the roles of its guild's tombstones out. Stored member values may
 * still hold such a role; they are never shown with it.
 *
 * Exactness: a tombstone (G, R) means "no member of G holds R". If a later
 * write would give a member of G the role R again (its payload's roles list
 * R), the tombstone is first materialized: R is stripped from every stored
 * member of G (the old scan, now rare) and the tombstone removed, so the
 * member written afterwards shows R, exactly as the eager strip did.
 *
 * The writer keeps the committed tombstones in memory (in the entity cache,
 * updated at commit under its lock); queries on snapshots and read-only
 * views read them from RocksDB with the same read options as the members.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "views_int.h"

size_t gs_vtomb_key(uint64_t guild, uint64_t role, uint8_t key[17])
{
    key[0] = GS_VIDX_ROLEDEL;
    gs_be64(key + 1, guild);
    gs_be64(key + 9, role);
    return 17;
}

/* ---- the sorted pair set ---- */

/* Index of the first pair >= (g, r). */
static size_t lower(const gs_vtombs *s, uint64_t g, uint64_t r)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t mg = s->p[2 * mid], mr = s->p[2 * mid + 1];
        if (mg < g || (mg == g && mr < r))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Make room for one more pair: 0 or -1 (out of memory). */
static int room_for_one(gs_vtombs *s)
{
    if (s->n < s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *p = realloc(s->p, cap * 2 * sizeof(*p));
    if (!p)
        return -1;
    s->p = p;
    s->cap = cap;
    return 0;
}

int gs_vtombs_add(gs_vtombs *s, uint64_t g, uint64_t r)
{
    size_t i = lower(s, g, r);
    if (i < s->n && s->p[2 * i] == g && s->p[2 * i + 1] == r)
        return 0;
    if (room_for_one(s) != 0)
        return -1;
    memmove(s->p + 2 * (i + 1), s->p + 2 * i, (s->n - i) * 2 * sizeof(*s->p));
    s->p[2 * i] = g;
    s->p[2 * i + 1] = r;
    s->n++;
    return 0;
}

void gs_vtombs_del(gs_vtombs *s, uint64_t g, uint64_t r)
{
    size_t i = lower(s, g, r);
    if (i >= s->n || s->p[2 * i] != g || s->p[2 * i + 1] != r)
        return;
    memmove(s->p + 2 * i, s->p + 2 * (i + 1), (s->n - i - 1) * 2 * sizeof(*s->p));
    s->n--;
}

int gs_vtombs_has(const gs_vtombs *s, uint64_t g, uint64_t r)
{
    size_t i = lower(s, g, r);
    return i < s->n && s->p[2 * i] == g && s->p[2 * i + 1] == r;
}

size_t gs_vtombs_guild(const gs_vtombs *s, uint64_t g, const uint64_t **pairs)
{
    size_t i = lower(s, g, 0), j = i;
    while (j < s->n && s->p[2 * j] == g)
        j++;
    *pairs = s->p ? s->p + 2 * i : NULL;
    return j - i;
}

void gs_vtombs_free(gs_vtombs *s)
{
    free(s->p);
    memset(s, 0, sizeof(*s));
}

int gs_vtomb_load(gs_views *v, const rocksdb_readoptions_t *ro, int all, uint64_t guild,
                  gs_vtombs *out, gs_err *err)
{
    out->n = 0;
    uint8_t prefix[9];
    size_t plen = all ? 1 : 9;
    prefix[0] = GS_VIDX_ROLEDEL;
    gs_be64(prefix + 1, guild);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(v->db, ro, v->cf[GS_VCF_IDX]);
    if (!it)
        return gs_err_set(err, GS_ENOMEM, "cannot create views iterator");
    int rc = GS_OK;
    for (rocksdb_iter_seek(it, (const char *)prefix, plen); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, prefix, plen) != 0)
            break;
        if (klen != 17)
            continue;
        /* Keys come sorted: appending keeps the set sorted. */
        if (room_for_one(out) != 0) {
            rc = gs_err_set(err, GS_ENOMEM, "out of memory reading deleted roles");
            break;
        }
        out->p[2 * out->n] = gs_get_be64(k + 1);
        out->p[2 * out->n + 1] = gs_get_be64(k + 9);
        out->n++;
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    if (rerr && rc == GS_OK)
        rc = gs_vdb_err(err, rerr, "cannot read deleted roles");
    else
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

/* ---- reading members ---- */

static int in_roles(const uint64_t *pairs, size_t n, uint64_t role)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t r = pairs[2 * mid + 1];
        if (r == role)
            return 1;
        if (r < role)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Write the array at a[0..alen) without the tombstoned roles to out. */
static int put_filtered(const uint8_t *a, size_t alen, const uint64_t *pairs, size_t n,
                        gs_vbuf *out)
{
    gs_mpr r;
    gs_mpv h;
    gs_mpr_init(&r, a, alen);
    if (gs_mpr_read(&r, &h) != 0 || h.type != GS_MP_ARRAY)
        return -1;
    const uint8_t *body = r.p;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < h.n; i++) {
        const uint8_t *e = r.p;
        if (gs_mpr_skip(&r) != 0)
            return -1;
        uint64_t id;
        if (!(gs_mp_as_id(e, (size_t)(r.p - e), &id) && in_roles(pairs, n, id)))
            kept++;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, gs_vbuf_mp_write);
    msgpack_pack_array(&pk, kept);
    r.p = body;
    for (uint32_t i = 0; i < h.n; i++) {
        const uint8_t *e = r.p;
        gs_mpr_skip(&r);
        uint64_t id;
        if (!(gs_mp_as_id(e, (size_t)(r.p - e), &id) && in_roles(pairs, n, id)))
            gs_vbuf_put(out, e, (size_t)(r.p - e));
    }
    return 0;
}

int gs_vtomb_put_roles(const uint8_t *a, size_t alen, const uint64_t *pairs, size_t n, gs_vbuf *out)
{
    return put_filtered(a, alen, pairs, n, out) == 0 ? GS_OK : GS_ECORRUPT;
}

int gs_vtomb_roles_hit(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n)
{
    const uint8_t *a;
    size_t alen;
    return gs_vtomb_roles_find(val, vlen, pairs, n, &a, &alen);
}

int gs_vtomb_roles_find(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n,
                        const uint8_t **ap, size_t *alenp)
{
    const uint8_t *a;
    size_t alen;
    if (!n || gs_mp_map_find(val, vlen, "roles", 5, &a, &alen) != 1)
        return 0;
    *ap = a;
    *alenp = alen;
    gs_mpr r;
    gs_mpv h;
    gs_mpr_init(&r, a, alen);
    if (gs_mpr_read(&r, &h) != 0 || h.type != GS_MP_ARRAY)
        return 0;
    for (uint32_t i = 0; i < h.n; i++) {
        const uint8_t *e = r.p;
        if (gs_mpr_skip(&r) != 0)
            return 0;
        uint64_t id;
        if (gs_mp_as_id(e, (size_t)(r.p - e), &id) && in_roles(pairs, n, id))
            return 1;
    }
    return 0;
}

int gs_vtomb_put_entries(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n,
                         gs_vbuf *out, int header)
{
    gs_mpr r;
    gs_mpv m;
    gs_mpr_init(&r, val, vlen);
    if (gs_mpr_read(&r, &m) != 0 || m.type != GS_MP_MAP)
        return GS_ECORRUPT;
    if (header) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, gs_vbuf_mp_write);
        msgpack_pack_map(&pk, m.n);
    }
    for (uint32_t i = 0; i < m.n; i++) {
        const uint8_t *k = r.p;
        gs_mpv kv;
        if (gs_mpr_read(&r, &kv) != 0)
            return GS_ECORRUPT;
        r.p = k;
        if (gs_mpr_skip(&r) != 0)
            return GS_ECORRUPT;
        const uint8_t *ve = r.p;
        if (gs_mpr_skip(&r) != 0)
            return GS_ECORRUPT;
        gs_vbuf_put(out, k, (size_t)(ve - k));
        int is_roles = kv.type == GS_MP_STR && kv.len == 5 && memcmp(kv.s, "roles", 5) == 0;
        if (!is_roles || put_filtered(ve, (size_t)(r.p - ve), pairs, n, out) != 0)
            gs_vbuf_put(out, ve, (size_t)(r.p - ve));
    }
    return out->oom ? GS_ENOMEM : GS_OK;
}

int gs_vtomb_filter(const uint8_t *val, size_t vlen, const uint64_t *pairs, size_t n, gs_vbuf *out)
{
    if (!gs_vtomb_roles_hit(val, vlen, pairs, n))
        return 0;
    gs_vbuf_reset(out);
    int rc = gs_vtomb_put_entries(val, vlen, pairs, n, out, 1);
    return rc == GS_OK ? 1 : rc;
}

/* ---- the applier ---- */

int gs_vtomb_is(gs_vtx *tx, uint64_t guild, uint64_t role)
{
    uint8_t key[17];
    size_t klen = gs_vtomb_key(guild, role, key);
    gs_ov_ent e;
    if (gs_ov_get(tx->ov, GS_VCF_IDX, key, klen, &e))
        return !e.deleted;
    /* The committed set: read by this thread, changed only by its commits. */
    gs_vtombs *s = gs_vcache_tombs(tx->v->ecache);
    if (s)
        return gs_vtombs_has(s, guild, role);
    char *val;
    size_t vlen;
    int rc = gs_vtx_get(tx, GS_VCF_IDX, key, klen, &val, &vlen);
    free(val);
    return rc;
}

static int touched_has(const struct gs_vtomb_touched *t, uint64_t guild)
{
    if (t->n < 0)
        return 1;
    for (int i = 0; i < t->n; i++)
        if (t->g[i] == guild)
            return 1;
    return 0;
}

static void touch(gs_vtx *tx, uint64_t guild)
{
    struct gs_vtomb_touched *t = &tx->tomb_touched;
    if (touched_has(t, guild))
        return;
    if (t->n == GS_TOMB_TOUCHED_MAX)
        t->n = -1;
    else
        t->g[t->n++] = guild;
}

/* Whether a stage not landed yet (being built, or in flight) wrote or
 * deleted a tombstone of guild: the committed set does not show it. */
static int touched(const gs_vtx *tx, uint64_t guild)
{
    return touched_has(&tx->tomb_touched, guild) ||
           (tx->v->flight.flying && touched_has(&tx->v->flight.tomb_touched, guild));
}

int gs_vtomb_put(gs_vtx *tx, uint64_t guild, uint64_t role)
{
    uint8_t key[17];
    touch(tx, guild);
    return gs_vtx_put(tx, GS_VCF_IDX, key, gs_vtomb_key(guild, role, key), "", 0);
}

int gs_vtomb_materialize(gs_vtx *tx, uint64_t guild, uint64_t role)
{
    int rc = gs_vrole_strip(tx, guild, role);
    uint8_t key[17];
    touch(tx, guild);
    if (rc == GS_OK)
        rc = gs_vtx_del(tx, GS_VCF_IDX, key, gs_vtomb_key(guild, role, key));
    return rc;
}

int gs_vtomb_check_member(gs_vtx *tx, uint64_t guild, const uint8_t *val, size_t vlen,
                          int *materialized)
{
    *materialized = 0;
    /* Untouched by the stages not landed, the guild's tombstones are its
     * range of the committed set: scanned here, without an overlay lookup
     * and a search per role. */
    gs_vtombs *s = gs_vcache_tombs(tx->v->ecache);
    const uint64_t *gp = NULL;
    size_t gn = 0;
    int per_role = !s || touched(tx, guild);
    if (!per_role && (gn = gs_vtombs_guild(s, guild, &gp)) == 0)
        return GS_OK;
    const uint8_t *a;
    size_t alen;
    if (gs_mp_map_find(val, vlen, "roles", 5, &a, &alen) != 1)
        return GS_OK;
    gs_mpr r;
    gs_mpv h;
    gs_mpr_init(&r, a, alen);
    if (gs_mpr_read(&r, &h) != 0 || h.type != GS_MP_ARRAY)
        return GS_OK;
    /* Collect first: materializing reuses the transaction's scratch
     * buffers, which val may live in. */
    uint64_t small[16], *hits = small;
    size_t nh = 0, cap = 16;
    int rc = GS_OK;
    for (uint32_t i = 0; i < h.n && rc == GS_OK; i++) {
        const uint8_t *e = r.p;
        if (gs_mpr_skip(&r) != 0)
            break;
        uint64_t id;
        if (!gs_mp_as_id(e, (size_t)(r.p - e), &id))
            continue;
        if (per_role) {
            rc = gs_vtomb_is(tx, guild, id);
            if (rc < 0)
                break;
        } else {
            rc = in_roles(gp, gn, id);
        }
        if (rc == 1) {
            if (nh == cap) {
                uint64_t *p = malloc(cap * 2 * sizeof(*p));
                if (!p) {
                    rc = gs_err_set(tx->err, GS_ENOMEM, "out of memory checking deleted roles");
                    break;
                }
                memcpy(p, hits, nh * sizeof(*p));
                if (hits != small)
                    free(hits);
                hits = p;
                cap *= 2;
            }
            hits[nh++] = id;
        }
        rc = GS_OK;
    }
    for (size_t i = 0; i < nh && rc == GS_OK; i++)
        rc = gs_vtomb_materialize(tx, guild, hits[i]);
    if (hits != small)
        free(hits);
    if (rc == GS_OK)
        *materialized = nh != 0;
    return rc;
}

int gs_vtomb_drop_guild(gs_vtx *tx, uint64_t guild)
{
    uint8_t prefix[9];
    prefix[0] = GS_VIDX_ROLEDEL;
    gs_be64(prefix + 1, guild);
    gs_vtx_it it;
    int rc = gs_vtx_it_open(tx, GS_VCF_IDX, prefix, sizeof(prefix), &it);
    if (rc != GS_OK)
        return rc;
    gs_vbuf keys = {0};
    while ((rc = gs_vtx_it_valid(tx, &it)) == 1) {
        size_t klen;
        const uint8_t *k = gs_vtx_it_key(&it, &klen);
        if (klen == 17)
            gs_vbuf_put(&keys, k, 17);
        gs_vtx_it_next(&it);
    }
    gs_vtx_it_close(&it);
    if (rc >= 0 && keys.oom)
        rc = gs_err_set(tx->err, GS_ENOMEM, "out of memory dropping deleted roles");
    if (rc >= 0)
        rc = GS_OK;
    if (keys.len)
        touch(tx, guild);
    for (size_t off = 0; rc == GS_OK && off + 17 <= keys.len; off += 17)
        rc = gs_vtx_del(tx, GS_VCF_IDX, keys.p + off, 17);
    gs_vbuf_free(&keys);
    return rc;
}
