/*
 * feed.h - the in-memory feed: copies of the records this process appended,
 * by LSN, so the views' applier and the subscriptions need not read back
 * what ingest just wrote (in BATCH mode the log's blocks reach the file
 * only every batch_ms, which would put that much latency on every
 * confirmed delivery).
 *
 * It is a cache, never the truth: a bounded ring that never blocks its
 * producers. A record is missing from it when it was too big, when it was
 * evicted (the ring wrapped, or held more than max_bytes), or when its
 * appender has not pushed it yet (concurrent appenders push in any order).
 * A consumer then reads the log instead (see gs_feed_take's *gone).
 *
 * The feed also carries the progress signals consumers wait on: the
 * highest LSN pushed and the views' watermark.
 *
 * Thread-safety: every call may be made from any thread.
 */
#ifndef GS_FEED_H
#define GS_FEED_H

#include "gs_common.h"

#include <stdatomic.h>

#include "log.h"

/* One record copy, reference-counted: the feed holds one reference while
 * the record is in the ring; gs_feed_take gives one to the caller. */
typedef struct gs_feed_rec {
    atomic_int refs;
    gs_log_rec rec; /* event and raw point into data[] */
    char data[];
} gs_feed_rec;

typedef struct gs_feed gs_feed;

/* slots is rounded up to a power of two. Free with gs_feed_destroy. */
int gs_feed_create(uint32_t slots, size_t max_bytes, gs_feed **out);
void gs_feed_destroy(gs_feed *f); /* NULL ok */

/* Copy in (appended as lsn). Never blocks and never fails: on ENOMEM or a
 * record over the size limit the slot is marked gone. */
void gs_feed_push(gs_feed *f, const gs_log_rec_in *in, uint64_t lsn);

/* Up to max records with consecutive LSNs from lsn on (references the
 * caller drops with gs_feed_release). When 0 are returned, *gone says why:
 * 1 = lsn is not (or no longer) in the feed, read it from the log; 0 = it
 * has not been pushed yet. */
size_t gs_feed_take(gs_feed *f, uint64_t lsn, gs_feed_rec **out, size_t max, int *gone);
void gs_feed_release(gs_feed_rec **recs, size_t n);
/* After gs_feed_take returned 0 with *gone = 0 (the next record is not
 * pushed yet): 1 if the consumer should try the feed again (it has napped
 * briefly: an appender between gs_log_append and gs_feed_push is about to
 * push it), 0 once it has been missing long enough (2 ms) that the log must
 * be read instead. *miss_since (0 = not missing) is the consumer's clock;
 * reset it to 0 when the feed delivers. With gone = 1 returns 0. */
int gs_feed_miss_wait(uint64_t *miss_since, int gone);
/* A standalone copy of r with one reference (NULL on ENOMEM); drop it with
 * gs_feed_release. */
gs_feed_rec *gs_feed_rec_copy(const gs_log_rec *r);

/* Highest LSN pushed. */
uint64_t gs_feed_pushed(gs_feed *f);

/* The views' watermark, as the applier publishes it. */
void gs_feed_set_watermark(gs_feed *f, uint64_t wm);
uint64_t gs_feed_watermark(gs_feed *f);

/* Wait until (confirm ? the watermark : the highest pushed LSN) >= lsn, or
 * until timeout_ms, or gs_feed_kick. Returns that value. */
uint64_t gs_feed_wait(gs_feed *f, uint64_t lsn, int confirm, uint32_t timeout_ms);
/* Wake every waiter (a consumer is stopping). */
void gs_feed_kick(gs_feed *f);

#endif
