/*
 * gs_common.h - included first by every gatestore .c file.
 *
 * Holds what every module shares: feature macros, the public error codes and
 * the error-context struct that carries a message up from where a failure
 * happened (segment file, offset, LSN) to the handle the caller holds.
 */
#ifndef GS_COMMON_H
#define GS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pread/pwrite, O_CLOEXEC, flock, memmem */
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gatestore.h"

#define GS_ERRMSG_MAX 512

/* An error context: the code and a message naming where. Functions that can
 * fail take a gs_err * (may be NULL) and return the code they set. */
typedef struct gs_err {
    int code;
    char msg[GS_ERRMSG_MAX];
} gs_err;

/* Set *e (if non-NULL) to code and a formatted message; returns code. */
int gs_err_set(gs_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like gs_err_set, appending ": strerror(errnum)". */
int gs_err_errno(gs_err *e, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Map an errno value to a GS_E* code (ENOSPC/EDQUOT -> GS_ENOSPC, ENOMEM ->
 * GS_ENOMEM, else GS_EIO). */
int gs_errno_code(int errnum);
void gs_err_clear(gs_err *e);

/* Monotonic and wall clocks. */
int64_t gs_now_us(void);   /* wall clock, µs since the Unix epoch */
uint64_t gs_mono_ns(void); /* monotonic, ns */
/* *out = now on clock + delay_ns: the absolute deadline that
 * pthread_cond_timedwait wants (clock as the condition variable's). */
void gs_deadline(clockid_t clock, uint64_t delay_ns, struct timespec *out);

/* A zeroed array, like calloc, but written to at once. calloc hands a
 * large array out as fresh mmap pages that read as the shared zero page: a
 * hash table that probes (reads) a slot before it fills it takes a second
 * fault per page, a copy and a TLB shootdown on every other core. A memset
 * takes one fault per page. For arrays filled soon after (hash tables on
 * growth); n * size must not overflow (checked: NULL). */
static inline void *gs_zalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = malloc(n * size);
    /* Through a volatile pointer: GCC folds malloc + memset into calloc. */
    void *(*volatile zero)(void *, int, size_t) = memset;
    if (p)
        zero(p, 0, n * size);
    return p;
}

#define GS_UNUSED(x)    ((void)(x))
#define GS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
