/*
 * stages.h - per-LSN timestamps along the subscription pipeline, for
 * gatestore-bench-subs --stages (not API: tools and tests only).
 *
 * Off by default: each stamp point then costs one relaxed atomic load. The
 * trace is process-wide (the benchmark runs one store); LSNs past its
 * capacity are not stamped. A stamp is the gs_mono_ns time the stage was
 * reached by that LSN (0 = never); for a batch, every LSN of the batch gets
 * the batch's time.
 */
#ifndef GS_STAGES_H
#define GS_STAGES_H

#include "gs_common.h"

enum gs_stage {
    GS_ST_APPEND,     /* gs_log_append returned (ingest thread) */
    GS_ST_PUSH,       /* copied into the feed, waiters signalled */
    GS_ST_PICK,       /* the applier took it from the feed */
    GS_ST_APPLIED,    /* gs_views_apply of its batch returned */
    GS_ST_WM,         /* the watermark covering it was published in memory */
    GS_ST_WMFILE,     /* ... and written to STORE/watermark */
    GS_ST_PLAIN_WAKE, /* a plain dispatcher took it from the feed */
    GS_ST_PLAIN_CB,   /* a plain subscription's callback entered */
    GS_ST_CONF_WAKE,  /* a confirm dispatcher took it from the feed */
    GS_ST_CONF_CB,    /* a confirm subscription's callback entered */
    GS_ST_COUNT
};

/* Start tracing LSNs 1..nlsn (replaces any earlier trace, whose arrays the
 * caller must no longer read). GS_OK or GS_ENOMEM. Call before the store
 * appends, from one thread. */
int gs_stages_enable(uint64_t nlsn);
/* Copy the stamps of stage s for LSNs 1..n into out[0..n) (0 = never
 * reached, or no trace). Call once the pipeline is idle. */
void gs_stages_copy(enum gs_stage s, uint64_t *out, uint64_t n);
/* Stop and free the trace. No stamp point may run concurrently. */
void gs_stages_disable(void);

/* Stamp LSNs first..first+n-1 with time t (hot paths: cheap when off). */
void gs_stages_mark(enum gs_stage s, uint64_t first, uint64_t n, uint64_t t);
/* 1 if a trace is on (to skip taking the time when it is not). */
int gs_stages_on(void);

/* Stamp first..first+n-1 with the current time, if a trace is on. */
static inline void gs_stages_now(enum gs_stage s, uint64_t first, uint64_t n)
{
    if (gs_stages_on())
        gs_stages_mark(s, first, n, gs_mono_ns());
}

#endif
