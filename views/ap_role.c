/*
 * ap_role.c - GUILD_ROLE_CREATE / UPDATE / DELETE. Deleting a role also
 * strips it from every member's role list (Discord sends no
 * GUILD_MEMBER_UPDATE for that): by a tombstone that reads leave out
 * (tomb.c), materialized by gs_vrole_strip only when a later write gives
 * the role back.
 */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "views_int.h"

int gs_vh_role_upsert(gs_vtx *tx, gs_jval d)
{
    uint64_t g, id;
    gs_jval role;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "guild_id", "d", &g);
    if (rc == GS_OK && !gs_json_getz(d, "role", &role))
        rc = gs_vtx_bad(tx, "d: missing role");
    if (rc == GS_OK)
        rc = gs_vreq_obj(tx, role, "d.role");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, role, "id", "d.role", &id);
    if (rc != GS_OK)
        return rc;
    return gs_vent_write(tx, GS_VIEW_ROLE, g, id, &role, NULL, NULL, 0, GS_VW_MERGE, NULL);
}

/* A cheap test that a member value cannot hold role (0), before decoding
 * it: a role id in "roles" is either a decimal string (whose digits contain
 * the canonical decimal of role, leading zeros or not) or an integer; a
 * large one is packed as 8 big-endian bytes. 1 = maybe. */
typedef struct role_probe {
    char dec[24];
    size_t declen;
    uint8_t be[8];
    int small; /* below 2^32: integers may be packed shorter; always decode */
} role_probe;

static void probe_init(role_probe *pr, uint64_t role)
{
    pr->declen = (size_t)snprintf(pr->dec, sizeof(pr->dec), "%llu", (unsigned long long)role);
    gs_be64(pr->be, role);
    pr->small = role <= UINT32_MAX;
}

static int maybe_has_role(const role_probe *pr, const uint8_t *val, size_t len)
{
    return pr->small || memmem(val, len, pr->dec, pr->declen) || memmem(val, len, pr->be, 8);
}

/* If the member value has role in its "roles" array, write the array
 * without it to out (as msgpack) and return 1; 0 if not there. */
static int roles_without(const uint8_t *val, size_t len, uint64_t role, gs_vbuf *out)
{
    const uint8_t *p;
    size_t pl;
    if (gs_mp_map_find(val, len, "roles", 5, &p, &pl) != 1)
        return 0;
    gs_mpr r;
    gs_mpv a;
    gs_mpr_init(&r, p, pl);
    if (gs_mpr_read(&r, &a) != 0 || a.type != GS_MP_ARRAY)
        return 0;
    int found = 0;
    uint32_t kept = 0;
    gs_vbuf body = {0};
    for (uint32_t i = 0; i < a.n; i++) {
        const uint8_t *e = r.p;
        if (gs_mpr_skip(&r) != 0)
            break;
        uint64_t id;
        if (gs_mp_as_id(e, (size_t)(r.p - e), &id) && id == role) {
            found = 1;
            continue;
        }
        gs_vbuf_put(&body, e, (size_t)(r.p - e));
        kept++;
    }
    if (found) {
        msgpack_packer pk;
        gs_vbuf_reset(out);
        msgpack_packer_init(&pk, out, gs_vbuf_mp_write);
        msgpack_pack_array(&pk, kept);
        gs_vbuf_put(out, body.p, body.len);
        if (body.oom)
            out->oom = 1;
    }
    gs_vbuf_free(&body);
    return found;
}

int gs_vh_role_delete(gs_vtx *tx, gs_jval d)
{
    uint64_t g, role;
    int rc = gs_vreq_obj(tx, d, "d");
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "guild_id", "d", &g);
    if (rc == GS_OK)
        rc = gs_vreq_id(tx, d, "role_id", "d", &role);
    if (rc == GS_OK)
        rc = gs_vent_delete(tx, GS_VIEW_ROLE, g, role);
    if (rc != GS_OK || !gs_vtx_keeps(tx, GS_VIEW_MEMBER))
        return rc;
    /* One key instead of a rewrite of every member holding the role. */
    return gs_vtomb_put(tx, g, role);
}

int gs_vrole_strip(gs_vtx *tx, uint64_t g, uint64_t role)
{
    int rc;
    /* Members holding the role get their list rewritten: the new values are
     * built during the scan and written after it (the batch must not
     * change under its own iterator). */
    uint8_t prefix[8];
    gs_be64(prefix, g);
    gs_vtx_it it;
    rc = gs_vtx_it_open(tx, GS_VIEW_MEMBER, prefix, 8, &it);
    if (rc != GS_OK)
        return rc;
    gs_vbuf pending = {0}; /* repeated: u64 user, u32 len, value */
    gs_vbuf roles = {0};
    role_probe pr;
    probe_init(&pr, role);
    while ((rc = gs_vtx_it_valid(tx, &it)) == 1) {
        size_t klen, vlen;
        const uint8_t *k = gs_vtx_it_key(&it, &klen);
        const uint8_t *v = gs_vtx_it_val(&it, &vlen);
        if (klen == 16 && maybe_has_role(&pr, v, vlen) && roles_without(v, vlen, role, &roles)) {
            gs_mpb *b = &tx->mb;
            gs_mpb_reset(b);
            int brc = gs_mpb_raw(b, "roles", 5, (const uint8_t *)roles.p, roles.len);
            if (brc == GS_OK)
                brc = gs_mpb_old_members(b, v, vlen, NULL);
            if (brc == GS_OK)
                brc = gs_mpb_finish(b, &tx->val);
            if (brc == GS_OK && roles.oom)
                brc = GS_ENOMEM;
            if (brc != GS_OK) {
                rc = gs_err_set(tx->err, brc, "cannot rewrite member roles in guild %llu",
                                (unsigned long long)g);
                break;
            }
            uint8_t hdr[12];
            gs_be64(hdr, gs_get_be64(k + 8));
            gs_be32(hdr + 8, (uint32_t)tx->val.len);
            gs_vbuf_put(&pending, hdr, sizeof(hdr));
            gs_vbuf_put(&pending, tx->val.p, tx->val.len);
        }
        gs_vtx_it_next(&it);
    }
    gs_vtx_it_close(&it);
    if (rc >= 0 && pending.oom)
        rc = gs_err_set(tx->err, GS_ENOMEM, "out of memory rewriting member roles");
    if (rc >= 0)
        rc = GS_OK;
    for (size_t off = 0; rc == GS_OK && off + 12 <= pending.len;) {
        const uint8_t *h = (const uint8_t *)pending.p + off;
        uint32_t len = gs_get_be32(h + 8);
        uint8_t key[16];
        size_t klen = gs_vkey(GS_VIEW_MEMBER, g, gs_get_be64(h), key);
        rc = gs_vtx_put(tx, GS_VIEW_MEMBER, key, klen, h + 12, len);
        off += 12 + len;
    }
    gs_vbuf_free(&pending);
    gs_vbuf_free(&roles);
    return rc;
}
