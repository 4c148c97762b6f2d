/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What `cgov doctor` learns about the host, and nothing it says about it.
 *
 * Probes never change the host: a root that does not exist yet is judged by
 * its parent, not made. Nothing here prints; an error is a fact for the
 * checks to put in words (see doctor.c). */

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include "cgroup-fs.h"
#include "cgroup-root.h"
#include "doctor-probe.h"
#include "macro.h"

void doctor_done(Doctor *d) {
        free(d->mount);
        free(d->root);
        free(d->own);
        free(d->parent);
        d->root_fd = safe_close(d->root_fd);
}

static void list_add(char *list, size_t size, const char *word) {
        size_t len = strlen(list);

        if (cg_list_has(list, word))
                return;
        /* A list that would overflow loses the word: these lists only feed
         * advice, and real ones are a tenth of the room. */
        if (len + !!len + strlen(word) + 1 > size)
                return;
        snprintf(list + len, size - len, "%s%s", len ? " " : "", word);
}

/* Hybrid mode (cgroup v1 hierarchies beside cgroup2) is what makes memory
 * and pids vanish from cgroup v2 on many hosts; the v1 mounts' options name
 * the controllers they hold ("rw,cpu,cpuacct"). Other words of the options
 * (rw, xattr, ...) land in the list too, harmless since it is only asked
 * about controllers. cg_find_mount() only looks for cgroup2. */
static int scan_v1_mounts(Doctor *d) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) > 0) {
                /* id parent major:minor root mount-point options [optional...] - fstype source super-options */
                char fstype[64], source[256], opts[1024];
                char *dash = strstr(line, " - ");
                if (!dash || sscanf(dash + 3, "%63s %255s %1023s", fstype, source, opts) != 3)
                        continue;
                if (strcmp(fstype, "cgroup") != 0)
                        continue;
                d->n_v1++;
                char *save = NULL;
                for (char *w = strtok_r(opts, ",", &save); w; w = strtok_r(NULL, ",", &save))
                        list_add(d->v1, sizeof d->v1, w);
        }
        return 0;
}

int probe_kernel_controller(const char *v1_name, bool *ret_enabled) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/cgroups", "re");
        char name[64];
        unsigned hierarchy, n, enabled;

        if (!f)
                return negative_errno();
        (void) fscanf(f, "%*[^\n]\n"); /* the header: "#subsys_name hierarchy num_cgroups enabled" */
        while (fscanf(f, "%63s %u %u %u", name, &hierarchy, &n, &enabled) == 4)
                if (strcmp(name, v1_name) == 0) {
                        *ret_enabled = enabled;
                        return 1;
                }
        return 0;
}

static int parent_of(const char *path, char **ret) {
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        char *slash = strrchr(p, '/');
        if (slash == p)
                slash[1] = '\0';
        else if (slash)
                *slash = '\0';
        *ret = p;
        return 0;
}

/* The same decisions cgov_open's root_open() makes, but looking only:
 * an absent root is judged by the parent cgov_open would create it in. */
static int probe_root(Doctor *d) {
        int r;

        if (!d->root)
                return 0; /* ROOT_UNKNOWN, set by the caller */
        r = parent_of(d->root, &d->parent);
        if (r < 0)
                return r;

        r = cg_path_is_v2(d->root);
        if (r == -ENOENT) {
                r = cg_path_is_v2(d->parent);
                if (r == -ENOENT) {
                        d->root_state = ROOT_ABSENT;
                        return 0;
                }
                if (r <= 0) {
                        d->root_state = r == 0 ? ROOT_NOT_V2 : ROOT_UNKNOWN;
                        d->root_error = r;
                        return 0;
                }
                d->root_fd = open(d->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d->root_fd < 0) {
                        d->root_state = ROOT_UNKNOWN;
                        d->root_error = negative_errno();
                        return 0;
                }
                d->root_state = ROOT_TO_CREATE;
                /* A new cgroup's cgroup.controllers is its parent's subtree_control. */
                d->have_controllers =
                        cg_read(d->root_fd, "cgroup.subtree_control", d->controllers, sizeof d->controllers) >= 0;
                return 0;
        }
        if (r <= 0) {
                d->root_state = r == 0 ? ROOT_NOT_V2 : ROOT_UNKNOWN;
                d->root_error = r;
                return 0;
        }

        d->root_fd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->root_fd < 0) {
                d->root_state = ROOT_UNKNOWN;
                d->root_error = negative_errno();
                return 0;
        }
        r = cg_is_hierarchy_root(d->root_fd);
        if (r < 0) {
                d->root_state = ROOT_UNKNOWN;
                d->root_error = r;
                return 0;
        }
        d->root_state = r > 0 ? ROOT_TOP : ROOT_USABLE;
        d->have_controllers = cg_read(d->root_fd, "cgroup.controllers", d->controllers, sizeof d->controllers) >= 0;
        (void) cg_read(d->root_fd, "cgroup.subtree_control", d->subtree_control, sizeof d->subtree_control);
        return 0;
}

int doctor_probe(Doctor *d) {
        int r;

        d->systemd = access("/run/systemd/system", F_OK) == 0;
        if (uname(&d->uts) < 0)
                return negative_errno();
        (void) sscanf(d->uts.release, "%u.%u", &d->kernel_major, &d->kernel_minor);

        r = scan_v1_mounts(d);
        if (r < 0)
                return r;
        r = cg_find_mount(&d->mount);
        if (r == -ENOMEM)
                return r;
        d->mount_error = r;
        if (d->mount) {
                _cleanup_close_ int fd = open(d->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                d->have_top = fd >= 0 && cg_read(fd, "cgroup.controllers", d->top, sizeof d->top) >= 0;
        }

        r = cg_own_dir(&d->own);
        if (r == -ENOMEM)
                return r;
        if (!d->root_given) {
                if (r < 0) {
                        d->root_state = ROOT_UNKNOWN;
                        d->root_error = r;
                        return 0;
                }
                d->root = strdup(d->own);
                if (!d->root)
                        return -ENOMEM;
        }
        return probe_root(d);
}

/* Looking at a real interface file beats inferring from the kernel version,
 * which distributions' backports make unreliable. Such files (cgroup.kill,
 * memory.peak, ...) exist only below the top of the hierarchy, and a
 * controller's only where it is enabled: this opens a cgroup that has them. */
static int probe_candidate(const char *path, const char *controller) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char list[LIST_MAX];
        int r;

        if (fd < 0)
                return negative_errno();
        r = cg_is_hierarchy_root(fd);
        if (r != 0)
                return r < 0 ? r : -ENOENT;
        if (controller) {
                r = cg_read(fd, "cgroup.controllers", list, sizeof list);
                if (r < 0)
                        return r;
                if (!cg_list_has(list, controller))
                        return -ENOENT;
        }
        return TAKE_FD(fd);
}

int probe_dir_open(const Doctor *d, const char *controller, char **ret_path) {
        const char *fixed[] = {
                d->root_state == ROOT_USABLE ? d->root : NULL,
                d->root_state == ROOT_TO_CREATE ? d->parent : NULL,
                d->own,
        };
        _cleanup_(closedirp) DIR *dir = NULL;
        struct dirent *de;
        int fd;

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                if (!fixed[i])
                        continue;
                fd = probe_candidate(fixed[i], controller);
                if (fd >= 0) {
                        *ret_path = strdup(fixed[i]);
                        if (!*ret_path) {
                                safe_close(fd);
                                return -ENOMEM;
                        }
                        return fd;
                }
        }
        if (!d->mount)
                return -ENOENT;
        dir = opendir(d->mount);
        if (!dir)
                return negative_errno();
        /* A bounded look: on a systemd host the first slices do. */
        for (unsigned n = 0; n < 64 && (de = readdir(dir)); n++) {
                _cleanup_free_ char *path = NULL;
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (asprintf(&path, "%s/%s", d->mount, de->d_name) < 0)
                        return -ENOMEM;
                fd = probe_candidate(path, controller);
                if (fd >= 0) {
                        *ret_path = TAKE_PTR(path);
                        return fd;
                }
        }
        return -ENOENT;
}

/* systemd 251+ marks the cgroup of a Delegate=yes unit with the xattr
 * trusted.delegate (and user.delegate, which the unprivileged can read);
 * everything below a marked cgroup is delegated too. Older systemd marks
 * nothing, so "not marked" is a warning, never a verdict. */
bool probe_delegated(const Doctor *d, const char *path) {
        static const char *const names[] = { "user.delegate", "trusted.delegate" };
        _cleanup_free_ char *p = strdup(path);
        size_t top_len;

        if (!p || !d->mount)
                return false;
        top_len = strlen(d->mount);
        while (strlen(p) > top_len) {
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        char v[8];
                        ssize_t n = getxattr(p, names[i], v, sizeof v);
                        if (n > 0 && v[0] == '1')
                                return true;
                }
                char *slash = strrchr(p, '/');
                if (!slash || slash == p)
                        break;
                *slash = '\0';
        }
        return false;
}

/* cg_path_is_v2()'s other half, only ever needed to word a refusal. */
int probe_path_is_v1(const char *path) {
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return negative_errno();
        return sfs.f_type == CGROUP_SUPER_MAGIC;
}

/* cg_has_process() answers for one pid; the advice needs a count and a
 * name to show, so this reads the list itself. */
int probe_root_others(const Doctor *d, unsigned *ret_others, pid_t *ret_first) {
        _cleanup_close_ int fd = openat(d->root_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        _cleanup_(fclosep) FILE *f = NULL;
        unsigned others = 0;
        long pid, first = 0;

        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "r");
        if (!f)
                return negative_errno();
        fd = -EBADF; /* f owns it now */
        while (fscanf(f, "%ld", &pid) == 1)
                if (pid != getpid() && others++ == 0)
                        first = pid;
        *ret_others = others;
        *ret_first = (pid_t) first;
        return 0;
}

void probe_comm(pid_t pid, char *buf, size_t size) {
        char path[64];

        snprintf(path, sizeof path, "/proc/%ld/comm", (long) pid);
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        if (f && fgets(buf, (int) size, f))
                buf[strcspn(buf, "\n")] = '\0';
}

const char *probe_user_name(char *buf, size_t size) {
        struct passwd *pw = getpwuid(geteuid());

        if (pw)
                snprintf(buf, size, "%s", pw->pw_name);
        else
                snprintf(buf, size, "uid %u", (unsigned) geteuid());
        return buf;
}
