/*
 * query.c - the public views API (gs_get, gs_query_*, gs_views_status_get,
 * gs_views_rebuild) over the views module, for a gs_store.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_priv.h"
#include "views.h"

static gs_views *views_or_fail(gs_store *st, gs_err *err)
{
    gs_views *v = gs_store_views(st);
    if (!v)
        gs_err_set(err, GS_EVIEW,
                   "store %s has no views (open it for writing once to build them, or they "
                   "need a rebuild)",
                   st->path);
    return v;
}

static int get_as(gs_store *st, const char *type, uint64_t id, uint64_t guild, gs_vfmt fmt,
                  char **out, size_t *len)
{
    if (!st || !type || !out)
        return GS_EMISUSE;
    gs_err err;
    gs_err_clear(&err);
    gs_view_type t;
    if (gs_view_type_parse(type, &t) != GS_OK) {
        gs_err_set(&err, GS_EMISUSE, "unknown entity type '%s'", type);
        return gs_store_fail(st, &err);
    }
    gs_views *v = views_or_fail(st, &err);
    if (!v)
        return gs_store_fail(st, &err);
    size_t n = 0;
    int rc = gs_views_get(v, t, id, guild, fmt, out, &n, &err);
    if (rc)
        return gs_store_fail(st, &err);
    if (len)
        *len = n;
    return GS_OK;
}

int gs_get(gs_store *st, const char *type, uint64_t id, uint64_t guild, char **json_out,
           size_t *len)
{
    return get_as(st, type, id, guild, GS_VFMT_JSON, json_out, len);
}

int gs_get_msgpack(gs_store *st, const char *type, uint64_t id, uint64_t guild, char **msgpack_out,
                   size_t *len)
{
    return get_as(st, type, id, guild, GS_VFMT_MSGPACK, msgpack_out, len);
}

void gs_free(void *p)
{
    free(p);
}

/* ------------------------------------------------------------- queries */

#define GS_QUERY_MAX_WHERE 16

struct gs_query {
    gs_store *st;
    gs_vq_spec spec;
    gs_vwhere where[GS_QUERY_MAX_WHERE];
    char *owned[2 * GS_QUERY_MAX_WHERE]; /* the copies where[] points to */
    gs_vq *vq;                           /* opened by the first next/count */
    int started;
    gs_err err;
};

int gs_query_create(gs_store *st, const char *type, gs_query **out)
{
    if (!st || !type || !out)
        return GS_EMISUSE;
    gs_err err;
    gs_view_type t;
    if (gs_view_type_parse(type, &t) != GS_OK) {
        gs_err_set(&err, GS_EMISUSE, "unknown entity type '%s'", type);
        return gs_store_fail(st, &err);
    }
    gs_query *q = calloc(1, sizeof(*q));
    if (!q)
        return GS_ENOMEM;
    q->st = st;
    q->spec.type = t;
    q->spec.where = q->where;
    snprintf(q->err.msg, sizeof(q->err.msg), "no error");
    *out = q;
    return GS_OK;
}

static int setter_check(gs_query *q)
{
    if (!q)
        return GS_EMISUSE;
    if (q->started)
        return gs_err_set(&q->err, GS_EMISUSE, "query options must be set before the first read");
    return GS_OK;
}

int gs_query_guild(gs_query *q, uint64_t guild)
{
    int rc = setter_check(q);
    if (rc == GS_OK)
        q->spec.guild = guild;
    return rc;
}

int gs_query_user(gs_query *q, uint64_t user)
{
    int rc = setter_check(q);
    if (rc == GS_OK)
        q->spec.user = user;
    return rc;
}

int gs_query_where(gs_query *q, const char *field, const char *value)
{
    int rc = setter_check(q);
    if (rc)
        return rc;
    if (!field || !value || !*field)
        return gs_err_set(&q->err, GS_EMISUSE, "where needs a field and a value");
    if (q->spec.nwhere == GS_QUERY_MAX_WHERE)
        return gs_err_set(&q->err, GS_EMISUSE, "at most %d where conditions", GS_QUERY_MAX_WHERE);
    char *f = strdup(field), *v = strdup(value);
    if (!f || !v) {
        free(f);
        free(v);
        return gs_err_set(&q->err, GS_ENOMEM, "out of memory");
    }
    q->owned[2 * q->spec.nwhere] = f;
    q->owned[2 * q->spec.nwhere + 1] = v;
    q->where[q->spec.nwhere].field = f;
    q->where[q->spec.nwhere].value = v;
    q->spec.nwhere++;
    return GS_OK;
}

int gs_query_limit(gs_query *q, uint64_t limit)
{
    int rc = setter_check(q);
    if (rc == GS_OK)
        q->spec.limit = limit;
    return rc;
}

static int query_start(gs_query *q)
{
    if (q->started)
        return q->vq ? GS_OK : q->err.code;
    q->started = 1;
    gs_views *v = views_or_fail(q->st, &q->err);
    if (!v)
        return q->err.code;
    return gs_vq_open(v, &q->spec, &q->vq, &q->err);
}

static int query_next(gs_query *q, gs_vfmt fmt, const char **out, size_t *len)
{
    if (!q || !out)
        return GS_EMISUSE;
    int rc = query_start(q);
    if (rc)
        return rc;
    size_t n = 0;
    rc = gs_vq_next(q->vq, fmt, out, &n, &q->err);
    if (rc == 1 && len)
        *len = n;
    return rc;
}

int gs_query_next(gs_query *q, const char **json, size_t *len)
{
    return query_next(q, GS_VFMT_JSON, json, len);
}

int gs_query_next_msgpack(gs_query *q, const char **msgpack, size_t *len)
{
    return query_next(q, GS_VFMT_MSGPACK, msgpack, len);
}

int gs_query_count(gs_query *q, uint64_t *out)
{
    if (!q || !out)
        return GS_EMISUSE;
    int rc = query_start(q);
    if (rc)
        return rc;
    return gs_vq_count(q->vq, out, &q->err);
}

const char *gs_query_errmsg(const gs_query *q)
{
    return q ? q->err.msg : "no query";
}

void gs_query_destroy(gs_query *q)
{
    if (!q)
        return;
    gs_vq_close(q->vq);
    for (size_t i = 0; i < 2 * q->spec.nwhere; i++)
        free(q->owned[i]);
    free(q);
}

/* -------------------------------------------------------- status, rebuild */

/* The start of the calls that fill an out struct: the views, or NULL with
 * *rc the code to return (GS_EMISUSE, or the store's failure, message set). */
static gs_views *views_for_call(gs_store *st, const void *out, int *rc)
{
    *rc = GS_EMISUSE;
    if (!st || !out)
        return NULL;
    gs_err err;
    gs_err_clear(&err);
    gs_views *v = views_or_fail(st, &err);
    if (!v)
        *rc = gs_store_fail(st, &err);
    return v;
}

int gs_views_memory_get(gs_store *st, gs_views_memory *out)
{
    int rc;
    gs_views *v = views_for_call(st, out, &rc);
    if (!v)
        return rc;
    gs_views_memory_read(v, out);
    return GS_OK;
}

int gs_views_status_get(gs_store *st, gs_views_status *out)
{
    int rc;
    gs_views *v = views_for_call(st, out, &rc);
    if (!v)
        return rc;
    gs_err err;
    gs_err_clear(&err);
    rc = gs_views_status_read(v, out, &err);
    if (rc)
        return gs_store_fail(st, &err);
    out->head_lsn = gs_store_head_lsn(st);
    out->lag = out->head_lsn > out->watermark ? out->head_lsn - out->watermark : 0;
    return GS_OK;
}

int gs_views_compression_get(gs_store *st, gs_views_compression *out)
{
    int rc;
    gs_views *v = views_for_call(st, out, &rc);
    if (!v)
        return rc;
    *out = gs_views_get_compression(v);
    return GS_OK;
}

int gs_views_compression_now(gs_store *st, gs_views_compression *out)
{
    int rc;
    gs_views *v = views_for_call(st, out, &rc);
    if (!v)
        return rc;
    *out = gs_views_get_compression_now(v);
    return GS_OK;
}

int gs_views_rebuild(gs_store *st)
{
    if (!st)
        return GS_EMISUSE;
    gs_err err;
    gs_err_clear(&err);
    if (!st->log) {
        gs_err_set(&err, GS_EREADONLY, "store %s is open read-only; rebuild needs a writer",
                   st->path);
        return gs_store_fail(st, &err);
    }
    gs_views *v = views_or_fail(st, &err);
    if (!v)
        return gs_store_fail(st, &err);
    int rc = gs_log_sync(st->log, &err);
    if (rc)
        return gs_store_fail(st, &err);
    /* Park the applier so the replay is the only writer of the views. */
    gs_store_views_pause(st);
    rc = gs_views_wipe(v, &err);
    if (rc == GS_OK)
        rc = gs_views_catch_up(v, st->log_dir, st->io, 0, NULL, &err);
    gs_store_views_resume(st);
    if (rc)
        return gs_store_fail(st, &err);
    return GS_OK;
}
