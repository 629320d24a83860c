/*
 * gatestore.h - the whole public API of libgatestore.
 *
 * gatestore is a persistent, event-sourced store of Discord gateway state.
 * Every dispatch frame is appended to an append-only segment log (the truth);
 * views derived from it answer queries.
 *
 * Anything not declared in this header is private and may change at any
 * time, even when it has external linkage.
 *
 * Conventions (hold for every function unless its comment says otherwise):
 *  - Fallible calls return an int: GS_OK (0) on success, a negative GS_E*
 *    code on failure. Results go in out-parameters, which are left untouched
 *    on failure.
 *  - Buffers are passed as pointer then length.
 *  - A gs_store keeps a message for its last failed call, read with
 *    gs_store_errmsg(). The returned code is the source of truth: another
 *    thread's call on the same store may replace the message.
 *  - Destructors accept NULL.
 */
#ifndef GATESTORE_H
#define GATESTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GS_BUILDING_LIBRARY) && defined(__GNUC__)
#define GS_API __attribute__((visibility("default")))
#else
#define GS_API
#endif

#define GS_VERSION_MAJOR  0
#define GS_VERSION_MINOR  1
#define GS_VERSION_PATCH  0
#define GS_VERSION_NUMBER (GS_VERSION_MAJOR * 10000 + GS_VERSION_MINOR * 100 + GS_VERSION_PATCH)
#define GS_VERSION_STRING "0.1.0"

/* The library's own GS_VERSION_NUMBER, to detect a header/library mismatch. */
GS_API int gs_version_number(void);
GS_API const char *gs_version_string(void);

/*
 * Error codes. The numbers are stable forever: a retired code is kept as
 * reserved and its number never reused. X(name, value, message).
 */
#define GS_ERROR_MAP(X)                                                                            \
    X(GS_OK, 0, "success")                                                                         \
    X(GS_ERROR, -1, "unspecified failure")                                                         \
    X(GS_EMISUSE, -2, "library misuse (bad argument or call order)")                               \
    X(GS_ENOMEM, -3, "out of memory")                                                              \
    X(GS_EIO, -4, "input/output error")                                                            \
    X(GS_ENOSPC, -5, "no space left on device")                                                    \
    X(GS_ECORRUPT, -6, "stored data is corrupt")                                                   \
    X(GS_EVERSION, -7, "unsupported format version")                                               \
    X(GS_EBUSY, -8, "store is locked by another writer")                                           \
    X(GS_ENOTFOUND, -9, "not found")                                                               \
    X(GS_EEXIST, -10, "already exists")                                                            \
    X(GS_ENOSTORE, -11, "not a gatestore store")                                                   \
    X(GS_EREADONLY, -12, "store is open read-only")                                                \
    X(GS_EFAILED, -13, "store refuses writes after an earlier I/O failure; reopen it")             \
    X(GS_EJSON, -20, "malformed JSON")                                                             \
    X(GS_ETOOBIG, -21, "input exceeds the size limit")                                             \
    X(GS_ETOODEEP, -22, "input nesting exceeds the depth limit")                                   \
    X(GS_EFRAME, -23, "not a gateway frame (missing field or wrong type)")                         \
    X(GS_EENVELOPE, -24, "bad capture envelope")                                                   \
    X(GS_EUTF8, -25, "invalid UTF-8")                                                              \
    X(GS_EVIEW, -30, "view error")                                                                 \
    X(GS_ETIMEOUT, -31, "timed out")                                                               \
    X(GS_ECLOSED, -32, "handle closed")                                                            \
    X(GS_EOVERFLOW, -33, "subscriber fell behind its queue bound and was dropped")

typedef enum gs_error {
#define GS_ERROR_ENUM_(name, value, msg) name = value,
    GS_ERROR_MAP(GS_ERROR_ENUM_)
#undef GS_ERROR_ENUM_
        GS_ERROR_LAST_ = -34
} gs_error;

/* Positive, non-error outcome of gs_ingest_line: a valid frame that is not a
 * dispatch (op 1/7/9/10/11...) was counted and not stored. */
#define GS_SKIPPED 1

/* "GS_ECORRUPT" for a code; "GS_UNKNOWN" for a number that is no code. Static. */
GS_API const char *gs_errname(int code);
/* One-line English message for a code. Static storage. */
GS_API const char *gs_errstr(int code);

/* --------------------------------------------------------- process memory */

/* Cap glibc's malloc arenas of this process at n, for programs that embed
 * gatestore and watch their resident memory. Call it at the start of
 * main(), before any thread is started: arenas that exist stay.
 *
 * Why: glibc gives threads that allocate at the same time their own arenas
 * (up to 8 per core), and memory freed in one arena is not reused by
 * another. A store runs several threads (the log's flusher, the views'
 * applier and committer, RocksDB's flush and compaction threads) besides
 * the caller's, and RocksDB frees block-cache blocks and memtables in
 * other threads than the ones that allocated them: at the large benchmark
 * shape (1 M members) 40-45 MB of the process's resident memory was such
 * freed memory. With 2 arenas its peak went from 128.0-137.3 to
 * 119.9-128.6 MiB (5 alternated pairs) at the same speed (README,
 * "Malloc arenas"). The gatestore CLI and gatestore-bench-e2e call
 * gs_set_malloc_arenas(2); the library itself never does: it is the
 * program's choice.
 *
 * *applied (may be NULL) is 1 when the cap was set, 0 when it was left
 * alone because the environment already chooses (MALLOC_ARENA_MAX, or
 * GLIBC_TUNABLES naming glibc.malloc.arena_max): the user's choice wins.
 * GS_EMISUSE: n is 0. GS_ERROR: not glibc, or glibc refused. Not
 * thread-safe. */
GS_API int gs_set_malloc_arenas(unsigned n, int *applied);

/* Fix glibc's mmap threshold at `bytes`: blocks of that size or more are
 * mapped on their own and unmapped when freed, smaller ones come from the
 * arenas. For programs that embed gatestore and watch their resident
 * memory; call it at the start of main(), like gs_set_malloc_arenas.
 *
 * Why: glibc starts at 128 KiB and raises the threshold to the size of any
 * mapped block that is freed (up to 32 MiB). A store frees such blocks
 * (the JSON parsers' buffers, 4-10 MB after a large GUILD_CREATE, are
 * renewed every second; grown write batches), and from then on buffers of
 * several MB come from the arenas, where freed pages stay resident until
 * a trim and fragment the heap. Fixed at 2 MiB (GS_MALLOC_MMAP_THRESHOLD),
 * the large benchmark shape's peak RSS went from 127.3-132.8 to
 * 122.0-128.7 MB (3 alternated pairs; 120.0-124.3 against 124.1-130.0 in
 * 3 more, set through the environment) at the same speed; the default
 * shape's did not move (101.7-106.5 MB either way). Below 2 MiB the
 * memtables' 1 MiB arena blocks would be mapped and unmapped one by one:
 * at 256 KiB ingest was up to 1.8 times slower (README, "Malloc mmap
 * threshold").
 * The gatestore CLI and gatestore-bench-e2e call
 * gs_set_malloc_mmap_threshold(GS_MALLOC_MMAP_THRESHOLD); the library never
 * does on its own.
 *
 * *applied (may be NULL) is 1 when the threshold was set, 0 when it was
 * left alone because the environment chooses (MALLOC_MMAP_THRESHOLD_, or
 * GLIBC_TUNABLES naming glibc.malloc.mmap_threshold). GS_EMISUSE: bytes is
 * 0 or above GS_MALLOC_MMAP_THRESHOLD_MAX (glibc's own limit on 64-bit
 * systems). GS_ERROR: not glibc, or glibc refused. Not thread-safe. */
#define GS_MALLOC_MMAP_THRESHOLD     (2u << 20)
#define GS_MALLOC_MMAP_THRESHOLD_MAX (32u << 20)
GS_API int gs_set_malloc_mmap_threshold(size_t bytes, int *applied);

/* ---------------------------------------------------------------- options */

typedef struct gs_options gs_options;

/* Durability of appends. */
typedef enum gs_durability {
    /* An append returns only once its records are written and fsync'ed
     * (file and, for a new segment, directory). Concurrent appenders share
     * one fsync (group commit). A power cut never loses a confirmed record. */
    GS_DURABILITY_SYNC = 0,
    /* An append returns once its records are buffered in memory. A flusher
     * thread writes and fsyncs them at least every batch_ms milliseconds or
     * as soon as batch_bytes are pending, whichever comes first. A process
     * or power crash loses at most that window; gs_store_durable_lsn() tells
     * what is durable. The default. */
    GS_DURABILITY_BATCH = 1,
    /* No fsync except on gs_store_sync() and gs_store_close(). Records are
     * written to the file when a block fills. A process crash loses the
     * unwritten block; a power cut may lose anything since the last sync. */
    GS_DURABILITY_OFF = 2
} gs_durability;

/* Create an options object with defaults. Free with gs_options_destroy. */
GS_API int gs_options_create(gs_options **out);
GS_API void gs_options_destroy(gs_options *opts);
/* Create the store directory if it does not exist (default: no). */
GS_API int gs_options_set_create(gs_options *opts, int create_if_missing);
/* Open read-only: no lock taken, no recovery writes, appends fail. */
GS_API int gs_options_set_read_only(gs_options *opts, int read_only);
GS_API int gs_options_set_durability(gs_options *opts, gs_durability d);
/* BATCH mode: fsync at least every batch_ms (default 10) or batch_bytes of
 * raw frames (default 4 MiB). 0 is refused with GS_EMISUSE. */
GS_API int gs_options_set_batch(gs_options *opts, uint32_t batch_ms, uint64_t batch_bytes);
/* Roll to a new segment once the active one reaches this size
 * (default 64 MiB; minimum 64 KiB). */
GS_API int gs_options_set_segment_bytes(gs_options *opts, uint64_t segment_bytes);
/* Raw bytes per compressed block before it is cut (default 512 KiB). */
GS_API int gs_options_set_block_bytes(gs_options *opts, uint32_t block_bytes);
/* zstd level for blocks (default 2). */
GS_API int gs_options_set_compression_level(gs_options *opts, int level);
/* Largest accepted input line / frame in bytes (default 64 MiB). */
GS_API int gs_options_set_max_frame_bytes(gs_options *opts, uint64_t max_frame_bytes);
/* Keep views (default 1). With 0 the store is the log alone: no views are
 * opened, built or updated (queries return GS_EVIEW); an archiver that only
 * records and replays frames needs nothing more. Existing views are left on
 * disk untouched and catch up the next time the store opens with views. */
GS_API int gs_options_set_views(gs_options *opts, int enabled);
/* The views' rules: which entity types they keep, as a mask of
 * GS_VIEW_BIT(GS_VIEW_...) (GS_VIEW_ALL keeps everything; see "views"
 * below). A dropped type is never written or read: its queries return
 * nothing, and without members no user is ever collected. Not set (the
 * default): the views keep the rules they were built with, everything for
 * new views. Set to rules other than the views': the views are rebuilt by
 * replaying the log when the store opens, and gs_views_status_get reports
 * it (rebuilt_on_open, rebuild_reason "rules changed: ..."). The rules are
 * stored with the views, so they hold for later opens that set none. A mask
 * with bits beyond GS_VIEW_ALL is refused with GS_EMISUSE. */
GS_API int gs_options_set_view_rules(gs_options *opts, uint32_t keep);
/* Memory budgets of the views, in bytes (0 keeps the default):
 * - entity_cache_bytes: entity values kept in memory in front of RocksDB
 *   (default 40 MiB: every member and user of 200 guilds x 500 members);
 * - block_cache_bytes: RocksDB's block cache, with the index and filter
 *   blocks (default 8 MiB);
 * - write_buffer_bytes: RocksDB's active write buffers together (default
 *   16 MiB; a full one being flushed is held beside them).
 * Larger budgets make gets and the apply of updates faster once the views
 * outgrow them; gs_views_memory_get shows their use. Applies to writable
 * opens (read-only opens keep the defaults). Each is 0 or 1 MiB .. 1 TiB,
 * else GS_EMISUSE. Not stored: every open chooses its own. */
GS_API int gs_options_set_views_memory(gs_options *opts, uint64_t entity_cache_bytes,
                                       uint64_t block_cache_bytes, uint64_t write_buffer_bytes);
/* How the views compress the blocks of their largest families (members,
 * users, presences), the ones the entity cache cannot hold at large guild
 * counts so that point reads and updates decompress a block from disk:
 * - GS_VIEWS_COMPRESSION_ZSTD: smallest on disk;
 * - GS_VIEWS_COMPRESSION_LZ4: about twice the point-read speed once those
 *   families outgrow the caches, for 10-17 % more bytes on disk (README,
 *   "Views compression", has the figures);
 * - GS_VIEWS_COMPRESSION_AUTO (the default for new views): zstd while
 *   those families are small enough for the entity cache, LZ4 from the
 *   moment their files pass half its budget (the block cache's without
 *   one). Checked at open and at most every 250 ms while applying; once
 *   switched, an open stays LZ4. The large benchmark shape: ingest to
 *   confirmed 15.7 -> 12.7-13.2 s, member get p50 23-25 -> 16 us (README,
 *   "Views compression: auto").
 * The other families stay zstd. Not set (GS_VIEWS_COMPRESSION_DEFAULT): the
 * views keep the choice they were built with (views built before AUTO
 * existed hold zstd). Set: the choice is stored with the views and holds
 * for later opens that set none. Changing it needs no rebuild: files
 * already written keep their compression and are read as they are;
 * flushes and compactions write the new one from then on. Applies to
 * writable opens; gs_views_compression_get reports the choice in force,
 * gs_views_compression_now what is written now. Other values are refused
 * with GS_EMISUSE. */
typedef enum gs_views_compression {
    GS_VIEWS_COMPRESSION_DEFAULT = 0,
    GS_VIEWS_COMPRESSION_ZSTD = 1,
    GS_VIEWS_COMPRESSION_LZ4 = 2,
    GS_VIEWS_COMPRESSION_AUTO = 3
} gs_views_compression;
GS_API int gs_options_set_views_compression(gs_options *opts, gs_views_compression c);
/* Deepest accepted JSON nesting (default 256), counted as the parser does:
 * the top-level value is depth 1 and each member or element is one deeper,
 * so `{"d":[1]}` has depth 3. */
GS_API int gs_options_set_max_depth(gs_options *opts, uint32_t max_depth);

/* ------------------------------------------------------------------ store */

/*
 * A store is a directory: `log/` (segments), `views/` (derived state) and a
 * metadata file `gatestore.meta` (format versions, store id).
 *
 * Thread-safety: one gs_store may be used from several threads at once.
 * One writer process at a time: a second writable open of the same store,
 * from this or another process, fails with GS_EBUSY and a message naming the
 * holder's pid. Read-only opens take no lock and may run beside a writer.
 */
typedef struct gs_store gs_store;

/* Open (or with gs_options_set_create, create) the store at `path`. opts may
 * be NULL for defaults; it is copied, so it may be destroyed after the call.
 * On failure *out is set to NULL, and when a message can be built
 * gs_open_errmsg() returns it. Opening for write recovers the log: a torn
 * tail is moved aside to log/quarantine/ and truncated (see
 * gs_store_recovery_report). Close with gs_store_close. */
GS_API int gs_store_open(const char *path, const gs_options *opts, gs_store **out);
/* Message for the last gs_store_open that failed on this thread. */
GS_API const char *gs_open_errmsg(void);
/* Flush, fsync (unless GS_DURABILITY_OFF... which fsyncs here too) and close.
 * Returns the first error met while flushing; the handle is freed anyway.
 * A writable store's view families that are still mostly in RocksDB's
 * level 0 (flushed, never compacted; at most 64 MiB a family) are
 * compacted before the close returns: about
 * 0.3 s for the default benchmark shape (200 guilds, 100 000 members), whose
 * views then take 13 MB on disk instead of 18-22 (views/FORMAT.md,
 * section 5). Larger views close without it. */
GS_API int gs_store_close(gs_store *st);
/* Message for the last failed call on this store. Owned by the store, valid
 * until the next call on it. Never NULL. */
GS_API const char *gs_store_errmsg(const gs_store *st);

/* What recovery did when this handle opened the store for write. Strings
 * are owned by the store. */
typedef struct gs_recovery_report {
    int truncated;          /* 1 if a torn tail was cut */
    uint64_t bytes_dropped; /* bytes cut from the newest segment */
    uint64_t last_good_lsn; /* highest LSN kept (0 if none) */
    const char *segment;    /* file name of the segment cut, or "" */
    uint64_t offset;        /* offset the segment was cut at */
    const char *quarantine; /* where the dropped bytes were saved, or "" */
} gs_recovery_report;
GS_API int gs_store_recovery_report(gs_store *st, gs_recovery_report *out);

/* Highest LSN appended (0 for an empty log). */
GS_API uint64_t gs_store_head_lsn(gs_store *st);
/* Highest LSN known durable under the store's durability mode. */
GS_API uint64_t gs_store_durable_lsn(gs_store *st);
/* Write and fsync everything appended so far. */
GS_API int gs_store_sync(gs_store *st);

/* ----------------------------------------------------------------- ingest */

/* Metadata of a frame being appended. */
typedef struct gs_frame_meta {
    int64_t recv_us; /* receive time, microseconds since the Unix epoch; 0 = now */
    int32_t shard;   /* gateway shard id, or -1 when unknown */
} gs_frame_meta;

/*
 * Ingest one NDJSON line: a gateway frame `{"op":..,"t":..,"s":..,"d":..}`
 * (keys in any order), or a capture envelope
 * `{"frame":{...},"received_at":"RFC 3339" | unix_ms,"shard":N}`.
 *
 * - op 0 with a string `t`: appended; the log keeps the frame's exact bytes
 *   (for an envelope, the inner frame's bytes). *lsn_out gets its LSN.
 *   Returns GS_OK.
 * - any other op: counted, not stored; returns GS_SKIPPED.
 * - a bad line (GS_EJSON, GS_ETOOBIG, GS_ETOODEEP, GS_EFRAME, GS_EENVELOPE,
 *   GS_EUTF8): nothing is appended; gs_store_errmsg says where (byte offset
 *   in the line) and what.
 * `meta` may be NULL: receive time = now, shard = -1. An envelope's values
 * override it. A trailing "\n" or "\r\n" is ignored.
 * Durability: as set by the store's options (see gs_durability).
 */
GS_API int gs_ingest_line(gs_store *st, const char *line, size_t line_len,
                          const gs_frame_meta *meta, uint64_t *lsn_out);

/* --------------------------------------------------------------- log read */

/* One log record. All pointers are owned by the iterator and stay valid
 * until the next gs_log_iter_next or gs_log_iter_close on it. */
typedef struct gs_record {
    uint64_t lsn;      /* store-wide sequence number, from 1, never reused */
    int64_t recv_us;   /* receive time, µs since the Unix epoch */
    int32_t shard;     /* shard id, -1 if unknown */
    int32_t op;        /* gateway opcode (0 for every stored frame today) */
    int64_t seq;       /* gateway `s`, -1 if absent or null */
    const char *event; /* event name `t`, not NUL-terminated */
    size_t event_len;
    const char *raw; /* the frame's original bytes, exactly as received */
    size_t raw_len;
} gs_record;

typedef struct gs_log_iter gs_log_iter;

/* Range of a scan: records with from_lsn <= lsn <= to_lsn and
 * since_us <= recv_us <= until_us. Zero for a bound means unbounded. */
typedef struct gs_log_range {
    uint64_t from_lsn;
    uint64_t to_lsn;
    int64_t since_us;
    int64_t until_us;
} gs_log_range;

/* Open an iterator over the log. Seeking by LSN or time uses the segment
 * indexes and does not scan. range may be NULL (whole log). Close with
 * gs_log_iter_close. An iterator belongs to one thread at a time. */
GS_API int gs_log_iter_open(gs_store *st, const gs_log_range *range, gs_log_iter **out);
/* Next record: returns 1 and fills *rec, 0 at the end, or a negative code.
 * GS_ECORRUPT names segment and offset in gs_log_iter_errmsg; calling next
 * again resumes at the next good block, so a reader can report damage and go
 * on. Never returns bytes that failed their checksum. */
GS_API int gs_log_iter_next(gs_log_iter *it, gs_record *rec);
GS_API const char *gs_log_iter_errmsg(const gs_log_iter *it);
GS_API void gs_log_iter_close(gs_log_iter *it);

/* ----------------------------------------------------- log verify & stat */

/* Called once per bad block (or bad header / index) found by verify. */
typedef void (*gs_verify_fn)(void *userdata, const char *segment, uint64_t offset, int code,
                             const char *what);

typedef struct gs_verify_summary {
    uint64_t segments;
    uint64_t blocks_ok;
    uint64_t blocks_bad;
    uint64_t records_ok;
    uint64_t bytes_checked;
} gs_verify_summary;

/* Check every block of every segment (header, checksum, decompression,
 * record decoding, LSN continuity) and every segment index. Goes on after a
 * bad block. Returns GS_OK iff everything is good, GS_ECORRUPT otherwise,
 * or another code if verification itself could not run. cb may be NULL. */
GS_API int gs_log_verify(gs_store *st, gs_verify_fn cb, void *userdata, gs_verify_summary *out);

typedef struct gs_log_stat {
    uint64_t segments;
    uint64_t sealed_segments;
    uint64_t blocks;
    uint64_t records;
    uint64_t first_lsn; /* 0 if empty */
    uint64_t last_lsn;
    int64_t min_recv_us; /* 0 if empty */
    int64_t max_recv_us;
    uint64_t raw_bytes;        /* sum of the frames' original bytes */
    uint64_t compressed_bytes; /* sum of block payloads on disk */
    uint64_t file_bytes;       /* sum of segment file sizes */
} gs_log_stat;

GS_API int gs_log_stat_get(gs_store *st, gs_log_stat *out);

/* ---- views: begin ---- */

/*
 * Views: the derived, queryable state (guilds, channels, members, ...) kept
 * up to date from the log. Format and event semantics: views/FORMAT.md.
 *
 * Results are Discord-shaped objects (the gateway's field names, ids as
 * strings), as JSON text or as msgpack. Every call reads one consistent
 * RocksDB snapshot. Queries may run from any thread, also beside the
 * store's applier; a gs_query belongs to one thread at a time.
 */

/* Entity types. The numbers are stable (they appear in the views' keys and
 * rule masks). */
typedef enum gs_view_type {
    GS_VIEW_GUILD = 0,
    GS_VIEW_CHANNEL = 1, /* text, voice, category, announcement, stage, forum, ... */
    GS_VIEW_THREAD = 2,
    GS_VIEW_ROLE = 3,
    GS_VIEW_MEMBER = 4, /* key: guild + user id */
    GS_VIEW_USER = 5,   /* stored once; members refer to them */
    GS_VIEW_EMOJI = 6,
    GS_VIEW_STICKER = 7,
    GS_VIEW_VOICE_STATE = 8, /* key: guild + user id */
    GS_VIEW_PRESENCE = 9,    /* key: guild + user id */
    GS_VIEW_STAGE_INSTANCE = 10,
    GS_VIEW_SCHEDULED_EVENT = 11,
    GS_VIEW_TYPE_COUNT = 12
} gs_view_type;

/* Rule masks: which entity types the views keep. */
#define GS_VIEW_BIT(t) (1u << (unsigned)(t))
#define GS_VIEW_ALL    ((1u << GS_VIEW_TYPE_COUNT) - 1u)

/* "guild", "channel", ..., "scheduled_event" (the CLI's TYPE names); NULL
 * for a number that is no type. Static storage. */
GS_API const char *gs_view_type_name(int type);
/* Parse a type name into *out. GS_EMISUSE if it is not one. */
GS_API int gs_view_type_parse(const char *name, gs_view_type *out);

/*
 * Point get of one entity by type name and id. guild is required (non-zero)
 * for "member", "voice_state" and "presence" (id is then the user id); for
 * the other guild-scoped types 0 means "any guild" (an index finds it).
 * On GS_OK *json_out is a NUL-terminated malloc'ed string of *len bytes that
 * the caller frees with gs_free. GS_ENOTFOUND if the views do not hold it,
 * GS_EMISUSE for an unknown type or a missing guild, GS_EVIEW when the store
 * has no views. len may be NULL. Thread-safe.
 */
GS_API int gs_get(gs_store *st, const char *type, uint64_t id, uint64_t guild, char **json_out,
                  size_t *len);
/* Same as gs_get, the object as msgpack (not NUL-terminated). */
GS_API int gs_get_msgpack(gs_store *st, const char *type, uint64_t id, uint64_t guild,
                          char **msgpack_out, size_t *len);
/* Free a buffer returned by gs_get / gs_get_msgpack. NULL is accepted. */
GS_API void gs_free(void *p);

/*
 * Queries: iterate or count the entities of one type, optionally in one
 * guild, filtered by equalities on fields (AND), up to a limit.
 *
 *   gs_query *q;
 *   gs_query_create(st, "channel", &q);
 *   gs_query_guild(q, guild_id);
 *   gs_query_where(q, "name", "general");
 *   while ((rc = gs_query_next(q, &json, &len)) == 1) ...;
 *   gs_query_destroy(q);
 *
 * Setters are only valid before the first gs_query_next / gs_query_count
 * (GS_EMISUSE after); the snapshot is taken by that first call. A gs_query
 * belongs to one thread at a time; destroy it before closing the store.
 */
typedef struct gs_query gs_query;

/* Create a query for a type name. Free with gs_query_destroy. */
GS_API int gs_query_create(gs_store *st, const char *type, gs_query **out);
/* Only entities of this guild (one prefix scan). */
GS_API int gs_query_guild(gs_query *q, uint64_t guild);
/* Only entities of this user: members / voice states / presences of the
 * user, the user itself, or (type "guild") the guilds the user is a member
 * of (an index lookup). */
GS_API int gs_query_user(gs_query *q, uint64_t user);
/* Add a condition: field (dotted path, e.g. "name", "user.username",
 * "thread_metadata.archived") equals value, compared as the field's type
 * (string, integer, true/false, null; an array field matches if one element
 * equals value; an absent field equals "null"). Strings are copied. */
GS_API int gs_query_where(gs_query *q, const char *field, const char *value);
/* Stop after limit results (0 = no limit, the default). */
GS_API int gs_query_limit(gs_query *q, uint64_t limit);
/* Next result as JSON: returns 1 with *json (NUL-terminated) and *len set,
 * valid until the next call on q; 0 at the end; <0 on error
 * (gs_query_errmsg says what). */
GS_API int gs_query_next(gs_query *q, const char **json, size_t *len);
/* Next result as msgpack; same contract as gs_query_next. */
GS_API int gs_query_next_msgpack(gs_query *q, const char **msgpack, size_t *len);
/* Number of matches (ignores the limit). Consumes the query: call it
 * instead of, not after, gs_query_next. */
GS_API int gs_query_count(gs_query *q, uint64_t *out);
/* Message for the query's last failed call. Owned by q. Never NULL. */
GS_API const char *gs_query_errmsg(const gs_query *q);
GS_API void gs_query_destroy(gs_query *q);

/* A record the views could not apply (kept in the views' meta data). */
typedef struct gs_views_failure {
    uint64_t lsn;
    char event[64];
    char reason[192];
} gs_views_failure;

#define GS_VIEWS_FAILURES_MAX 8

typedef struct gs_views_status {
    uint64_t head_lsn;        /* the log's head */
    uint64_t watermark;       /* last LSN applied to the views */
    uint64_t lag;             /* head_lsn - watermark */
    uint32_t schema_version;  /* view schema version the views were built with */
    uint32_t types_kept;      /* GS_VIEW_BIT mask (the rules) */
    uint64_t current_user_id; /* from READY / USER_UPDATE; 0 if none yet */
    uint64_t failed_records;  /* records that could not be applied, ever */
    uint32_t nfailures;       /* entries in failures[] */
    gs_views_failure failures[GS_VIEWS_FAILURES_MAX]; /* the newest, newest first */
    int rebuilt_on_open;      /* 1 if this open wiped the views (rules or schema changed) */
    char rebuild_reason[128]; /* why, or "" */
} gs_views_status;

/* Fill *out. GS_EVIEW when the store has no views. Thread-safe. */
GS_API int gs_views_status_get(gs_store *st, gs_views_status *out);
/* The compression choice of the views' large families in force
 * (GS_VIEWS_COMPRESSION_ZSTD, _LZ4 or _AUTO;
 * gs_options_set_views_compression). GS_EVIEW when the store has no views.
 * Thread-safe. A getter rather than a gs_views_status field, so that struct
 * keeps its size for callers built against 0.1.0. */
GS_API int gs_views_compression_get(gs_store *st, gs_views_compression *out);
/* What the large families' flushes and compactions write now:
 * GS_VIEWS_COMPRESSION_ZSTD or _LZ4 (with AUTO, zstd until the families
 * pass its threshold). Files written before may hold the other. On a
 * read-only store, what a writer with the default memory budgets would
 * write at the families' present size. GS_EVIEW when the store has no
 * views. Thread-safe. */
GS_API int gs_views_compression_now(gs_store *st, gs_views_compression *out);

/* Memory the views of this process hold now, in bytes. The entity cache,
 * the block cache and the write buffers are bounded by their budgets
 * whatever the number of guilds; the table readers and the id sets grow
 * with the views (the user map gives up past about 390 000 users).
 * Together they are most of the process's resident memory beyond the
 * log's buffers and the frames in flight (views/FORMAT.md, "Tuning and
 * memory").
 * The struct may gain fields at its end in a later version. */
typedef struct gs_views_memory {
    uint64_t entity_cache_bytes;   /* memory the entity cache holds: values, their overhead,
                                      free slots of its chunks (within the budget) */
    uint64_t entity_cache_entries; /* how many */
    uint64_t entity_cache_budget;  /* its bound (0: no entity cache) */
    uint64_t id_sets_bytes;        /* the applier's guild-scoped id sets and user map */
    uint64_t block_cache_bytes;    /* RocksDB blocks cached: data, index and filter */
    uint64_t block_cache_pinned;   /* of which in use or pinned (level-0 index and filters) */
    uint64_t block_cache_budget;   /* its bound */
    uint64_t memtable_bytes;       /* RocksDB write buffers: active, and full ones not yet
                                      flushed or still read */
    uint64_t write_buffer_budget;  /* the active write buffers' bound (a full one being
                                      flushed is held beside it) */
    uint64_t table_readers_bytes;  /* RocksDB table readers beyond the block cache */
} gs_views_memory;

/* Fill *out. GS_EVIEW when the store has no views. Thread-safe. */
GS_API int gs_views_memory_get(gs_store *st, gs_views_memory *out);
/* Drop the views and rebuild them by replaying the whole log; returns once
 * they have caught up with the head. Needs a writable store (GS_EREADONLY).
 * Queries running meanwhile see their own snapshots. */
GS_API int gs_views_rebuild(gs_store *st);

/* ---- views: end ---- */

/* ---------------------------------------------------------- subscriptions */

/*
 * Subscriptions: a callback per stored frame, in LSN order.
 *
 *   gs_sub_options *o;
 *   gs_sub_options_create(&o);
 *   gs_sub_options_add_event(o, "MESSAGE_CREATE");
 *   gs_sub *sub;
 *   gs_subscribe(st, o, on_event, ctx, GS_SUB_CONFIRM, &sub);
 *   gs_sub_options_destroy(o);           (copied by gs_subscribe)
 *   ...
 *   gs_unsubscribe(sub);
 *
 * Delivery. Each subscription has its own dispatcher thread that calls the
 * callback; callbacks never run on an ingest thread or the views' applier
 * thread. A subscription sees the matching frames in ascending LSN order,
 * each exactly once per handle (per process lifetime). Without
 * GS_SUB_CONFIRM a frame is delivered once it is appended to the log (in
 * memory: in BATCH mode possibly before it is durable). With GS_SUB_CONFIRM
 * only once the views' watermark has passed its LSN, so a query made from
 * inside the callback (gs_get, gs_query_*) sees the frame's effect.
 *
 * Queue bound. A subscription's queue holds the frames appended since it
 * went live that it has not yet passed (delivered or filtered out); its
 * capacity is gs_sub_options_set_queue's. When an append finds it full:
 *  - GS_SUB_BLOCK (default): the appending thread waits for room, at most
 *    max_block_ms per append (default 1000); if there is still no room the
 *    subscription is dropped (below). Ingest is never blocked longer.
 *  - GS_SUB_DROP: the subscription is dropped at once; ingest never waits.
 * A dropped subscription stops delivering: its callback is called one last
 * time with ev == NULL, gs_sub_status returns GS_EOVERFLOW and
 * gs_sub_errmsg says by how much it lagged. A durable consumer (below)
 * resubscribes and resumes from its last ack. Frames a subscription reads
 * back from the log (catch-up) never count against its queue.
 *
 * Durable consumers. With gs_sub_options_set_name the subscription resumes
 * after the LSN last passed to gs_sub_ack under that name (stored in
 * STORE/consumers/NAME, format in src/CONSUMERS_FORMAT.md): it reads the
 * log from there (catch-up), then goes on live without a gap or a
 * duplicate. Delivery across restarts is at-least-once: frames delivered
 * after the last ack are delivered again. A name is live in one handle at
 * a time, across processes (GS_EBUSY otherwise).
 *
 * Read-only stores: a subscription follows the log another process writes,
 * polling the log files (a few ms of extra latency). With GS_SUB_CONFIRM it
 * waits for the writer's published watermark (STORE/watermark): the writer
 * has applied the frame to its views, and queries through the writer's
 * handle see it; a read-only handle's own queries show what the writer last
 * flushed and may lag behind.
 *
 * Closing the store stops its subscriptions (their callbacks get ev ==
 * NULL, status GS_ECLOSED); the handles stay valid for gs_sub_status,
 * gs_sub_stats and gs_unsubscribe, which must still be called. Do not call
 * gs_store_close from a callback, nor concurrently with calls on its
 * subscriptions' handles.
 */
typedef struct gs_sub gs_sub;
typedef struct gs_sub_options gs_sub_options;

/* One delivered frame. Every pointer is owned by the library and valid only
 * during the callback. */
typedef struct gs_event {
    uint64_t lsn;
    int64_t recv_us;   /* receive time, µs since the Unix epoch */
    int32_t shard;     /* -1 if unknown */
    int64_t seq;       /* gateway `s`, -1 if absent */
    const char *event; /* event name `t`, not NUL-terminated */
    size_t event_len;
    uint64_t guild_id; /* d.guild_id, or d.id for GUILD_*; 0 if none */
    const char *raw;   /* the frame's original bytes */
    size_t raw_len;
    const char *d; /* the bytes of the frame's `d` value within raw; NULL if absent */
    size_t d_len;
} gs_event;

/* Called on the subscription's dispatcher thread, one call at a time. ev
 * is NULL exactly once, as the last call, when the subscription stops by
 * itself (dropped, failed, store closed): gs_sub_status says why. It must
 * not call gs_unsubscribe on its own subscription (GS_EMISUSE); use
 * gs_sub_cancel. It may call any other gatestore function, including
 * queries and gs_sub_ack. */
typedef void (*gs_sub_fn)(void *userdata, const gs_event *ev);

/* Flags of gs_subscribe. */
#define GS_SUB_CONFIRM 1u /* deliver only once the views have applied the frame */

/* Full-queue policies (see above). */
typedef enum gs_sub_full {
    GS_SUB_BLOCK = 0, /* block the appender up to max_block_ms, then drop */
    GS_SUB_DROP = 1   /* drop the subscription at once */
} gs_sub_full;

/* Create subscription options: every event, every guild, live from now,
 * queue 65536, GS_SUB_BLOCK for up to 1000 ms, no name. Free with
 * gs_sub_options_destroy. Options belong to one thread at a time. */
GS_API int gs_sub_options_create(gs_sub_options **out);
GS_API void gs_sub_options_destroy(gs_sub_options *o);
/* Deliver only these event names (call once per name, up to 64; none =
 * all). The name is copied. */
GS_API int gs_sub_options_add_event(gs_sub_options *o, const char *name);
/* Deliver only frames of this guild (gs_event.guild_id == guild); 0 = all. */
GS_API int gs_sub_options_set_guild(gs_sub_options *o, uint64_t guild);
/* Start at this LSN (catch-up from the log) instead of live (the first
 * frame appended after gs_subscribe). For a named consumer: where a name
 * without a stored position starts (default 1, the whole log). */
GS_API int gs_sub_options_set_from(gs_sub_options *o, uint64_t from_lsn);
/* Skip frames received before since_us (µs since the epoch); it is a
 * filter, the scan starts at from_lsn (1 if unset). */
GS_API int gs_sub_options_set_since(gs_sub_options *o, int64_t since_us);
/* Queue capacity in frames (>= 1), full policy and the longest an append
 * may wait for room under GS_SUB_BLOCK (ignored for GS_SUB_DROP). */
GS_API int gs_sub_options_set_queue(gs_sub_options *o, uint32_t capacity, gs_sub_full policy,
                                    uint32_t max_block_ms);
/* Make the subscription a durable consumer named name: 1 to 64 bytes of
 * [A-Za-z0-9._-], not starting with '.' (GS_EMISUSE otherwise). */
GS_API int gs_sub_options_set_name(gs_sub_options *o, const char *name);

/* Start a subscription. opts may be NULL (defaults) and is copied. flags:
 * 0 or GS_SUB_CONFIRM (GS_EVIEW if the store keeps no views). On GS_OK
 * *out is the handle, stored before the first callback runs (a callback
 * may read it to ack or cancel); free it with gs_unsubscribe, before or
 * after gs_store_close. Errors: GS_EMISUSE (NULL callback, bad flags), GS_EBUSY
 * (name live elsewhere), GS_ECORRUPT / GS_EVERSION (the consumer's position
 * file; gs_store_errmsg names it), GS_EIO. Thread-safe. */
GS_API int gs_subscribe(gs_store *st, const gs_sub_options *opts, gs_sub_fn cb, void *userdata,
                        unsigned flags, gs_sub **out);
/* Stop delivery, wait for a running callback to return, free the handle.
 * Returns GS_OK, or the subscription's error status if it had failed.
 * Calling it from the subscription's own callback returns GS_EMISUSE and
 * does nothing. NULL is accepted. Any thread but the callback's. */
GS_API int gs_unsubscribe(gs_sub *sub);
/* Ask delivery to stop after the current callback (no final NULL call);
 * safe from any thread, the callback included. Still call gs_unsubscribe. */
GS_API int gs_sub_cancel(gs_sub *sub);
/* Durable consumers: record that every frame up to lsn is processed. The
 * position file is written and fsync'ed before GS_OK (about one fsync per
 * call: ack every N frames, not each, when that matters). lsn may not
 * exceed the last LSN delivered, the one in the running callback included
 * (GS_EMISUSE); an older lsn than the stored one is ignored. GS_EMISUSE for
 * an unnamed subscription, GS_ECLOSED once the store is closed. Any thread,
 * the callback included. */
GS_API int gs_sub_ack(gs_sub *sub, uint64_t lsn);
/* GS_OK while delivering; else why it stopped (GS_EOVERFLOW, GS_ECLOSED,
 * GS_EIO, ...). Any thread. */
GS_API int gs_sub_status(gs_sub *sub);
/* Message for a non-OK status. Owned by sub, valid until gs_unsubscribe;
 * never NULL. */
GS_API const char *gs_sub_errmsg(gs_sub *sub);

typedef struct gs_sub_stats {
    uint64_t delivered;  /* callbacks made with an event */
    uint64_t passed_lsn; /* last LSN delivered or filtered out (0 = none yet) */
    uint64_t lag;        /* frames deliverable but not yet passed: head (or the
                            watermark, with GS_SUB_CONFIRM) - passed_lsn */
    uint64_t queued;     /* live frames counted against the queue bound */
    uint64_t capacity;   /* the queue bound */
    uint64_t max_queued; /* the highest queued seen by an append */
    uint64_t blocked_us; /* total time appends waited for this subscription */
    uint64_t from_log;   /* frames read back from the log (catch-up) */
    uint64_t acked_lsn;  /* durable consumers: last stored ack */
    int status;          /* gs_sub_status */
} gs_sub_stats;

/* Fill *out. Any thread. On a read-only store lag and queued are 0 (the
 * head belongs to another process; compare passed_lsn with
 * gs_store_head_lsn). */
GS_API int gs_sub_stats_get(gs_sub *sub, gs_sub_stats *out);

/* Wait until the views have applied lsn (read-your-writes after an
 * append): GS_OK, GS_ETIMEOUT after timeout_ms, GS_EVIEW if the store keeps
 * no views, GS_ECLOSED if the store is closing, or the views applier's own
 * error (e.g. GS_EIO, GS_ENOSPC; gs_store_errmsg says what) if it failed:
 * its watermark would then never come. On a read-only store it waits for
 * the writer's published watermark (see above). Thread-safe. */
GS_API int gs_wait_confirmed(gs_store *st, uint64_t lsn, uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* GATESTORE_H */
