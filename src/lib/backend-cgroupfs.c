/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-cgroupfs.h"
#include "backend.h"
#include "cgroup-fs.h"
#include "cgroup-records.h"
#include "cgroup-root.h"
#include "internal.h"
#include "keeper.h"
#include "macro.h"
#include "spawn.h"

/* The cgroupfs backend: a delegated cgroup v2 directory (systemd's
 * Delegate=yes, or one the administrator made) is the root; a pool is a
 * directory in it, a job a leaf directory "<name>@<id>" in its pool, made
 * and limited before its process is born inside (CLONE_INTO_CGROUP) or
 * moved in before it execs. What must survive the governor is recorded in
 * extended attributes of those directories (cgroup-records.h). */

typedef struct Cgroupfs {
        bool have_kill_file;           /* cgroup.kill (5.14) */
        bool into_cgroup;              /* clone3(CLONE_INTO_CGROUP) (5.7) works; atomic */
} Cgroupfs;

static Cgroupfs *cgroupfs_of(const cgov *g) {
        return g->backend_data;
}

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

static int root_setup(cgov *g, Cgroupfs *c) {
        char available[256];
        int r;

        r = cg_read(g->root_fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                return r;
        bool memory = cg_list_has(available, "memory"), pids = cg_list_has(available, "pids");
        if ((!memory || !pids) && !(g->flags & CGOV_OPEN_ACCOUNTING_ONLY))
                return -EOPNOTSUPP;

        r = root_evict_self(g->root_fd);
        if (r < 0)
                return r;
        r = cg_enable_controllers(g->root_fd, available, required_controllers);
        if (r < 0)
                return r;  /* -EBUSY: someone else's processes sit in the root */
        for (size_t i = 0; i < ELEMENTSOF(optional_controllers); i++) {
                const char *one[] = { optional_controllers[i], NULL };
                (void) cg_enable_controllers(g->root_fd, available, one);
        }
        g->enforces_memory = memory;
        g->enforces_pids = pids;
        c->have_kill_file = faccessat(g->root_fd, "cgroup.kill", W_OK, 0) == 0;
        c->into_cgroup = cg_probe_clone_into_cgroup() > 0;
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

static int cgroupfs_open(cgov *g, const char *root) {
        Cgroupfs *c;
        int r;

        r = root_path(root, &g->root);
        if (r < 0)
                return r;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        g->backend_data = c;
        r = root_open(g->root, &g->root_fd);
        if (r < 0)
                return r;
        return root_setup(g, c);
}

static void cgroupfs_close(cgov *g) {
        free(g->backend_data);
        g->backend_data = NULL;
}

/* ---- pools --------------------------------------------------------------- */

static const char *pool_name(const cgov_pool *p) {
        const char *name = strrchr(p->path, '/');
        return name ? name + 1 : p->path;
}

static int pool_parent_fd(const cgov_pool *p) {
        return p->parent ? p->parent->cgroup_fd : p->g->root_fd;
}

static int cgroupfs_pool_write_memory_max(cgov_pool *p) {
        if (!p->g->enforces_memory)
                return 0;
        return cg_write_u64(p->cgroup_fd, "memory.max", p->limits.memory_max ?: CG_LIMIT_MAX);
}

static int cgroupfs_pool_write_pids_max(cgov_pool *p) {
        if (!p->g->enforces_pids)
                return 0;
        return cg_write_u64(p->cgroup_fd, "pids.max", p->limits.pids_max ?: CG_LIMIT_MAX);
}

static int cgroupfs_pool_make(cgov_pool *p, bool adopt) {
        char available[256];
        int parent_fd = pool_parent_fd(p);
        const char *name = pool_name(p);
        int r;

        if (asprintf(&p->cgroup, "%s/%s", p->g->root, p->path) < 0) {
                p->cgroup = NULL;
                return -ENOMEM;
        }
        if (!adopt && mkdirat(parent_fd, name, 0755) < 0)
                return negative_errno(); /* EEXIST: a directory cgov does not know */
        p->cgroup_fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->cgroup_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        if (!adopt) {
                r = cgroupfs_pool_write_memory_max(p);
                if (r < 0)
                        goto fail;
        }
        r = cgroupfs_pool_write_pids_max(p);
        if (r < 0)
                goto fail;
        /* Children (sub-pools and job leaves) need the controllers for their
         * own memory.max and pids.max. */
        r = cg_read(p->cgroup_fd, "cgroup.controllers", available, sizeof available);
        if (r < 0)
                goto fail;
        r = cg_enable_controllers(p->cgroup_fd, available, pool_controllers);
        if (r < 0)
                goto fail;
        return 0;
fail:
        p->cgroup_fd = safe_close(p->cgroup_fd);
        if (!adopt)
                (void) cg_rmdir(parent_fd, name);
        return r;
}

static int cgroupfs_pool_remove(cgov_pool *p) {
        int r = cg_rmdir(pool_parent_fd(p), pool_name(p));
        if (r < 0)
                return r;
        p->cgroup_fd = safe_close(p->cgroup_fd);
        return 0;
}

static void cgroupfs_pool_usage(const cgov *g, int fd, uint64_t *ret_memory, uint64_t *ret_pids) {
        if (cg_read_u64(fd, "memory.current", ret_memory) < 0)
                *ret_memory = 0;
        if (cg_read_u64(fd, "pids.current", ret_pids) < 0)
                *ret_pids = 0;
}

/* ---- jobs ---------------------------------------------------------------- */

/* The leaf, with its limits written before any process can exist in it. */
static int job_make_leaf(cgov_job *j) {
        cgov *g = j->g;
        int fd = j->pool->cgroup_fd;
        int r;

        for (;;) {
                r = job_leaf_name(j->leaf, sizeof j->leaf, j->name, j->id);
                if (r < 0)
                        return r;
                if (mkdirat(fd, j->leaf, 0755) >= 0)
                        break;
                if (errno != EEXIST)
                        return negative_errno();
                /* Someone else's directory of that name: take the next id. */
                pthread_mutex_lock(&g->lock);
                j->id = ids_next(g);
                pthread_mutex_unlock(&g->lock);
        }
        j->cgroup_fd = openat(fd, j->leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->cgroup_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        if (g->enforces_memory) {
                r = cg_write_u64(j->cgroup_fd, "memory.max", j->memory);
                if (r < 0)
                        goto fail;
                /* The reservation is memory, not swap; without swap accounting
                 * the file is absent and there is nothing to limit. */
                r = cg_write(j->cgroup_fd, "memory.swap.max", "0");
                if (r < 0 && r != -ENOENT)
                        goto fail;
                /* One OOM kill takes the whole job: a half-killed process
                 * tree is worse than a clean failure. */
                r = cg_write(j->cgroup_fd, "memory.oom.group", "1");
                if (r < 0 && r != -ENOENT)
                        goto fail;
        }
        if (g->enforces_pids) {
                r = cg_write_u64(j->cgroup_fd, "pids.max", j->pids_max ?: CG_LIMIT_MAX);
                if (r < 0)
                        goto fail;
        }
        free(j->cgroup);
        if (asprintf(&j->cgroup, "%s/%s", j->pool->cgroup, j->leaf) < 0) {
                j->cgroup = NULL;
                r = -ENOMEM;
                goto fail;
        }
        return 0;
fail:
        j->cgroup_fd = safe_close(j->cgroup_fd);
        (void) cg_rmdir(fd, j->leaf);
        return r;
}

/* The launch as spawn.c takes it, into j's leaf. */
static SpawnParams spawn_params(const cgov_job *j, const JobLaunch *l, const int *stdio) {
        return (SpawnParams) {
                .path = l->program,
                .search_path = l->program ? NULL : spawn_search_path(l->envp),
                .creds = l->creds,
                .argv = l->argv,
                .envp = l->envp,
                .cwd = l->cwd,
                .stdio = stdio,
                .cgroup_fd = j->cgroup_fd,
                .into_cgroup = __atomic_load_n(&cgroupfs_of(j->g)->into_cgroup, __ATOMIC_RELAXED),
                .fn = l->fn,
                .fn_arg = l->fn_arg,
                .out_fd = l->out_fd,
        };
}

static int job_spawn(cgov_job *j, const JobLaunch *l) {
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

        SpawnParams sp = spawn_params(j, l, l->stdio ? stdio : NULL);
        j->start_usec = now_usec();
        r = spawn_in_cgroup(&sp, &j->pid, &j->pidfd);
        if (r == -ENOSYS && sp.into_cgroup && !sp.fn) {
                /* Remember for the next job: this kernel has no CLONE_INTO_CGROUP. */
                __atomic_store_n(&cgroupfs_of(j->g)->into_cgroup, false, __ATOMIC_RELAXED);
                sp.into_cgroup = false;
                r = spawn_in_cgroup(&sp, &j->pid, &j->pidfd);
        }
        return r;
}

/* The keeper gets the launch as it is (it opens /dev/null for the stdio
 * fds that are -1 itself), and reads it until it reports: the job owns it. */
static int job_spawn_keeper(cgov_job *j, const JobLaunch *l) {
        SpawnParams sp = spawn_params(j, l, l->stdio);
        j->start_usec = now_usec();
        /* j->pid is the job's main process, which the keeper reports. */
        return keeper_start(&sp, &j->keeper_pid, &j->pidfd, &j->report_fd, &j->report_write_fd, &j->keeper_region);
}

static int cgroupfs_job_start(cgov_job *j, const JobLaunch *l) {
        int r;

        r = job_make_leaf(j);
        if (r < 0)
                return r;
        r = j->keeper ? job_spawn_keeper(j, l) : job_spawn(j, l);
        if (r < 0) {
                j->cgroup_fd = safe_close(j->cgroup_fd);
                (void) cg_rmdir(j->pool->cgroup_fd, j->leaf);
                return r;
        }
        return j->keeper ? 1 : 0;
}

static int cgroupfs_job_kill(cgov_job *j) {
        return cg_kill(j->cgroup_fd, cgroupfs_of(j->g)->have_kill_file);
}

static int cgroupfs_job_populated(cgov_job *j) {
        int r = cg_is_populated(j->cgroup_fd);
        /* Without cgroup.kill each round kills what the last one missed. */
        if (r > 0 && !cgroupfs_of(j->g)->have_kill_file)
                (void) cg_kill(j->cgroup_fd, false);
        return r;
}

static void cgroupfs_job_stats(cgov_job *j, uint64_t *ret_oom_kills) {
        uint64_t v;

        /* Only the files the leaf can have: each try is a system call. */
        *ret_oom_kills = 0;
        if (j->g->enforces_memory && cg_read_u64(j->cgroup_fd, "memory.peak", &v) >= 0)
                j->result.memory_peak = v;
        if (j->g->enforces_pids && cg_read_u64(j->cgroup_fd, "pids.peak", &v) >= 0)
                j->result.pids_peak = (uint32_t) MIN(v, UINT32_MAX);
        if (cg_read_key_u64(j->cgroup_fd, "cpu.stat", "usage_usec", &v) >= 0)
                j->result.cpu_usec = v;
        if (j->g->enforces_memory && cg_read_key_u64(j->cgroup_fd, "memory.events", "oom_kill", &v) >= 0)
                *ret_oom_kills = v;
}

/* One system call: reading cgroup.events first would be four. */
static int cgroupfs_job_remove(cgov_job *j) {
        return cg_rmdir(j->pool->cgroup_fd, j->leaf);
}

static int cgroupfs_job_recorded_exit(cgov_job *j, int *ret_code, int *ret_status) {
        return keeper_read_exit(j->cgroup_fd, ret_code, ret_status);
}

static void cgroupfs_record_pool(const cgov_pool *p) {
        record_pool_write(p->cgroup_fd, &p->limits);
}

static void cgroupfs_record_job(const cgov_job *j) {
        record_job_write(j->cgroup_fd, j);
}

const BackendOps backend_cgroupfs = {
        .name = "cgroupfs",
        .open = cgroupfs_open,
        .close = cgroupfs_close,
        .pool_make = cgroupfs_pool_make,
        .pool_write_memory_max = cgroupfs_pool_write_memory_max,
        .pool_write_pids_max = cgroupfs_pool_write_pids_max,
        .pool_remove = cgroupfs_pool_remove,
        .pool_usage = cgroupfs_pool_usage,
        .job_start = cgroupfs_job_start,
        .job_kill = cgroupfs_job_kill,
        .job_populated = cgroupfs_job_populated,
        .job_stats = cgroupfs_job_stats,
        .job_remove = cgroupfs_job_remove,
        .job_recorded_exit = cgroupfs_job_recorded_exit,
        .record_pool = cgroupfs_record_pool,
        .record_job = cgroupfs_record_job,
        .adopt = cgroupfs_adopt,
};

void cgov_testing_disable_clone_into_cgroup(cgov *g) {
        cgroupfs_of(g)->into_cgroup = false;
}

void cgov_testing_disable_kill_file(cgov *g) {
        cgroupfs_of(g)->have_kill_file = false;
}
