/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Policy files: the administrator's pools, in INI files with systemd-like keys
 * (cgov.pool(5)). Loading reads and validates everything and builds a Policy;
 * it applies nothing. Every problem found becomes a diagnostic naming file,
 * line and key, and loading never stops at the first one, so one run of
 * `cgov check-policy` shows the administrator all there is to fix.
 *
 * This lives outside libcgov (in libcgov-policy.la, linked by the daemon and
 * the command) so that libcgov.so does not depend on libinih: programs that
 * embed the library build their pools in C. Nothing here prints. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgov.h"

#define POLICY_SUFFIX ".pool"
#define POLICY_UNSET (-1)
/* The last segment of an instance pool: one pool per requesting user, named
 * after the user, made on first use. */
#define POLICY_INSTANCE_SEGMENT "%u"
/* Larger files are refused: a policy is written by hand, and a bound keeps a
 * mistaken path (a log file, a device) from being read whole. */
#define POLICY_FILE_SIZE_MAX (1024 * 1024)

typedef struct PolicyPool {
        char *path;                   /* "shared/customer-a", "shared/%u" */
        struct cgov_pool_limits lim;  /* 0 where a key was not set: cgov's defaults */
        uint64_t job_memory_max;      /* JobMemoryMax=: largest reservation of one job; 0: none */
        uint64_t job_timeout_ms;      /* JobTimeoutSec=: default wall-clock limit; 0: none */
        /* Keys whose default is the daemon's, not "none": unset is
         * POLICY_UNSET, so that the nearest pool on a chain that sets one
         * decides (cgovd(8) names the defaults). */
        int64_t job_tasks_max;        /* JobTasksMax=: a job's own pids.max; 0: infinity */
        int64_t job_start_timeout_ms; /* JobStartTimeoutSec=: to exec, or fail; 0: infinity */
        int64_t max_slots_per_user;   /* MaxSlotsPerUser=: Acquire'd slots of one user here */
        int no_new_privileges;        /* NoNewPrivileges=: 1, 0 */
        char **allow_users;           /* NULL-terminated lists of names as written, */
        char **allow_groups;          /* never NULL; empty when the key is absent */
        char **admin_users;
        char **admin_groups;
        bool instance;                /* the last segment is %u */
        unsigned depth;               /* 1 for "shared" */
        size_t parent;                /* index in Policy.pools; SIZE_MAX for a top-level pool */
        char *file;                   /* where the section starts, as the loader named it */
        unsigned line;
} PolicyPool;

/* Pools sorted so that every pool comes right after its parent and before
 * its siblings' subtrees (a depth-first walk): create them in this order. */
typedef struct Policy {
        PolicyPool *pools;
        size_t n_pools;
        size_t n_files;               /* .pool files read */
} Policy;

typedef enum PolicySeverity {
        POLICY_ERROR,    /* the policy is refused */
        POLICY_WARNING,  /* allowed, but probably not what was meant */
} PolicySeverity;

typedef struct PolicyDiagnostic {
        PolicySeverity severity;
        char *file;      /* never NULL: a .pool file, or the directory itself */
        unsigned line;   /* 0: the whole file */
        char *key;       /* "MemoryMax", or NULL for a section or a whole file */
        char *message;   /* one sentence, no trailing period, e.g.
                            "5G is above MemoryMax=4G of pool shared" */
} PolicyDiagnostic;

/* Sorted by file (in load order) and line. */
typedef struct PolicyDiagnostics {
        PolicyDiagnostic *items;
        size_t n_items;
        size_t n_errors;
        size_t n_warnings;
} PolicyDiagnostics;

enum {
        /* Do not look user and group names up (only check their syntax):
         * for checking, on one machine, a policy meant for another. */
        POLICY_NO_LOOKUP = 1u << 0,
};

/* Loads every "*.pool" file of dir (regular files or symlinks to them; names
 * starting with '.' are skipped as editors' temporary files) in strcmp order
 * of their names, as one policy: a pool's parent may be in another file.
 *
 * Returns 0 and a Policy in *ret when there is no error (there may be
 * warnings); -EBADMSG when there are errors (*ret untouched); another
 * negative errno when dir cannot be read (-ENOENT, -ENOTDIR, -EACCES, ...)
 * or memory ran out. diag (optional) gets every diagnostic in all cases
 * except -ENOMEM; the caller frees it with policy_diagnostics_done. A file
 * that cannot be read is an error diagnostic, not a failure: the others are
 * still checked. */
int policy_load_dir(const char *dir, unsigned flags, Policy **ret, PolicyDiagnostics *diag);

/* The same for one file's contents in memory (the tests' and the fuzzer's
 * entry point), as if it were the only file; name is used in diagnostics.
 * text need not be NUL-terminated and may hold any bytes. */
int policy_load_string(const char *name, const char *text, size_t len, unsigned flags, Policy **ret,
                       PolicyDiagnostics *diag);

Policy *policy_free(Policy *p);
static inline void policy_freep(Policy **p) {
        policy_free(*p);
}

void policy_diagnostics_done(PolicyDiagnostics *diag);

/* The pool of that exact path ("shared/%u" for the instance template). */
const PolicyPool *policy_find(const Policy *p, const char *path);

const char *policy_severity_to_string(PolicySeverity s);
