/*
 * io.h - the thin I/O layer under the log.
 *
 * Every system call the log makes on files goes through a gs_io table, so
 * tests can fail the Nth call (ENOSPC, EIO, short write, fsync error) and,
 * later, simulate power loss (keep unsynced bytes in memory and drop them).
 * gs_io_default() is the real thing. Functions return 0 or -errno; reads and
 * writes return the byte count or -errno, like the system calls but without
 * touching errno.
 *
 * Thread-safety: the default table is stateless and may be used from any
 * thread; a fault-injecting table documents its own rules.
 */
#ifndef GS_LOG_IO_H
#define GS_LOG_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct gs_io gs_io;

/* Called by gs_io_list for each directory entry name (not "." or ".."). */
typedef int (*gs_io_list_fn)(void *ud, const char *name);

struct gs_io {
    void *ctx;
    /* flags as for open(2) (O_CLOEXEC is added); returns fd >= 0 or -errno */
    int (*open)(gs_io *io, const char *path, int flags, int mode);
    int (*close)(gs_io *io, int fd);
    ssize_t (*pread)(gs_io *io, int fd, void *buf, size_t len, uint64_t off);
    ssize_t (*pwrite)(gs_io *io, int fd, const void *buf, size_t len, uint64_t off);
    int (*fsync)(gs_io *io, int fd); /* fdatasync is not enough for new files */
    int (*ftruncate)(gs_io *io, int fd, uint64_t len);
    int (*fsize)(gs_io *io, int fd, uint64_t *len);
    int (*rename)(gs_io *io, const char *from, const char *to);
    int (*unlink)(gs_io *io, const char *path);
    int (*mkdir)(gs_io *io, const char *path, int mode);
    /* open the directory, fsync it, close it */
    int (*fsync_dir)(gs_io *io, const char *path);
    int (*list)(gs_io *io, const char *dir, gs_io_list_fn fn, void *ud);
};

/* The real file system. Static storage, never freed. */
gs_io *gs_io_default(void);

/* Write all of buf at off, looping over short writes; -errno on failure
 * (a short write that makes no progress is reported as -EIO). */
int gs_io_write_all(gs_io *io, int fd, const void *buf, size_t len, uint64_t off);
/* Read exactly len bytes at off: 0 ok, -ENODATA if the file ends first. */
int gs_io_read_all(gs_io *io, int fd, void *buf, size_t len, uint64_t off);

#endif
