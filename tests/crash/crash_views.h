/* crash_views.h - the views half of the crash harness's checks. */
#ifndef GS_CRASH_VIEWS_H
#define GS_CRASH_VIEWS_H

#include "gatestore.h"

/* Before the store is reopened: the views as the crash left them must have
 * watermark <= the log's last good LSN and equal views rebuilt from the log
 * up to that watermark. 0 ok, -1 (message on stderr) otherwise. */
int gs_crash_views_pre(const char *store, uint64_t round);
/* After the reopen (which catches the views up): their full dump must equal
 * that of views rebuilt from the whole surviving log. */
int gs_crash_check_views(gs_store *st, uint64_t head, uint64_t round);

#endif
