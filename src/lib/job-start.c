/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup-fs.h"
#include "internal.h"
#include "keeper.h"
#include "macro.h"
#include "spawn.h"

/* The leaf, with its limits written before any process can exist in it. */
static int job_make_leaf(cgov_job *j) {
        cgov *g = j->g;
        int r;

        for (;;) {
                r = job_leaf_name(j->leaf, sizeof j->leaf, j->name, j->id);
                if (r < 0)
                        return r;
                if (mkdirat(j->pool->fd, j->leaf, 0755) >= 0)
                        break;
                if (errno != EEXIST)
                        return negative_errno();
                /* Someone else's directory of that name: take the next id. */
                pthread_mutex_lock(&g->lock);
                j->id = ids_next(g);
                pthread_mutex_unlock(&g->lock);
        }
        j->leaf_fd = openat(j->pool->fd, j->leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->leaf_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        if (g->have_memory) {
                r = cg_write_u64(j->leaf_fd, "memory.max", j->memory);
                if (r < 0)
                        goto fail;
                /* The reservation is memory, not swap; without swap accounting
                 * the file is absent and there is nothing to limit. */
                r = cg_write(j->leaf_fd, "memory.swap.max", "0");
                if (r < 0 && r != -ENOENT)
                        goto fail;
                /* One OOM kill takes the whole job: a half-killed process
                 * tree is worse than a clean failure. */
                r = cg_write(j->leaf_fd, "memory.oom.group", "1");
                if (r < 0 && r != -ENOENT)
                        goto fail;
        }
        if (g->have_pids) {
                r = cg_write_u64(j->leaf_fd, "pids.max", j->pids_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        goto fail;
        }
        free(j->cgroup);
        if (asprintf(&j->cgroup, "%s/%s", j->pool->cgroup, j->leaf) < 0) {
                j->cgroup = NULL;
                r = -ENOMEM;
                goto fail;
        }
        return 0;
fail:
        j->leaf_fd = safe_close(j->leaf_fd);
        (void) cg_rmdir(j->pool->fd, j->leaf);
        return r;
}

/* The launch as spawn.c takes it, into j's leaf. */
static SpawnParams spawn_params(const cgov_job *j, const JobLaunch *l, const int *stdio) {
        return (SpawnParams) {
                .path = l->program,
                .search_path = l->program ? NULL : spawn_search_path(l->envp),
                .creds = l->creds,
                .argv = l->argv,
                .envp = l->envp,
                .cwd = l->cwd,
                .stdio = stdio,
                .cgroup_fd = j->leaf_fd,
                .into_cgroup = __atomic_load_n(&j->g->into_cgroup, __ATOMIC_RELAXED),
                .fn = l->fn,
                .fn_arg = l->fn_arg,
                .out_fd = l->out_fd,
        };
}

static int job_spawn(cgov_job *j, const JobLaunch *l) {
        _cleanup_close_ int devnull = -EBADF;
        int stdio[3];
        int r;

        if (l->stdio) {
                for (int i = 0; i < 3; i++) {
                        if (l->stdio[i] >= 0) {
                                stdio[i] = l->stdio[i];
                                continue;
                        }
                        if (devnull < 0) {
                                devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                                if (devnull < 0)
                                        return negative_errno();
                        }
                        stdio[i] = devnull;
                }
        }

        SpawnParams sp = spawn_params(j, l, l->stdio ? stdio : NULL);
        j->start_usec = now_usec();
        r = spawn_in_cgroup(&sp, &j->pid, &j->pidfd);
        if (r == -ENOSYS && sp.into_cgroup && !sp.fn) {
                /* Remember for the next job: this kernel has no CLONE_INTO_CGROUP. */
                __atomic_store_n(&j->g->into_cgroup, false, __ATOMIC_RELAXED);
                sp.into_cgroup = false;
                r = spawn_in_cgroup(&sp, &j->pid, &j->pidfd);
        }
        return r;
}

/* The keeper gets the launch as it is (it opens /dev/null for the stdio
 * fds that are -1 itself), and reads it until it reports: the job owns it. */
static int job_spawn_keeper(cgov_job *j, const JobLaunch *l) {
        SpawnParams sp = spawn_params(j, l, l->stdio);
        j->start_usec = now_usec();
        /* j->pid is the job's main process, which the keeper reports. */
        return keeper_start(&sp, &j->keeper_pid, &j->pidfd, &j->report_fd, &j->report_write_fd, &j->keeper_region);
}

int job_start(cgov_job *j, const JobLaunch *l) {
        int r;

        j->keeper = j->g->keeper && l->creds && !l->fn;
        r = job_make_leaf(j);
        if (r < 0)
                return r;
        r = j->keeper ? job_spawn_keeper(j, l) : job_spawn(j, l);
        if (r < 0) {
                j->leaf_fd = safe_close(j->leaf_fd);
                (void) cg_rmdir(j->pool->fd, j->leaf);
                return r;
        }
        /* What a governor opened later needs to re-adopt it. */
        adopt_record_job(j);
        return j->keeper ? 1 : 0;
}

void job_started(cgov_job *j) {
        j->state = JOB_RUNNING;
        j->counted_running = true;
        chain_add_running(j->pool, +1);
        for (cgov_pool *p = j->pool; p; p = p->parent)
                p->jobs_started++;
        /* Killed while it was being started: it dies now that it has a leaf. */
        if (j->kill == JOB_KILL_REQUESTED)
                (void) cg_kill(j->leaf_fd, j->g->have_kill_file);
}
