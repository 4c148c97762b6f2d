/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "keeper.h"
#include "macro.h"
#include "raw-syscall.h"
#include "raw-task.h"

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

typedef struct KeeperReport {
        int32_t err;        /* positive errno of the start, 0: started */
        int32_t pid;        /* the job's main process */
} KeeperReport;

/* What the keeper needs, copied before it starts (raw-task.h). */
typedef struct KeeperArgs {
        SpawnParams sp;     /* its pointers lead into the job, valid until the report */
        int stdio[3];       /* the governor's numbers (-1: /dev/null), if sp.stdio */
        int leaf_fd, report_fd; /* the governor's numbers */
        bool into_cgroup;   /* the job is born in the leaf, else it goes in through the gate */
        pid_t governor;
} KeeperArgs;

_noreturn_ _raw_task_code_ static void keeper_exit(KeeperArgs *a, int code) {
        raw_task_exit(a, code);
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

_raw_task_code_ static int keeper_main(void *userdata) {
        KeeperArgs *a = userdata;
        KeeperReport rep = {};
        uint64_t all = UINT64_MAX;
        int governor, leaf = -1, report = -1, jpidfd = -1;
        pid_t jpid = 0;
        long r;

        /* Every signal stays blocked, as raw_task_start() started us: no
         * handler of the host program runs here, whatever dispositions we
         * copied from it, and no signal but SIGKILL stops us from
         * recording the job's end (a write to a pipe nobody reads any more
         * must not kill us either). The job's process resets them before
         * it unblocks them (spawn.c). */
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
        /* The job's stdio as our own 0, 1 and 2, which it inherits: no
         * other copy of a tenant's file is then anywhere in its table, for
         * exec to close (a close that may block, see above). Ours were the
         * governor's. */
        for (int i = 0; a->sp.stdio && i < 3; i++) {
                (void) raw_syscall1(SYS_close, i);
                r = a->stdio[i] >= 0 ? fetch_fd(governor, a->stdio[i])
                                     : raw_syscall4(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR, 0);
                if (r >= 0 && r != i) {
                        long moved = raw_syscall3(SYS_dup3, r, i, 0);
                        (void) raw_syscall1(SYS_close, r);
                        r = moved;
                }
                if (r < 0)
                        keeper_exit(a, (int) -r);
                /* The fetched copy is O_CLOEXEC: the job's must not be. */
                (void) raw_syscall3(SYS_fcntl, i, F_SETFD, 0);
        }
        leaf = fetch_fd(governor, a->leaf_fd);
        report = fetch_fd(governor, a->report_fd);
        if (leaf < 0 || report < 0)
                keeper_exit(a, -(leaf < 0 ? leaf : report));
        (void) raw_syscall1(SYS_close, governor);

        /* Who we are, for a governor that re-adopts the job. */
        char who[48];
        size_t n = format_pair(who, (uint64_t) raw_syscall0(SYS_getpid), start_time_of("/proc/self/stat"));
        (void) raw_syscall5(SYS_fsetxattr, leaf, KEEPER_XATTR, who, n, 0);

        /* The job, in its leaf, with our stdio. */
        a->sp.stdio = NULL;
        a->sp.cgroup_fd = leaf;
        a->sp.into_cgroup = a->into_cgroup;
        r = spawn_in_cgroup(&a->sp, &jpid, &jpidfd);
        rep.err = r < 0 ? (int32_t) -r : 0;
        rep.pid = jpid;
        /* From here on nothing of the governor's memory is read. */
        (void) raw_syscall3(SYS_write, report, &rep, sizeof rep);
        (void) raw_syscall1(SYS_close, report);
        if (rep.err != 0)
                keeper_exit(a, 0);
        /* The job's first steps ran deep in our stack: those pages go
         * back while we wait, which may be long. */
        raw_task_trim(a);

        siginfo_t si = {};
        do
                r = raw_syscall5(SYS_waitid, P_PIDFD, jpidfd, &si, WEXITED | __WALL, NULL);
        while (r == -EINTR);
        if (r >= 0) {
                char buf[48];
                n = format_pair(buf, (uint64_t) (unsigned) si.si_code, (uint64_t) (unsigned) si.si_status);
                (void) raw_syscall5(SYS_fsetxattr, leaf, EXIT_XATTR, buf, n, 0);
        }
        /* Our stdio, the job's, closes as we exit: a close that blocks (its
         * user's FUSE file) blocks only us, after the end is recorded. */
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
        /* pidfd_getfd() on an invalid pidfd: EBADF where it exists (5.6);
         * close_range() of an empty range: EINVAL where it exists (5.9,
         * with CLOSE_RANGE_UNSHARE). */
        return raw_syscall3(SYS_pidfd_getfd, -1, 0, 0) == -EBADF && raw_syscall3(SYS_close_range, 1, 0, 0) == -EINVAL;
}

int keeper_start(const SpawnParams *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_report, int *ret_report_write,
                 void **ret_region) {
        int pipefd[2], r;

        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        KeeperArgs a = {
                .sp = *sp,
                .leaf_fd = sp->cgroup_fd,
                .report_fd = pipefd[1],
                .into_cgroup = sp->into_cgroup,
                .governor = getpid(),
        };
        for (int i = 0; sp->stdio && i < 3; i++)
                a.stdio[i] = sp->stdio[i];
        /* Our fd table at first (it leaves it at once), in our cgroup, not
         * the leaf: see keeper.h. */
        r = raw_task_start(keeper_main, &a, sizeof a, CLONE_FILES, ret_region, ret_pid, ret_pidfd);
        if (r < 0) {
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return r;
        }
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
