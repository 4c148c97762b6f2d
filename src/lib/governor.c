/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>

#include "backend-cgroupfs.h"
#include "backend.h"
#include "api.h"
#include "internal.h"
#include "keeper.h"
#include "macro.h"

void governor_wake(cgov *g) {
        uint64_t one = 1;
        (void) !write(g->wake_fd, &one, sizeof one);
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

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        cgov *g = userdata;
        uint64_t n;
        cgov_job *list;
        bool quit;

        (void) !read(fd, &n, sizeof n);
        pthread_mutex_lock(&g->lock);
        list = g->incoming;
        g->incoming = NULL;
        quit = g->quit;
        pthread_mutex_unlock(&g->lock);

        /* Watch in the order they were started; the list is LIFO. */
        cgov_job *rev = NULL;
        while (list) {
                cgov_job *next = list->next_incoming;
                list->next_incoming = rev;
                rev = list;
                list = next;
        }
        for (cgov_job *j = rev, *next; j; j = next) {
                next = j->next_incoming;
                j->next_incoming = NULL;
                (void) job_watch(j);
        }
        if (quit)
                return g->attached ? 0 : sd_event_exit(sd_event_source_get_event(s), 0);
        /* Woken for room that came back, a killed waiter, a new one. */
        queue_dispatch(g);
        return 0;
}

static int on_queue_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        queue_dispatch(userdata);
        return 0;
}

static void *supervisor_main(void *userdata) {
        cgov *g = userdata;
        (void) sd_event_loop(g->event);
        return NULL;
}

/* event: the caller's loop, or NULL for a thread of our own. */
static int supervisor_start(cgov *g, sd_event *event) {
        sigset_t all, saved;
        int r;

        g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (g->wake_fd < 0)
                return negative_errno();
        g->attached = event;
        if (event)
                g->event = sd_event_ref(event);
        else {
                r = sd_event_new(&g->event);
                if (r < 0)
                        return r;
        }
        r = sd_event_add_io(g->event, &g->wake_source, g->wake_fd, EPOLLIN, on_wake, g);
        if (r < 0)
                return r;
        g->closed_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (g->closed_fd < 0)
                return negative_errno();
        g->exits_fd = epoll_create1(EPOLL_CLOEXEC);
        if (g->exits_fd < 0)
                return negative_errno();
        r = sd_event_add_io(g->event, &g->exits_source, g->exits_fd, EPOLLIN, on_exits, g);
        if (r < 0)
                return r;
        /* One timer for every queue: armed for the earliest waiter's deadline. */
        r = sd_event_add_time(g->event, &g->queue_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_queue_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->queue_timer, SD_EVENT_OFF);
        if (g->attached)
                return 0;

        /* Process-directed signals are the host program's business: the
         * supervisor thread must never be the one that receives them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&g->thread, NULL, supervisor_main, g);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        g->thread_started = true;
        return 0;
}

static cgov *governor_new(unsigned flags) {
        cgov *g = calloc(1, sizeof *g);
        if (!g)
                return NULL;
        g->api.ops = &api_embedded;
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

int governor_open(cgov **ret, const struct cgov_options *opts, const GovernorOptions *gopts) {
        static const GovernorOptions none = {};
        cgov *g;
        int r;

        if (!gopts)
                gopts = &none;
        g = governor_new(opts->flags);
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
                cgov_close(g);
                return r;
        }
        governor_wake(g);
        *ret = g;
        return 0;
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
        for (cgov_job *j = g->jobs; j; j = j->next)
                cap++;
        v = malloc(MAX(cap, 1) * sizeof *v);
        if (v)
                for (cgov_job *j = g->jobs; j; j = j->next)
                        v[n++] = job_ref(j);
        pthread_mutex_unlock(&g->lock);
        if (!v)
                return -ENOMEM;
        *ret = v;
        *ret_n = n;
        return 0;
}

void gov_close(cgov *g) {

        pthread_mutex_lock(&g->lock);
        g->closed = true;
        g->quit = true;
        pthread_cond_broadcast(&g->job_ended);
        pthread_mutex_unlock(&g->lock);
        if (g->closed_fd >= 0)
                (void) !write(g->closed_fd, &(uint64_t) { 1 }, sizeof(uint64_t));

        if (g->thread_started) {
                governor_wake(g);
                pthread_join(g->thread, NULL);
        }
        if (g->attached) {
                /* The caller's loop goes on: it must not call us any more. */
                g->wake_source = sd_event_source_disable_unref(g->wake_source);
                g->queue_timer = sd_event_source_disable_unref(g->queue_timer);
                g->exits_source = sd_event_source_disable_unref(g->exits_source);
        }

        closers_flush_at_close(g);
        /* The loop is gone: its sources can be dropped from this thread. The
         * jobs keep running in their leaves; only our watch on them ends. */
        pthread_mutex_lock(&g->lock);
        cgov_job *jobs = g->jobs;
        g->jobs = NULL;
        g->incoming = NULL;
        pthread_mutex_unlock(&g->lock);
        jobs_end_starts(jobs);
        for (cgov_job *j = jobs, *next; j; j = next) {
                next = j->next;
                /* Queued jobs are discarded: they never start. */
                j->qprev = j->qnext = NULL;
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
