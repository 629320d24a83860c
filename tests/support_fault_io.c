/* support_fault_io.c - see support_fault_io.h. */
#include "gs_common.h"

#include "support_fault_io.h"

#include <string.h>

#define F(io) ((fault_io *)(io)->ctx)

/* Count a call of `kind`; return -errno to inject, 0 to pass through. */
static int hit(fault_io *f, fio_kind kind)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = ++f->count[kind];
    int r = 0;
    if (f->fail_at[kind] &&
        (n == f->fail_at[kind] || (f->persistent[kind] && n > f->fail_at[kind]))) {
        r = -f->fail_errno[kind];
        f->fired++;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int f_open(gs_io *io, const char *path, int flags, int mode)
{
    int r = hit(F(io), FIO_OPEN);
    return r ? r : F(io)->inner->open(F(io)->inner, path, flags, mode);
}
static int f_close(gs_io *io, int fd)
{
    hit(F(io), FIO_CLOSE); /* close failures are not injected: the fd would leak */
    return F(io)->inner->close(F(io)->inner, fd);
}
static ssize_t f_pread(gs_io *io, int fd, void *buf, size_t len, uint64_t off)
{
    int r = hit(F(io), FIO_PREAD);
    return r ? r : F(io)->inner->pread(F(io)->inner, fd, buf, len, off);
}
static ssize_t f_pwrite(gs_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    fault_io *f = F(io);
    pthread_mutex_lock(&f->mu);
    uint64_t nth = ++f->pwrite_seen;
    void (*hook)(void *, uint64_t) = f->pwrite_hook;
    void *ud = f->pwrite_hook_ud;
    pthread_mutex_unlock(&f->mu);
    if (hook)
        hook(ud, nth);
    int r = hit(f, FIO_PWRITE);
    if (r)
        return r;
    pthread_mutex_lock(&f->mu);
    int fail_now = f->short_pending;
    int short_now = f->short_at && f->count[FIO_PWRITE] == f->short_at;
    f->short_pending = 0;
    if (short_now)
        f->short_pending = 1;
    if (fail_now || short_now)
        f->fired++;
    pthread_mutex_unlock(&f->mu);
    if (fail_now)
        return -f->short_errno;
    if (short_now && len > 1)
        len /= 2;
    return f->inner->pwrite(f->inner, fd, buf, len, off);
}
static int f_fsync(gs_io *io, int fd)
{
    int r = hit(F(io), FIO_FSYNC);
    return r ? r : F(io)->inner->fsync(F(io)->inner, fd);
}
static int f_ftruncate(gs_io *io, int fd, uint64_t len)
{
    int r = hit(F(io), FIO_FTRUNCATE);
    return r ? r : F(io)->inner->ftruncate(F(io)->inner, fd, len);
}
static int f_fsize(gs_io *io, int fd, uint64_t *len)
{
    int r = hit(F(io), FIO_FSIZE);
    return r ? r : F(io)->inner->fsize(F(io)->inner, fd, len);
}
static int f_rename(gs_io *io, const char *from, const char *to)
{
    int r = hit(F(io), FIO_RENAME);
    return r ? r : F(io)->inner->rename(F(io)->inner, from, to);
}
static int f_unlink(gs_io *io, const char *path)
{
    int r = hit(F(io), FIO_UNLINK);
    return r ? r : F(io)->inner->unlink(F(io)->inner, path);
}
static int f_mkdir(gs_io *io, const char *path, int mode)
{
    int r = hit(F(io), FIO_MKDIR);
    return r ? r : F(io)->inner->mkdir(F(io)->inner, path, mode);
}
static int f_fsync_dir(gs_io *io, const char *path)
{
    int r = hit(F(io), FIO_FSYNC_DIR);
    return r ? r : F(io)->inner->fsync_dir(F(io)->inner, path);
}
static int f_list(gs_io *io, const char *dir, gs_io_list_fn fn, void *ud)
{
    int r = hit(F(io), FIO_LIST);
    return r ? r : F(io)->inner->list(F(io)->inner, dir, fn, ud);
}

void fault_io_init(fault_io *f, gs_io *inner)
{
    memset(f, 0, sizeof(*f));
    f->inner = inner ? inner : gs_io_default();
    pthread_mutex_init(&f->mu, NULL);
    f->io = (gs_io){.ctx = f,
                    .open = f_open,
                    .close = f_close,
                    .pread = f_pread,
                    .pwrite = f_pwrite,
                    .fsync = f_fsync,
                    .ftruncate = f_ftruncate,
                    .fsize = f_fsize,
                    .rename = f_rename,
                    .unlink = f_unlink,
                    .mkdir = f_mkdir,
                    .fsync_dir = f_fsync_dir,
                    .list = f_list};
}

void fault_io_destroy(fault_io *f)
{
    pthread_mutex_destroy(&f->mu);
}

void fault_io_fail(fault_io *f, fio_kind kind, uint64_t nth, int err, int persistent)
{
    pthread_mutex_lock(&f->mu);
    f->fail_at[kind] = nth;
    f->fail_errno[kind] = err;
    f->persistent[kind] = persistent;
    pthread_mutex_unlock(&f->mu);
}

void fault_io_short_write(fault_io *f, uint64_t nth, int err)
{
    pthread_mutex_lock(&f->mu);
    f->short_at = nth;
    f->short_errno = err;
    pthread_mutex_unlock(&f->mu);
}

uint64_t fault_io_count(fault_io *f, fio_kind kind)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->count[kind];
    pthread_mutex_unlock(&f->mu);
    return n;
}

const char *fault_io_kind_name(fio_kind kind)
{
    static const char *names[FIO_NKINDS] = {"open",   "close",     "pread",     "pwrite",
                                            "fsync",  "ftruncate", "fsize",     "rename",
                                            "unlink", "mkdir",     "fsync_dir", "list"};
    return (unsigned)kind < FIO_NKINDS ? names[kind] : "?";
}

void fault_io_pwrite_hook(fault_io *f, void (*fn)(void *ud, uint64_t nth), void *ud)
{
    pthread_mutex_lock(&f->mu);
    f->pwrite_hook = fn;
    f->pwrite_hook_ud = ud;
    pthread_mutex_unlock(&f->mu);
}
