/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* clone3() with CLONE_VM: the child runs fn(arg) on args->stack, in our
 * memory, and leaves it by exec or _exit. This is how posix_spawn() starts
 * processes without copying the caller's page tables; glibc gained a way to
 * combine it with CLONE_INTO_CGROUP only in 2.39 (POSIX_SPAWN_SETCGROUP), so
 * cgov carries its own few instructions. A child that shares our memory
 * cannot return from a system call wrapper into C code (its stack is not
 * the one the wrapper was called on): hence assembly, one block per
 * architecture. Returns the child's pid, or -errno (errno itself is left
 * alone: a job's keeper calls this in memory it shares with a running
 * thread). */
long clone3_vm(struct clone_args *args, int (*fn)(void *arg), void *arg);

/* Whether clone3_vm() exists on this architecture and build. GCC's
 * sanitizer builds (--enable-sanitizers) leave it out: their instrumentation
 * of the child's frames would mark parts of the caller's stack, which the
 * child shares. clang before 15 does not announce AddressSanitizer this
 * way, so the fuzzers (clang) keep it, and with it the path cgovd runs:
 * the only one on which a keeper can read memory the daemon freed, which
 * tests/fuzz/fuzz-daemon.c watches for. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HAVE_CLONE3_VM 1
#else
#define HAVE_CLONE3_VM 0
#endif

/* For a process started by clone3_vm() without CLONE_VFORK, on a stack of
 * its own: unmaps [addr, addr + len) — its stack, on which it runs — and
 * exits with code, touching no memory in between. */
_Noreturn void clone_vm_unmap_exit(void *addr, size_t len, int code);
