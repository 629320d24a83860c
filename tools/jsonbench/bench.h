/*
 * bench.h - shared by the JSON parser benchmark's files (one per library:
 * json-c and jansson both define json_object_get and cannot share a file).
 */
#ifndef GS_JSONBENCH_H
#define GS_JSONBENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct line_ref {
    char *p;
    size_t len;
} line_ref;

typedef struct corpus {
    char *buf; /* file bytes + GS_JSON_PADDING */
    size_t len;
    line_ref *lines;
    size_t nlines;
} corpus;

/* What one pass saw: lines accepted, and totals to cross-check parsers. */
typedef struct tally {
    size_t ok, bad;
    uint64_t nodes, str_bytes, opsum;
} tally;

/* One pass over every line; each adds to *t. */
void bench_yajl_tree(const corpus *c, tally *t);
void bench_yajl_events(const corpus *c, tally *t);
/* In its own module (see CMakeLists.txt), found with dlsym. */
__attribute__((visibility("default"))) void bench_jsonc(const corpus *c, tally *t);
void bench_jansson(const corpus *c, tally *t);
void bench_cjson(const corpus *c, tally *t);

#endif
