/*
 * store.c - gs_store lifecycle: the directory, its metadata file, the
 * single-writer lock, and the log (and views) it joins.
 *
 * Layout and metadata format: src/STORE_FORMAT.md.
 */
#include "gs_common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "meta.h"
#include "options.h"
#include "store_int.h"
#include "store_priv.h"

static _Thread_local char open_errmsg[GS_ERRMSG_MAX];

const char *gs_open_errmsg(void)
{
    return open_errmsg;
}

static int open_fail(gs_store *st, const gs_err *err)
{
    snprintf(open_errmsg, sizeof(open_errmsg), "%s", err->msg);
    int code = err->code;
    if (code == GS_OK) {
        /* A callee returned a code without filling err: never report
         * success with no handle. */
        code = GS_ERROR;
        snprintf(open_errmsg, sizeof(open_errmsg), "cannot open store %s",
                 st->path ? st->path : "");
    }
    gs_store_close(st);
    return code;
}

/* open_fail for a callee's code rc: when it returned one without filling
 * err, the message is at least the code's. */
static int open_fail_rc(gs_store *st, gs_err *err, int rc, const char *path)
{
    if (err->code == GS_OK)
        gs_err_set(err, rc, "cannot open store %s: %s", path, gs_errstr(rc));
    return open_fail(st, err);
}

static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* Take the writer lock: an flock on STORE/LOCK. flock locks belong to the
 * open file description, so a second writable open in the same process
 * conflicts too (POSIX fcntl locks would not). The holder's pid is written
 * into the file only to name it in the error. */
static int lock_store(gs_store *st, gs_err *err)
{
    char *path = path_join(st->path, "LOCK");
    if (!path)
        return gs_err_set(err, GS_ENOMEM, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        gs_err_errno(err, gs_errno_code(e), e, "cannot open lock file %s", path);
        free(path);
        return err->code;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = {0};
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        close(fd);
        if (e == EWOULDBLOCK)
            gs_err_set(err, GS_EBUSY, "store %s is locked by another writer (pid %ld, lock %s)",
                       st->path, pid, path);
        else
            gs_err_errno(err, GS_EIO, e, "cannot lock %s", path);
        free(path);
        return err->code;
    }
    free(path);
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        /* The pid is informative only; the lock is what counts. */
    }
    st->lock_fd = fd;
    return GS_OK;
}

static int make_dir(const char *path, gs_err *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot create directory %s", path);
    return GS_OK;
}

/* Create the store directory and its metadata if missing. */
static int create_store(gs_store *st, gs_err *err)
{
    int rc = make_dir(st->path, err);
    if (rc)
        return rc;
    return GS_OK;
}

static void log_opts_from(gs_log_opts *lo, const struct gs_options *o, const gs_store_meta *m,
                          gs_io *io)
{
    gs_log_opts_init(lo);
    lo->io = io;
    lo->read_only = o->read_only;
    lo->durability = o->durability;
    lo->batch_ms = o->batch_ms;
    lo->batch_bytes = o->batch_bytes;
    lo->segment_bytes = o->segment_bytes;
    lo->block_bytes = o->block_bytes;
    lo->zstd_level = o->compression_level;
    memcpy(lo->store_id, m->store_id, sizeof(lo->store_id));
}

int gs_store_open_io(const char *path, const gs_options *opts, gs_io *io, gs_store **out)
{
    gs_err err;
    gs_err_clear(&err);
    open_errmsg[0] = '\0';
    if (!path || !out) {
        snprintf(open_errmsg, sizeof(open_errmsg), "gs_store_open: NULL argument");
        return GS_EMISUSE;
    }
    *out = NULL;
    gs_store *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(open_errmsg, sizeof(open_errmsg), "out of memory");
        return GS_ENOMEM;
    }
    st->lock_fd = -1;
    pthread_mutex_init(&st->err_mu, NULL);
    pthread_mutex_init(&st->ingest_mu, NULL);
    pthread_mutex_init(&st->subs_mu, NULL);
    pthread_cond_init(&st->subs_room, NULL);
    st->wm_fd = -1;
    st->mutexes_init = 1;
    if (opts)
        st->opts = *opts;
    else
        gs_options_defaults(&st->opts);
    st->io = io ? io : gs_io_default();
    st->path = strdup(path);
    st->log_dir = path_join(path, "log");
    st->views_dir = path_join(path, "views");
    if (!st->path || !st->log_dir || !st->views_dir) {
        gs_err_set(&err, GS_ENOMEM, "out of memory");
        return open_fail(st, &err);
    }
    snprintf(st->errmsg, sizeof(st->errmsg), "no error");

    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode)) {
        gs_err_set(&err, GS_ENOSTORE, "%s is not a directory", path);
        return open_fail(st, &err);
    }
    if (!exists) {
        if (!st->opts.create_if_missing || st->opts.read_only) {
            gs_err_set(&err, GS_ENOSTORE, "no store at %s (run `gatestore init`)", path);
            return open_fail(st, &err);
        }
        if (create_store(st, &err))
            return open_fail(st, &err);
    }
    if (!st->opts.read_only && lock_store(st, &err))
        return open_fail(st, &err);

    /* Metadata: read it; a writable open with create makes it when absent
     * (only when the directory holds no log, so a damaged store is never
     * silently re-initialised). */
    int rc = gs_meta_read(st->path, &st->meta, &err);
    if (rc == GS_ENOSTORE && st->opts.create_if_missing && !st->opts.read_only) {
        struct stat lb;
        if (stat(st->log_dir, &lb) == 0) {
            gs_err_set(&err, GS_ENOSTORE,
                       "%s has a log/ but no gatestore.meta; refusing to re-initialise it", path);
            return open_fail(st, &err);
        }
        gs_err_clear(&err);
        rc = gs_meta_create(st->path, &st->meta, &err);
    }
    if (rc)
        return open_fail_rc(st, &err, rc, path);

    gs_log_opts lo;
    log_opts_from(&lo, &st->opts, &st->meta, st->io);
    if (!st->opts.read_only) {
        rc = gs_log_open(st->log_dir, &lo, &st->log, &err);
        if (rc)
            return open_fail_rc(st, &err, rc, path);
        const gs_log_recovery *rec = gs_log_recovery_info(st->log);
        if (rec)
            st->recovery = *rec;
    } else {
        struct stat lb;
        if (stat(st->log_dir, &lb) != 0) {
            gs_err_set(&err, GS_ENOSTORE, "store %s has no log directory", path);
            return open_fail(st, &err);
        }
    }
    rc = gs_store_views_start(st, &err);
    if (rc)
        return open_fail_rc(st, &err, rc, path);
    *out = st;
    return GS_OK;
}

int gs_store_open(const char *path, const gs_options *opts, gs_store **out)
{
    return gs_store_open_io(path, opts, NULL, out);
}

int gs_store_close(gs_store *st)
{
    if (!st)
        return GS_OK;
    int rc = GS_OK;
    gs_err err;
    gs_err_clear(&err);
    if (st->mutexes_init)
        gs_subs_close_all(st); /* before the feed and views go */
    rc = gs_store_views_stop(st, &err);
    if (st->log) {
        int r = gs_log_close(st->log, &err);
        if (r && rc == GS_OK)
            rc = r;
        st->log = NULL;
    }
    if (rc)
        snprintf(open_errmsg, sizeof(open_errmsg), "%s", err.msg);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    if (st->mutexes_init) {
        pthread_mutex_destroy(&st->err_mu);
        pthread_mutex_destroy(&st->ingest_mu);
        pthread_mutex_destroy(&st->subs_mu);
        pthread_cond_destroy(&st->subs_room);
    }
    gs_store_ingest_free(st);
    free(st->path);
    free(st->log_dir);
    free(st->views_dir);
    free(st);
    return rc;
}

const char *gs_store_errmsg(const gs_store *st)
{
    if (!st)
        return "no store handle";
    return st->errmsg;
}

int gs_store_fail(gs_store *st, const gs_err *err)
{
    pthread_mutex_lock(&st->err_mu);
    snprintf(st->errmsg, sizeof(st->errmsg), "%s", err->msg[0] ? err->msg : gs_errstr(err->code));
    pthread_mutex_unlock(&st->err_mu);
    return err->code;
}

int gs_store_recovery_report(gs_store *st, gs_recovery_report *out)
{
    if (!st || !out)
        return GS_EMISUSE;
    out->truncated = st->recovery.truncated;
    out->bytes_dropped = st->recovery.bytes_dropped;
    out->last_good_lsn = st->recovery.last_good_lsn;
    out->segment = st->recovery.segment;
    out->offset = st->recovery.offset;
    out->quarantine = st->recovery.quarantine;
    return GS_OK;
}

uint64_t gs_store_head_lsn(gs_store *st)
{
    if (!st)
        return 0;
    if (st->log)
        return gs_log_head_lsn(st->log);
    gs_log_stats s;
    if (gs_log_stat_dir(st->log_dir, st->io, &s, NULL) == GS_OK)
        return s.last_lsn;
    return 0;
}

uint64_t gs_store_durable_lsn(gs_store *st)
{
    if (!st)
        return 0;
    if (st->log)
        return gs_log_durable_lsn(st->log);
    return gs_store_head_lsn(st);
}

int gs_store_sync(gs_store *st)
{
    if (!st)
        return GS_EMISUSE;
    if (!st->log) {
        gs_err err;
        gs_err_set(&err, GS_EREADONLY, "store %s is open read-only", st->path);
        return gs_store_fail(st, &err);
    }
    gs_err err;
    gs_err_clear(&err);
    int rc = gs_log_sync(st->log, &err);
    if (rc)
        return gs_store_fail(st, &err);
    return GS_OK;
}

gs_log *gs_store_log(gs_store *st)
{
    return st->log;
}

const char *gs_store_log_dir(gs_store *st)
{
    return st->log_dir;
}

const char *gs_store_views_dir(gs_store *st)
{
    return st->views_dir;
}

gs_io *gs_store_io(gs_store *st)
{
    return st->io;
}
