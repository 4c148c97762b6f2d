/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every backend does the same way with a place once it exists: each
 * is a cgroup v2 directory, whoever made it. */

#include <stdbool.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgov.h"

/* What the root's tree has, found at open. */
typedef struct CgroupCaps {
        bool have_memory, have_pids;   /* limits are written, and enforced */
        bool have_kill_file;           /* cgroup.kill (5.14) */
} CgroupCaps;

/* Fills caps from the directory's cgroup.controllers. */
int place_caps(int fd, CgroupCaps *caps);
void place_usage(int fd, uint64_t *ret_memory, uint64_t *ret_pids);
/* Peaks and CPU time into res, and the OOM kills. */
void place_stats(const CgroupCaps *caps, int fd, struct cgov_result *res, uint64_t *ret_oom_kills);
int place_kill(const CgroupCaps *caps, int fd);
/* 1 while anything runs there, 0 once it is empty; without cgroup.kill each
 * call kills again what the last kill missed. */
int place_populated(const CgroupCaps *caps, int fd);

/* A pidfd of pid if it lives in the place (asked again once the pidfd is
 * open: a pid alone could have been reused), else -EBADF. */
int place_pidfd(int fd, pid_t pid);
/* The place's subdirectories, for a walk: a DIR of its own (fd stays). */
int place_opendir(int fd, DIR **ret);
