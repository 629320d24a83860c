/*
 * applier.c - keeps the views up to date with the log.
 *
 * Until the views module lands this only defines the hooks the store calls;
 * a store without views is complete for logging and reading.
 */
#include "gs_common.h"

#include "store_int.h"
#include "store_priv.h"

int gs_store_views_start(gs_store *st, gs_err *err)
{
    GS_UNUSED(err);
    st->applier = NULL;
    return GS_OK;
}

int gs_store_views_stop(gs_store *st, gs_err *err)
{
    GS_UNUSED(st);
    GS_UNUSED(err);
    return GS_OK;
}

struct gs_views *gs_store_views(gs_store *st)
{
    GS_UNUSED(st);
    return NULL;
}
