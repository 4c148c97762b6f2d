/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A process that runs a little raw code for us and exits: a job's keeper
 * (keeper.c), a closer of files (closer.c). It shares our memory where
 * clone3_vm() exists (no page tables copied: tens of microseconds, where a
 * fork of a small daemon takes hundreds here), on a region of its own that
 * holds a copy of its argument and its stack (see raw_task_start() for who
 * unmaps it); elsewhere (other architectures, sanitizer builds) it is a copy of
 * us. Either way its code uses only raw-syscall.h: sharing our memory, it
 * shares the TLS of the thread that started it, which goes on running. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Starts fn(a copy of arg) with these clone flags beyond CLONE_PIDFD (and
 * CLONE_VM when it shares our memory); exit signal 0: the caller reaps it
 * through the pidfd. fn must end with raw_task_exit().
 *
 * ret_region NULL: the task unmaps its region as it exits. Else the caller
 * takes it back once the task is gone (raw_task_reclaim), or hands it over
 * to the task (raw_task_disown): an unmap of memory that running threads
 * share waits for each of their CPUs to flush its TLB, which the end of a
 * job should not wait for, and a region taken back is used again. NULL is
 * stored when the task is a copy of us. */
int raw_task_start(int (*fn)(void *arg), const void *arg, size_t arg_size, uint64_t flags, void **ret_region,
                   pid_t *ret_pid, int *ret_pidfd);

/* The task of this region has exited (its pidfd is readable, or it was
 * reaped): the region is ours again. NULL: nothing. */
void raw_task_reclaim(void *region);

/* We will not wait for the task of this region: it unmaps the region as it
 * exits. pidfd: the task's, for the moment it was exiting already. (A task
 * killed before its last step never unmaps it.) */
void raw_task_disown(void *region, int pidfd);

/* Gives the kernel back the pages of the task's stack below the caller's
 * frame: for a task that goes on living after some deep work, as a keeper
 * after the job's start. Its memory counts in our resident size. */
void raw_task_trim(void *arg);

/* Ends the task started with arg (as fn got it), freeing its region. */
_Noreturn void raw_task_exit(void *arg, int code);
