/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seam between the governor's logic and the tree it governs (crun's
 * cgroup manager is the model). A backend owns everything that touches the
 * tree: it opens and judges the root, makes, limits and removes a pool's
 * place, prepares a job's place and starts its process inside, kills it,
 * reads its figures and its outcome, and records what a later governor
 * needs to re-adopt it, then finds it again. The ledger, the queues, the
 * supervisor and the API never know which backend runs: no file of theirs
 * touches a cgroup file or calls anything but these ops.
 *
 * Every backend gives each pool and each job a cgroup v2 directory
 * (cgroup_fd, cgroup): the kernel enforces the limits there whoever made
 * it. Adding a backend is a new backend-*.c with its BackendOps and one
 * entry in backends[] (backend.c). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgov.h"

typedef struct JobLaunch JobLaunch;

typedef struct BackendOps {
        const char *name;              /* "cgroupfs" */

        /* Judges and opens root (NULL: the backend's default), sets g->root,
         * g->root_fd, g->enforces_memory and g->enforces_pids, and keeps
         * its own state in g->backend_data; close frees that. */
        int (*open)(cgov *g, const char *root);
        void (*close)(cgov *g);

        /* A pool's place with its limits (adopt: it exists, only opened;
         * its memory.max is then left to write_memory_max). Sets
         * p->cgroup_fd. */
        int (*pool_make)(cgov_pool *p, bool adopt);
        int (*pool_write_memory_max)(cgov_pool *p);     /* p->limits.memory_max */
        int (*pool_write_pids_max)(cgov_pool *p);       /* p->limits.pids_max */
        int (*pool_remove)(cgov_pool *p);               /* -EBUSY: something is still in it */
        /* The kernel's figures of a pool's directory (any thread, no lock). */
        void (*pool_usage)(const cgov *g, int cgroup_fd, uint64_t *ret_memory, uint64_t *ret_pids);

        /* Makes the job's place with its reservation as limits and starts
         * its process inside: 0 when it runs, 1 when a keeper starts it (the
         * supervisor hears its report), -errno with nothing of it left. */
        int (*job_start)(cgov_job *j, const JobLaunch *l);
        /* Kills everything in the job's place; any thread. */
        int (*job_kill)(cgov_job *j);
        /* 1 while anything runs in its place, 0 once it is empty. For a
         * backend without an atomic kill, each call also kills what the
         * last kill missed. */
        int (*job_populated)(cgov_job *j);
        /* Peaks, CPU time and OOM kills, into j->result. */
        void (*job_stats)(cgov_job *j, uint64_t *ret_oom_kills);
        /* Removes the job's place once it is empty: 0, -EBUSY while a dying
         * process still counts (tried again later), or another -errno
         * (the place is left for the next open to clean). */
        int (*job_remove)(cgov_job *j);
        /* How the main process of a keeper's job ended, as the keeper
         * recorded it: 0 with waitid()'s code and status, or -ENODATA. */
        int (*job_recorded_exit)(cgov_job *j, int *ret_code, int *ret_status);

        /* What a later governor needs to re-adopt a pool and a job. */
        void (*record_pool)(const cgov_pool *p);
        void (*record_job)(const cgov_job *j);
        /* At open: every pool and running job an earlier governor left,
         * through pool_add() and job_adopt(). Lock held. */
        int (*adopt)(cgov *g);
} BackendOps;

extern const BackendOps backend_cgroupfs;

/* The backend that cgov_options.flags ask for. */
const BackendOps *backend_for(unsigned flags);

/* What a backend found of a job an earlier governor started: job_adopt()
 * takes it over (lock held), and takes its fds whatever it returns. */
typedef struct AdoptedJob {
        uint64_t id;
        const char *leaf;
        int cgroup_fd;
        int pidfd;                     /* its main process (or keeper); -EBADF: gone */
        pid_t pid;
        bool keeper;
        bool recorded;                 /* the fields below come from its record */
        uint64_t memory;               /* 0: not known (the pool's default) */
        uint32_t pids_max;
        uint64_t timeout_ms;
        uint64_t start_usec;
        uid_t owner;
        const char *name;
} AdoptedJob;
int job_adopt(cgov_pool *p, AdoptedJob *a);
