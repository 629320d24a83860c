/* timefmt.h - RFC 3339 timestamps <-> microseconds since the Unix epoch. */
#ifndef GS_TIMEFMT_H
#define GS_TIMEFMT_H

#include "gs_common.h"

/* Parse `YYYY-MM-DDTHH:MM:SS[.frac]` followed by `Z` or `±HH:MM` (RFC 3339;
 * `t`/`z`/space accepted as RFC 3339 allows). Fractions beyond µs are
 * truncated; a leap second (SS = 60) is taken as :59.999999. Every field is
 * range-checked (day against the month, leap years included). Years before
 * 1970 are refused. 0 ok, -1 malformed. */
int gs_time_parse_rfc3339(const char *s, size_t len, int64_t *out_us);

/* Format as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes + NUL). buf >= 32. */
void gs_time_format_rfc3339(int64_t us, char *buf, size_t cap);

#endif
