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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_all_and_namespace),
        cmocka_unit_test(test_preexisting_is_durable),
        cmocka_unit_test(test_drop_suffix),
        cmocka_unit_test(test_keep_pages),
        cmocka_unit_test(test_new_store_survives_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
