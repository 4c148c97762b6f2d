/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "backend.h"
#include "internal.h"
#include "macro.h"

/* Re-adoption: cgov_open() on a root where an earlier governor left pools
 * and running jobs finds them again (the backend walks its tree and
 * records) and takes the jobs over with their reservations; the supervisor
 * watches them as soon as it runs. */

static int adopt_pool(void *userdata, void *parent, const char *path, const struct cgov_pool_limits *lim,
                      void **ret_pool, const Place **ret_place) {
        cgov_pool *p;
        int r = pool_add(userdata, parent, path, lim, true, &p);
        if (r < 0)
                return r;
        *ret_pool = p;
        *ret_place = &p->place;
        return 0;
}

static void adopt_id_seen(void *userdata, uint64_t id) {
        cgov *g = userdata;
        if (id >= g->next_job_id)
                g->next_job_id = id + 1;
}

static int adopt_job(void *userdata, void *pool, AdoptedJob *a) {
        cgov_pool *p = pool;
        const JobRecord *rec = &a->record;
        cgov *g = userdata;
        cgov_job *j;

        /* The governor's watch: nobody holds a handle. */
        j = job_alloc(g, p, 1);
        if (!j) {
                safe_close(a->place.fd);
                free(a->place.cgroup);
                safe_close(a->pidfd);
                return -ENOMEM;
        }
        j->place = a->place;
        j->pidfd = a->pidfd;
        j->pid = rec->pid;
        j->id = a->id;
        j->adopted = true;
        j->readopted = true;
        j->state = JOB_RUNNING;
        j->keeper = rec->keeper;
        j->counted_running = true;
        memcpy(j->leaf, a->leaf, strlen(a->leaf) + 1);
        j->memory = rec->memory ?: pool_job_memory_default(p);
        j->pids_max = rec->pids_max;
        j->timeout_ms = rec->timeout_ms;
        j->start_usec = rec->start_usec ?: now_usec();
        /* Without a record, the job is root's: only root may then see it. */
        j->owner = rec->owner;
        if (rec->name && !(j->name = strdup(rec->name))) {
                job_unref(j);
                return -ENOMEM;
        }

        /* It runs: its reservation is held whatever the limits say now. */
        ledger_force(&p->ledger, j->memory, 1);
        POOL_CHAIN_ADD(p, jobs_running, 1);
        job_list_add(j);
        j->next_incoming = g->incoming;
        g->incoming = j;
        return 0;
}

int adopt_tree(cgov *g) {
        pthread_mutex_lock(&g->lock);
        const AdoptSink sink = {
                .pool = adopt_pool,
                .job = adopt_job,
                .id_seen = adopt_id_seen,
                .userdata = g,
        };
        int r = g->backend->adopt(g->b, &sink);
        /* Re-adopted reservations may leave room for deferred memory.max. */
        for (size_t i = 0; i < g->n_pools; i++)
                pool_settle(g->pools[i]);
        pthread_mutex_unlock(&g->lock);
        return r;
}
