/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "backend-cgroupfs.h"
#include "backend.h"
#include "cgroup-fs.h"
#include "cgroup-place.h"
#include "cgroup-records.h"
#include "cgroup-root.h"
#include "time-util.h"
#include "keeper.h"
#include "macro.h"
#include "spawn.h"

/* The cgroupfs backend: a delegated cgroup v2 directory (systemd's
 * Delegate=yes, or one the administrator made) is the root; a pool is a
 * directory in it, a job a leaf directory "<name>@<id>" in its pool, made
 * and limited before its process is born inside (CLONE_INTO_CGROUP) or
 * moved in before it execs. What must survive the governor is recorded in
 * extended attributes of those directories (cgroup-records.h). */

struct Backend {
        char *root;
        int root_fd;
        CgroupCaps caps;
        bool into_cgroup;              /* clone3(CLONE_INTO_CGROUP) (5.7) works; atomic */
};

/* Controllers turned on below the root. memory and pids enforce the limits;
 * cpu and io only make cpu.stat/io.stat richer and are skipped where the
 * kernel refuses them (cpu does while realtime threads exist). */
static const char *const required_controllers[] = { "memory", "pids", NULL };
static const char *const optional_controllers[] = { "cpu", "io" };
/* What pools pass on to sub-pools and leaves, for their own limits. */
static const char *const pool_controllers[] = { "memory", "pids", NULL };

/* ---- the root ------------------------------------------------------------ */

/* Opens (creating if missing and permitted) the root and checks it is a
 * delegated cgroup v2 directory. */
static int root_open(const char *path, int *ret_fd) {
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = cg_path_is_v2(path);
        if (r == -ENOENT) {
                /* Only the last component is created, and only inside cgroup2:
                 * anything else is a typo we should not paper over. */
                parent = strdup(path);
                if (!parent)
                        return -ENOMEM;
                char *slash = strrchr(parent, '/');
                if (slash == parent)
                        slash[1] = '\0';
                else
                        *slash = '\0';
                r = cg_path_is_v2(parent);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EMEDIUMTYPE;
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return errno == EROFS ? -EACCES : negative_errno();
                r = 1;
        }
        if (r < 0)
                return r;
        if (r == 0)
                return -EMEDIUMTYPE;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = cg_is_hierarchy_root(fd);
        if (r < 0)
                return r;
        if (r > 0)
                return -EPERM;
        if (faccessat(fd, "cgroup.subtree_control", W_OK, AT_EACCESS) < 0 ||
            faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS) < 0 || faccessat(fd, ".", W_OK, AT_EACCESS) < 0)
                return (errno == EACCES || errno == EPERM || errno == EROFS) ? -EACCES : negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* cgroup v2 lets only leaves hold processes: if we sit in our own root (the
 * systemd Delegate=yes case), we move into supervisor/ before the root can
 * get controllers for its children. */
static int root_evict_self(int root_fd) {
        int r = cg_has_process(root_fd, getpid());
        if (r <= 0)
                return r;
        if (mkdirat(root_fd, SUPERVISOR_NAME, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        _cleanup_close_ int fd = openat(root_fd, SUPERVISOR_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return cg_write(fd, "cgroup.procs", "0");
}

static int root_setup(Backend *b, unsigned flags) {
        char available[256];
        int r;

        r = cg_read(b->root_fd, "cgroup.controllers", available, sizeof available);
        if (r >= 0)
                r = place_caps(b->root_fd, &b->caps);
        if (r < 0)
                return r;
        if ((!b->caps.have_memory || !b->caps.have_pids) && !(flags & CGOV_OPEN_ACCOUNTING_ONLY))
                return -EOPNOTSUPP;

        r = root_evict_self(b->root_fd);
        if (r < 0)
                return r;
        r = cg_enable_controllers(b->root_fd, available, required_controllers);
        if (r < 0)
                return r;  /* -EBUSY: someone else's processes sit in the root */
        for (size_t i = 0; i < ELEMENTSOF(optional_controllers); i++) {
                const char *one[] = { optional_controllers[i], NULL };
                (void) cg_enable_controllers(b->root_fd, available, one);
        }
        b->into_cgroup = cg_probe_clone_into_cgroup() > 0;
        return 0;
}

/* root NULL: our own cgroup (systemd's Delegate=yes). */
static int root_path(const char *root, char **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (root) {
                r = cg_root_path_check(root);
                if (r < 0)
                        return r;
                path = strdup(root);
                if (!path)
                        return -ENOMEM;
                size_t len = strlen(path);
                while (len > 1 && path[len - 1] == '/')
                        path[--len] = '\0';
        } else {
                r = cg_own_dir(&path);
                if (r < 0)
                        return r == -ENOMEDIUM ? -EMEDIUMTYPE : r;
                /* Already in the supervisor/ leaf of a governed root: the
                 * same program started again (systemd's DelegateSubgroup=,
                 * or a re-exec) governs that root, not its own leaf. */
                char *slash = strrchr(path, '/');
                if (slash && slash != path && strcmp(slash + 1, SUPERVISOR_NAME) == 0)
                        *slash = '\0';
        }
        *ret = TAKE_PTR(path);
        return 0;
}

static void cgroupfs_close(Backend *b) {
        if (!b)
                return;
        safe_close(b->root_fd);
        free(b->root);
        free(b);
}

static int cgroupfs_open(const char *root, unsigned flags, Backend **ret, BackendInfo *ret_info) {
        Backend *b;
        int r;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->root_fd = -EBADF;
        r = root_path(root, &b->root);
        if (r >= 0)
                r = root_open(b->root, &b->root_fd);
        if (r >= 0)
                r = root_setup(b, flags);
        if (r < 0) {
                cgroupfs_close(b);
                return r;
        }
        *ret_info = (BackendInfo) {
                .root = b->root,
                .enforces_memory = b->caps.have_memory,
                .enforces_pids = b->caps.have_pids,
        };
        *ret = b;
        return 0;
}

/* ---- pools --------------------------------------------------------------- */

static const char *last_name(const char *path) {
        const char *name = strrchr(path, '/');
        return name ? name + 1 : path;
}

static int parent_fd(const Backend *b, const Place *parent) {
        return parent ? parent->fd : b->root_fd;
}

static int cgroupfs_pool_set_memory_max(Backend *b, const Place *pool, uint64_t max) {
        if (!b->caps.have_memory)
                return 0;
        return cg_write_u64(pool->fd, "memory.max", max ?: CG_LIMIT_MAX);
}

static int cgroupfs_pool_set_pids_max(Backend *b, const Place *pool, uint32_t max) {
        if (!b->caps.have_pids)
                return 0;
        return cg_write_u64(pool->fd, "pids.max", max ?: CG_LIMIT_MAX);
}

static int cgroupfs_pool_make(Backend *b, const Place *parent, const char *path,
                              const struct cgov_pool_limits *lim, bool adopt, Place *ret) {
        _cleanup_free_ char *cgroup = NULL;
        _cleanup_close_ int fd = -EBADF;
        char available[256];
        int pfd = parent_fd(b, parent);
        const char *name = last_name(path);
        int r;

        if (asprintf(&cgroup, "%s/%s", b->root, path) < 0)
                return -ENOMEM;
        if (!adopt && mkdirat(pfd, name, 0755) < 0)
                return negative_errno(); /* EEXIST: a directory cgov does not know */
        fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                goto fail;
        }
        Place p = { .fd = fd };
        if (!adopt) {
                r = cgroupfs_pool_set_memory_max(b, &p, lim->memory_max);
                if (r < 0)
                        goto fail;
        }
        r = cgroupfs_pool_set_pids_max(b, &p, lim->pids_max);
        if (r < 0)
                goto fail;
        /* Children (sub-pools and job leaves) need the controllers for their
         * own memory.max and pids.max. */
        r = cg_read(fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                goto fail;
        r = cg_enable_controllers(fd, available, pool_controllers);
        if (r < 0)
                goto fail;
        *ret = (Place) { .fd = TAKE_FD(fd), .cgroup = TAKE_PTR(cgroup) };
        return 0;
fail:
        if (!adopt)
                (void) cg_rmdir(pfd, name);
        return r;
}

static int cgroupfs_pool_remove(Backend *b, const Place *parent, const char *path, Place *pool) {
        int r = cg_rmdir(parent_fd(b, parent), last_name(path));
        if (r < 0)
                return r;
        pool->fd = safe_close(pool->fd);
        return 0;
}

static void cgroupfs_pool_usage(Backend *b, int fd, uint64_t *ret_memory, uint64_t *ret_pids) {
        place_usage(fd, ret_memory, ret_pids);
}

static void cgroupfs_pool_record(Backend *b, const Place *pool, const struct cgov_pool_limits *lim) {
        record_pool_write(pool->fd, lim);
}

/* ---- jobs ---------------------------------------------------------------- */

/* The leaf, with its limits written before any process can exist in it. */
static int job_make_leaf(Backend *b, const JobStart *s, Place *ret) {
        _cleanup_free_ char *cgroup = NULL;
        _cleanup_close_ int fd = -EBADF;
        int pfd = s->pool->fd;
        int r;

        if (asprintf(&cgroup, "%s/%s", s->pool->cgroup, s->leaf) < 0)
                return -ENOMEM;
        if (mkdirat(pfd, s->leaf, 0755) < 0)
                return negative_errno(); /* EEXIST: someone else's directory of that name */
        fd = openat(pfd, s->leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                goto fail;
        }
        if (b->caps.have_memory) {
                r = cg_write_u64(fd, "memory.max", s->memory);
                if (r < 0)
                        goto fail;
                /* The reservation is memory, not swap; without swap accounting
                 * the file is absent and there is nothing to limit. */
                r = cg_write(fd, "memory.swap.max", "0");
                if (r < 0 && r != -ENOENT)
                        goto fail;
                /* One OOM kill takes the whole job: a half-killed process
                 * tree is worse than a clean failure. */
                r = cg_write(fd, "memory.oom.group", "1");
                if (r < 0 && r != -ENOENT)
                        goto fail;
        }
        if (b->caps.have_pids) {
                r = cg_write_u64(fd, "pids.max", s->pids_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        goto fail;
        }
        *ret = (Place) { .fd = TAKE_FD(fd), .cgroup = TAKE_PTR(cgroup) };
        return 0;
fail:
        (void) cg_rmdir(pfd, s->leaf);
        return r == -EEXIST ? -EIO : r;
}

/* The launch as spawn.c takes it, into the leaf. */
static SpawnParams spawn_params(Backend *b, const JobLaunch *l, int leaf_fd, const int *stdio) {
        return (SpawnParams) {
                .path = l->program,
                .search_path = l->program ? NULL : spawn_search_path(l->envp),
                .creds = l->creds,
                .argv = l->argv,
                .envp = l->envp,
                .cwd = l->cwd,
                .stdio = stdio,
                .cgroup_fd = leaf_fd,
                .into_cgroup = __atomic_load_n(&b->into_cgroup, __ATOMIC_RELAXED),
                .fn = l->fn,
                .fn_arg = l->fn_arg,
                .out_fd = l->out_fd,
        };
}

static int job_spawn(Backend *b, const JobLaunch *l, int leaf_fd, JobProcess *proc) {
        _cleanup_close_ int devnull = -EBADF;
        int stdio[3];
        int r;

        if (l->stdio) {
                for (int i = 0; i < 3; i++) {
                        if (l->stdio[i] >= 0) {
                                stdio[i] = l->stdio[i];
                                continue;
                        }
                        if (devnull < 0) {
                                devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                                if (devnull < 0)
                                        return negative_errno();
                        }
                        stdio[i] = devnull;
                }
        }

        SpawnParams sp = spawn_params(b, l, leaf_fd, l->stdio ? stdio : NULL);
        proc->start_usec = now_usec();
        r = spawn_in_cgroup(&sp, &proc->pid, &proc->pidfd);
        if (r == -ENOSYS && sp.into_cgroup && !sp.fn) {
                /* Remember for the next job: this kernel has no CLONE_INTO_CGROUP. */
                __atomic_store_n(&b->into_cgroup, false, __ATOMIC_RELAXED);
                sp.into_cgroup = false;
                r = spawn_in_cgroup(&sp, &proc->pid, &proc->pidfd);
        }
        return r;
}

/* The keeper gets the launch as it is (it opens /dev/null for the stdio
 * fds that are -1 itself), and reads it until it reports. */
static int job_spawn_keeper(Backend *b, const JobLaunch *l, int leaf_fd, JobProcess *proc) {
        SpawnParams sp = spawn_params(b, l, leaf_fd, l->stdio);
        proc->start_usec = now_usec();
        /* proc->pid is the job's main process, which the keeper reports. */
        return keeper_start(&sp, &proc->keeper_pid, &proc->pidfd, &proc->report_fd, &proc->report_write_fd,
                            &proc->keeper_region);
}

static int cgroupfs_job_start(Backend *b, const JobStart *s, Place *ret_place, JobProcess *ret_proc) {
        Place place;
        int r;

        r = job_make_leaf(b, s, &place);
        if (r < 0)
                return r;
        r = s->keeper ? job_spawn_keeper(b, s->launch, place.fd, ret_proc)
                      : job_spawn(b, s->launch, place.fd, ret_proc);
        if (r < 0) {
                safe_close(place.fd);
                free(place.cgroup);
                (void) cg_rmdir(s->pool->fd, s->leaf);
                return r == -EEXIST ? -EIO : r;
        }
        *ret_place = place;
        return 0;
}

static int cgroupfs_job_kill(Backend *b, const Place *job) {
        return place_kill(&b->caps, job->fd);
}

static int cgroupfs_job_populated(Backend *b, const Place *job) {
        return place_populated(&b->caps, job->fd);
}

static void cgroupfs_job_stats(Backend *b, const Place *job, struct cgov_result *res, uint64_t *ret_oom_kills) {
        place_stats(&b->caps, job->fd, res, ret_oom_kills);
}

/* One system call: reading cgroup.events first would be four. */
static int cgroupfs_job_remove(Backend *b, const Place *pool, const char *leaf, Place *job) {
        int r = cg_rmdir(pool->fd, leaf);
        if (r >= 0)
                job->fd = safe_close(job->fd);
        return r;
}

static int cgroupfs_job_recorded_exit(Backend *b, Place *job, JobExit *ret) {
        *ret = (JobExit) {};
        return keeper_read_exit(job->fd, &ret->code, &ret->status);
}

static void cgroupfs_job_record(Backend *b, const Place *job, const JobRecord *rec) {
        record_job_write(job->fd, rec);
}

/* ---- the job ids' mark ---------------------------------------------------- */

static int cgroupfs_mark_read(Backend *b, uint64_t *ret) {
        return record_mark_read(b->root_fd, ret);
}

static int cgroupfs_mark_write(Backend *b, uint64_t mark) {
        return record_mark_write(b->root_fd, mark);
}

static int cgroupfs_adopt_walk(Backend *b, const AdoptSink *sink) {
        return cgroupfs_adopt(b->root_fd, sink);
}

const BackendOps backend_cgroupfs = {
        .name = "cgroupfs",
        .open = cgroupfs_open,
        .close = cgroupfs_close,
        .pool_make = cgroupfs_pool_make,
        .pool_set_memory_max = cgroupfs_pool_set_memory_max,
        .pool_set_pids_max = cgroupfs_pool_set_pids_max,
        .pool_remove = cgroupfs_pool_remove,
        .pool_usage = cgroupfs_pool_usage,
        .pool_record = cgroupfs_pool_record,
        .job_start = cgroupfs_job_start,
        .job_kill = cgroupfs_job_kill,
        .job_populated = cgroupfs_job_populated,
        .job_stats = cgroupfs_job_stats,
        .job_remove = cgroupfs_job_remove,
        .job_recorded_exit = cgroupfs_job_recorded_exit,
        .job_record = cgroupfs_job_record,
        .adopt = cgroupfs_adopt_walk,
        .mark_read = cgroupfs_mark_read,
        .mark_write = cgroupfs_mark_write,
};

void cgroupfs_testing_disable_clone_into_cgroup(Backend *b) {
        b->into_cgroup = false;
}

void cgroupfs_testing_disable_kill_file(Backend *b) {
        b->caps.have_kill_file = false;
}
