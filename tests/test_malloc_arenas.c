/* test_malloc_arenas.c - gs_set_malloc_arenas and
 * gs_set_malloc_mmap_threshold (src/procmem.c): refused arguments, the
 * environment's choice kept, the arena cap really holding when threads
 * allocate at once, and the threshold really fixed (no longer raised by a
 * freed large block). Its own program: both settings are process-wide. */
#include "gs_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GS_SANITIZED 1
#endif
#endif

static void test_refuses_zero(void **state)
{
    (void)state;
    int applied = -1;
    assert_int_equal(gs_set_malloc_arenas(0, &applied), GS_EMISUSE);
    assert_int_equal(applied, -1); /* untouched on failure */
    /* mallopt takes an int: a count past INT32_MAX is refused, not wrapped. */
    assert_int_equal(gs_set_malloc_arenas(UINT32_MAX, &applied), GS_EMISUSE);
    assert_int_equal(applied, -1);
}

static void test_environment_wins(void **state)
{
    (void)state;
    int applied = -1;
    assert_int_equal(setenv("MALLOC_ARENA_MAX", "3", 1), 0);
    assert_int_equal(gs_set_malloc_arenas(2, &applied), GS_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(unsetenv("MALLOC_ARENA_MAX"), 0);

    applied = -1;
    assert_int_equal(
        setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=3", 1), 0);
    assert_int_equal(gs_set_malloc_arenas(2, &applied), GS_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
}

#if !defined(GS_SANITIZED) && defined(__GLIBC__)
#define GS_ARENA_CHECK 1 /* the sanitizers' allocators ignore mallopt */

#define THREADS 4

static pthread_barrier_t start;

/* Allocate and free in a loop while the other threads do: glibc gives a
 * thread an arena of its own when the one it would share is busy. */
static void *allocate(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < 1000000; i++) {
        void *p = malloc(100 + (size_t)(i & 1023));
        if (p)
            ((volatile char *)p)[0] = 1;
        free(p);
    }
    return NULL;
}

/* Arenas in use, from malloc_info's XML: one <heap nr=...> each. */
static int count_arenas(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(malloc_info(0, f), 0);
    fclose(f);
    int n = 0;
    for (const char *s = buf; (s = strstr(s, "<heap nr=")) != NULL; s++)
        n++;
    free(buf);
    return n;
}

#endif

static void test_cap_holds(void **state)
{
    (void)state;
#ifndef GS_ARENA_CHECK
    skip();
#else
    /* Whatever the runner's environment says, this process decides. */
    assert_int_equal(unsetenv("MALLOC_ARENA_MAX"), 0);
    assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
    int applied = -1;
    assert_int_equal(gs_set_malloc_arenas(1, &applied), GS_OK);
    assert_int_equal(applied, 1);
    pthread_t t[THREADS];
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, allocate, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    /* Arenas outlive their threads. Without the cap this is 5 here (checked
     * by calling with a cap of 8). */
    int arenas = count_arenas();
    assert_int_equal(arenas, 1);
#endif
}

static void test_threshold_refuses(void **state)
{
    (void)state;
    int applied = -1;
    assert_int_equal(gs_set_malloc_mmap_threshold(0, &applied), GS_EMISUSE);
    assert_int_equal(applied, -1);
    /* glibc's own limit on 64-bit systems; mallopt would refuse it anyway. */
    assert_int_equal(gs_set_malloc_mmap_threshold(GS_MALLOC_MMAP_THRESHOLD_MAX + 1, &applied),
                     GS_EMISUSE);
    assert_int_equal(applied, -1);
}

static void test_threshold_environment_wins(void **state)
{
    (void)state;
    int applied = -1;
    assert_int_equal(setenv("MALLOC_MMAP_THRESHOLD_", "131072", 1), 0);
    assert_int_equal(gs_set_malloc_mmap_threshold(GS_MALLOC_MMAP_THRESHOLD, &applied), GS_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(unsetenv("MALLOC_MMAP_THRESHOLD_"), 0);

    applied = -1;
    assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072", 1), 0);
    assert_int_equal(gs_set_malloc_mmap_threshold(GS_MALLOC_MMAP_THRESHOLD, &applied), GS_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
}

#if defined(GS_ARENA_CHECK) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define GS_THRESHOLD_CHECK 1

/* Free an 8 MiB block (mapped: above glibc's initial 128 KiB threshold),
 * then allocate 4 MiB: 1 if that block is mapped on its own, judged by
 * the bytes malloc has mapped. */
static int second_block_mapped(void)
{
    char *big = malloc(8u << 20);
    assert_non_null(big);
    big[0] = 1;
    free(big);
    size_t before = mallinfo2().hblkhd;
    char *mid = malloc(4u << 20);
    assert_non_null(mid);
    mid[0] = 1;
    int mapped = mallinfo2().hblkhd >= before + (4u << 20);
    free(mid);
    return mapped;
}
#endif

static void test_threshold_holds(void **state)
{
    (void)state;
#ifndef GS_THRESHOLD_CHECK
    skip();
#else
    assert_int_equal(unsetenv("MALLOC_MMAP_THRESHOLD_"), 0);
    assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
    /* What the setting prevents, in a child (this process's threshold must
     * stay glibc's until set): the free raises the threshold to 8 MiB, and
     * the 4 MiB block then comes from the heap. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(second_block_mapped() ? 1 : 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    int applied = -1;
    assert_int_equal(gs_set_malloc_mmap_threshold(GS_MALLOC_MMAP_THRESHOLD, &applied), GS_OK);
    assert_int_equal(applied, 1);
    assert_true(second_block_mapped());
    /* Below the threshold: from the heap. */
    size_t before = mallinfo2().hblkhd;
    char *small = malloc(1u << 20);
    assert_non_null(small);
    assert_true(mallinfo2().hblkhd < before + (1u << 20));
    free(small);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_zero),
        cmocka_unit_test(test_environment_wins),
        cmocka_unit_test(test_cap_holds),
        cmocka_unit_test(test_threshold_refuses),
        cmocka_unit_test(test_threshold_environment_wins),
        cmocka_unit_test(test_threshold_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
