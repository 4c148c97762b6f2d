/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "backend-cgroupfs.h"
#include "cgroup-fs.h"
#include "cgroup-place.h"
#include "cgroup-records.h"
#include "cgroup-root.h"
#include "keeper.h"
#include "macro.h"

/* Re-adoption on cgroupfs: the directory names say which directory is a
 * pool and which a job ("name@id"); their records (cgroup-records.h) say
 * the rest. Empty leftovers are removed. A job started by a keeper
 * (keeper.h) leaves more: its keeper's identity and, once its main process
 * has ended, how it ended; such a leaf is adopted even when it is empty: it
 * ended while no governor watched, and its end is reported like any other,
 * with its real exit status. */

static void pool_limits_of(int fd, struct cgov_pool_limits *lim) {
        uint64_t v;

        if (record_pool_read(fd, lim))
                return;
        /* Not recorded: the kernel's copy is all there is. */
        *lim = (struct cgov_pool_limits) {};
        if (cg_read_u64(fd, "memory.max", &v) >= 0 && v != CG_LIMIT_MAX)
                lim->memory_max = v;
        if (cg_read_u64(fd, "pids.max", &v) >= 0 && v != CG_LIMIT_MAX)
                lim->pids_max = (uint32_t) MIN(v, CGOV_PIDS_MAX);
}

/* A job leaf found in a pool: removed if empty, else handed over. */
static int adopt_leaf(const AdoptSink *sink, void *pool, const Place *pp, const char *leaf, uint64_t id) {
        _cleanup_free_ char *cgroup = NULL;
        char rec[RECORD_MAX];
        AdoptedJob a = { .id = id, .leaf = leaf, .pidfd = -EBADF };
        JobRecord *r = &a.record;
        uint64_t v;

        if (asprintf(&cgroup, "%s/%s", pp->cgroup, leaf) < 0)
                return -ENOMEM;
        int fd = openat(pp->fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        a.recorded = record_job_read(fd, r, rec);
        if (!r->keeper && cg_is_populated(fd) == 0) {
                /* An empty leftover: its job ended while no governor watched,
                 * and nobody recorded how. */
                safe_close(fd);
                (void) cg_rmdir(pp->fd, leaf);
                return 0;
        }
        if (!r->memory && cg_read_u64(fd, "memory.max", &v) >= 0 && v != CG_LIMIT_MAX)
                r->memory = v;
        /* A keeper's job: the keeper, if it still runs, is what we watch
         * (it records the end); else the end is recorded, or unknown. */
        if (r->keeper)
                (void) keeper_find(fd, &a.pidfd);
        /* The recorded main process, if it still lives in this leaf (a pid
         * alone could have been reused since). */
        else if ((a.pidfd = place_pidfd(fd, r->pid)) < 0)
                r->pid = 0;
        a.place = (Place) { .fd = fd, .cgroup = TAKE_PTR(cgroup) };
        return sink->job(sink->userdata, pool, &a);
}

/* Pools first, so that a job's pool exists when its leaf is met. */
static int adopt_dir(const AdoptSink *sink, void *parent, int dfd, const Place *pp, const char *prefix) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = place_opendir(dfd, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                uint64_t id;
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (parent && job_leaf_parse(de->d_name, &id)) {
                        sink->id_seen(sink->userdata, id);
                        if (strlen(de->d_name) >= NAME_MAX_LEN + 24)
                                continue; /* not a name cgov makes */
                        r = adopt_leaf(sink, parent, pp, de->d_name, id);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!pool_segment_is_valid(de->d_name, strlen(de->d_name)))
                        continue; /* supervisor/, or nothing of ours */

                _cleanup_free_ char *path = NULL;
                struct cgov_pool_limits lim;
                const Place *place;
                void *p;
                if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "/" : "", de->d_name) < 0)
                        return -ENOMEM;
                if (!pool_path_is_valid(path, NULL))
                        continue; /* deeper than cgov goes: not ours */
                _cleanup_close_ int pfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0)
                        return negative_errno();
                pool_limits_of(pfd, &lim);
                r = sink->pool(sink->userdata, parent, path, &lim, &p, &place);
                if (r < 0)
                        return r;
                r = adopt_dir(sink, p, place->fd, place, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroupfs_adopt(int root_fd, const AdoptSink *sink) {
        return adopt_dir(sink, NULL, root_fd, NULL, "");
}
