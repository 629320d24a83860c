/*
 * ingest.c - gs_ingest_line: one NDJSON line to one log record.
 *
 * The line is validated in full (simdjson) before anything is appended, so
 * the log only ever holds well-formed frames. Parsing is serialised on the
 * store's parser; the append happens outside that lock so that concurrent
 * SYNC-mode ingesters share fsyncs (group commit in the log).
 */
#include "gs_common.h"

#include <string.h>

#include "frame.h"
#include "ingest.h"
#include "json.h"
#include "store_int.h"
#include "store_priv.h"

/* Discord event names are short (the longest is under 40 bytes); a longer
 * `t` is refused rather than stored, so it can live on the stack. */
#define GS_MAX_EVENT_LEN 128

static int ingest_parser(gs_store *st, gs_err *err)
{
    if (st->parser)
        return GS_OK;
    gs_frame_limits lim = {st->opts.max_frame_bytes, st->opts.max_depth};
    return gs_frame_json_create(&lim, &st->parser, err);
}

void gs_store_ingest_free(gs_store *st)
{
    gs_json_destroy(st->parser);
    st->parser = NULL;
}

static size_t strip_eol(const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return len;
}

int gs_ingest_line(gs_store *st, const char *line, size_t line_len, const gs_frame_meta *meta,
                   uint64_t *lsn_out)
{
    return gs_ingest_line_cap(st, line, line_len, line_len, meta, lsn_out);
}

int gs_ingest_line_cap(gs_store *st, const char *line, size_t line_len, size_t cap,
                       const gs_frame_meta *meta, uint64_t *lsn_out)
{
    gs_err err;
    gs_err_clear(&err);
    if (!st || (!line && line_len))
        return GS_EMISUSE;
    if (!st->log) {
        gs_err_set(&err, GS_EREADONLY, "store %s is open read-only", st->path);
        return gs_store_fail(st, &err);
    }
    size_t len = strip_eol(line, line_len);
    if (len > st->opts.max_frame_bytes) {
        gs_err_set(&err, GS_ETOOBIG, "line of %zu bytes exceeds the %llu-byte frame limit", len,
                   (unsigned long long)st->opts.max_frame_bytes);
        return gs_store_fail(st, &err);
    }

    char event[GS_MAX_EVENT_LEN];
    gs_log_rec_in rec;
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_lock(&st->ingest_mu);
    int rc = ingest_parser(st, &err);
    gs_frame fr;
    if (rc == GS_OK)
        rc = gs_frame_parse(st->parser, line, len, cap, &fr, &err);
    if (rc == GS_OK && fr.op != 0) {
        pthread_mutex_unlock(&st->ingest_mu);
        return GS_SKIPPED;
    }
    if (rc == GS_OK && fr.event_len > GS_MAX_EVENT_LEN) {
        rc = gs_err_set(&err, GS_EFRAME, "event name of %zu bytes is longer than %d", fr.event_len,
                        GS_MAX_EVENT_LEN);
    }
    if (rc == GS_OK) {
        memcpy(event, fr.event, fr.event_len);
        rec.event = event;
        rec.event_len = fr.event_len;
        rec.raw = fr.raw; /* points into the caller's line */
        rec.raw_len = fr.raw_len;
        rec.op = fr.op;
        rec.seq = fr.seq;
        rec.recv_us = fr.has_recv ? fr.recv_us : (meta && meta->recv_us ? meta->recv_us : 0);
        rec.shard = fr.has_shard ? fr.shard : (meta ? meta->shard : -1);
    }
    pthread_mutex_unlock(&st->ingest_mu);
    if (rc)
        return gs_store_fail(st, &err);
    if (rec.recv_us == 0)
        rec.recv_us = gs_now_us();

    uint64_t lsn = 0;
    rc = gs_log_append(st->log, &rec, 1, &lsn, &err);
    if (rc)
        return gs_store_fail(st, &err);
    gs_subs_after_append(st, &rec, lsn);
    if (lsn_out)
        *lsn_out = lsn;
    return GS_OK;
}
