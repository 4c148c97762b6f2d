/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The embedded governor's objects, shared by the files of src/lib/core
 * and private to them. Everything here is guarded by cgov.lock unless a
 * field says otherwise. From the top down:
 *
 *   embedded.c   open and close, api_embedded, what cgovd asks (governor.h)
 *   call.c       cgov_call: a C function in a forked child under limits
 *   submit.c     the job calls: submit, await, run, kill
 *   slots.c      slots without a process
 *   adopt.c      re-adoption: taking over what the backend finds
 *   supervisor.c the supervisor's loop (a thread, or the caller's) and its stop
 *   supervise.c  the supervisor's side of a running job: exit, timeout, drain
 *   queue.c      admission, the wait queues, round-robin dispatch
 *   job.c        a job's life: its handle, start, record, end
 *   pool.c       pools: create, find, limits, release, status
 *   ids.c        job ids that never repeat on a root
 *   closer.c     closing a tenant's files on no thread that serves
 *   governor.c   the governor object: references, wake-up, end
 *   ledger.c     the admission ledger (pure)
 *
 * Below the core: the tree through its backend (backend.h), processes
 * (spawn.h, keeper.h); the core never touches a cgroup itself. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "api-ops.h"
#include "backend.h"
#include "cgov.h"
#include "governor.h"
#include "ledger.h"
#include "list.h"
#include "names.h"
#include "time-util.h"

#define DEFAULT_JOB_MEMORY (UINT64_C(64) << 20)

struct cgov_pool {
        ApiHandle api;                 /* first: api_embedded */
        cgov *g;
        cgov_pool *parent;
        char *path;                    /* "shared/customer-a" */
        Place place;                   /* the backend's; its fd closed once removed */
        struct cgov_pool_limits limits;
        LedgerNode ledger;
        bool released;                 /* cgov_pool_release (or an ancestor's) */
        bool removed;                  /* released and its directory is gone */
        bool memory_max_pending;       /* limits.memory_max awaits running jobs */
        uint32_t slots_acquired;       /* cgov_acquire by this handle */
        cgov_job *queue_head, *queue_tail; /* its own waiters, FIFO */
        uint32_t n_waiting;            /* length of its own queue */
        /* whole-subtree figures, like the ledger's */
        uint32_t jobs_running, jobs_queued;
        uint64_t jobs_started, jobs_rejected, jobs_oom_killed;
};

typedef enum JobKill {
        JOB_KILL_NONE,
        JOB_KILL_REQUESTED,  /* cgov_kill, cgov_kill_by_name, cgov_flush */
        JOB_KILL_TIMEOUT,    /* timeout_ms ran out */
} JobKill;

typedef struct JobCopy {
        char **argv, **envp, *cwd;
        int stdio[3];
        bool has_stdio;
} JobCopy;

struct cgov_job {
        ApiHandle api;                 /* first: api_embedded */
        cgov *g;
        cgov_pool *pool;
        unsigned n_ref;                /* atomic: the caller's handle, and the governor's until ENDED */
        uint64_t id;
        char *name;                    /* NULL: unnamed */
        char *program;
        char leaf[NAME_MAX_LEN + 24];  /* "<name>@<id>" */
        uint64_t memory;               /* the reservation */
        uint32_t pids_max;
        uint64_t timeout_ms;
        uint64_t queue_deadline_usec;  /* CLOCK_MONOTONIC; 0: waits forever */
        JobState state;
        JobKill kill;
        bool adopted;                  /* re-adopted; once ended: its exit status is unknown */
        bool readopted;                /* found in the tree at open (adopt.c) */
        bool keeper;                   /* started by a keeper (keeper.h): pidfd is the keeper's,
                                          pid the job's main process once it reported */
        bool counted_running;          /* in jobs_running and the started counters */
        bool start_timed_out;          /* the keeper did not report within start_timeout_ms */
        bool oom_recorded;             /* its manager saw an OOM kill end it (JobExit.oom) */
        int report_fd, report_write_fd; /* the keeper's report pipe, until it reported */
        /* A start the backend makes in the background (JobStart.started):
         * pending until the supervisor has acted on its report, which may
         * come before the job is handed to it (job_watch). Both on the
         * supervisor's thread. */
        bool start_pending, start_watched;
        struct {
                bool came;
                int r, fd, pidfd;
                pid_t pid;
        } start_report;
        pid_t keeper_pid;
        void *keeper_region;           /* its stack, ours again once it is gone (raw-task.h) */
        bool watched_here;             /* its starter waits for it (job_wait_here), not the supervisor */
        uid_t owner;                   /* whom it runs as (recorded, so it survives re-adoption) */
        bool run_as;                   /* creds say whom it runs as (job_submit's creds) */
        SpawnCreds creds;              /* with run_as; creds.groups is owned */
        int start_error;               /* a queued job that could not start: -errno */
        Place place;                   /* the backend's, once started */
        int pidfd;
        pid_t pid;
        uint64_t start_usec;           /* CLOCK_MONOTONIC */
        int wait_code, wait_status;    /* from waitid(), set by the supervisor */
        struct cgov_result result;     /* final once ENDED; while queued, the last refusal */
        JobCopy copy;                  /* owned spec of a job that may wait */
        cgov_fn fn;                    /* cgov_call's function, or NULL */
        void *fn_arg;
        int out_fd;                    /* cgov_call: the write end for fn, not owned */

        /* Owned by the supervisor only (its thread, or the caller's loop). */
        sd_event_source *timeout_source, *drain_source, *start_source;
        unsigned drain_round;
        uint64_t oom_kills;            /* as the last read of the figures found */
        bool stats_final;              /* that read was the last (job_read_stats) */

        LIST_FIELDS(cgov_job, jobs);   /* cgov.jobs: every job not yet ENDED */
        LIST_FIELDS(cgov_job, queue);  /* its pool's queue */
        cgov_job *next_incoming;       /* cgov.incoming */
};

struct cgov {
        ApiHandle api;                 /* first: api_embedded */
        pthread_mutex_t lock;
        pthread_cond_t job_ended;      /* broadcast whenever a job ends, and on close */
        unsigned n_ref;                /* atomic: the caller's until close, one per job */
        bool closed;

        /* The tree, through its backend (backend.h), which sets these at open. */
        const BackendOps *backend;
        Backend *b;                    /* the backend's own */
        BackendInfo info;              /* what it can enforce */

        unsigned flags;
        bool keeper;                   /* jobs with creds start through keepers (GovernorOptions) */

        cgov_pool **pools;             /* every pool ever made, parents before children */
        size_t n_pools;
        size_t dispatch_cursor;        /* round-robin: the pool served last */
        uint32_t n_waiting;            /* queued jobs in all pools */
        uint64_t next_job_id;
        uint64_t ids_reserved;         /* ids below it may be given out (ids.c) */
        char *ids_file;                /* where the mark is kept; NULL: the root's xattr */
        cgov_job *jobs;

        /* The supervisor: an sd-event loop that watches every job's pidfd
         * and timers and serves the queues, on a thread of its own, or the
         * caller's loop (GovernorOptions.event: cgovd's). Other threads hand
         * it work through `incoming` and the eventfd, since an sd_event is
         * single-threaded. Every running job's pidfd is in exits_fd, an
         * epoll of its own inside the loop: the thread that starts a job
         * registers it there itself (epoll_ctl() is thread-safe), so a job
         * without a timer starts without waking the supervisor at all. */
        pthread_t thread;
        bool thread_started;
        bool attached;                 /* event is the caller's (GovernorOptions.event): no thread */
        sd_event *event;
        sd_event_source *wake_source, *queue_timer, *exits_source, *backend_source;
        int wake_fd, exits_fd;
        int closed_fd;                 /* eventfd, readable once closed: for job_wait_here() */
        cgov_job *incoming;
        bool quit;

        /* closer.c: fds waiting for a closer, and the closers running. */
        int *close_queue;
        size_t n_close_queue, close_queue_size;
        unsigned n_closers;

        /* GovernorOptions.job_hook, called with the lock held. */
        void (*job_hook)(cgov_job *j, void *userdata);
        void *job_hook_userdata;
};

/* governor.c */
cgov *governor_new(unsigned flags, const ApiOps *ops);
void governor_unref(cgov *g);
void governor_wake(cgov *g);
void pool_free(cgov_pool *p);

/* supervisor.c: event NULL: a thread of our own. */
int supervisor_start(cgov *g, sd_event *event);
/* Marks the governor closed and stops the supervisor (joins its thread, or
 * leaves the caller's loop): nothing runs on it any more after this. */
void supervisor_stop(cgov *g);

/* The embedded mode's side of the API (api-ops.h): api_embedded's
 * operations (embedded.c, pool.c, submit.c, slots.c, call.c), called with
 * their arguments checked. */
extern const ApiOps api_embedded;
void gov_close(cgov *g);
int gov_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim, cgov_pool **ret);
int gov_pool_find(cgov *g, const char *path, cgov_pool **ret);
int gov_pool_set_limits(cgov_pool *p, const struct cgov_pool_limits *lim);
int gov_pool_release(cgov_pool *p);
int gov_pool_status(cgov_pool *p, struct cgov_pool_status *st);
const char *gov_pool_path(cgov_pool *p);
const char *gov_pool_cgroup(cgov_pool *p);
int gov_submit(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret);
int gov_run(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res);
int gov_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res);
int gov_kill(cgov_job *j);
int gov_kill_matching(cgov_pool *p, const char *name);
pid_t gov_job_pid(cgov_job *j);
const char *gov_job_cgroup(cgov_job *j);
int gov_acquire(cgov_pool *p, unsigned n);
int gov_release(cgov_pool *p, unsigned n);
int gov_call(cgov_pool *p, cgov_fn fn, void *arg, const struct cgov_job_spec *spec, struct cgov_result *res,
             void **out, size_t *out_len);

/* pool.c */
/* Adds delta to one of the whole-subtree counters (jobs_running, ...) of
 * p and of each of its ancestors. Lock held. */
#define POOL_CHAIN_ADD(p, counter, delta)                                  \
        for (cgov_pool *_pool = (p); _pool; _pool = _pool->parent)        \
                _pool->counter += (delta)
cgov_pool *pool_lookup(cgov *g, const char *path);   /* live pools only */
bool pool_within(const cgov_pool *p, const cgov_pool *ancestor);
int pool_add(cgov *g, cgov_pool *parent, const char *path, const struct cgov_pool_limits *lim,
             bool adopt, cgov_pool **ret);
/* After a reservation came back: deferred memory.max writes and the removal
 * of released pools that emptied. Lock held. */
void pool_settle(cgov_pool *p);

/* job.c */
/* Called wherever a job becomes ENDED, lock held: wakes cgov_await, runs
 * the job hook. */
void job_ended_notify(cgov_job *j);
/* A job with nothing but its governor (referenced), pool, references and
 * no fds: every cgov_job comes from here. */
cgov_job *job_alloc(cgov *g, cgov_pool *p, unsigned n_ref);
void job_unref(cgov_job *j);
cgov_job *job_ref(cgov_job *j);
void job_list_remove(cgov_job *j);
JobLaunch launch_of_copy(const cgov_job *j);
void job_copy_free(cgov *g, JobCopy *c);
void job_list_add(cgov_job *j);

/* Makes the job's place and starts the process (the backend's job_start):
 * 0 when it runs, 1 when its keeper or the backend goes on starting it
 * (the supervisor learns how it went: job_watch()); on failure nothing of
 * it remains (the reservation is the caller's to return). */
int job_start(cgov_job *j, const JobLaunch *l);
/* Registers a started job: counters, lists; lock held. */
void job_started(cgov_job *j);
/* What a governor opened later needs to re-adopt it, in its place. */
void job_record(cgov_job *j);

/* supervise.c */
int job_watch(cgov_job *j);                     /* supervising a RUNNING job */
/* The thread that started j (watched_here) waits for its main process and
 * ends it; leftovers go to the supervisor. 0, or -ESHUTDOWN when the governor
 * was closed meanwhile. */
int job_wait_here(cgov_job *j);
/* JobStart.started: the backend's report of a start in the background. */
void job_start_report(void *userdata, int r, int place_fd, const JobProcess *proc);
/* Any thread: puts a started job's pidfd in the exits epoll; 0 or -errno. */
int job_watch_exit(cgov_job *j);
/* The supervisor: the exits epoll is readable. */
int on_exits(sd_event_source *s, int fd, uint32_t revents, void *userdata);
void job_detach(cgov_job *j);                   /* cgov_close: stop supervising, keep running */
/* cgov_close, before the jobs go: a keeper starting one reads the job's
 * launch (the process it starts shares our memory until it execs), so each
 * gets KEEPER_CLOSE_GRACE_USEC to finish; a start still under way then (its
 * cwd on a FUSE mount that never answers, say) is given up: its leaf and its
 * keeper are killed. Whatever happened is what re-adoption finds. */
void jobs_end_starts(cgov_job *jobs);
#define KEEPER_CLOSE_GRACE_USEC (1000 * UINT64_C(1000))

/* The exits epoll's events (supervise.c): a job's (or its keeper's) pidfd
 * carries the job; a keeper's report pipe the job | EXITS_TAG_REPORT; a
 * closer's pidfd (pidfd << 3) | EXITS_TAG_CLOSER. */
#define EXITS_TAG_REPORT 1
#define EXITS_TAG_CLOSER 2
#define EXITS_TAG_MASK 7

/* closer.c: closes fds a tenant gave us (takes them) without blocking
 * the caller; any thread. */
void governor_close_fds(cgov *g, const int *fds, size_t n);
/* closer.c */
void closer_ended(cgov *g, int pidfd);          /* the supervisor: a closer's pidfd is readable */
void closers_flush_at_close(cgov *g);           /* cgov_close: everything waiting, at once */

/* ids.c: job ids that never repeat on a root. Lock held for ids_next. */
int ids_init(cgov *g);                          /* at open, after the leaves are adopted */
uint64_t ids_next(cgov *g);

/* queue.c */
/* Admits j (0), queues it (1) or refuses it (a decision, *res filled). Lock held. */
int queue_admit(cgov_job *j, bool may_wait, struct cgov_result *res);
/* The supervisor's pass over every queue: ends killed, expired and orphaned
 * waiters, admits what fits round-robin across pools, starts them. */
void queue_dispatch(cgov *g);
void queue_unlink(cgov_job *j);

/* adopt.c */
int adopt_tree(cgov *g);                        /* cgov_open: pools and jobs left in the root */

