/*
 * support_fault_io.h - a gs_io that wraps another (normally the default)
 * and fails chosen calls, for the log's fault-injection tests.
 *
 * Each kind of call is counted from 1. fault_io_fail(f, kind, n, errno)
 * makes the nth call of that kind fail with -errno (once, or every call
 * from the nth on with persistent = 1). fault_io_short_write(f, n, errno)
 * makes the nth pwrite write only half its bytes (at least 1) and the next
 * pwrite fail with -errno, like a disk filling up mid-write. A failed call
 * does nothing to the file. Counters can be read to size a loop over every
 * call of a workload.
 *
 * fault_io_pwrite_hook(f, fn, ud) calls fn(ud, nth) at the start of every
 * pwrite (nth counts from 1, before any fault decides its outcome), with no
 * lock held, so fn may block to hold a block write in flight.
 *
 * Thread-safety: the counters are guarded by a mutex, so the log's flusher
 * thread may use the table too.
 */
#ifndef GS_SUPPORT_FAULT_IO_H
#define GS_SUPPORT_FAULT_IO_H

#include <pthread.h>

#include "io.h"

typedef enum fio_kind {
    FIO_OPEN,
    FIO_CLOSE,
    FIO_PREAD,
    FIO_PWRITE,
    FIO_FSYNC,
    FIO_FTRUNCATE,
    FIO_FSIZE,
    FIO_RENAME,
    FIO_UNLINK,
    FIO_MKDIR,
    FIO_FSYNC_DIR,
    FIO_LIST,
    FIO_NKINDS
} fio_kind;

typedef struct fault_io {
    gs_io io; /* pass &f->io to the log */
    gs_io *inner;
    pthread_mutex_t mu;
    uint64_t count[FIO_NKINDS];
    uint64_t fail_at[FIO_NKINDS]; /* 0 = never */
    int fail_errno[FIO_NKINDS];
    int persistent[FIO_NKINDS];
    uint64_t short_at; /* nth pwrite is short (0 = never) */
    int short_errno;
    int short_pending; /* the next pwrite fails */
    uint64_t fired;    /* faults injected so far */
    void (*pwrite_hook)(void *ud, uint64_t nth);
    void *pwrite_hook_ud;
    uint64_t pwrite_seen; /* pwrite calls that reached the hook */
} fault_io;

void fault_io_init(fault_io *f, gs_io *inner);
void fault_io_destroy(fault_io *f);
void fault_io_fail(fault_io *f, fio_kind kind, uint64_t nth, int err, int persistent);
void fault_io_short_write(fault_io *f, uint64_t nth, int err);
uint64_t fault_io_count(fault_io *f, fio_kind kind);
const char *fault_io_kind_name(fio_kind kind);
void fault_io_pwrite_hook(fault_io *f, void (*fn)(void *ud, uint64_t nth), void *ud);

#endif
