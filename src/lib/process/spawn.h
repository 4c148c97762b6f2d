/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Starting a job's process directly inside its leaf cgroup. */

/* Whom a job runs as, when not as the caller (cgovd runs tenants' jobs as
 * the tenant). */
typedef struct SpawnCreds {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;       /* supplementary groups */
        size_t n_groups;
        /* Resource limits of the job's own, rather than the caller's (cgovd
         * raises its open-files limit for thousands of jobs and pools, and
         * may run with any other; a job gets the kernel's defaults). */
        bool set_rlimits;
        struct rlimit rlimits[RLIM_NLIMITS];
        /* no_new_privs and an empty capability bounding set, so that no
         * setuid or file-capability program raises the job above its user
         * (a tenant's job, unless the policy allows it). */
        bool no_new_privs;
        /* With a keeper (keeper.h): how long the job may take to exec
         * before it is killed and reported as failed to start; 0: forever. */
        uint64_t start_timeout_ms;
} SpawnCreds;

typedef struct SpawnParams {
        const char *path;          /* the program, already looked up; NULL: the child looks
                                      argv[0] up itself, in search_path, after taking creds */
        const char *search_path;   /* with path NULL: a PATH value */
        const SpawnCreds *creds;   /* NULL: the caller's */
        char *const *argv;
        char *const *envp;
        const char *cwd;           /* NULL: inherit; entered with creds taken */
        const int *stdio;          /* three fds for 0, 1, 2, or NULL: inherit */
        int cgroup_fd;             /* the leaf, O_DIRECTORY; -1: the caller's own cgroup
                                      is the leaf (a job's keeper starts the job so) */
        bool into_cgroup;          /* clone3(CLONE_INTO_CGROUP); false: the gated fork fallback */
        /* cgov_call: run fn(fn_arg, out_fd) in a fork() of the caller instead
         * of executing path. A real fork(), so that glibc's atfork handlers
         * leave malloc usable in the child; it moves itself into the leaf
         * before fn runs. */
        int (*fn)(void *arg, int out_fd);
        void *fn_arg;
        int out_fd;
} SpawnParams;

/* Starts the process and returns once it has exec'd: 0 with its pid and a
 * pidfd, or the negative errno of whatever failed before or at exec (no such
 * program, permission, bad cwd) — the child is then already reaped.
 * -ENOSYS when into_cgroup is set and the kernel lacks CLONE_INTO_CGROUP: the
 * caller switches to the fallback for good. The child is a "clone" child
 * (exit signal 0): no SIGCHLD reaches the host program, and a waitpid(-1)
 * there cannot reap it. */
int spawn_in_cgroup(const SpawnParams *sp, pid_t *ret_pid, int *ret_pidfd);

/* Resolves argv[0] the way execvp() would, using PATH from envp when it has
 * one, else the caller's, else the default path. -ENOENT, -EACCES. */
int spawn_find_program(const char *name, char *const *envp, char **ret_path);
/* The PATH a lookup in envp uses: its PATH, else the caller's, else the
 * default. */
const char *spawn_search_path(char *const *envp);

/* Signal dispositions back to the default and the mask empty, with raw
 * system calls: the first step of a child that shares the caller's
 * memory. */
void spawn_reset_signals(void);

/* Reaps the child behind pidfd: fills the waitid() status (errno-free). */
int spawn_reap(int pidfd, int *ret_code, int *ret_status);
