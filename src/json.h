/*
 * json.h - the JSON parser behind a C interface.
 *
 * One parser for the whole project, chosen by measurement (see README,
 * "JSON parser"). The implementation is a thin C++ adapter over Debian's
 * simdjson (DOM API) in src/json_simdjson.cpp; nothing else in gatestore
 * sees C++.
 *
 * A gs_json parser holds one parsed document at a time. gs_jval and
 * gs_jiter are small value types that point into that document: they are
 * valid until the next gs_json_parse on the same parser or its destruction.
 * Strings returned are not NUL-terminated and live as long as the document.
 *
 * Thread-safety: one parser per thread. Values must not cross threads.
 */
#ifndef GS_JSON_H
#define GS_JSON_H

#include "gs_common.h"

/* Bytes that must be readable (any value) after the end of the input given
 * to gs_json_parse without a copy. */
#define GS_JSON_PADDING 64

typedef struct gs_json gs_json;

typedef struct gs_jval {
    uint64_t opaque_[2];
} gs_jval;

typedef struct gs_jiter {
    uint64_t opaque_[4];
} gs_jiter;

typedef enum gs_jtype {
    GS_JNULL = 0,
    GS_JBOOL,
    GS_JINT,    /* fits int64_t */
    GS_JUINT,   /* > INT64_MAX, fits uint64_t */
    GS_JDOUBLE, /* has a fraction or exponent (integers beyond 64 bits are GS_EJSON) */
    GS_JSTRING,
    GS_JARRAY,
    GS_JOBJECT
} gs_jtype;

/* max_depth: deepest value accepted (GS_ETOODEEP beyond), counted as
 * simdjson does: the root value is at depth 1 and a member or element of a
 * value at depth n is at depth n+1. So `[[]]` and `{"a":1}` are depth 2,
 * `[[1]]` depth 3; a document of nested containers max_depth deep is accepted
 * only if the innermost is empty. max_len: the largest document accepted
 * (GS_ETOOBIG beyond; simdjson caps it below 4 GiB). 0 for either is
 * GS_EMISUSE. Free with gs_json_destroy. */
int gs_json_create(size_t max_len, size_t max_depth, gs_json **out, gs_err *err);
void gs_json_destroy(gs_json *p);

/* Parse and fully validate buf[0..len) (syntax, UTF-8, depth). If cap - len
 * >= GS_JSON_PADDING the buffer is used in place, else it is copied. Errors:
 * GS_EJSON, GS_EUTF8, GS_ETOODEEP, GS_ETOOBIG, GS_ENOMEM; the message says
 * what simdjson found. */
int gs_json_parse(gs_json *p, const char *buf, size_t len, size_t cap, gs_jval *root, gs_err *err);
/* The largest document the parser's buffers hold now. They grow with the
 * documents parsed and go back to 64 KiB after 1024 documents in a row
 * under an eighth of it (tests and memory reports). */
size_t gs_json_capacity(const gs_json *p);

gs_jtype gs_json_type(gs_jval v);

/* Object member by key: 1 found (*out set), 0 absent or v is not an object. */
int gs_json_get(gs_jval obj, const char *key, size_t key_len, gs_jval *out);
/* Same with a NUL-terminated key. Inline, so that the length of a literal
 * key is known at compile time (the appliers look up fields by literal
 * names; strlen on each was 0.7 % of the applying thread's samples). */
static inline int gs_json_getz(gs_jval obj, const char *key, gs_jval *out)
{
    return gs_json_get(obj, key, key ? strlen(key) : 0, out);
}

/* Typed reads: 0 ok, -1 wrong type (or out of range for the target). */
int gs_json_int64(gs_jval v, int64_t *out);   /* GS_JINT, or GS_JUINT <= INT64_MAX */
int gs_json_uint64(gs_jval v, uint64_t *out); /* GS_JINT >= 0 or GS_JUINT */
int gs_json_double(gs_jval v, double *out);   /* any number */
int gs_json_bool(gs_jval v, int *out);
int gs_json_string(gs_jval v, const char **s, size_t *len);
/* A Discord snowflake: a string of 1..20 decimal digits that fits uint64, or
 * a non-negative integer. 0 ok, -1 otherwise. */
int gs_json_snowflake(gs_jval v, uint64_t *out);

/* Number of elements (array) or members (object); 0 for other types. */
size_t gs_json_len(gs_jval v);

/* Iterate an array: begin returns 0 (or -1 if v is not an array); next
 * returns 1 with *elem set, 0 at the end. */
int gs_json_arr_begin(gs_jval arr, gs_jiter *it);
int gs_json_arr_next(gs_jiter *it, gs_jval *elem);
/* Iterate an object's members in document order. */
int gs_json_obj_begin(gs_jval obj, gs_jiter *it);
int gs_json_obj_next(gs_jiter *it, const char **key, size_t *key_len, gs_jval *val);

#endif
