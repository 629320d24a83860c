/* support_subs.h - helpers for the subscription tests: stores in temporary
 * directories and self-describing CHANNEL_CREATE frames. */
#ifndef GS_SUPPORT_SUBS_H
#define GS_SUPPORT_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "gatestore.h"

/* Open (creating) a store at dir; views 0/1; durability a gs_durability.
 * Aborts the test program on failure. */
gs_store *gs_ts_open(const char *dir, int views, int durability, int read_only);
/* A CHANNEL_CREATE frame for channel id in guild, with n as its `s`. */
size_t gs_ts_channel_line(char *buf, size_t cap, uint64_t id, uint64_t guild, int64_t n);
/* The channel id in a frame made by gs_ts_channel_line (0 if none). */
uint64_t gs_ts_channel_id(const char *raw, size_t len);
/* Ingest the channel line for id; returns its LSN (aborts on failure). */
uint64_t gs_ts_ingest_channel(gs_store *st, uint64_t id, uint64_t guild);

#endif
