/*
 * slab.c - size-class allocator (see slab.h).
 *
 * Each chunk is 64 KiB, aligned to its size, and serves one class: a
 * header, then slots. A slot's chunk is its address rounded down, so a
 * free needs no lookup. Per class, the chunks with a slot to give are on a
 * list; a chunk whose last slot comes back is unmapped, so memory follows
 * the entries when their sizes shift (the cache evicts by CLOCK, so the
 * chunks of a size no longer written empty out). One empty chunk is kept
 * as a spare for the next class that needs one: a class with a single
 * entry, rewritten again and again, would otherwise map and unmap a chunk
 * each time.
 */
#include "gs_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "slab.h"

/* 16-byte steps up to 1 KiB, then eight steps per doubling up to 16 KiB. */
#define SMALL_CLASSES 64u
#define NCLASSES      (SMALL_CLASSES + 4u * 8u)
#define HEADER        64u

struct chunk {
    struct chunk *prev, *next;         /* the class's chunks with a slot to give */
    struct chunk *all_prev, *all_next; /* every chunk */
    void *free;                        /* freed slots of this chunk */
    uint8_t *bump;                     /* first slot never handed out */
    uint32_t live;
    uint16_t cls;
    uint8_t listed; /* on its class's list */
};

struct gs_slab {
    struct chunk *avail[NCLASSES];
    struct chunk *all;
    struct chunk *spare; /* empty, on no class list, counted in nchunks */
    size_t nchunks;
    size_t cap;
};

_Static_assert(sizeof(struct chunk) <= HEADER, "chunk header too large");

static unsigned class_of(size_t n)
{
    if (n <= 1024)
        return (unsigned)((n + 15) / 16) - 1u;
    unsigned doubling = 0;
    size_t base = 1024;
    while (n > 2 * base) {
        base *= 2;
        doubling++;
    }
    size_t step = base / 8;
    return SMALL_CLASSES + doubling * 8u + (unsigned)((n - base + step - 1) / step) - 1u;
}

static size_t size_of(unsigned cls)
{
    if (cls < SMALL_CLASSES)
        return ((size_t)cls + 1) * 16;
    unsigned k = cls - SMALL_CLASSES;
    size_t base = (size_t)1024 << (k / 8);
    return base + (base / 8) * (k % 8 + 1);
}

size_t gs_slab_slot_size(size_t n)
{
    return n && n <= GS_SLAB_MAX ? size_of(class_of(n)) : 0;
}

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
    free(s);
}

static void list_add(gs_slab *s, struct chunk *c)
{
    c->prev = NULL;
    c->next = s->avail[c->cls];
    if (c->next)
        c->next->prev = c;
    s->avail[c->cls] = c;
    c->listed = 1;
}

static void list_del(gs_slab *s, struct chunk *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->avail[c->cls] = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->listed = 0;
}

/* A chunk aligned to GS_SLAB_CHUNK: map twice the size, unmap the rest. */
static struct chunk *map_chunk(void)
{
    size_t len = 2 * (size_t)GS_SLAB_CHUNK;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + GS_SLAB_CHUNK - 1) & ~(uintptr_t)(GS_SLAB_CHUNK - 1);
    size_t head = a - (uintptr_t)p;
    if (head)
        munmap(p, head);
    if (len - head > GS_SLAB_CHUNK)
        munmap((uint8_t *)a + GS_SLAB_CHUNK, len - head - GS_SLAB_CHUNK);
    return (struct chunk *)a;
}

static void unmap_chunk(gs_slab *s, struct chunk *c)
{
    if (c->listed)
        list_del(s, c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        s->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    s->nchunks--;
    munmap(c, GS_SLAB_CHUNK);
}

static int has_room(const struct chunk *c, size_t size)
{
    return c->free || (size_t)((const uint8_t *)c + GS_SLAB_CHUNK - c->bump) >= size;
}

void *gs_slab_alloc(gs_slab *s, size_t n, int may_map)
{
    if (!s || !n || n > GS_SLAB_MAX)
        return NULL;
    unsigned cls = class_of(n);
    size_t size = size_of(cls);
    struct chunk *c = s->avail[cls];
    if (!c && s->spare) { /* already mapped: no may_map needed */
        c = s->spare;
        s->spare = NULL;
    } else if (!c) {
        if (!may_map || (s->nchunks + 1) * (size_t)GS_SLAB_CHUNK > s->cap)
            return NULL;
        c = map_chunk();
        if (!c)
            return NULL;
        c->all_prev = NULL;
        c->all_next = s->all;
        if (s->all)
            s->all->all_prev = c;
        s->all = c;
        s->nchunks++;
    }
    if (c->live == 0 && !c->listed) { /* new, or the spare */
        c->free = NULL;
        c->bump = (uint8_t *)c + HEADER;
        c->cls = (uint16_t)cls;
        list_add(s, c);
    }
    void *p;
    if (c->free) {
        p = c->free;
        c->free = *(void **)p;
    } else {
        p = c->bump;
        c->bump += size;
    }
    c->live++;
    if (!has_room(c, size))
        list_del(s, c);
    return p;
}

void gs_slab_free(gs_slab *s, void *p)
{
    if (!s || !p)
        return;
    struct chunk *c = (struct chunk *)((uintptr_t)p & ~(uintptr_t)(GS_SLAB_CHUNK - 1));
    *(void **)p = c->free;
    c->free = p;
    if (--c->live == 0) {
        if (s->spare) {
            unmap_chunk(s, c);
        } else {
            if (c->listed)
                list_del(s, c);
            s->spare = c;
        }
        return;
    }
    if (!c->listed)
        list_add(s, c);
}

int gs_slab_ready(const gs_slab *s, size_t n)
{
    return s && n && n <= GS_SLAB_MAX && (s->avail[class_of(n)] != NULL || s->spare);
}

void gs_slab_release_all(gs_slab *s)
{
    if (!s)
        return;
    while (s->all)
        unmap_chunk(s, s->all);
    s->spare = NULL;
}

size_t gs_slab_mapped(const gs_slab *s)
{
    return s ? s->nchunks * (size_t)GS_SLAB_CHUNK : 0;
}
