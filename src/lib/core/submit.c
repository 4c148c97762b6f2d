/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "job-spec.h"
#include "macro.h"
#include "spawn.h"
#include "strv.h"

/* Jobs as callers see them: submitted (admitted at once, queued or
 * refused), awaited, run, killed. What happens to a job from then on is
 * job.c's, queue.c's and supervise.c's. */

/* A job that may wait outlives the caller's spec: everything it points to is
 * copied, and its stdio fds duplicated. */
static int job_copy_spec(JobCopy *c, const struct cgov_job_spec *spec, bool exec) {
        if (exec && !(c->argv = strv_copy(spec->argv)))
                return -ENOMEM;
        if (spec->envp && !(c->envp = strv_copy(spec->envp)))
                return -ENOMEM;
        if (spec->cwd && !(c->cwd = strdup(spec->cwd)))
                return -ENOMEM;
        if (spec->flags & CGOV_JOB_STDIO) {
                c->has_stdio = true;
                for (int i = 0; i < 3; i++)
                        c->stdio[i] = -EBADF;
                for (int i = 0; i < 3; i++)
                        if (spec->stdio[i] >= 0 && (c->stdio[i] = fcntl(spec->stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
                                return negative_errno();
        }
        return 0;
}

static int job_new(cgov_pool *p, const struct cgov_job_spec *spec, char *program, const SpawnCreds *creds,
                   cgov_job **ret) {
        /* The caller's handle and the governor's watch. */
        cgov_job *j = job_alloc(p->g, p, 2);
        if (!j)
                return -ENOMEM;
        j->owner = getuid();
        j->program = program;
        j->memory = spec->memory_max ?: pool_job_memory_default(p);
        j->pids_max = spec->pids_max;
        j->timeout_ms = spec->timeout_ms;
        if (creds) {
                j->run_as = true;
                j->owner = creds->uid;
                j->creds = *creds;
                j->creds.groups = NULL;
                if (creds->n_groups > 0 &&
                    !(j->creds.groups = memdup_array(creds->groups, creds->n_groups, sizeof(gid_t))))
                        goto oom;
        }
        if (spec->name && !(j->name = strdup(spec->name)))
                goto oom;
        *ret = j;
        return 0;
oom:
        j->program = NULL; /* the caller's still */
        j->n_ref = 1;
        job_unref(j);
        return -ENOMEM;
}

/* The caller's spec as a JobLaunch: nothing copied for a job started at once. */
static JobLaunch launch_of_spec(const cgov_job *j, const struct cgov_job_spec *spec, int stdio[3]) {
        if (spec->flags & CGOV_JOB_STDIO)
                memcpy(stdio, spec->stdio, 3 * sizeof(int));
        return (JobLaunch) {
                .program = j->program,
                .argv = (char *const *) spec->argv,
                .envp = (char *const *) spec->envp,
                .cwd = spec->cwd,
                .stdio = (spec->flags & CGOV_JOB_STDIO) ? stdio : NULL,
                .pids_max = spec->pids_max,
                .creds = j->run_as ? &j->creds : NULL,
        };
}

/* Submits a job; `call` is cgov_call's function, NULL for a program. On a
 * refusal *res says why; on any failure nothing stays behind. */
int job_submit(cgov_pool *p, const struct cgov_job_spec *spec, const JobLaunch *call, const SpawnCreds *creds,
               bool watch_here, cgov_job **ret, struct cgov_result *res) {
        _cleanup_free_ char *program = NULL;
        cgov *g = p->g;
        cgov_job *j;
        int stdio[3];
        int r;

        r = job_spec_check(spec, !call);
        if (r < 0)
                return r;
        /* Looked up before anything is reserved: a missing program is the
         * caller's error, not a job that starts and exits 127. A job that
         * runs as someone else looks it up itself, as them (spawn.c). */
        if (!call && !creds) {
                r = spawn_find_program(spec->argv[0], (char *const *) spec->envp, &program);
                if (r < 0)
                        return r;
        }
        r = job_new(p, spec, TAKE_PTR(program), creds, &j);
        if (r < 0)
                return r;
        if (call) {
                j->fn = call->fn;
                j->fn_arg = call->fn_arg;
                j->out_fd = call->out_fd;
        }

        /* Whether it may wait is read without the lock: a concurrent change
         * of max_queue only decides whether this one job gets a copy. */
        bool may_wait = spec->queue_timeout_ms != -1 && __atomic_load_n(&p->limits.max_queue, __ATOMIC_RELAXED) > 0;
        /* A keeper reads the spec after we return: the job owns a copy. */
        bool keeper = g->keeper && creds && !call;
        if (may_wait || keeper) {
                r = job_copy_spec(&j->copy, spec, !call);
                if (r < 0)
                        goto fail;
        }
        if (may_wait) {
                int64_t wait_ms = spec->queue_timeout_ms > 0 ? spec->queue_timeout_ms
                                                             : (int64_t) p->limits.queue_timeout_ms;
                j->queue_deadline_usec = wait_ms > 0 ? now_usec() + (uint64_t) wait_ms * 1000 : 0;
        }
        /* Its keeper, or its manager, has its exit status: the supervisor
         * asks for it. */
        if (keeper || g->info.records_exits)
                watch_here = false;

        pthread_mutex_lock(&g->lock);
        r = queue_admit(j, may_wait, res);
        pthread_mutex_unlock(&g->lock);
        if (r < 0)
                goto fail;
        if (r > 0) {
                /* Queued: the supervisor starts it, or ends it. */
                governor_wake(g);
                *ret = j;
                return 0;
        }

        JobLaunch l = keeper ? launch_of_copy(j) : launch_of_spec(j, spec, stdio);
        if (call) {
                l.fn = call->fn;
                l.fn_arg = call->fn_arg;
                l.out_fd = call->out_fd;
        }
        r = job_start(j, &l);
        /* A job without a timer needs nothing of the supervisor until it
         * exits: its pidfd goes straight into the exits epoll, and the
         * supervisor sleeps on (waking it costs more than all the rest of
         * the start on a small machine). One that its keeper starts needs
         * the supervisor to hear the keeper's report. */
        bool handed_over = r < 0 || r == 1 || (!watch_here && j->timeout_ms > 0);
        pthread_mutex_lock(&g->lock);
        if (r < 0) {
                ledger_release(&p->ledger, j->memory, 1);
                pool_settle(p);
                job_list_remove(j);
        } else if (r == 1) {
                j->next_incoming = g->incoming;
                g->incoming = j;
        } else {
                job_started(j);
                j->watched_here = watch_here;
                if (!handed_over && !watch_here && job_watch_exit(j) < 0)
                        handed_over = true;
                if (handed_over) {
                        j->next_incoming = g->incoming;
                        g->incoming = j;
                }
        }
        pthread_mutex_unlock(&g->lock);
        if (handed_over)
                governor_wake(g); /* to watch it, or to give the room to a waiter */
        if (r < 0)
                goto fail;
        *ret = j;
        return 0;
fail:
        j->n_ref = 1;
        job_unref(j);
        return r;
}

/* ---- the API's side (api.h) ---------------------------------------------- */

int gov_submit(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret) {
        struct cgov_result refusal;
        return job_submit(p, spec, NULL, NULL, false, ret, &refusal);
}

int gov_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res) {
        struct timespec deadline;
        cgov *g = j->g;
        int r = 0;

        if (timeout_ms > 0) {
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += timeout_ms / 1000;
                deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
                if (deadline.tv_nsec >= 1000000000) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= 1000000000;
                }
        }

        pthread_mutex_lock(&g->lock);
        while (j->state != JOB_ENDED) {
                if (g->closed) {
                        r = -ESHUTDOWN;
                        break;
                }
                if (timeout_ms == 0) {
                        r = CGOV_E_TIMEOUT;
                        break;
                }
                if (timeout_ms < 0)
                        pthread_cond_wait(&g->job_ended, &g->lock);
                else if (pthread_cond_timedwait(&g->job_ended, &g->lock, &deadline) == ETIMEDOUT &&
                         j->state != JOB_ENDED) {
                        r = CGOV_E_TIMEOUT;
                        break;
                }
        }
        if (r == 0) {
                /* A job that waited and then could not start: its errno. */
                r = j->start_error;
                if (r == 0)
                        *res = j->result;
        }
        pthread_mutex_unlock(&g->lock);
        return r;
}

int gov_run(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res) {
        cgov_job *j;
        int r;

        r = job_submit(p, spec, NULL, NULL, true, &j, res);
        if (r < 0)
                return r;
        r = j->watched_here ? job_wait_here(j) : 0;
        if (r == 0)
                r = gov_await(j, -1, res);
        job_unref(j);
        if (r < 0)
                return r;
        return res->outcome == CGOV_OUTCOME_REJECTED ? res->rejection : 0;
}

/* Lock held. Returns whether j was asked to die now. */
static bool job_kill_locked(cgov_job *j) {
        if (j->kill != JOB_KILL_NONE)
                return false;
        switch (j->state) {
        case JOB_QUEUED:
        case JOB_STARTING:
                /* The supervisor ends a queued job; a starting one is killed
                 * by job_started() the moment it has a leaf, or now, if its
                 * keeper is starting it in one, or its start is stopped
                 * (one the backend makes in the background). */
                j->kill = JOB_KILL_REQUESTED;
                if (j->keeper || j->start_pending)
                        (void) j->g->backend->job_kill(j->g->b, &j->place);
                return true;
        case JOB_RUNNING:
                j->kill = JOB_KILL_REQUESTED;
                (void) j->g->backend->job_kill(j->g->b, &j->place);
                return true;
        default:
                return false; /* ending on its own, or ended */
        }
}

int gov_kill(cgov_job *j) {
        cgov *g = j->g;
        int r = 0;

        pthread_mutex_lock(&g->lock);
        if (j->state == JOB_ENDED || g->closed)
                r = -ESRCH;
        else
                (void) job_kill_locked(j);
        pthread_mutex_unlock(&g->lock);
        governor_wake(g);
        return r;
}

int gov_kill_matching(cgov_pool *p, const char *name) {
        cgov *g = p->g;
        int n = 0;

        pthread_mutex_lock(&g->lock);
        LIST_FOREACH(jobs, j, g->jobs)
                if (pool_within(j->pool, p) && (!name || (j->name && strcmp(j->name, name) == 0)) &&
                    job_kill_locked(j))
                        n++;
        pthread_mutex_unlock(&g->lock);
        if (n > 0)
                governor_wake(g);
        return n;
}

pid_t gov_job_pid(cgov_job *j) {
        /* pid and leaf are written by whichever thread starts the job, and
         * published under the lock by job_started(). */
        pthread_mutex_lock(&j->g->lock);
        pid_t pid = j->state >= JOB_RUNNING ? j->pid : 0;
        pthread_mutex_unlock(&j->g->lock);
        return pid;
}

const char *gov_job_cgroup(cgov_job *j) {
        pthread_mutex_lock(&j->g->lock);
        const char *cg = j->state >= JOB_RUNNING ? j->place.cgroup : NULL;
        pthread_mutex_unlock(&j->g->lock);
        return cg;
}
