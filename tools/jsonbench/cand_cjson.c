/* cand_cjson.c - cJSON candidate. */
#include "bench.h"

#include <cjson/cJSON.h>

#include <string.h>

static void walk_cjson(const cJSON *v, tally *t)
{
    t->nodes++;
    if (cJSON_IsString(v)) {
        t->str_bytes += strlen(v->valuestring);
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        for (const cJSON *e = v->child; e; e = e->next) {
            if (cJSON_IsObject(v))
                t->str_bytes += strlen(e->string);
            walk_cjson(e, t);
        }
    }
}

void bench_cjson(const corpus *c, tally *t)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const line_ref *l = &c->lines[i];
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(l->p, l->len, &end, 0);
        /* cJSON stops after the first value: trailing bytes must be blanks. */
        int ok = root && cJSON_IsObject(root);
        if (ok) {
            while (end < l->p + l->len && (*end == ' ' || *end == '\t' || *end == '\r'))
                end++;
            ok = end == l->p + l->len;
        }
        if (!ok) {
            t->bad++;
            cJSON_Delete(root);
            continue;
        }
        t->ok++;
        /* Case-sensitive lookups, as JSON keys are. */
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "op");
        if (cJSON_IsNumber(v))
            t->opsum += (uint64_t)v->valuedouble;
        v = cJSON_GetObjectItemCaseSensitive(root, "s");
        if (cJSON_IsNumber(v))
            t->opsum += (uint64_t)v->valuedouble;
        v = cJSON_GetObjectItemCaseSensitive(root, "t");
        if (cJSON_IsString(v))
            t->opsum += strlen(v->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(root, "d");
        if (v)
            walk_cjson(v, t);
        cJSON_Delete(root);
    }
}
