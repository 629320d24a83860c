/*
 * log.h - the segment log: interface of the log/ module to the rest of
 * gatestore. Format: log/FORMAT.md.
 *
 * The log is a directory of segment files named by the first LSN they hold.
 * Records carry LSN, receive time, shard, gateway `s`, op, event name and
 * the frame's original bytes; they are packed in msgpack, grouped in blocks,
 * compressed with zstd and checksummed with XXH3-64.
 *
 * Thread-safety: a gs_log (writer) may be shared by threads: appends,
 * flushes and the accessors take its mutex. Iterators and verify open their
 * own file descriptors and may run in any thread, also in another process,
 * beside the writer. An iterator is used by one thread at a time.
 *
 * Errors: every fallible call takes a gs_err * (may be NULL) and returns a
 * GS_E* code; the message names the segment file and byte offset.
 */
#ifndef GS_LOG_H
#define GS_LOG_H

#include "gs_common.h"
#include "io.h"

typedef struct gs_log gs_log;
typedef struct gs_log_reader gs_log_reader;

typedef struct gs_log_opts {
    gs_io *io;                /* NULL = gs_io_default() */
    int read_only;            /* no recovery writes, appends refused */
    int durability;           /* gs_durability */
    uint32_t batch_ms;        /* BATCH: max time between fsyncs */
    uint64_t batch_bytes;     /* BATCH: max raw bytes pending before fsync */
    uint64_t segment_bytes;   /* roll once a segment reaches this size */
    uint32_t block_bytes;     /* cut a block once it holds this many raw bytes */
    int zstd_level;
    uint8_t store_id[16];     /* written in every segment header */
} gs_log_opts;

/* Defaults matching gs_options'. */
void gs_log_opts_init(gs_log_opts *o);

/* A record to append. The log copies what it needs before returning. */
typedef struct gs_log_rec_in {
    int64_t recv_us;
    int32_t shard;  /* -1 = unknown */
    int32_t op;
    int64_t seq;    /* gateway s, -1 = absent/null */
    const char *event;
    size_t event_len;
    const char *raw;
    size_t raw_len;
} gs_log_rec_in;

/* What recovery did on a writable open. */
typedef struct gs_log_recovery {
    int truncated;
    uint64_t bytes_dropped;
    uint64_t last_good_lsn;
    char segment[64];     /* segment file name */
    uint64_t offset;      /* where it was cut */
    char quarantine[256]; /* path the dropped bytes were copied to, or "" */
    int mid_damage;       /* 1 if damage was found before valid blocks (not cut) */
} gs_log_recovery;

/* Open the log in dir (created if missing and !read_only). A writable open
 * recovers the newest segment (see FORMAT.md, "Recovery"). Close with
 * gs_log_close. */
int gs_log_open(const char *dir, const gs_log_opts *o, gs_log **out, gs_err *err);
/* Flush, fsync (every mode), seal nothing, close. Returns the first error. */
int gs_log_close(gs_log *log, gs_err *err);

/* Append n records; they get consecutive LSNs, the first in *first_lsn.
 * Blocks according to the durability mode (SYNC: returns after fsync).
 * After a failed write or fsync the log is failed: this and every later
 * append return GS_EFAILED (the original error is reported once). */
int gs_log_append(gs_log *log, const gs_log_rec_in *recs, size_t n, uint64_t *first_lsn,
                  gs_err *err);
/* Write the pending block and fsync (any mode). */
int gs_log_sync(gs_log *log, gs_err *err);

uint64_t gs_log_head_lsn(gs_log *log);    /* last LSN appended (0 = none) */
uint64_t gs_log_durable_lsn(gs_log *log); /* last LSN fsync'ed */
uint64_t gs_log_written_lsn(gs_log *log); /* last LSN written to a file */
const gs_log_recovery *gs_log_recovery_info(gs_log *log);

/* Wait until head_lsn > after_lsn or timeout; returns the head. For live
 * readers in this process (tail --follow, subscriptions). */
uint64_t gs_log_wait_head(gs_log *log, uint64_t after_lsn, uint32_t timeout_ms);

/* ---- reading (no gs_log needed: works on a directory, read-only) ---- */

/* A decoded record; pointers valid until the next call on the reader. */
typedef struct gs_log_rec {
    uint64_t lsn;
    int64_t recv_us;
    int32_t shard;
    int32_t op;
    int64_t seq;
    const char *event;
    size_t event_len;
    const char *raw;
    size_t raw_len;
} gs_log_rec;

/* Open a reader on dir positioned at the first record with lsn >= from_lsn
 * (0/1 = start) and, if since_us != 0, recv_us >= since_us (blocks whose
 * max time is < since_us are skipped using the segment indexes). */
int gs_log_reader_open(const char *dir, gs_io *io, uint64_t from_lsn, int64_t since_us,
                       gs_log_reader **out, gs_err *err);
/* 1 = record, 0 = end of what is readable now (an incomplete block at the
 * end of the newest segment counts as "not yet written"), <0 error.
 * After GS_ECORRUPT the next call resumes at the next good block. New
 * records appended later are seen by calling next again (follow mode). */
int gs_log_reader_next(gs_log_reader *r, gs_log_rec *rec, gs_err *err);
void gs_log_reader_close(gs_log_reader *r);

/* ---- verify and stat ---- */

typedef void (*gs_log_verify_fn)(void *ud, const char *segment, uint64_t offset, int code,
                                 const char *what);
typedef struct gs_log_verify_sum {
    uint64_t segments, blocks_ok, blocks_bad, records_ok, bytes_checked;
} gs_log_verify_sum;
/* GS_OK iff every block is good, else GS_ECORRUPT (after checking all). */
int gs_log_verify_dir(const char *dir, gs_io *io, gs_log_verify_fn cb, void *ud,
                  gs_log_verify_sum *sum, gs_err *err);

typedef struct gs_log_stats {
    uint64_t segments, sealed_segments, blocks, records, first_lsn, last_lsn;
    int64_t min_recv_us, max_recv_us;
    uint64_t raw_bytes, compressed_bytes, file_bytes;
} gs_log_stats;
int gs_log_stat_dir(const char *dir, gs_io *io, gs_log_stats *out, gs_err *err);

#endif
