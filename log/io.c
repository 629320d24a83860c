/* io.c - gs_io_default(): the gs_io table over the real system calls, and
 * the write_all/read_all loops every caller shares. */
#include "gs_common.h"

#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int d_open(gs_io *io, const char *path, int flags, int mode)
{
    GS_UNUSED(io);
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int d_close(gs_io *io, int fd)
{
    GS_UNUSED(io);
    /* No retry on EINTR: on Linux the descriptor is gone either way. */
    return close(fd) < 0 ? -errno : 0;
}

static ssize_t d_pread(gs_io *io, int fd, void *buf, size_t len, uint64_t off)
{
    GS_UNUSED(io);
    ssize_t n;
    do
        n = pread(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static ssize_t d_pwrite(gs_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    GS_UNUSED(io);
    ssize_t n;
    do
        n = pwrite(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static int d_fsync(gs_io *io, int fd)
{
    GS_UNUSED(io);
    /* Never retried, not even on EINTR: after a failed fsync the kernel may
     * have dropped the dirty pages, so a second fsync can succeed without
     * the data being on disk. The caller fails the log instead. */
    return fsync(fd) < 0 ? -errno : 0;
}

static int d_ftruncate(gs_io *io, int fd, uint64_t len)
{
    GS_UNUSED(io);
    int r;
    do
        r = ftruncate(fd, (off_t)len);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int d_fsize(gs_io *io, int fd, uint64_t *len)
{
    GS_UNUSED(io);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *len = (uint64_t)st.st_size;
    return 0;
}

static int d_rename(gs_io *io, const char *from, const char *to)
{
    GS_UNUSED(io);
    return rename(from, to) < 0 ? -errno : 0;
}

static int d_unlink(gs_io *io, const char *path)
{
    GS_UNUSED(io);
    return unlink(path) < 0 ? -errno : 0;
}

static int d_mkdir(gs_io *io, const char *path, int mode)
{
    GS_UNUSED(io);
    return mkdir(path, (mode_t)mode) < 0 ? -errno : 0;
}

static int d_fsync_dir(gs_io *io, const char *path)
{
    GS_UNUSED(io);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int d_list(gs_io *io, const char *dir, gs_io_list_fn fn, void *ud)
{
    GS_UNUSED(io);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            r = errno ? -errno : 0;
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        r = fn(ud, e->d_name);
        if (r)
            break;
    }
    closedir(d);
    return r;
}

static gs_io default_io = {
    .ctx = NULL,
    .open = d_open,
    .close = d_close,
    .pread = d_pread,
    .pwrite = d_pwrite,
    .fsync = d_fsync,
    .ftruncate = d_ftruncate,
    .fsize = d_fsize,
    .rename = d_rename,
    .unlink = d_unlink,
    .mkdir = d_mkdir,
    .fsync_dir = d_fsync_dir,
    .list = d_list,
};

gs_io *gs_io_default(void)
{
    return &default_io;
}

int gs_io_write_all(gs_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = io->pwrite(io, fd, p, len, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int gs_io_read_all(gs_io *io, int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = io->pread(io, fd, p, len, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -ENODATA;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}
