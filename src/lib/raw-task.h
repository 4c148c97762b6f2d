/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A process that runs a little raw code for us and exits: a job's keeper
 * (keeper.c), a closer of files (closer.c). It shares our memory where
 * clone3_vm() exists (no page tables copied: tens of microseconds, where a
 * fork of a small daemon takes hundreds here), on a region of its own that
 * holds a copy of its argument and its stack, and that it unmaps as it
 * exits; elsewhere (other architectures, sanitizer builds) it is a copy of
 * us. Either way its code uses only raw-syscall.h: sharing our memory, it
 * shares the TLS of the thread that started it, which goes on running. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Starts fn(a copy of arg) with these clone flags beyond CLONE_PIDFD (and
 * CLONE_VM when it shares our memory); exit signal 0: the caller reaps it
 * through the pidfd. fn must end with raw_task_exit(). */
int raw_task_start(int (*fn)(void *arg), const void *arg, size_t arg_size, uint64_t flags, pid_t *ret_pid,
                   int *ret_pidfd);

/* Gives the kernel back the pages of the task's stack below the caller's
 * frame: for a task that goes on living after some deep work, as a keeper
 * after the job's start. Its memory counts in our resident size. */
void raw_task_trim(void *arg);

/* Ends the task started with arg (as fn got it), freeing its region. */
_Noreturn void raw_task_exit(void *arg, int code);
