/* cand_yajl.c - yajl 2 candidates: tree API and the callback parser. */
#include "bench.h"

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include <string.h>

static void walk_yajl(yajl_val v, tally *t)
{
    t->nodes++;
    if (YAJL_IS_STRING(v)) {
        t->str_bytes += strlen(v->u.string);
    } else if (YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len; i++)
            walk_yajl(v->u.array.values[i], t);
    } else if (YAJL_IS_OBJECT(v)) {
        for (size_t i = 0; i < v->u.object.len; i++) {
            t->str_bytes += strlen(v->u.object.keys[i]);
            walk_yajl(v->u.object.values[i], t);
        }
    }
}

static yajl_val yajl_member(yajl_val obj, const char *key)
{
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}

void bench_yajl_tree(const corpus *c, tally *t)
{
    char errbuf[256];
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        /* yajl_tree_parse wants a NUL-terminated string: borrow the byte
         * after the line (its newline) and put it back. */
        char saved = l->p[l->len];
        l->p[l->len] = '\0';
        yajl_val root = yajl_tree_parse(l->p, errbuf, sizeof(errbuf));
        l->p[l->len] = saved;
        if (!root || !YAJL_IS_OBJECT(root)) {
            t->bad++;
            yajl_tree_free(root);
            continue;
        }
        t->ok++;
        yajl_val v = yajl_member(root, "op");
        if (YAJL_IS_INTEGER(v))
            t->opsum += (uint64_t)YAJL_GET_INTEGER(v);
        v = yajl_member(root, "s");
        if (YAJL_IS_INTEGER(v))
            t->opsum += (uint64_t)YAJL_GET_INTEGER(v);
        v = yajl_member(root, "t");
        if (YAJL_IS_STRING(v))
            t->opsum += strlen(v->u.string);
        v = yajl_member(root, "d");
        if (v)
            walk_yajl(v, t);
        yajl_tree_free(root);
    }
}

void bench_yajl_events(const corpus *c, tally *t)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        yajl_handle h = yajl_alloc(NULL, NULL, NULL);
        yajl_status st = yajl_parse(h, (const unsigned char *)l->p, l->len);
        if (st == yajl_status_ok)
            st = yajl_complete_parse(h);
        yajl_free(h);
        if (st == yajl_status_ok)
            t->ok++;
        else
            t->bad++;
    }
}
