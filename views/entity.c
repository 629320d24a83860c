/*
 * entity.c - writing and deleting entities together with what hangs off
 * them: the locator (id -> guild) and user index (user -> guilds) in idx,
 * and the user garbage collection when a user's last membership goes.
 */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "views_int.h"

size_t gs_vkey(gs_view_type t, uint64_t guild, uint64_t id, uint8_t key[16])
{
    if (t == GS_VIEW_GUILD || t == GS_VIEW_USER) {
        gs_be64(key, id);
        return 8;
    }
    gs_be64(key, guild);
    gs_be64(key + 8, id);
    return 16;
}

int gs_vtype_has_locator(gs_view_type t)
{
    return t != GS_VIEW_GUILD && t != GS_VIEW_USER && t != GS_VIEW_MEMBER &&
           t != GS_VIEW_VOICE_STATE && t != GS_VIEW_PRESENCE;
}

/* idx keys: 'L' type id -> guild (gs_vlocator_key); 'U' user guild -> "". */
size_t gs_vlocator_key(gs_view_type t, uint64_t id, uint8_t key[GS_VIDX_LOCATOR_LEN])
{
    key[0] = GS_VIDX_LOCATOR;
    key[1] = (uint8_t)t;
    gs_be64(key + 2, id);
    return GS_VIDX_LOCATOR_LEN;
}

static size_t member_index_key(uint64_t user, uint64_t guild, uint8_t key[17])
{
    key[0] = 'U';
    gs_be64(key + 1, user);
    gs_be64(key + 9, guild);
    return 17;
}

/* The ids every value of a type starts with (FORMAT.md, "Values"). */
static int put_ids(gs_mpb *b, gs_view_type t, uint64_t guild, uint64_t id)
{
    int rc = GS_OK;
    switch (t) {
    case GS_VIEW_GUILD:
    case GS_VIEW_USER:
        return gs_mpb_idstr(b, "id", id);
    case GS_VIEW_MEMBER:
        return guild ? gs_mpb_idstr(b, "guild_id", guild) : GS_OK;
    case GS_VIEW_VOICE_STATE:
        if (guild)
            rc = gs_mpb_idstr(b, "guild_id", guild);
        return rc == GS_OK ? gs_mpb_idstr(b, "user_id", id) : rc;
    case GS_VIEW_PRESENCE:
        rc = gs_mpb_idobj(b, "user", id);
        return rc == GS_OK && guild ? gs_mpb_idstr(b, "guild_id", guild) : rc;
    default:
        rc = gs_mpb_idstr(b, "id", id);
        return rc == GS_OK && guild ? gs_mpb_idstr(b, "guild_id", guild) : rc;
    }
}

static int put_extra(gs_mpb *b, const gs_vextra *x)
{
    size_t kl = strlen(x->key);
    switch (x->kind) {
    case GS_VX_BOOL:
        return gs_mpb_bool(b, x->key, x->b);
    case GS_VX_JSON:
        return gs_mpb_json(b, x->key, kl, x->j);
    case GS_VX_IDSTR:
        return gs_mpb_idstr(b, x->key, x->id);
    case GS_VX_IDOBJ:
        return gs_mpb_idobj(b, x->key, x->id);
    case GS_VX_NULL:
        if (gs_mpb_has(b, x->key, kl))
            return GS_OK;
        if (gs_mpb_key(b, x->key, kl) != GS_OK || msgpack_pack_nil(&b->pk) != 0)
            return GS_ENOMEM;
        return GS_OK;
    }
    return GS_EMISUSE;
}

/* A set of user ids, open addressing (0 = empty; user ids are never 0):
 * tx->upend, and the stage in flight's (gs_vflight). */
static size_t uset_slot(const uint64_t *set, size_t cap, uint64_t user)
{
    size_t mask = cap - 1;
    size_t i = (size_t)((user * 0x9e3779b97f4a7c15ull) >> 20) & mask;
    while (set[i] && set[i] != user)
        i = (i + 1) & mask;
    return i;
}

static size_t upend_slot(const gs_vtx *tx, uint64_t user)
{
    return uset_slot(tx->upend, tx->upend_cap, user);
}

/* Whether the user got a user index entry in a stage not landed yet: the
 * one being built, or the one in flight. */
static int upend_has(const gs_vtx *tx, uint64_t user)
{
    const struct gs_vflight *f = &tx->v->flight;
    if (tx->upend_cap && tx->upend[upend_slot(tx, user)] == user)
        return 1;
    return f->flying && f->upend_cap && f->upend[uset_slot(f->upend, f->upend_cap, user)] == user;
}

static int upend_add(gs_vtx *tx, uint64_t user)
{
    if ((tx->upend_n + 1) * 2 > tx->upend_cap) {
        size_t cap = tx->upend_cap ? tx->upend_cap * 2 : 256;
        uint64_t *old = tx->upend;
        size_t ocap = tx->upend_cap;
        tx->upend = gs_zalloc(cap, sizeof(*tx->upend));
        if (!tx->upend) {
            tx->upend = old;
            return gs_err_set(tx->err, GS_ENOMEM, "out of memory writing views");
        }
        tx->upend_cap = cap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                tx->upend[upend_slot(tx, old[i])] = old[i];
        free(old);
    }
    size_t i = upend_slot(tx, user);
    if (!tx->upend[i]) {
        tx->upend[i] = user;
        tx->upend_n++;
    }
    return GS_OK;
}

int gs_vent_write(gs_vtx *tx, gs_view_type t, uint64_t guild, uint64_t id, const gs_jval *obj,
                  const char *const *skip, const gs_vextra *extra, size_t nextra, int mode,
                  int *existed)
{
    if (existed)
        *existed = 0;
    if (!gs_vtx_keeps(tx, (int)t))
        return GS_OK;
    uint8_t key[16];
    size_t klen = gs_vkey(t, guild, id, key);
    char *old = NULL;
    size_t old_len = 0;
    int rc = gs_vtx_get(tx, (int)t, key, klen, &old, &old_len);
    if (rc < 0)
        return rc;
    int was_there = rc;
    if (existed)
        *existed = was_there;
    if (!was_there && (mode & GS_VW_KNOWN))
        return GS_OK;
    mode &= ~GS_VW_KNOWN;

    gs_mpb *b = &tx->mb;
    gs_mpb_reset(b);
    rc = put_ids(b, t, guild, id);
    for (size_t i = 0; i < nextra && rc == GS_OK; i++)
        rc = put_extra(b, &extra[i]);
    if (rc == GS_OK && obj)
        rc = gs_mpb_json_members(b, *obj, skip);
    if (rc == GS_OK && old && mode == GS_VW_MERGE) {
        rc = gs_mpb_old_members(b, (const uint8_t *)old, old_len, skip);
        if (rc == GS_ECORRUPT)
            gs_err_set(tx->err, rc, "views %s: stored value of %llu is not a map",
                       gs_vcf_name((int)t), (unsigned long long)id);
    }
    if (rc == GS_OK)
        rc = gs_mpb_finish(b, &tx->val);
    if (rc == GS_ENOMEM)
        gs_err_set(tx->err, rc, "out of memory building a view value");
    if (rc != GS_OK) {
        free(old);
        return rc;
    }
    /* A member given a role its guild deleted before (the payload lists
     * it): the tombstone goes first (tomb.c), then the value is built again
     * (materializing reused tx->mb and tx->val). */
    gs_jval rv;
    if (t == GS_VIEW_MEMBER && obj && gs_json_getz(*obj, "roles", &rv)) {
        int redo = 0;
        rc = gs_vtomb_check_member(tx, guild, (const uint8_t *)tx->val.p, tx->val.len, &redo);
        if (rc != GS_OK || redo) {
            free(old);
            if (rc != GS_OK)
                return rc;
            return gs_vent_write(tx, t, guild, id, obj, skip, extra, nextra, mode, existed);
        }
    }
    /* Unchanged values are not rewritten: repeated snapshots and partial
     * members that match cost a read, not a write. */
    int same = old && old_len == tx->val.len && memcmp(old, tx->val.p, old_len) == 0;
    free(old);
    if (!same) {
        rc = gs_vtx_put(tx, (int)t, key, klen, tx->val.p, tx->val.len);
        if (rc != GS_OK)
            return rc;
    }
    if (was_there)
        return GS_OK;
    uint8_t ik[17];
    if (gs_vtype_has_locator(t)) {
        uint8_t g[8];
        gs_be64(g, guild);
        return gs_vtx_put(tx, GS_VCF_IDX, ik, gs_vlocator_key(t, id, ik), g, 8);
    }
    if (t == GS_VIEW_MEMBER) {
        rc = upend_add(tx, id);
        return rc == GS_OK ? gs_vtx_put(tx, GS_VCF_IDX, ik, member_index_key(id, guild, ik), "", 0)
                           : rc;
    }
    return GS_OK;
}

uint64_t gs_vname_hash(const char *s, size_t n)
{
    uint64_t h = XXH3_64bits(s, n);
    return h ? h : 1;
}

size_t gs_vname_key(uint64_t cls, uint64_t guild, uint64_t id, uint8_t key[25])
{
    key[0] = GS_VIDX_NAME;
    gs_be64(key + 1, cls);
    gs_be64(key + 9, guild);
    gs_be64(key + 17, id);
    return 25;
}

/* The name class of a stored channel value (see gs_vname_hash). */
static uint64_t name_class(const uint8_t *val, size_t len)
{
    const uint8_t *p;
    size_t pl, sl;
    const char *s;
    if (gs_mp_map_find(val, len, "name", 4, &p, &pl) == 1 && gs_mp_as_str(p, pl, &s, &sl))
        return gs_vname_hash(s, sl);
    return 0;
}

int gs_vname_index(gs_vtx *tx, const uint8_t *key, size_t klen, const void *val, size_t vlen)
{
    if (klen != 16)
        return GS_OK;
    char *old;
    size_t olen;
    int rc = gs_vtx_get(tx, GS_VIEW_CHANNEL, key, klen, &old, &olen);
    if (rc < 0)
        return rc;
    int had = rc;
    uint64_t oc = had ? name_class((const uint8_t *)old, olen) : 0;
    free(old);
    uint64_t nc = val ? name_class(val, vlen) : 0;
    uint64_t g = gs_get_be64(key), id = gs_get_be64(key + 8);
    uint8_t ik[25];
    rc = GS_OK;
    if (had && (!val || oc != nc))
        rc = gs_vtx_del(tx, GS_VCF_IDX, ik, gs_vname_key(oc, g, id, ik));
    /* The entry carries a copy of the value: a `where name=` query reads
     * its matches from the index alone. */
    if (rc == GS_OK && val)
        rc = gs_vtx_put(tx, GS_VCF_IDX, ik, gs_vname_key(nc, g, id, ik), val, vlen);
    return rc;
}

int gs_vent_user_gc(gs_vtx *tx, uint64_t user)
{
    /* Without members there is no index to tell whether a user is still
     * referenced: keep users then (FORMAT.md, "Rules"). */
    if (!gs_vtx_keeps(tx, GS_VIEW_MEMBER) || !gs_vtx_keeps(tx, GS_VIEW_USER))
        return GS_OK;
    uint64_t me = 0;
    int rc = gs_vtx_me(tx, &me);
    if (rc < 0)
        return rc;
    if (me == user)
        return GS_OK;
    /* The user map answers without a RocksDB seek (~25 us) when the user
     * got no new membership in this call: its one committed guild, unless
     * this call deleted that entry too. */
    gs_vum *um = gs_vcache_usermap(tx->v->ecache);
    uint64_t g1;
    int known = um && !upend_has(tx, user) ? gs_vum_get(um, user, &g1) : -1;
    if (known >= 0) {
        int left = 0;
        if (known == 1) {
            uint8_t ik[17];
            gs_ov_ent e;
            size_t iklen = member_index_key(user, g1, ik);
            left = !gs_ov_get(tx->ov, GS_VCF_IDX, ik, iklen, &e) || !e.deleted;
        }
        if (left)
            return GS_OK;
        uint8_t key[16];
        return gs_vtx_del(tx, GS_VIEW_USER, key, gs_vkey(GS_VIEW_USER, 0, user, key));
    }
    uint8_t prefix[9];
    prefix[0] = 'U';
    gs_be64(prefix + 1, user);
    gs_vtx_it it;
    rc = gs_vtx_it_open(tx, GS_VCF_IDX, prefix, sizeof(prefix), &it);
    if (rc != GS_OK)
        return rc;
    int member_somewhere = gs_vtx_it_valid(tx, &it);
    gs_vtx_it_close(&it);
    if (member_somewhere < 0)
        return member_somewhere;
    if (member_somewhere)
        return GS_OK;
    uint8_t key[16];
    return gs_vtx_del(tx, GS_VIEW_USER, key, gs_vkey(GS_VIEW_USER, 0, user, key));
}

int gs_vent_delete(gs_vtx *tx, gs_view_type t, uint64_t guild, uint64_t id)
{
    if (!gs_vtx_keeps(tx, (int)t))
        return GS_OK;
    uint8_t key[16];
    int rc = gs_vtx_del(tx, (int)t, key, gs_vkey(t, guild, id, key));
    if (rc != GS_OK)
        return rc;
    uint8_t ik[17];
    if (gs_vtype_has_locator(t)) {
        /* Ids collide in test data (and a locator may point at another
         * guild holding the same id): drop it only if it points here. */
        size_t iklen = gs_vlocator_key(t, id, ik);
        char *val;
        size_t vlen;
        rc = gs_vtx_get(tx, GS_VCF_IDX, ik, iklen, &val, &vlen);
        if (rc <= 0)
            return rc;
        int here = vlen == 8 && gs_get_be64((const uint8_t *)val) == guild;
        free(val);
        return here ? gs_vtx_del(tx, GS_VCF_IDX, ik, iklen) : GS_OK;
    }
    if (t == GS_VIEW_MEMBER) {
        rc = gs_vtx_del(tx, GS_VCF_IDX, ik, member_index_key(id, guild, ik));
        if (rc != GS_OK)
            return rc;
        return gs_vent_user_gc(tx, id);
    }
    return GS_OK;
}

static int ids_push(gs_vtx *tx, uint64_t id)
{
    if (tx->nids == tx->cap_ids) {
        size_t cap = tx->cap_ids ? tx->cap_ids * 2 : 256;
        uint64_t *p = realloc(tx->ids, cap * sizeof(*p));
        if (!p)
            return gs_err_set(tx->err, GS_ENOMEM, "out of memory collecting view ids");
        tx->ids = p;
        tx->cap_ids = cap;
    }
    tx->ids[tx->nids++] = id;
    return GS_OK;
}

/* Collect the ids (second key half) of type t in guild into tx->ids from
 * index start on. Deleting happens after the iterator is closed: a batch
 * must not change under its own iterator. */
static int collect_ids(gs_vtx *tx, gs_view_type t, uint64_t guild)
{
    uint8_t prefix[8];
    gs_be64(prefix, guild);
    gs_vtx_it it;
    int rc = gs_vtx_it_open(tx, (int)t, prefix, 8, &it);
    if (rc != GS_OK)
        return rc;
    while ((rc = gs_vtx_it_valid(tx, &it)) == 1) {
        size_t klen;
        const uint8_t *k = gs_vtx_it_key(&it, &klen);
        if (klen == 16) {
            rc = ids_push(tx, gs_get_be64(k + 8));
            if (rc != GS_OK)
                break;
        }
        gs_vtx_it_next(&it);
    }
    gs_vtx_it_close(&it);
    return rc < 0 ? rc : GS_OK;
}

int gs_vent_delete_guild(gs_vtx *tx, gs_view_type t, uint64_t guild)
{
    if (t == GS_VIEW_GUILD || t == GS_VIEW_USER)
        return GS_EMISUSE;
    tx->nids = 0;
    int rc = collect_ids(tx, t, guild);
    for (size_t i = 0; i < tx->nids && rc == GS_OK; i++)
        rc = gs_vent_delete(tx, t, guild, tx->ids[i]);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int default_put(gs_vtx *tx, gs_view_type t, uint64_t guild, uint64_t id, gs_jval elem)
{
    return gs_vent_write(tx, t, guild, id, &elem, NULL, NULL, 0, GS_VW_REPLACE, NULL);
}

int gs_vent_replace_set(gs_vtx *tx, gs_view_type t, uint64_t guild, gs_jval arr, const char *idkey,
                        const char *what, gs_vent_put_fn put)
{
    if (gs_json_type(arr) != GS_JARRAY)
        return gs_vtx_bad(tx, "%s is not an array", what);
    /* Validate every element first: a bad one fails the whole record. */
    tx->nids = 0;
    gs_jiter ai;
    gs_jval e;
    size_t i = 0;
    gs_json_arr_begin(arr, &ai);
    while (gs_json_arr_next(&ai, &e) == 1) {
        uint64_t id;
        int rc = gs_vreq_elem(tx, e, what, i++, idkey, &id);
        if (rc == GS_OK)
            rc = ids_push(tx, id);
        if (rc != GS_OK)
            return rc;
    }
    size_t nnew = tx->nids;
    if (nnew)
        qsort(tx->ids, nnew, sizeof(*tx->ids), cmp_u64);
    int rc = collect_ids(tx, t, guild); /* appended after the new ids */
    if (rc != GS_OK)
        return rc;
    for (size_t k = nnew; k < tx->nids && rc == GS_OK; k++) {
        uint64_t old = tx->ids[k];
        if (!nnew || !bsearch(&old, tx->ids, nnew, sizeof(*tx->ids), cmp_u64))
            rc = gs_vent_delete(tx, t, guild, old);
    }
    gs_json_arr_begin(arr, &ai);
    while (rc == GS_OK && gs_json_arr_next(&ai, &e) == 1) {
        uint64_t id = 0;
        gs_jval idv;
        gs_json_getz(e, idkey, &idv);
        gs_json_snowflake(idv, &id);
        rc = put ? put(tx, guild, id, e) : default_put(tx, t, guild, id, e);
    }
    return rc;
}

int gs_vreq_obj(gs_vtx *tx, gs_jval v, const char *what)
{
    if (gs_json_type(v) != GS_JOBJECT)
        return gs_vtx_bad(tx, "%s is not an object", what);
    return GS_OK;
}

int gs_vid_look(gs_jval obj, const char *key, uint64_t *out)
{
    gs_jval v;
    *out = 0;
    if (!gs_json_getz(obj, key, &v) || gs_json_type(v) == GS_JNULL)
        return 0;
    return gs_json_snowflake(v, out) == 0 && *out != 0 ? 1 : -1;
}

int gs_vreq_elem(gs_vtx *tx, gs_jval e, const char *what, size_t i, const char *idkey, uint64_t *id)
{
    if (gs_json_type(e) == GS_JOBJECT && (!idkey || gs_vid_look(e, idkey, id) == 1))
        return GS_OK;
    /* The slow path says what is wrong, as gs_vreq_obj and gs_vreq_id do. */
    char where[96];
    snprintf(where, sizeof(where), "%s[%zu]", what, i);
    int rc = gs_vreq_obj(tx, e, where);
    if (rc == GS_OK && idkey)
        rc = gs_vreq_id(tx, e, idkey, where, id);
    return rc;
}

static int id_of(gs_vtx *tx, gs_jval obj, const char *key, const char *what, uint64_t *out,
                 int required)
{
    int r = gs_vid_look(obj, key, out);
    if (r == 0 && required)
        return gs_vtx_bad(tx, "%s: missing %s", what, key);
    if (r < 0)
        return gs_vtx_bad(tx, "%s: %s is not a snowflake", what, key);
    return GS_OK;
}

int gs_vreq_id(gs_vtx *tx, gs_jval obj, const char *key, const char *what, uint64_t *out)
{
    return id_of(tx, obj, key, what, out, 1);
}

int gs_vopt_id(gs_vtx *tx, gs_jval obj, const char *key, const char *what, uint64_t *out)
{
    return id_of(tx, obj, key, what, out, 0);
}
