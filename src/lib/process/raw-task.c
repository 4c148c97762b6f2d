/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "clone-vm.h"
#include "macro.h"
#include "raw-syscall.h"
#include "raw-task.h"

/* The task's stack when it shares our memory: spawn_shared() (a keeper's)
 * puts 16 KiB for the job's first steps on it, plus their frames. */
#define REGION_SIZE (128 * 1024)
#define ARG_SIZE_MAX 2048

/* Regions taken back (raw_task_reclaim) wait here for the next task: a
 * new mapping costs a system call, and its unmap a TLB flush on each CPU
 * that runs one of our threads. */
#define REGIONS_KEPT 16

/* Who unmaps a region: the task as it exits, or the one that started it
 * once the task is gone. The task decides at its last step, by swapping in
 * REGION_EXITING; raw_task_disown() swaps in REGION_SELF. */
enum {
        REGION_OWNED,           /* the starter takes it back */
        REGION_SELF,            /* the task unmaps it as it exits */
        REGION_EXITING,         /* the task has exited, or is exiting, without unmapping it */
};

/* The start of the region; the argument follows, the stack grows down to it. */
typedef struct RegionHeader {
        void *region;           /* NULL: the task is a copy of us, with nothing to unmap */
        size_t size;
        size_t used;            /* the header and the argument */
        int state;              /* REGION_*, atomic */
        _Alignas(16) char arg[];
} RegionHeader;

static pthread_mutex_t regions_lock = PTHREAD_MUTEX_INITIALIZER;
static void *regions_kept[REGIONS_KEPT];
static size_t n_regions_kept;

static void *region_get(void) {
        void *region = NULL;

        pthread_mutex_lock(&regions_lock);
        if (n_regions_kept > 0)
                region = regions_kept[--n_regions_kept];
        pthread_mutex_unlock(&regions_lock);
        if (region)
                return region;
        region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        return region == MAP_FAILED ? NULL : region;
}

/* Whether the task of pidfd has exited, waiting up to timeout_ms. */
static bool task_gone(int pidfd, int timeout_ms) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        return pidfd >= 0 && poll(&p, 1, timeout_ms) == 1;
}

void raw_task_reclaim(void *region) {
        if (!region)
                return;
        pthread_mutex_lock(&regions_lock);
        if (n_regions_kept < REGIONS_KEPT) {
                regions_kept[n_regions_kept++] = region;
                region = NULL;
        }
        pthread_mutex_unlock(&regions_lock);
        if (region)
                (void) munmap(region, REGION_SIZE);
}

void raw_task_disown(void *region, int pidfd) {
        RegionHeader *h = region;

        /* One that was killed, and so never got to its last step, leaves
         * it mapped: what it started may still run on it. */
        if (!h)
                return;
        if (__atomic_exchange_n(&h->state, REGION_SELF, __ATOMIC_ACQ_REL) != REGION_EXITING)
                return;
        /* It was exiting already, and left the region to us: ours once it is
         * gone. Its exit closes its files, which may block (a tenant's FUSE
         * file): rather than wait on that, the region stays mapped. */
        if (task_gone(pidfd, 100))
                raw_task_reclaim(region);
}

static RegionHeader *header_of(void *arg) {
        return (RegionHeader *) ((char *) arg - offsetof(RegionHeader, arg));
}

void raw_task_trim(void *arg) {
        RegionHeader *h = header_of(arg);
        char here;
        uintptr_t page = 4096;
        uintptr_t lo = ((uintptr_t) h + h->used + page - 1) & ~(page - 1);
        /* A page below our frame (its red zone): what lies deeper is dead,
         * and a page touched again later just comes back zeroed. */
        uintptr_t hi = ((uintptr_t) &here - page) & ~(page - 1);

        if (h->region && hi > lo)
                (void) raw_syscall3(SYS_madvise, lo, hi - lo, MADV_DONTNEED);
}

_raw_task_code_ void raw_task_exit(void *arg, int code) {
        RegionHeader *h = header_of(arg);
        if (h->region && __atomic_exchange_n(&h->state, REGION_EXITING, __ATOMIC_ACQ_REL) == REGION_SELF)
                clone_vm_unmap_exit(h->region, h->size, code);
        for (;;)
                (void) raw_syscall1(SYS_exit, code);
}

int raw_task_start(int (*fn)(void *arg), const void *arg, size_t arg_size, uint64_t flags, void **ret_region,
                   pid_t *ret_pid, int *ret_pidfd) {
        bool share_memory = HAVE_CLONE3_VM;
        uint64_t all = UINT64_MAX, saved;
        int pidfd = -EBADF;
        long pid;

        if (arg_size > ARG_SIZE_MAX)
                return -E2BIG;
        /* A copy of us gets its argument on its copy of our stack. */
        _Alignas(16) char local[sizeof(RegionHeader) + ARG_SIZE_MAX];
        RegionHeader *h = (RegionHeader *) local;
        if (share_memory) {
                h = region_get();
                if (!h)
                        return -ENOMEM;
        }
        h->region = share_memory ? h : NULL;
        h->size = REGION_SIZE;
        h->used = sizeof(RegionHeader) + arg_size;
        h->state = ret_region ? REGION_OWNED : REGION_SELF;
        memcpy(h->arg, arg, arg_size);

        struct clone_args args = {
                .flags = flags | CLONE_PIDFD | (share_memory ? CLONE_VM : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = 0,
        };
        /* No handler of ours may run in it before it has reset them. */
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, sizeof all);
        if (share_memory) {
                size_t used = (sizeof(RegionHeader) + arg_size + 15) & ~(size_t) 15;
                args.stack = (uint64_t) (uintptr_t) h + used;
                args.stack_size = REGION_SIZE - used;
                pid = clone3_vm(&args, fn, h->arg);
        } else {
                pid = raw_syscall2(SYS_clone3, &args, sizeof args);
                if (pid == 0)
                        raw_task_exit(h->arg, fn(h->arg)); /* a copy of us: fn ends it */
        }
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &saved, NULL, sizeof saved);

        if (pid < 0) {
                raw_task_reclaim(h->region);
                return (int) pid;
        }
        if (ret_region)
                *ret_region = h->region;
        *ret_pid = (pid_t) pid;
        *ret_pidfd = pidfd;
        return 0;
}
