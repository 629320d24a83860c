/* cand_jansson.c - jansson candidate. */
#include "bench.h"

#include <jansson.h>

#include <string.h>

static void walk_jansson(json_t *v, tally *t)
{
    t->nodes++;
    if (json_is_string(v)) {
        t->str_bytes += json_string_length(v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) walk_jansson(e, t);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *e;
        json_object_foreach(v, key, e)
        {
            t->str_bytes += strlen(key);
            walk_jansson(e, t);
        }
    }
}

void bench_jansson(const corpus *c, tally *t)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        json_error_t jerr;
        json_t *root = json_loadb(l->p, l->len, 0, &jerr);
        if (!root || !json_is_object(root)) {
            t->bad++;
            json_decref(root);
            continue;
        }
        t->ok++;
        json_t *v = json_object_get(root, "op");
        if (json_is_integer(v))
            t->opsum += (uint64_t)json_integer_value(v);
        v = json_object_get(root, "s");
        if (json_is_integer(v))
            t->opsum += (uint64_t)json_integer_value(v);
        v = json_object_get(root, "t");
        if (json_is_string(v))
            t->opsum += json_string_length(v);
        v = json_object_get(root, "d");
        if (v)
            walk_jansson(v, t);
        json_decref(root);
    }
}
