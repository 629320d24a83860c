/*
 * store_int.h - what src/ modules (ingest, query, replay) may know of a
 * gs_store beyond the public header. The struct itself stays in store.c.
 */
#ifndef GS_STORE_INT_H
#define GS_STORE_INT_H

#include "gs_common.h"
#include "log.h"

struct gs_views; /* views/views.h */

/* The store's log writer (NULL when opened read-only). */
gs_log *gs_store_log(gs_store *st);
/* Path of the store's log directory (STORE/log). */
const char *gs_store_log_dir(gs_store *st);
/* Path of the store's views directory (STORE/views). */
const char *gs_store_views_dir(gs_store *st);
/* The store's views (NULL if views are disabled or not yet built). */
struct gs_views *gs_store_views(gs_store *st);
/* I/O table used for the log (tests may install a fault-injecting one). */
gs_io *gs_store_io(gs_store *st);
/* Record err as the store's last error; returns err->code. */
int gs_store_fail(gs_store *st, const gs_err *err);

#endif
