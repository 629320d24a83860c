/*
 * stages.c - the pipeline stamp trace (see stages.h). One flat array per
 * stage, written by whichever thread reaches the stage; each slot has one
 * writer per stage and is read only after the run, so relaxed stores do.
 */
#include "gs_common.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "stages.h"

typedef struct trace {
    uint64_t n;
    _Atomic uint64_t *ts[GS_ST_COUNT];
} trace;

static _Atomic(trace *) g_trace;

static void trace_free(trace *t)
{
    if (!t)
        return;
    for (int i = 0; i < GS_ST_COUNT; i++)
        free(t->ts[i]);
    free(t);
}

int gs_stages_enable(uint64_t nlsn)
{
    trace *t = calloc(1, sizeof(*t));
    if (!t)
        return GS_ENOMEM;
    t->n = nlsn;
    for (int i = 0; i < GS_ST_COUNT; i++) {
        t->ts[i] = calloc(nlsn ? nlsn : 1, sizeof(uint64_t));
        if (!t->ts[i]) {
            trace_free(t);
            return GS_ENOMEM;
        }
    }
    trace_free(atomic_exchange(&g_trace, t));
    return GS_OK;
}

void gs_stages_copy(enum gs_stage s, uint64_t *out, uint64_t n)
{
    trace *t = atomic_load(&g_trace);
    for (uint64_t i = 0; i < n; i++)
        out[i] = t && s < GS_ST_COUNT && i < t->n
                     ? atomic_load_explicit(&t->ts[s][i], memory_order_relaxed)
                     : 0;
}

void gs_stages_disable(void)
{
    trace_free(atomic_exchange(&g_trace, NULL));
}

int gs_stages_on(void)
{
    return atomic_load_explicit(&g_trace, memory_order_relaxed) != NULL;
}

void gs_stages_mark(enum gs_stage s, uint64_t first, uint64_t n, uint64_t t)
{
    trace *tr = atomic_load_explicit(&g_trace, memory_order_acquire);
    if (!tr || first == 0)
        return;
    for (uint64_t l = first; l < first + n && l <= tr->n; l++) {
        /* First time wins: a subscription passes an LSN once, but a
         * second subscription of the same kind would overwrite it. */
        uint64_t zero = 0;
        atomic_compare_exchange_strong_explicit(&tr->ts[s][l - 1], &zero, t, memory_order_relaxed,
                                                memory_order_relaxed);
    }
}
