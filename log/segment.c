/* segment.c - segment files: names, listing, open with header, index
 * footer, checked block reads, resync after damage, creation. */
#include "gs_common.h"

#include "decimal.h"
#include "log_int.h"
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ names */

void gs_seg_name(uint64_t base, char out[GS_SEG_NAME_MAX])
{
    snprintf(out, GS_SEG_NAME_MAX, "%020" PRIu64 ".seg", base);
}

int gs_seg_parse_name(const char *name, uint64_t *base)
{
    /* The length first: gs_dec_u64 reads its 20 bytes eight at a time. */
    uint64_t v;
    if (strlen(name) != 24 || !gs_dec_u64(name, 20, &v) || strcmp(name + 20, ".seg") != 0 || v == 0)
        return 0;
    *base = v;
    return 1;
}

int gs_path_join(char *out, size_t cap, const char *dir, const char *name, gs_err *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return gs_err_set(err, GS_EMISUSE, "path too long: %s/%s", dir, name);
    return GS_OK;
}

static int list_cb(void *ud, const char *name)
{
    gs_seg_list *l = ud;
    uint64_t base;
    if (!gs_seg_parse_name(name, &base))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *p = realloc(l->base, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->base = p;
        l->cap = cap;
    }
    l->base[l->n++] = base;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int gs_seg_list_load(gs_io *io, const char *dir, gs_seg_list *l, gs_err *err)
{
    l->n = 0;
    int r = io->list(io, dir, list_cb, l);
    if (r == -ENOENT)
        return gs_err_set(err, GS_ENOTFOUND, "log directory %s does not exist", dir);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot list %s", dir);
    if (l->n > 1)
        qsort(l->base, l->n, sizeof(*l->base), cmp_u64);
    return GS_OK;
}

void gs_seg_list_free(gs_seg_list *l)
{
    free(l->base);
    memset(l, 0, sizeof(*l));
}

size_t gs_seg_list_find(const gs_seg_list *l, uint64_t lsn)
{
    size_t lo = 0, hi = l->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->base[mid] <= lsn)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ---------------------------------------------------------------- segment */

int gs_seg_open(gs_io *io, const char *dir, uint64_t base, int writable, gs_seg *s, gs_err *err)
{
    memset(s, 0, sizeof(*s));
    s->io = io;
    s->fd = -1;
    s->base = base;
    s->data_off = GS_SEG_HDR_LEN;
    s->hdr_rc = GS_ECORRUPT;
    gs_seg_name(base, s->name);
    int rc = gs_path_join(s->path, sizeof(s->path), dir, s->name, err);
    if (rc)
        return rc;
    int fd = io->open(io, s->path, writable ? O_RDWR : O_RDONLY, 0);
    if (fd < 0)
        return gs_err_errno(err, fd == -ENOENT ? GS_ENOTFOUND : gs_errno_code(-fd), -fd,
                            "cannot open %s", s->path);
    s->fd = fd;
    rc = gs_seg_refresh_size(s, err);
    if (rc)
        return rc;
    uint8_t buf[GS_SEG_HDR_MAX_LEN];
    size_t n = s->size < sizeof(buf) ? (size_t)s->size : sizeof(buf);
    int r = gs_io_read_all(io, fd, buf, n, 0);
    if (r < 0 && r != -ENODATA)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset 0", s->path);
    if (r == -ENODATA)
        n = 0;
    gs_err herr;
    s->hdr_rc = gs_seg_hdr_decode(buf, n, s->name, &s->hdr, &herr);
    if (s->hdr_rc == GS_OK) {
        s->data_off = s->hdr.header_len;
        if (s->hdr.base_lsn != base) {
            s->hdr_rc = gs_err_set(&herr, GS_ECORRUPT,
                                   "segment %s: header base LSN %" PRIu64 " differs from its name",
                                   s->name, s->hdr.base_lsn);
        }
    }
    if (s->hdr_rc && err)
        *err = herr;
    return GS_OK;
}

void gs_seg_close(gs_seg *s)
{
    if (s->fd >= 0)
        s->io->close(s->io, s->fd);
    s->fd = -1;
    free(s->idx);
    s->idx = NULL;
    s->idx_cap = 0;
    s->sealed = 0;
}

int gs_seg_refresh_size(gs_seg *s, gs_err *err)
{
    int r = s->io->fsize(s->io, s->fd, &s->size);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot stat %s", s->path);
    return GS_OK;
}

uint64_t gs_seg_blocks_end(const gs_seg *s)
{
    return s->sealed ? s->trailer.index_off : s->size;
}

static int index_bad(gs_seg *s, gs_err *err, const char *what)
{
    s->sealed = 0;
    return gs_err_set(err, GS_ECORRUPT, "segment %s: index footer at offset %" PRIu64 ": %s",
                      s->name, s->size >= GS_IDX_TRAILER_LEN ? s->size - GS_IDX_TRAILER_LEN : 0,
                      what);
}

int gs_seg_load_index(gs_seg *s, gs_err *err)
{
    s->sealed = 0;
    if (s->size < s->data_off + GS_IDX_TRAILER_LEN)
        return 1;
    uint8_t tb[GS_IDX_TRAILER_LEN];
    uint64_t toff = s->size - GS_IDX_TRAILER_LEN;
    int r = gs_io_read_all(s->io, s->fd, tb, sizeof(tb), toff);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                            s->path, toff);
    gs_idx_trailer t;
    uint64_t hash;
    if (tb[0] != GS_IDX_MAGIC_0 || tb[1] != GS_IDX_MAGIC_1 || tb[2] != GS_IDX_MAGIC_2 ||
        tb[3] != GS_IDX_MAGIC_3)
        return 1;
    if (gs_idx_trailer_decode(tb, &t, &hash))
        return index_bad(s, err, "reserved trailer fields are not zero");
    if (t.index_off < s->data_off || t.index_off > toff ||
        (toff - t.index_off) % GS_IDX_ENTRY_LEN != 0 ||
        (toff - t.index_off) / GS_IDX_ENTRY_LEN != t.count)
        return index_bad(s, err, "entry count does not match the file");
    size_t elen = (size_t)(toff - t.index_off);
    uint8_t *eb = malloc(elen ? elen : 1);
    if (!eb)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate %zu bytes for the index of %s", elen,
                          s->name);
    r = gs_io_read_all(s->io, s->fd, eb, elen, t.index_off);
    if (r < 0) {
        free(eb);
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                            s->path, t.index_off);
    }
    if (gs_idx_hash(eb, elen, tb) != hash) {
        free(eb);
        return index_bad(s, err, "checksum mismatch");
    }
    if (t.count > s->idx_cap) {
        gs_idx_entry *p = realloc(s->idx, (size_t)t.count * sizeof(*p));
        if (!p) {
            free(eb);
            return gs_err_set(err, GS_ENOMEM, "cannot allocate the index of %s", s->name);
        }
        s->idx = p;
        s->idx_cap = (size_t)t.count;
    }
    /* The entries must describe a gap-free run of blocks from the header to
     * the index, with consecutive LSNs from the segment's base. */
    uint64_t off = s->data_off, lsn = s->base;
    for (size_t i = 0; i < t.count; i++) {
        gs_idx_entry *e = &s->idx[i];
        gs_idx_entry_decode(eb + i * GS_IDX_ENTRY_LEN, e);
        if (e->off != off || e->first_lsn != lsn || e->count == 0 ||
            t.index_off - off < GS_BLK_HDR_LEN ||
            e->comp_len > t.index_off - off - GS_BLK_HDR_LEN || e->min_us > e->max_us) {
            free(eb);
            return index_bad(s, err, "entries are inconsistent");
        }
        off += GS_BLK_HDR_LEN + e->comp_len;
        lsn += e->count;
    }
    free(eb);
    if (off != t.index_off || t.last_lsn != lsn - 1)
        return index_bad(s, err, "entries do not end at the index");
    s->trailer = t;
    s->sealed = 1;
    return GS_OK;
}

/* ----------------------------------------------------------------- blocks */

void gs_blkbuf_free(gs_blkbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

static int blkbuf_reserve(gs_blkbuf *b, size_t need, gs_err *err)
{
    if (need <= b->cap)
        return GS_OK;
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate %zu bytes for a block", cap);
    b->p = p;
    b->cap = cap;
    return GS_OK;
}

int gs_seg_read_block(gs_seg *s, uint64_t off, uint64_t limit, gs_blkbuf *b, gs_blk_hdr *h,
                      const char **what, gs_err *err)
{
    if (off > limit || limit - off < GS_BLK_HDR_LEN) {
        *what = "incomplete block header";
        return GS_BLK_SHORT;
    }
    int rc = blkbuf_reserve(b, GS_BLK_HDR_LEN, err);
    if (rc)
        return rc;
    int r = gs_io_read_all(s->io, s->fd, b->p, GS_BLK_HDR_LEN, off);
    if (r == -ENODATA) {
        *what = "incomplete block header";
        return GS_BLK_SHORT;
    }
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                            s->path, off);
    rc = gs_blk_hdr_decode(b->p, h, what);
    if (rc)
        return rc;
    if (limit - off - GS_BLK_HDR_LEN < h->comp_len) {
        *what = "incomplete block payload";
        return GS_BLK_SHORT;
    }
    rc = blkbuf_reserve(b, GS_BLK_HDR_LEN + (size_t)h->comp_len, err);
    if (rc)
        return rc;
    r = gs_io_read_all(s->io, s->fd, b->p + GS_BLK_HDR_LEN, h->comp_len, off + GS_BLK_HDR_LEN);
    if (r == -ENODATA) {
        *what = "incomplete block payload";
        return GS_BLK_SHORT;
    }
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                            s->path, off + GS_BLK_HDR_LEN);
    if (gs_blk_hash(b->p, b->p + GS_BLK_HDR_LEN, h->comp_len) != h->hash) {
        *what = "block checksum mismatch";
        return GS_ECORRUPT;
    }
    return GS_OK;
}

int gs_seg_find_block(gs_seg *s, uint64_t from, uint64_t limit, gs_blkbuf *b, uint64_t *found,
                      gs_err *err)
{
    enum { CHUNK = 256 * 1024 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate a scan buffer");
    int ret = 0;
    uint64_t pos = from;
    while (pos < limit && limit - pos >= GS_BLK_HDR_LEN) {
        size_t n = limit - pos < CHUNK ? (size_t)(limit - pos) : CHUNK;
        int r = gs_io_read_all(s->io, s->fd, buf, n, pos);
        if (r < 0) {
            /* The file shrank under us: nothing more to find. */
            if (r != -ENODATA)
                ret = gs_err_errno(err, gs_errno_code(-r), -r, "cannot read %s at offset %" PRIu64,
                                   s->path, pos);
            break;
        }
        for (size_t i = 0; i + 4 <= n; i++) {
            if (buf[i] != GS_BLK_MAGIC_0 || !gs_blk_magic_at(buf + i))
                continue;
            gs_blk_hdr h;
            const char *what;
            int rc = gs_seg_read_block(s, pos + i, limit, b, &h, &what, err);
            if (rc == GS_OK) {
                *found = pos + i;
                ret = 1;
                goto out;
            }
            if (rc < 0 && rc != GS_ECORRUPT) {
                ret = rc;
                goto out;
            }
        }
        /* Overlap by 3 so a magic split across chunks is still seen. */
        pos += n > 3 ? n - 3 : n;
        if (n < CHUNK)
            break;
    }
out:
    free(buf);
    return ret;
}

int gs_blk_decode_records(gs_codec *c, const gs_blk_hdr *h, const uint8_t *payload,
                          gs_log_rec **recs, size_t *cap, const char **what, gs_err *err)
{
    const uint8_t *raw;
    int rc = gs_codec_decode(c, h, payload, &raw, what, err);
    if (rc)
        return rc;
    if (h->count > *cap) {
        gs_log_rec *p = realloc(*recs, (size_t)h->count * sizeof(*p));
        if (!p)
            return gs_err_set(err, GS_ENOMEM, "cannot allocate %u records", h->count);
        *recs = p;
        *cap = h->count;
    }
    size_t pos = 0;
    uint64_t frame_bytes = 0;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (uint32_t i = 0; i < h->count; i++) {
        size_t used;
        gs_log_rec *r = &(*recs)[i];
        rc = gs_rec_unpack(raw + pos, h->raw_len - pos, r, &used, what);
        if (rc)
            return rc;
        if (r->lsn != h->first_lsn + i) {
            *what = "record LSN does not follow the block's first LSN";
            return GS_ECORRUPT;
        }
        pos += used;
        frame_bytes += r->raw_len;
        if (r->recv_us < mn)
            mn = r->recv_us;
        if (r->recv_us > mx)
            mx = r->recv_us;
    }
    if (pos != h->raw_len) {
        *what = "records do not fill the block";
        return GS_ECORRUPT;
    }
    if (frame_bytes != h->frame_bytes || mn != h->min_us || mx != h->max_us) {
        *what = "block header totals differ from its records";
        return GS_ECORRUPT;
    }
    return GS_OK;
}

/* ---------------------------------------------------------------- writing */

int gs_seg_create(gs_io *io, const char *dir, uint64_t base, const uint8_t store_id[16], int *fd,
                  gs_err *err)
{
    char name[GS_SEG_NAME_MAX], tmpname[GS_SEG_NAME_MAX + 8];
    char path[GS_PATH_MAX], tmp[GS_PATH_MAX];
    gs_seg_name(base, name);
    snprintf(tmpname, sizeof(tmpname), "%s.tmp", name);
    int rc = gs_path_join(path, sizeof(path), dir, name, err);
    if (rc == GS_OK)
        rc = gs_path_join(tmp, sizeof(tmp), dir, tmpname, err);
    if (rc)
        return rc;
    gs_seg_hdr h = {.version = GS_SEG_FORMAT_VERSION,
                    .min_reader = GS_SEG_READER_VERSION,
                    .flags = 0,
                    .header_len = GS_SEG_HDR_LEN,
                    .base_lsn = base,
                    .created_us = gs_now_us()};
    memcpy(h.store_id, store_id, 16);
    uint8_t hb[GS_SEG_HDR_LEN];
    gs_seg_hdr_encode(&h, hb);

    /* Written under a temporary name and renamed, so a crash never leaves a
     * segment without a complete header under its real name (recovery still
     * copes with one: see FORMAT.md). */
    int f = io->open(io, tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (f < 0)
        return gs_err_errno(err, gs_errno_code(-f), -f, "cannot create %s", tmp);
    int r = gs_io_write_all(io, f, hb, sizeof(hb), 0);
    if (r < 0) {
        rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot write %s at offset 0", tmp);
        goto fail;
    }
    r = io->fsync(io, f);
    if (r < 0) {
        rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync %s", tmp);
        goto fail;
    }
    r = io->rename(io, tmp, path);
    if (r < 0) {
        rc = gs_err_errno(err, gs_errno_code(-r), -r, "cannot rename %s to %s", tmp, path);
        goto fail;
    }
    r = io->fsync_dir(io, dir);
    if (r < 0) {
        /* The segment exists under its name now; leave it for recovery. */
        io->close(io, f);
        return gs_err_errno(err, gs_errno_code(-r), -r, "cannot fsync directory %s", dir);
    }
    *fd = f;
    return GS_OK;
fail:
    io->close(io, f);
    io->unlink(io, tmp);
    return rc;
}

int gs_seg_write_index(gs_io *io, int fd, const char *path, uint64_t off,
                       const gs_idx_entry *entries, size_t n, uint64_t last_lsn, gs_err *err)
{
    size_t len = n * GS_IDX_ENTRY_LEN + GS_IDX_TRAILER_LEN;
    uint8_t *buf = malloc(len);
    if (!buf)
        return gs_err_set(err, GS_ENOMEM, "cannot allocate %zu bytes for an index", len);
    for (size_t i = 0; i < n; i++)
        gs_idx_entry_encode(&entries[i], buf + i * GS_IDX_ENTRY_LEN);
    gs_idx_trailer t = {.flags = 0, .index_off = off, .count = n, .last_lsn = last_lsn};
    gs_idx_trailer_encode(&t, buf, n * GS_IDX_ENTRY_LEN, buf + n * GS_IDX_ENTRY_LEN);
    int r = gs_io_write_all(io, fd, buf, len, off);
    free(buf);
    if (r < 0)
        return gs_err_errno(err, gs_errno_code(-r), -r,
                            "cannot write index of %s at offset %" PRIu64, path, off);
    return GS_OK;
}
