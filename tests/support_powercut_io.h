/*
 * support_powercut_io.h - a gs_io that simulates power loss, for the
 * power-cut harness (tests/crash/powercut_harness.c) and tests.
 *
 * It wraps another gs_io (normally the default: every call reaches the real
 * file system at once) and remembers what a power cut could still lose:
 *  - per file, its content as of its last successful fsync, and every
 *    write / truncate since (with the bytes written);
 *  - per directory, the entries created, renamed, unlinked or made
 *    (mkdir) since that directory's last successful fsync_dir.
 * Files that exist when first seen count as durable as they are: the
 * harness starts each round from what is on disk after the previous one.
 *
 * powercut_io_cut() then rewrites the real files as a power cut could have
 * left them (the model of RocksDB's FaultInjectionTestFS):
 *  1. namespace changes not covered by an fsync of their directory are
 *     undone, newest first: created files are deleted, renames moved back
 *     (restoring a file the rename replaced), unlinked files restored with
 *     their durable content, made directories removed with what is in them;
 *  2. every surviving file with unsynced changes gets, by mode:
 *     PC_DROP_ALL: its content at the last fsync;
 *     PC_DROP_SUFFIX: that plus a random prefix of the writes since, in
 *       order (the last one kept may be cut mid-way);
 *     PC_KEEP_PAGES: a random length between the synced and the current
 *       one, and for each 4 KiB page that differs, randomly the old or the
 *       new page (writes reach the disk out of order); bytes past the old
 *       length read as zeros when their page is not kept.
 * Randomness comes from the seed only, so a failing seed replays.
 *
 * To cut "at the Nth call", powercut_io_fail_after(p, n) makes every call
 * after the nth fail with -EIO and do nothing (close still closes), as if
 * the machine had stopped there; then call powercut_io_cut().
 *
 * Thread-safety: one mutex guards the state and is held across each inner
 * call, so the log's flusher thread may use the table too. The state is
 * in memory: unsynced bytes are kept until the next fsync of their file.
 */
#ifndef GS_SUPPORT_POWERCUT_IO_H
#define GS_SUPPORT_POWERCUT_IO_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

typedef enum pc_mode { PC_DROP_ALL = 0, PC_DROP_SUFFIX = 1, PC_KEEP_PAGES = 2, PC_NMODES } pc_mode;

typedef struct powercut_io powercut_io;

/* What a cut changed on disk. */
typedef struct pc_report {
    uint64_t files_rewritten; /* files whose unsynced changes were (partly) dropped */
    uint64_t bytes_lost;      /* bytes that differ from the pre-cut content */
    uint64_t pages_dropped;   /* PC_KEEP_PAGES: differing pages that got the old content */
    uint64_t creates_undone;  /* files deleted: created since their dir's fsync */
    uint64_t renames_undone;
    uint64_t unlinks_undone;
    uint64_t mkdirs_undone;
} pc_report;

/* Wrap inner (NULL = gs_io_default()). Returns NULL on allocation failure.
 * Free with powercut_io_destroy (after everything using it is closed). */
powercut_io *powercut_io_create(gs_io *inner, uint64_t seed);
void powercut_io_destroy(powercut_io *p);
/* The table to hand to the log or store. Valid until destroy. */
gs_io *powercut_io_get(powercut_io *p);
/* Calls made so far (every kind except close). */
uint64_t powercut_io_calls(powercut_io *p);
/* Every call after the nth fails with -EIO. n counts all calls so far
 * (powercut_io_calls), not from now. An earlier stop already set stays:
 * once stopped, the machine never runs again. */
void powercut_io_fail_after(powercut_io *p, uint64_t n);
/* Stop `extra` calls after the kth namespace change (a file created,
 * renamed or unlinked, a directory made), counted from now, unless a stop
 * is set already: aims cuts at segment creation and quarantine. */
void powercut_io_fail_after_ns(powercut_io *p, uint64_t k, uint64_t extra);
/* Rewrite the disk as a power cut now would leave it (see above). Returns 0
 * or -errno if the real file system refused a step (a harness error). The
 * simulated state is then "everything durable". Call it with no thread
 * inside the io (or with calls failing: they change nothing). */
int powercut_io_cut(powercut_io *p, pc_mode mode, pc_report *rep);
const char *pc_mode_name(pc_mode mode);

#endif
