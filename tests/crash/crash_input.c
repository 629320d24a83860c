/* crash_input.c - input lines and PRNG shared by the crash harnesses. */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_input.h"

uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int load_input(const char *path, struct input *in)
{
    memset(in, 0, sizeof(*in));
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    in->buf = malloc((size_t)sz + 1);
    if (!in->buf || fread(in->buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        return -1;
    }
    fclose(f);
    in->len = (size_t)sz;
    size_t cap = 1024;
    in->line = malloc(cap * sizeof(*in->line));
    in->line_len = malloc(cap * sizeof(*in->line_len));
    size_t start = 0;
    for (size_t i = 0; i <= in->len; i++) {
        if (i == in->len || in->buf[i] == '\n') {
            if (i > start) {
                if (in->n == cap) {
                    cap *= 2;
                    in->line = realloc(in->line, cap * sizeof(*in->line));
                    in->line_len = realloc(in->line_len, cap * sizeof(*in->line_len));
                }
                in->line[in->n] = in->buf + start;
                in->line_len[in->n] = i - start;
                in->n++;
            }
            start = i + 1;
        }
    }
    return in->n ? 0 : -1;
}

void input_free(struct input *in)
{
    free(in->buf);
    free(in->line);
    free(in->line_len);
    in->buf = NULL;
    in->line = NULL;
    in->line_len = NULL;
    in->n = 0;
}
