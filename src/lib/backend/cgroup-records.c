/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "cgroup-fs.h"
#include "cgroup-records.h"
#include "macro.h"

#define POOL_XATTR "user.cgov.pool"
#define JOB_XATTR "user.cgov.job"
#define IDS_XATTR "user.cgov.ids"

void record_pool_write(int fd, const struct cgov_pool_limits *l) {
        char buf[RECORD_MAX];

        int n = snprintf(buf, sizeof buf,
                         "memory_max=%" PRIu64 " max_jobs=%" PRIu32 " pids_max=%" PRIu32
                         " job_memory_default=%" PRIu64 " max_queue=%" PRIu32 " queue_timeout_ms=%" PRIu64,
                         l->memory_max, l->max_jobs, l->pids_max, l->job_memory_default, l->max_queue,
                         l->queue_timeout_ms);
        (void) fsetxattr(fd, POOL_XATTR, buf, (size_t) n, 0);
}

int record_job_format(const JobRecord *j, char buf[static RECORD_MAX]) {
        int n = snprintf(buf, RECORD_MAX,
                         "memory=%" PRIu64 " pids_max=%" PRIu32 " timeout_ms=%" PRIu64 " start_usec=%" PRIu64
                         " pid=%d uid=%u keeper=%d%s%s",
                         j->memory, j->pids_max, j->timeout_ms, j->start_usec, (int) j->pid, (unsigned) j->owner,
                         j->keeper, j->name ? " name=" : "", j->name ?: "");
        return MIN(n, RECORD_MAX - 1);
}

void record_job_write(int fd, const JobRecord *j) {
        char buf[RECORD_MAX];
        int n = record_job_format(j, buf);
        (void) fsetxattr(fd, JOB_XATTR, buf, (size_t) n, 0);
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

bool record_pool_read(int fd, struct cgov_pool_limits *lim) {
        char rec[RECORD_MAX];
        uint64_t v;

        if (!read_record(fd, POOL_XATTR, rec))
                return false;
        *lim = (struct cgov_pool_limits) {};
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
        return true;
}

bool record_job_read(int fd, JobRecord *a, char buf[static RECORD_MAX]) {
        *a = (JobRecord) {};
        if (!read_record(fd, JOB_XATTR, buf))
                return false;
        record_job_parse(buf, a);
        return true;
}

void record_job_parse(const char *rec, JobRecord *a) {
        uint64_t v;

        *a = (JobRecord) {};
        a->keeper = record_u64(rec, "keeper", &v) && v == 1;
        if (record_u64(rec, "memory", &v))
                a->memory = v;
        if (record_u64(rec, "pids_max", &v))
                a->pids_max = (uint32_t) MIN(v, CGOV_PIDS_MAX);
        if (record_u64(rec, "timeout_ms", &v))
                a->timeout_ms = MIN(v, UINT64_MAX / 1000);
        if (record_u64(rec, "start_usec", &v))
                a->start_usec = v;
        /* Without a record, the job is root's: only root may then see it. */
        if (record_u64(rec, "uid", &v) && v < UINT32_MAX)
                a->owner = (uid_t) v;
        if (record_u64(rec, "pid", &v) && v > 0 && v <= INT32_MAX)
                a->pid = (pid_t) v;
        /* The name is last: it points into the record itself. */
        const char *name = strstr(rec, " name=");
        a->name = name ? name + 6 : NULL;
}

int record_mark_read(int root_fd, uint64_t *ret) {
        char buf[32];
        ssize_t n = fgetxattr(root_fd, IDS_XATTR, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return cg_parse_u64(buf, ret);
}

int record_mark_write(int root_fd, uint64_t mark) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" PRIu64, mark);
        return fsetxattr(root_fd, IDS_XATTR, buf, (size_t) n, 0) < 0 ? negative_errno() : 0;
}
