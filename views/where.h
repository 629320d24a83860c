/* where.h - matching `where` conditions against msgpack objects. */
#ifndef GS_WHERE_H
#define GS_WHERE_H

#include "mp.h"
#include "views.h"

/* 1 if obj[0..len) satisfies every condition, 0 if not, -1 if obj is
 * damaged. */
int gs_vwhere_match(const uint8_t *obj, size_t len, const gs_vwhere *w, size_t n);

#endif
