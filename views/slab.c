/*
 * slab.c - size-class allocator (see slab.h): per class a free list of
 * slots threaded through the slots themselves, and the unused tail of the
 * class's current chunk.
 */
#include "gs_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "slab.h"

#define NCLASSES (GS_SLAB_MAX / 16u)

struct gs_slab {
    void *free[NCLASSES];    /* first free slot of each class */
    uint8_t *bump[NCLASSES]; /* next never-used slot of the current chunk */
    uint8_t *bump_end[NCLASSES];
    void **chunks; /* every mapped chunk, for gs_slab_release_all */
    size_t nchunks, cchunks;
    size_t cap;
};

gs_slab *gs_slab_create(size_t cap_bytes)
{
    gs_slab *s = calloc(1, sizeof(*s));
    if (s)
        s->cap = cap_bytes;
    return s;
}

void gs_slab_destroy(gs_slab *s)
{
    if (!s)
        return;
    gs_slab_release_all(s);
    free(s->chunks);
    free(s);
}

size_t gs_slab_slot_size(size_t n)
{
    return n && n <= GS_SLAB_MAX ? (n + 15u) & ~(size_t)15u : 0;
}

static int new_chunk(gs_slab *s, unsigned cls)
{
    if ((s->nchunks + 1) * (size_t)GS_SLAB_CHUNK > s->cap)
        return -1;
    if (s->nchunks == s->cchunks) {
        size_t c = s->cchunks ? 2 * s->cchunks : 64;
        void **n = realloc(s->chunks, c * sizeof(*n));
        if (!n)
            return -1;
        s->chunks = n;
        s->cchunks = c;
    }
    void *p = mmap(NULL, GS_SLAB_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    s->chunks[s->nchunks++] = p;
    s->bump[cls] = p;
    s->bump_end[cls] = (uint8_t *)p + GS_SLAB_CHUNK;
    return 0;
}

void *gs_slab_alloc(gs_slab *s, size_t n)
{
    size_t size = gs_slab_slot_size(n);
    if (!s || !size)
        return NULL;
    unsigned cls = (unsigned)(size / 16u) - 1u;
    void *p = s->free[cls];
    if (p) {
        s->free[cls] = *(void **)p;
        return p;
    }
    /* The tail of a chunk too short for one more slot stays unused (64 KiB
     * is a multiple of the power-of-two sizes only). */
    if ((size_t)(s->bump_end[cls] - s->bump[cls]) < size && new_chunk(s, cls) != 0)
        return NULL;
    p = s->bump[cls];
    s->bump[cls] += size;
    return p;
}

void gs_slab_free(gs_slab *s, void *p, size_t n)
{
    size_t size = gs_slab_slot_size(n);
    if (!s || !p || !size)
        return;
    unsigned cls = (unsigned)(size / 16u) - 1u;
    *(void **)p = s->free[cls];
    s->free[cls] = p;
}

void gs_slab_release_all(gs_slab *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nchunks; i++)
        munmap(s->chunks[i], GS_SLAB_CHUNK);
    s->nchunks = 0;
    for (unsigned c = 0; c < NCLASSES; c++) {
        s->free[c] = NULL;
        s->bump[c] = s->bump_end[c] = NULL;
    }
}

size_t gs_slab_mapped(const gs_slab *s)
{
    return s ? s->nchunks * (size_t)GS_SLAB_CHUNK : 0;
}
