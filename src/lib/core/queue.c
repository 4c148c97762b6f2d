/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "macro.h"

/* Admission and waiting. A job that does not fit may wait, FIFO, in its
 * pool's queue (max_queue, queue_timeout_ms); a full queue answers
 * Overloaded at once. Whenever room comes back — a job ends, slots are
 * released, limits rise — the supervisor serves the queues round-robin
 * across pools, one job per pool per round, so one tenant's long queue
 * cannot starve a sibling's. Only the supervisor thread removes waiters
 * (start, kill, timeout, release), so no other thread races it for them. */

/* The ledger's node is embedded in its pool. */
static cgov_pool *pool_of_node(const LedgerNode *n) {
        return (cgov_pool *) ((char *) n - offsetof(cgov_pool, ledger));
}

static void record_refusal(struct cgov_result *res, const LedgerRefusal *rf) {
        res->rejection = rf->error;
        res->requested = rf->requested;
        res->available = rf->available;
        res->limit = rf->limit;
        snprintf(res->rejected_by, sizeof res->rejected_by, "%s", pool_of_node(rf->node)->path);
}

/* Lock held: a refusal ends the submission; counters and *res say so. */
static int refuse(cgov_job *j, struct cgov_result *res, const LedgerRefusal *rf) {
        *res = (struct cgov_result) { .outcome = CGOV_OUTCOME_REJECTED };
        record_refusal(res, rf);
        POOL_CHAIN_ADD(j->pool, jobs_rejected, 1);
        return rf->error;
}

static void queue_append(cgov_job *j) {
        cgov_pool *p = j->pool;

        LIST_APPEND_TAIL(queue, p->queue_head, p->queue_tail, j);
        p->n_waiting++;
        j->g->n_waiting++;
        POOL_CHAIN_ADD(p, jobs_queued, 1);
}

void queue_unlink(cgov_job *j) {
        cgov_pool *p = j->pool;

        LIST_REMOVE_TAIL(queue, p->queue_head, p->queue_tail, j);
        p->n_waiting--;
        j->g->n_waiting--;
        POOL_CHAIN_ADD(p, jobs_queued, -1);
}

/* Ends a job whose process never started (killed, expired or refused
 * while it waited, or it could not be started). Lock held; the governor's
 * reference is dropped by the caller after unlocking (job_unref). */
static void job_end_unstarted(cgov_job *j, enum cgov_outcome outcome, int rejection, int start_error) {
        cgov_pool *p = j->pool;
        struct cgov_result *res = &j->result;

        if (j->state == JOB_QUEUED)
                queue_unlink(j);
        if (outcome != CGOV_OUTCOME_REJECTED)
                *res = (struct cgov_result) {};
        else {
                if (rejection == CGOV_E_POOL_GONE || !res->rejected_by[0]) {
                        res->requested = res->available = res->limit = 0;
                        snprintf(res->rejected_by, sizeof res->rejected_by, "%s", p->path);
                }
                POOL_CHAIN_ADD(p, jobs_rejected, 1);
        }
        res->outcome = outcome;
        res->rejection = rejection;
        j->start_error = start_error;
        j->state = JOB_ENDED;
        job_list_remove(j);
        job_ended_notify(j);
}

int queue_admit(cgov_job *j, bool may_wait, struct cgov_result *res) {
        cgov_pool *p = j->pool;
        cgov *g = j->g;
        LedgerRefusal rf;
        int r;

        if (g->closed)
                return -ESHUTDOWN;
        if (p->released) {
                rf = (LedgerRefusal) { .node = &p->ledger, .error = CGOV_E_POOL_GONE };
                return refuse(j, res, &rf);
        }
        /* Waiters of this pool go first: a newcomer that may wait does not
         * overtake them, even when it would fit. */
        if (!may_wait || !p->queue_head) {
                r = ledger_reserve(&p->ledger, j->memory, 1, &rf);
                if (r == 0) {
                        j->id = ids_next(g);
                        j->state = JOB_STARTING;
                        job_list_add(j);
                        return 0;
                }
                if (!may_wait)
                        return refuse(j, res, &rf);
        }
        /* Waiting cannot help a job larger than a limit itself. */
        if (ledger_check_ever(&p->ledger, j->memory, 1, &rf) < 0)
                return refuse(j, res, &rf);
        if (p->n_waiting >= p->limits.max_queue) {
                rf = (LedgerRefusal) {
                        .node = &p->ledger,
                        .error = CGOV_E_OVERLOADED,
                        .requested = 1,
                        .available = 0,
                        .limit = p->limits.max_queue,
                };
                return refuse(j, res, &rf);
        }
        /* Until its first try at the head of the queue, a waiter's refusal
         * is the one it got now, if any. */
        if (ledger_check(&p->ledger, j->memory, 1, &rf) < 0)
                record_refusal(&j->result, &rf);
        j->id = ids_next(g);
        j->state = JOB_QUEUED;
        queue_append(j);
        job_list_add(j);
        return 1;
}

/* Ends the waiters that were killed, ran out of time, or lost their pool.
 * Lock held; the ended ones are chained on *ended through queue_next. */
static void sweep(cgov *g, uint64_t now, cgov_job **ended) {
        for (size_t i = 0; i < g->n_pools; i++)
                for (cgov_job *j = g->pools[i]->queue_head, *next; j; j = next) {
                        next = j->queue_next;
                        if (j->kill != JOB_KILL_NONE)
                                job_end_unstarted(j, CGOV_OUTCOME_KILLED, 0, 0);
                        else if (j->pool->released)
                                job_end_unstarted(j, CGOV_OUTCOME_REJECTED, CGOV_E_POOL_GONE, 0);
                        else if (j->queue_deadline_usec > 0 && now >= j->queue_deadline_usec)
                                job_end_unstarted(j, CGOV_OUTCOME_REJECTED, CGOV_E_TIMEOUT, 0);
                        else
                                continue;
                        j->queue_next = *ended;
                        *ended = j;
                }
}

/* Admits queue heads round-robin: each pass offers every pool, starting
 * after the one served last, one admission; passes repeat while any pool
 * got one. Lock held; the admitted are chained on *start through queue_next. */
static void admit_round_robin(cgov *g, cgov_job **start) {
        bool progress;

        if (g->n_pools == 0)
                return;
        do {
                progress = false;
                for (size_t k = 1; k <= g->n_pools; k++) {
                        size_t i = (g->dispatch_cursor + k) % g->n_pools;
                        cgov_job *j = g->pools[i]->queue_head;
                        LedgerRefusal rf;

                        if (!j)
                                continue;
                        if (ledger_reserve(&j->pool->ledger, j->memory, 1, &rf) < 0) {
                                record_refusal(&j->result, &rf);
                                continue;
                        }
                        queue_unlink(j);
                        j->state = JOB_STARTING;
                        j->queue_next = *start;
                        *start = j;
                        g->dispatch_cursor = i;
                        progress = true;
                }
        } while (progress);
}

static uint64_t next_deadline(cgov *g) {
        uint64_t next = 0;

        for (size_t i = 0; i < g->n_pools; i++)
                LIST_FOREACH(queue, j, g->pools[i]->queue_head)
                        if (j->queue_deadline_usec > 0 && (next == 0 || j->queue_deadline_usec < next))
                                next = j->queue_deadline_usec;
        return next;
}

void queue_dispatch(cgov *g) {
        cgov_job *ended, *start;
        uint64_t deadline;
        bool again;

        do {
                ended = start = NULL;
                again = false;

                pthread_mutex_lock(&g->lock);
                if (g->n_waiting == 0) {
                        pthread_mutex_unlock(&g->lock);
                        (void) sd_event_source_set_enabled(g->queue_timer, SD_EVENT_OFF);
                        return;
                }
                sweep(g, now_usec(), &ended);
                admit_round_robin(g, &start);
                deadline = next_deadline(g);
                pthread_mutex_unlock(&g->lock);

                for (cgov_job *j = ended, *next; j; j = next) {
                        next = j->queue_next;
                        j->queue_next = NULL;
                        job_unref(j); /* the governor's watch */
                }

                /* Started outside the lock: a spawn takes a fraction of a
                 * millisecond that other threads' admissions need not wait. */
                for (cgov_job *j = start, *next; j; j = next) {
                        next = j->queue_next;
                        j->queue_next = NULL;
                        JobLaunch l = launch_of_copy(j);
                        int r = job_start(j, &l);
                        pthread_mutex_lock(&g->lock);
                        if (r < 0) {
                                ledger_release(&j->pool->ledger, j->memory, 1);
                                pool_settle(j->pool);
                                job_end_unstarted(j, CGOV_OUTCOME_UNKNOWN, 0, r);
                                again = true; /* its room is free again */
                        } else if (r == 0)
                                job_started(j);
                        /* 1: its keeper (or the backend) reports how the
                         * start went, which job_watch() listens for (with
                         * the start's deadline). */
                        pthread_mutex_unlock(&g->lock);
                        if (r < 0)
                                job_unref(j);
                        else
                                (void) job_watch(j);
                }
        } while (again);

        if (deadline > 0) {
                (void) sd_event_source_set_time(g->queue_timer, deadline);
                (void) sd_event_source_set_enabled(g->queue_timer, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_source_set_enabled(g->queue_timer, SD_EVENT_OFF);
}
