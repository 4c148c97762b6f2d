/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef CGOV_H
#define CGOV_H

/*
 * libcgov — nested resource pools on a cgroup v2 hierarchy, with up-front
 * admission of every job. The names, types and semantics in this header are
 * a fixed contract (docs/libcgov.3): they are only ever added to.
 *
 * Conventions: functions that can fail return >= 0 on success and a negative
 * value on failure: a negative errno for a system failure, or one of the
 * CGOV_E_* governor decisions (all below -4095, so never an errno).
 * Option structs are zero-initialised by the caller; zero means "default".
 * Sizes are bytes, times milliseconds. Every function is thread-safe.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgov cgov;
typedef struct cgov_pool cgov_pool;
typedef struct cgov_job cgov_job;

/* Governor decisions. */
enum {
        CGOV_E_INSUFFICIENT_MEMORY = -5001, /* a pool on the chain lacks memory to reserve */
        CGOV_E_NO_WORKERS          = -5002, /* a pool on the chain has no free job slot */
        CGOV_E_TIMEOUT             = -5003, /* a wait (queue or await) ran out */
        CGOV_E_OVERLOADED          = -5004, /* the pool's wait queue is full */
        CGOV_E_POOL_GONE           = -5005, /* the pool was released */
};

/* A static string naming err: a CGOV_E_* code or a negative errno. */
const char *cgov_strerror(int err);

/* ---- Governor ---------------------------------------------------------- */

struct cgov_options {
        const char *cgroup_root; /* embedded mode: absolute path of a cgroup v2 directory
                                    delegated to us; created if missing and permitted.
                                    NULL: the caller's own cgroup (systemd Delegate=yes) */
        const char *address;     /* client mode: path of cgovd's socket; NULL: embedded */
        unsigned flags;          /* CGOV_OPEN_* */
};
#define CGOV_OPEN_ACCOUNTING_ONLY (1u << 0) /* accept a subtree without the memory/pids
                                               controllers: the ledger still admits and
                                               rejects, nothing is enforced by the kernel */
#define CGOV_OPEN_SYSTEMD (1u << 1)         /* pools are slices and jobs transient units of
                                               the system manager, through sd-bus; cgroup_root
                                               then names the parent slice (NULL:
                                               "cgov.slice"). Without it: cgroupfs, as above */

/* -EMEDIUMTYPE: the root is not cgroup v2; -EACCES: not writable; -EOPNOTSUPP:
 * no memory or pids controller (unless CGOV_OPEN_ACCOUNTING_ONLY); -EPERM: the
 * root is the top of the hierarchy (never delegated); -EBUSY: processes other
 * than the caller's sit in the root; -EINVAL: a relative path or a ".." in it. */
int  cgov_open(cgov **ret, const struct cgov_options *opts);
/* Waits for nothing, kills nothing: running jobs keep running and their leaves
 * remain. Pool handles die with the governor; job handles must still be freed
 * with cgov_job_free (cgov_await on an unfinished one returns -ESHUTDOWN).
 * No other call on this governor may run or start while it closes. */
void cgov_close(cgov *g);

/* ---- Pools ------------------------------------------------------------- */

struct cgov_pool_limits {
        uint64_t memory_max;          /* admission budget and the pool's memory.max; 0: none */
        uint32_t max_jobs;            /* concurrent jobs in the pool's subtree; 0: no limit */
        uint32_t pids_max;            /* the pool's pids.max; 0: none */
        uint64_t job_memory_default;  /* reservation of a job that names none; 0: 64 MiB,
                                         or the pool's memory_max if that is smaller */
        uint32_t max_queue;           /* jobs that may wait for room; 0: reject at once */
        uint64_t queue_timeout_ms;    /* how long a job waits by default; 0 with max_queue > 0:
                                         wait forever */
};

/* path: "shared" or "shared/customer-a"; the parent must exist. -EEXIST if it
 * exists, -ENOENT if the parent does not, -EINVAL for a bad name. A name
 * segment is 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-', not
 * "supervisor", not starting with "cgroup."; at most 16 levels. -ERANGE for a
 * size above CGOV_SIZE_MAX or a pids_max above CGOV_PIDS_MAX. */
int cgov_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim,
                     cgov_pool **ret);
int cgov_pool_find(cgov *g, const char *path, cgov_pool **ret);   /* -ENOENT */
/* Takes effect for new admissions at once; running jobs are not touched: a
 * memory_max lowered below what running jobs hold admits nothing until they
 * fit, and the pool's memory.max follows only once they do, so no running job
 * is OOM-killed by a limit change. Same checks as cgov_pool_create. */
int cgov_pool_set_limits(cgov_pool *p, const struct cgov_pool_limits *lim);
/* The pool and its sub-pools take no new jobs or slots (CGOV_E_POOL_GONE);
 * running jobs go on; queued ones end REJECTED/CGOV_E_POOL_GONE; each cgroup is
 * removed once empty. The handle stays valid for status calls; cgov_pool_find
 * of the path gives -ENOENT, cgov_pool_create of it -EBUSY until the old
 * cgroup is gone. */
int cgov_pool_release(cgov_pool *p);

#define CGOV_SIZE_MAX (UINT64_C(1) << 60)  /* 1 EiB: larger sizes are -ERANGE */
#define CGOV_PIDS_MAX UINT32_C(4194304)    /* the kernel's PID_MAX_LIMIT */

struct cgov_pool_status {
        uint64_t memory_max, memory_reserved, memory_current; /* current: memory.current */
        uint32_t max_jobs, jobs_running, jobs_queued, slots_held;
        uint32_t pids_max, pids_current;
        uint64_t jobs_started, jobs_rejected, jobs_oom_killed;  /* counters since creation */
};
/* Every figure and counter covers the pool's whole subtree. */
int cgov_pool_status(cgov_pool *p, struct cgov_pool_status *st);
const char *cgov_pool_path(cgov_pool *p);    /* "shared/customer-a" */
const char *cgov_pool_cgroup(cgov_pool *p);  /* absolute cgroup directory */

/* ---- Jobs -------------------------------------------------------------- */

struct cgov_job_spec {
        const char *const *argv;   /* required; argv[0] is looked up in PATH */
        const char *const *envp;   /* NULL: the caller's environment */
        const char *cwd;           /* NULL: the caller's */
        const char *name;          /* optional; for cgov_kill_by_name and in the leaf's name */
        uint64_t memory_max;       /* reservation and the leaf's memory.max; 0: pool default */
        uint32_t pids_max;         /* the leaf's pids.max; 0: none (the pool's still applies) */
        uint64_t timeout_ms;       /* wall-clock limit; 0: none */
        int64_t  queue_timeout_ms; /* 0: the pool's default; -1: never wait; > 0: wait so long */
        unsigned flags;            /* CGOV_JOB_* */
        int stdio[3];              /* used only with CGOV_JOB_STDIO: fds for the job's 0, 1, 2;
                                      -1 opens /dev/null. Without the flag the job inherits. */
};
#define CGOV_JOB_STDIO (1u << 0)

enum cgov_outcome {
        CGOV_OUTCOME_EXITED = 1,   /* exit_status: the exit code */
        CGOV_OUTCOME_SIGNALED,     /* exit_status: the signal (not sent by the governor) */
        CGOV_OUTCOME_OOM_KILLED,   /* the kernel's OOM killer ended it */
        CGOV_OUTCOME_TIMED_OUT,    /* ran past timeout_ms; the governor killed it */
        CGOV_OUTCOME_KILLED,       /* cgov_kill, cgov_kill_by_name or cgov_flush */
        CGOV_OUTCOME_REJECTED,     /* never started: see rejection */
        CGOV_OUTCOME_UNKNOWN,      /* a re-adopted job ended while its exit status could
                                      not be collected (an OOM kill is still reported) */
        _CGOV_OUTCOME_MAX_ = 0x7fffffff /* room to grow without changing the ABI */
};

struct cgov_result {
        enum cgov_outcome outcome;
        int exit_status;
        int rejection;             /* REJECTED: a CGOV_E_* code */
        char rejected_by[256];     /* REJECTED: path of the pool that refused, e.g. "shared" */
        uint64_t requested, available, limit;  /* REJECTED: the figures of that refusal */
        uint64_t memory_peak;      /* bytes; 0 if the kernel cannot tell */
        uint64_t cpu_usec;         /* cpu.stat usage_usec */
        uint64_t wall_usec;
        uint32_t pids_peak;        /* 0 if the kernel cannot tell */
};

/* Runs the job to its end. 0 when the job started (whatever its outcome: see
 * res), a CGOV_E_* code when it was refused (res->outcome is REJECTED and says
 * by whom), or a negative errno when it could not be started (-ENOENT: no such
 * program; nothing stays reserved). */
int cgov_run(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res);
/* Returns at once: 0 with a handle, or the immediate refusal. The spec is
 * copied; the caller may free it. */
int cgov_submit(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret);
/* timeout_ms -1: forever. 0 once the job has ended, whatever the outcome;
 * CGOV_E_TIMEOUT only when this await's own timeout ran out (await again). */
int cgov_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res);
int cgov_kill(cgov_job *j);             /* 0 (also while dying), -ESRCH once ended */
/* Kills the jobs of the pool and its sub-pools with that name, running or
 * queued and not already being killed; returns how many. */
int cgov_kill_by_name(cgov_pool *p, const char *name);
/* Kills every job of the pool and of its sub-pools; returns how many. */
int cgov_flush(cgov_pool *p);
pid_t cgov_job_pid(cgov_job *j);        /* 0 while queued */
const char *cgov_job_cgroup(cgov_job *j);  /* its leaf; NULL while queued */
void cgov_job_free(cgov_job *j);        /* drops the handle; does not kill */

/* ---- Running a C function under limits --------------------------------- */

typedef int (*cgov_fn)(void *arg, int out_fd);
/* Forks (no exec) into a fresh leaf of the pool and runs fn there; what fn
 * writes to out_fd comes back in *out (malloc'd, caller frees; out and out_len
 * may be NULL to discard it); fn's return value is the exit code. spec may be
 * NULL; spec->argv is ignored. A crash, OOM or timeout of fn shows in res,
 * never in the caller. fn runs in a forked copy of a possibly multithreaded
 * process: only async-signal-safe calls are guaranteed there (glibc malloc
 * works). Returns like cgov_run. */
int cgov_call(cgov_pool *p, cgov_fn fn, void *arg, const struct cgov_job_spec *spec,
              struct cgov_result *res, void **out, size_t *out_len);

/* ---- Slots without a process ------------------------------------------- */

/* For work on the caller's own threads that must respect a pool's job limit
 * (one slot = one job slot on the whole chain). Grants min(n, free slots on
 * the chain): returns 0..n, never blocks; 0 if the pool was released. */
int cgov_acquire(cgov_pool *p, unsigned n);
/* 0; -EINVAL when releasing more than this handle holds (nothing changes). */
int cgov_release(cgov_pool *p, unsigned n);

#ifdef __cplusplus
}
#endif

#endif
