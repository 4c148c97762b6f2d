/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "backend-cgroupfs.h"
#include "internal.h"
#include "keeper.h"
#include "macro.h"

/* The embedded governor as a whole: its open and close, the table the API
 * calls it through (api_embedded), and what cgovd asks of it
 * (governor.h). */

int governor_open(cgov **ret, const struct cgov_options *opts, const GovernorOptions *gopts) {
        static const GovernorOptions none = {};
        cgov *g;
        int r;

        if (!gopts)
                gopts = &none;
        g = governor_new(opts->flags, &api_embedded);
        if (!g)
                return -ENOMEM;
        g->job_hook = gopts->job_hook;
        g->job_hook_userdata = gopts->userdata;
        g->keeper = gopts->keeper && keeper_supported();
        g->backend = backend_for(opts->flags);
        if (gopts->ids_file && !(g->ids_file = strdup(gopts->ids_file))) {
                governor_unref(g);
                return -ENOMEM;
        }

        r = g->backend->open(opts->cgroup_root, opts->flags, &g->b, &g->info);
        /* A backend that starts processes itself needs no keepers. */
        if (r >= 0 && g->info.records_exits)
                g->keeper = false;
        /* Pools and running jobs an earlier governor left in this root; the
         * supervisor takes over the jobs as soon as it runs. */
        if (r >= 0)
                r = adopt_tree(g);
        if (r >= 0)
                r = ids_init(g);
        if (r >= 0)
                r = supervisor_start(g, gopts->event);
        if (r < 0) {
                /* Undoes whatever was built, and leaves adopted jobs running. */
                gov_close(g);
                return r;
        }
        governor_wake(g);
        *ret = g;
        return 0;
}

void gov_close(cgov *g) {

        supervisor_stop(g);
        closers_flush_at_close(g);
        /* The loop is gone: its sources can be dropped from this thread. The
         * jobs keep running in their leaves; only our watch on them ends. */
        pthread_mutex_lock(&g->lock);
        cgov_job *jobs = g->jobs;
        g->jobs = NULL;
        g->incoming = NULL;
        pthread_mutex_unlock(&g->lock);
        jobs_end_starts(jobs);
        LIST_FOREACH_SAFE(jobs, j, next, jobs) {
                /* Queued jobs are discarded: they never start. */
                j->queue_prev = j->queue_next = NULL;
                job_detach(j);
        }
        for (size_t i = 0; i < g->n_pools; i++)
                g->pools[i]->queue_head = g->pools[i]->queue_tail = NULL;
        governor_unref(g);
}

const ApiOps api_embedded = {
        .close = gov_close,
        .pool_create = gov_pool_create,
        .pool_find = gov_pool_find,
        .pool_set_limits = gov_pool_set_limits,
        .pool_release = gov_pool_release,
        .pool_status = gov_pool_status,
        .pool_path = gov_pool_path,
        .pool_cgroup = gov_pool_cgroup,
        .submit = gov_submit,
        .run = gov_run,
        .await = gov_await,
        .kill = gov_kill,
        .kill_matching = gov_kill_matching,
        .job_pid = gov_job_pid,
        .job_cgroup = gov_job_cgroup,
        .job_free = job_unref,
        .acquire = gov_acquire,
        .release = gov_release,
        .call = gov_call,
};

void cgov_testing_disable_clone_into_cgroup(cgov *g) {
        if (g->backend == &backend_cgroupfs)
                cgroupfs_testing_disable_clone_into_cgroup(g->b);
}

void cgov_testing_disable_kill_file(cgov *g) {
        if (g->backend == &backend_cgroupfs)
                cgroupfs_testing_disable_kill_file(g->b);
}

int governor_pools(cgov *g, cgov_pool ***ret, size_t *ret_n) {
        size_t n = 0;

        pthread_mutex_lock(&g->lock);
        cgov_pool **v = malloc(MAX(g->n_pools, 1) * sizeof *v);
        if (v)
                for (size_t i = 0; i < g->n_pools; i++)
                        if (!g->pools[i]->released)
                                v[n++] = g->pools[i];
        pthread_mutex_unlock(&g->lock);
        if (!v)
                return -ENOMEM;
        *ret = v;
        *ret_n = n;
        return 0;
}

void governor_info(cgov *g, GovernorInfo *ret) {
        *ret = (GovernorInfo) {
                .backend = g->backend->name,
                .root = g->info.root,
                .keeper = g->keeper,
                .enforces_memory = g->info.enforces_memory,
                .enforces_pids = g->info.enforces_pids,
        };
}

size_t governor_pool_count(cgov *g) {
        size_t n = 0;

        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_pools; i++)
                n += !g->pools[i]->released;
        pthread_mutex_unlock(&g->lock);
        return n;
}

uint64_t governor_next_job_id(cgov *g) {
        pthread_mutex_lock(&g->lock);
        uint64_t id = g->next_job_id;
        pthread_mutex_unlock(&g->lock);
        return id;
}

int governor_check_idle(cgov *g, char *buf, size_t size) {
        int r = 0;

        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_pools && r == 0; i++) {
                cgov_pool *p = g->pools[i];
                if (p->jobs_running || p->jobs_queued || p->n_waiting || p->queue_head || p->slots_acquired) {
                        snprintf(buf, size, "pool %s%s: %u running, %u queued, %u waiting here, %u slots acquired",
                                 p->path, p->released ? " (released)" : "", p->jobs_running, p->jobs_queued,
                                 p->n_waiting, p->slots_acquired);
                        r = -EBUSY;
                }
        }
        if (r == 0 && (g->jobs || g->incoming || g->n_waiting)) {
                snprintf(buf, size, "the governor still has jobs (%s) or waiters (%u)",
                         g->jobs || g->incoming ? "listed" : "none", g->n_waiting);
                r = -EBUSY;
        }
        pthread_mutex_unlock(&g->lock);
        return r;
}

int governor_jobs(cgov *g, cgov_job ***ret, size_t *ret_n) {
        size_t n = 0, cap = 0;
        cgov_job **v;

        pthread_mutex_lock(&g->lock);
        LIST_FOREACH(jobs, j, g->jobs)
                cap++;
        v = malloc(MAX(cap, 1) * sizeof *v);
        if (v)
                LIST_FOREACH(jobs, j, g->jobs)
                        v[n++] = job_ref(j);
        pthread_mutex_unlock(&g->lock);
        if (!v)
                return -ENOMEM;
        *ret = v;
        *ret_n = n;
        return 0;
}
