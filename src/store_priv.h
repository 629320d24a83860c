/*
 * store_priv.h - the gs_store struct, shared only by the files that
 * implement the store: store.c (lifecycle), ingest.c (appends),
 * applier.c (views upkeep), logapi.c (public log reading).
 */
#ifndef GS_STORE_PRIV_H
#define GS_STORE_PRIV_H

#include "gs_common.h"

#include <pthread.h>
#include <stdatomic.h>

#include "log.h"
#include "meta.h"
#include "options.h"

struct gs_json;
struct gs_applier;
struct gs_feed;

struct gs_store {
    char *path;
    char *log_dir;
    char *views_dir;
    struct gs_options opts;
    gs_store_meta meta;
    gs_io *io;
    int lock_fd; /* holds the writer flock; -1 when read-only */
    gs_log *log; /* NULL when read-only */
    gs_log_recovery recovery;

    pthread_mutex_t err_mu; /* guards errmsg */
    char errmsg[GS_ERRMSG_MAX];

    pthread_mutex_t ingest_mu; /* guards parser */
    struct gs_json *parser;
    int mutexes_init;

    struct gs_applier *applier; /* views upkeep; NULL without views */

    /* Subscriptions (subs.c). feed: copies of the records appended here,
     * read by the applier and the subscriptions; NULL when read-only.
     * Ingest pushes to it only while feed_consumers > 0. */
    struct gs_feed *feed;
    atomic_int feed_consumers;
    int wm_fd;                /* STORE/watermark (applier publishes), -1 if none */
    pthread_mutex_t subs_mu;  /* guards subs and the subscriptions' status */
    pthread_cond_t subs_room; /* a subscription made room in its queue */
    struct gs_sub *subs;      /* live subscriptions (linked by next) */
    atomic_int subs_live;     /* number in subs: ingest skips the lock at 0 */
    atomic_int room_waiters;  /* appenders blocked on a full queue */
};

/* Open with a given I/O table (tests install fault injection). */
int gs_store_open_io(const char *path, const gs_options *opts, gs_io *io, gs_store **out);

/* applier.c: start/stop the views side of the store. */
int gs_store_views_start(gs_store *st, gs_err *err);
int gs_store_views_stop(gs_store *st, gs_err *err);
/* Park the applier thread (returns once it is parked) / let it go on. A
 * rebuild runs between the two. */
int gs_store_views_pause(gs_store *st);
void gs_store_views_resume(gs_store *st);
/* Sync the log and bring the views level with it (read-your-writes). */
int gs_store_views_sync(gs_store *st, gs_err *err);
/* Wait for the views to reach lsn (GS_OK, GS_ETIMEOUT, GS_EVIEW). */
int gs_store_views_wait(gs_store *st, uint64_t lsn, uint32_t timeout_ms);
/* 1 if this writable store keeps views (the applier runs). */
int gs_store_has_views(gs_store *st);
/* subs.c: after an append (feed push, queue bounds), and on close. */
void gs_subs_after_append(gs_store *st, const gs_log_rec_in *rec, uint64_t lsn);
void gs_subs_close_all(gs_store *st);
/* ingest.c: free the ingest parser. */
void gs_store_ingest_free(gs_store *st);

#endif
