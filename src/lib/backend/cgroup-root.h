/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Finding and judging a cgroup v2 tree: used by cgov_open() to validate the
 * delegated root and by `cgov doctor` to explain what a host can enforce. */

/* A root given by the caller must be absolute and free of ".." components
 * (it is never resolved against a working directory): 0 or -EINVAL. */
int cg_root_path_check(const char *path);

/* Where cgroup2 is mounted ("/sys/fs/cgroup", "/sys/fs/cgroup/unified");
 * -ENOMEDIUM when it is not mounted at all. */
int cg_find_mount(char **ret_path);

/* The directory of the calling process's own cgroup v2. */
int cg_own_dir(char **ret_path);

/* 1 if path is on a cgroup2 file system, 0 if on another, or -errno. */
int cg_path_is_v2(const char *path);

/* 1 if the directory fd is the top of its hierarchy (no cgroup.type there:
 * the kernel gives that file to every cgroup but the root). */
int cg_is_hierarchy_root(int dfd);

/* 1 if the process pid is listed in the cgroup's cgroup.procs. */
int cg_has_process(int dfd, pid_t pid);

/* Probes, without starting a process, whether clone3() takes
 * CLONE_INTO_CGROUP (Linux 5.7): 1, 0, or -errno. */
int cg_probe_clone_into_cgroup(void);
