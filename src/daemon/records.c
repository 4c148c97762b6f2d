/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

/* What the daemon promised a job's owner, kept where a restart cannot lose
 * it: a small file per job in <state-dir>/jobs, named by its id, for what
 * the cgroup tree cannot hold. A running job's state lives in its leaf
 * (adopt.c, keeper.c); a record is kept for a job that waits in a queue
 * (it has no leaf yet), and for the result of an ended job that nobody has
 * collected yet (its leaf is gone), until its owner collects it or the
 * per-user bound drops it. A job that starts at once and whose submitter
 * waits for it, as `cgov run` does, costs no record at all; the others
 * cost a write (about 15 us here, replaced whole by a rename, so a crash
 * leaves the old record or the new one) and a removal (8 us). Nothing is
 * fsync'd: they outlive the daemon, which is what they are for; after a
 * crash of the whole host, results may be lost like the jobs themselves.
 *
 * At start, after the tree's jobs are re-adopted, every record without a
 * live job becomes a kept result: its recorded end; or, for a job that
 * waited in a queue, an end that says it never started (ECANCELED); or,
 * for a job that started from a queue and whose end was not recorded (it
 * ended as the daemon died), an unknown outcome. */

#define JOBS_SUBDIR "jobs"
#define RECORD_BYTES_MAX 4096 /* argv0 is at most ARGV0_SHOWN_MAX, the rest is small */

int records_open(Daemon *d) {
        _cleanup_close_ int dfd = open(d->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "Failed to open the state directory %s: %m", d->state_dir);
        if (mkdirat(dfd, JOBS_SUBDIR, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s/" JOBS_SUBDIR ": %m", d->state_dir);
        d->records_fd = openat(dfd, JOBS_SUBDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->records_fd < 0)
                return log_error_errno(errno, "Failed to open %s/" JOBS_SUBDIR ": %m", d->state_dir);
        return 0;
}

void records_close(Daemon *d) {
        d->records_fd = safe_close(d->records_fd);
}

static json_object *record_of(const DaemonJob *j, const char *state) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_uint64(j->id));
        json_object_object_add(o, "uid", json_object_new_int64(j->owner));
        json_object_object_add(o, "user", json_object_new_string(j->user));
        json_object_object_add(o, "pool", json_object_new_string(j->pool));
        if (j->name)
                json_object_object_add(o, "name", json_object_new_string(j->name));
        json_object_object_add(o, "argv0", json_object_new_string(j->argv0));
        json_object_object_add(o, "state", json_object_new_string(state));
        if (j->ended)
                json_object_object_add(o, "result", proto_result_to_json(&j->result, j->start_error));
        return o;
}

/* A failure is logged, not fatal: the job runs all the same, and its
 * result is kept in memory as before. */
void records_write(Daemon *d, DaemonJob *j, const char *state) {
        char name[32], tmp[40];
        json_object *o = record_of(j, state);
        const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;

        snprintf(name, sizeof name, "%" PRIu64, j->id);
        snprintf(tmp, sizeof tmp, ".%" PRIu64 ".new", j->id);
        if (d->records_fd < 0 || !text) {
                json_object_put(o);
                return;
        }
        size_t len = strlen(text);
        _cleanup_close_ int fd = openat(d->records_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                                        0600);
        if (fd < 0 || write(fd, text, len) != (ssize_t) len || renameat(d->records_fd, tmp, d->records_fd, name) < 0) {
                log_warning_errno(errno, "Failed to record job %" PRIu64 " in %s/" JOBS_SUBDIR ": %m", j->id,
                                  d->state_dir);
                (void) unlinkat(d->records_fd, tmp, 0);
        } else
                j->recorded = true;
        json_object_put(o);
}

void records_remove(Daemon *d, DaemonJob *j) {
        char name[32];

        if (!j->recorded)
                return;
        snprintf(name, sizeof name, "%" PRIu64, j->id);
        if (d->records_fd >= 0 && unlinkat(d->records_fd, name, 0) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove the record of job %" PRIu64 ": %m", j->id);
        j->recorded = false;
}

/* One record read back: a DaemonJob, live (ended false) or ended. */
static int record_parse(const char *text, DaemonJob *j, const char **ret_state) {
        json_object *o = json_tokener_parse(text), *v;
        const char *s;
        uint64_t u;
        int r = -EBADMSG;

        if (!o || !json_object_is_type(o, json_type_object))
                goto out;
        if (proto_get_u64(o, "id", UINT64_MAX, &j->id) < 0 || proto_get_u64(o, "uid", UINT32_MAX - 1, &u) < 0)
                goto out;
        j->owner = (uid_t) u;
        if (proto_get_string(o, "user", &s) < 0 || !(j->user = strdup(s)))
                goto out;
        if (proto_get_string(o, "pool", &s) < 0 || !(j->pool = strdup(s)))
                goto out;
        if (proto_get_string(o, "name", &s) >= 0 && !(j->name = strdup(s)))
                goto out;
        if (proto_get_string(o, "argv0", &s) < 0 || !(j->argv0 = strdup(s)))
                goto out;
        if (proto_get_string(o, "state", &s) < 0)
                goto out;
        *ret_state = strcmp(s, "queued") == 0 ? "queued" : "started";
        if (json_object_object_get_ex(o, "result", &v)) {
                if (proto_result_from_json(v, &j->result, &j->start_error) < 0)
                        goto out;
                j->ended = true;
        }
        r = 0;
out:
        json_object_put(o);
        return r;
}

int records_load(Daemon *d) {
        _cleanup_(closedirp) DIR *dir = NULL;
        struct dirent *de;
        size_t n = 0;
        int fd;

        fd = fcntl(d->records_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || !(dir = fdopendir(fd))) {
                safe_close(fd);
                return log_error_errno(errno, "Failed to read %s/" JOBS_SUBDIR ": %m", d->state_dir);
        }
        while ((de = readdir(dir))) {
                char text[RECORD_BYTES_MAX];
                const char *state = NULL;
                DaemonJob rec = {};

                if (de->d_name[0] == '.') {
                        /* A record half-written when the daemon died. */
                        if (strstr(de->d_name, ".new"))
                                (void) unlinkat(d->records_fd, de->d_name, 0);
                        continue;
                }
                _cleanup_close_ int rfd = openat(d->records_fd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (rfd < 0 || read_full_fd(rfd, text, sizeof text, NULL) < 0 || record_parse(text, &rec, &state) < 0) {
                        log_warning("Ignoring and removing the unreadable job record %s/" JOBS_SUBDIR "/%s.",
                                    d->state_dir, de->d_name);
                        jobs_record_done(&rec);
                        (void) unlinkat(d->records_fd, de->d_name, 0);
                        continue;
                }
                rec.recorded = true;
                jobs_restore(d, &rec, state);
                n++;
        }
        log_debug("Read %zu job record(s).", n);
        return 0;
}
