/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "internal.h"
#include "macro.h"

/* Re-adoption: cgov_open() on a root where an earlier governor left pools
 * and running jobs finds them again (the backend walks its tree and
 * records) and takes the jobs over with their reservations; the supervisor
 * watches them as soon as it runs. */

int job_adopt(cgov_pool *p, AdoptedJob *a) {
        cgov *g = p->g;
        cgov_job *j;

        /* The governor's watch: nobody holds a handle. */
        j = job_alloc(g, p, 1);
        if (!j) {
                safe_close(a->cgroup_fd);
                safe_close(a->pidfd);
                return -ENOMEM;
        }
        j->cgroup_fd = a->cgroup_fd;
        j->pidfd = a->pidfd;
        j->pid = a->pid;
        j->id = a->id;
        j->adopted = true;
        j->readopted = true;
        j->state = JOB_RUNNING;
        j->keeper = a->keeper;
        j->counted_running = true;
        memcpy(j->leaf, a->leaf, strlen(a->leaf) + 1);
        j->memory = a->memory ?: pool_job_memory_default(p);
        j->pids_max = a->pids_max;
        j->timeout_ms = a->timeout_ms;
        j->start_usec = a->start_usec ?: now_usec();
        j->owner = a->owner;
        if (asprintf(&j->cgroup, "%s/%s", p->cgroup, a->leaf) < 0)
                j->cgroup = NULL;
        if (!j->cgroup || (a->name && !(j->name = strdup(a->name)))) {
                job_unref(j);
                return -ENOMEM;
        }

        /* It runs: its reservation is held whatever the limits say now. */
        ledger_force(&p->ledger, j->memory, 1);
        chain_add_running(p, +1);
        job_list_add(j);
        j->next_incoming = g->incoming;
        g->incoming = j;
        return 0;
}

int adopt_tree(cgov *g) {
        pthread_mutex_lock(&g->lock);
        int r = g->backend->adopt(g);
        /* Re-adopted reservations may leave room for deferred memory.max. */
        for (size_t i = 0; i < g->n_pools; i++)
                pool_settle(g->pools[i]);
        pthread_mutex_unlock(&g->lock);
        return r;
}
