/* error.c - names and messages of the error codes, and the error context. */
#include "gs_common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *gs_errname(int code)
{
    switch ((gs_error)code) {
#define GS_ERROR_NAME_(name, value, msg)                                                           \
    case name:                                                                                     \
        return #name;
        GS_ERROR_MAP(GS_ERROR_NAME_)
#undef GS_ERROR_NAME_
    case GS_ERROR_LAST_:
        break;
    }
    if (code == GS_SKIPPED)
        return "GS_SKIPPED";
    return "GS_UNKNOWN";
}

const char *gs_errstr(int code)
{
    switch ((gs_error)code) {
#define GS_ERROR_STR_(name, value, msg)                                                            \
    case name:                                                                                     \
        return msg;
        GS_ERROR_MAP(GS_ERROR_STR_)
#undef GS_ERROR_STR_
    case GS_ERROR_LAST_:
        break;
    }
    if (code == GS_SKIPPED)
        return "frame skipped (not a dispatch)";
    return "unknown error code";
}

int gs_err_set(gs_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

int gs_err_errno(gs_err *e, int code, int errnum, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof(e->msg))
            snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(errnum));
    }
    return code;
}

int gs_errno_code(int errnum)
{
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return GS_ENOSPC;
    case ENOMEM:
        return GS_ENOMEM;
    default:
        return GS_EIO;
    }
}

void gs_err_clear(gs_err *e)
{
    if (e) {
        e->code = GS_OK;
        e->msg[0] = '\0';
    }
}

int64_t gs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t gs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gs_deadline(clockid_t clock, uint64_t delay_ns, struct timespec *out)
{
    clock_gettime(clock, out);
    uint64_t ns = (uint64_t)out->tv_nsec + delay_ns;
    out->tv_sec += (time_t)(ns / 1000000000u);
    out->tv_nsec = (long)(ns % 1000000000u);
}

int gs_version_number(void)
{
    return GS_VERSION_NUMBER;
}

const char *gs_version_string(void)
{
    return GS_VERSION_STRING;
}
