/*
 * views.h - the views module: derived, queryable Discord state kept in one
 * RocksDB database (STORE/views/), built only from log records. Format and
 * semantics: views/FORMAT.md.
 *
 * How the store drives it (the only writer):
 *   1. gs_views_open() on store open. It creates the database if missing and
 *      wipes it when the view schema version or the rules differ from what
 *      it was built with (gs_views_wiped_reason() then says why). Then check
 *      gs_views_watermark() <= the log's head; if not (the log lost its tail
 *      after a power cut) call gs_views_wipe().
 *   2. Catch up: gs_views_catch_up() reads the log from watermark+1 and
 *      applies it. The applier thread calls it again whenever the log grows
 *      (or feeds gs_views_apply() itself with records in LSN order).
 *   3. gs_views_close() on store close (flushes the memtables).
 * Queries (gs_views_get, gs_vq_*, gs_views_status_read, gs_views_dump) may run
 * in any thread at any time, each on its own RocksDB snapshot.
 *
 * Thread-safety: a gs_views may be shared by threads. gs_views_apply (and
 * its _more and _inline forms), gs_views_settle, gs_views_wipe and
 * gs_views_catch_up serialize on an internal mutex, so two appliers never
 * interleave (but the caller must still give records in LSN order). Query
 * calls never wait for an apply call (point gets share a read lock with
 * the entity cache's updates only). gs_views_close must not race any other
 * call on the same handle.
 *
 * Errors: every fallible call takes a gs_err * (may be NULL) and returns a
 * GS_E* code. RocksDB messages are copied into the gs_err and never escape
 * this module as RocksDB strings.
 */
#ifndef GS_VIEWS_H
#define GS_VIEWS_H

#include <stdio.h>

#include "gs_common.h"
#include "log.h"

/* The view schema version: the layout of keys and values and the meaning
 * of the events. Bumping it makes every store rebuild its views by replay
 * on the next open (see FORMAT.md, "Schema version"). */
#define GS_VIEWS_SCHEMA 4

typedef struct gs_views gs_views;

/* What the views keep. */
typedef struct gs_views_rules {
    uint32_t keep; /* GS_VIEW_BIT() mask of entity types kept; GS_VIEW_ALL = all */
    /* 1: ignore keep and use the rules the views were built with (new views:
     * keep everything). What a store does when its opener sets no rules, so
     * rules chosen once stay until someone changes them. */
    int use_stored;
} gs_views_rules;

/* Open (creating if missing) the views database in dir. rules may be NULL
 * (keep everything). When the stored schema version or rules differ from
 * these, or the database is damaged, it is wiped and recreated empty: the
 * caller must then replay the log from LSN 1 (gs_views_catch_up does that
 * since the watermark is 0). Close with gs_views_close. */
int gs_views_open(const char *dir, const gs_views_rules *rules, gs_views **out, gs_err *err);
/* Memory and flush tuning (0 fields take the defaults: 40 MiB entity cache,
 * 8 MiB block cache, 8 MiB write buffers for members/users/presences and
 * 2 MiB for the other families, 16 MiB for all write buffers together).
 * Tests use tiny buffers to make flushes (and crashes during them)
 * frequent. */
typedef struct gs_views_tuning {
    size_t cache_bytes;              /* RocksDB block cache */
    size_t big_write_buffer_bytes;   /* 0: half of db_write_buffer_bytes */
    size_t small_write_buffer_bytes; /* 0: an eighth of it */
    size_t db_write_buffer_bytes;    /* all write buffers together */
    size_t entity_cache_bytes;       /* in-process entity cache (cache.h) */
    int no_entity_cache;             /* 1: none */
    /* 1: each apply call commits in line on the caller's thread. 0: a
     * committer thread writes one stage of a long call while the next is
     * built (apply.c). */
    int serial_commit;
    size_t stage_records; /* records per stage (0: apply.c's 256); tests use few */
    /* Block compression of the big families (gs_views_compression); DEFAULT
     * keeps the stored choice (AUTO for new views). A choice other than the
     * stored one is stored at open; no rebuild (FORMAT.md, meta). */
    gs_views_compression compression;
    /* AUTO's threshold: the big families' table file bytes past which they
     * are written with LZ4 (0: db.c's, from the cache budgets). Tests make
     * it small. */
    uint64_t auto_lz4_bytes;
    /* 1: the close leaves L0 as it is (db.c, close_compact); for
     * measurements and tests. */
    int no_close_compact;
} gs_views_tuning;

/* gs_views_open with tuning (may be NULL). */
int gs_views_open_tuned(const char *dir, const gs_views_rules *rules, const gs_views_tuning *tuning,
                        gs_views **out, gs_err *err);

/* Open an existing views database read-only (beside a writer in another
 * process). It sees what the writer last flushed. Fails with GS_EVIEW if the
 * views need a rebuild (schema differs), GS_ENOTFOUND if there are none.
 * Apply, wipe and catch-up return GS_EREADONLY. */
int gs_views_open_readonly(const char *dir, gs_views **out, gs_err *err);
/* NULL, or why gs_views_open wiped the views ("view schema version 0 -> 1",
 * "rules changed: ...", "views damaged: ..."). Owned by v. */
const char *gs_views_wiped_reason(const gs_views *v);
/* Flush every column family together and close. Returns the first error;
 * v is freed anyway. NULL is accepted. */
int gs_views_close(gs_views *v, gs_err *err);

/* LSN of the last record applied (0 = none). */
uint64_t gs_views_watermark(gs_views *v);
/* The rules the views were built with. */
gs_views_rules gs_views_get_rules(const gs_views *v);
/* The compression choice of the big families in force (ZSTD, LZ4 or
 * AUTO). */
gs_views_compression gs_views_get_compression(const gs_views *v);
/* What their flushes and compactions write now: ZSTD or LZ4 (AUTO: ZSTD
 * until the families pass its threshold). Thread-safe. */
gs_views_compression gs_views_get_compression_now(gs_views *v);

/*
 * Apply n records (ascending LSN). Records with lsn <= watermark are
 * skipped. The call's entity writes go to RocksDB in stages (FORMAT.md,
 * section 5): each stage's writes plus its watermark (the stage's last LSN)
 * in one atomic write; the stages of a long call are written by the
 * committer thread while the next is built. A record whose payload cannot
 * be applied (bad JSON, missing ids, wrong types) changes nothing: its
 * writes are rolled back, its LSN and reason are recorded (see
 * gs_views_status) and the other records of the call are applied. Returns
 * GS_OK then, with every stage written. Any other error (I/O, corrupt
 * views) is returned; the stages written before it stay and the watermark
 * is theirs (gs_views_watermark), so the records after it can be retried.
 * Record pointers are only read during the call.
 */
int gs_views_apply(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err);
/* gs_views_apply on the caller's thread alone, the call in one write: for
 * the store's live applier, which runs beside ingest and RocksDB's flushes
 * with both cores busy already. There the committer thread gave nothing
 * (README, "Committing on the second core"), and in line the memtables
 * are filled from one thread's malloc arena, as before stages; catch-ups
 * (replay.c) use the committer. */
int gs_views_apply_inline(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err);
/* gs_views_apply for a caller with more batches to come (replays): the
 * call's last stage may still be being written when it returns, while the
 * caller reads its next batch. The next apply call (of any kind) builds on
 * it, and it lands, becoming the watermark, in that call, in
 * gs_views_settle, gs_views_wipe or gs_views_close. Until then
 * gs_views_watermark is the stage before's, and a query sees the views
 * either with or without that stage, each call one of the two (a point get
 * that would mix the entity cache with RocksDB reads a snapshot alone:
 * FORMAT.md section 5). GS_OK says the records were applied and
 * handed to the committer; a failure of that last write is returned by
 * whichever call lands it, the watermark then staying at the stage before.
 * In-line and serial-commit views land it before returning, as
 * gs_views_apply does. */
int gs_views_apply_more(gs_views *v, const gs_log_rec *recs, size_t n, gs_err *err);
/* Land the stage left in flight by gs_views_apply_more, if any: its write's
 * outcome (GS_OK when none). Takes the apply mutex. */
int gs_views_settle(gs_views *v, gs_err *err);

/* Memory housekeeping: malloc_trim at most every 250 ms, and a fresh write
 * batch and JSON parser once a second (see trim() in apply.c). By default
 * gs_views_apply does it after its commit. A caller that wakes waiters on
 * each batch's watermark (the store's applier) defers it with
 * gs_views_defer_housekeeping(v, 1) and calls gs_views_housekeep once the
 * watermark is published, so the trim (a millisecond or more) never sits
 * between a commit and its confirmation. gs_views_housekeep trims when due
 * if idle is set (nothing waiting to be applied), and in any case once a
 * trim is a second overdue, so a store that never goes idle still trims.
 * Both take the apply mutex. */
void gs_views_defer_housekeeping(gs_views *v, int on);
void gs_views_housekeep(gs_views *v, int idle);

/* Drop every entity and the failure list and set the watermark to 0, in one
 * atomic write, keeping schema version and rules. Readers running at the
 * same time keep their snapshot. Follow with gs_views_catch_up to rebuild. */
int gs_views_wipe(gs_views *v, gs_err *err);

/* Read the log in log_dir (io may be NULL: the real file system) from
 * watermark+1 and apply it in batches, up to until_lsn (0 = all that is
 * readable). Damaged log blocks are skipped, as a rebuild would skip
 * them. Holds an internal mutex for the whole call (gs_views_wipe waits for
 * it), so a wipe never lands in the middle of a replay. *applied (may be
 * NULL) gets the number of records read. */
int gs_views_catch_up(gs_views *v, const char *log_dir, gs_io *io, uint64_t until_lsn,
                      uint64_t *applied, gs_err *err);

/* A follower keeps one log reader open across calls, so following a
 * growing log costs only the new records (gs_views_catch_up seeks anew each
 * call). Used by the store's applier thread; serialised with catch-up and
 * apply on the views' catch-up mutex. Close with gs_views_follower_close
 * before closing the views. */
typedef struct gs_views_follower gs_views_follower;
int gs_views_follower_open(gs_views *v, const char *log_dir, gs_io *io, gs_views_follower **out,
                           gs_err *err);
/* Apply what the log has written beyond the watermark (up to until_lsn, 0 =
 * all readable now). Re-seeks if the watermark moved (rebuild). */
int gs_views_follower_step(gs_views_follower *f, uint64_t until_lsn, uint64_t *applied,
                           gs_err *err);
void gs_views_follower_close(gs_views_follower *f);

/* Fill out (the public gs_views_status; head_lsn and lag are left 0, the
 * store knows the head) from the views' meta data. */
int gs_views_status_read(gs_views *v, gs_views_status *out, gs_err *err);
/* Fill out (the public gs_views_memory). Thread-safe. */
void gs_views_memory_read(gs_views *v, gs_views_memory *out);

/* ---- queries ---- */

/* Output encodings of query results. */
typedef enum gs_vfmt {
    GS_VFMT_JSON = 0,   /* Discord-shaped JSON text, ids as strings */
    GS_VFMT_MSGPACK = 1 /* the same object as msgpack */
} gs_vfmt;

/* Point get. guild is required for member, voice_state and presence (the
 * key is guild + user id) and optional for the other guild-scoped types
 * (0 = look the id up in the locator index). Returns GS_OK with *out a
 * malloc'ed buffer (free()) of *len bytes (JSON is also NUL-terminated),
 * GS_ENOTFOUND if absent, GS_EMISUSE for a missing required guild. */
int gs_views_get(gs_views *v, gs_view_type t, uint64_t id, uint64_t guild, gs_vfmt fmt, char **out,
                 size_t *len, gs_err *err);

/* One `where` condition: field (dotted path into the object, e.g. "name",
 * "thread_metadata.archived", "user.username") equals value (compared as the
 * field's type: string bytes, integer, true/false, null; an array field
 * matches if an element equals value; an absent field equals "null"). */
typedef struct gs_vwhere {
    const char *field;
    const char *value;
} gs_vwhere;

typedef struct gs_vq_spec {
    gs_view_type type;
    uint64_t guild;         /* 0 = every guild */
    uint64_t user;          /* 0 = any; else only entities of this user (member,
                               voice_state, presence, user; guild = guilds the
                               user is a member of) */
    const gs_vwhere *where; /* AND of equalities; copied by gs_vq_open */
    size_t nwhere;
    uint64_t limit; /* 0 = no limit */
    int no_index;   /* 1: never use a secondary index (tests and benchmarks
                       compare it with the plain scan) */
} gs_vq_spec;

typedef struct gs_vq gs_vq;

/* Open a query on one RocksDB snapshot taken now. Close with gs_vq_close.
 * A query belongs to one thread at a time. */
int gs_vq_open(gs_views *v, const gs_vq_spec *spec, gs_vq **out, gs_err *err);
/* Next matching entity: 1 with *out and *len set (valid until the next call on
 * q), 0 at the end (or once limit results were returned), <0 on error. */
int gs_vq_next(gs_vq *q, gs_vfmt fmt, const char **out, size_t *len, gs_err *err);
/* Count the remaining matches (ignores limit). */
int gs_vq_count(gs_vq *q, uint64_t *count, gs_err *err);
void gs_vq_close(gs_vq *q);

/* Write every key and value of every column family (except the watermark),
 * in a fixed order, as text lines `family<TAB>hex key<TAB>hex value` to f.
 * Two views with equal dumps hold the same state. */
int gs_views_dump(gs_views *v, FILE *f, gs_err *err);

#endif
