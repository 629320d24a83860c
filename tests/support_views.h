/*
 * support_views.h - helpers for the views tests: fixture files as log
 * records (LSN = line number, non-dispatch lines skipped as the log would),
 * applying them, reading entities back as parsed JSON, dumps.
 */
#ifndef GS_SUPPORT_VIEWS_H
#define GS_SUPPORT_VIEWS_H

#include "gs_common.h"
#include "json.h"
#include "log.h"
#include "views.h"

/* A fixture file as records. recs[i].lsn is the 1-based line number. */
typedef struct gs_tv_file {
    gs_log_rec *recs;
    size_t n;
    char **lines; /* owned copies the records point into */
    size_t nlines;
    char **events;
} gs_tv_file;

/* Load GS_FIXTURES/name (aborts the test program on I/O errors). */
void gs_tv_load(const char *name, gs_tv_file *f);
/* Build records from NDJSON text in memory (lines separated by \n). */
void gs_tv_load_text(const char *text, gs_tv_file *f);
void gs_tv_free(gs_tv_file *f);

/* A fresh temporary directory (under $TMPDIR or /tmp) and its removal. */
void gs_tv_tmpdir(char *buf, size_t cap);
/* A fresh temporary directory (root) and the paths the replay tests use
 * under it: log/, views/ and ref/ (reference views built directly). */
typedef struct gs_tv_dirs {
    char root[256], log[300], views[300], ref[300];
} gs_tv_dirs;
void gs_tv_dirs_make(gs_tv_dirs *d);
void gs_tv_rmtree(const char *path);

/* Set: gs_tv_apply and gs_tv_apply_stream call gs_views_apply_more (the
 * last stage may be left in flight), else gs_views_apply. */
extern int gs_tv_more;
/* Apply recs[from..to) in batches of batch records; returns the first
 * error code (GS_OK normally). */
int gs_tv_apply(gs_views *v, const gs_tv_file *f, size_t from, size_t to, size_t batch);
/* Record i of f as a log append's input (shard -1, op 0, receive time 1):
 * how the replay tests write f to a log. */
gs_log_rec_in gs_tv_log_in(const gs_tv_file *f, size_t i);
/* A new log at logdir, one record appended (its LSN returned), closed:
 * the pieces of the two below, for tests that interleave their own
 * records. Abort on failure. */
gs_log *gs_tv_log_open(const char *logdir);
uint64_t gs_tv_log_append(gs_log *log, const gs_log_rec_in *in);
void gs_tv_log_close(gs_log *log);
/* A new log at logdir holding f's records (f's LSNs set to the log's,
 * 1..n); returns the last LSN. Aborts on failure. */
uint64_t gs_tv_log_file(const char *logdir, gs_tv_file *f);
/* A new log at logdir holding the stream frames of LSN 1..n (see
 * gs_tv_stream_frame). Aborts on failure. */
void gs_tv_log_stream(const char *logdir, uint64_t n);
/* The dump (gs_tv_dump) of fresh views at dir given every record of f
 * directly, batch records a call: the reference a replay must equal.
 * Aborts on failure; the caller frees. */
char *gs_tv_direct_dump(const char *dir, const gs_tv_file *f, size_t batch);
/* The fixture scenario.ndjson for a whole cmocka group: pass the two
 * functions to cmocka_run_group_tests; tests read gs_tv_scen. */
extern gs_tv_file gs_tv_scen;
int gs_tv_scen_setup(void **state);
int gs_tv_scen_teardown(void **state);
/* Index one past the last record whose gateway seq is <= s. */
size_t gs_tv_upto_seq(const gs_tv_file *f, int64_t s);

/* The full dump as a malloc'ed NUL-terminated string. */
char *gs_tv_dump(gs_views *v);

/* Get an entity as JSON and parse it with p: 1 found (*root set), 0 not
 * found. Aborts the test on other errors. The buffer is kept in p's
 * document until the next call. */
int gs_tv_get(gs_views *v, gs_json *p, gs_view_type t, const char *id, const char *guild,
              gs_jval *root);
/* String member of an object, NUL-terminated into buf; "null" for JSON
 * null, "<absent>" when missing, "<type>" otherwise. */
const char *gs_tv_str(gs_jval obj, const char *key, char *buf, size_t cap);
/* Integer member or -1. */
int64_t gs_tv_int(gs_jval obj, const char *key);
/* Count matches of a query (type, guild id string or NULL, one optional
 * where). */
uint64_t gs_tv_count(gs_views *v, gs_view_type t, const char *guild, const char *field,
                     const char *value);

uint64_t gs_tv_id(const char *s);

/* An endless deterministic stream: the frame of LSN lsn (a pure function of
 * lsn) in buf, its length returned, its event name in *event. Ids come from
 * small pools, so updates and deletes hit existing entities; about one
 * frame in 16 is a bad payload. Guilds 1000..1005, members 50..89. */
size_t gs_tv_stream_frame(uint64_t lsn, char *buf, size_t cap, const char **event);

/* Apply the stream frames of LSN from..to (inclusive) to v in batches of
 * batch records (at most 64): the first failing apply's code, its message
 * on stderr. Buffers are the caller thread's own. */
int gs_tv_apply_stream(gs_views *v, uint64_t from, uint64_t to, size_t batch);

/* The roles of a member (a JSON get parsed with p) as "a,b,c";
 * "<no member>" or "<no roles>". A static buffer: one thread. */
const char *gs_tv_roles(gs_views *v, gs_json *p, const char *user, const char *guild);

#endif
