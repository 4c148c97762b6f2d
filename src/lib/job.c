/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup-fs.h"
#include "internal.h"
#include "macro.h"
#include "spawn.h"

/* A job's life: admitted (ledger) → leaf made, limits written → started in
 * the leaf → main process reaped by the supervisor → leftovers killed, leaf
 * drained → stats read → leaf removed → reservation returned → ENDED.
 * The caller's thread does everything up to the start; the supervisor thread
 * does the rest, so nobody has to poll. */

#define DRAIN_FIRST_USEC 1000ULL       /* leftovers usually die within a millisecond */
#define DRAIN_MAX_USEC 100000ULL

static void chain_add_running(cgov_pool *p, int delta) {
        for (; p; p = p->parent)
                p->jobs_running += delta;
}

void job_unref(cgov_job *j) {
        if (!j || __atomic_sub_fetch(&j->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        cgov *g = j->g;
        safe_close(j->leaf_fd);
        safe_close(j->pidfd);
        free(j->cgroup);
        free(j);
        governor_unref(g);
}

static int spec_check(const struct cgov_job_spec *spec) {
        if (!spec->argv || !spec->argv[0] || !spec->argv[0][0])
                return -EINVAL;
        if (spec->name && !job_name_is_valid(spec->name))
                return -EINVAL;
        if (spec->flags & ~CGOV_JOB_STDIO)
                return -EINVAL;
        if (spec->queue_timeout_ms < -1)
                return -EINVAL;
        if (spec->memory_max > CGOV_SIZE_MAX || spec->pids_max > CGOV_PIDS_MAX)
                return -ERANGE;
        if (spec->timeout_ms > UINT64_MAX / 1000)
                return -ERANGE;
        if (spec->flags & CGOV_JOB_STDIO)
                for (int i = 0; i < 3; i++)
                        if (spec->stdio[i] < -1 || (spec->stdio[i] >= 0 && fcntl(spec->stdio[i], F_GETFD) < 0))
                                return -EBADF;
        return 0;
}

static void fill_refusal(struct cgov_result *res, const cgov_pool *by, const LedgerRefusal *refusal) {
        *res = (struct cgov_result) {
                .outcome = CGOV_OUTCOME_REJECTED,
                .rejection = refusal->error,
                .requested = refusal->requested,
                .available = refusal->available,
                .limit = refusal->limit,
        };
        snprintf(res->rejected_by, sizeof res->rejected_by, "%s", by->path);
}

/* The ledger's node is embedded in its pool. */
static cgov_pool *pool_of_node(const LedgerNode *n) {
        return (cgov_pool *) ((char *) n - offsetof(cgov_pool, ledger));
}

/* Takes the reservation, or fills *res with who refused and why. */
static int job_admit(cgov_job *j, struct cgov_result *res) {
        cgov *g = j->g;
        LedgerRefusal refusal;
        int r;

        pthread_mutex_lock(&g->lock);
        if (g->closed)
                r = -ESHUTDOWN;
        else {
                r = ledger_reserve(&j->pool->ledger, j->memory, 1, &refusal);
                if (r < 0) {
                        for (cgov_pool *p = j->pool; p; p = p->parent)
                                p->jobs_rejected++;
                        fill_refusal(res, pool_of_node(refusal.node), &refusal);
                } else
                        j->id = g->next_job_id++;
        }
        pthread_mutex_unlock(&g->lock);
        return r;
}

static void job_unadmit(cgov_job *j) {
        pthread_mutex_lock(&j->g->lock);
        ledger_release(&j->pool->ledger, j->memory, 1);
        pthread_mutex_unlock(&j->g->lock);
}

/* The leaf, with its limits written before any process can exist in it. */
static int job_make_leaf(cgov_job *j, const struct cgov_job_spec *spec) {
        cgov *g = j->g;
        int r;

        for (;;) {
                r = job_leaf_name(j->leaf, sizeof j->leaf, spec->name, j->id);
                if (r < 0)
                        return r;
                if (mkdirat(j->pool->fd, j->leaf, 0755) >= 0)
                        break;
                if (errno != EEXIST)
                        return negative_errno();
                /* A leaf of an earlier governor on this root still uses the
                 * id: take the next one. */
                pthread_mutex_lock(&g->lock);
                j->id = g->next_job_id++;
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
                r = cg_write_u64(j->leaf_fd, "pids.max", spec->pids_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        goto fail;
        }
        if (asprintf(&j->cgroup, "%s/%s", j->pool->cgroup, j->leaf) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        return 0;
fail:
        j->leaf_fd = safe_close(j->leaf_fd);
        (void) cg_rmdir(j->pool->fd, j->leaf);
        return r;
}

static int job_spawn(cgov_job *j, const struct cgov_job_spec *spec, const char *program) {
        _cleanup_close_ int devnull = -EBADF;
        int stdio[3];
        int r;

        if (spec->flags & CGOV_JOB_STDIO) {
                for (int i = 0; i < 3; i++) {
                        if (spec->stdio[i] >= 0) {
                                stdio[i] = spec->stdio[i];
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

        SpawnParams sp = {
                .path = program,
                .argv = (char *const *) spec->argv,
                .envp = (char *const *) spec->envp,
                .cwd = spec->cwd,
                .stdio = (spec->flags & CGOV_JOB_STDIO) ? stdio : NULL,
                .cgroup_fd = j->leaf_fd,
                .into_cgroup = __atomic_load_n(&j->g->into_cgroup, __ATOMIC_RELAXED),
        };
        j->start_usec = now_usec();
        r = spawn_in_cgroup(&sp, &j->pid, &j->pidfd);
        if (r == -ENOSYS && sp.into_cgroup) {
                /* Remember for the next job: this kernel has no CLONE_INTO_CGROUP. */
                __atomic_store_n(&j->g->into_cgroup, false, __ATOMIC_RELAXED);
                sp.into_cgroup = false;
                r = spawn_in_cgroup(&sp, &j->pid, &j->pidfd);
        }
        return r;
}

/* Everything up to a started job, in the caller's thread. On refusal *res
 * says why; on any failure nothing stays behind. */
static int job_submit(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret, struct cgov_result *res) {
        _cleanup_free_ char *program = NULL;
        cgov_job *j;
        cgov *g = p->g;
        int r;

        r = spec_check(spec);
        if (r < 0)
                return r;
        /* Looked up before anything is reserved: a missing program is the
         * caller's error, not a job that starts and exits 127. */
        r = spawn_find_program(spec->argv[0], (char *const *) spec->envp, &program);
        if (r < 0)
                return r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->g = g;
        j->pool = p;
        j->n_ref = 2; /* the caller's handle and the governor's watch */
        j->leaf_fd = j->pidfd = -EBADF;
        j->memory = spec->memory_max ?: pool_job_memory_default(p);
        j->timeout_ms = spec->timeout_ms;

        r = job_admit(j, res);
        if (r < 0) {
                free(j);
                return r;
        }
        r = job_make_leaf(j, spec);
        if (r < 0)
                goto fail;
        r = job_spawn(j, spec, program);
        if (r < 0) {
                j->leaf_fd = safe_close(j->leaf_fd);
                (void) cg_rmdir(p->fd, j->leaf);
                goto fail;
        }

        __atomic_add_fetch(&g->n_ref, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&g->lock);
        j->state = JOB_RUNNING;
        chain_add_running(p, +1);
        for (cgov_pool *i = p; i; i = i->parent)
                i->jobs_started++;
        j->next = g->jobs;
        if (g->jobs)
                g->jobs->prev = j;
        g->jobs = j;
        j->next_incoming = g->incoming;
        g->incoming = j;
        pthread_mutex_unlock(&g->lock);
        governor_wake(g);

        *ret = j;
        return 0;
fail:
        job_unadmit(j);
        free(j->cgroup);
        free(j);
        return r;
}

/* ---- the supervisor's side --------------------------------------------- */

static void job_read_stats(cgov_job *j, uint64_t *ret_oom_kills) {
        uint64_t v;

        *ret_oom_kills = 0;
        if (cg_read_u64(j->leaf_fd, "memory.peak", &v) >= 0)
                j->result.memory_peak = v;
        if (cg_read_u64(j->leaf_fd, "pids.peak", &v) >= 0)
                j->result.pids_peak = (uint32_t) MIN(v, UINT32_MAX);
        if (cg_read_key_u64(j->leaf_fd, "cpu.stat", "usage_usec", &v) >= 0)
                j->result.cpu_usec = v;
        if (cg_read_key_u64(j->leaf_fd, "memory.events", "oom_kill", &v) >= 0)
                *ret_oom_kills = v;
}

static void job_settle_outcome(cgov_job *j, uint64_t oom_kills) {
        struct cgov_result *res = &j->result;
        /* The governor's kill explains the end only if it is what ended the
         * main process: a job that exited on its own just before keeps its
         * exit code. */
        bool by_sigkill = j->wait_code == CLD_KILLED && j->wait_status == SIGKILL;

        if (j->kill != JOB_KILL_NONE && by_sigkill) {
                res->outcome = j->kill == JOB_KILL_TIMEOUT ? CGOV_OUTCOME_TIMED_OUT : CGOV_OUTCOME_KILLED;
                res->exit_status = SIGKILL;
        } else if (oom_kills > 0) {
                res->outcome = CGOV_OUTCOME_OOM_KILLED;
                res->exit_status = j->wait_code == CLD_EXITED ? j->wait_status : SIGKILL;
        } else if (j->wait_code == CLD_EXITED) {
                res->outcome = CGOV_OUTCOME_EXITED;
                res->exit_status = j->wait_status;
        } else {
                res->outcome = CGOV_OUTCOME_SIGNALED;
                res->exit_status = j->wait_status;
        }
}

static void job_finish(cgov_job *j, uint64_t oom_kills) {
        cgov *g = j->g;

        /* Dropping the source that is dispatching us is allowed: sd-event
         * frees it once the callback returns. */
        j->exit_source = sd_event_source_disable_unref(j->exit_source);
        j->drain_source = sd_event_source_disable_unref(j->drain_source);
        job_settle_outcome(j, oom_kills);

        pthread_mutex_lock(&g->lock);
        ledger_release(&j->pool->ledger, j->memory, 1);
        chain_add_running(j->pool, -1);
        if (j->result.outcome == CGOV_OUTCOME_OOM_KILLED)
                for (cgov_pool *p = j->pool; p; p = p->parent)
                        p->jobs_oom_killed++;
        j->state = JOB_ENDED;
        j->leaf_fd = safe_close(j->leaf_fd);
        j->pidfd = safe_close(j->pidfd);
        if (j->prev)
                j->prev->next = j->next;
        else
                g->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->prev = j->next = NULL;
        pthread_cond_broadcast(&g->job_ended);
        pthread_mutex_unlock(&g->lock);

        job_unref(j); /* the governor's watch */
}

static int on_drain(sd_event_source *s, uint64_t usec, void *userdata);

/* Called once the main process is reaped, then again from a timer until the
 * leaf is empty and gone. Stats are read while the leaf still exists. */
static void job_drain(cgov_job *j) {
        uint64_t oom_kills;
        int r;

        r = cg_is_populated(j->leaf_fd);
        if (r > 0) {
                /* Without cgroup.kill each round kills what the last one missed. */
                if (!j->g->have_kill_file)
                        (void) cg_kill(j->leaf_fd, false);
        } else {
                job_read_stats(j, &oom_kills);
                r = cg_rmdir(j->pool->fd, j->leaf);
                if (r != -EBUSY) {
                        /* Any other error leaves the leaf for the next
                         * cgov_open to clean; the job is over either way. */
                        job_finish(j, oom_kills);
                        return;
                }
        }

        uint64_t delay = MIN(DRAIN_FIRST_USEC << MIN(j->drain_round, 16u), DRAIN_MAX_USEC);
        j->drain_round++;
        if (j->drain_source) {
                (void) sd_event_source_set_time_relative(j->drain_source, delay);
                (void) sd_event_source_set_enabled(j->drain_source, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time_relative(j->g->event, &j->drain_source,
                                              CLOCK_MONOTONIC, delay, 0, on_drain, j) < 0) {
                /* Out of memory in the loop: finish without removing the leaf
                 * rather than hold the reservation forever. */
                job_read_stats(j, &oom_kills);
                job_finish(j, oom_kills);
        }
}

static int on_drain(sd_event_source *s, uint64_t usec, void *userdata) {
        job_drain(userdata);
        return 0;
}

static int on_job_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        cgov_job *j = userdata;
        int code = 0, status = 0;

        if (spawn_reap(j->pidfd, &code, &status) < 0)
                code = CLD_KILLED, status = SIGKILL; /* cannot happen for our own child */
        j->result.wall_usec = now_usec() - j->start_usec;
        j->timeout_source = sd_event_source_disable_unref(j->timeout_source);
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);

        pthread_mutex_lock(&j->g->lock);
        j->state = JOB_ENDING;
        j->wait_code = code;
        j->wait_status = status;
        pthread_mutex_unlock(&j->g->lock);

        /* Whatever the main process left behind dies with it. */
        if (cg_is_populated(j->leaf_fd) > 0)
                (void) cg_kill(j->leaf_fd, j->g->have_kill_file);
        job_drain(j);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        cgov_job *j = userdata;

        pthread_mutex_lock(&j->g->lock);
        if (j->state == JOB_RUNNING && j->kill == JOB_KILL_NONE) {
                j->kill = JOB_KILL_TIMEOUT;
                (void) cg_kill(j->leaf_fd, j->g->have_kill_file);
        }
        pthread_mutex_unlock(&j->g->lock);
        return 0;
}

int job_watch(cgov_job *j) {
        int r;

        r = sd_event_add_io(j->g->event, &j->exit_source, j->pidfd, EPOLLIN, on_job_exit, j);
        if (r < 0)
                goto fail;
        if (j->timeout_ms > 0) {
                /* Measured from the start, not from when the loop got here. */
                uint64_t deadline = j->start_usec + j->timeout_ms * 1000;
                r = sd_event_add_time(j->g->event, &j->timeout_source, CLOCK_MONOTONIC, deadline, 1000,
                                      on_timeout, j);
                if (r < 0)
                        goto fail;
        }
        return 0;
fail:
        /* A job we cannot watch must not run unwatched: kill it and wait for
         * it here, so its reservation still comes back. */
        (void) cg_kill(j->leaf_fd, j->g->have_kill_file);
        (void) spawn_reap(j->pidfd, &j->wait_code, &j->wait_status);
        j->state = JOB_ENDING;
        while (cg_is_populated(j->leaf_fd) > 0) {
                (void) cg_kill(j->leaf_fd, j->g->have_kill_file);
                (void) nanosleep(&(struct timespec) { .tv_nsec = 1000000 }, NULL);
        }
        uint64_t oom_kills;
        job_read_stats(j, &oom_kills);
        (void) cg_rmdir(j->pool->fd, j->leaf);
        job_finish(j, oom_kills);
        return r;
}

void job_detach(cgov_job *j) {
        j->exit_source = sd_event_source_disable_unref(j->exit_source);
        j->timeout_source = sd_event_source_disable_unref(j->timeout_source);
        j->drain_source = sd_event_source_disable_unref(j->drain_source);
        j->prev = j->next = j->next_incoming = NULL;
        job_unref(j);
}

/* ---- the public side ---------------------------------------------------- */

_public_ int cgov_submit(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret) {
        struct cgov_result refusal;

        assert_return(p, -EINVAL);
        assert_return(spec, -EINVAL);
        assert_return(ret, -EINVAL);
        return job_submit(p, spec, ret, &refusal);
}

_public_ int cgov_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res) {
        struct timespec deadline;
        cgov *g;
        int r = 0;

        assert_return(j, -EINVAL);
        assert_return(res, -EINVAL);
        assert_return(timeout_ms >= -1, -EINVAL);
        g = j->g;

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
        if (r == 0)
                *res = j->result;
        pthread_mutex_unlock(&g->lock);
        return r;
}

_public_ int cgov_run(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res) {
        cgov_job *j;
        int r;

        assert_return(p, -EINVAL);
        assert_return(spec, -EINVAL);
        assert_return(res, -EINVAL);

        r = job_submit(p, spec, &j, res);
        if (r < 0)
                return r;
        r = cgov_await(j, -1, res);
        cgov_job_free(j);
        if (r < 0)
                return r;
        return res->outcome == CGOV_OUTCOME_REJECTED ? res->rejection : 0;
}

_public_ int cgov_kill(cgov_job *j) {
        cgov *g;
        int r = 0;

        assert_return(j, -EINVAL);
        g = j->g;

        pthread_mutex_lock(&g->lock);
        if (j->state == JOB_ENDED || g->closed)
                r = -ESRCH;
        else if (j->state == JOB_RUNNING && j->kill == JOB_KILL_NONE) {
                j->kill = JOB_KILL_REQUESTED;
                r = cg_kill(j->leaf_fd, g->have_kill_file);
        }
        pthread_mutex_unlock(&g->lock);
        return r;
}

_public_ pid_t cgov_job_pid(cgov_job *j) {
        return j ? j->pid : 0;
}

_public_ const char *cgov_job_cgroup(cgov_job *j) {
        return j ? j->cgroup : NULL;
}

_public_ void cgov_job_free(cgov_job *j) {
        job_unref(j);
}
