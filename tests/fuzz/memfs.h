/* memfs.h - a gs_io over an in-memory file system, for fuzz targets that
 * run the log over a directory thousands of times a second. Paths are
 * plain strings ("dir/name"); a directory exists once made by
 * memfs_mkdir or the table's mkdir. fsync does nothing. One thread. */
#ifndef GS_FUZZ_MEMFS_H
#define GS_FUZZ_MEMFS_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

/* The table (static storage). */
gs_io *memfs_io(void);
/* Drop every file and directory (open descriptors become invalid). */
void memfs_reset(void);
void memfs_mkdir(const char *path);
void memfs_write(const char *path, const uint8_t *data, size_t len);

#endif
