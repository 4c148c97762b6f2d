/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The few helpers every file uses: scoped cleanup and ownership hand-over in
 * the style of systemd's macro.h, and argument checks for exported functions. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _public_ __attribute__((visibility("default")))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
/* For the code of a process that shares our memory and the TLS of one of
 * our threads (raw-task.h): AddressSanitizer's runtime, asked for "the
 * current thread's" stack before a call that does not return, finds that
 * thread's and fails a CHECK. Instrumented code called from there still
 * catches what it reads of freed memory. */
#define _raw_task_code_ __attribute__((no_sanitize("address")))

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand ownership out of a _cleanup_ variable: the variable is reset, so the
 * cleanup on scope exit does nothing. */
#define TAKE_GENERIC(var, null)            \
        ({                                 \
                __typeof__(var) _t = (var); \
                (var) = (null);            \
                _t;                        \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, -EBADF)

/* Exported functions check every argument first and return an error rather
 * than crash: the caller's bug must not take down its service. */
#define assert_return(expr, r)          \
        do {                            \
                if (!(expr))            \
                        return (r);     \
        } while (0)

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void *memdup_array(const void *p, size_t n, size_t size) {
        void *c = reallocarray(NULL, n, size);
        return c ? memcpy(c, p, n * size) : NULL;
}

/* errno as a negative return value; never 0, so a caller's "r < 0" holds even
 * when a libc function failed without setting errno. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
