/* support_tmp.h - temporary directories for tests. */
#ifndef GS_SUPPORT_TMP_H
#define GS_SUPPORT_TMP_H

#include <stddef.h>

/* Make a fresh empty directory under $TMPDIR (or /tmp); path in buf.
 * Aborts the test program if it cannot. */
void gs_test_tmpdir(char *buf, size_t cap);
/* Remove a directory tree (best effort). */
void gs_test_rmtree(const char *path);

#endif
