/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "cgroup-fs.h"
#include "cgroup-root.h"
#include "internal.h"
#include "keeper.h"
#include "macro.h"

/* What must survive the governor lives in the cgroup tree itself, never in a
 * side file that could go stale: the directory names say which directory is
 * a pool and which a job ("name@id"), and an extended attribute on each holds
 * what the kernel files do not (a pool's max_jobs and queue settings, a
 * job's reservation, timeout, start and main pid). cgov_open() on a root
 * with such a tree finds the pools again, re-adopts the running jobs with
 * their reservations and removes empty leftovers.
 *
 * A job started by a keeper (keeper.h) leaves more: its keeper's identity
 * and, once its main process has ended, how it ended. Such a job's leaf is
 * adopted even when it is empty: it ended while no governor watched, and
 * its end is reported like any other, with its real exit status. */

#define POOL_XATTR "user.cgov.pool"
#define JOB_XATTR "user.cgov.job"
#define RECORD_MAX 256

void adopt_record_pool(const cgov_pool *p) {
        char buf[RECORD_MAX];
        const struct cgov_pool_limits *l = &p->limits;

        int n = snprintf(buf, sizeof buf,
                         "memory_max=%" PRIu64 " max_jobs=%" PRIu32 " pids_max=%" PRIu32
                         " job_memory_default=%" PRIu64 " max_queue=%" PRIu32 " queue_timeout_ms=%" PRIu64,
                         l->memory_max, l->max_jobs, l->pids_max, l->job_memory_default, l->max_queue,
                         l->queue_timeout_ms);
        /* Without user xattrs on cgroupfs (before 5.7) a re-opened governor
         * still finds the pool and its memory.max and pids.max; only the
         * ledger-only settings are lost. */
        (void) fsetxattr(p->fd, POOL_XATTR, buf, (size_t) n, 0);
}

void adopt_record_job(const cgov_job *j) {
        char buf[RECORD_MAX];

        int n = snprintf(buf, sizeof buf,
                         "memory=%" PRIu64 " pids_max=%" PRIu32 " timeout_ms=%" PRIu64 " start_usec=%" PRIu64
                         " pid=%d uid=%u keeper=%d%s%s",
                         j->memory, j->pids_max, j->timeout_ms, j->start_usec, (int) j->pid, (unsigned) j->owner,
                         j->keeper, j->name ? " name=" : "", j->name ?: "");
        (void) fsetxattr(j->leaf_fd, JOB_XATTR, buf, (size_t) n, 0);
}

/* "key=value" out of a record; false when absent. */
static bool record_u64(const char *rec, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *s = rec; (s = strstr(s, key)); s += klen)
                if ((s == rec || s[-1] == ' ') && s[klen] == '=') {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(s + klen + 1, &end, 10);
                        if (errno != 0 || (*end != ' ' && *end != '\0'))
                                return false;
                        *ret = v;
                        return true;
                }
        return false;
}

static bool read_record(int fd, const char *name, char buf[static RECORD_MAX]) {
        ssize_t n = fgetxattr(fd, name, buf, RECORD_MAX - 1);
        if (n < 0)
                return false;
        buf[n] = '\0';
        return true;
}

static void pool_limits_of(int fd, struct cgov_pool_limits *lim) {
        char rec[RECORD_MAX];
        uint64_t v;

        *lim = (struct cgov_pool_limits) {};
        if (!read_record(fd, POOL_XATTR, rec)) {
                /* Not recorded: the kernel's copy is all there is. */
                if (cg_read_u64(fd, "memory.max", &v) >= 0 && v != CG_LIMIT_MAX)
                        lim->memory_max = v;
                if (cg_read_u64(fd, "pids.max", &v) >= 0 && v != CG_LIMIT_MAX)
                        lim->pids_max = (uint32_t) MIN(v, CGOV_PIDS_MAX);
                return;
        }
        if (record_u64(rec, "memory_max", &v))
                lim->memory_max = MIN(v, CGOV_SIZE_MAX);
        if (record_u64(rec, "max_jobs", &v))
                lim->max_jobs = (uint32_t) MIN(v, UINT32_MAX);
        if (record_u64(rec, "pids_max", &v))
                lim->pids_max = (uint32_t) MIN(v, CGOV_PIDS_MAX);
        if (record_u64(rec, "job_memory_default", &v))
                lim->job_memory_default = MIN(v, CGOV_SIZE_MAX);
        if (record_u64(rec, "max_queue", &v))
                lim->max_queue = (uint32_t) MIN(v, UINT32_MAX);
        if (record_u64(rec, "queue_timeout_ms", &v))
                lim->queue_timeout_ms = MIN(v, UINT64_MAX / 1000);
}

/* A job leaf found in a pool: removed if empty, else taken over. */
static int adopt_job(cgov *g, cgov_pool *p, const char *leaf, uint64_t id) {
        char rec[RECORD_MAX];
        uint64_t v;
        cgov_job *j = NULL;

        if (id >= g->next_job_id)
                g->next_job_id = id + 1;
        if (strlen(leaf) >= sizeof j->leaf)
                return 0; /* not a name cgov makes */

        _cleanup_close_ int fd = openat(p->fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        bool have = read_record(fd, JOB_XATTR, rec);
        bool keeper = have && record_u64(rec, "keeper", &v) && v == 1;
        if (!keeper && cg_is_populated(fd) == 0) {
                /* An empty leftover: its job ended while no governor watched,
                 * and nobody recorded how. */
                (void) cg_rmdir(p->fd, leaf);
                return 0;
        }

        /* The governor's watch: nobody holds a handle. */
        j = job_alloc(g, p, 1);
        if (!j)
                return -ENOMEM;
        j->id = id;
        j->adopted = true;
        j->state = JOB_RUNNING;
        memcpy(j->leaf, leaf, strlen(leaf) + 1);
        if (asprintf(&j->cgroup, "%s/%s", p->cgroup, leaf) < 0) {
                j->cgroup = NULL;
                job_unref(j);
                return -ENOMEM;
        }

        j->keeper = keeper;
        j->readopted = true;
        j->counted_running = true;
        j->memory = have && record_u64(rec, "memory", &v) ? v
                    : cg_read_u64(fd, "memory.max", &v) >= 0 && v != CG_LIMIT_MAX ? v
                                                                                 : pool_job_memory_default(p);
        if (have && record_u64(rec, "pids_max", &v))
                j->pids_max = (uint32_t) MIN(v, CGOV_PIDS_MAX);
        if (have && record_u64(rec, "timeout_ms", &v))
                j->timeout_ms = MIN(v, UINT64_MAX / 1000);
        j->start_usec = have && record_u64(rec, "start_usec", &v) ? v : now_usec();
        /* Without a record, the job is root's: only root may then see it. */
        j->owner = have && record_u64(rec, "uid", &v) && v < UINT32_MAX ? (uid_t) v : 0;
        const char *name = have ? strstr(rec, " name=") : NULL;
        if (name && !(j->name = strdup(name + 6))) {
                job_unref(j);
                return -ENOMEM;
        }
        /* A keeper's job: the keeper, if it still runs, is what we watch
         * (it records the end); else the end is recorded, or unknown. */
        if (keeper) {
                if (record_u64(rec, "pid", &v) && v > 0 && v <= INT32_MAX)
                        j->pid = (pid_t) v;
                (void) keeper_find(fd, &j->pidfd);
        }
        /* The recorded main process, if it still lives in this leaf (a pid
         * alone could have been reused since). */
        else if (have && record_u64(rec, "pid", &v) && v > 0 && cg_has_process(fd, (pid_t) v) > 0) {
                j->pid = (pid_t) v;
                j->pidfd = (int) syscall(SYS_pidfd_open, j->pid, 0);
                if (j->pidfd >= 0 && cg_has_process(fd, j->pid) <= 0)
                        j->pidfd = safe_close(j->pidfd);
        }
        j->leaf_fd = TAKE_FD(fd);

        /* It runs: its reservation is held whatever the limits say now. */
        ledger_force(&p->ledger, j->memory, 1);
        chain_add_running(p, +1);
        job_list_add(j);
        j->next_incoming = g->incoming;
        g->incoming = j;
        return 0;
}

/* Pools first, so that a job's pool exists when its leaf is met. */
static int adopt_dir(cgov *g, cgov_pool *parent, int dfd, const char *prefix) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }
        while ((de = readdir(d))) {
                uint64_t id;
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (parent && job_leaf_parse(de->d_name, &id)) {
                        r = adopt_job(g, parent, de->d_name, id);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!pool_segment_is_valid(de->d_name, strlen(de->d_name)))
                        continue; /* supervisor/, or nothing of ours */

                _cleanup_free_ char *path = NULL;
                struct cgov_pool_limits lim;
                cgov_pool *p;
                if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "/" : "", de->d_name) < 0)
                        return -ENOMEM;
                if (!pool_path_is_valid(path, NULL))
                        continue; /* deeper than cgov goes: not ours */
                _cleanup_close_ int pfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0)
                        return negative_errno();
                pool_limits_of(pfd, &lim);
                r = pool_add(g, parent, path, &lim, true, &p);
                if (r < 0)
                        return r;
                r = adopt_dir(g, p, p->fd, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

int adopt_tree(cgov *g) {
        pthread_mutex_lock(&g->lock);
        int r = adopt_dir(g, NULL, g->root_fd, "");
        /* Re-adopted reservations may leave room for deferred memory.max. */
        for (size_t i = 0; i < g->n_pools; i++)
                pool_settle(g->pools[i]);
        pthread_mutex_unlock(&g->lock);
        return r;
}
