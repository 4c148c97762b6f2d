/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "macro.h"
#include "string-table.h"
#include "raw-task.h"
#include "spawn.h"
#include "strv.h"

/* A job's life: admitted (or queued, then admitted) → leaf made, limits
 * written → started in the leaf → main process reaped by the supervisor →
 * leftovers killed, leaf drained → stats read → leaf removed → reservation
 * returned → ENDED. A job admitted at once is started by the caller's
 * thread; everything after the start, and the start of a job that waited,
 * is the supervisor's (supervise.c, queue.c), so nobody has to poll. */

void job_list_add(cgov_job *j) {
        LIST_PREPEND(jobs, j->g->jobs, j);
}

void job_list_remove(cgov_job *j) {
        LIST_REMOVE(jobs, j->g->jobs, j);
}

void job_copy_free(cgov *g, JobCopy *c) {
        strv_free(c->argv);
        strv_free(c->envp);
        free(c->cwd);
        /* cgovd's jobs' stdio is its tenants': closing it may block. */
        if (c->has_stdio && g->keeper)
                governor_close_fds(g, c->stdio, 3);
        else if (c->has_stdio)
                for (int i = 0; i < 3; i++)
                        safe_close(c->stdio[i]);
        *c = (JobCopy) {};
}

cgov_job *job_ref(cgov_job *j) {
        __atomic_add_fetch(&j->n_ref, 1, __ATOMIC_RELAXED);
        return j;
}

void job_unref(cgov_job *j) {
        if (!j || __atomic_sub_fetch(&j->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        cgov *g = j->g;
        safe_close(j->place.fd);
        /* Its keeper runs on without us (cgov_close): it unmaps its stack. */
        raw_task_disown(j->keeper_region, j->pidfd);
        safe_close(j->pidfd);
        safe_close(j->report_fd);
        safe_close(j->report_write_fd);
        /* A background start's report that came, not yet taken in (the
         * governor closed first): its fds are ours. */
        if (j->start_pending && j->start_report.came && j->start_report.r == 0) {
                safe_close(j->start_report.fd);
                safe_close(j->start_report.pidfd);
        }
        job_copy_free(g, &j->copy);
        free((gid_t *) j->creds.groups);
        free(j->name);
        free(j->program);
        free(j->place.cgroup);
        free(j);
        governor_unref(g);
}

void job_ended_notify(cgov_job *j) {
        cgov *g = j->g;

        pthread_cond_broadcast(&g->job_ended);
        if (g->job_hook)
                g->job_hook(j, g->job_hook_userdata);
}

static const char *const job_state_table[] = {
        [JOB_QUEUED] = "queued",
        [JOB_STARTING] = "starting",
        [JOB_RUNNING] = "running",
        [JOB_ENDING] = "ending",
        [JOB_ENDED] = "ended",
};
DEFINE_STRING_TABLE_TO_STRING(job_state, JobState);

void job_info(cgov_job *j, JobInfo *ret) {
        pthread_mutex_lock(&j->g->lock);
        *ret = (JobInfo) {
                .id = j->id,
                .pool = j->pool,
                .owner = j->owner,
                .state = j->state,
                .pid = j->pid,
                .memory = j->memory,
                .start_usec = j->state >= JOB_RUNNING ? j->start_usec : 0,
                .adopted = j->adopted,
                .readopted = j->readopted,
                .start_error = j->start_error,
        };
        if (j->name)
                snprintf(ret->name, sizeof ret->name, "%s", j->name);
        if (j->state >= JOB_RUNNING)
                snprintf(ret->leaf, sizeof ret->leaf, "%s", j->leaf);
        pthread_mutex_unlock(&j->g->lock);
}

cgov_job *job_alloc(cgov *g, cgov_pool *p, unsigned n_ref) {
        cgov_job *j = calloc(1, sizeof *j);
        if (!j)
                return NULL;
        j->api.ops = g->api.ops;
        j->g = g;
        j->pool = p;
        j->n_ref = n_ref;
        j->place.fd = j->pidfd = j->report_fd = j->report_write_fd = -EBADF;
        __atomic_add_fetch(&g->n_ref, 1, __ATOMIC_RELAXED);
        return j;
}

/* The job's own copy of its spec as a JobLaunch (JobCopy). */
JobLaunch launch_of_copy(const cgov_job *j) {
        return (JobLaunch) {
                .program = j->program,
                .argv = j->copy.argv,
                .envp = j->copy.envp,
                .cwd = j->copy.cwd,
                .stdio = j->copy.has_stdio ? j->copy.stdio : NULL,
                .pids_max = j->pids_max,
                .fn = j->fn,
                .fn_arg = j->fn_arg,
                .out_fd = j->out_fd,
                .creds = j->run_as ? &j->creds : NULL,
        };
}

static JobRecord job_record_of(const cgov_job *j) {
        return (JobRecord) {
                .memory = j->memory,
                .pids_max = j->pids_max,
                .timeout_ms = j->timeout_ms,
                .start_usec = j->start_usec,
                .pid = j->pid,
                .owner = j->owner,
                .keeper = j->keeper,
                .name = j->name,
        };
}

void job_record(cgov_job *j) {
        const JobRecord rec = job_record_of(j);
        j->g->backend->job_record(j->g->b, &j->place, &rec);
}

int job_start(cgov_job *j, const JobLaunch *l) {
        cgov *g = j->g;
        const JobRecord rec = job_record_of(j); /* no start or pid yet */
        JobStart s = {
                .id = j->id,
                .pool = &j->pool->place,
                .pool_path = j->pool->path,
                .memory = j->memory,
                .pids_max = j->pids_max,
                .keeper = g->keeper && l->creds && !l->fn,
                .launch = l,
                .record = &rec,
        };
        /* A job that runs as someone else may go on starting after we
         * return: its launch is theirs (a working directory whose mount
         * never answers), and must not hold the thread that serves
         * everyone (cgovd's loop). */
        if (l->creds && !s.keeper) {
                s.started = job_start_report;
                s.userdata = j;
        }
        JobProcess proc = { .pidfd = -EBADF, .report_fd = -EBADF, .report_write_fd = -EBADF };
        int r;

        for (;;) {
                r = job_leaf_name(j->leaf, sizeof j->leaf, j->name, j->id);
                if (r < 0)
                        return r;
                memcpy(s.leaf, j->leaf, sizeof s.leaf);
                s.id = j->id;
                r = g->backend->job_start(g->b, &s, &j->place, &proc);
                if (r != -EEXIST)
                        break;
                /* Someone else's place of that name: take the next id. */
                pthread_mutex_lock(&g->lock);
                j->id = ids_next(g);
                pthread_mutex_unlock(&g->lock);
        }
        if (r < 0)
                return r;
        if (r == 1) {
                /* Its report may come before the job is handed over: that
                 * waits for job_watch(). A kill meanwhile stops the start. */
                pthread_mutex_lock(&g->lock);
                j->start_pending = true;
                j->start_usec = proc.start_usec;
                pthread_mutex_unlock(&g->lock);
                return 1;
        }
        j->keeper = s.keeper;
        j->pid = proc.pid;
        j->pidfd = proc.pidfd;
        j->start_usec = proc.start_usec;
        j->keeper_pid = proc.keeper_pid;
        j->report_fd = proc.report_fd;
        j->report_write_fd = proc.report_write_fd;
        j->keeper_region = proc.keeper_region;
        /* What a governor opened later needs to re-adopt it. */
        job_record(j);
        return j->keeper ? 1 : 0;
}

void job_started(cgov_job *j) {
        j->state = JOB_RUNNING;
        j->counted_running = true;
        POOL_CHAIN_ADD(j->pool, jobs_running, 1);
        POOL_CHAIN_ADD(j->pool, jobs_started, 1);
        /* Killed while it was being started: it dies now that it has a leaf. */
        if (j->kill == JOB_KILL_REQUESTED)
                (void) j->g->backend->job_kill(j->g->b, &j->place);
}
