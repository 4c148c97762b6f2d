/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "keeper.h"
#include "macro.h"
#include "raw-task.h"
#include "spawn.h"

/* The supervisor's side of a running job, all in the supervisor thread:
 * the main process exits (its pidfd turns readable) or runs out of time →
 * leftovers are killed → the leaf drains → stats are read → the leaf is
 * removed → the reservation comes back and waiters get their turn. */

#define DRAIN_FIRST_USEC 1000ULL       /* leftovers usually die within a millisecond */
#define DRAIN_MAX_USEC 100000ULL


static int job_remove(cgov_job *j) {
        return j->g->backend->job_remove(j->g->b, &j->pool->place, j->leaf, &j->place);
}

/* Once stats_final (a manager removes the place once it is empty: they
 * were read when the main process ended), the figures read then. */
static void job_read_stats(cgov_job *j, uint64_t *ret_oom_kills) {
        if (!j->stats_final)
                j->g->backend->job_stats(j->g->b, &j->place, &j->result, &j->oom_kills);
        *ret_oom_kills = j->oom_kills;
}

static void job_settle_outcome(cgov_job *j, uint64_t oom_kills) {
        struct cgov_result *res = &j->result;

        if (!j->counted_running) {
                /* Its keeper never reported it started: killed while it
                 * started, or it could not start (start_error says why). */
                *res = (struct cgov_result) {
                        .outcome = j->kill == JOB_KILL_REQUESTED ? CGOV_OUTCOME_KILLED : CGOV_OUTCOME_UNKNOWN,
                        .exit_status = j->kill == JOB_KILL_REQUESTED ? SIGKILL : 0,
                        .wall_usec = res->wall_usec,
                };
                return;
        }
        /* The governor's kill explains the end only if it is what ended the
         * main process: a job that exited on its own just before keeps its
         * exit code. */
        bool by_sigkill = j->wait_code == CLD_KILLED && j->wait_status == SIGKILL;

        if (j->adopted && j->kill != JOB_KILL_NONE) {
                /* Not our child: its exit status is not ours to read. */
                res->outcome = j->kill == JOB_KILL_TIMEOUT ? CGOV_OUTCOME_TIMED_OUT : CGOV_OUTCOME_KILLED;
                res->exit_status = SIGKILL;
        } else if (j->kill != JOB_KILL_NONE && by_sigkill) {
                res->outcome = j->kill == JOB_KILL_TIMEOUT ? CGOV_OUTCOME_TIMED_OUT : CGOV_OUTCOME_KILLED;
                res->exit_status = SIGKILL;
        } else if (oom_kills > 0 || j->oom_recorded) {
                res->outcome = CGOV_OUTCOME_OOM_KILLED;
                res->exit_status = j->wait_code == CLD_EXITED ? j->wait_status : SIGKILL;
        } else if (j->adopted) {
                res->outcome = CGOV_OUTCOME_UNKNOWN;
        } else if (j->wait_code == CLD_EXITED) {
                res->outcome = CGOV_OUTCOME_EXITED;
                res->exit_status = j->wait_status;
        } else {
                res->outcome = CGOV_OUTCOME_SIGNALED;
                res->exit_status = j->wait_status;
        }
}

/* Its keeper's stack is ours again: the keeper has exited, and so has
 * whatever of the job ran on that stack (the job's process, until its
 * exec). Called when the keeper exited on its own, which it does only once
 * the job's process has exec'd or ended (it waits for that, as vfork does),
 * and when the leaf is empty. A keeper killed while it waited leaves the
 * job's process, which may still be running on the stack, to the leaf. */
static void keeper_gone(cgov_job *j) {
        raw_task_reclaim(j->keeper_region);
        j->keeper_region = NULL;
}

static void job_finish(cgov_job *j, uint64_t oom_kills) {
        cgov *g = j->g;
        bool waiters;

        /* Dropping the source that is dispatching us is allowed: sd-event
         * frees it once the callback returns. */
        j->drain_source = sd_event_source_disable_unref(j->drain_source);
        job_settle_outcome(j, oom_kills);

        pthread_mutex_lock(&g->lock);
        ledger_release(&j->pool->ledger, j->memory, 1);
        if (j->counted_running)
                POOL_CHAIN_ADD(j->pool, jobs_running, -1);
        if (j->result.outcome == CGOV_OUTCOME_OOM_KILLED)
                POOL_CHAIN_ADD(j->pool, jobs_oom_killed, 1);
        j->state = JOB_ENDED;
        j->place.fd = safe_close(j->place.fd);
        j->pidfd = safe_close(j->pidfd);
        j->start_source = sd_event_source_disable_unref(j->start_source);
        job_list_remove(j);
        pool_settle(j->pool);
        job_ended_notify(j);
        waiters = g->n_waiting > 0;
        pthread_mutex_unlock(&g->lock);

        job_unref(j); /* the governor's watch */
        /* The room it held may be a waiter's turn: the supervisor's next
         * round serves the queues (on its own thread, the wake-up is one
         * write to its eventfd, read in the same pass of its loop). */
        if (waiters)
                governor_wake(g);
}

static int on_drain(sd_event_source *s, uint64_t usec, void *userdata);

/* The leaf's stats are read while it still exists, then it goes and the
 * job ends. false: something still runs in it. */
static bool job_leaf_done(cgov_job *j) {
        uint64_t oom_kills;

        job_read_stats(j, &oom_kills);
        if (job_remove(j) == -EBUSY)
                return false;
        /* Any other error leaves the leaf for the next cgov_open to clean;
         * the job is over either way. */
        keeper_gone(j);
        job_finish(j, oom_kills);
        return true;
}

/* Another try at the leaf, later: each round waits twice as long. */
static void job_drain_later(cgov_job *j) {
        uint64_t oom_kills;
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

/* Called from the timer until the leaf is empty and gone. */
static int on_drain(sd_event_source *s, uint64_t usec, void *userdata) {
        cgov_job *j = userdata;
        int r = j->g->backend->job_populated(j->g->b, &j->place);

        if (r <= 0 && job_leaf_done(j))
                return 0;
        job_drain_later(j);
        return 0;
}

/* Whatever the main process left behind dies with it, and the leaf drains. */
static void job_main_gone(cgov_job *j) {
        if (job_leaf_done(j))
                return;
        (void) j->g->backend->job_kill(j->g->b, &j->place);
        job_drain_later(j);
}

/* The keeper is done reading the job's launch (it reported, or it ended):
 * what it took from us can go, the tenant's stdio through a closer. */
static void job_keeper_launched(cgov_job *j) {
        j->report_write_fd = safe_close(j->report_write_fd);
        j->report_fd = safe_close(j->report_fd);
        job_copy_free(j->g, &j->copy);
}

/* A job that never started: how. Lock held. */
static int keeper_start_error(cgov_job *j, int report, int code, int status) {
        if (j->start_timed_out)
                return -ETIMEDOUT;          /* we gave up on it (and killed it) */
        if (j->start_error < 0)
                return j->start_error;      /* its report, read already */
        if (report < 0 && report != -ECHILD)
                return report;              /* the keeper said why */
        if (code == CLD_EXITED && status > 0 && status < 4096)
                return -status;             /* it failed before it could report */
        return -ECHILD;                     /* it was killed */
}

/* How the main process ended, as its keeper or its manager recorded it
 * (read by the caller without the lock: from the manager it is a round
 * trip that no admission need wait for). Lock held. */
static void job_recorded_exit(cgov_job *j, int recorded, const JobExit *e, int *ret_code, int *ret_status) {
        j->adopted = recorded < 0;
        if (j->adopted) {
                *ret_code = *ret_status = 0;
                return;
        }
        if (e->stopped && j->kill == JOB_KILL_NONE) {
                /* Stopped by its manager (systemctl stop): killed. */
                j->kill = JOB_KILL_REQUESTED;
                j->adopted = true;
        }
        j->oom_recorded = e->oom;
        if (e->cpu_usec > 0)
                j->result.cpu_usec = e->cpu_usec;
        *ret_code = e->code;
        *ret_status = e->status;
}

/* The main process is gone (or, for a re-adopted job, was gone already).
 * With a keeper, "main" is the keeper, which records how the job's own
 * main process ended before it goes. */
static void job_main_ended(cgov_job *j) {
        int code = 0, status = 0, report = 0, recorded = -ENODATA;
        bool records = j->keeper || j->g->info.records_exits;
        uint64_t oom_kills;
        JobExit e = {};
        pid_t jpid = 0;

        /* A job re-adopted from another process is not our child: waitid()
         * says ECHILD at once and its status is lost. One re-adopted by this
         * same process (cgov_close, then cgov_open) still is our child:
         * reaping it gives its real status and leaves no zombie. Our own
         * child can fail here only if the host program reaped it behind our
         * back (cgov_call's fork() child sends SIGCHLD). From here on,
         * `adopted` means "no exit status". */
        j->adopted = j->pidfd < 0 || j->g->info.records_exits || spawn_reap(j->pidfd, &code, &status) < 0;
        if (!j->adopted && code == CLD_EXITED)
                keeper_gone(j);
        j->result.wall_usec = now_usec() - j->start_usec;
        j->timeout_source = sd_event_source_disable_unref(j->timeout_source);
        j->start_source = sd_event_source_disable_unref(j->start_source);
        if (j->keeper && j->report_fd >= 0)
                report = keeper_read_report(j->report_fd, &jpid);
        job_keeper_launched(j);
        /* A manager removes the place once it is empty, maybe before
         * job_leaf_done(): its figures are read first. */
        if (j->g->info.records_exits) {
                job_read_stats(j, &oom_kills);
                j->stats_final = true;
        }
        if (records)
                recorded = j->g->backend->job_recorded_exit(j->g->b, &j->place, &e);

        pthread_mutex_lock(&j->g->lock);
        if (j->state == JOB_STARTING && j->keeper) {
                if (report > 0 && j->kill == JOB_KILL_NONE && !j->start_timed_out) {
                        /* It started and ended before we heard: both now. */
                        j->pid = jpid;
                        job_started(j);
                } else if (j->kill == JOB_KILL_NONE) {
                        j->start_error = keeper_start_error(j, report, code, status);
                        /* cgovd answers the job's submitter now, whatever
                         * it takes to empty the leaf. */
                        j->state = JOB_ENDING;
                        if (j->g->job_hook)
                                j->g->job_hook(j, j->g->job_hook_userdata);
                }
        }
        if (records && j->counted_running)
                job_recorded_exit(j, recorded, &e, &code, &status);
        j->state = JOB_ENDING;
        j->wait_code = code;
        j->wait_status = status;
        pthread_mutex_unlock(&j->g->lock);
        job_main_gone(j);
}

/* The keeper's report came: the job runs (or could not start, and the
 * keeper's end follows). */
static void job_keeper_reported(cgov_job *j) {
        pid_t jpid = 0;
        int r = keeper_read_report(j->report_fd, &jpid);

        if (r == 0) {
                /* Woken for nothing: watch again. */
                struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = (uintptr_t) j | EXITS_TAG_REPORT };
                (void) epoll_ctl(j->g->exits_fd, EPOLL_CTL_MOD, j->report_fd, &ev);
                return;
        }
        if (r < 0) {
                /* The keeper ends now; job_main_ended() tells the rest. Its
                 * report may come after we gave up on the start (its child
                 * died of our kill: ECHILD), and then says nothing new. */
                pthread_mutex_lock(&j->g->lock);
                if (j->start_error == 0 && r != -ECHILD)
                        j->start_error = r;
                pthread_mutex_unlock(&j->g->lock);
                return;
        }
        j->start_source = sd_event_source_disable_unref(j->start_source);
        job_keeper_launched(j);
        pthread_mutex_lock(&j->g->lock);
        /* We gave up on it (and killed it): what it reports now is moot. */
        if (j->state == JOB_STARTING) {
                j->pid = jpid;
                job_started(j);
                job_record(j); /* now with its main pid */
                if (j->g->job_hook)
                        j->g->job_hook(j, j->g->job_hook_userdata);
        }
        pthread_mutex_unlock(&j->g->lock);
}

/* A start given up on: the process being started is born in the leaf
 * (keepers need 5.9, CLONE_INTO_CGROUP is 5.7), so once the kill is pending
 * there it runs no more of its own code; the keeper dies with it. A start
 * the backend makes in the background is stopped (job_kill), and its
 * report follows. */
static void keeper_start_kill(cgov_job *j) {
        (void) j->g->backend->job_kill(j->g->b, &j->place);
        (void) syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
}

static int on_start_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        cgov_job *j = userdata;

        pthread_mutex_lock(&j->g->lock);
        if (j->state == JOB_STARTING) {
                /* A path of its user's that never answers (a FUSE mount that
                 * hangs, say): the keeper and what it started die. One stuck
                 * in the kernel stays until it is let go (and holds the
                 * job's room meanwhile), but the start has failed now. */
                j->start_timed_out = true;
                j->start_error = -ETIMEDOUT;
                keeper_start_kill(j);
                j->state = JOB_ENDING;
                if (j->g->job_hook)
                        j->g->job_hook(j, j->g->job_hook_userdata);
        }
        pthread_mutex_unlock(&j->g->lock);
        return 0;
}

static void job_time_out(cgov_job *j) {
        pthread_mutex_lock(&j->g->lock);
        if (j->state == JOB_RUNNING && j->kill == JOB_KILL_NONE) {
                j->kill = JOB_KILL_TIMEOUT;
                (void) j->g->backend->job_kill(j->g->b, &j->place);
        }
        pthread_mutex_unlock(&j->g->lock);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        job_time_out(userdata);
        return 0;
}

/* cgov_run's thread sees its own job to the end, as waitpid() would: handing
 * the exit to the supervisor thread and being woken by it costs two thread
 * wake-ups, as much again as all of the rest of the cycle on a small
 * machine. The supervisor still takes over leftovers that need time to
 * die, and cgov_close still ends the wait (the job runs on, as ever). */
int job_wait_here(cgov_job *j) {
        cgov *g = j->g;
        struct pollfd fds[2] = {
                { .fd = j->pidfd, .events = POLLIN },
                { .fd = g->closed_fd, .events = POLLIN },
        };
        uint64_t deadline = j->timeout_ms > 0 ? j->start_usec + j->timeout_ms * 1000 : 0;
        int code = 0, status = 0, r;
        bool drop_watch = false;

        for (;;) {
                int timeout = -1;
                if (deadline > 0) {
                        uint64_t now = now_usec();
                        if (now >= deadline) {
                                job_time_out(j);
                                deadline = 0;
                                continue;
                        }
                        timeout = (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT_MAX);
                }
                r = poll(fds, 2, timeout);
                if (r < 0 && errno != EINTR) {
                        /* Cannot wait here: the supervisor watches it, and
                         * cgov_await waits for the supervisor. */
                        pthread_mutex_lock(&g->lock);
                        j->next_incoming = g->incoming;
                        g->incoming = j;
                        pthread_mutex_unlock(&g->lock);
                        governor_wake(g);
                        return 0;
                }
                if (r > 0 && fds[1].revents)
                        return -ESHUTDOWN;
                if (r > 0 && fds[0].revents)
                        break;
        }

        /* As job_main_ended(), here; and out of the governor's list, so that
         * a cgov_close from now on leaves this job to us. */
        j->adopted = spawn_reap(j->pidfd, &code, &status) < 0;
        j->result.wall_usec = now_usec() - j->start_usec;
        pthread_mutex_lock(&g->lock);
        if (g->closed) {
                pthread_mutex_unlock(&g->lock);
                return -ESHUTDOWN;
        }
        j->state = JOB_ENDING;
        j->wait_code = code;
        j->wait_status = status;
        job_list_remove(j);
        pthread_mutex_unlock(&g->lock);

        if (job_leaf_done(j))
                return 0;

        /* Leftovers: the supervisor kills them and drains the leaf on its
         * timers. Back in the list, so that cgov_close detaches it. */
        pthread_mutex_lock(&g->lock);
        if (g->closed)
                drop_watch = true;
        else {
                job_list_add(j);
                j->next_incoming = g->incoming;
                g->incoming = j;
        }
        pthread_mutex_unlock(&g->lock);
        if (drop_watch) {
                job_unref(j); /* what cgov_close would have detached */
                return -ESHUTDOWN;
        }
        governor_wake(g);
        return 0;
}

int job_watch_exit(cgov_job *j) {
        /* One-shot: the event comes once, and closing the pidfd at the end
         * takes it out of the epoll without another system call. */
        struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = (uintptr_t) j };
        return epoll_ctl(j->g->exits_fd, EPOLL_CTL_ADD, j->pidfd, &ev) < 0 ? negative_errno() : 0;
}

static int job_watch_start_deadline(cgov_job *j) {
        if (j->creds.start_timeout_ms == 0)
                return 0;
        int r = sd_event_add_time(j->g->event, &j->start_source, CLOCK_MONOTONIC,
                                  j->start_usec + j->creds.start_timeout_ms * 1000, 1000, on_start_timeout, j);
        return r < 0 ? r : 0;
}

/* A job its keeper starts: its report, and its start's deadline. */
static int job_watch_start(cgov_job *j) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = (uintptr_t) j | EXITS_TAG_REPORT };

        if (epoll_ctl(j->g->exits_fd, EPOLL_CTL_ADD, j->report_fd, &ev) < 0)
                return negative_errno();
        return job_watch_start_deadline(j);
}

/* A start the backend made in the background is over, and the job is the
 * supervisor's: it runs, or it could not start, or it was given up on
 * meanwhile (its start timed out); then it is watched as any other. */
static void job_start_reported(cgov_job *j) {
        cgov *g = j->g;
        bool was_starting;

        j->start_source = sd_event_source_disable_unref(j->start_source);
        pthread_mutex_lock(&g->lock);
        j->start_pending = false;
        if (j->start_report.r == 0) {
                j->place.fd = j->start_report.fd;
                j->pidfd = j->start_report.pidfd;
                j->pid = j->start_report.pid;
        }
        was_starting = j->state == JOB_STARTING;
        if (was_starting && j->start_report.r == 0) {
                job_started(j); /* which kills it, if that was asked meanwhile */
                job_record(j);  /* now in its place, with its main pid */
        } else if (was_starting) {
                /* Stopped by a kill, or it could not start. */
                if (j->kill == JOB_KILL_NONE)
                        j->start_error = j->start_report.r;
                j->state = JOB_ENDING;
        } else if (j->start_report.r == 0)
                /* Its start timed out: it dies now that it has a place. */
                (void) g->backend->job_kill(g->b, &j->place);
        if (was_starting && g->job_hook)
                g->job_hook(j, g->job_hook_userdata);
        pthread_mutex_unlock(&g->lock);
        (void) job_watch(j);
}

void job_start_report(void *userdata, int r, int place_fd, const JobProcess *proc) {
        cgov_job *j = userdata;

        j->start_report.came = true;
        j->start_report.r = r;
        j->start_report.fd = place_fd;
        j->start_report.pidfd = proc->pidfd;
        j->start_report.pid = proc->pid;
        if (j->start_watched)
                job_start_reported(j);
}

/* The exits epoll holds each job's (or keeper's) pidfd, tagged with the
 * job, and each keeper's report pipe, tagged with the job | 1. */
int on_exits(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct epoll_event ev[64];
        int n;

        n = epoll_wait(fd, ev, 64, 0);
        for (int i = 0; i < n; i++) {
                uint64_t data = ev[i].data.u64;
                cgov_job *j = (cgov_job *) (uintptr_t) (data & ~(uint64_t) EXITS_TAG_MASK);
                switch (data & EXITS_TAG_MASK) {
                case EXITS_TAG_REPORT:
                        if (j->report_fd >= 0)
                                job_keeper_reported(j);
                        break;
                case EXITS_TAG_CLOSER:
                        closer_ended(userdata, (int) (data >> 3));
                        break;
                default:
                        job_main_ended(j);
                }
        }
        return 0;
}


int job_watch(cgov_job *j) {
        int r;

        if (j->start_pending) {
                /* Started in the background: its report says what next
                 * (without a deadline, if the loop is out of memory). */
                if (j->start_report.came)
                        job_start_reported(j);
                else {
                        j->start_watched = true;
                        (void) job_watch_start_deadline(j);
                }
                return 0;
        }
        if (j->state == JOB_ENDING) {
                /* From job_wait_here(): the main process is reaped, leftovers remain. */
                job_main_gone(j);
                return 0;
        }
        if (j->timeout_ms > 0) {
                /* Measured from the start, not from when the loop got here. */
                uint64_t deadline = j->start_usec + j->timeout_ms * 1000;
                r = sd_event_add_time(j->g->event, &j->timeout_source, CLOCK_MONOTONIC, deadline, 1000,
                                      on_timeout, j);
                if (r < 0)
                        goto fail;
        }
        if (j->pidfd < 0) {
                /* Re-adopted after its main process ended: only leftovers remain. */
                job_main_ended(j);
                return 0;
        }
        if (j->state == JOB_STARTING && j->report_fd >= 0) {
                r = job_watch_start(j);
                if (r < 0)
                        goto fail;
        }
        r = job_watch_exit(j);
        if (r < 0)
                goto fail;
        return 0;
fail:
        /* A job we cannot watch must not run unwatched (out of memory in the
         * loop): kill it and wait for it here, so its reservation comes back. */
        pthread_mutex_lock(&j->g->lock);
        j->kill = JOB_KILL_REQUESTED;
        pthread_mutex_unlock(&j->g->lock);
        while (j->g->backend->job_populated(j->g->b, &j->place) > 0) {
                (void) j->g->backend->job_kill(j->g->b, &j->place);
                (void) nanosleep(&(struct timespec) { .tv_nsec = 1000000 }, NULL);
        }
        j->timeout_source = sd_event_source_disable_unref(j->timeout_source);
        j->start_source = sd_event_source_disable_unref(j->start_source);
        job_keeper_launched(j);
        if (!j->adopted)
                (void) spawn_reap(j->pidfd, &j->wait_code, &j->wait_status);
        keeper_gone(j);
        pthread_mutex_lock(&j->g->lock);
        j->state = JOB_ENDING;
        pthread_mutex_unlock(&j->g->lock);
        uint64_t oom_kills;
        job_read_stats(j, &oom_kills);
        (void) job_remove(j);
        job_finish(j, oom_kills);
        return r;
}

/* Is j's keeper still starting it, reading its launch? */
static bool keeper_busy(const cgov_job *j) {
        struct pollfd p[2] = { { .fd = j->report_fd, .events = POLLIN }, { .fd = j->pidfd, .events = POLLIN } };

        if (!j->keeper || j->report_fd < 0)
                return false;
        /* Reported, or gone (pidfds are readable once the process exits). */
        return poll(p, 2, 0) == 0;
}

/* Waits until no keeper of these jobs is starting one, or until deadline;
 * true when none is. */
static bool keepers_settle(cgov_job *jobs, uint64_t deadline) {
        for (;;) {
                bool busy = false;
                LIST_FOREACH(jobs, j, jobs)
                        busy = busy || keeper_busy(j);
                if (!busy)
                        return true;
                if (now_usec() >= deadline)
                        return false;
                (void) poll(NULL, 0, 5);
        }
}

void jobs_end_starts(cgov_job *jobs) {
        if (keepers_settle(jobs, now_usec() + KEEPER_CLOSE_GRACE_USEC))
                return;
        LIST_FOREACH(jobs, j, jobs)
                if (keeper_busy(j))
                        keeper_start_kill(j);
        /* Killed keepers die at once; a longer wait means a kernel that
         * cannot kill them, and then nothing we could do would help. */
        (void) keepers_settle(jobs, UINT64_MAX);
}

void job_detach(cgov_job *j) {
        j->timeout_source = sd_event_source_disable_unref(j->timeout_source);
        j->drain_source = sd_event_source_disable_unref(j->drain_source);
        j->start_source = sd_event_source_disable_unref(j->start_source);
        j->jobs_prev = j->jobs_next = j->next_incoming = NULL;
        job_unref(j);
}

