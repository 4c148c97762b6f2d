/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The facts `cgov doctor` judges, gathered without printing anything and
 * without changing the host. doctor_probe() fills a Doctor once; the probe_*
 * functions answer the questions only some checks ask, when they ask. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/utsname.h>

#define LIST_MAX 512 /* a controller list: "cpuset cpu io memory hugetlb pids rdma misc" */

typedef enum RootState {
        ROOT_USABLE,    /* a cgroup v2 directory below the top of the hierarchy */
        ROOT_TO_CREATE, /* absent, in a cgroup v2 parent: cgov_open would create it */
        ROOT_TOP,       /* the top of the hierarchy: never delegated (cgov_open: EPERM) */
        ROOT_NOT_V2,    /* on another file system, or its parent is when it is absent */
        ROOT_ABSENT,    /* neither it nor its parent exists */
        ROOT_UNKNOWN,   /* no root to judge: no cgroup v2, or an error (root_error) */
} RootState;

typedef struct Doctor {
        /* the hierarchy */
        char *mount;            /* where cgroup2 is mounted; NULL: nowhere */
        int mount_error;
        char top[LIST_MAX];     /* the mount's cgroup.controllers */
        bool have_top;
        char v1[LIST_MAX];      /* words of the cgroup v1 mounts' options: their controllers */
        unsigned n_v1;          /* cgroup v1 hierarchies mounted */

        /* the root cgov would use */
        char *root;
        bool root_given;        /* --root; else our own cgroup, as cgov_open takes it */
        char *own;              /* our own cgroup directory; NULL if unknown */
        char *parent;           /* the root's parent directory */
        RootState root_state;
        int root_error;
        int root_fd;            /* the root; its parent with ROOT_TO_CREATE */
        char controllers[LIST_MAX]; /* what the root has (or would have) to give its pools */
        bool have_controllers;
        char subtree_control[LIST_MAX];

        bool systemd;           /* systemd is PID 1 */
        struct utsname uts;
        unsigned kernel_major, kernel_minor;
} Doctor;

/* Fills d, whose root and root_given the caller may have set (--root) and
 * whose root_fd starts as -EBADF. A root that cannot be judged is a fact
 * (root_state, root_error), not a failure: this fails only for what stops
 * the whole report (-ENOMEM, no /proc). */
int doctor_probe(Doctor *d);
void doctor_done(Doctor *d);

/* /proc/cgroups lists every controller the kernel was built with, under its
 * v1 name: 1 with *ret_enabled (false after cgroup_disable=), 0 if the
 * kernel lacks it, or -errno. */
int probe_kernel_controller(const char *v1_name, bool *ret_enabled);

/* Opens a cgroup below the top of the hierarchy that has controller (NULL:
 * any), to look for an interface file there: the root, its parent, our own
 * cgroup, then the top's first children. Returns the fd and the path, or
 * -ENOENT when there is none. */
int probe_dir_open(const Doctor *d, const char *controller, char **ret_path);

/* Whether systemd marked path, or an ancestor below the mount, as delegated. */
bool probe_delegated(const Doctor *d, const char *path);

/* 1 if path is in a cgroup v1 hierarchy, 0 if not, or -errno. */
int probe_path_is_v1(const char *path);

/* How many processes the root holds besides us, and the first of them. */
int probe_root_others(const Doctor *d, unsigned *ret_others, pid_t *ret_first);

/* The command name of pid; buf keeps what it held when it cannot be read. */
void probe_comm(pid_t pid, char *buf, size_t size);

/* "alice", or "uid 1000" when the user has no name here. */
const char *probe_user_name(char *buf, size_t size);
