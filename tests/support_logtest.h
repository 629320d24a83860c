/*
 * support_logtest.h - helpers shared by the log tests: scratch directories,
 * deterministic records, reading a whole log back.
 */
#ifndef GS_SUPPORT_LOGTEST_H
#define GS_SUPPORT_LOGTEST_H

#include "gs_common.h"
#include "log.h"

/* A record the test appended, with its bytes owned here. */
typedef struct lt_rec {
    gs_log_rec_in in;
    char *event_buf;
    unsigned char *raw_buf;
} lt_rec;

/* mkdtemp under $TMPDIR or /tmp; returns a malloc'd path. */
char *lt_tmpdir(const char *tag);
/* rm -rf path (best effort). */
void lt_rmrf(const char *path);
/* Copy every regular file of src into a new dir dst (created). */
void lt_copydir(const char *src, const char *dst);
/* Path join into a static-per-call malloc'd string. */
char *lt_path(const char *dir, const char *name);

/* Record i of a deterministic workload (sizes vary with i; seed changes
 * the bytes). raw_len overrides the size when non-zero. */
void lt_make(lt_rec *r, unsigned i, unsigned seed, size_t raw_len);
void lt_free(lt_rec *r);
void lt_free_all(lt_rec *r, size_t n);

/* 1 if rec equals want (all fields, bytes). */
int lt_same(const gs_log_rec *rec, const gs_log_rec_in *want);

/* Names of the segment files of dir, sorted; returns count, *names malloc'd. */
size_t lt_segments(const char *dir, char ***names);
void lt_free_names(char **names, size_t n);

/* Read a whole file into a malloc'd buffer. */
unsigned char *lt_read_file(const char *path, size_t *len);
void lt_write_file(const char *path, const void *buf, size_t len);

/* The blocks of one segment file as found by a scan from its header:
 * offsets, first LSNs, counts, total lengths (header + payload). Also the
 * offset where blocks end (*end). Returns the block count. */
typedef struct lt_block {
    uint64_t off, first_lsn, len;
    uint32_t count;
} lt_block;
size_t lt_scan_blocks(const char *dir, const char *segname, lt_block **out, uint64_t *end);
#endif
