/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "clone-vm.h"
#include "keeper.h"
#include "macro.h"
#include "raw-syscall.h"

/* See keeper.h. Everything the keeper runs is errno-free (raw-syscall.h):
 * sharing the governor's memory, it also shares the TLS of the thread that
 * started it, which goes on running. */

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define EXIT_XATTR "user.cgov.exit"
#define KEEPER_XATTR "user.cgov.keeper"
/* The keeper's stack when it shares our memory: spawn_shared() puts 16 KiB
 * for the job's own first steps on it, plus their frames and ours. */
#define REGION_SIZE (128 * 1024)

typedef struct KeeperReport {
        int32_t err;        /* positive errno of the start, 0: started */
        int32_t pid;        /* the job's main process */
} KeeperReport;

/* What the keeper needs, copied before it starts: into its own region when
 * it shares our memory, onto its copy of our stack otherwise. */
typedef struct KeeperArgs {
        SpawnParams sp;     /* its pointers lead into the job, valid until the report */
        int stdio[3];       /* the governor's numbers (-1: /dev/null), if sp.stdio */
        int stdio_own[3];
        int leaf_fd, report_fd; /* the governor's numbers */
        bool into_cgroup;   /* the job is born in the leaf, else it goes in through the gate */
        pid_t governor;
        void *region;       /* to unmap when done; NULL: a copy of the governor */
        size_t region_size;
} KeeperArgs;

_noreturn_ static void keeper_exit(KeeperArgs *a, int code) {
        if (a->region)
                clone_vm_unmap_exit(a->region, a->region_size, code);
        for (;;)
                (void) raw_syscall1(SYS_exit, code);
}

/* An fd of the governor's table, into ours. */
static int fetch_fd(int pidfd, int fd) {
        return (int) raw_syscall3(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* "A B", two numbers as the records hold them (no printf here). */
static size_t format_pair(char *buf, uint64_t a, uint64_t b) {
        char digits[24];
        size_t n = 0;
        uint64_t v[2] = { a, b };

        for (int k = 0; k < 2; k++) {
                uint64_t u = v[k];
                size_t d = 0;
                do
                        digits[d++] = (char) ('0' + u % 10);
                while ((u /= 10) > 0);
                while (d > 0)
                        buf[n++] = digits[--d];
                buf[n++] = k == 0 ? ' ' : '\0';
        }
        return n - 1;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * since boot. With the pid, it names one process for good. 0: unknown. */
static uint64_t start_time_of(const char *stat_path) {
        char buf[1024];
        long n;
        int fd = (int) raw_syscall4(SYS_openat, AT_FDCWD, stat_path, O_RDONLY | O_CLOEXEC, 0);

        if (fd < 0)
                return 0;
        n = raw_syscall3(SYS_read, fd, buf, sizeof buf - 1);
        (void) raw_syscall1(SYS_close, fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* The command (field 2) may hold anything but ends at the last ')'. */
        const char *p = NULL;
        for (long i = 0; i < n; i++)
                if (buf[i] == ')')
                        p = buf + i;
        if (!p)
                return 0;
        for (int field = 2; field < 22; p++) {
                if (*p == '\0')
                        return 0;
                if (*p == ' ')
                        field++;
        }
        uint64_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint64_t) (*p - '0');
        return v;
}

static int keeper_main(void *userdata) {
        KeeperArgs *a = userdata;
        KeeperReport rep = {};
        uint64_t all = UINT64_MAX;
        int governor, leaf = -1, report = -1, jpidfd = -1;
        pid_t jpid = 0;
        long r;

        /* No handler of the host program runs here; no signal but SIGKILL
         * stops us from recording the job's end (a write to a pipe nobody
         * reads any more must not kill us either). The job itself starts
         * with nothing blocked (spawn.c). */
        spawn_reset_signals();
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
        (void) raw_syscall5(SYS_prctl, PR_SET_NAME, "cgov-keeper", 0, 0, 0);

        /* Out of the governor's fd table, into an empty one of our own,
         * without copying it: a copy would hold every file of every tenant
         * the governor has open at this moment, and closing one can block
         * (a FUSE file flushes on close). Early failures are our exit
         * status: no report pipe yet. */
        r = raw_syscall3(SYS_close_range, 3U, ~0U, CLOSE_RANGE_UNSHARE);
        if (r < 0)
                keeper_exit(a, (int) -r);
        governor = (int) raw_syscall2(SYS_pidfd_open, a->governor, 0);
        if (governor < 0)
                keeper_exit(a, -governor);
        /* Still our parent, so the pidfd is the governor's and not a reuse
         * of its pid (it may have died since it started us). */
        if (raw_syscall0(SYS_getppid) != a->governor)
                keeper_exit(a, ESRCH);
        leaf = fetch_fd(governor, a->leaf_fd);
        report = fetch_fd(governor, a->report_fd);
        if (leaf < 0 || report < 0)
                keeper_exit(a, -(leaf < 0 ? leaf : report));
        for (int i = 0; a->sp.stdio && i < 3; i++) {
                r = a->stdio[i] >= 0 ? fetch_fd(governor, a->stdio[i])
                                     : raw_syscall4(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
                if (r < 0) {
                        rep.err = (int32_t) -r;
                        goto report;
                }
                a->stdio_own[i] = (int) r;
        }
        (void) raw_syscall1(SYS_close, governor);

        /* Who we are, for a governor that re-adopts the job. */
        char who[48];
        size_t n = format_pair(who, (uint64_t) raw_syscall0(SYS_getpid), start_time_of("/proc/self/stat"));
        (void) raw_syscall5(SYS_fsetxattr, leaf, KEEPER_XATTR, who, n, 0);

        /* The job, in its leaf. */
        if (a->sp.stdio)
                a->sp.stdio = a->stdio_own;
        a->sp.cgroup_fd = leaf;
        a->sp.into_cgroup = a->into_cgroup;
        r = spawn_in_cgroup(&a->sp, &jpid, &jpidfd);
        rep.err = r < 0 ? (int32_t) -r : 0;
        rep.pid = jpid;
report:
        /* From here on nothing of the governor's memory is read. */
        (void) raw_syscall3(SYS_write, report, &rep, sizeof rep);
        (void) raw_syscall1(SYS_close, report);
        if (rep.err != 0)
                keeper_exit(a, 0);

        siginfo_t si = {};
        do
                r = raw_syscall5(SYS_waitid, P_PIDFD, jpidfd, &si, WEXITED | __WALL, NULL);
        while (r == -EINTR);
        if (r >= 0) {
                char buf[48];
                n = format_pair(buf, (uint64_t) (unsigned) si.si_code, (uint64_t) (unsigned) si.si_status);
                (void) raw_syscall5(SYS_fsetxattr, leaf, EXIT_XATTR, buf, n, 0);
        }
        /* Our copies of the job's stdio close as we exit: a close that
         * blocks (its user's FUSE file) blocks only us, and only after the
         * end is recorded. */
        keeper_exit(a, 0);
}

int keeper_find(int leaf_fd, int *ret_pidfd) {
        char buf[48], path[64];
        unsigned long long pid, start;
        int end = 0;
        ssize_t n = fgetxattr(leaf_fd, KEEPER_XATTR, buf, sizeof buf - 1);

        if (n < 0)
                return -ESRCH;
        buf[n] = '\0';
        if (sscanf(buf, "%llu %llu%n", &pid, &start, &end) != 2 || buf[end] != '\0' || pid == 0 || pid > INT32_MAX)
                return -ESRCH;
        int pidfd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
        if (pidfd < 0)
                return -ESRCH;
        /* The pidfd holds the process: if it started when the keeper did,
         * it is the keeper, not a later process with its pid. */
        snprintf(path, sizeof path, "/proc/%llu/stat", pid);
        if (start == 0 || start_time_of(path) != start) {
                safe_close(pidfd);
                return -ESRCH;
        }
        *ret_pidfd = pidfd;
        return 0;
}

bool keeper_supported(void) {
        /* pidfd_getfd() on an invalid pidfd: EBADF where it exists. */
        return raw_syscall3(SYS_pidfd_getfd, -1, 0, 0) == -EBADF;
}

int keeper_start(const SpawnParams *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_report, int *ret_report_write) {
        bool share_memory = HAVE_CLONE3_VM;
        KeeperArgs local, *a = &local;
        uint64_t all = UINT64_MAX, saved;
        int pipefd[2], pidfd = -EBADF;
        void *region = NULL;
        long pid;

        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        if (share_memory) {
                region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                              -1, 0);
                if (region == MAP_FAILED) {
                        int r = negative_errno();
                        safe_close(pipefd[0]);
                        safe_close(pipefd[1]);
                        return r;
                }
                a = region;
        }
        *a = (KeeperArgs) {
                .sp = *sp,
                .leaf_fd = sp->cgroup_fd,
                .report_fd = pipefd[1],
                .into_cgroup = sp->into_cgroup,
                .governor = getpid(),
                .region = region,
                .region_size = REGION_SIZE,
        };
        for (int i = 0; sp->stdio && i < 3; i++)
                a->stdio[i] = sp->stdio[i];

        /* In our cgroup, not the leaf: see keeper.h. */
        struct clone_args args = {
                .flags = CLONE_FILES | CLONE_PIDFD | (share_memory ? CLONE_VM : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = 0,
        };
        /* No handler of ours may run in the keeper before it has reset them. */
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, sizeof all);
        if (share_memory) {
                /* The stack grows down to the arguments at the region's start. */
                args.stack = (uint64_t) (uintptr_t) region + sizeof *a;
                args.stack_size = (REGION_SIZE - sizeof *a) & ~(uint64_t) 15;
                pid = clone3_vm(&args, keeper_main, a);
        } else {
                pid = raw_syscall2(SYS_clone3, &args, sizeof args);
                if (pid == 0)
                        keeper_main(a); /* a copy of us: never returns */
        }
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &saved, NULL, sizeof saved);

        if (pid < 0) {
                if (region)
                        munmap(region, REGION_SIZE);
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return (int) pid;
        }
        *ret_pid = (pid_t) pid;
        *ret_pidfd = pidfd;
        *ret_report = pipefd[0];
        *ret_report_write = pipefd[1];
        return 0;
}

int keeper_read_report(int report_fd, pid_t *ret_pid) {
        KeeperReport rep;
        ssize_t n;

        do
                n = read(report_fd, &rep, sizeof rep);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? 0 : negative_errno();
        /* The write is atomic (PIPE_BUF): all or nothing. */
        if (n != (ssize_t) sizeof rep)
                return -ECHILD;
        if (rep.err != 0)
                return -rep.err;
        *ret_pid = rep.pid;
        return 1;
}

int keeper_read_exit(int leaf_fd, int *ret_code, int *ret_status) {
        char buf[32];
        int code, status, end = 0;
        ssize_t n = fgetxattr(leaf_fd, EXIT_XATTR, buf, sizeof buf - 1);

        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP ? -ENODATA : negative_errno();
        buf[n] = '\0';
        if (sscanf(buf, "%d %d%n", &code, &status, &end) != 2 || buf[end] != '\0')
                return -ENODATA;
        *ret_code = code;
        *ret_status = status;
        return 0;
}
