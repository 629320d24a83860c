/*
 * procmem.c - process-wide malloc tuning offered to programs that embed
 * gatestore (gs_set_malloc_arenas, gatestore.h). The library never calls
 * it on its own: malloc's settings belong to the program.
 */
#include "gs_common.h"

#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Whether the environment already sets the arena count; glibc read it at
 * startup and mallopt would override the user. */
static int env_chooses(void)
{
    const char *m = getenv("MALLOC_ARENA_MAX");
    if (m && *m)
        return 1;
    const char *t = getenv("GLIBC_TUNABLES");
    return t && strstr(t, "glibc.malloc.arena_max") != NULL;
}

int gs_set_malloc_arenas(unsigned n, int *applied)
{
    if (n == 0 || n > (unsigned)INT32_MAX)
        return GS_EMISUSE;
    if (env_chooses()) {
        if (applied)
            *applied = 0;
        return GS_OK;
    }
#ifdef __GLIBC__
    if (mallopt(M_ARENA_MAX, (int)n) != 1)
        return GS_ERROR;
    if (applied)
        *applied = 1;
    return GS_OK;
#else
    return GS_ERROR;
#endif
}
