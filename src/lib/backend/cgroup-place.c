/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-fs.h"
#include "cgroup-place.h"
#include "cgroup-root.h"
#include "macro.h"

int place_caps(int fd, CgroupCaps *caps) {
        char available[256];
        int r = cg_read(fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                return r;
        caps->have_memory = cg_list_has(available, "memory");
        caps->have_pids = cg_list_has(available, "pids");
        caps->have_kill_file = faccessat(fd, "cgroup.kill", W_OK, 0) == 0;
        return 0;
}

void place_usage(int fd, uint64_t *ret_memory, uint64_t *ret_pids) {
        if (cg_read_u64(fd, "memory.current", ret_memory) < 0)
                *ret_memory = 0;
        if (cg_read_u64(fd, "pids.current", ret_pids) < 0)
                *ret_pids = 0;
}

void place_stats(const CgroupCaps *caps, int fd, struct cgov_result *res, uint64_t *ret_oom_kills) {
        uint64_t v;

        /* Only the files the place can have: each try is a system call. */
        *ret_oom_kills = 0;
        if (caps->have_memory && cg_read_u64(fd, "memory.peak", &v) >= 0)
                res->memory_peak = v;
        if (caps->have_pids && cg_read_u64(fd, "pids.peak", &v) >= 0)
                res->pids_peak = (uint32_t) MIN(v, UINT32_MAX);
        if (cg_read_key_u64(fd, "cpu.stat", "usage_usec", &v) >= 0)
                res->cpu_usec = v;
        if (caps->have_memory && cg_read_key_u64(fd, "memory.events", "oom_kill", &v) >= 0)
                *ret_oom_kills = v;
}

int place_kill(const CgroupCaps *caps, int fd) {
        return cg_kill(fd, caps->have_kill_file);
}

int place_populated(const CgroupCaps *caps, int fd) {
        int r = cg_is_populated(fd);
        if (r > 0 && !caps->have_kill_file)
                (void) cg_kill(fd, false);
        return r;
}

int place_pidfd(int fd, pid_t pid) {
        if (pid <= 0 || cg_has_process(fd, pid) <= 0)
                return -EBADF;
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd >= 0 && cg_has_process(fd, pid) <= 0)
                pidfd = safe_close(pidfd);
        return pidfd < 0 ? -EBADF : pidfd;
}

int place_opendir(int fd, DIR **ret) {
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return negative_errno();
        *ret = fdopendir(dfd);
        if (!*ret) {
                int r = negative_errno();
                safe_close(dfd);
                return r;
        }
        return 0;
}
