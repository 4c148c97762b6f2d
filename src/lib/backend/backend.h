/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seam between the governor's logic and the tree it governs (crun's
 * cgroup manager is the model). A backend owns everything that touches the
 * tree: it opens and judges the root, makes, limits and removes a pool's
 * place, makes a job's place and starts its process inside, kills it,
 * reads its figures and its outcome, records what a later governor needs
 * to re-adopt it, and finds it again. The ledger, the queues, the
 * supervisor and the API never know which backend runs: no file of theirs
 * touches a cgroup, and no backend sees a struct of theirs.
 *
 * Every backend gives each pool and each job a cgroup v2 directory (a
 * Place): the kernel enforces the limits there whoever made it.
 *
 * Adding a backend is a new backend-*.c with its BackendOps and one entry
 * in backends[] (backend.c). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgov.h"
#include "names.h"
#include "spawn.h"

typedef struct Backend Backend;        /* each backend's own state, for one root */

/* A pool's or a job's place in the tree: the backend fills it. */
typedef struct Place {
        int fd;                        /* its cgroup directory; -EBADF once removed */
        char *cgroup;                  /* that directory's path */
        bool removing;                 /* the backend's mark: its removal was asked for */
        bool ended_clean;              /* the backend's mark: its end left nothing to reset */
} Place;

typedef struct JobRecord JobRecord;

/* What starting a process needs. For a job started at once it points into
 * the caller's cgov_job_spec; a job that may wait owns copies. */
typedef struct JobLaunch {
        const char *program;           /* argv[0] looked up in PATH */
        char *const *argv;
        char *const *envp;             /* NULL: the caller's environment */
        const char *cwd;
        const int *stdio;              /* three fds, or NULL: inherit */
        uint32_t pids_max;
        cgov_fn fn;                    /* cgov_call: run fn(arg, out_fd) instead of exec */
        void *fn_arg;
        int out_fd;
        const SpawnCreds *creds;       /* NULL: as the caller */
} JobLaunch;

typedef struct JobProcess JobProcess;

/* How a start made in the background went (JobStart.started): r is 0 or
 * -errno; with 0, the fd of the job's place (-EBADF when the job was over
 * before it could be opened) and its process (pidfd -EBADF likewise). It
 * takes both. Called once, on the supervisor's thread, from watch(), with
 * none of the backend's locks held. */
typedef void (*JobStartedFn)(void *userdata, int r, int place_fd, const JobProcess *proc);

/* A job to start: where, with which reservation, and how. */
typedef struct JobStart {
        uint64_t id;
        const Place *pool;
        const char *pool_path;
        char leaf[NAME_MAX_LEN + 24];  /* "<name>@<id>", unique in the pool */
        uint64_t memory;               /* its memory.max */
        uint32_t pids_max;             /* 0: no limit of its own */
        bool keeper;                   /* start it through a keeper (keeper.h) */
        const JobLaunch *launch;
        const JobRecord *record;       /* what is known of it before it starts */
        /* Set: the start may go on in the background, past job_start's
         * return, so that nothing of the launch (a path of its user's that
         * hangs) can hold the caller's thread. */
        JobStartedFn started;
        void *userdata;
} JobStart;

/* The process a backend started: its main process, or its keeper (which
 * reports the main pid later through report_fd). */
struct JobProcess {
        pid_t pid;                     /* the main process; 0 until a keeper reports */
        int pidfd;                     /* the main process's, or the keeper's */
        uint64_t start_usec;           /* CLOCK_MONOTONIC, just before it was started */
        pid_t keeper_pid;
        int report_fd, report_write_fd; /* the keeper's report pipe */
        void *keeper_region;           /* the keeper's stack (raw-task.h) */
};

/* What a later governor needs of a job, beyond its place. */
struct JobRecord {
        uint64_t memory;               /* 0: not known (the pool's default) */
        uint32_t pids_max;
        uint64_t timeout_ms;
        uint64_t start_usec;
        pid_t pid;
        uid_t owner;
        bool keeper;
        const char *name;              /* NULL: unnamed */
};

/* How a job's main process ended, as recorded outside the governor. */
typedef struct JobExit {
        int code, status;              /* waitid()'s */
        bool stopped;                  /* its manager stopped it (systemctl stop): it was killed */
        bool oom;                      /* its manager saw it end by an OOM kill */
        uint64_t cpu_usec;             /* its manager's count, when the place is gone (0: none) */
} JobExit;

/* What the root can enforce, as open() found it. */
typedef struct BackendInfo {
        const char *root;              /* the root's cgroup directory; the backend's */
        bool enforces_memory, enforces_pids;
        /* The backend starts the process and keeps its exit status itself
         * (systemd): no keepers, and the status comes from job_recorded_exit. */
        bool records_exits;
        /* With BackendOps.watch: an fd that turns readable when the backend's
         * peer has sent something (the manager's signals), for the
         * supervisor's loop to watch. */
        int watch_fd;
} BackendInfo;

/* What adopt() found, handed to the governor as it walks: pools before
 * what is in them. Each returns 0 or -errno (which ends the walk). */
typedef struct AdoptedJob {
        uint64_t id;
        const char *leaf;
        Place place;                   /* taken by job(), whatever it returns */
        int pidfd;                     /* likewise; -EBADF: the main process is gone */
        bool recorded;                 /* record says what the backend recorded */
        JobRecord record;
} AdoptedJob;
typedef struct AdoptSink {
        /* parent NULL: in the root. *ret_pool is the governor's, *ret_place
         * the pool's place, where the backend looks for its children. */
        int (*pool)(void *userdata, void *parent, const char *path, const struct cgov_pool_limits *lim,
                    void **ret_pool, const Place **ret_place);
        int (*job)(void *userdata, void *pool, AdoptedJob *a);
        /* Every job id found, used or not: ids never repeat. */
        void (*id_seen)(void *userdata, uint64_t id);
        void *userdata;
} AdoptSink;

typedef struct BackendOps {
        const char *name;              /* "cgroupfs" */

        /* Judges and opens root (NULL: the backend's default), and says
         * what it can enforce; -EOPNOTSUPP when it cannot enforce limits
         * and CGOV_OPEN_ACCOUNTING_ONLY is not in flags. */
        int (*open)(const char *root, unsigned flags, Backend **ret, BackendInfo *ret_info);
        void (*close)(Backend *b);

        /* A pool's place with its limits (adopt: it exists, only opened;
         * its memory.max then waits for set_memory_max). */
        int (*pool_make)(Backend *b, const Place *parent, const char *path, const struct cgov_pool_limits *lim,
                         bool adopt, Place *ret);
        int (*pool_set_memory_max)(Backend *b, const Place *pool, uint64_t max); /* 0: none */
        int (*pool_set_pids_max)(Backend *b, const Place *pool, uint32_t max);   /* 0: none */
        /* Removes an empty pool's place: 0, or -EBUSY while something is
         * still in it (tried again later). */
        int (*pool_remove)(Backend *b, const Place *parent, const char *path, Place *pool);
        /* The kernel's figures of a pool's directory: any thread, no lock. */
        void (*pool_usage)(Backend *b, int fd, uint64_t *ret_memory, uint64_t *ret_pids);
        void (*pool_record)(Backend *b, const Place *pool, const struct cgov_pool_limits *lim);

        /* Makes the job's place with its reservation as limits and starts
         * its process inside: 0 (with a keeper: it is being started), or
         * -EEXIST when the leaf's name is taken (the caller tries another
         * id), or another -errno with nothing of it left. With s->started,
         * 1: it is being started in the background (ret_place has its
         * cgroup but no fd yet, ret_proc its start time); s->started says
         * how it went, and job_kill meanwhile asks the start to stop. */
        int (*job_start)(Backend *b, const JobStart *s, Place *ret_place, JobProcess *ret_proc);
        /* Kills everything in the job's place; any thread. */
        int (*job_kill)(Backend *b, const Place *job);
        /* 1 while anything runs in the job's place, 0 once it is empty. A
         * backend without an atomic kill kills again what the last missed. */
        int (*job_populated)(Backend *b, const Place *job);
        /* Peaks and CPU time into res, and the OOM kills. */
        void (*job_stats)(Backend *b, const Place *job, struct cgov_result *res, uint64_t *ret_oom_kills);
        /* Removes an empty job's place: 0, -EBUSY while a dying process
         * still counts (tried again later), or another -errno (the place
         * is left for the next open to clean). */
        int (*job_remove)(Backend *b, const Place *pool, const char *leaf, Place *job);
        /* How the main process ended, as its keeper (cgroupfs) or the
         * manager (systemd) recorded it: 0, or -ENODATA. */
        int (*job_recorded_exit)(Backend *b, Place *job, JobExit *ret);
        void (*job_record)(Backend *b, const Place *job, const JobRecord *rec);

        /* At open: every pool and job an earlier governor left. */
        int (*adopt)(Backend *b, const AdoptSink *sink);
        /* Optional: info.watch_fd turned readable (edge-triggered); takes
         * in what came, without ever blocking the loop. */
        void (*watch)(Backend *b);
        /* The job ids' mark, kept on the root: 0, -ENODATA when there is
         * none, -EOPNOTSUPP when it cannot be kept. */
        int (*mark_read)(Backend *b, uint64_t *ret);
        int (*mark_write)(Backend *b, uint64_t mark);
} BackendOps;

extern const BackendOps backend_cgroupfs;
extern const BackendOps backend_systemd;

/* The backend that cgov_options.flags ask for. */
const BackendOps *backend_for(unsigned flags);
