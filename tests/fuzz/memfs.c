/* memfs.c - see memfs.h. */
#include "gs_common.h"

#include "memfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 64
#define MAX_FDS   64

typedef struct node {
    char *path; /* NULL: slot free, or unlinked (kept while open) */
    int is_dir;
    int refs; /* open descriptors */
    int used;
    uint8_t *data;
    size_t len, cap;
} node;

static node nodes[MAX_NODES];
static node *fds[MAX_FDS];

static void node_free(node *n)
{
    free(n->path);
    free(n->data);
    memset(n, 0, sizeof(*n));
}

static void maybe_free(node *n)
{
    if (!n->path && n->refs == 0)
        node_free(n);
}

void memfs_reset(void)
{
    for (int i = 0; i < MAX_FDS; i++)
        fds[i] = NULL;
    for (int i = 0; i < MAX_NODES; i++)
        node_free(&nodes[i]);
}

static node *find(const char *path)
{
    for (int i = 0; i < MAX_NODES; i++)
        if (nodes[i].path && strcmp(nodes[i].path, path) == 0)
            return &nodes[i];
    return NULL;
}

static int parent_exists(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return 1;
    size_t n = (size_t)(s - path);
    for (int i = 0; i < MAX_NODES; i++)
        if (nodes[i].path && nodes[i].is_dir && strlen(nodes[i].path) == n &&
            memcmp(nodes[i].path, path, n) == 0)
            return 1;
    return 0;
}

static node *create(const char *path, int is_dir)
{
    for (int i = 0; i < MAX_NODES; i++) {
        if (!nodes[i].used) {
            node *n = &nodes[i];
            n->used = 1;
            n->path = strdup(path);
            n->is_dir = is_dir;
            return n->path ? n : NULL;
        }
    }
    return NULL;
}

static int reserve(node *n, size_t need)
{
    if (need <= n->cap)
        return 0;
    size_t cap = n->cap ? n->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(n->data, cap);
    if (!p)
        return -ENOSPC;
    n->data = p;
    n->cap = cap;
    return 0;
}

void memfs_mkdir(const char *path)
{
    if (!find(path))
        create(path, 1);
}

void memfs_write(const char *path, const uint8_t *data, size_t len)
{
    node *n = find(path);
    if (!n)
        n = create(path, 0);
    if (!n || reserve(n, len) != 0)
        abort();
    if (len)
        memcpy(n->data, data, len);
    n->len = len;
}

static node *fd_node(int fd)
{
    return fd >= 0 && fd < MAX_FDS ? fds[fd] : NULL;
}

static int m_open(gs_io *io, const char *path, int flags, int mode)
{
    GS_UNUSED(io);
    GS_UNUSED(mode);
    node *n = find(path);
    if (n && n->is_dir)
        return -EISDIR;
    if (n && (flags & O_CREAT) && (flags & O_EXCL))
        return -EEXIST;
    if (!n) {
        if (!(flags & O_CREAT))
            return -ENOENT;
        if (!parent_exists(path))
            return -ENOENT;
        n = create(path, 0);
        if (!n)
            return -ENOSPC;
    }
    if (flags & O_TRUNC)
        n->len = 0;
    for (int fd = 3; fd < MAX_FDS; fd++) {
        if (!fds[fd]) {
            fds[fd] = n;
            n->refs++;
            return fd;
        }
    }
    return -EMFILE;
}

static int m_close(gs_io *io, int fd)
{
    GS_UNUSED(io);
    node *n = fd_node(fd);
    if (!n)
        return -EBADF;
    fds[fd] = NULL;
    n->refs--;
    maybe_free(n);
    return 0;
}

static ssize_t m_pread(gs_io *io, int fd, void *buf, size_t len, uint64_t off)
{
    GS_UNUSED(io);
    node *n = fd_node(fd);
    if (!n)
        return -EBADF;
    if (off >= n->len)
        return 0;
    size_t k = n->len - (size_t)off < len ? n->len - (size_t)off : len;
    memcpy(buf, n->data + off, k);
    return (ssize_t)k;
}

static ssize_t m_pwrite(gs_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    GS_UNUSED(io);
    node *n = fd_node(fd);
    if (!n)
        return -EBADF;
    if (off > (1u << 30) || len > (1u << 30))
        return -EFBIG;
    size_t end = (size_t)off + len;
    int r = reserve(n, end);
    if (r)
        return r;
    if (off > n->len)
        memset(n->data + n->len, 0, (size_t)off - n->len);
    memcpy(n->data + off, buf, len);
    if (end > n->len)
        n->len = end;
    return (ssize_t)len;
}

static int m_fsync(gs_io *io, int fd)
{
    GS_UNUSED(io);
    return fd_node(fd) ? 0 : -EBADF;
}

static int m_ftruncate(gs_io *io, int fd, uint64_t len)
{
    GS_UNUSED(io);
    node *n = fd_node(fd);
    if (!n)
        return -EBADF;
    if (len > (1u << 30))
        return -EFBIG;
    int r = reserve(n, (size_t)len);
    if (r)
        return r;
    if (len > n->len)
        memset(n->data + n->len, 0, (size_t)len - n->len);
    n->len = (size_t)len;
    return 0;
}

static int m_fsize(gs_io *io, int fd, uint64_t *len)
{
    GS_UNUSED(io);
    node *n = fd_node(fd);
    if (!n)
        return -EBADF;
    *len = n->len;
    return 0;
}

static int m_rename(gs_io *io, const char *from, const char *to)
{
    GS_UNUSED(io);
    node *n = find(from);
    if (!n)
        return -ENOENT;
    node *old = find(to);
    if (old == n)
        return 0;
    if (old) {
        free(old->path);
        old->path = NULL;
        maybe_free(old);
    }
    char *p = strdup(to);
    if (!p)
        return -ENOMEM;
    free(n->path);
    n->path = p;
    return 0;
}

static int m_unlink(gs_io *io, const char *path)
{
    GS_UNUSED(io);
    node *n = find(path);
    if (!n || n->is_dir)
        return n ? -EISDIR : -ENOENT;
    free(n->path);
    n->path = NULL;
    maybe_free(n);
    return 0;
}

static int m_mkdir(gs_io *io, const char *path, int mode)
{
    GS_UNUSED(io);
    GS_UNUSED(mode);
    if (find(path))
        return -EEXIST;
    if (!parent_exists(path))
        return -ENOENT;
    return create(path, 1) ? 0 : -ENOSPC;
}

static int m_fsync_dir(gs_io *io, const char *path)
{
    GS_UNUSED(io);
    node *n = find(path);
    return n && n->is_dir ? 0 : -ENOENT;
}

static int m_list(gs_io *io, const char *dir, gs_io_list_fn fn, void *ud)
{
    GS_UNUSED(io);
    node *d = find(dir);
    if (!d || !d->is_dir)
        return -ENOENT;
    size_t n = strlen(dir);
    for (int i = 0; i < MAX_NODES; i++) {
        const char *p = nodes[i].path;
        if (!p || strncmp(p, dir, n) != 0 || p[n] != '/' || strchr(p + n + 1, '/'))
            continue;
        int r = fn(ud, p + n + 1);
        if (r)
            return r;
    }
    return 0;
}

static gs_io table = {.ctx = NULL,
                      .open = m_open,
                      .close = m_close,
                      .pread = m_pread,
                      .pwrite = m_pwrite,
                      .fsync = m_fsync,
                      .ftruncate = m_ftruncate,
                      .fsize = m_fsize,
                      .rename = m_rename,
                      .unlink = m_unlink,
                      .mkdir = m_mkdir,
                      .fsync_dir = m_fsync_dir,
                      .list = m_list};

gs_io *memfs_io(void)
{
    return &table;
}
