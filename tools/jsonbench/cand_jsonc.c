/* cand_jsonc.c - json-c candidate (strict, UTF-8 validated). */
#include "bench.h"

#include <json-c/json.h>

#include <string.h>

static void walk_jsonc(struct json_object *v, tally *t)
{
    t->nodes++;
    switch (json_object_get_type(v)) {
    case json_type_string:
        t->str_bytes += (uint64_t)json_object_get_string_len(v);
        break;
    case json_type_array: {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            walk_jsonc(json_object_array_get_idx(v, i), t);
        break;
    }
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            t->str_bytes += strlen(key);
            walk_jsonc(val, t);
        }
        break;
    }
    default:
        break;
    }
}

void bench_jsonc(const corpus *c, tally *t)
{
    struct json_tokener *tok = json_tokener_new_ex(256);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        json_tokener_reset(tok);
        struct json_object *root = json_tokener_parse_ex(tok, l->p, (int)l->len);
        if (!root || json_tokener_get_parse_end(tok) != l->len ||
            !json_object_is_type(root, json_type_object)) {
            t->bad++;
            json_object_put(root);
            continue;
        }
        t->ok++;
        struct json_object *v;
        if (json_object_object_get_ex(root, "op", &v) && json_object_is_type(v, json_type_int))
            t->opsum += (uint64_t)json_object_get_int64(v);
        if (json_object_object_get_ex(root, "s", &v) && json_object_is_type(v, json_type_int))
            t->opsum += (uint64_t)json_object_get_int64(v);
        if (json_object_object_get_ex(root, "t", &v) && json_object_is_type(v, json_type_string))
            t->opsum += (uint64_t)json_object_get_string_len(v);
        if (json_object_object_get_ex(root, "d", &v))
            walk_jsonc(v, t);
        json_object_put(root);
    }
    json_tokener_free(tok);
}
