/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A job's keeper: a small process, the parent of the job's main process,
 * that starts the job in its leaf and outlives it, so that
 *  - whatever the job's start touches that its user controls (its working
 *    directory, the lookup of argv[0], its stdio) can block only the
 *    keeper, never the governor's threads: the governor starts the keeper
 *    in a few microseconds and learns later, through a pipe, whether the
 *    job started (and is free to give up on it after a timeout);
 *  - the job's exit status is recorded in its leaf (an extended attribute)
 *    by its parent, the keeper, whether or not a governor is alive then, so
 *    a governor opened after a crash or a restart reports the real outcome.
 * cgovd starts its jobs so (GovernorOptions.keeper); cgov_call and the
 * embedded governor start them directly (spawn.c).
 *
 * The keeper shares the governor's memory where it can (x86-64 builds
 * without sanitizers: no page tables copied, as for spawn.c's child), on a
 * stack of its own that the governor takes back once the keeper is gone
 * (raw-task.h: its own unmap would delay the job's end), and it leaves the
 * governor's file descriptor table at once for an empty one of its own,
 * fetching just the fds it needs with pidfd_getfd(): it never holds, so
 * never closes, a file of anyone else.
 *
 * It lives in the governor's own cgroup, never in the job's leaf: the OOM
 * killer kills every process that shares the memory of its victim, and a
 * keeper in a leaf could be the victim of the leaf's OOM kill. (The job's
 * process, while it shares that memory before exec, is safe: the kernel
 * never chooses a task in vfork.) So the leaf holds the job and nothing
 * else, and the keeper says who it is in the leaf's user.cgov.keeper
 * (pid and start time), for a governor that re-adopts the job.
 * Needs Linux 5.9 (CLOSE_RANGE_UNSHARE; pidfd_getfd is 5.6). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawn.h"

/* Starts the keeper in the leaf, which starts sp (sp->cgroup_fd and
 * sp->into_cgroup are the leaf's; the strings sp points to and the fds it
 * names must stay until the keeper has reported, see below). Returns 0
 * with the keeper's pid and pidfd, the read end of its report pipe
 * (non-blocking), and the write end, which the caller closes once the
 * report came or the keeper ended (the keeper takes its own copy of it
 * from the caller's table); and its stack's region, which the caller takes
 * back once the keeper is gone, or disowns (raw-task.h). */
int keeper_start(const SpawnParams *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_report, int *ret_report_write,
                 void **ret_region);

/* The keeper's report, once the report pipe is readable: 1 with the job's
 * main pid, -errno when it could not be started, 0 when nothing is there
 * yet, -ECHILD when the keeper ended without a word. */
int keeper_read_report(int report_fd, pid_t *ret_pid);

/* How the job's main process ended, as its keeper recorded it in the leaf:
 * 0 with the waitid() code and status, -ENODATA when nothing was recorded
 * (the keeper was killed, or the job was not started by one). */
int keeper_read_exit(int leaf_fd, int *ret_code, int *ret_status);

/* The keeper of a job started before, if it still runs: 0 with a pidfd of
 * it (not our child: it can be polled, not reaped), -ESRCH otherwise. */
int keeper_find(int leaf_fd, int *ret_pidfd);

/* Whether this kernel can start keepers (pidfd_getfd(), Linux 5.6; the rest
 * is checked by each keeper, which then reports a start error). */
bool keeper_supported(void);
