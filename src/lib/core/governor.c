/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "internal.h"
#include "macro.h"

/* The governor object: its references, its end, and the wake-up of its
 * supervisor (supervisor.c). */

void governor_wake(cgov *g) {
        uint64_t one = 1;
        (void) !write(g->wake_fd, &one, sizeof one);
}

/* A pool's handle, once its governor goes (or it could not be made). */
void pool_free(cgov_pool *p) {
        if (!p)
                return;
        safe_close(p->place.fd);
        free(p->path);
        free(p->place.cgroup);
        free(p);
}

static void governor_free(cgov *g) {
        for (size_t i = g->n_pools; i > 0; i--)
                pool_free(g->pools[i - 1]);
        free(g->pools);
        if (g->b)
                g->backend->close(g->b);
        sd_event_source_unref(g->wake_source);
        sd_event_source_unref(g->queue_timer);
        sd_event_source_unref(g->exits_source);
        sd_event_source_unref(g->backend_source);
        sd_event_unref(g->event);
        safe_close(g->wake_fd);
        safe_close(g->exits_fd);
        safe_close(g->closed_fd);
        free(g->ids_file);
        free(g->close_queue);
        pthread_cond_destroy(&g->job_ended);
        pthread_mutex_destroy(&g->lock);
        free(g);
}

void governor_unref(cgov *g) {
        if (g && __atomic_sub_fetch(&g->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
                governor_free(g);
}

cgov *governor_new(unsigned flags, const ApiOps *ops) {
        cgov *g = calloc(1, sizeof *g);
        if (!g)
                return NULL;
        g->api.ops = ops;
        g->n_ref = 1;
        g->wake_fd = g->exits_fd = g->closed_fd = -EBADF;
        g->flags = flags;
        g->next_job_id = 1;
        pthread_mutex_init(&g->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&g->job_ended, &ca);
        pthread_condattr_destroy(&ca);
        return g;
}
