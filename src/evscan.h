/*
 * evscan.h - find a stored frame's `d` value and guild id without a full
 * JSON parse, for subscription filters and gs_event.
 *
 * The input is a frame the log stored, so it was validated as JSON when it
 * was ingested; the scanner still never reads outside [raw, raw+len) and
 * answers "none" for anything it does not understand.
 */
#ifndef GS_EVSCAN_H
#define GS_EVSCAN_H

#include "gs_common.h"

typedef struct gs_evscan {
    const char *d; /* the `d` value's bytes, NULL if absent */
    size_t d_len;
    uint64_t guild_id; /* d.guild_id (d.id for GUILD_CREATE/UPDATE/DELETE), 0 if none */
} gs_evscan;

void gs_evscan_frame(const char *raw, size_t len, const char *event, size_t event_len,
                     gs_evscan *out);

#endif
