/* test_linereader.c - NDJSON lines from a descriptor (src/linereader.c). */
#include "gs_common.h"
#include "json.h"
#include "linereader.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MIB ((size_t)1 << 20)

/* ------------------------------------------------------------- inputs */

static int file_with(const void *data, size_t len)
{
    char path[] = "/tmp/gs_test_linereader_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* A pipe fed by a thread in writes of the given sizes (cycled), so reads
 * return short, oddly cut chunks. */
typedef struct feeder {
    int fd;
    const char *data;
    size_t len;
    const size_t *sizes;
    size_t nsizes;
    pthread_t th;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    size_t off = 0, k = 0;
    while (off < f->len) {
        size_t n = f->sizes[k++ % f->nsizes];
        if (n > f->len - off)
            n = f->len - off;
        ssize_t w = write(f->fd, f->data + off, n);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

static int pipe_with(feeder *f, const char *data, size_t len, const size_t *sizes, size_t nsizes)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    f->fd = fds[1];
    f->data = data;
    f->len = len;
    f->sizes = sizes;
    f->nsizes = nsizes;
    assert_int_equal(pthread_create(&f->th, NULL, feed, f), 0);
    return fds[0];
}

static void pipe_done(feeder *f, int rfd)
{
    close(rfd);
    pthread_join(f->th, NULL);
}

/* ------------------------------------------------------------ checking */

/* Expected lines of `data` (reference split: \n ends a line, one \r before
 * it is dropped, a last line without \n counts). */
typedef struct ref_line {
    size_t off, len;
} ref_line;

static size_t split_ref(const char *data, size_t len, ref_line *out, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        assert_true(n < max);
        size_t l = i - start;
        if (l > 0 && data[i - 1] == '\r')
            l--;
        out[n++] = (ref_line){start, l};
        start = i + 1;
    }
    if (start < len) {
        assert_true(n < max);
        out[n++] = (ref_line){start, len - start};
    }
    return n;
}

/* Read everything from fd and compare with the reference split. Lines over
 * `limit` must come back as GS_ETOOBIG with their number. */
static void check_all(int fd, const char *data, size_t len, size_t limit)
{
    static ref_line ref[100000];
    size_t nref = split_ref(data, len, ref, GS_ARRAY_LEN(ref));
    gs_linereader *r = NULL;
    gs_err err;
    assert_int_equal(gs_linereader_open(fd, limit, &r, &err), GS_OK);
    size_t buf_max = (limit + 2 > MIB ? limit + 2 : MIB) + GS_JSON_PADDING;
    for (size_t i = 0; i < nref; i++) {
        gs_line line;
        memset(&line, 0, sizeof(line));
        int rc = gs_linereader_next(r, &line, &err);
        assert_int_equal(line.lineno, i + 1);
        assert_int_equal(line.offset, ref[i].off);
        if (ref[i].len > limit) {
            assert_int_equal(rc, GS_ETOOBIG);
            assert_null(line.data);
            assert_int_equal(line.len, ref[i].len);
            continue;
        }
        if (rc != 1)
            fail_msg("line %zu: rc %d (%s)", i + 1, rc, err.msg);
        assert_int_equal(line.len, ref[i].len);
        assert_memory_equal(line.data, data + ref[i].off, line.len);
        assert_true(line.cap >= line.len + GS_JSON_PADDING);
        assert_true(line.cap <= buf_max); /* memory stays bounded */
        /* The padding is readable (ASan would object otherwise). */
        volatile char sink = 0;
        for (size_t k = 0; k < GS_JSON_PADDING; k++)
            sink ^= line.data[line.len + k];
        (void)sink;
    }
    gs_line line;
    assert_int_equal(gs_linereader_next(r, &line, &err), 0);
    assert_int_equal(gs_linereader_next(r, &line, &err), 0); /* stays at the end */
    assert_int_equal(gs_linereader_bytes(r), len);
    gs_linereader_close(r);
}

static void check_file(const char *data, size_t len, size_t limit)
{
    int fd = file_with(data, len);
    check_all(fd, data, len, limit);
    close(fd);
}

static void check_pipe(const char *data, size_t len, size_t limit, const size_t *sizes,
                       size_t nsizes)
{
    feeder f;
    int fd = pipe_with(&f, data, len, sizes, nsizes);
    check_all(fd, data, len, limit);
    pipe_done(&f, fd);
}

static void check_both(const char *data, size_t len, size_t limit)
{
    static const size_t odd[] = {1, 7, 3, 4093, 65537, 2, 999983};
    check_file(data, len, limit);
    check_pipe(data, len, limit, odd, GS_ARRAY_LEN(odd));
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* --------------------------------------------------------------- tests */

static void test_open_misuse(void **state)
{
    (void)state;
    gs_linereader *r = NULL;
    gs_err err;
    assert_int_equal(gs_linereader_open(-1, 100, &r, &err), GS_EMISUSE);
    assert_int_equal(gs_linereader_open(0, 0, &r, &err), GS_EMISUSE);
    assert_null(r);
    gs_linereader_close(NULL);
    assert_int_equal(gs_linereader_bytes(NULL), 0);
}

static void test_fixtures(void **state)
{
    (void)state;
    size_t len;
    char *data = read_file(GS_FIXTURES "/scenario.ndjson", &len);
    check_both(data, len, 64 * MIB);
    /* A limit just at the longest line (12550 bytes in the fixtures). */
    free(data);
    data = read_file(GS_FIXTURES "/websocket-kit-capture.ndjson", &len);
    check_both(data, len, 12550);
    check_both(data, len, 12549); /* the longest is now skipped */
    /* Every write size from 1 to 17: chunk boundaries at every position. */
    for (size_t w = 1; w <= 17; w++)
        check_pipe(data, len, 64 * MIB, &w, 1);
    free(data);
}

static void test_crlf_and_blanks(void **state)
{
    (void)state;
    const char *cases[] = {
        "a\r\nb\r\n\r\nc",
        "{\"op\":1}\r\n{\"op\":2}\n",
        "x\ry\n\r\r\n", /* a lone \r stays; only the one before \n goes */
        "last\r",       /* no \n: nothing stripped */
        "\n\n\n",       /* only newlines: three empty lines */
        "  \n\t\n",     /* blanks are returned as they are */
        "no newline at all",
        "\r\n",
        "",
    };
    for (size_t i = 0; i < GS_ARRAY_LEN(cases); i++)
        check_both(cases[i], strlen(cases[i]), 100);

    /* Spelled out for two of them. */
    int fd = file_with("\n\n\n", 3);
    gs_linereader *r;
    gs_err err;
    gs_line line;
    assert_int_equal(gs_linereader_open(fd, 10, &r, &err), GS_OK);
    for (uint64_t k = 1; k <= 3; k++) {
        assert_int_equal(gs_linereader_next(r, &line, &err), 1);
        assert_int_equal(line.len, 0);
        assert_int_equal(line.lineno, k);
        assert_int_equal(line.offset, k - 1);
    }
    assert_int_equal(gs_linereader_next(r, &line, &err), 0);
    gs_linereader_close(r);
    close(fd);

    fd = file_with("a\r\nbc\r\n", 7);
    assert_int_equal(gs_linereader_open(fd, 10, &r, &err), GS_OK);
    assert_int_equal(gs_linereader_next(r, &line, &err), 1);
    assert_int_equal(line.len, 1);
    assert_int_equal(line.data[0], 'a');
    assert_int_equal(gs_linereader_next(r, &line, &err), 1);
    assert_int_equal(line.len, 2);
    assert_memory_equal(line.data, "bc", 2);
    assert_int_equal(line.offset, 3);
    assert_int_equal(gs_linereader_next(r, &line, &err), 0);
    gs_linereader_close(r);
    close(fd);
}

static void test_empty_file(void **state)
{
    (void)state;
    int fd = file_with("", 0);
    gs_linereader *r;
    gs_err err;
    gs_line line;
    assert_int_equal(gs_linereader_open(fd, 100, &r, &err), GS_OK);
    assert_int_equal(gs_linereader_next(r, &line, &err), 0);
    assert_int_equal(gs_linereader_next(r, &line, &err), 0);
    assert_int_equal(gs_linereader_bytes(r), 0);
    gs_linereader_close(r);
    close(fd);
}

static char *filled(size_t n, char c)
{
    char *b = malloc(n);
    assert_non_null(b);
    memset(b, c, n);
    return b;
}

/* "first\n" + 10 MB line + "\n" + "next\n" with a 1 MB limit: the big line
 * is GS_ETOOBIG with its number and offset, the next one comes back. */
static void test_long_line_skipped(void **state)
{
    (void)state;
    size_t big = 10 * 1000 * 1000;
    size_t len = 6 + big + 1 + 5;
    char *data = filled(len, 'x');
    memcpy(data, "first\n", 6);
    data[6 + big] = '\n';
    memcpy(data + 6 + big + 1, "next\n", 5);
    check_both(data, len, MIB);

    /* Spelled out once: codes, numbers, offsets, message. */
    int fd = file_with(data, len);
    gs_linereader *r;
    gs_err err;
    gs_line line;
    assert_int_equal(gs_linereader_open(fd, MIB, &r, &err), GS_OK);
    assert_int_equal(gs_linereader_next(r, &line, &err), 1);
    assert_int_equal(gs_linereader_next(r, &line, &err), GS_ETOOBIG);
    assert_int_equal(line.lineno, 2);
    assert_int_equal(line.offset, 6);
    assert_int_equal(line.len, big);
    assert_null(line.data);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_non_null(strstr(err.msg, "10000000 bytes"));
    assert_int_equal(gs_linereader_next(r, &line, &err), 1);
    assert_int_equal(line.lineno, 3);
    assert_int_equal(line.len, 4);
    assert_memory_equal(line.data, "next", 4);
    assert_true(line.cap <= MIB + 2 + GS_JSON_PADDING);
    assert_int_equal(gs_linereader_next(r, &line, &err), 0);
    gs_linereader_close(r);
    close(fd);

    /* With \r\n, the \r possibly at the end of a read: not counted. */
    data[6 + big - 1] = '\r';
    static const size_t sizes[] = {MIB - 1, 1, 4096};
    check_pipe(data, len, MIB, sizes, GS_ARRAY_LEN(sizes));
    check_file(data, len, MIB);

    /* The long line last, without a newline. */
    check_both(data, 6 + big, MIB);
    free(data);

    /* Several long lines in a row, with short ones between. */
    size_t n = 3 * (3 * MIB + 1) + 3 * 2;
    data = filled(n, 'y');
    for (size_t k = 0; k < 3; k++) {
        size_t at = k * (3 * MIB + 1 + 2);
        data[at + 3 * MIB] = '\n';
        memcpy(data + at + 3 * MIB + 1, "z\n", 2);
    }
    check_both(data, n, MIB);
    free(data);
}

/* Lines of exactly the limit are accepted (with \n, \r\n or at EOF); one
 * byte more is GS_ETOOBIG. Limits below and above the 1 MiB read size. */
static void test_limit_exact(void **state)
{
    (void)state;
    const size_t limits[] = {1, 100, MIB - 1, MIB, MIB + 1, 3 * MIB + 5};
    for (size_t i = 0; i < GS_ARRAY_LEN(limits); i++) {
        size_t lim = limits[i];
        /* lim, lim+1 (\n); lim (\r\n); lim+1 (\r\n); lim (no newline). */
        size_t len = (lim + 1) + (lim + 2) + (lim + 2) + (lim + 3) + lim;
        char *data = filled(len, 'q');
        size_t at = 0;
        data[at + lim] = '\n';
        at += lim + 1;
        data[at + lim + 1] = '\n';
        at += lim + 2;
        data[at + lim] = '\r';
        data[at + lim + 1] = '\n';
        at += lim + 2;
        data[at + lim + 1] = '\r';
        data[at + lim + 2] = '\n';
        at += lim + 3;
        assert_int_equal(at + lim, len);
        check_both(data, len, lim);

        int fd = file_with(data, len);
        gs_linereader *r;
        gs_err err;
        gs_line line;
        int want[] = {1, GS_ETOOBIG, 1, GS_ETOOBIG, 1};
        assert_int_equal(gs_linereader_open(fd, lim, &r, &err), GS_OK);
        for (size_t k = 0; k < GS_ARRAY_LEN(want); k++) {
            assert_int_equal(gs_linereader_next(r, &line, &err), want[k]);
            assert_int_equal(line.len, want[k] == 1 ? lim : lim + 1);
        }
        assert_int_equal(gs_linereader_next(r, &line, &err), 0);
        gs_linereader_close(r);
        close(fd);
        free(data);
    }
}

static void test_many_small_lines_across_chunks(void **state)
{
    (void)state;
    /* ~3 MB of short lines of varying length: many lines straddle the 1 MiB
     * read boundaries. */
    size_t cap = 3 * MIB + 4096, len = 0, k = 0;
    char *data = malloc(cap);
    assert_non_null(data);
    while (len < 3 * MIB) {
        int n = snprintf(data + len, cap - len, "{\"op\":0,\"t\":\"E\",\"s\":%zu,\"d\":\"%.*s\"}%s",
                         k, (int)(k % 97),
                         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
                         k % 5 == 0 ? "\r\n" : "\n");
        len += (size_t)n;
        k++;
    }
    check_both(data, len, 4096);
    free(data);
}

static void test_read_error(void **state)
{
    (void)state;
    /* read() on a directory fails with EISDIR. */
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    gs_linereader *r;
    gs_err err;
    gs_line line;
    assert_int_equal(gs_linereader_open(fd, 100, &r, &err), GS_OK);
    assert_int_equal(gs_linereader_next(r, &line, &err), GS_EIO);
    assert_non_null(strstr(err.msg, "cannot read input"));
    assert_int_equal(gs_linereader_next(r, &line, &err), GS_EIO); /* sticky */
    gs_linereader_close(r);
    close(fd);

    /* A write-only descriptor: EBADF, also GS_EIO. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(gs_linereader_open(fds[1], 100, &r, &err), GS_OK);
    assert_int_equal(gs_linereader_next(r, &line, &err), GS_EIO);
    gs_linereader_close(r);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_misuse),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_crlf_and_blanks),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_long_line_skipped),
        cmocka_unit_test(test_limit_exact),
        cmocka_unit_test(test_many_small_lines_across_chunks),
        cmocka_unit_test(test_read_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
