/*
 * pipe.c - the committer thread (pipe.h). A mutex and one condition
 * variable: jobs are rare (one per few hundred records) and long (a
 * millisecond or more), so nothing finer pays.
 */
#include "gs_common.h"

#include <pthread.h>
#include <stdlib.h>

#include "pipe.h"

struct gs_vpipe {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    gs_vpipe_fn fn; /* the job waiting or running; NULL: idle */
    void *arg;
    int busy; /* a job was submitted and has not returned */
    int stop;
};

static void *run(void *ud)
{
    gs_vpipe *p = ud;
    pthread_setname_np(pthread_self(), "gs-commit");
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->fn && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->fn)
            break; /* stop, nothing left */
        gs_vpipe_fn fn = p->fn;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(arg);
        pthread_mutex_lock(&p->mu);
        p->fn = NULL;
        p->busy = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

gs_vpipe *gs_vpipe_start(void)
{
    gs_vpipe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void gs_vpipe_stop(gs_vpipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void gs_vpipe_submit(gs_vpipe *p, gs_vpipe_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    while (p->busy) /* misuse guard: one job at a time */
        pthread_cond_wait(&p->cv, &p->mu);
    p->fn = fn;
    p->arg = arg;
    p->busy = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void gs_vpipe_wait(gs_vpipe *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->busy)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
