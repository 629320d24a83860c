/* test_powercut.c - the power-cut simulation (support_powercut_io) does
 * what it claims: unsynced bytes dropped, a suffix dropped, pages kept at
 * random, namespace changes undone without a directory fsync; and a store
 * created through it keeps what it acknowledged across a cut (the log
 * directory's own entry must be made durable). */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "store_priv.h"
#include "support_logtest.h"
#include "support_powercut_io.h"

static char *join(const char *dir, const char *name)
{
    return lt_path(dir, name);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Create path through io with content, fsync it and (if dir_sync) its dir. */
static int make_file(gs_io *io, const char *dir, const char *path, const char *content,
                     int dir_sync)
{
    int fd = io->open(io, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(gs_io_write_all(io, fd, content, strlen(content), 0), 0);
    assert_int_equal(io->fsync(io, fd), 0);
    if (dir_sync)
        assert_int_equal(io->fsync_dir(io, dir), 0);
    return fd;
}

static void assert_content(const char *path, const void *want, size_t len)
{
    size_t got_len = 0;
    unsigned char *got = lt_read_file(path, &got_len);
    assert_non_null(got);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want, len);
    free(got);
}

static void test_drop_all_and_namespace(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("pc-ns");
    powercut_io *p = powercut_io_create(NULL, 1);
    gs_io *io = powercut_io_get(p);
    char *a = join(dir, "a"), *b = join(dir, "b"), *c = join(dir, "c"), *d = join(dir, "d");
    char *e = join(dir, "e"), *sub = join(dir, "sub"), *subf = join(sub, "f");

    int fa = make_file(io, dir, a, "hello", 1); /* durable, then more unsynced */
    assert_int_equal(gs_io_write_all(io, fa, " world", 6, 5), 0);
    int fc = make_file(io, dir, c, "ccc", 1);
    int fe = make_file(io, dir, e, "eee", 1);
    /* No fsync of dir from here on. */
    int fb = make_file(io, dir, b, "bbb", 0); /* data synced, entry not */
    assert_int_equal(io->rename(io, c, d), 0);
    io->close(io, fe);
    assert_int_equal(io->unlink(io, e), 0);
    assert_int_equal(io->mkdir(io, sub, 0755), 0); /* parent never fsynced */
    int ff = make_file(io, sub, subf, "fff", 1);
    assert_true(exists(subf));

    powercut_io_fail_after(p, powercut_io_calls(p));
    pc_report rep;
    assert_int_equal(powercut_io_cut(p, PC_DROP_ALL, &rep), 0);
    assert_content(a, "hello", 5);
    assert_false(exists(b));
    assert_true(exists(c));
    assert_false(exists(d));
    assert_content(c, "ccc", 3);
    assert_content(e, "eee", 3);
    assert_false(exists(sub));
    assert_int_equal(rep.bytes_lost, 6);
    assert_int_equal(rep.creates_undone, 1); /* b (sub/f went with sub) */
    assert_int_equal(rep.renames_undone, 1);
    assert_int_equal(rep.unlinks_undone, 1);
    assert_int_equal(rep.mkdirs_undone, 1);

    /* The machine has stopped: every call fails and changes nothing. */
    assert_int_equal(io->pwrite(io, fa, "x", 1, 0), -EIO);
    assert_int_equal(io->unlink(io, a), -EIO);
    assert_true(exists(a));
    io->close(io, fa);
    io->close(io, fb);
    io->close(io, fc);
    io->close(io, ff);
    powercut_io_destroy(p);
    free(a), free(b), free(c), free(d), free(e), free(sub), free(subf);
    lt_rmrf(dir);
    free(dir);
}

/* A file that existed before the io saw it counts as durable as it is. */
static void test_preexisting_is_durable(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("pc-pre");
    char *a = join(dir, "a");
    lt_write_file(a, "0123456789", 10);
    powercut_io *p = powercut_io_create(NULL, 2);
    gs_io *io = powercut_io_get(p);
    int fd = io->open(io, a, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(gs_io_write_all(io, fd, "abc", 3, 10), 0);
    assert_int_equal(io->ftruncate(io, fd, 4), 0);
    assert_int_equal(powercut_io_cut(p, PC_DROP_ALL, NULL), 0);
    assert_content(a, "0123456789", 10);
    io->close(io, fd);
    powercut_io_destroy(p);
    free(a);
    lt_rmrf(dir);
    free(dir);
}

/* PC_DROP_SUFFIX keeps the synced bytes and a prefix of the later writes. */
static void test_drop_suffix(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("pc-suffix");
    char *a = join(dir, "a");
    char full[64] = "SYNC";
    const char *w[3] = {"first-", "second-", "third"};
    for (int i = 0; i < 3; i++)
        strcat(full, w[i]);
    int seen_partial = 0, seen_none = 0, seen_all = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        powercut_io *p = powercut_io_create(NULL, seed);
        gs_io *io = powercut_io_get(p);
        int fd = make_file(io, dir, a, "SYNC", 1);
        uint64_t off = 4;
        for (int i = 0; i < 3; i++) {
            assert_int_equal(gs_io_write_all(io, fd, w[i], strlen(w[i]), off), 0);
            off += strlen(w[i]);
        }
        assert_int_equal(powercut_io_cut(p, PC_DROP_SUFFIX, NULL), 0);
        size_t len;
        unsigned char *got = lt_read_file(a, &len);
        assert_true(len >= 4 && len <= strlen(full));
        assert_memory_equal(got, full, len);
        seen_none |= len == 4;
        seen_all |= len == strlen(full);
        seen_partial |= len != 4 && len != 10 && len != 17 && len != strlen(full);
        free(got);
        io->close(io, fd);
        powercut_io_destroy(p);
        unlink(a);
    }
    assert_true(seen_none && seen_all && seen_partial);
    free(a);
    lt_rmrf(dir);
    free(dir);
}

/* PC_KEEP_PAGES: every 4 KiB page is wholly old or wholly new; pages past
 * the old end that are not kept read as zeros. */
static void test_keep_pages(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("pc-pages");
    char *a = join(dir, "a");
    enum { PG = 4096, OLD = 2 * PG + 100, NEW = 6 * PG };
    unsigned char *oldc = malloc(OLD), *newc = malloc(NEW);
    memset(oldc, 'o', OLD);
    memcpy(newc, oldc, OLD);
    memset(newc + OLD, 'n', NEW - OLD);
    memset(newc, 'N', 10); /* an overwrite inside page 0 */
    int kept = 0, dropped = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        powercut_io *p = powercut_io_create(NULL, seed);
        gs_io *io = powercut_io_get(p);
        int fd = io->open(io, a, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_int_equal(gs_io_write_all(io, fd, oldc, OLD, 0), 0);
        assert_int_equal(io->fsync(io, fd), 0);
        assert_int_equal(io->fsync_dir(io, dir), 0);
        assert_int_equal(gs_io_write_all(io, fd, newc + OLD, NEW - OLD, OLD), 0);
        assert_int_equal(gs_io_write_all(io, fd, "NNNNNNNNNN", 10, 0), 0);
        pc_report rep;
        assert_int_equal(powercut_io_cut(p, PC_KEEP_PAGES, &rep), 0);
        size_t len;
        unsigned char *got = lt_read_file(a, &len);
        assert_true(len >= OLD && len <= NEW);
        for (size_t pg = 0; pg < len; pg += PG) {
            size_t end = pg + PG < len ? pg + PG : len;
            int is_new = memcmp(got + pg, newc + pg, end - pg) == 0;
            int is_old = 1;
            for (size_t i = pg; i < end; i++)
                is_old &= got[i] == (i < OLD ? oldc[i] : 0);
            assert_true(is_new || is_old);
            kept += is_new && !is_old;
            dropped += is_old && !is_new;
        }
        free(got);
        io->close(io, fd);
        powercut_io_destroy(p);
        unlink(a);
    }
    assert_true(kept > 0 && dropped > 0);
    free(oldc);
    free(newc);
    free(a);
    lt_rmrf(dir);
    free(dir);
}

/* A store created through the io: its acknowledged (SYNC) records survive a
 * cut that undoes every namespace change no directory fsync covered. This
 * needs the log directory's entry in the store directory to be fsynced
 * when gs_log_open creates it. */
static void test_new_store_survives_cut(void **state)
{
    GS_UNUSED(state);
    char *dir = lt_tmpdir("pc-store");
    char *path = join(dir, "st");
    powercut_io *p = powercut_io_create(NULL, 3);
    gs_options *o;
    assert_int_equal(gs_options_create(&o), GS_OK);
    gs_options_set_create(o, 1);
    gs_options_set_durability(o, GS_DURABILITY_SYNC);
    gs_store *st;
    assert_int_equal(gs_store_open_io(path, o, powercut_io_get(p), &st), GS_OK);
    const char *line = "{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"s\":1,\"d\":{\"id\":\"1\"}}";
    for (int i = 0; i < 3; i++)
        assert_int_equal(gs_ingest_line(st, line, strlen(line), NULL, NULL), GS_OK);
    powercut_io_fail_after(p, powercut_io_calls(p));
    assert_int_equal(powercut_io_cut(p, PC_DROP_ALL, NULL), 0);
    gs_store_close(st);
    powercut_io_destroy(p);

    gs_options_set_create(o, 0);
    assert_int_equal(gs_store_open(path, o, &st), GS_OK);
    assert_int_equal(gs_store_head_lsn(st), 3);
    gs_log_iter *it;
    assert_int_equal(gs_log_iter_open(st, NULL, &it), GS_OK);
    gs_record r;
    for (uint64_t k = 1; k <= 3; k++) {
        assert_int_equal(gs_log_iter_next(it, &r), 1);
        assert_int_equal(r.lsn, k);
        assert_int_equal(r.raw_len, strlen(line));
        assert_memory_equal(r.raw, line, r.raw_len);
    }
    assert_int_equal(gs_log_iter_next(it, &r), 0);
    gs_log_iter_close(it);
    assert_int_equal(gs_store_close(st), GS_OK);
    gs_options_destroy(o);
    free(path);
    lt_rmrf(dir);
    free(dir);
}

/* Recovery after a power cut that lost a page in the middle of the
 * unsynced end of the newest segment, with complete blocks after it: a
 * torn tail, cut at the first damaged block (no hole in the LSNs). The same
 * block with one flipped bit instead is damage in the middle and is left
 * alone (FORMAT.md, "Recovery"). */
static void build_log(const char *dir, lt_rec *recs, unsigned n)
{
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = GS_DURABILITY_SYNC;
    o.block_bytes = 1024;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
}

static void recover_after(const char *dir, const lt_rec *recs, int want_cut, uint64_t cut_lsn,
                          uint64_t total)
{
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = GS_DURABILITY_SYNC;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    const gs_log_recovery *rv = gs_log_recovery_info(log);
    assert_int_equal(rv->truncated, want_cut);
    assert_int_equal(rv->mid_damage, !want_cut);
    assert_int_equal(rv->last_good_lsn, want_cut ? cut_lsn : total);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    gs_log_verify_sum vs;
    assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, &vs, &e),
                     want_cut ? GS_OK : GS_ECORRUPT);
    if (!want_cut)
        return;
    gs_log_reader *r;
    assert_int_equal(gs_log_reader_open(dir, NULL, 1, 0, &r, &e), GS_OK);
    gs_log_rec rec;
    uint64_t next = 1;
    int rc;
    while ((rc = gs_log_reader_next(r, &rec, &e)) == 1) {
        assert_int_equal(rec.lsn, next);
        assert_true(lt_same(&rec, &recs[next - 1].in));
        next++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(next, cut_lsn + 1);
    gs_log_reader_close(r);
}

static void test_recover_lost_page(void **state)
{
    GS_UNUSED(state);
    enum { N = 60, PAGE = 4096 };
    lt_rec recs[N];
    for (unsigned i = 0; i < N; i++)
        lt_make(&recs[i], i, 8, 700);
    for (int flip = 0; flip <= 1; flip++) {
        char *dir = lt_tmpdir("pc-lost");
        build_log(dir, recs, N);
        char **names;
        size_t nseg = lt_segments(dir, &names);
        assert_int_equal(nseg, 1);
        lt_block *b;
        uint64_t end;
        size_t nb = lt_scan_blocks(dir, names[0], &b, &end);
        assert_true(end > 4 * PAGE);
        /* The page [2 * PAGE, 3 * PAGE) and the first block it touches. */
        size_t k = 0;
        while (b[k].off + b[k].len <= 2 * PAGE)
            k++;
        assert_true(k + 2 < nb);
        char *p = lt_path(dir, names[0]);
        size_t len;
        unsigned char *buf = lt_read_file(p, &len);
        if (flip)
            buf[2 * PAGE + 100] ^= 0x04;
        else
            memset(buf + 2 * PAGE, 0, PAGE);
        lt_write_file(p, buf, len);
        free(buf);
        free(p);
        recover_after(dir, recs, !flip, b[k].first_lsn - 1, N);
        free(b);
        lt_free_names(names, nseg);
        lt_rmrf(dir);
        free(dir);
    }
    for (unsigned i = 0; i < N; i++)
        lt_free(&recs[i]);
}

/* The fsync that seals a segment failed and the power cut kept its index
 * footer (page 1) but lost its blocks (page 0 but the fsynced header): the
 * footer must not be trusted; recovery cuts the segment back to its
 * header instead of starting the next segment after a hole. */
static void test_recover_sealed_lost_blocks(void **state)
{
    GS_UNUSED(state);
    enum { N = 40, PAGE = 4096 };
    lt_rec recs[N];
    for (unsigned i = 0; i < N; i++)
        lt_make(&recs[i], i, 9, 700);
    char *dir = lt_tmpdir("pc-sealed");
    gs_log_opts o;
    gs_log_opts_init(&o);
    o.durability = GS_DURABILITY_SYNC;
    o.block_bytes = 1024;
    o.segment_bytes = 4096;
    gs_log *log;
    gs_err e;
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(gs_log_append(log, &recs[i].in, 1, NULL, &e), GS_OK);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    char **names;
    size_t nseg = lt_segments(dir, &names);
    assert_true(nseg >= 3);
    /* The crash came before the next segment existed. */
    char *p = lt_path(dir, names[nseg - 1]);
    assert_int_equal(unlink(p), 0);
    free(p);
    p = lt_path(dir, names[nseg - 2]);
    size_t len;
    unsigned char *buf = lt_read_file(p, &len);
    assert_true(len > PAGE && len < 2 * PAGE);
    memset(buf + 64, 0, PAGE - 64);
    lt_write_file(p, buf, len);
    free(buf);
    free(p);
    uint64_t base = strtoull(names[nseg - 2], NULL, 10);
    assert_int_equal(gs_log_open(dir, &o, &log, &e), GS_OK);
    const gs_log_recovery *rv = gs_log_recovery_info(log);
    assert_int_equal(rv->truncated, 1);
    assert_int_equal(rv->mid_damage, 0);
    assert_int_equal(rv->offset, 64);
    assert_int_equal(rv->last_good_lsn, base - 1);
    assert_int_equal(gs_log_head_lsn(log), base - 1);
    assert_int_equal(gs_log_close(log, &e), GS_OK);
    gs_log_verify_sum vs;
    assert_int_equal(gs_log_verify_dir(dir, NULL, NULL, NULL, &vs, &e), GS_OK);
    assert_int_equal(vs.records_ok, base - 1);
    lt_free_names(names, nseg);
    lt_rmrf(dir);
    free(dir);
    for (unsigned i = 0; i < N; i++)
        lt_free(&recs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_all_and_namespace),
        cmocka_unit_test(test_preexisting_is_durable),
        cmocka_unit_test(test_drop_suffix),
        cmocka_unit_test(test_keep_pages),
        cmocka_unit_test(test_new_store_survives_cut),
        cmocka_unit_test(test_recover_lost_page),
        cmocka_unit_test(test_recover_sealed_lost_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
