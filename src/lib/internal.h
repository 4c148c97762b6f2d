/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The governor's objects, shared by governor.c (open/close and the
 * supervisor loop), pool.c and job.c. Everything here is guarded by
 * cgov.lock unless a field says otherwise. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cgov.h"
#include "ledger.h"
#include "names.h"

#define DEFAULT_JOB_MEMORY (UINT64_C(64) << 20)

struct cgov_pool {
        cgov *g;
        cgov_pool *parent;
        char *path;                    /* "shared/customer-a" */
        char *cgroup;                  /* absolute directory */
        int fd;                        /* its directory; immutable once created */
        struct cgov_pool_limits limits;
        LedgerNode ledger;
        /* whole-subtree figures, like the ledger's */
        uint32_t jobs_running, jobs_queued;
        uint64_t jobs_started, jobs_rejected, jobs_oom_killed;
};

typedef enum JobState {
        JOB_RUNNING,   /* its main process runs */
        JOB_ENDING,    /* main process reaped; the leaf is being emptied and removed */
        JOB_ENDED,     /* result final, reservation returned */
} JobState;

typedef enum JobKill {
        JOB_KILL_NONE,
        JOB_KILL_REQUESTED,  /* cgov_kill */
        JOB_KILL_TIMEOUT,    /* timeout_ms ran out */
} JobKill;

struct cgov_job {
        cgov *g;
        cgov_pool *pool;
        unsigned n_ref;                /* atomic: the caller's handle, and the governor's until ENDED */
        uint64_t id;
        char leaf[NAME_MAX_LEN + 24];  /* "<name>@<id>" */
        char *cgroup;                  /* absolute leaf directory */
        uint64_t memory;               /* the reservation */
        uint64_t timeout_ms;
        JobState state;
        JobKill kill;
        int leaf_fd, pidfd;
        pid_t pid;
        uint64_t start_usec;           /* CLOCK_MONOTONIC */
        int wait_code, wait_status;    /* from waitid(), set by the supervisor */
        struct cgov_result result;     /* final once ENDED */

        /* Owned by the supervisor thread only. */
        sd_event_source *exit_source, *timeout_source, *drain_source;
        unsigned drain_round;

        cgov_job *prev, *next;         /* cgov.jobs: every job not yet ENDED */
        cgov_job *next_incoming;       /* cgov.incoming */
};

struct cgov {
        pthread_mutex_t lock;
        pthread_cond_t job_ended;      /* broadcast whenever a job ends, and on close */
        unsigned n_ref;                /* atomic: the caller's until close, one per job handle */
        bool closed;

        char *root;                    /* absolute path of the delegated root */
        int root_fd;
        unsigned flags;
        bool have_memory, have_pids;   /* enabled below the root: limits are written */
        bool have_kill_file;           /* cgroup.kill (5.14) */
        bool into_cgroup;              /* clone3(CLONE_INTO_CGROUP) (5.7) works */

        cgov_pool **pools;             /* every pool, parents before children */
        size_t n_pools;
        uint64_t next_job_id;
        cgov_job *jobs;

        /* The supervisor: one thread running an sd-event loop that watches
         * every job's pidfd and timers. Other threads hand it work through
         * `incoming` and the eventfd, since an sd_event is single-threaded. */
        pthread_t thread;
        bool thread_started;
        sd_event *event;
        sd_event_source *wake_source;
        int wake_fd;
        cgov_job *incoming;
        bool quit;
};

/* governor.c */
void governor_unref(cgov *g);
void governor_wake(cgov *g);
uint64_t now_usec(void);

/* pool.c */
void pool_free(cgov_pool *p);
cgov_pool *pool_lookup(cgov *g, const char *path);
uint64_t pool_job_memory_default(const cgov_pool *p);

/* job.c: the supervisor's side of a job's life */
int job_watch(cgov_job *j);                     /* start supervising a started job */
void job_detach(cgov_job *j);                   /* cgov_close: stop supervising, keep running */
void job_unref(cgov_job *j);

/* Test hooks, reachable through the internal library only: force the
 * fallbacks that older kernels need, on a kernel that has the new way. */
void cgov_testing_disable_clone_into_cgroup(cgov *g);
void cgov_testing_disable_kill_file(cgov *g);
