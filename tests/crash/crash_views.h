/* crash_views.h - the views half of the crash harness's checks. */
#ifndef GS_CRASH_VIEWS_H
#define GS_CRASH_VIEWS_H

#include "gatestore.h"

/* Check the views of a reopened store: watermark <= head and a full dump
 * equal to that of views rebuilt from the log. 0 ok, -1 (with a message on
 * stderr) otherwise. */
int gs_crash_check_views(gs_store *st, uint64_t head, uint64_t round);

#endif
