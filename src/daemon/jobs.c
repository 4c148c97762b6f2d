/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <pwd.h>
#include <search.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "daemon.h"
#include "error.h"
#include "governor.h"
#include "time-util.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

/* The daemon's view of jobs: who owns each one, and its result once ended,
 * kept until its owner collects it with Wait (or the per-user bound drops
 * the oldest), so that `cgov run --detach` followed by `cgov wait` works and
 * a client that lost its connection can come back for the result.
 *
 * The governor changes jobs in its own callbacks on our loop (a keeper
 * reported that the job started or could not, or the job ended), with its
 * lock held; the job hook only queues them and wakes the loop through an
 * eventfd, and a callback of ours, free to call the governor, acts on
 * them. */

static int job_cmp(const void *a, const void *b) {
        uint64_t x = ((const DaemonJob *) a)->id, y = ((const DaemonJob *) b)->id;
        return x < y ? -1 : x > y;
}

DaemonJob *jobs_find(Daemon *d, uint64_t id) {
        DaemonJob key = { .id = id };
        void *found = tfind(&key, &d->jobs_by_id, job_cmp);
        return found ? *(DaemonJob **) found : NULL;
}

void jobs_record_done(DaemonJob *j) {
        free(j->user);
        free(j->pool);
        free(j->name);
        free(j->argv0);
        j->user = j->pool = j->name = j->argv0 = NULL;
}

static void job_free(DaemonJob *j) {
        if (!j)
                return;
        cgov_job_free(j->job);
        jobs_record_done(j);
        free(j);
}

static char *user_name(uid_t uid) {
        struct passwd *pw = getpwuid(uid);
        char *s = NULL;
        if (pw)
                return strdup(pw->pw_name);
        return asprintf(&s, "%u", (unsigned) uid) < 0 ? NULL : s;
}

static int job_insert(Daemon *d, DaemonJob *j) {
        void *slot = tsearch(j, &d->jobs_by_id, job_cmp);
        if (!slot)
                return -ENOMEM;
        if (*(DaemonJob **) slot != j)
                return -EEXIST;
        return 0;
}

static void ended_unlink(Daemon *d, DaemonJob *j) {
        LIST_REMOVE_TAIL(ended, d->ended_head, d->ended_tail, j);
        d->n_ended--;
}

/* Forgets an ended job, and its record. */
static void job_drop(Daemon *d, DaemonJob *j) {
        assert(!j->waiters); /* each would be left pointing at it */
        UserCount *u = user_count(d, j->owner);
        if (u && u->results > 0)
                u->results--;
        records_remove(d, j);
        ended_unlink(d, j);
        tdelete(j, &d->jobs_by_id, job_cmp);
        job_free(j);
}

static void ended_append(Daemon *d, DaemonJob *j) {
        LIST_APPEND_TAIL(ended, d->ended_head, d->ended_tail, j);
        d->n_ended++;
}

/* At most max bytes of s, cut where a UTF-8 character starts (the protocol
 * carries only valid UTF-8, which s is). */
static char *strdup_cut(const char *s, size_t max) {
        size_t n = strlen(s);
        if (n > max) {
                n = max;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
        }
        return strndup(s, n);
}

int jobs_add(Daemon *d, cgov_job *job, const Identity *who, const char *pool, const char *name, const char *argv0,
             size_t spec_bytes, DaemonJob **ret) {
        JobInfo info;
        DaemonJob *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        job_info(job, &info);
        j->id = info.id;
        j->job = job;
        j->owner = who->uid;
        j->user = strdup(who->name);
        j->pool = strdup(pool);
        j->name = name ? strdup(name) : NULL;
        j->argv0 = strdup_cut(argv0 ?: "", ARGV0_SHOWN_MAX);
        j->spec_bytes = spec_bytes;
        if (!j->user || !j->pool || (name && !j->name) || !j->argv0 || job_insert(d, j) < 0) {
                j->job = NULL; /* the caller's still */
                job_free(j);
                return -ENOMEM;
        }
        d->n_jobs++;
        UserCount *u = user_count(d, who->uid);
        if (u) {
                u->jobs++;
                u->spec_bytes += spec_bytes;
        }
        /* Only a queued job has nothing of it in the tree yet. */
        if (info.state == JOB_QUEUED)
                records_write(d, j, "queued");
        *ret = j;
        return 0;
}

/* A job the governor knew before we did: re-adopted at open. */
static DaemonJob *daemon_job_for(Daemon *d, cgov_job *job) {
        JobInfo info;

        job_info(job, &info);
        DaemonJob *j = calloc(1, sizeof *j);
        if (!j)
                return NULL;
        j->id = info.id;
        j->job = job;
        j->owner = info.owner;
        j->user = user_name(info.owner);
        j->pool = strdup(cgov_pool_path(info.pool));
        j->name = info.name[0] ? strdup(info.name) : NULL;
        j->argv0 = strdup("");
        if (!j->user || !j->pool || (info.name[0] && !j->name) || !j->argv0 || job_insert(d, j) < 0) {
                j->job = NULL;
                job_free(j);
                return NULL;
        }
        d->n_jobs++;
        UserCount *u = user_count(d, j->owner);
        if (u)
                u->jobs++;
        LogFields f = { .pool = j->pool, .job = info.leaf, .user = j->user };
        log_full(LOG_INFO, 0, &f, "Re-adopted job %" PRIu64 " of %s in pool %s.", j->id, j->user, j->pool);
        return j;
}

int jobs_adopt(Daemon *d) {
        _cleanup_free_ cgov_job **v = NULL;
        size_t n = 0;
        int r = governor_jobs(d->gov, &v, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                JobInfo info;
                job_info(v[i], &info);
                if (jobs_find(d, info.id)) {
                        cgov_job_free(v[i]);
                        continue;
                }
                if (!daemon_job_for(d, v[i])) {
                        cgov_job_free(v[i]);
                        r = -ENOMEM;
                }
        }
        return r;
}

json_object *jobs_to_json(Daemon *d, DaemonJob *j) {
        JobInfo info = { .state = JOB_ENDED };
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (j->job)
                job_info(j->job, &info);
        json_object_object_add(o, "id", json_object_new_uint64(j->id));
        json_object_object_add(o, "pool", json_object_new_string(j->pool));
        json_object_object_add(o, "name", j->name ? json_object_new_string(j->name) : NULL);
        json_object_object_add(o, "uid", json_object_new_int64(j->owner));
        json_object_object_add(o, "user", json_object_new_string(j->user));
        json_object_object_add(o, "state", json_object_new_string(job_state_to_string(info.state)));
        json_object_object_add(o, "pid", json_object_new_int64(info.pid));
        if (info.leaf[0]) {
                /* The job's own pool: also right for a pool released meanwhile. */
                _cleanup_free_ char *cg = NULL;
                if (asprintf(&cg, "%s/%s", cgov_pool_cgroup(info.pool), info.leaf) >= 0)
                        json_object_object_add(o, "cgroup", json_object_new_string(cg));
                else
                        cg = NULL;
        }
        json_object_object_add(o, "memoryMax", json_object_new_uint64(info.memory));
        json_object_object_add(o, "argv0", json_object_new_string(j->argv0));
        if (info.start_usec > 0)
                json_object_object_add(o, "runningUsec", json_object_new_uint64(now_usec() - info.start_usec));
        if (j->ended)
                json_object_object_add(o, "result", proto_result_to_json(&j->result, j->start_error));
        return o;
}

json_object *jobs_collect(Daemon *d, DaemonJob *j, const Identity *who) {
        json_object *res = proto_result_to_json(&j->result, j->start_error);
        if (res && who->uid == j->owner)
                job_drop(d, j);
        return proto_reply(res);
}

/* ---- starts --------------------------------------------------------------------- */

static json_object *submit_reply(DaemonJob *dj, const JobInfo *info) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_uint64(dj->id));
        json_object_object_add(o, "state", json_object_new_string(info->state == JOB_QUEUED ? "queued" : "running"));
        json_object_object_add(o, "pid", json_object_new_int64(info->pid));
        if (info->leaf[0]) {
                _cleanup_free_ char *cg = NULL;
                if (asprintf(&cg, "%s/%s", cgov_pool_cgroup(info->pool), info->leaf) >= 0)
                        json_object_object_add(o, "cgroup", json_object_new_string(cg));
                else
                        cg = NULL;
        } else
                json_object_object_add(o, "cgroup", NULL);
        return proto_reply(o);
}

static void log_start(DaemonJob *dj, const JobInfo *info) {
        LogFields f = { .pool = dj->pool, .job = info->leaf[0] ? info->leaf : NULL, .user = dj->user };
        dj->start_logged = info->state != JOB_QUEUED;
        log_full(LOG_INFO, 0, &f, "Job %" PRIu64 " of %s %s in pool %s: %s.", dj->id, dj->user,
                 info->state == JOB_QUEUED ? "queued" : "started", dj->pool, dj->argv0);
}

static void submitter_answer(Daemon *d, DaemonJob *dj, const JobInfo *info) {
        Connection *c = dj->submitter;

        dj->submitter = NULL;
        c->submitting = NULL;
        if (info->start_error < 0) {
                /* No id was given: the job is forgotten once it has ended. */
                dj->unannounced = true;
                connection_reply(c, proto_error_system(info->start_error));
        } else {
                log_start(dj, info);
                connection_reply(c, submit_reply(dj, info));
        }
        connection_resume(c);
}

int jobs_submitted(Daemon *d, DaemonJob *dj, Connection *c, bool detach) {
        JobInfo info;

        job_info(dj->job, &info);
        if (info.state == JOB_STARTING) {
                dj->submitter = c;
                c->submitting = dj;
                return 1;
        }
        if (info.state == JOB_QUEUED && !detach)
                jobs_tie(dj, c);
        /* Queued, or started at once (no keeper). */
        log_start(dj, &info);
        connection_reply(c, submit_reply(dj, &info));
        daemon_update_status(d);
        return 0;
}

static void untie(DaemonJob *dj) {
        if (!dj->tied)
                return;
        dj->tied->n_tied--;
        dj->tied = NULL;
}

void jobs_tie(DaemonJob *dj, Connection *c) {
        dj->tied = c;
        c->n_tied++;
}

static void cancel_tied(DaemonJob *dj, void *userdata) {
        Connection *c = userdata;
        JobInfo info;

        if (dj->tied != c)
                return;
        untie(dj);
        job_info(dj->job, &info);
        /* A daemon that stops closes every connection: its queued jobs are
         * ended at the next start, with an outcome that says why. */
        if (info.state != JOB_QUEUED || c->d->stopping)
                return;
        /* Its submitter went away while it waited: nobody is there to see
         * it run (cgov run was killed, say). */
        (void) cgov_kill(dj->job);
        LogFields f = { .pool = dj->pool, .user = dj->user };
        log_full(LOG_INFO, 0, &f, "Job %" PRIu64 " of %s will not start: its submitter went away while it waited.",
                 dj->id, dj->user);
}

void jobs_unsubmit(Connection *c) {
        if (c->submitting)
                c->submitting->submitter = NULL;
        c->submitting = NULL;
        if (c->n_tied > 0)
                jobs_foreach(c->d, cancel_tied, c);
}

/* Its keeper reported: it runs, or it could not start. */
static void job_changed(Daemon *d, cgov_job *job) {
        JobInfo info;
        DaemonJob *dj;

        job_info(job, &info);
        dj = jobs_find(d, info.id);
        if (!dj || dj->job != job || info.state == JOB_STARTING)
                return;
        untie(dj);
        if (dj->submitter)
                submitter_answer(d, dj, &info);
        else if (info.start_error == 0 && !dj->start_logged) {
                /* It waited in the queue. (One whose keeper reported before
                 * jobs_submitted() looked was answered as running.) */
                log_start(dj, &info);
                records_write(d, dj, "started"); /* its leaf stands in now; the record says it started */
        }
}

void jobs_restore(Daemon *d, DaemonJob *rec, const char *state) {
        DaemonJob *j = jobs_find(d, rec->id);

        if (j) {
                /* Re-adopted from the tree, which knows all but this. The
                 * record stays until the result is collected. */
                j->recorded = true;
                if (!j->argv0[0] && rec->argv0) {
                        free(j->argv0);
                        j->argv0 = TAKE_PTR(rec->argv0);
                }
                jobs_record_done(rec);
                return;
        }
        j = calloc(1, sizeof *j);
        if (!j) {
                jobs_record_done(rec);
                log_error("Out of memory: the record of job %" PRIu64 " is not restored.", rec->id);
                return;
        }
        *j = *rec;
        *rec = (DaemonJob) {};
        if (!j->ended) {
                /* No leaf, no end recorded: a job that waited in a queue
                 * never started; a started one ended as the daemon died,
                 * before its end could be recorded. */
                j->ended = true;
                if (strcmp(state, "queued") == 0)
                        j->start_error = -ECANCELED;
                else
                        j->result = (struct cgov_result) { .outcome = CGOV_OUTCOME_UNKNOWN };
                records_write(d, j, "ended");
        }
        if (job_insert(d, j) < 0) {
                job_free(j);
                return;
        }
        ended_append(d, j);
        UserCount *u = user_count(d, j->owner);
        if (u)
                u->results++;
        LogFields f = { .pool = j->pool, .user = j->user };
        log_full(LOG_INFO, 0, &f, "Kept the result of job %" PRIu64 " of %s across the restart.", j->id, j->user);
}

/* ---- ends ---------------------------------------------------------------------- */

void jobs_hook(cgov_job *job, void *userdata) {
        Daemon *d = userdata;
        uint64_t one = 1;

        pthread_mutex_lock(&d->ended_lock);
        if (d->n_ended_queue == d->ended_queue_cap) {
                size_t cap = MAX(d->ended_queue_cap * 2, 64);
                cgov_job **q = reallocarray(d->ended_queue, cap, sizeof *q);
                if (!q) {
                        /* Out of memory inside the governor: this job's result
                         * is lost to the daemon (logged nowhere: we cannot
                         * log from here). */
                        pthread_mutex_unlock(&d->ended_lock);
                        return;
                }
                d->ended_queue = q;
                d->ended_queue_cap = cap;
        }
        d->ended_queue[d->n_ended_queue++] = job_ref(job);
        pthread_mutex_unlock(&d->ended_lock);
        (void) !write(d->ended_fd, &one, sizeof one);
}

static void job_log_end(DaemonJob *j) {
        const struct cgov_result *r = &j->result;
        char leaf[96];
        LogFields f = {
                .pool = j->pool,
                .job = leaf,
                .user = j->user,
                .outcome = j->start_error ? "failed" : proto_outcome_to_string(r->outcome),
        };

        snprintf(leaf, sizeof leaf, "%s@%" PRIu64, j->name ?: "job", j->id);
        if (j->start_error)
                log_full(LOG_INFO, j->start_error, &f, "Job %s of %s could not start: %m", leaf, j->user);
        else if (r->outcome == CGOV_OUTCOME_REJECTED)
                log_full(LOG_INFO, 0, &f, "Job %s of %s refused by pool %s: %s.", leaf, j->user, r->rejected_by,
                         cgov_strerror(r->rejection));
        else if (r->outcome == CGOV_OUTCOME_EXITED)
                log_full(LOG_INFO, 0, &f, "Job %s of %s exited with status %d, peak memory %" PRIu64 " bytes.", leaf,
                         j->user, r->exit_status, r->memory_peak);
        else if (r->outcome == CGOV_OUTCOME_SIGNALED)
                log_full(LOG_INFO, 0, &f, "Job %s of %s died of signal %d, peak memory %" PRIu64 " bytes.", leaf,
                         j->user, r->exit_status, r->memory_peak);
        else
                log_full(LOG_INFO, 0, &f, "Job %s of %s ended: %s, peak memory %" PRIu64 " bytes.", leaf, j->user,
                         f.outcome, r->memory_peak);
}

/* Bounds the kept results of one user: the oldest go first. */
static void results_bound(Daemon *d, uid_t uid) {
        UserCount *u = user_count(d, uid);
        LIST_FOREACH_SAFE(ended, j, next, d->ended_head) {
                if (!u || u->results <= RESULTS_PER_USER_MAX)
                        break;
                if (j->owner == uid && !j->waiters)
                        job_drop(d, j);
        }
}

static void job_ended(Daemon *d, cgov_job *job) {
        JobInfo info;
        DaemonJob *j;

        job_info(job, &info);
        j = jobs_find(d, info.id);
        if (!j) {
                /* One of ours whose record is gone already (it ended as its
                 * start failed, say): nothing more to say of it. */
                if (!info.readopted)
                        return;
                /* Re-adopted and ended before jobs_adopt() saw it. */
                j = daemon_job_for(d, job_ref(job));
                if (!j) {
                        cgov_job_free(job);
                        log_error("Out of memory: the result of job %" PRIu64 " is lost.", info.id);
                        return;
                }
        }
        if (j->ended || j->job != job)
                return;

        /* Started and ended before we heard of the start: answered now. */
        if (j->submitter) {
                JobInfo started;
                job_info(job, &started);
                submitter_answer(d, j, &started);
        }
        untie(j);
        int r = cgov_await(job, 0, &j->result);
        j->start_error = r < 0 && !cgov_is_decision(r) ? r : 0;
        j->ended = true;
        cgov_job_free(j->job);
        j->job = NULL;

        d->n_jobs--;
        UserCount *u = user_count(d, j->owner);
        if (u) {
                u->jobs--;
                u->results++;
                u->spec_bytes -= MIN(u->spec_bytes, j->spec_bytes);
        }
        j->spec_bytes = 0;
        ended_append(d, j);
        job_log_end(j);

        /* Every parked Wait gets the result; the owner's collects it. A job
         * whose submitter was told it could not start, and so got no id,
         * has Waits only from an owner that guessed the id: they are
         * answered all the same, and nothing is kept. */
        bool collected = j->unannounced;
        while (j->waiters) {
                Connection *c = j->waiters;
                bool owner = c->who.uid == j->owner;
                json_object *reply = proto_reply(proto_result_to_json(&j->result, j->start_error));
                jobs_unwait(c);
                connection_reply(c, reply);
                connection_resume(c);
                collected = collected || owner;
        }
        if (collected)
                job_drop(d, j);
        else {
                /* Kept for its owner: across restarts too. */
                records_write(d, j, "ended");
                results_bound(d, j->owner);
        }
}

static int on_ended(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        uint64_t n;
        cgov_job **q;
        size_t count;

        (void) !read(fd, &n, sizeof n);
        pthread_mutex_lock(&d->ended_lock);
        q = d->ended_queue;
        count = d->n_ended_queue;
        d->ended_queue = NULL;
        d->n_ended_queue = d->ended_queue_cap = 0;
        pthread_mutex_unlock(&d->ended_lock);

        for (size_t i = 0; i < count; i++) {
                JobInfo info;
                job_info(q[i], &info);
                if (info.state == JOB_ENDED)
                        job_ended(d, q[i]);
                else
                        job_changed(d, q[i]);
                cgov_job_free(q[i]); /* the hook's reference */
        }
        free(q);
        daemon_update_status(d);
        return 0;
}

int jobs_setup(Daemon *d) {
        pthread_mutex_init(&d->ended_lock, NULL);
        d->ended_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->ended_fd < 0)
                return negative_errno();
        return sd_event_add_io(d->event, &d->ended_source, d->ended_fd, EPOLLIN, on_ended, d);
}

static void free_node(void *p) {
        job_free(p);
}

void jobs_done(Daemon *d) {
        d->ended_source = sd_event_source_disable_unref(d->ended_source);
        d->ended_fd = safe_close(d->ended_fd);
        for (size_t i = 0; i < d->n_ended_queue; i++)
                cgov_job_free(d->ended_queue[i]);
        free(d->ended_queue);
        d->ended_queue = NULL;
        d->n_ended_queue = 0;
        tdestroy(d->jobs_by_id, free_node);
        d->jobs_by_id = NULL;
        pthread_mutex_destroy(&d->ended_lock);
}

/* ---- waiting --------------------------------------------------------------------- */

static int on_wait_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Connection *c = userdata;
        jobs_unwait(c);
        connection_reply(c, proto_error(PROTO_ERROR_TIMEOUT, NULL));
        connection_resume(c);
        return 0;
}

int jobs_wait(Daemon *d, DaemonJob *j, Connection *c, int64_t timeout_ms) {
        if (timeout_ms >= 0) {
                int r = sd_event_add_time_relative(d->event, &c->wait_timer, CLOCK_MONOTONIC,
                                                   (uint64_t) timeout_ms * 1000, 1000, on_wait_timeout, c);
                if (r < 0)
                        return r;
        }
        c->waiting_for = j;
        c->wprev = NULL;
        c->wnext = j->waiters;
        if (j->waiters)
                j->waiters->wprev = c;
        j->waiters = c;
        return 0;
}

void jobs_unwait(Connection *c) {
        DaemonJob *j = c->waiting_for;

        c->wait_timer = sd_event_source_disable_unref(c->wait_timer);
        if (!j)
                return;
        if (c->wprev)
                c->wprev->wnext = c->wnext;
        else
                j->waiters = c->wnext;
        if (c->wnext)
                c->wnext->wprev = c->wprev;
        c->wprev = c->wnext = NULL;
        c->waiting_for = NULL;
}

/* ---- visibility and iteration ---------------------------------------------------- */

DaemonJob *jobs_find_visible(Daemon *d, const Identity *who, uint64_t id, bool *ret_admin) {
        DaemonJob *j = jobs_find(d, id);
        bool admin = who->uid == 0, pool_admin = false;

        if (!j)
                return NULL;
        if (!admin && tenancy_may_see(d, who, j->pool, &pool_admin))
                admin = pool_admin;
        if (!admin && j->owner != who->uid)
                return NULL;
        if (ret_admin)
                *ret_admin = admin;
        return j;
}

static void (*walk_fn)(DaemonJob *j, void *userdata);
static void *walk_userdata;

static void walk(const void *node, VISIT v, int depth) {
        if (v == postorder || v == leaf)
                walk_fn(*(DaemonJob *const *) node, walk_userdata);
}

void jobs_foreach(Daemon *d, void (*fn)(DaemonJob *j, void *userdata), void *userdata) {
        /* twalk() has no user data; the loop is single-threaded. */
        walk_fn = fn;
        walk_userdata = userdata;
        twalk(d->jobs_by_id, walk);
}

size_t jobs_running(Daemon *d) {
        return d->n_jobs;
}
