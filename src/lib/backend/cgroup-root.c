/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "cgroup-fs.h"
#include "cgroup-root.h"
#include "macro.h"

int cg_root_path_check(const char *path) {
        if (path[0] != '/')
                return -EINVAL;
        for (const char *s = path; (s = strstr(s, "..")); s += 2)
                if ((s == path || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
                        return -EINVAL;
        return 0;
}

/* Calls fn(mount_root, mount_point) for each cgroup2 mount in mountinfo
 * until it returns non-zero. */
static int for_each_cgroup2_mount(int (*fn)(const char *root, const char *point, void *ud), void *ud) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f = fopen("/proc/self/mountinfo", "re");
        int r = -ENOMEDIUM;

        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) > 0) {
                /* id parent major:minor root mount-point options [optional...] - fstype source ... */
                char root[4096], point[4096], fstype[64];
                char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
                    sscanf(dash + 3, "%63s", fstype) != 1)
                        continue;
                if (strcmp(fstype, "cgroup2") != 0)
                        continue;
                /* mountinfo escapes spaces as \040; cgroup mounts never have them. */
                int k = fn(root, point, ud);
                if (k != 0) {
                        r = k > 0 ? 0 : k;
                        break;
                }
        }
        fclose(f);
        return r;
}

struct mount_ud {
        char *root, *point;
};

static int take_first(const char *root, const char *point, void *ud) {
        struct mount_ud *m = ud;
        m->root = strdup(root);
        m->point = strdup(point);
        return (m->root && m->point) ? 1 : -ENOMEM;
}

int cg_find_mount(char **ret_path) {
        struct mount_ud m = {};

        int r = for_each_cgroup2_mount(take_first, &m);
        free(m.root);
        if (r < 0) {
                free(m.point);
                return r;
        }
        *ret_path = m.point;
        return 0;
}

static int own_cgroup_path(char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f = fopen("/proc/self/cgroup", "re");
        int r = -ENOMEDIUM;

        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) > 0) {
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                line[strcspn(line, "\n")] = '\0';
                *ret = strdup(line + 3);
                r = *ret ? 0 : -ENOMEM;
                break;
        }
        fclose(f);
        return r;
}

int cg_own_dir(char **ret_path) {
        _cleanup_free_ char *own = NULL;
        struct mount_ud m = {};
        const char *rel;
        int r;

        r = own_cgroup_path(&own);
        if (r < 0)
                return r;
        r = for_each_cgroup2_mount(take_first, &m);
        if (r < 0)
                return r;
        /* With a cgroup namespace the mount's root and our path are both
         * relative to the namespace; a bind mount of a subtree shows its root. */
        rel = own;
        if (strcmp(m.root, "/") != 0 && strncmp(own, m.root, strlen(m.root)) == 0)
                rel = own + strlen(m.root);
        if (asprintf(ret_path, "%s%s", m.point, strcmp(rel, "/") == 0 ? "" : rel) < 0)
                r = -ENOMEM;
        free(m.root);
        free(m.point);
        return r;
}

int cg_path_is_v2(const char *path) {
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return negative_errno();
        return sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cg_is_hierarchy_root(int dfd) {
        if (faccessat(dfd, "cgroup.type", F_OK, 0) == 0)
                return 0;
        return errno == ENOENT ? 1 : negative_errno();
}

int cg_has_process(int dfd, pid_t pid) {
        _cleanup_close_ int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        FILE *f;
        long p;
        int found = 0;

        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "r");
        if (!f)
                return negative_errno();
        fd = -EBADF; /* the FILE owns it now */
        while (fscanf(f, "%ld", &p) == 1)
                if (p == pid) {
                        found = 1;
                        break;
                }
        fclose(f);
        return found;
}

int cg_probe_clone_into_cgroup(void) {
        /* An invalid cgroup fd: a kernel that knows CLONE_INTO_CGROUP checks
         * it and says EBADF; an older one refuses the flag or the larger
         * struct first. No process is created either way. */
        struct clone_args args = {
                .flags = CLONE_INTO_CGROUP,
                .exit_signal = 0,
                .cgroup = (uint64_t) INT32_MAX,
        };
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0)
                _exit(0); /* cannot happen: the fd is not open */
        if (pid > 0)
                return -EIO;
        if (errno == EBADF)
                return 1;
        if (errno == ENOSYS || errno == E2BIG || errno == EINVAL)
                return 0;
        return negative_errno();
}
