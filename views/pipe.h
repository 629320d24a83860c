/*
 * pipe.h - the committer: one thread that runs one job at a time for the
 * applier, so that a batch's RocksDB write overlaps the building of the
 * next batch (apply.c). Like the applier's other state it is owned by
 * whoever holds gs_views.apply_mu; the job runs on the committer thread
 * and must touch nothing the applier changes meanwhile.
 */
#ifndef GS_VIEWS_PIPE_H
#define GS_VIEWS_PIPE_H

typedef struct gs_vpipe gs_vpipe;
typedef void (*gs_vpipe_fn)(void *arg);

/* A started committer, or NULL when no thread can be had (the caller then
 * commits in line). */
gs_vpipe *gs_vpipe_start(void);
/* Waits for a job in flight, then ends the thread. NULL is ignored. */
void gs_vpipe_stop(gs_vpipe *p);
/* Run fn(arg) on the committer. At most one job at a time: the caller
 * waits (gs_vpipe_wait) before it submits the next. */
void gs_vpipe_submit(gs_vpipe *p, gs_vpipe_fn fn, void *arg);
/* Until the job submitted last has returned (at once if none). */
void gs_vpipe_wait(gs_vpipe *p);

#endif
