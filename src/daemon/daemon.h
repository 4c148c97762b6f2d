/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgovd: one libcgov governor in embedded mode over the delegated subtree,
 * the administrator's policy on top, and tenants served over a Unix socket
 * (docs/protocol.md). Single-threaded: every source lives on one sd-event
 * loop, the governor's too (GovernorOptions.event), so a job's start and
 * end reach the daemon without a hop between threads.
 *
 *   cgovd.c    main: options, process-wide settings, the loop
 *   daemon.c   the daemon's life: start, signals, sd_notify, reload, stop
 *   tenancy.c  who a peer is, what the policy lets it see and do, pools
 *   server.c   the listening socket and the connections
 *   methods.c  one function per protocol method
 *   jobs.c     the daemon's job table: ownership, ends, waiters, retention
 */

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgov.h"
#include "policy.h"
#include "list.h"
#include "wire.h"

/* Per-uid bounds (docs/protocol.md): what one tenant can make us hold. */
#define CONNECTIONS_PER_USER_MAX 64
#define JOBS_PER_USER_MAX 256
#define RESULTS_PER_USER_MAX 1024
#define SPEC_BYTES_PER_USER_MAX (32u << 20) /* argv, env, cwd of the user's live jobs */
#define ARGV0_SHOWN_MAX 256                 /* bytes of a program name kept for listings */

/* The defaults of the policy's per-job and per-user keys (cgovd(8)). */
#define JOB_TASKS_MAX_DEFAULT 4096           /* JobTasksMax= */
#define JOB_START_TIMEOUT_MS_DEFAULT 30000   /* JobStartTimeoutSec= */
#define SLOTS_PER_USER_DEFAULT 16            /* MaxSlotsPerUser= */
#define CONNECTIONS_MAX 4096 /* all users together: the fd budget */
#define ACCEPT_PAUSE_MS 100  /* out of fds: stop accepting for so long */

typedef struct Daemon Daemon;
typedef struct Connection Connection;
typedef struct DaemonJob DaemonJob;

/* A peer: the kernel's SO_PEERCRED, completed from the user database. */
typedef struct Identity {
        uid_t uid;
        gid_t gid;          /* the passwd entry's primary group, else the peer's */
        pid_t pid;
        char *name;         /* the user name, or the uid in decimal */
        char *home;         /* "/" when the user has no entry */
        gid_t *groups;      /* supplementary groups of the user database */
        size_t n_groups;
        bool known;         /* has a passwd entry */
} Identity;

/* One policy pool's who-may, resolved to ids (index-aligned with
 * Policy.pools). */
typedef struct PoolAcl {
        uid_t *allow_uids, *admin_uids;
        size_t n_allow_uids, n_admin_uids;
        gid_t *allow_gids, *admin_gids;
        size_t n_allow_gids, n_admin_gids;
} PoolAcl;

/* What main() (or a test) starts a daemon with. */
typedef struct DaemonConfig {
        const char *cgroup_root;    /* NULL: our own cgroup */
        unsigned open_flags;        /* CGOV_OPEN_* */
        const char *policy_dir;
        const char *socket_path;    /* unless systemd passes a socket */
        const char *state_dir;      /* made if missing */
        struct rlimit job_nofile;   /* the open-files limit jobs get */
} DaemonConfig;

struct Daemon {
        sd_event *event;
        cgov *gov;
        char *policy_dir;
        char *socket_path;          /* NULL when socket-activated */
        char *state_dir;
        int records_fd;             /* <state_dir>/jobs (records.c) */
        struct rlimit job_rlimits[RLIM_NLIMITS]; /* what every job starts with */
        Policy *policy;
        PoolAcl *acls;

        int listen_fd;
        sd_event_source *listen_source;
        sd_event_source *accept_retry;  /* re-enables listen_source after accept_pause() */
        uint64_t accept_paused_logged;  /* CLOCK_MONOTONIC µs of the last warning about it */
        Connection *connections;
        size_t n_connections;
        bool stopping;              /* server_done(): connections close because we stop */

        void *jobs_by_id;           /* tsearch() tree of DaemonJob, by id */
        size_t n_jobs;              /* live (not ended) */
        DaemonJob *ended_head, *ended_tail; /* ended, kept for Wait, oldest first */
        size_t n_ended;

        /* Jobs the governor ended, handed over from whichever thread ended
         * them (governor_open's end hook). */
        pthread_mutex_t ended_lock;
        cgov_job **ended_queue;
        size_t n_ended_queue, ended_queue_cap;
        int ended_fd;               /* eventfd */
        sd_event_source *ended_source;

        /* Per-user counts for the bounds, by uid. */
        void *users;                /* tsearch() tree of UserCount */
};

/* Slots of one pool held through Acquire. */
typedef struct SlotHold {
        cgov_pool *pool;
        unsigned n;
} SlotHold;

typedef struct UserCount {
        uid_t uid;
        unsigned connections, jobs, results;
        size_t spec_bytes;          /* of live jobs: SPEC_BYTES_PER_USER_MAX */
        unsigned slots;             /* held through Acquire: they count as jobs */
        SlotHold *slot_holds;       /* the same, by pool, over all the user's connections */
        size_t n_slot_holds;
} UserCount;

/* ---- tenancy.c ---------------------------------------------------------- */
int identity_from_peer(int fd, Identity *ret);
void identity_done(Identity *id);

/* Loads the policy directory and applies it: pools created or changed,
 * pools the policy no longer has released. On errors the diagnostics are
 * logged (and returned to a Reload caller in *ret_diag when given) and the
 * current policy stays. */
int tenancy_load(Daemon *d, PolicyDiagnostics *ret_diag);
/* Makes the governor's pools what the loaded policy says (tenancy_load does
 * it once the governor is open). */
int tenancy_apply(Daemon *d);
void tenancy_done(Daemon *d);

/* The pool a request names (NULL: the caller's default, its instance
 * pool), checked for the caller: 0 with the governor's pool and whether the
 * caller administers it; -ENOENT when it does not exist or the caller may
 * neither use nor administer it (*ret_path then says what was looked for);
 * -EPERM when the caller may see it but not use it (for_use). An instance
 * pool is made on the first use by its user. */
int tenancy_pool(Daemon *d, const Identity *who, const char *path, bool for_use, cgov_pool **ret,
                 bool *ret_admin);
bool tenancy_may_see(Daemon *d, const Identity *who, const char *path, bool *ret_admin);
/* What the policy says of a job in pool path: each setting from the nearest
 * pool on the chain that sets it, else the daemon's default. */
typedef struct JobPolicy {
        uint64_t memory_max;         /* JobMemoryMax=; 0: none */
        const char *memory_max_pool; /* the pool that set it */
        uint64_t timeout_ms;         /* JobTimeoutSec=; 0: none */
        uint32_t tasks_max;          /* JobTasksMax=; 0: none */
        uint64_t start_timeout_ms;   /* JobStartTimeoutSec=; 0: none */
        bool no_new_privileges;      /* NoNewPrivileges= */
} JobPolicy;
void tenancy_job_policy(Daemon *d, const char *path, JobPolicy *ret);
/* MaxSlotsPerUser= of the nearest pool on the chain that sets it, which
 * *ret_pool names (the bound covers its subtree); else the default, over
 * all pools (*ret_pool NULL). UINT64_MAX-ish for infinity. */
uint64_t tenancy_slots_per_user(Daemon *d, const char *path, const char **ret_pool);

UserCount *user_count(Daemon *d, uid_t uid); /* NULL on OOM */
void user_count_free(void *u);

/* ---- server.c ----------------------------------------------------------- */
struct Connection {
        Daemon *d;
        Wire *wire;
        sd_event_source *io;
        sd_event_source *resume;     /* defer: go on with buffered requests (connection_resume) */
        Identity who;
        DaemonJob *waiting_for;      /* a parked Wait: no other request is read meanwhile */
        DaemonJob *submitting;       /* a parked Submit, until the job's keeper reports */
        unsigned n_tied;             /* queued jobs that end if this connection closes first */
        sd_event_source *wait_timer;
        Connection *wprev, *wnext;   /* DaemonJob.waiters */
        LIST_FIELDS(Connection, connections); /* Daemon.connections */
        SlotHold *slots;             /* acquired on this connection: returned when it closes */
        size_t n_slots;
        bool dead;                   /* failed: closed once the current callback is done */
};

int server_listen(Daemon *d);
void server_done(Daemon *d);
/* Queues a reply (takes it) and flushes what the socket takes now. */
void connection_reply(Connection *c, json_object *reply);
/* A Wait that held the connection was answered: its buffered requests are
 * handled, and reading resumes, on the next turn of the loop (never from
 * inside the caller, which may be walking the job's waiters). */
void connection_resume(Connection *c);

/* ---- methods.c ---------------------------------------------------------- */
/* Handles one request; takes the fds (closes those it does not keep).
 * Replies through connection_reply(), now or, for a Wait or a Submit whose
 * job is being started, later. Returns 1 when the connection now waits. */
int method_dispatch(Connection *c, Daemon *d, json_object *msg, int *fds, size_t n_fds);
/* A connection closing: slots it held go back. */
void methods_connection_closed(Connection *c, Daemon *d);

/* ---- jobs.c ------------------------------------------------------------- */
struct DaemonJob {
        uint64_t id;
        cgov_job *job;               /* NULL once ended: the result is here */
        uid_t owner;
        char *user;                  /* the owner's name, for logs */
        char *pool;                  /* path */
        char *name;
        char *argv0;                 /* at most ARGV0_SHOWN_MAX bytes of it, for listings */
        size_t spec_bytes;           /* what the request weighed, while the job lives */
        bool ended;
        struct cgov_result result;
        int start_error;
        Connection *waiters;         /* Wait calls parked on this job */
        Connection *submitter;       /* its Submit, parked until the job's keeper reports */
        Connection *tied;            /* queued, not detached: it never starts if this closes first */
        bool unannounced;            /* refused to its submitter (it could not start): no id was given */
        bool recorded;               /* has a record in the state directory (records.c) */
        bool start_logged;           /* "started" is said (and recorded, if it waited in a queue) */
        LIST_FIELDS(DaemonJob, ended); /* Daemon.ended_* */
};

int jobs_setup(Daemon *d);         /* the eventfd: before the governor opens */
void jobs_done(Daemon *d);
/* The governor's job hook (any thread, governor lock held): a job started,
 * could not start, or ended. */
void jobs_hook(cgov_job *j, void *userdata);
/* After the governor opened: take over every job it re-adopted. */
int jobs_adopt(Daemon *d);
/* Registers a job just submitted for who in pool. */
int jobs_add(Daemon *d, cgov_job *j, const Identity *who, const char *pool, const char *name, const char *argv0,
             size_t spec_bytes, DaemonJob **ret);
/* Answers c's Submit of dj now (queued, running) or once its keeper has
 * reported (then c is parked): returns what method_dispatch returns. A
 * queued job that is not detached is tied to c (jobs_tie). */
int jobs_submitted(Daemon *d, DaemonJob *dj, Connection *c, bool detach);
/* c closes: its parked Submit is forgotten (the job goes on), and the
 * queued jobs tied to it end without starting. */
void jobs_unsubmit(Connection *c);
/* dj, queued, ends unstarted if c closes before it starts. */
void jobs_tie(DaemonJob *dj, Connection *c);
DaemonJob *jobs_find(Daemon *d, uint64_t id);
/* The job if who may see it (owner, an administrator of its pool, root);
 * *ret_admin tells which. */
DaemonJob *jobs_find_visible(Daemon *d, const Identity *who, uint64_t id, bool *ret_admin);
/* Parks c on j until it ends (0) or timeout_ms (-1: forever) runs out. */
int jobs_wait(Daemon *d, DaemonJob *j, Connection *c, int64_t timeout_ms);
void jobs_unwait(Connection *c);    /* c closes or its wait timed out */
/* The reply to a Wait on an ended job; drops the record when who owns it. */
json_object *jobs_collect(Daemon *d, DaemonJob *j, const Identity *who);
json_object *jobs_to_json(Daemon *d, DaemonJob *j);
/* A record read back at start (records.c): completes the re-adopted job of
 * its id, or becomes a kept result; takes rec's strings. */
void jobs_restore(Daemon *d, DaemonJob *rec, const char *state);
/* Frees the strings of a DaemonJob that is not in the table. */
void jobs_record_done(DaemonJob *rec);
/* Iterates live and kept jobs. */
void jobs_foreach(Daemon *d, void (*fn)(DaemonJob *j, void *userdata), void *userdata);
/* For the STATUS= line. */
size_t jobs_running(Daemon *d);

/* ---- records.c ---------------------------------------------------------- */
int records_open(Daemon *d);
void records_close(Daemon *d);
/* The job's record, as state ("queued", "started"; with its result once
 * ended); replaced whole. */
void records_write(Daemon *d, DaemonJob *j, const char *state);
void records_remove(Daemon *d, DaemonJob *j);  /* if it has one */
/* At start, after jobs_adopt(): every record back (jobs_restore). */
int records_load(Daemon *d);

/* ---- daemon.c ----------------------------------------------------------- */
/* Logs why when it fails. */
int daemon_new(const DaemonConfig *cfg, Daemon **ret);
Daemon *daemon_free(Daemon *d);
static inline void daemon_freep(Daemon **d) {
        daemon_free(*d);
}
void daemon_update_status(Daemon *d);
