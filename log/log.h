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
    gs_io *io;              /* NULL = gs_io_default() */
    int read_only;          /* no recovery writes, appends refused */
    int durability;         /* gs_durability: see gs_log_append */
    uint32_t batch_ms;      /* BATCH: max time between fsyncs */
    uint64_t batch_bytes;   /* BATCH: max raw bytes pending before fsync */
    uint64_t segment_bytes; /* roll once a segment reaches this size (>= 4096) */
    uint32_t block_bytes;   /* cut a block once it holds this many packed bytes
                               (64 .. 512 MiB) */
    int zstd_level;
    uint8_t store_id[16]; /* written in every segment header */
} gs_log_opts;

/* Defaults matching gs_options'. */
void gs_log_opts_init(gs_log_opts *o);

/* A record to append. The log copies what it needs before returning.
 * raw_len is limited to 1 GiB - 4 KiB and event_len to 65535 (GS_ETOOBIG). */
typedef struct gs_log_rec_in {
    int64_t recv_us;
    int32_t shard; /* < 0 = unknown (stored as nil, read back as -1) */
    int32_t op;
    int64_t seq;       /* gateway s, < 0 = absent/null (nil, read back as -1) */
    const char *event; /* NULL = no event (nil); "" with len 0 = empty string */
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
 * recovers the newest segment (see FORMAT.md, "Recovery") and refuses
 * (GS_EVERSION) a log holding a segment of a newer format; a read-only open
 * writes nothing. o may be NULL (defaults). In BATCH mode a flusher thread
 * is started. Close with gs_log_close. One writer per directory: the store
 * holds the lock, the log takes none. */
int gs_log_open(const char *dir, const gs_log_opts *o, gs_log **out, gs_err *err);
/* Stop the flusher, write the pending block, fsync (every mode), seal
 * nothing, close and free (also on error). Returns the first error; a
 * failed log returns GS_EFAILED if records were left undurable. NULL ok. */
int gs_log_close(gs_log *log, gs_err *err);

/* Append n records; they get consecutive LSNs, the first in *first_lsn.
 * Thread-safe; the records of one call are contiguous. What GS_OK promises
 * depends on the durability mode:
 *  - SYNC: the blocks holding these records are written and fsync'ed (and
 *    any segment created on the way is in an fsync'ed directory). Appenders
 *    that arrive while an fsync runs share the next one (group commit).
 *  - BATCH: the records are in memory. A flusher thread writes the pending
 *    block and fsyncs at least every batch_ms after the first unsynced
 *    append, or as soon as batch_bytes of records are pending. A crash loses
 *    at most that window; gs_log_durable_lsn says what is safe.
 *  - OFF: in memory; a block is written once it holds block_bytes (by the
 *    flusher thread, which compresses full blocks in BATCH and OFF mode),
 *    and fsync happens only at gs_log_sync, gs_log_close and segment roll.
 * A failed write or fsync puts the log in the failed state: that call
 * returns the real code (GS_ENOSPC, GS_EIO...) with a message naming the
 * file and offset, and every later append/sync returns GS_EFAILED. fsync
 * is never retried. Reopen to recover from what is on disk. */
int gs_log_append(gs_log *log, const gs_log_rec_in *recs, size_t n, uint64_t *first_lsn,
                  gs_err *err);
/* Write the pending block and fsync (any mode); on GS_OK everything
 * appended before the call is durable. */
int gs_log_sync(gs_log *log, gs_err *err);

/* Accessors: thread-safe, never fail. */
uint64_t gs_log_head_lsn(gs_log *log);    /* last LSN appended (0 = none) */
uint64_t gs_log_durable_lsn(gs_log *log); /* last LSN fsync'ed */
uint64_t gs_log_written_lsn(gs_log *log); /* last LSN written to a file */
/* What recovery did at open; owned by the log, valid until gs_log_close. */
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
 * (0/1 = start): binary search of the segment names, then of the sealed
 * segment's index (the active segment is scanned). If since_us != 0,
 * records with recv_us < since_us are skipped, and blocks whose max time is
 * < since_us are skipped unread (times need not be monotonic, so this is a
 * filter, not a seek). io NULL = default. Close with gs_log_reader_close.
 * A reader has its own descriptors: any thread, one at a time, also beside
 * a writer in another process. */
int gs_log_reader_open(const char *dir, gs_io *io, uint64_t from_lsn, int64_t since_us,
                       gs_log_reader **out, gs_err *err);
/* 1 = record, 0 = end of what is readable now (an incomplete block at the
 * end of the newest segment counts as "not yet written"), <0 error.
 * After GS_ECORRUPT the next call resumes at the next good block. New
 * records appended later are seen by calling next again (follow mode). */
int gs_log_reader_next(gs_log_reader *r, gs_log_rec *rec, gs_err *err);
void gs_log_reader_close(gs_log_reader *r); /* NULL ok */

/* ---- verify and stat ---- */

typedef void (*gs_log_verify_fn)(void *ud, const char *segment, uint64_t offset, int code,
                                 const char *what);
typedef struct gs_log_verify_sum {
    uint64_t segments, blocks_ok, blocks_bad, records_ok, bytes_checked;
} gs_log_verify_sum;
/* GS_OK iff every block is good, else GS_ECORRUPT (after checking all), or
 * GS_EVERSION if a segment has a format this code cannot read (reported
 * through cb too, and its blocks are not checked). */
int gs_log_verify_dir(const char *dir, gs_io *io, gs_log_verify_fn cb, void *ud,
                      gs_log_verify_sum *sum, gs_err *err);

typedef struct gs_log_stats {
    uint64_t segments, sealed_segments, blocks, records, first_lsn, last_lsn;
    int64_t min_recv_us, max_recv_us;
    uint64_t raw_bytes, compressed_bytes, file_bytes;
} gs_log_stats;
/* Counts from the index footers of sealed segments and a scan of the
 * others (a scan stops at the first bad block). */
int gs_log_stat_dir(const char *dir, gs_io *io, gs_log_stats *out, gs_err *err);

#endif
/* NOTE FROM THE LEAD: verify and stat are named gs_log_verify_dir and
 * gs_log_stat_dir because include/gatestore.h already has a public
 * gs_log_verify() (on a gs_store) and a public type gs_log_stat. Keep these
 * names. (Delete this note.) */
