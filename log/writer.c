/* writer.c - gs_log: appends, block cutting, group commit, durability
 * modes, segment roll, the failed state and the BATCH flusher thread.
 *
 * Locking: the mutex mu guards the in-memory state (the block being
 * filled, the hand-off slot, head/written/durable, the BATCH accounting,
 * the failed state). No file I/O runs with mu held: an appender never
 * waits for the disk unless the block it fills has to be cut while the
 * previous one is still unwritten (or it asked for SYNC durability).
 *
 * File writes have one owner at a time, the holder of the I/O token
 * (`io_busy`, taken and given back under mu). Only the holder touches the
 * active segment (fd, off, idx, seg_path, seg_base) and may change it; it
 * does so under mu, so the others may read those fields under mu. The
 * holder compresses and writes blocks and rolls segments with mu released.
 * Blocks leave the in-memory buffer in LSN order and are written in that
 * order: a full block goes to the one-block hand-off slot; the token
 * holder writes the handed block before it takes the block being filled;
 * and a block taken while the token is held is written before the token
 * is given back, so whoever writes a later block comes after.
 *
 * fsync runs without the token (nor mu), so the next blocks can be
 * written meanwhile. One thread fsyncs at a time (the leader, `syncing`);
 * it covers exactly the blocks written (`written`) before it started:
 * durable never passes an fsync. Others that need durability wait on
 * cv_done and are covered by the leader's fsync if their records were
 * written before it started (group commit).
 *
 * In BATCH and OFF mode the flusher thread takes the token to compress a
 * handed block (its own codec) and write it, while appenders fill the
 * next block. An appender holds the `appending` token while it adds its
 * records, so the records of one call get consecutive LSNs even when it
 * has to wait for the slot. */
#include "gs_common.h"

#include "log_int.h"
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gs_log {
    char dir[GS_PATH_MAX];
    gs_io *io;
    gs_log_opts o;

    pthread_mutex_t mu;
    pthread_cond_t cv_flush; /* wakes the flusher */
    pthread_cond_t cv_done;  /* a leader's fsync finished */
    pthread_cond_t cv_head;  /* head advanced (gs_log_wait_head) */
    pthread_cond_t cv_slot;  /* the hand-off slot, the append or the I/O token freed */
    pthread_t flusher;
    int flusher_running;
    int closing;
    int head_waiters;

    /* active segment: changed only by the I/O token holder, under mu */
    int fd;
    uint64_t seg_base;
    char seg_path[GS_PATH_MAX];
    uint64_t off; /* end of the last good block */
    gs_idx_entry *idx;
    size_t idx_n, idx_cap;

    /* block being filled */
    uint8_t *buf;
    size_t len, cap;
    uint32_t blk_count;
    uint64_t blk_first;
    int64_t blk_min, blk_max;
    uint64_t blk_frames;

    gs_codec codec; /* used by the I/O token holder, except the flusher */
    uint64_t head, written, durable;

    int io_busy; /* the I/O token: someone compresses/writes/rolls */

    /* a full block taken from the appenders, not yet compressed */
    int pipeline;
    int appending; /* an appender is adding its records */
    int handed;    /* hbuf holds a block not yet compressed */
    uint8_t *hbuf;
    size_t hlen, hcap;
    gs_blk_hdr hh;
    gs_codec fcodec; /* the flusher's own zstd context */

    /* BATCH bookkeeping: raw bytes appended since the last fsync */
    uint64_t pending_bytes;
    uint64_t pending_since_ns;

    /* group commit */
    int syncing;
    int sync_fd;
    int sync_fd_retired; /* rolled away while the leader fsyncs it */

    int failed;
    char fail_msg[GS_ERRMSG_MAX];
    gs_log_recovery rec;
};

void gs_log_opts_init(gs_log_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->io = NULL;
    o->durability = GS_DURABILITY_BATCH;
    o->batch_ms = 10;
    o->batch_bytes = 4u << 20;
    o->segment_bytes = 64u << 20;
    o->block_bytes = 256u << 10;
    o->zstd_level = 1;
}

/* ------------------------------------------------------------ failure */

/* Enter the failed state. The error (already in err) goes to this caller;
 * everyone after gets GS_EFAILED with the original message attached. */
static int fail_locked(gs_log *l, gs_err *err, int code)
{
    if (!l->failed) {
        l->failed = 1;
        snprintf(l->fail_msg, sizeof(l->fail_msg), "%s", err && err->msg[0] ? err->msg : "");
    }
    pthread_cond_broadcast(&l->cv_done);
    pthread_cond_broadcast(&l->cv_flush);
    pthread_cond_broadcast(&l->cv_slot);
    return code;
}

static int refuse_failed(gs_log *l, gs_err *err)
{
    return gs_err_set(err, GS_EFAILED,
                      "log refuses writes after an earlier I/O failure (%s); reopen the store",
                      l->fail_msg);
}

/* ---------------------------------------------------------- I/O token */

/* Take the I/O token (mu held; may wait with mu released). */
static int io_take_locked(gs_log *l, gs_err *err)
{
    while (l->io_busy && !l->failed)
        pthread_cond_wait(&l->cv_slot, &l->mu);
    if (l->failed)
        return refuse_failed(l, err);
    l->io_busy = 1;
    return GS_OK;
}

static void io_give_locked(gs_log *l)
{
    l->io_busy = 0;
    pthread_cond_broadcast(&l->cv_slot);
    if (l->handed)
        pthread_cond_signal(&l->cv_flush); /* the flusher may have skipped it */
}

/* -------------------------------------------------------------- blocks */

static int idx_push(gs_log *l, const gs_idx_entry *e, gs_err *err)
{
    if (l->idx_n == l->idx_cap) {
        size_t cap = l->idx_cap ? l->idx_cap * 2 : 64;
        gs_idx_entry *p = realloc(l->idx, cap * sizeof(*p));
        if (!p)
            return gs_err_set(err, GS_ENOMEM, "cannot grow the block index");
        l->idx = p;
        l->idx_cap = cap;
    }
    l->idx[l->idx_n++] = *e;
    return GS_OK;
}

static int roll_locked(gs_log *l, uint64_t last, gs_err *err);

/* Write an encoded block at the end of the active segment, then roll if
 * the segment is full. mu and the I/O token held; the write runs with mu
 * released (blk belongs to the token holder's codec). On a failed write
 * the file is cut back to the last good block so it stays clean; if that
 * fails too, recovery cuts it on the next open. */
static int commit_block_locked(gs_log *l, const gs_blk_hdr *h, const uint8_t *blk, size_t blk_len,
                               gs_err *err)
{
    int fd = l->fd;
    uint64_t off = l->off;
    pthread_mutex_unlock(&l->mu);
    int r = gs_io_write_all(l->io, fd, blk, blk_len, off);
    if (r < 0)
        l->io->ftruncate(l->io, fd, off);
    pthread_mutex_lock(&l->mu);
    if (r < 0) {
        int rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot write %s at offset %" PRIu64,
                              l->seg_path, off);
        return fail_locked(l, err, rc);
    }
    gs_idx_entry e = {.off = off,
                      .first_lsn = h->first_lsn,
                      .min_us = h->min_us,
                      .max_us = h->max_us,
                      .count = h->count,
                      .frame_bytes = h->frame_bytes,
                      .comp_len = h->comp_len,
                      .raw_len = h->raw_len};
    int rc = idx_push(l, &e, err);
    if (rc)
        return fail_locked(l, err, rc);
    l->off = off + blk_len;
    uint64_t last = h->first_lsn + h->count - 1;
    if (l->off >= l->o.segment_bytes)
        return roll_locked(l, last, err); /* publishes written with durable */
    l->written = last;
    return GS_OK;
}

/* Compress the handed block with c (mu released: nobody touches hbuf while
 * it is handed), free the slot and write the block. mu and the I/O token
 * held. */
static int drain_handed_locked(gs_log *l, gs_codec *c, gs_err *err)
{
    if (!l->handed)
        return GS_OK;
    if (l->failed)
        return refuse_failed(l, err);
    gs_blk_hdr h = l->hh;
    const uint8_t *blk;
    size_t blk_len;
    pthread_mutex_unlock(&l->mu);
    int rc = gs_codec_encode(c, &h, l->hbuf, l->hlen, &blk, &blk_len, err);
    pthread_mutex_lock(&l->mu);
    l->handed = 0; /* the compressed copy is in c: appenders may hand the next */
    pthread_cond_broadcast(&l->cv_slot);
    if (rc)
        return fail_locked(l, err, rc);
    return commit_block_locked(l, &h, blk, blk_len, err);
}

static void reset_block(gs_log *l)
{
    l->len = 0;
    l->blk_count = 0;
    l->blk_frames = 0;
}

static gs_blk_hdr block_fields(const gs_log *l)
{
    gs_blk_hdr h = {.count = l->blk_count,
                    .frame_bytes = (uint32_t)l->blk_frames,
                    .first_lsn = l->blk_first,
                    .min_us = l->blk_min,
                    .max_us = l->blk_max};
    return h;
}

/* Move the block being filled to the empty hand-off slot (buffers swap). */
static void hand_locked(gs_log *l)
{
    uint8_t *b = l->hbuf;
    size_t cap = l->hcap;
    l->hbuf = l->buf;
    l->hcap = l->cap;
    l->hlen = l->len;
    l->hh = block_fields(l);
    l->buf = b;
    l->cap = cap;
    reset_block(l);
    l->handed = 1;
}

/* Write the handed block, then the block being filled: on return every
 * record appended before the call is written (or the log failed). */
static int write_block_locked(gs_log *l, gs_err *err)
{
    int rc = io_take_locked(l, err);
    if (rc)
        return rc;
    /* While a block is written (mu released) appenders may hand the next
     * one: it is older than the block being filled, so it goes first. */
    uint64_t target = l->head;
    while (rc == GS_OK && l->written < target) {
        if (!l->handed) {
            if (l->blk_count == 0)
                break;
            hand_locked(l);
        }
        rc = drain_handed_locked(l, &l->codec, err);
    }
    io_give_locked(l);
    return rc;
}

/* Cut the block being filled while it is not empty and len + need > limit:
 * write it (SYNC), or hand it to the flusher, waiting for the slot. */
static int cut_locked(gs_log *l, size_t need, size_t limit, gs_err *err)
{
    while (l->blk_count > 0 && l->len + need > limit) {
        if (!l->pipeline)
            return write_block_locked(l, err);
        if (l->failed)
            return refuse_failed(l, err);
        if (!l->handed) {
            hand_locked(l);
            pthread_cond_signal(&l->cv_flush);
            return GS_OK;
        }
        if (!l->io_busy) {
            /* The flusher has not picked it up (busy in an fsync, or not
             * scheduled yet): write it here rather than wait. */
            int rc = io_take_locked(l, err);
            if (rc == GS_OK) {
                rc = drain_handed_locked(l, &l->codec, err);
                io_give_locked(l);
            }
            if (rc)
                return rc;
            continue;
        }
        pthread_cond_wait(&l->cv_slot, &l->mu);
    }
    return GS_OK;
}

/* Seal the active segment (index footer + fsync) and start the next one,
 * named by the next LSN, after the block ending at `last` (written is
 * set to it here, together with durable). mu and the I/O token held; the I/O runs with mu
 * released, so appenders go on meanwhile, and no block is written to the
 * sealed segment after its footer (we hold the token). */
static int roll_locked(gs_log *l, uint64_t last, gs_err *err)
{
    int fd = l->fd;
    uint64_t off = l->off;
    uint64_t base = last + 1;
    int nfd = -1;
    pthread_mutex_unlock(&l->mu);
    int created = 0;
    int rc = gs_seg_write_index(l->io, fd, l->seg_path, off, l->idx, l->idx_n, last, err);
    if (rc) {
        l->io->ftruncate(l->io, fd, off);
    } else {
        int r = l->io->fsync(l->io, fd);
        if (r < 0)
            rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync %s", l->seg_path);
    }
    if (rc == GS_OK) {
        created = 1;
        rc = gs_seg_create(l->io, l->dir, base, l->o.store_id, &nfd, err);
    }
    pthread_mutex_lock(&l->mu);
    l->written = last; /* the block is in the file whatever happens next */
    if (!created)
        return fail_locked(l, err, rc);
    /* Every earlier segment was fsynced when it was sealed, so everything
     * written is durable now. If nothing is buffered either, nothing is
     * pending: reset the BATCH accounting so the next append counts as the
     * first pending one (see gs_log_append). */
    if (last > l->durable)
        l->durable = last;
    if (l->written == l->head) {
        l->pending_bytes = 0;
        l->pending_since_ns = 0;
    }
    pthread_cond_broadcast(&l->cv_done);
    if (l->syncing && l->sync_fd == fd)
        l->sync_fd_retired = 1; /* the leader closes it after its fsync */
    else
        l->io->close(l->io, fd);
    l->fd = -1;
    if (rc)
        return fail_locked(l, err, rc);
    l->fd = nfd;
    char name[GS_SEG_NAME_MAX];
    gs_seg_name(base, name);
    gs_path_join(l->seg_path, sizeof(l->seg_path), l->dir, name, NULL);
    l->seg_base = base;
    l->off = GS_SEG_HDR_LEN;
    l->idx_n = 0;
    return GS_OK;
}

/* Make everything up to `target` durable: write the pending block, then
 * fsync as leader, or wait for the current leader and re-check. */
static int sync_locked(gs_log *l, uint64_t target, gs_err *err)
{
    while (l->durable < target) {
        if (l->failed)
            return refuse_failed(l, err);
        if (l->syncing) {
            pthread_cond_wait(&l->cv_done, &l->mu);
            continue;
        }
        int rc = write_block_locked(l, err);
        if (rc)
            return rc;
        if (l->durable >= target)
            break; /* a roll made it durable */
        if (l->syncing)
            continue; /* another leader started while we waited for the slot */
        uint64_t covered = l->written;
        uint64_t pend = l->pending_bytes;
        int fd = l->fd;
        l->syncing = 1;
        l->sync_fd = fd;
        l->sync_fd_retired = 0;
        pthread_mutex_unlock(&l->mu);
        int r = l->io->fsync(l->io, fd);
        pthread_mutex_lock(&l->mu);
        l->syncing = 0;
        char path[GS_PATH_MAX];
        snprintf(path, sizeof(path), "%s", l->seg_path);
        if (l->sync_fd_retired) {
            l->io->close(l->io, fd);
            l->sync_fd_retired = 0;
        }
        if (r < 0) {
            /* Never retried: the kernel may already have dropped the pages
             * it could not write, and a second fsync would report success. */
            rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync %s", path);
            return fail_locked(l, err, rc);
        }
        if (covered > l->durable)
            l->durable = covered;
        l->pending_bytes = l->pending_bytes > pend ? l->pending_bytes - pend : 0;
        l->pending_since_ns = l->pending_bytes ? gs_mono_ns() : 0;
        pthread_cond_broadcast(&l->cv_done);
    }
    return GS_OK;
}

/* ------------------------------------------------------------- flusher */

static void *flusher_main(void *arg)
{
    gs_log *l = arg;
    /* Named for top -H and profilers (and bench-e2e's CPU by thread). */
    pthread_setname_np(pthread_self(), "gs-log-flush");
    pthread_mutex_lock(&l->mu);
    while (!l->closing) {
        if (l->handed && !l->io_busy && !l->failed) {
            /* Compress and write with mu released; appenders fill the next
             * block. An error puts the log in the failed state. */
            gs_err e;
            if (io_take_locked(l, &e) == GS_OK) {
                drain_handed_locked(l, &l->fcodec, &e);
                io_give_locked(l);
            }
            continue;
        }
        if (l->o.durability != GS_DURABILITY_BATCH || l->failed || l->head == l->durable) {
            pthread_cond_wait(&l->cv_flush, &l->mu);
            continue;
        }
        uint64_t deadline = l->pending_since_ns + (uint64_t)l->o.batch_ms * 1000000u;
        uint64_t now = gs_mono_ns();
        if (l->pending_bytes < l->o.batch_bytes && now < deadline) {
            struct timespec ts;
            gs_deadline(CLOCK_MONOTONIC, deadline - now, &ts);
            pthread_cond_timedwait(&l->cv_flush, &l->mu, &ts);
            continue;
        }
        gs_err e;
        /* An error puts the log in the failed state; the next append or
         * sync reports it. */
        sync_locked(l, l->head, &e);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---------------------------------------------------------------- open */

static int check_opts(const gs_log_opts *o, gs_err *err)
{
    if (o->durability < GS_DURABILITY_SYNC || o->durability > GS_DURABILITY_OFF)
        return gs_err_set(err, GS_EMISUSE, "bad durability mode %d", o->durability);
    if (o->durability == GS_DURABILITY_BATCH && (o->batch_ms == 0 || o->batch_bytes == 0))
        return gs_err_set(err, GS_EMISUSE, "batch_ms and batch_bytes must be positive");
    if (o->segment_bytes < 4096)
        return gs_err_set(err, GS_EMISUSE, "segment_bytes %" PRIu64 " is below 4096",
                          o->segment_bytes);
    if (o->block_bytes < 64 || o->block_bytes > GS_BLK_MAX_RAW / 2)
        return gs_err_set(err, GS_EMISUSE, "block_bytes %u is out of range", o->block_bytes);
    return GS_OK;
}

static void log_free(gs_log *l)
{
    if (l->fd >= 0)
        l->io->close(l->io, l->fd);
    gs_codec_free(&l->codec);
    gs_codec_free(&l->fcodec);
    free(l->idx);
    free(l->buf);
    free(l->hbuf);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_flush);
    pthread_cond_destroy(&l->cv_done);
    pthread_cond_destroy(&l->cv_head);
    pthread_cond_destroy(&l->cv_slot);
    free(l);
}

/* fsync the directory that holds `path` ("." if it has no slash). */
static int fsync_parent(gs_io *io, const char *path, gs_err *err)
{
    char parent[GS_PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (slash && n == 0)
        n = 1; /* "/x": the parent is "/" */
    if (n >= sizeof(parent))
        return gs_err_set(err, GS_EMISUSE, "path too long: %s", path);
    if (slash)
        memcpy(parent, path, n);
    else
        parent[n++] = '.';
    parent[n] = '\0';
    int r = io->fsync_dir(io, parent);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync directory %s", parent);
    return GS_OK;
}

int gs_log_open(const char *dir, const gs_log_opts *o, gs_log **out, gs_err *err)
{
    *out = NULL;
    gs_log_opts def;
    if (!o) {
        gs_log_opts_init(&def);
        o = &def;
    }
    int rc = check_opts(o, err);
    if (rc)
        return rc;
    gs_log *l = calloc(1, sizeof(*l));
    if (!l)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate a log");
    l->fd = -1;
    l->o = *o;
    l->io = o->io ? o->io : gs_io_default();
    l->o.io = l->io;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv_flush, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&l->cv_done, NULL);
    pthread_cond_init(&l->cv_head, NULL);
    pthread_cond_init(&l->cv_slot, NULL);
    if (strlen(dir) >= sizeof(l->dir) - GS_SEG_NAME_MAX - 16) {
        log_free(l);
        return gs_err_set(err, GS_EMISUSE, "path too long: %s", dir);
    }
    snprintf(l->dir, sizeof(l->dir), "%s", dir);
    rc = gs_codec_init(&l->codec, o->zstd_level, err);
    if (rc) {
        log_free(l);
        return rc;
    }

    if (o->read_only) {
        rc = gs_log_scan_head(l->io, dir, &l->head, err);
        if (rc) {
            log_free(l);
            return rc;
        }
        l->written = l->durable = l->head;
        *out = l;
        return GS_OK;
    }

    int r = l->io->mkdir(l->io, dir, 0755);
    if (r < 0 && r != -EEXIST) {
        log_free(l);
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot create %s", dir);
    }
    if (r == 0) {
        /* A new directory's own entry is durable only once its parent is
         * fsynced; without this a power cut could take the whole log,
         * acknowledged records included. */
        rc = fsync_parent(l->io, dir, err);
        if (rc) {
            log_free(l);
            return rc;
        }
    }
    gs_recovered rv = {.fd = -1};
    rc = gs_log_recover(l->io, dir, o->store_id, &rv, &l->rec, err);
    if (rc) {
        if (rv.fd >= 0)
            l->io->close(l->io, rv.fd);
        free(rv.idx);
        log_free(l);
        return rc;
    }
    l->fd = rv.fd;
    l->seg_base = rv.base;
    l->off = rv.end;
    l->idx = rv.idx;
    l->idx_n = rv.idx_n;
    l->idx_cap = rv.idx_cap;
    l->head = l->written = l->durable = rv.last_lsn;
    char name[GS_SEG_NAME_MAX];
    gs_seg_name(rv.base, name);
    gs_path_join(l->seg_path, sizeof(l->seg_path), dir, name, NULL);

    if (o->durability != GS_DURABILITY_SYNC) {
        /* BATCH: timed fsyncs; BATCH and OFF: compression of full blocks. */
        rc = gs_codec_init(&l->fcodec, o->zstd_level, err);
        if (rc) {
            log_free(l);
            return rc;
        }
        if (pthread_create(&l->flusher, NULL, flusher_main, l) != 0) {
            log_free(l);
            return gs_err_set(err, GS_ENOMEM, "cannot start the flusher thread");
        }
        l->flusher_running = 1;
        l->pipeline = 1;
    }
    *out = l;
    return GS_OK;
}

int gs_log_close(gs_log *l, gs_err *err)
{
    if (!l)
        return GS_OK;
    pthread_mutex_lock(&l->mu);
    l->closing = 1;
    pthread_cond_broadcast(&l->cv_flush);
    pthread_cond_broadcast(&l->cv_head);
    pthread_mutex_unlock(&l->mu);
    if (l->flusher_running)
        pthread_join(l->flusher, NULL);
    int rc = GS_OK;
    pthread_mutex_lock(&l->mu);
    if (!l->o.read_only) {
        if (l->failed) {
            if (l->head > l->durable)
                rc = refuse_failed(l, err);
        } else {
            rc = sync_locked(l, l->head, err);
        }
    }
    pthread_mutex_unlock(&l->mu);
    log_free(l);
    return rc;
}

/* -------------------------------------------------------------- append */

static int reserve_buf(gs_log *l, size_t need, gs_err *err)
{
    if (need <= l->cap)
        return GS_OK;
    size_t cap = l->cap ? l->cap : (size_t)l->o.block_bytes + 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(l->buf, cap);
    if (!p)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate %zu bytes for a block", cap);
    l->buf = p;
    l->cap = cap;
    return GS_OK;
}

/* Add one record to the block being filled; cut the block once it holds
 * block_bytes. A record that would push a block past GS_BLK_MAX_RAW first
 * cuts the block it would join. */
static int add_locked(gs_log *l, const gs_log_rec_in *r, gs_err *err)
{
    size_t bound = gs_rec_bound(r);
    int rc = cut_locked(l, bound, GS_BLK_MAX_RAW, err);
    if (rc)
        return rc;
    rc = reserve_buf(l, l->len + bound, err);
    if (rc)
        return rc;
    uint64_t lsn = l->head + 1;
    l->len += gs_rec_pack(l->buf + l->len, lsn, r);
    if (l->blk_count == 0) {
        l->blk_first = lsn;
        l->blk_min = l->blk_max = r->recv_us;
    } else {
        if (r->recv_us < l->blk_min)
            l->blk_min = r->recv_us;
        if (r->recv_us > l->blk_max)
            l->blk_max = r->recv_us;
    }
    l->blk_count++;
    l->blk_frames += r->raw_len;
    l->head = lsn;
    if (l->pending_bytes == 0)
        l->pending_since_ns = gs_mono_ns();
    l->pending_bytes += r->raw_len + r->event_len + 1; /* +1: empty records count too */
    return cut_locked(l, 0, (size_t)l->o.block_bytes - 1, err);
}

int gs_log_append(gs_log *l, const gs_log_rec_in *recs, size_t n, uint64_t *first_lsn, gs_err *err)
{
    if (!l || (n > 0 && !recs))
        return gs_err_set(err, GS_EMISUSE, "gs_log_append: NULL argument");
    if (l->o.read_only)
        return gs_err_set(err, GS_EREADONLY, "log %s is open read-only", l->dir);
    for (size_t i = 0; i < n; i++) {
        const gs_log_rec_in *r = &recs[i];
        if ((r->raw_len && !r->raw) || (r->event_len && !r->event))
            return gs_err_set(err, GS_EMISUSE, "record %zu: NULL bytes with a length", i);
        /* frame_bytes is a u32 in the block header and a block holds at
         * most GS_BLK_MAX_RAW bytes; one record must fit. */
        if (r->raw_len > GS_BLK_MAX_RAW - 4096 || r->event_len > 65535)
            return gs_err_set(err, GS_ETOOBIG, "record %zu: %zu-byte frame exceeds the log limit",
                              i, r->raw_len);
    }
    pthread_mutex_lock(&l->mu);
    if (l->failed || l->fd < 0) {
        int rc = refuse_failed(l, err);
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    /* The token keeps other appenders out while this one waits for the
     * hand-off slot, so its records get consecutive LSNs. */
    while (l->appending && !l->failed)
        pthread_cond_wait(&l->cv_slot, &l->mu);
    if (l->failed) {
        int rc = refuse_failed(l, err);
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    l->appending = 1;
    uint64_t first = l->head + 1;
    uint64_t before = l->pending_bytes;
    /* The flusher sleeps without a deadline once head == durable. Wake it
     * whenever that held, not only when nothing was pending: a roll makes
     * everything durable without clearing the pending count when blocks
     * are still buffered, and an append that did not wake the flusher then
     * stayed undurable until batch_bytes more arrived. */
    int flusher_idle = l->head == l->durable;
    int rc = GS_OK;
    for (size_t i = 0; i < n && rc == GS_OK; i++)
        rc = add_locked(l, &recs[i], err);
    l->appending = 0;
    pthread_cond_broadcast(&l->cv_slot);
    if (rc == GS_OK) {
        if (l->o.durability == GS_DURABILITY_SYNC) {
            rc = sync_locked(l, l->head, err);
        } else if (l->o.durability == GS_DURABILITY_BATCH) {
            if (before == 0 || flusher_idle ||
                (before < l->o.batch_bytes && l->pending_bytes >= l->o.batch_bytes))
                pthread_cond_signal(&l->cv_flush);
        }
    }
    if (l->head_waiters)
        pthread_cond_broadcast(&l->cv_head);
    pthread_mutex_unlock(&l->mu);
    if (rc == GS_OK && first_lsn)
        *first_lsn = first;
    return rc;
}

int gs_log_sync(gs_log *l, gs_err *err)
{
    if (!l)
        return gs_err_set(err, GS_EMISUSE, "gs_log_sync: NULL log");
    if (l->o.read_only)
        return GS_OK;
    pthread_mutex_lock(&l->mu);
    int rc = l->failed ? refuse_failed(l, err) : sync_locked(l, l->head, err);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

/* ----------------------------------------------------------- accessors */

uint64_t gs_log_head_lsn(gs_log *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t v = l->head;
    pthread_mutex_unlock(&l->mu);
    return v;
}

uint64_t gs_log_durable_lsn(gs_log *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t v = l->durable;
    pthread_mutex_unlock(&l->mu);
    return v;
}

uint64_t gs_log_written_lsn(gs_log *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t v = l->written;
    pthread_mutex_unlock(&l->mu);
    return v;
}

const gs_log_recovery *gs_log_recovery_info(gs_log *l)
{
    return &l->rec;
}

uint64_t gs_log_wait_head(gs_log *l, uint64_t after_lsn, uint32_t timeout_ms)
{
    struct timespec ts;
    gs_deadline(CLOCK_REALTIME, (uint64_t)timeout_ms * 1000000u, &ts);
    pthread_mutex_lock(&l->mu);
    l->head_waiters++;
    while (l->head <= after_lsn && !l->closing) {
        if (pthread_cond_timedwait(&l->cv_head, &l->mu, &ts) == ETIMEDOUT)
            break;
    }
    l->head_waiters--;
    uint64_t v = l->head;
    pthread_mutex_unlock(&l->mu);
    return v;
}
