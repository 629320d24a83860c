/*
 * procmem.c - process-wide malloc tuning offered to programs that embed
 * gatestore (gs_set_malloc_arenas, gs_set_malloc_mmap_threshold,
 * gatestore.h). The library never calls them on its own: malloc's settings
 * belong to the program.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Whether the environment already sets a malloc parameter (its variable,
 * or its GLIBC_TUNABLES name); glibc read it at startup and mallopt would
 * override the user. */
static int env_chooses(const char *var, const char *tunable)
{
    const char *m = getenv(var);
    if (m && *m)
        return 1;
    const char *t = getenv("GLIBC_TUNABLES");
    return t && strstr(t, tunable) != NULL;
}

/* Set malloc parameter `param` (a mallopt M_* number; ignored without
 * glibc) to `value` unless the environment chooses it: *applied as the
 * public functions say. The caller has checked the value. */
static int set_param(int param, int value, const char *var, const char *tunable, int *applied)
{
    if (env_chooses(var, tunable)) {
        if (applied)
            *applied = 0;
        return GS_OK;
    }
#ifdef __GLIBC__
    if (mallopt(param, value) != 1)
        return GS_ERROR;
    if (applied)
        *applied = 1;
    return GS_OK;
#else
    (void)param;
    (void)value;
    return GS_ERROR;
#endif
}

#ifndef __GLIBC__
#define M_ARENA_MAX      0
#define M_MMAP_THRESHOLD 0
#endif

int gs_set_malloc_arenas(unsigned n, int *applied)
{
    if (n == 0 || n > (unsigned)INT32_MAX)
        return GS_EMISUSE;
    return set_param(M_ARENA_MAX, (int)n, "MALLOC_ARENA_MAX", "glibc.malloc.arena_max", applied);
}

/* Setting the threshold also turns off glibc's dynamic one (mallopt(3)). */
int gs_set_malloc_mmap_threshold(size_t bytes, int *applied)
{
    if (bytes == 0 || bytes > GS_MALLOC_MMAP_THRESHOLD_MAX)
        return GS_EMISUSE;
    return set_param(M_MMAP_THRESHOLD, (int)bytes, "MALLOC_MMAP_THRESHOLD_",
                     "glibc.malloc.mmap_threshold", applied);
}
