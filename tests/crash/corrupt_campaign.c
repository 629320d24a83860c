/*
 * corrupt_campaign.c - random single-bit flips and truncations of segment
 * files (gatestore-corrupt).
 *
 * Builds a store from input lines (several sealed segments and an active
 * one), keeps its records and the exact layout of every file (header,
 * blocks, index footer), then for each iteration (seeded) damages one
 * random segment file of a working copy: one bit flipped at a random
 * offset, or the file cut at a random length. Then it opens the store
 * read-only, runs `log verify`, reads the whole log with gs_log_iter
 * (going on after each GS_ECORRUPT) and restores the file. Required:
 *   - the read-only open succeeds;
 *   - verify reports the damage (GS_ECORRUPT), for every flip and every
 *     truncation except one kind that is undetectable by design: the
 *     newest segment cut exactly at a block boundary is a valid, shorter
 *     log (nothing records how long it was), and then verify must pass;
 *   - every record returned is byte-exact (LSN, time, shard, seq, op, event,
 *     frame bytes) and LSNs strictly increase: 0 wrong records;
 *   - every record of every block the damage did not touch is returned.
 * What "touched" means: a flip touches the block (header and payload)
 * holding the flipped byte, or the segment header, or the index footer; a
 * truncation touches every block that does not end at or before the cut,
 * and the footer.
 *
 * Usage: gatestore-corrupt --store DIR --input FILE [--iterations N]
 *                          [--seed S] [--lines N] [-v]
 */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log_int.h"
#include "options.h"

typedef struct orec {
    int64_t recv_us;
    int32_t shard, op;
    int64_t seq;
    char *event;
    size_t event_len;
    char *raw;
    size_t raw_len;
} orec;

typedef struct oblock {
    uint64_t off, len, first_lsn;
    uint32_t count;
} oblock;

typedef struct ofile {
    char name[GS_SEG_NAME_MAX];
    char path[GS_PATH_MAX];
    unsigned char *bytes;
    size_t size;
    int sealed;
    uint64_t index_off; /* sealed: start of the footer */
    uint64_t data_off;
    oblock *blk;
    size_t nblk;
} ofile;

typedef struct campaign {
    const char *store;
    char log_dir[GS_PATH_MAX];
    uint64_t iterations, seed, lines;
    int verbose;
    orec *rec; /* rec[lsn - 1] */
    uint64_t nrec;
    ofile *file;
    size_t nfile;
    unsigned char *seen; /* per LSN, this iteration */
} campaign;

typedef struct totals {
    uint64_t flips, truncs, detected, clean_cuts, missed, false_alarms;
    uint64_t wrong, records_returned, untouched_records, untouched_missing;
    uint64_t iter_errors, iter_reported, open_failures;
} totals;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "corrupt: out of memory\n");
        exit(1);
    }
    return p;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = xmalloc((size_t)n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int write_file(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(b, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static gs_store *open_store(const char *path, int create, int read_only)
{
    gs_options *o = NULL;
    gs_options_create(&o);
    gs_options_set_create(o, create);
    gs_options_set_read_only(o, read_only);
    gs_options_set_durability(o, GS_DURABILITY_OFF);
    /* Smaller than the public minimum: many segments, blocks of a few
     * records, so the campaign hits headers, blocks and footers alike. */
    o->segment_bytes = 32 << 10;
    gs_options_set_block_bytes(o, 4 << 10);
    gs_options_set_views(o, 0); /* the log alone: views are derived from it */
    gs_store *st = NULL;
    int rc = gs_store_open(path, o, &st);
    gs_options_destroy(o);
    if (rc)
        fprintf(stderr, "corrupt: open %s: %s: %s\n", path, gs_errname(rc), gs_open_errmsg());
    return st;
}

/* ------------------------------------------------------------- building */

static int build(campaign *c, const char *input)
{
    size_t len;
    unsigned char *buf = read_file(input, &len);
    if (!buf) {
        fprintf(stderr, "corrupt: cannot read %s\n", input);
        return -1;
    }
    gs_store *st = open_store(c->store, 1, 0);
    if (!st) {
        free(buf);
        return -1;
    }
    uint64_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && n < c->lines; i++) {
        if (i < len && buf[i] != '\n')
            continue;
        if (i > start) {
            gs_frame_meta m = {.recv_us =
                                   1700000000000000LL + (int64_t)n * 1000 - (n % 7 == 3 ? 5000 : 0),
                               .shard = (int32_t)(n % 4) - 1};
            int rc = gs_ingest_line(st, (const char *)buf + start, i - start, &m, NULL);
            if (rc < 0) {
                fprintf(stderr, "corrupt: ingest: %s: %s\n", gs_errname(rc), gs_store_errmsg(st));
                gs_store_close(st);
                free(buf);
                return -1;
            }
            n += rc == GS_OK;
        }
        start = i + 1;
    }
    free(buf);
    if (gs_store_close(st) != GS_OK)
        return -1;
    /* The records, read back from the undamaged store. */
    st = open_store(c->store, 0, 1);
    if (!st)
        return -1;
    c->nrec = gs_store_head_lsn(st);
    c->rec = calloc(c->nrec + 1, sizeof(*c->rec));
    gs_log_iter *it;
    if (gs_log_iter_open(st, NULL, &it) != GS_OK)
        return -1;
    gs_record r;
    uint64_t k = 0;
    int rc;
    while ((rc = gs_log_iter_next(it, &r)) == 1) {
        if (r.lsn != ++k)
            break;
        orec *o = &c->rec[k - 1];
        o->recv_us = r.recv_us;
        o->shard = r.shard;
        o->op = r.op;
        o->seq = r.seq;
        o->event_len = r.event_len;
        o->event = xmalloc(r.event_len);
        memcpy(o->event, r.event, r.event_len);
        o->raw_len = r.raw_len;
        o->raw = xmalloc(r.raw_len);
        memcpy(o->raw, r.raw, r.raw_len);
    }
    gs_log_iter_close(it);
    gs_verify_summary vs;
    int vrc = gs_log_verify(st, NULL, NULL, &vs);
    gs_store_close(st);
    if (rc != 0 || k != c->nrec || vrc != GS_OK) {
        fprintf(stderr, "corrupt: the undamaged store does not read back cleanly\n");
        return -1;
    }
    c->seen = xmalloc(c->nrec + 1);
    return 0;
}

/* The layout of every segment file, from the undamaged log. */
static int layout(campaign *c)
{
    gs_io *io = gs_io_default();
    gs_seg_list l = {0};
    gs_err e;
    if (gs_seg_list_load(io, c->log_dir, &l, &e) != GS_OK)
        return -1;
    c->file = calloc(l.n, sizeof(*c->file));
    c->nfile = l.n;
    gs_blkbuf b = {0};
    for (size_t i = 0; i < l.n; i++) {
        ofile *f = &c->file[i];
        gs_seg s;
        if (gs_seg_open(io, c->log_dir, l.base[i], 0, &s, &e) != GS_OK || s.hdr_rc != GS_OK) {
            gs_seg_close(&s);
            return -1;
        }
        snprintf(f->name, sizeof(f->name), "%s", s.name);
        snprintf(f->path, sizeof(f->path), "%s", s.path);
        f->sealed = gs_seg_load_index(&s, NULL) == GS_OK;
        f->index_off = f->sealed ? s.trailer.index_off : s.size;
        f->data_off = s.data_off;
        size_t cap = 16;
        f->blk = xmalloc(cap * sizeof(*f->blk));
        for (uint64_t off = s.data_off; off < f->index_off;) {
            gs_blk_hdr h;
            const char *what;
            if (gs_seg_read_block(&s, off, f->index_off, &b, &h, &what, &e) != GS_OK) {
                gs_seg_close(&s);
                return -1;
            }
            if (f->nblk == cap) {
                cap *= 2;
                f->blk = realloc(f->blk, cap * sizeof(*f->blk));
            }
            f->blk[f->nblk++] =
                (oblock){off, GS_BLK_HDR_LEN + (uint64_t)h.comp_len, h.first_lsn, h.count};
            off += GS_BLK_HDR_LEN + h.comp_len;
        }
        gs_seg_close(&s);
        f->bytes = read_file(f->path, &f->size);
        if (!f->bytes)
            return -1;
    }
    gs_blkbuf_free(&b);
    gs_seg_list_free(&l);
    return 0;
}

/* ------------------------------------------------------------ checking */

static int same(const orec *o, const gs_record *r)
{
    return o->recv_us == r->recv_us && o->shard == r->shard && o->op == r->op && o->seq == r->seq &&
           o->event_len == r->event_len && memcmp(o->event, r->event, r->event_len) == 0 &&
           o->raw_len == r->raw_len && memcmp(o->raw, r->raw, r->raw_len) == 0;
}

/* Is block k of file f touched by the damage? */
static int touched(const ofile *f, size_t k, int trunc, uint64_t pos)
{
    const oblock *b = &f->blk[k];
    if (trunc)
        return b->off + b->len > pos;
    return pos >= b->off && pos < b->off + b->len;
}

/* One damaged copy: open, verify, read. Returns -1 on a failed check. */
static int check(campaign *c, totals *t, size_t fi, int trunc, uint64_t pos, uint64_t iter)
{
    const ofile *f = &c->file[fi];
    int newest = fi + 1 == c->nfile;
    int clean_cut = 0;
    if (trunc && newest) {
        clean_cut = pos == f->data_off;
        for (size_t k = 0; k < f->nblk; k++)
            clean_cut |= pos == f->blk[k].off + f->blk[k].len;
    }
    gs_store *st = open_store(c->store, 0, 1);
    if (!st) {
        t->open_failures++;
        return -1;
    }
    int bad = 0;
    gs_verify_summary vs;
    int vrc = gs_log_verify(st, NULL, NULL, &vs);
    if (clean_cut) {
        t->clean_cuts++;
        if (vrc != GS_OK) {
            t->false_alarms++;
            fprintf(stderr,
                    "iteration %" PRIu64 ": %s cut at block boundary %" PRIu64 ": verify says %s\n",
                    iter, f->name, pos, gs_errname(vrc));
            bad = 1;
        }
    } else if (vrc == GS_ECORRUPT) {
        t->detected++;
    } else {
        t->missed++;
        fprintf(stderr, "iteration %" PRIu64 ": %s %s at %" PRIu64 " not detected: verify %s\n",
                iter, f->name, trunc ? "truncated" : "bit flipped", pos, gs_errname(vrc));
        bad = 1;
    }

    memset(c->seen, 0, c->nrec + 1);
    gs_log_iter *it = NULL;
    int rc = gs_log_iter_open(st, NULL, &it);
    if (rc != GS_OK) {
        fprintf(stderr, "iteration %" PRIu64 ": iterator open: %s\n", iter, gs_errname(rc));
        gs_store_close(st);
        return -1;
    }
    uint64_t last = 0, calls = 0, limit = c->nrec * 2 + 1000, errors = 0;
    gs_record r;
    while ((rc = gs_log_iter_next(it, &r)) != 0 && calls++ < limit) {
        if (rc == GS_ECORRUPT) {
            errors++;
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "iteration %" PRIu64 ": read: %s: %s\n", iter, gs_errname(rc),
                    gs_log_iter_errmsg(it));
            bad = 1;
            break;
        }
        t->records_returned++;
        if (r.lsn <= last || r.lsn > c->nrec || !same(&c->rec[r.lsn - 1], &r)) {
            t->wrong++;
            fprintf(stderr, "iteration %" PRIu64 ": wrong record at LSN %" PRIu64 "\n", iter,
                    r.lsn);
            bad = 1;
            continue;
        }
        c->seen[r.lsn] = 1;
        last = r.lsn;
    }
    if (calls > limit) {
        fprintf(stderr, "iteration %" PRIu64 ": the iterator does not end\n", iter);
        bad = 1;
    }
    gs_log_iter_close(it);
    gs_store_close(st);
    t->iter_errors += errors;
    t->iter_reported += errors > 0;
    /* Every record of every untouched block came back. */
    for (size_t i = 0; i < c->nfile; i++) {
        const ofile *g = &c->file[i];
        for (size_t k = 0; k < g->nblk; k++) {
            if (i == fi && touched(g, k, trunc, pos))
                continue;
            for (uint64_t l = g->blk[k].first_lsn; l < g->blk[k].first_lsn + g->blk[k].count; l++) {
                t->untouched_records++;
                if (!c->seen[l]) {
                    t->untouched_missing++;
                    if (!bad)
                        fprintf(stderr,
                                "iteration %" PRIu64 ": %s %s at %" PRIu64 ": LSN %" PRIu64
                                " of untouched block %s@%" PRIu64 " not returned\n",
                                iter, f->name, trunc ? "truncated" : "bit flipped", pos, l, g->name,
                                g->blk[k].off);
                    bad = 1;
                }
            }
        }
    }
    return bad ? -1 : 0;
}

static int run(campaign *c)
{
    totals t;
    memset(&t, 0, sizeof(t));
    uint64_t rng = c->seed, t0 = gs_mono_ns(), failed = 0;
    for (uint64_t iter = 1; iter <= c->iterations; iter++) {
        size_t fi = (size_t)(rng_next(&rng) % c->nfile);
        ofile *f = &c->file[fi];
        int trunc = rng_next(&rng) & 1;
        uint64_t pos = rng_next(&rng) % f->size;
        if (trunc) {
            t.truncs++;
            if (write_file(f->path, f->bytes, (size_t)pos) != 0)
                return 1;
        } else {
            t.flips++;
            unsigned char orig = f->bytes[pos];
            f->bytes[pos] ^= (unsigned char)(1u << (rng_next(&rng) % 8));
            int w = write_file(f->path, f->bytes, f->size);
            f->bytes[pos] = orig;
            if (w != 0)
                return 1;
        }
        int bad = check(c, &t, fi, trunc, pos, iter);
        if (write_file(f->path, f->bytes, f->size) != 0)
            return 1;
        if (bad) {
            failed++;
            fprintf(stderr,
                    "corrupt: FAILED at iteration %" PRIu64 " (replay: --seed %" PRIu64
                    " --iterations %" PRIu64 ")\n",
                    iter, c->seed, iter);
            break;
        }
        if (c->verbose && iter % 1000 == 0)
            fprintf(stderr, "corrupt: %" PRIu64 " iterations\n", iter);
    }
    double secs = (double)(gs_mono_ns() - t0) / 1e9;
    uint64_t n = t.flips + t.truncs;
    printf("corrupt: %" PRIu64 " iterations (%" PRIu64 " bit flips, %" PRIu64
           " truncations) over %zu segment files, %" PRIu64 " records\n",
           n, t.flips, t.truncs, c->nfile, c->nrec);
    printf("corrupt: detected by verify %" PRIu64 " of %" PRIu64 " (%.2f %%); %" PRIu64
           " clean cuts at a block boundary of the newest segment (undetectable by design, "
           "verify passed: %" PRIu64 " false alarms); missed %" PRIu64 "\n",
           t.detected, n - t.clean_cuts,
           n > t.clean_cuts ? 100.0 * (double)t.detected / (double)(n - t.clean_cuts) : 100.0,
           t.clean_cuts, t.false_alarms, t.missed);
    printf("corrupt: %" PRIu64 " records returned, %" PRIu64 " wrong (0 wrong bytes required); "
           "%" PRIu64 " of %" PRIu64 " records of untouched blocks returned; the iterator "
           "reported damage %" PRIu64 " times in %" PRIu64 " iterations; %" PRIu64
           " failed opens (%.1f s, seed %" PRIu64 ")\n",
           t.records_returned, t.wrong, t.untouched_records - t.untouched_missing,
           t.untouched_records, t.iter_errors, t.iter_reported, t.open_failures, secs, c->seed);
    if (failed || t.wrong || t.missed || t.untouched_missing || t.open_failures || t.false_alarms)
        return 1;
    printf("%" PRIu64 " passed, 0 failed\n", n);
    return 0;
}

static const char usage[] = "usage: gatestore-corrupt --store DIR --input FILE [--iterations N] "
                            "[--seed S] [--lines N] [-v]\n";

int main(int argc, char **argv)
{
    campaign c;
    memset(&c, 0, sizeof(c));
    c.iterations = 500;
    c.seed = 1;
    c.lines = 600;
    const char *input = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--store") == 0 && v)
            c.store = argv[++i];
        else if (strcmp(a, "--input") == 0 && v)
            input = argv[++i];
        else if (strcmp(a, "--iterations") == 0 && v)
            c.iterations = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--seed") == 0 && v)
            c.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--lines") == 0 && v)
            c.lines = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "-v") == 0)
            c.verbose = 1;
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!c.store || !input) {
        fputs(usage, stderr);
        return 2;
    }
    struct stat sb;
    if (stat(c.store, &sb) == 0) {
        fprintf(stderr, "corrupt: %s exists; give a new path\n", c.store);
        return 2;
    }
    snprintf(c.log_dir, sizeof(c.log_dir), "%s/log", c.store);
    if (build(&c, input) != 0 || layout(&c) != 0 || c.nfile < 2) {
        fprintf(stderr, "corrupt: cannot build the base store\n");
        return 1;
    }
    int rc = run(&c);
    for (uint64_t i = 0; i < c.nrec; i++) {
        free(c.rec[i].event);
        free(c.rec[i].raw);
    }
    for (size_t i = 0; i < c.nfile; i++) {
        free(c.file[i].bytes);
        free(c.file[i].blk);
    }
    free(c.rec);
    free(c.file);
    free(c.seen);
    return rc;
}
