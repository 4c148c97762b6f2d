/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-fs.h"
#include "internal.h"
#include "macro.h"

static const char *const pool_controllers[] = { "memory", "pids", NULL };

void pool_free(cgov_pool *p) {
        if (!p)
                return;
        safe_close(p->fd);
        free(p->path);
        free(p->cgroup);
        free(p);
}

static void pool_freep(cgov_pool **p) {
        pool_free(*p);
}

cgov_pool *pool_lookup(cgov *g, const char *path) {
        /* A linear scan: pools are created rarely and looked up by path only
         * from cgov_pool_find(); jobs carry their pool pointer. */
        for (size_t i = 0; i < g->n_pools; i++)
                if (strcmp(g->pools[i]->path, path) == 0)
                        return g->pools[i];
        return NULL;
}

uint64_t pool_job_memory_default(const cgov_pool *p) {
        if (p->limits.job_memory_default > 0)
                return p->limits.job_memory_default;
        if (p->limits.memory_max > 0 && p->limits.memory_max < DEFAULT_JOB_MEMORY)
                return p->limits.memory_max;
        return DEFAULT_JOB_MEMORY;
}

static int limits_check(const struct cgov_pool_limits *lim) {
        if (lim->memory_max > CGOV_SIZE_MAX || lim->job_memory_default > CGOV_SIZE_MAX ||
            lim->pids_max > CGOV_PIDS_MAX)
                return -ERANGE;
        /* A default no job could ever get is a configuration mistake. */
        if (lim->memory_max > 0 && lim->job_memory_default > lim->memory_max)
                return -EINVAL;
        return 0;
}

/* The kernel's copy of a pool's limits. 0 means "no limit", which the kernel
 * spells "max". */
static int pool_write_limits(cgov *g, int fd, const struct cgov_pool_limits *lim) {
        int r;

        if (g->have_memory) {
                r = cg_write_u64(fd, "memory.max", lim->memory_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        return r;
        }
        if (g->have_pids) {
                r = cg_write_u64(fd, "pids.max", lim->pids_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int pool_make_dir(cgov *g, int parent_fd, const char *name, const struct cgov_pool_limits *lim,
                         int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        char available[256];
        bool created = true;
        int r;

        if (mkdirat(parent_fd, name, 0755) < 0) {
                /* EEXIST: a directory left by an earlier governor on this root;
                 * it gets this pool's limits like a new one. */
                if (errno != EEXIST)
                        return negative_errno();
                created = false;
        }
        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = pool_write_limits(g, fd, lim);
        if (r < 0)
                goto fail;
        /* Children (sub-pools and job leaves) need the controllers for their
         * own memory.max and pids.max. */
        r = cg_read(fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                goto fail;
        r = cg_enable_controllers(fd, available, pool_controllers);
        if (r < 0)
                goto fail;
        *ret_fd = TAKE_FD(fd);
        return 0;
fail:
        if (created)
                (void) cg_rmdir(parent_fd, name);
        return r;
}

_public_ int cgov_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim,
                              cgov_pool **ret) {
        static const struct cgov_pool_limits none = {};
        _cleanup_(pool_freep) cgov_pool *p = NULL;
        cgov_pool *parent = NULL, **pools;
        const char *name;
        int r;

        assert_return(g, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(pool_path_is_valid(path, NULL), -EINVAL);
        if (!lim)
                lim = &none;
        r = limits_check(lim);
        if (r < 0)
                return r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fd = -EBADF;
        p->g = g;
        p->limits = *lim;
        p->ledger.memory_max = lim->memory_max;
        p->ledger.max_jobs = lim->max_jobs;
        p->path = strdup(path);
        if (!p->path)
                return -ENOMEM;

        pthread_mutex_lock(&g->lock);
        if (g->closed) {
                r = -ESHUTDOWN;
                goto unlock;
        }
        if (pool_lookup(g, path)) {
                r = -EEXIST;
                goto unlock;
        }
        name = strrchr(path, '/');
        if (name) {
                _cleanup_free_ char *parent_path = strndup(path, (size_t) (name - path));
                if (!parent_path) {
                        r = -ENOMEM;
                        goto unlock;
                }
                parent = pool_lookup(g, parent_path);
                if (!parent) {
                        r = -ENOENT;
                        goto unlock;
                }
                name++;
        } else
                name = path;

        if (asprintf(&p->cgroup, "%s/%s", g->root, path) < 0) {
                r = -ENOMEM;
                goto unlock;
        }
        pools = reallocarray(g->pools, g->n_pools + 1, sizeof *pools);
        if (!pools) {
                r = -ENOMEM;
                goto unlock;
        }
        g->pools = pools;
        /* The lock is held across the mkdir so that two threads creating the
         * same path cannot both succeed; pool creation is rare. */
        r = pool_make_dir(g, parent ? parent->fd : g->root_fd, name, lim, &p->fd);
        if (r < 0)
                goto unlock;
        p->parent = parent;
        p->ledger.parent = parent ? &parent->ledger : NULL;
        g->pools[g->n_pools++] = p;
        *ret = TAKE_PTR(p);
        r = 0;
unlock:
        pthread_mutex_unlock(&g->lock);
        return r;
}

_public_ int cgov_pool_find(cgov *g, const char *path, cgov_pool **ret) {
        cgov_pool *p;

        assert_return(g, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);

        pthread_mutex_lock(&g->lock);
        p = pool_lookup(g, path);
        pthread_mutex_unlock(&g->lock);
        if (!p)
                return -ENOENT;
        *ret = p;
        return 0;
}

_public_ int cgov_pool_status(cgov_pool *p, struct cgov_pool_status *st) {
        struct cgov_pool_status s = {};
        uint64_t v;

        assert_return(p, -EINVAL);
        assert_return(st, -EINVAL);

        pthread_mutex_lock(&p->g->lock);
        s.memory_max = p->limits.memory_max;
        s.memory_reserved = p->ledger.memory_reserved;
        s.max_jobs = p->limits.max_jobs;
        s.jobs_running = p->jobs_running;
        s.jobs_queued = p->jobs_queued;
        s.slots_held = p->ledger.slots_held;
        s.pids_max = p->limits.pids_max;
        s.jobs_started = p->jobs_started;
        s.jobs_rejected = p->jobs_rejected;
        s.jobs_oom_killed = p->jobs_oom_killed;
        pthread_mutex_unlock(&p->g->lock);

        /* The kernel's own figures, read outside the lock: they move on their
         * own anyway. Without the controller they stay 0. */
        if (cg_read_u64(p->fd, "memory.current", &v) >= 0)
                s.memory_current = v;
        if (cg_read_u64(p->fd, "pids.current", &v) >= 0)
                s.pids_current = (uint32_t) MIN(v, UINT32_MAX);
        *st = s;
        return 0;
}

_public_ const char *cgov_pool_path(cgov_pool *p) {
        return p ? p->path : NULL;
}

_public_ const char *cgov_pool_cgroup(cgov_pool *p) {
        return p ? p->cgroup : NULL;
}
