/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What cgovd and the cgov command ask of libcgov beyond the public API:
 * named functions on its opaque handles, never a struct layout of the
 * library's (internal.h is the library's own). Linked through the internal
 * library only, never exported by libcgov.so. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <sys/types.h>

#include "cgov.h"
#include "names.h"
#include "spawn.h"

typedef struct JobLaunch JobLaunch;

typedef enum JobState {
        JOB_QUEUED,    /* waits for room; no leaf, no process */
        JOB_STARTING,  /* admitted; being started (with a keeper: until it reports) */
        JOB_RUNNING,   /* its main process runs */
        JOB_ENDING,    /* main process gone; the leaf is being emptied and removed */
        JOB_ENDED,     /* result final, reservation returned */
} JobState;

/* What cgovd asks of a governor beyond struct cgov_options. */
typedef struct GovernorOptions {
        /* cgovd serves many jobs from one event loop and cannot block in
         * cgov_await: job_hook(j, userdata) runs with the governor's lock
         * held on whichever thread changes j, whenever a job's keeper
         * reports that it started or could not start, and whenever a job
         * ends (re-adopted jobs included, even one that ends before
         * governor_open returns). It must not call into the governor (take
         * a job_ref and write to an eventfd); job_info() says what happened. */
        void (*job_hook)(cgov_job *j, void *userdata);
        void *userdata;
        const char *ids_file;   /* where the job ids' mark is kept (ids.c); NULL: the root's xattr */
        /* Jobs started with creds (cgovd's) start through keepers (keeper.h)
         * where the kernel has what they need; g->keeper says whether. */
        bool keeper;
        /* The caller's loop, which then does the supervisor's work: no
         * thread of the governor's own, and no hop between threads from a
         * job's end to the loop that answers for it (a wake-up of a thread
         * costs as much as the rest of that path). The caller serves no
         * cgov_await() or cgov_run() from that loop's thread (they would
         * wait for the loop), and calls cgov_close() from it. */
        sd_event *event;
} GovernorOptions;
/* cgov_open with those (gopts may be NULL). */
int governor_open(cgov **ret, const struct cgov_options *opts, const GovernorOptions *gopts);
/* Every live pool (not released), parents before children; the array is the
 * caller's to free, the handles stay the governor's. */
int governor_pools(cgov *g, cgov_pool ***ret, size_t *ret_n);
/* A reference to every job not yet ended, for a caller that did not submit
 * them (re-adopted ones): each is the caller's to cgov_job_free. */
int governor_jobs(cgov *g, cgov_job ***ret, size_t *ret_n);
/* What a governor governs, for cgovd's log and its Status. */
typedef struct GovernorInfo {
        const char *backend;           /* "cgroupfs" */
        const char *root;              /* the root's cgroup directory; the governor's */
        bool keeper;                   /* jobs with creds start through keepers */
        bool enforces_memory, enforces_pids; /* else only counted (CGOV_OPEN_ACCOUNTING_ONLY) */
} GovernorInfo;
void governor_info(cgov *g, GovernorInfo *ret);
/* Live pools (not released). */
size_t governor_pool_count(cgov *g);
/* A pool's limits as they are now. */
void pool_limits(cgov_pool *p, struct cgov_pool_limits *ret);
/* The reservation of a job that asks for none. */
uint64_t pool_job_memory_default(const cgov_pool *p);

/* creds: run as that user (cgovd), argv[0] looked up by the child as them;
 * NULL: as the caller. watch_here: the caller sees a job that starts at once
 * to its end itself, with job_wait_here() (cgov_run). */
int job_submit(cgov_pool *p, const struct cgov_job_spec *spec, const JobLaunch *call, const SpawnCreds *creds,
               bool watch_here,
               cgov_job **ret, struct cgov_result *res);
/* A consistent snapshot of a job for cgovd's listings. */
typedef struct JobInfo {
        uint64_t id;
        cgov_pool *pool;
        uid_t owner;
        JobState state;
        pid_t pid;
        uint64_t memory;
        uint64_t start_usec;           /* CLOCK_MONOTONIC; 0 while queued */
        char name[NAME_MAX_LEN + 1];   /* "" when unnamed */
        char leaf[NAME_MAX_LEN + 24];  /* "" while queued */
        bool adopted;
        bool readopted;                /* found in the tree at open, not submitted to us */
        int start_error;               /* -errno: it could not be started (then ENDING or ENDED) */
} JobInfo;
void job_info(cgov_job *j, JobInfo *ret);
/* The lower-case name of a state ("queued", "running", ...). */
const char *job_state_to_string(JobState s);
cgov_job *job_ref(cgov_job *j);

/* For tests: the id the next job gets; and 0 when the governor holds
 * nothing (no job, waiter or slot in any pool, released ones included),
 * else -EBUSY with what it holds described in buf. */
uint64_t governor_next_job_id(cgov *g);
int governor_check_idle(cgov *g, char *buf, size_t size);

/* closer.c: closes fds a tenant gave us (takes them) without blocking
 * the caller; any thread. */
void governor_close_fds(cgov *g, const int *fds, size_t n);

/* Test hooks, reachable through the internal library only: force the
 * fallbacks that older kernels need, on a kernel that has the new way. */
void cgov_testing_disable_clone_into_cgroup(cgov *g);
void cgov_testing_disable_kill_file(cgov *g);
