/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-fs.h"
#include "client.h"
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
        /* A linear scan: pools are looked up by path only when created or
         * found by name; jobs carry their pool pointer. A released pool's
         * path is free for nobody until its directory is gone. */
        for (size_t i = 0; i < g->n_pools; i++)
                if (!g->pools[i]->released && strcmp(g->pools[i]->path, path) == 0)
                        return g->pools[i];
        return NULL;
}

static cgov_pool *pool_lookup_released(cgov *g, const char *path) {
        for (size_t i = 0; i < g->n_pools; i++)
                if (g->pools[i]->released && !g->pools[i]->removed && strcmp(g->pools[i]->path, path) == 0)
                        return g->pools[i];
        return NULL;
}

bool pool_within(const cgov_pool *p, const cgov_pool *ancestor) {
        for (; p; p = p->parent)
                if (p == ancestor)
                        return true;
        return false;
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
            lim->pids_max > CGOV_PIDS_MAX || lim->queue_timeout_ms > UINT64_MAX / 1000)
                return -ERANGE;
        /* A default no job could ever get is a configuration mistake. */
        if (lim->memory_max > 0 && lim->job_memory_default > lim->memory_max)
                return -EINVAL;
        return 0;
}

/* The kernel's memory.max follows the pool's limit, but never below what
 * running jobs hold: lowering it under them would OOM-kill them. */
static void pool_sync_memory_max(cgov_pool *p) {
        if (!p->g->have_memory || !p->memory_max_pending || p->removed)
                return;
        if (p->limits.memory_max > 0 && p->ledger.memory_reserved > p->limits.memory_max)
                return;
        if (cg_write_u64(p->fd, "memory.max", p->limits.memory_max ?: CG_LIMIT_MAX) >= 0)
                p->memory_max_pending = false;
}

static int pool_write_pids_max(cgov_pool *p) {
        if (!p->g->have_pids)
                return 0;
        return cg_write_u64(p->fd, "pids.max", p->limits.pids_max ?: CG_LIMIT_MAX);
}

/* A released pool's directory goes once nothing runs in its subtree and its
 * sub-pools are gone; then its parent may follow. Lock held. */
static void pool_try_remove(cgov_pool *p) {
        cgov *g = p->g;

        for (; p && p->released && !p->removed; p = p->parent) {
                if (p->jobs_running > 0 || p->jobs_queued > 0)
                        return;
                for (size_t i = 0; i < g->n_pools; i++)
                        if (g->pools[i]->parent == p && !g->pools[i]->removed)
                                return;
                const char *name = strrchr(p->path, '/');
                name = name ? name + 1 : p->path;
                if (cg_rmdir(p->parent ? p->parent->fd : g->root_fd, name) < 0)
                        return; /* EBUSY: a job's leaf is still being removed; tried again later */
                p->removed = true;
                p->fd = safe_close(p->fd);
        }
}

void pool_settle(cgov_pool *p) {
        for (cgov_pool *i = p; i; i = i->parent)
                pool_sync_memory_max(i);
        pool_try_remove(p);
}

/* Makes (or, re-adopting, opens) the pool's directory and writes its limits
 * and its children's controllers. */
static int pool_make_dir(cgov_pool *p, int parent_fd, const char *name, bool adopt) {
        char available[256];
        int r;

        if (!adopt && mkdirat(parent_fd, name, 0755) < 0)
                return negative_errno(); /* EEXIST: a directory cgov does not know */
        p->fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* A re-adopted pool may have jobs that hold more than its limit:
         * its memory.max follows once they fit (pool_settle). */
        p->memory_max_pending = true;
        if (!adopt && p->g->have_memory) {
                r = cg_write_u64(p->fd, "memory.max", p->limits.memory_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        goto fail;
                p->memory_max_pending = false;
        }
        r = pool_write_pids_max(p);
        if (r < 0)
                goto fail;
        /* Children (sub-pools and job leaves) need the controllers for their
         * own memory.max and pids.max. */
        r = cg_read(p->fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                goto fail;
        r = cg_enable_controllers(p->fd, available, pool_controllers);
        if (r < 0)
                goto fail;
        return 0;
fail:
        p->fd = safe_close(p->fd);
        if (!adopt)
                (void) cg_rmdir(parent_fd, name);
        return r;
}

int pool_add(cgov *g, cgov_pool *parent, const char *path, const struct cgov_pool_limits *lim, bool adopt,
             cgov_pool **ret) {
        _cleanup_(pool_freep) cgov_pool *p = NULL;
        cgov_pool **pools;
        const char *name = strrchr(path, '/');
        int r;

        name = name ? name + 1 : path;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fd = -EBADF;
        p->g = g;
        p->parent = parent;
        p->limits = *lim;
        p->ledger.parent = parent ? &parent->ledger : NULL;
        p->ledger.memory_max = lim->memory_max;
        p->ledger.max_jobs = lim->max_jobs;
        p->path = strdup(path);
        if (!p->path || asprintf(&p->cgroup, "%s/%s", g->root, path) < 0)
                return -ENOMEM;
        pools = reallocarray(g->pools, g->n_pools + 1, sizeof *pools);
        if (!pools)
                return -ENOMEM;
        g->pools = pools;
        r = pool_make_dir(p, parent ? parent->fd : g->root_fd, name, adopt);
        if (r < 0)
                return r;
        adopt_record_pool(p);
        g->pools[g->n_pools++] = p;
        *ret = TAKE_PTR(p);
        return 0;
}

_public_ int cgov_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim,
                              cgov_pool **ret) {
        static const struct cgov_pool_limits none = {};
        cgov_pool *parent = NULL;
        int r;

        assert_return(g, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);
        /* Client mode: the daemon's policy makes the pools. */
        assert_return(!g->client, -EPERM);
        assert_return(pool_path_is_valid(path, NULL), -EINVAL);
        if (!lim)
                lim = &none;
        r = limits_check(lim);
        if (r < 0)
                return r;

        pthread_mutex_lock(&g->lock);
        const char *slash = strrchr(path, '/');
        if (g->closed)
                r = -ESHUTDOWN;
        else if (pool_lookup(g, path))
                r = -EEXIST;
        else if (pool_lookup_released(g, path))
                r = -EBUSY; /* the released pool's directory is still there */
        else if (slash) {
                _cleanup_free_ char *parent_path = strndup(path, (size_t) (slash - path));
                if (!parent_path)
                        r = -ENOMEM;
                else if (!(parent = pool_lookup(g, parent_path)))
                        r = -ENOENT;
        }
        /* The lock is held across the mkdir so that two threads creating the
         * same path cannot both succeed; pool creation is rare. */
        if (r >= 0)
                r = pool_add(g, parent, path, lim, false, ret);
        pthread_mutex_unlock(&g->lock);
        return r;
}

_public_ int cgov_pool_find(cgov *g, const char *path, cgov_pool **ret) {
        cgov_pool *p;

        assert_return(g, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);
        if (g->client)
                return client_pool_find(g, path, ret);

        pthread_mutex_lock(&g->lock);
        p = pool_lookup(g, path);
        pthread_mutex_unlock(&g->lock);
        if (!p)
                return -ENOENT;
        *ret = p;
        return 0;
}

_public_ int cgov_pool_set_limits(cgov_pool *p, const struct cgov_pool_limits *lim) {
        cgov *g;
        int r;

        assert_return(p, -EINVAL);
        assert_return(lim, -EINVAL);
        assert_return(!p->g->client, -EPERM);
        r = limits_check(lim);
        if (r < 0)
                return r;
        g = p->g;

        pthread_mutex_lock(&g->lock);
        if (p->released)
                r = CGOV_E_POOL_GONE;
        else {
                struct cgov_pool_limits old = p->limits;
                p->limits = *lim;
                r = pool_write_pids_max(p);
                if (r < 0)
                        p->limits = old; /* nothing changes on failure */
                else {
                        p->ledger.memory_max = lim->memory_max;
                        p->ledger.max_jobs = lim->max_jobs;
                        p->memory_max_pending = old.memory_max != lim->memory_max;
                        pool_sync_memory_max(p);
                        adopt_record_pool(p);
                }
        }
        pthread_mutex_unlock(&g->lock);
        /* Room may have grown: waiters get their turn. */
        governor_wake(g);
        return r;
}

_public_ int cgov_pool_release(cgov_pool *p) {
        cgov *g;

        assert_return(p, -EINVAL);
        assert_return(!p->g->client, -EPERM);
        g = p->g;

        pthread_mutex_lock(&g->lock);
        /* Children come after their parents in g->pools, so one pass marks
         * the whole subtree; the deepest are removed first. */
        for (size_t i = 0; i < g->n_pools; i++)
                if (pool_within(g->pools[i], p))
                        g->pools[i]->released = true;
        for (size_t i = g->n_pools; i > 0; i--)
                if (pool_within(g->pools[i - 1], p))
                        pool_try_remove(g->pools[i - 1]);
        pthread_mutex_unlock(&g->lock);
        /* The supervisor ends the waiters with CGOV_E_POOL_GONE. */
        governor_wake(g);
        return 0;
}

_public_ int cgov_pool_status(cgov_pool *p, struct cgov_pool_status *st) {
        struct cgov_pool_status s = {};
        uint64_t v;
        int fd;

        assert_return(p, -EINVAL);
        assert_return(st, -EINVAL);
        if (p->g->client)
                return client_pool_status(p, st);

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
        /* The kernel's own figures are read outside the lock: they move on
         * their own anyway. A removed pool has none. */
        fd = p->removed ? -EBADF : fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
        pthread_mutex_unlock(&p->g->lock);

        if (fd >= 0) {
                if (cg_read_u64(fd, "memory.current", &v) >= 0)
                        s.memory_current = v;
                if (cg_read_u64(fd, "pids.current", &v) >= 0)
                        s.pids_current = (uint32_t) MIN(v, UINT32_MAX);
                safe_close(fd);
        }
        *st = s;
        return 0;
}

_public_ const char *cgov_pool_path(cgov_pool *p) {
        return p ? p->path : NULL;
}

_public_ const char *cgov_pool_cgroup(cgov_pool *p) {
        return p ? p->cgroup : NULL;
}
