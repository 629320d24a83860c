/* crash_views.c - views checks of the crash harness (none until the views
 * module lands: --views then fails loudly rather than passing). */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>

#include "crash_views.h"

int gs_crash_check_views(gs_store *st, uint64_t head, uint64_t round)
{
    GS_UNUSED(st);
    GS_UNUSED(head);
    fprintf(stderr, "round %" PRIu64 ": --views: this build has no views\n", round);
    return -1;
}
