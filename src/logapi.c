/*
 * logapi.c - the public log-reading calls (gs_log_iter_*, gs_log_verify,
 * gs_log_stat_get) over the log module's reader, verify and stat.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"
#include "store_priv.h"

/* Readers see what is written to the files: push out this process's
 * pending block first, so it reads its own appends. */
static int flush_writer(gs_store *st)
{
    if (!st->log)
        return GS_OK;
    gs_err err;
    gs_err_clear(&err);
    int rc = gs_log_sync(st->log, &err);
    return rc ? gs_store_fail(st, &err) : GS_OK;
}

struct gs_log_iter {
    gs_log_reader *r;
    gs_log_range range;
    gs_err err;
};

int gs_log_iter_open(gs_store *st, const gs_log_range *range, gs_log_iter **out)
{
    if (!st || !out)
        return GS_EMISUSE;
    int rc = flush_writer(st);
    if (rc)
        return rc;
    gs_err err;
    gs_err_clear(&err);
    gs_log_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return GS_ENOMEM;
    if (range)
        it->range = *range;
    rc = gs_log_reader_open(st->log_dir, st->io, it->range.from_lsn, it->range.since_us, &it->r,
                            &err);
    if (rc) {
        free(it);
        return gs_store_fail(st, &err);
    }
    *out = it;
    return GS_OK;
}

int gs_log_iter_next(gs_log_iter *it, gs_record *rec)
{
    if (!it || !rec)
        return GS_EMISUSE;
    for (;;) {
        gs_log_rec r;
        int rc = gs_log_reader_next(it->r, &r, &it->err);
        if (rc <= 0)
            return rc;
        if (it->range.to_lsn && r.lsn > it->range.to_lsn)
            return 0;
        if (it->range.since_us && r.recv_us < it->range.since_us)
            continue;
        if (it->range.until_us && r.recv_us > it->range.until_us)
            continue;
        rec->lsn = r.lsn;
        rec->recv_us = r.recv_us;
        rec->shard = r.shard;
        rec->op = r.op;
        rec->seq = r.seq;
        rec->event = r.event;
        rec->event_len = r.event_len;
        rec->raw = r.raw;
        rec->raw_len = r.raw_len;
        return 1;
    }
}

const char *gs_log_iter_errmsg(const gs_log_iter *it)
{
    return it ? it->err.msg : "no iterator";
}

void gs_log_iter_close(gs_log_iter *it)
{
    if (!it)
        return;
    gs_log_reader_close(it->r);
    free(it);
}

int gs_log_verify(gs_store *st, gs_verify_fn cb, void *userdata, gs_verify_summary *out)
{
    if (!st)
        return GS_EMISUSE;
    int rc = flush_writer(st);
    if (rc)
        return rc;
    gs_err err;
    gs_err_clear(&err);
    gs_log_verify_sum sum;
    memset(&sum, 0, sizeof(sum));
    rc = gs_log_verify_dir(st->log_dir, st->io, cb, userdata, &sum, &err);
    if (out) {
        out->segments = sum.segments;
        out->blocks_ok = sum.blocks_ok;
        out->blocks_bad = sum.blocks_bad;
        out->records_ok = sum.records_ok;
        out->bytes_checked = sum.bytes_checked;
    }
    if (rc)
        return gs_store_fail(st, &err);
    return GS_OK;
}

int gs_log_stat_get(gs_store *st, gs_log_stat *out)
{
    if (!st || !out)
        return GS_EMISUSE;
    int rc = flush_writer(st);
    if (rc)
        return rc;
    gs_err err;
    gs_err_clear(&err);
    gs_log_stats s;
    rc = gs_log_stat_dir(st->log_dir, st->io, &s, &err);
    if (rc)
        return gs_store_fail(st, &err);
    out->segments = s.segments;
    out->sealed_segments = s.sealed_segments;
    out->blocks = s.blocks;
    out->records = s.records;
    out->first_lsn = s.first_lsn;
    out->last_lsn = s.last_lsn;
    out->min_recv_us = s.min_recv_us;
    out->max_recv_us = s.max_recv_us;
    out->raw_bytes = s.raw_bytes;
    out->compressed_bytes = s.compressed_bytes;
    out->file_bytes = s.file_bytes;
    return GS_OK;
}
