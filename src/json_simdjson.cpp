/*
 * json_simdjson.cpp - src/json.h over simdjson's DOM API (Debian 3.0.1).
 *
 * The only C++ in gatestore. It stays thin: a gs_jval is a dom::element
 * copied bit for bit into its opaque words, a gs_jiter the current and end
 * iterators of a dom::array or dom::object. simdjson's calls used here all
 * return error codes (the exception-throwing overloads are never called);
 * each entry point that allocates still catches everything, because no C++
 * exception may unwind into C callers.
 */
extern "C" {
#include "json.h"
}
#include "decimal.h"

#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace dom = simdjson::dom;

static_assert(GS_JSON_PADDING >= simdjson::SIMDJSON_PADDING,
              "GS_JSON_PADDING must cover simdjson's padding");
static_assert(sizeof(dom::element) <= sizeof(gs_jval), "dom::element does not fit gs_jval");
static_assert(std::is_trivially_copyable<dom::element>::value, "dom::element must be memcpy-able");
static_assert(sizeof(dom::array::iterator) * 2 <= sizeof(gs_jiter),
              "two array iterators do not fit gs_jiter");
static_assert(sizeof(dom::object::iterator) * 2 <= sizeof(gs_jiter),
              "two object iterators do not fit gs_jiter");
static_assert(std::is_trivially_copyable<dom::array::iterator>::value,
              "dom::array::iterator must be memcpy-able");
static_assert(std::is_trivially_copyable<dom::object::iterator>::value,
              "dom::object::iterator must be memcpy-able");

/* simdjson refuses documents under this size when its max capacity is
 * smaller (dom::parser::ensure_capacity rounds small inputs up to 32). */
static const size_t GS_SIMDJSON_MIN_CAPACITY = 32;
/* First allocation; the parser grows geometrically up to max_len after. */
static const size_t GS_JSON_INITIAL_CAPACITY = 64 * 1024;
/* Its buffers take about 14 bytes per byte of capacity (structural
 * indexes, tape, strings) and keep the size of the largest document seen:
 * 11 MB after one GUILD_CREATE of the large benchmark shape, held through
 * the updates that follow. After this many documents in a row no larger
 * than an eighth of the capacity they go back to the initial size. */
static const unsigned GS_JSON_SHRINK_AFTER = 1024;

struct gs_json {
    /* The parser owns the tape and string buffer every gs_jval points into,
     * so gs_json is allocated once and never moved. */
    dom::parser parser;
    size_t max_len;
    size_t max_depth;
    size_t capacity;    /* what we last asked parser.allocate for */
    unsigned small_run; /* documents in a row under capacity / 8 */
    /* Padded copy of inputs that arrive without GS_JSON_PADDING spare bytes. */
    char *copy;
    size_t copy_cap;

    explicit gs_json(size_t max_capacity) noexcept : parser(max_capacity)
    {
    }
};

/* ------------------------------------------------------------ conversions */

static gs_jval to_jval(const dom::element &e)
{
    gs_jval v;
    std::memset(&v, 0, sizeof(v));
    std::memcpy(&v, &e, sizeof(e));
    return v;
}

static dom::element to_elem(const gs_jval &v)
{
    dom::element e;
    std::memcpy(static_cast<void *>(&e), &v, sizeof(e));
    return e;
}

template <class It> static void iter_store(gs_jiter *it, const It &cur, const It &end)
{
    std::memset(it, 0, sizeof(*it));
    std::memcpy(reinterpret_cast<char *>(it), &cur, sizeof(It));
    std::memcpy(reinterpret_cast<char *>(it) + sizeof(It), &end, sizeof(It));
}

template <class It> static void iter_load(const gs_jiter *it, It *cur, It *end)
{
    std::memcpy(static_cast<void *>(cur), reinterpret_cast<const char *>(it), sizeof(It));
    std::memcpy(static_cast<void *>(end), reinterpret_cast<const char *>(it) + sizeof(It),
                sizeof(It));
}

/* -------------------------------------------------------------- lifecycle */

extern "C" int gs_json_create(size_t max_len, size_t max_depth, gs_json **out, gs_err *err)
{
    if (!out || max_len == 0 || max_depth == 0)
        return gs_err_set(err, GS_EMISUSE, "json parser needs max_len and max_depth above 0");
    /* simdjson cannot index documents of 4 GiB or more: a larger limit is
     * clamped, and such documents fail with GS_ETOOBIG. */
    if (max_len > simdjson::SIMDJSON_MAXSIZE_BYTES)
        max_len = simdjson::SIMDJSON_MAXSIZE_BYTES;
    try {
        size_t max_capacity =
            max_len < GS_SIMDJSON_MIN_CAPACITY ? GS_SIMDJSON_MIN_CAPACITY : max_len;
        gs_json *p = new (std::nothrow) gs_json(max_capacity);
        if (!p)
            return gs_err_set(err, GS_ENOMEM, "cannot allocate json parser");
        p->max_len = max_len;
        p->max_depth = max_depth;
        p->copy = nullptr;
        p->copy_cap = 0;
        p->small_run = 0;
        p->capacity =
            max_capacity < GS_JSON_INITIAL_CAPACITY ? max_capacity : GS_JSON_INITIAL_CAPACITY;
        simdjson::error_code e = p->parser.allocate(p->capacity, max_depth);
        if (e != simdjson::SUCCESS) {
            delete p;
            return gs_err_set(err, e == simdjson::MEMALLOC ? GS_ENOMEM : GS_EMISUSE,
                              "cannot set up json parser (depth %zu): %s", max_depth,
                              simdjson::error_message(e));
        }
        *out = p;
        return GS_OK;
    } catch (...) {
        return gs_err_set(err, GS_ENOMEM, "cannot allocate json parser");
    }
}

extern "C" void gs_json_destroy(gs_json *p)
{
    if (!p)
        return;
    std::free(p->copy);
    delete p;
}

/* ----------------------------------------------------------------- parsing */

/* Grow the parser's buffers geometrically (simdjson alone would grow them to
 * exactly each new largest input, reallocating on every new maximum). The
 * document's tape still grows to each new maximum inside parse: simdjson has
 * no public call to size it. */
static int reserve_capacity(gs_json *p, size_t len, gs_err *err)
{
    if (len <= p->capacity)
        return GS_OK;
    size_t want = p->capacity < GS_SIMDJSON_MIN_CAPACITY ? GS_SIMDJSON_MIN_CAPACITY : p->capacity;
    while (want < len)
        want = want > p->max_len / 2 ? p->max_len : want * 2;
    simdjson::error_code e = p->parser.allocate(want, p->max_depth);
    if (e != simdjson::SUCCESS) {
        p->capacity = 0; /* unknown state: let the next call allocate again */
        return gs_err_set(err, GS_ENOMEM, "cannot grow json parser to %zu bytes: %s", want,
                          simdjson::error_message(e));
    }
    p->capacity = want;
    return GS_OK;
}

/* Give the buffers of a past large document back (see
 * GS_JSON_SHRINK_AFTER). A fresh parser replaces the old one: simdjson
 * keeps the document's tape at its largest size otherwise. On failure the
 * old parser stays. */
static void maybe_shrink(gs_json *p, size_t len)
{
    if (p->capacity <= GS_JSON_INITIAL_CAPACITY || len > p->capacity / 8) {
        p->small_run = 0;
        return;
    }
    if (++p->small_run < GS_JSON_SHRINK_AFTER)
        return;
    p->small_run = 0;
    dom::parser fresh(p->parser.max_capacity());
    if (fresh.allocate(GS_JSON_INITIAL_CAPACITY, p->max_depth) != simdjson::SUCCESS)
        return;
    p->parser = std::move(fresh);
    p->capacity = GS_JSON_INITIAL_CAPACITY;
    if (p->copy_cap > 2 * GS_JSON_INITIAL_CAPACITY) {
        std::free(p->copy);
        p->copy = nullptr;
        p->copy_cap = 0;
    }
}

static const char *padded_copy(gs_json *p, const char *buf, size_t len, gs_err *err)
{
    size_t need = len + GS_JSON_PADDING;
    if (need > p->copy_cap) {
        size_t cap = p->copy_cap ? p->copy_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *c = static_cast<char *>(std::realloc(p->copy, cap));
        if (!c) {
            gs_err_set(err, GS_ENOMEM, "cannot allocate %zu bytes to pad json input", cap);
            return nullptr;
        }
        p->copy = c;
        p->copy_cap = cap;
    }
    if (len)
        std::memcpy(p->copy, buf, len);
    std::memset(p->copy + len, 0, GS_JSON_PADDING);
    return p->copy;
}

static int map_error(const gs_json *p, simdjson::error_code e, size_t len, gs_err *err)
{
    switch (e) {
    case simdjson::DEPTH_ERROR:
        return gs_err_set(err, GS_ETOODEEP, "json nesting deeper than %zu levels", p->max_depth);
    case simdjson::CAPACITY:
        return gs_err_set(err, GS_ETOOBIG, "json document of %zu bytes exceeds the limit of %zu",
                          len, p->max_len);
    case simdjson::UTF8_ERROR:
        return gs_err_set(err, GS_EUTF8, "json document is not valid UTF-8");
    case simdjson::MEMALLOC:
        return gs_err_set(err, GS_ENOMEM, "out of memory parsing json document of %zu bytes", len);
    case simdjson::EMPTY:
        return gs_err_set(err, GS_EJSON, "malformed json: empty document");
    case simdjson::NUMBER_ERROR:
        /* simdjson uses this for malformed numbers and for numbers outside
         * the range of int64/uint64/double alike. */
        return gs_err_set(err, GS_EJSON, "malformed json: number out of range or malformed (%s)",
                          simdjson::error_message(e));
    default:
        return gs_err_set(err, GS_EJSON, "malformed json: %s", simdjson::error_message(e));
    }
}

extern "C" int gs_json_parse(gs_json *p, const char *buf, size_t len, size_t cap, gs_jval *root,
                             gs_err *err)
{
    if (!p || (!buf && len) || !root)
        return gs_err_set(err, GS_EMISUSE, "json parse: null argument");
    if (len > p->max_len)
        return gs_err_set(err, GS_ETOOBIG, "json document of %zu bytes exceeds the limit of %zu",
                          len, p->max_len);
    try {
        maybe_shrink(p, len);
        int rc = reserve_capacity(p, len, err);
        if (rc != GS_OK)
            return rc;
        const char *in = buf;
        if (!buf || cap < len || cap - len < GS_JSON_PADDING) {
            in = padded_copy(p, buf, len, err);
            if (!in)
                return GS_ENOMEM;
        }
        /* realloc_if_needed=false: parse the bytes where they are; the
         * padding after them is guaranteed above. */
        dom::element e;
        simdjson::error_code ec = p->parser.parse(in, len, false).get(e);
        if (ec != simdjson::SUCCESS)
            return map_error(p, ec, len, err);
        *root = to_jval(e);
        return GS_OK;
    } catch (...) {
        return gs_err_set(err, GS_ENOMEM, "json parse failed with an exception");
    }
}

extern "C" size_t gs_json_capacity(const gs_json *p)
{
    return p ? p->capacity : 0;
}

/* ------------------------------------------------------------------ access */

extern "C" gs_jtype gs_json_type(gs_jval v)
{
    switch (to_elem(v).type()) {
    case dom::element_type::ARRAY:
        return GS_JARRAY;
    case dom::element_type::OBJECT:
        return GS_JOBJECT;
    case dom::element_type::INT64:
        return GS_JINT;
    case dom::element_type::UINT64:
        return GS_JUINT;
    case dom::element_type::DOUBLE:
        return GS_JDOUBLE;
    case dom::element_type::STRING:
        return GS_JSTRING;
    case dom::element_type::BOOL:
        return GS_JBOOL;
    case dom::element_type::NULL_VALUE:
        return GS_JNULL;
    }
    return GS_JNULL;
}

extern "C" int gs_json_get(gs_jval obj, const char *key, size_t key_len, gs_jval *out)
{
    dom::object o;
    if (to_elem(obj).get_object().get(o) != simdjson::SUCCESS)
        return 0;
    /* First member with that key, as at_key does; duplicates are not merged. */
    std::string_view k(key ? key : "", key ? key_len : 0);
    dom::element e;
    if (o.at_key(k).get(e) != simdjson::SUCCESS)
        return 0;
    *out = to_jval(e);
    return 1;
}

extern "C" int gs_json_int64(gs_jval v, int64_t *out)
{
    dom::element e = to_elem(v);
    if (e.is_int64()) {
        int64_t x;
        if (e.get_int64().get(x) != simdjson::SUCCESS)
            return -1;
        *out = x;
        return 0;
    }
    if (e.is_uint64()) {
        uint64_t u;
        if (e.get_uint64().get(u) != simdjson::SUCCESS || u > static_cast<uint64_t>(INT64_MAX))
            return -1;
        *out = static_cast<int64_t>(u);
        return 0;
    }
    return -1;
}

extern "C" int gs_json_uint64(gs_jval v, uint64_t *out)
{
    dom::element e = to_elem(v);
    dom::element_type t = e.type();
    if (t == dom::element_type::INT64) {
        int64_t x;
        if (e.get_int64().get(x) != simdjson::SUCCESS || x < 0)
            return -1;
        *out = static_cast<uint64_t>(x);
        return 0;
    }
    if (t == dom::element_type::UINT64) {
        uint64_t u;
        if (e.get_uint64().get(u) != simdjson::SUCCESS)
            return -1;
        *out = u;
        return 0;
    }
    return -1;
}

extern "C" int gs_json_double(gs_jval v, double *out)
{
    dom::element e = to_elem(v);
    double d;
    /* get_double converts int64 and uint64 too. */
    if (!e.is_number() || e.get_double().get(d) != simdjson::SUCCESS)
        return -1;
    *out = d;
    return 0;
}

extern "C" int gs_json_bool(gs_jval v, int *out)
{
    bool b;
    if (to_elem(v).get_bool().get(b) != simdjson::SUCCESS)
        return -1;
    *out = b ? 1 : 0;
    return 0;
}

extern "C" int gs_json_string(gs_jval v, const char **s, size_t *len)
{
    std::string_view sv;
    if (to_elem(v).get_string().get(sv) != simdjson::SUCCESS)
        return -1;
    *s = sv.data();
    *len = sv.size();
    return 0;
}

extern "C" int gs_json_snowflake(gs_jval v, uint64_t *out)
{
    dom::element e = to_elem(v);
    if (e.type() != dom::element_type::STRING)
        return gs_json_uint64(v, out);
    std::string_view sv;
    if (e.get_string().get(sv) != simdjson::SUCCESS)
        return -1;
    return gs_dec_u64(sv.data(), sv.size(), out) ? 0 : -1;
}

/* array::size and object::size saturate at 0xFFFFFF (the tape keeps 24 bits);
 * count by walking beyond that. */
static const size_t GS_SIMDJSON_SIZE_SATURATED = 0xFFFFFF;

extern "C" size_t gs_json_len(gs_jval v)
{
    dom::element e = to_elem(v);
    dom::array a;
    if (e.get_array().get(a) == simdjson::SUCCESS) {
        size_t n = a.size();
        if (n < GS_SIMDJSON_SIZE_SATURATED)
            return n;
        n = 0;
        for (dom::array::iterator it = a.begin(), end = a.end(); it != end; ++it)
            n++;
        return n;
    }
    dom::object o;
    if (e.get_object().get(o) == simdjson::SUCCESS) {
        size_t n = o.size();
        if (n < GS_SIMDJSON_SIZE_SATURATED)
            return n;
        n = 0;
        for (dom::object::iterator it = o.begin(), end = o.end(); it != end; ++it)
            n++;
        return n;
    }
    return 0;
}

/* --------------------------------------------------------------- iteration */

extern "C" int gs_json_arr_begin(gs_jval arr, gs_jiter *it)
{
    dom::array a;
    if (to_elem(arr).get_array().get(a) != simdjson::SUCCESS) {
        /* An empty iterator: next returns 0 at once. */
        iter_store(it, dom::array::iterator(), dom::array::iterator());
        return -1;
    }
    iter_store(it, a.begin(), a.end());
    return 0;
}

extern "C" int gs_json_arr_next(gs_jiter *it, gs_jval *elem)
{
    dom::array::iterator cur, end;
    iter_load(it, &cur, &end);
    if (!(cur != end))
        return 0;
    *elem = to_jval(*cur);
    ++cur;
    iter_store(it, cur, end);
    return 1;
}

extern "C" int gs_json_obj_begin(gs_jval obj, gs_jiter *it)
{
    dom::object o;
    if (to_elem(obj).get_object().get(o) != simdjson::SUCCESS) {
        iter_store(it, dom::object::iterator(), dom::object::iterator());
        return -1;
    }
    iter_store(it, o.begin(), o.end());
    return 0;
}

extern "C" int gs_json_obj_next(gs_jiter *it, const char **key, size_t *key_len, gs_jval *val)
{
    dom::object::iterator cur, end;
    iter_load(it, &cur, &end);
    if (!(cur != end))
        return 0;
    std::string_view k = cur.key();
    *key = k.data();
    *key_len = k.size();
    *val = to_jval(cur.value());
    ++cur;
    iter_store(it, cur, end);
    return 1;
}
