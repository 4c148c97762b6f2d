/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* System calls that set no errno and touch nothing thread-local: -errno on
 * failure. For code that runs in a process sharing our memory and the
 * creating thread's TLS (the child of spawn.c between clone and exec, a
 * job's keeper), where libc's wrappers would write errno into a thread that
 * is running at the same time. On x86-64, where cgov starts such processes,
 * a few instructions; elsewhere the processes are copies (fork semantics)
 * and syscall(2) is safe. */

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;
        long r;
        __asm__ volatile("syscall"
                         : "=a"(r)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        return r;
}
#else
static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
        long r = syscall(n, a, b, c, d, e, f);
        return r < 0 ? -errno : r;
}
#endif

#define RAW_ARG(x) ((long) (x))
#define raw_syscall0(n) raw_syscall6((n), 0, 0, 0, 0, 0, 0)
#define raw_syscall1(n, a) raw_syscall6((n), RAW_ARG(a), 0, 0, 0, 0, 0)
#define raw_syscall2(n, a, b) raw_syscall6((n), RAW_ARG(a), RAW_ARG(b), 0, 0, 0, 0)
#define raw_syscall3(n, a, b, c) raw_syscall6((n), RAW_ARG(a), RAW_ARG(b), RAW_ARG(c), 0, 0, 0)
#define raw_syscall4(n, a, b, c, d) raw_syscall6((n), RAW_ARG(a), RAW_ARG(b), RAW_ARG(c), RAW_ARG(d), 0, 0)
#define raw_syscall5(n, a, b, c, d, e) \
        raw_syscall6((n), RAW_ARG(a), RAW_ARG(b), RAW_ARG(c), RAW_ARG(d), RAW_ARG(e), 0)
