/* support_powercut_io.c - see support_powercut_io.h. */
#include "gs_common.h"

#include "support_powercut_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PC_PAGE 4096

enum { OP_WRITE, OP_TRUNC };

/* A change to a file since its last fsync. OP_TRUNC: off is the new size. */
typedef struct pc_op {
    int kind;
    uint64_t off;
    size_t len;
    uint8_t *data;
} pc_op;

/* A file (an inode: it keeps its content across renames). */
typedef struct pc_inode {
    char *path;      /* current name, NULL when not linked */
    int lazy;        /* durable content not read yet: the file as it is on disk */
    uint8_t *synced; /* content as of the last fsync */
    size_t synced_len;
    pc_op *ops; /* changes since, in order */
    size_t nops, opcap;
    int restore; /* a cut relinked it: write it out in full */
} pc_inode;

enum { NS_CREATE, NS_RENAME, NS_UNLINK, NS_MKDIR };

/* A namespace change not yet covered by an fsync of its directory. */
typedef struct pc_ns {
    int kind;
    char *dir; /* the directory whose fsync makes it durable */
    char *a;   /* CREATE/UNLINK/MKDIR: the path; RENAME: from */
    char *b;   /* RENAME: to */
    pc_inode *ino;
    pc_inode *over; /* RENAME: the file it replaced, or NULL */
} pc_ns;

typedef struct pc_fd {
    int fd;
    pc_inode *ino;
} pc_fd;

struct powercut_io {
    gs_io io;
    gs_io *inner;
    pthread_mutex_t mu;
    uint64_t rng;
    uint64_t calls, fail_after;
    uint64_t ns_calls, ns_fail_k, ns_fail_extra; /* fail_after_ns */
    pc_inode **ino;
    size_t nino, inocap;
    pc_fd *fds;
    size_t nfds, fdcap;
    pc_ns *ns;
    size_t nns, nscap;
};

#define P(io) ((powercut_io *)(io)->ctx)

/* ------------------------------------------------------------- helpers */

/* Test support: running out of memory here is a harness failure. */
static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "powercut_io: out of memory\n");
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                       \
        }                                                                                          \
    } while (0)

static uint64_t rnd(powercut_io *p)
{
    uint64_t z = (p->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n]. */
static uint64_t rnd_upto(powercut_io *p, uint64_t n)
{
    return n == UINT64_MAX ? rnd(p) : rnd(p) % (n + 1);
}

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return xstrdup(".");
    size_t n = (size_t)(s - path);
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Read a whole real file; -errno on failure. */
static int read_path(const char *path, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *b = xrealloc(NULL, n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(b);
            close(fd);
            return -e;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

static int write_path(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, buf + done, len - done, (off_t)done);
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            return -e;
        }
        done += (size_t)r;
    }
    close(fd);
    return 0;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *c = xrealloc(NULL, n);
        snprintf(c, n, "%s/%s", path, e->d_name);
        rm_rf(c);
        free(c);
    }
    closedir(d);
    rmdir(path);
}

/* -------------------------------------------------------------- inodes */

static pc_inode *find_path(powercut_io *p, const char *path)
{
    for (size_t i = 0; i < p->nino; i++)
        if (p->ino[i]->path && strcmp(p->ino[i]->path, path) == 0)
            return p->ino[i];
    return NULL;
}

static pc_inode *new_inode(powercut_io *p, const char *path, int lazy)
{
    pc_inode *n = xrealloc(NULL, sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->path = xstrdup(path);
    n->lazy = lazy;
    GROW(p->ino, p->nino, p->inocap);
    p->ino[p->nino++] = n;
    return n;
}

static void set_path(pc_inode *n, const char *path)
{
    free(n->path);
    n->path = path ? xstrdup(path) : NULL;
}

/* The inode at path: tracked, or a file that exists and is taken as
 * durable as it is (content read when first needed). NULL if none. */
static pc_inode *lookup(powercut_io *p, const char *path)
{
    pc_inode *n = find_path(p, path);
    if (n)
        return n;
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return NULL;
    return new_inode(p, path, 1);
}

/* Read the durable content of a file first seen as it was on disk; must
 * run before anything changes it. */
static void materialise(pc_inode *n)
{
    if (!n->lazy || !n->path)
        return;
    n->lazy = 0;
    if (read_path(n->path, &n->synced, &n->synced_len) != 0) {
        n->synced = NULL;
        n->synced_len = 0;
    }
}

static void op_push(pc_inode *n, int kind, uint64_t off, const void *data, size_t len)
{
    GROW(n->ops, n->nops, n->opcap);
    pc_op *o = &n->ops[n->nops++];
    o->kind = kind;
    o->off = off;
    o->len = len;
    o->data = NULL;
    if (len) {
        o->data = xrealloc(NULL, len);
        memcpy(o->data, data, len);
    }
}

static void ops_clear(pc_inode *n)
{
    for (size_t i = 0; i < n->nops; i++)
        free(n->ops[i].data);
    n->nops = 0;
}

/* Content after the synced one, the first k changes and `part` bytes of
 * change k (a write cut mid-way). */
static void apply(const pc_inode *n, size_t k, size_t part, uint8_t **out, size_t *out_len)
{
    size_t len = n->synced_len, cap = len;
    uint8_t *b = xrealloc(NULL, cap);
    if (len)
        memcpy(b, n->synced, len);
    for (size_t i = 0; i <= k && i < n->nops; i++) {
        const pc_op *o = &n->ops[i];
        size_t m = i < k ? o->len : part;
        if (i == k && (o->kind != OP_WRITE || m == 0))
            break;
        size_t end = o->kind == OP_WRITE ? (size_t)o->off + m : (size_t)o->off;
        if (end > cap) {
            cap = end;
            b = xrealloc(b, cap);
        }
        if (end > len)
            memset(b + len, 0, end - len);
        if (o->kind == OP_WRITE) {
            memcpy(b + o->off, o->data, m);
            if (end > len)
                len = end;
        } else {
            len = end;
        }
    }
    *out = b;
    *out_len = len;
}

static uint8_t byte_at(const uint8_t *b, size_t len, size_t i)
{
    return i < len ? b[i] : 0;
}

/* ----------------------------------------------------------- namespace */

static void ns_push(powercut_io *p, int kind, const char *a, const char *b, pc_inode *ino,
                    pc_inode *over)
{
    GROW(p->ns, p->nns, p->nscap);
    pc_ns *e = &p->ns[p->nns++];
    e->kind = kind;
    e->dir = dir_of(b ? b : a);
    e->a = xstrdup(a);
    e->b = b ? xstrdup(b) : NULL;
    e->ino = ino;
    e->over = over;
    if (++p->ns_calls == p->ns_fail_k && !p->fail_after)
        p->fail_after = p->calls + p->ns_fail_extra;
}

static void ns_free(pc_ns *e)
{
    free(e->dir);
    free(e->a);
    free(e->b);
}

/* ---------------------------------------------------------- the table */

/* Count a call; 1 if it must fail (the machine has "stopped"). */
static int stopped(powercut_io *p)
{
    p->calls++;
    return p->fail_after && p->calls > p->fail_after;
}

static pc_inode *fd_inode(powercut_io *p, int fd)
{
    for (size_t i = 0; i < p->nfds; i++)
        if (p->fds[i].fd == fd)
            return p->fds[i].ino;
    return NULL;
}

static int c_open(gs_io *io, const char *path, int flags, int mode)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    pc_inode *n = lookup(p, path);
    if (n && (flags & O_TRUNC))
        materialise(n);
    int fd = p->inner->open(p->inner, path, flags, mode);
    if (fd >= 0) {
        if (!n) {
            n = new_inode(p, path, 0);
            ns_push(p, NS_CREATE, path, NULL, n, NULL);
        } else if (flags & O_TRUNC) {
            op_push(n, OP_TRUNC, 0, NULL, 0);
        }
        GROW(p->fds, p->nfds, p->fdcap);
        p->fds[p->nfds++] = (pc_fd){fd, n};
    }
    pthread_mutex_unlock(&p->mu);
    return fd;
}

static int c_close(gs_io *io, int fd)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nfds; i++) {
        if (p->fds[i].fd == fd) {
            p->fds[i] = p->fds[--p->nfds];
            break;
        }
    }
    int r = p->inner->close(p->inner, fd);
    pthread_mutex_unlock(&p->mu);
    return r;
}

static ssize_t c_pread(gs_io *io, int fd, void *buf, size_t len, uint64_t off)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    ssize_t r = stopped(p) ? -EIO : p->inner->pread(p->inner, fd, buf, len, off);
    pthread_mutex_unlock(&p->mu);
    return r;
}

static ssize_t c_pwrite(gs_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    pc_inode *n = fd_inode(p, fd);
    if (n)
        materialise(n);
    ssize_t r = p->inner->pwrite(p->inner, fd, buf, len, off);
    if (r > 0 && n)
        op_push(n, OP_WRITE, off, buf, (size_t)r);
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_fsync(gs_io *io, int fd)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    int r = p->inner->fsync(p->inner, fd);
    pc_inode *n = fd_inode(p, fd);
    if (r == 0 && n && !n->lazy) {
        uint8_t *b;
        size_t len;
        apply(n, n->nops, 0, &b, &len);
        free(n->synced);
        n->synced = b;
        n->synced_len = len;
        ops_clear(n);
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_ftruncate(gs_io *io, int fd, uint64_t len)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    pc_inode *n = fd_inode(p, fd);
    if (n)
        materialise(n);
    int r = p->inner->ftruncate(p->inner, fd, len);
    if (r == 0 && n)
        op_push(n, OP_TRUNC, len, NULL, 0);
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_fsize(gs_io *io, int fd, uint64_t *len)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    int r = stopped(p) ? -EIO : p->inner->fsize(p->inner, fd, len);
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_rename(gs_io *io, const char *from, const char *to)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    pc_inode *src = lookup(p, from), *dst = lookup(p, to);
    if (dst)
        materialise(dst); /* a cut may have to bring it back */
    int r = p->inner->rename(p->inner, from, to);
    if (r == 0 && src && src != dst) {
        set_path(src, to);
        if (dst)
            set_path(dst, NULL);
        ns_push(p, NS_RENAME, from, to, src, dst);
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_unlink(gs_io *io, const char *path)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    pc_inode *n = lookup(p, path);
    if (n)
        materialise(n);
    int r = p->inner->unlink(p->inner, path);
    if (r == 0 && n) {
        set_path(n, NULL);
        ns_push(p, NS_UNLINK, path, NULL, n, NULL);
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_mkdir(gs_io *io, const char *path, int mode)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    int r = p->inner->mkdir(p->inner, path, mode);
    if (r == 0)
        ns_push(p, NS_MKDIR, path, NULL, NULL, NULL);
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_fsync_dir(gs_io *io, const char *path)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    if (stopped(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EIO;
    }
    int r = p->inner->fsync_dir(p->inner, path);
    if (r == 0) {
        size_t k = 0;
        for (size_t i = 0; i < p->nns; i++) {
            if (strcmp(p->ns[i].dir, path) == 0)
                ns_free(&p->ns[i]);
            else
                p->ns[k++] = p->ns[i];
        }
        p->nns = k;
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int c_list(gs_io *io, const char *dir, gs_io_list_fn fn, void *ud)
{
    powercut_io *p = P(io);
    pthread_mutex_lock(&p->mu);
    int r = stopped(p) ? -EIO : p->inner->list(p->inner, dir, fn, ud);
    pthread_mutex_unlock(&p->mu);
    return r;
}

/* ----------------------------------------------------------------- API */

powercut_io *powercut_io_create(gs_io *inner, uint64_t seed)
{
    powercut_io *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->inner = inner ? inner : gs_io_default();
    p->rng = seed;
    pthread_mutex_init(&p->mu, NULL);
    p->io = (gs_io){.ctx = p,
                    .open = c_open,
                    .close = c_close,
                    .pread = c_pread,
                    .pwrite = c_pwrite,
                    .fsync = c_fsync,
                    .ftruncate = c_ftruncate,
                    .fsize = c_fsize,
                    .rename = c_rename,
                    .unlink = c_unlink,
                    .mkdir = c_mkdir,
                    .fsync_dir = c_fsync_dir,
                    .list = c_list};
    return p;
}

void powercut_io_destroy(powercut_io *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nino; i++) {
        ops_clear(p->ino[i]);
        free(p->ino[i]->ops);
        free(p->ino[i]->synced);
        free(p->ino[i]->path);
        free(p->ino[i]);
    }
    for (size_t i = 0; i < p->nns; i++)
        ns_free(&p->ns[i]);
    free(p->ino);
    free(p->fds);
    free(p->ns);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

gs_io *powercut_io_get(powercut_io *p)
{
    return &p->io;
}

uint64_t powercut_io_calls(powercut_io *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t n = p->calls;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void powercut_io_fail_after(powercut_io *p, uint64_t n)
{
    pthread_mutex_lock(&p->mu);
    if (!p->fail_after || n < p->fail_after)
        p->fail_after = n;
    pthread_mutex_unlock(&p->mu);
}

void powercut_io_fail_after_ns(powercut_io *p, uint64_t k, uint64_t extra)
{
    pthread_mutex_lock(&p->mu);
    p->ns_fail_k = p->ns_calls + k;
    p->ns_fail_extra = extra;
    pthread_mutex_unlock(&p->mu);
}

const char *pc_mode_name(pc_mode mode)
{
    switch (mode) {
    case PC_DROP_ALL:
        return "drop-all";
    case PC_DROP_SUFFIX:
        return "drop-suffix";
    case PC_KEEP_PAGES:
        return "keep-pages";
    case PC_NMODES:
        break;
    }
    return "?";
}

/* Undo one namespace change on the real file system. */
static int undo(powercut_io *p, pc_ns *e, pc_report *rep)
{
    switch (e->kind) {
    case NS_CREATE:
        if (unlink(e->a) != 0 && errno != ENOENT)
            return -errno;
        if (e->ino)
            set_path(e->ino, NULL);
        rep->creates_undone++;
        return 0;
    case NS_RENAME:
        if (rename(e->b, e->a) != 0 && errno != ENOENT)
            return -errno;
        if (e->ino)
            set_path(e->ino, e->a);
        if (e->over) {
            set_path(e->over, e->b);
            e->over->restore = 1;
        }
        rep->renames_undone++;
        return 0;
    case NS_UNLINK:
        if (e->ino) {
            set_path(e->ino, e->a);
            e->ino->restore = 1;
        }
        rep->unlinks_undone++;
        return 0;
    case NS_MKDIR: {
        size_t n = strlen(e->a);
        for (size_t i = 0; i < p->nino; i++) {
            const char *q = p->ino[i]->path;
            if (q && strncmp(q, e->a, n) == 0 && q[n] == '/')
                set_path(p->ino[i], NULL);
        }
        rm_rf(e->a);
        rep->mkdirs_undone++;
        return 0;
    }
    }
    return 0;
}

/* The content a cut leaves in one file; *dropped counts pages given the
 * old content. */
static void cut_content(powercut_io *p, pc_mode mode, const pc_inode *n, uint8_t **out,
                        size_t *out_len, uint64_t *dropped)
{
    if (mode == PC_DROP_ALL || n->nops == 0) {
        apply(n, 0, 0, out, out_len);
        return;
    }
    if (mode == PC_DROP_SUFFIX) {
        size_t k = (size_t)rnd_upto(p, n->nops);
        size_t part = 0;
        if (k < n->nops && n->ops[k].kind == OP_WRITE && n->ops[k].len > 1)
            part = (size_t)rnd_upto(p, n->ops[k].len - 1);
        apply(n, k, part, out, out_len);
        return;
    }
    uint8_t *c;
    size_t clen;
    apply(n, n->nops, 0, &c, &clen);
    size_t slen = n->synced_len;
    size_t lo = slen < clen ? slen : clen, hi = slen < clen ? clen : slen;
    size_t len = clen;
    if (slen != clen) {
        uint64_t r = rnd(p) % 3;
        len = r == 0 ? slen : r == 1 ? clen : lo + (size_t)rnd_upto(p, hi - lo);
    }
    uint8_t *f = xrealloc(NULL, len);
    for (size_t pg = 0; pg < len; pg += PC_PAGE) {
        size_t end = pg + PC_PAGE < len ? pg + PC_PAGE : len;
        int same = 1;
        for (size_t i = pg; i < end && same; i++)
            same = byte_at(c, clen, i) == byte_at(n->synced, slen, i);
        int keep_new = same || (rnd(p) & 1);
        if (!keep_new)
            (*dropped)++;
        for (size_t i = pg; i < end; i++)
            f[i] = keep_new ? byte_at(c, clen, i) : byte_at(n->synced, slen, i);
    }
    free(c);
    *out = f;
    *out_len = len;
}

int powercut_io_cut(powercut_io *p, pc_mode mode, pc_report *rep_out)
{
    pc_report rep;
    memset(&rep, 0, sizeof(rep));
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    /* Namespace: undo what no directory fsync covers, newest first. With
     * a journaling file system metadata changes reach the disk in order,
     * so outside PC_DROP_ALL a random prefix of them may have made it. */
    size_t keep = mode == PC_DROP_ALL ? 0 : (size_t)rnd_upto(p, p->nns);
    for (size_t i = p->nns; i-- > keep && rc == 0;)
        rc = undo(p, &p->ns[i], &rep);
    for (size_t i = 0; i < p->nns; i++)
        ns_free(&p->ns[i]);
    p->nns = 0;
    /* Data: each linked file with unsynced changes (or relinked). */
    for (size_t i = 0; i < p->nino && rc == 0; i++) {
        pc_inode *n = p->ino[i];
        if (!n->path || (n->nops == 0 && !n->restore) || n->lazy) {
            ops_clear(n);
            continue;
        }
        uint8_t *c, *f;
        size_t clen, flen;
        apply(n, n->nops, 0, &c, &clen);
        cut_content(p, mode, n, &f, &flen, &rep.pages_dropped);
        uint64_t lost = clen > flen ? clen - flen : 0;
        for (size_t k = 0; k < clen && k < flen; k++)
            lost += c[k] != f[k];
        rep.bytes_lost += lost;
        if (lost || n->restore)
            rep.files_rewritten++;
        rc = write_path(n->path, f, flen);
        free(c);
        free(n->synced);
        n->synced = f;
        n->synced_len = flen;
        n->restore = 0;
        ops_clear(n);
    }
    pthread_mutex_unlock(&p->mu);
    if (rep_out)
        *rep_out = rep;
    return rc;
}
