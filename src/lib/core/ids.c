/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "internal.h"
#include "macro.h"

/* Job ids never repeat on a root, across closes, crashes and restarts: a
 * client holding id 2 must never be handed another job's result. Ids are
 * handed out from blocks whose end is recorded before the first id of the
 * block is used, so a governor that starts again continues above anything
 * its predecessor can have given out; a crash only skips the rest of a
 * block. The record is the root's extended attribute, which lives as long
 * as the root does; cgovd names a file in its state directory instead,
 * since systemd removes a service's cgroup, and the attribute with it,
 * whenever the service stops with nothing left running.
 *
 * One record write per IDS_BLOCK jobs, never on a job's own path otherwise. */

#define IDS_BLOCK 1024

static int mark_read(cgov *g, uint64_t *ret) {
        char buf[32];

        if (!g->ids_file)
                return g->backend->mark_read(g->b, ret);
        _cleanup_close_ int fd = open(g->ids_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        int r = read_full_fd(fd, buf, sizeof buf, NULL);
        if (r < 0)
                return r;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf || (*end != '\0' && strcmp(end, "\n") != 0))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The file is replaced whole and on disk before it counts: after a crash of
 * the host it says either the old mark or the new one. */
static int mark_write(cgov *g, uint64_t mark) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", mark);

        if (!g->ids_file)
                return g->backend->mark_write(g->b, mark);

        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.new", g->ids_file) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, buf, (size_t) n) != n || fsync(fd) < 0 || rename(tmp, g->ids_file) < 0) {
                int r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int ids_init(cgov *g) {
        uint64_t mark = 0;
        int r = mark_read(g, &mark);

        if (r < 0 && r != -ENOENT && r != -ENODATA)
                return r;
        /* Leaves the predecessor left are counted already (adopt.c). */
        if (mark > g->next_job_id)
                g->next_job_id = mark;
        g->ids_reserved = g->next_job_id;
        r = mark_write(g, g->ids_reserved + IDS_BLOCK);
        if (r == -EOPNOTSUPP && !g->ids_file)
                return 0; /* no user xattrs on cgroupfs (before 5.7): ids as the leaves say */
        if (r < 0)
                return r;
        g->ids_reserved += IDS_BLOCK;
        return 0;
}

uint64_t ids_next(cgov *g) {
        if (g->next_job_id >= g->ids_reserved && mark_write(g, g->next_job_id + IDS_BLOCK) >= 0)
                g->ids_reserved = g->next_job_id + IDS_BLOCK;
        /* A failed write leaves the mark where it was: the next id that
         * passes it tries again, and ids still never repeat while we run. */
        return g->next_job_id++;
}
