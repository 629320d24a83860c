/* ingest.h - internal ingest entry points beyond gs_ingest_line. */
#ifndef GS_INGEST_H
#define GS_INGEST_H

#include "gs_common.h"

/* gs_ingest_line for a line with cap readable bytes at line (cap - len >=
 * GS_JSON_PADDING lets the parser work in place, without a copy). */
int gs_ingest_line_cap(gs_store *st, const char *line, size_t line_len, size_t cap,
                       const gs_frame_meta *meta, uint64_t *lsn_out);

#endif
