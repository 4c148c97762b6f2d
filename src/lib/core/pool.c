/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api-ops.h"
#include "internal.h"
#include "macro.h"


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

void pool_limits(cgov_pool *p, struct cgov_pool_limits *ret) {
        pthread_mutex_lock(&p->g->lock);
        *ret = p->limits;
        pthread_mutex_unlock(&p->g->lock);
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
        if (!p->memory_max_pending || p->removed)
                return;
        if (p->limits.memory_max > 0 && p->ledger.memory_reserved > p->limits.memory_max)
                return;
        if (p->g->backend->pool_set_memory_max(p->g->b, &p->place, p->limits.memory_max) >= 0)
                p->memory_max_pending = false;
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
                if (g->backend->pool_remove(g->b, p->parent ? &p->parent->place : NULL, p->path, &p->place) < 0)
                        return; /* EBUSY: a job's leaf is still being removed; tried again later */
                p->removed = true;
        }
}

void pool_settle(cgov_pool *p) {
        for (cgov_pool *i = p; i; i = i->parent)
                pool_sync_memory_max(i);
        pool_try_remove(p);
}

int pool_add(cgov *g, cgov_pool *parent, const char *path, const struct cgov_pool_limits *lim, bool adopt,
             cgov_pool **ret) {
        _cleanup_(pool_freep) cgov_pool *p = NULL;
        cgov_pool **pools;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->api.ops = g->api.ops;
        p->place.fd = -EBADF;
        p->g = g;
        p->parent = parent;
        p->limits = *lim;
        p->ledger.parent = parent ? &parent->ledger : NULL;
        p->ledger.memory_max = lim->memory_max;
        p->ledger.max_jobs = lim->max_jobs;
        p->path = strdup(path);
        if (!p->path)
                return -ENOMEM;
        pools = reallocarray(g->pools, g->n_pools + 1, sizeof *pools);
        if (!pools)
                return -ENOMEM;
        g->pools = pools;
        r = g->backend->pool_make(g->b, parent ? &parent->place : NULL, path, lim, adopt, &p->place);
        if (r < 0)
                return r;
        /* A re-adopted pool may have jobs that hold more than its limit:
         * its memory.max follows once they fit (pool_settle). */
        p->memory_max_pending = adopt;
        g->backend->pool_record(g->b, &p->place, &p->limits);
        g->pools[g->n_pools++] = p;
        *ret = TAKE_PTR(p);
        return 0;
}

int gov_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim, cgov_pool **ret) {
        static const struct cgov_pool_limits none = {};
        cgov_pool *parent = NULL;
        int r;

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

int gov_pool_find(cgov *g, const char *path, cgov_pool **ret) {
        cgov_pool *p;

        pthread_mutex_lock(&g->lock);
        p = pool_lookup(g, path);
        pthread_mutex_unlock(&g->lock);
        if (!p)
                return -ENOENT;
        *ret = p;
        return 0;
}

int gov_pool_set_limits(cgov_pool *p, const struct cgov_pool_limits *lim) {
        cgov *g = p->g;
        int r;

        r = limits_check(lim);
        if (r < 0)
                return r;

        pthread_mutex_lock(&g->lock);
        if (p->released)
                r = CGOV_E_POOL_GONE;
        else {
                struct cgov_pool_limits old = p->limits;
                p->limits = *lim;
                r = g->backend->pool_set_pids_max(g->b, &p->place, lim->pids_max);
                if (r < 0)
                        p->limits = old; /* nothing changes on failure */
                else {
                        p->ledger.memory_max = lim->memory_max;
                        p->ledger.max_jobs = lim->max_jobs;
                        p->memory_max_pending = old.memory_max != lim->memory_max;
                        pool_sync_memory_max(p);
                        g->backend->pool_record(g->b, &p->place, &p->limits);
                }
        }
        pthread_mutex_unlock(&g->lock);
        /* Room may have grown: waiters get their turn. */
        governor_wake(g);
        return r;
}

int gov_pool_release(cgov_pool *p) {
        cgov *g = p->g;

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

int gov_pool_status(cgov_pool *p, struct cgov_pool_status *st) {
        struct cgov_pool_status s = {};
        uint64_t memory, pids;
        int fd;

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
        fd = p->removed ? -EBADF : fcntl(p->place.fd, F_DUPFD_CLOEXEC, 3);
        pthread_mutex_unlock(&p->g->lock);

        if (fd >= 0) {
                p->g->backend->pool_usage(p->g->b, fd, &memory, &pids);
                s.memory_current = memory;
                s.pids_current = (uint32_t) MIN(pids, UINT32_MAX);
                safe_close(fd);
        }
        *st = s;
        return 0;
}

const char *gov_pool_path(cgov_pool *p) {
        return p->path;
}

const char *gov_pool_cgroup(cgov_pool *p) {
        return p->place.cgroup;
}
