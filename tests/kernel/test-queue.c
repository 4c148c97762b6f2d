/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Waiting for room on a real kernel: queues, their timeouts, overload,
 * FIFO order and round-robin service of sibling pools. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(queue, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* A job that appends its name to a file the moment it starts, then lingers
 * a little so that the next one cannot start at the same time. */
#define RECORD(file, name) ARGV("sh", "-c", "echo $0 >> \"$1\"; sleep 0.1", name, file)

static const char *const sleeper[] = { "sleep", "30", NULL };

static char *slurp(const char *path, char *buf, size_t size) {
        FILE *f = fopen(path, "re");
        cr_assert_not_null(f, "open %s: %m", path);
        size_t n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

Test(queue, a_one_slot_pool_serialises_two_jobs) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        struct cgov_result res;
        char file[64], out[256];
        fx_tmpfile(file, sizeof file);

        cgov_job *j1 = fx_submit(p, (struct cgov_job_spec) {
                                            .argv = ARGV("sh", "-c", "echo start1 >> \"$0\"; sleep 0.5; echo end1 >> \"$0\"",
                                                         file),
                                    });
        cgov_job *j2 = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "echo start2 >> \"$0\"", file) });
        cr_assert_gt(cgov_job_pid(j1), 0);
        cr_assert_eq(cgov_job_pid(j2), 0, "the second job waits while the first holds the slot");
        fx_await(j2, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "outcome %d", res.outcome);
        fx_await(j1, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_str_eq(slurp(file, out, sizeof out), "start1\nend1\nstart2\n",
                         "the second job started only after the first ended");

        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.jobs_started, 2, "%lu started", (unsigned long) st.jobs_started);
        cr_assert_eq(st.jobs_rejected, 0, "a wait that ends in a start is no rejection: %lu rejected",
                     (unsigned long) st.jobs_rejected);
        cgov_job_free(j1);
        cgov_job_free(j2);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
        unlink(file);
}

Test(queue, a_queued_job_has_no_pid_no_leaf_and_is_counted_on_its_chain) {
        cgov_pool *shared = fx_pool("shared", 0, 1);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 0, 4, 0);
        cgov_pool *b = fx_pool("shared/b", 0, 0);
        struct cgov_result res;

        cgov_job *holder = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .memory_max = 8 * MiB });
        cr_assert_eq(cgov_job_pid(w), 0);
        cr_assert_null(cgov_job_cgroup(w));
        fx_assert_ret(cgov_await(w, 100, &res), CGOV_E_TIMEOUT, "await's own timeout: the job still waits");
        cr_assert_eq(fx_count_leaves(fx_root), 1, "only the holder has a leaf");

        struct cgov_pool_status st = fx_status(a);
        cr_assert_eq(st.jobs_queued, 1, "shared/a: %u queued", st.jobs_queued);
        cr_assert_eq(st.jobs_running, 1);
        cr_assert_eq(st.memory_reserved, 64 * MiB, "a waiter reserves nothing: %lu", (unsigned long) st.memory_reserved);
        st = fx_status(shared);
        cr_assert_eq(st.jobs_queued, 1, "shared: %u queued", st.jobs_queued);
        cr_assert_eq(st.slots_held, 1, "shared: %u slots", st.slots_held);
        st = fx_status(b);
        cr_assert_eq(st.jobs_queued, 0, "shared/b: %u queued", st.jobs_queued);

        fx_kill_await(holder);
        cr_assert(fx_wait_started(w, 5000), "the waiter starts once the slot is free");
        cr_assert_not_null(cgov_job_cgroup(w));
        cr_assert_eq(fx_status(shared).jobs_queued, 0);
        cr_assert_eq(fx_status(a).jobs_queued, 0);
        fx_kill_await(w);
        fx_assert_pool_idle(shared);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(queue, room_freed_in_a_shared_parent_starts_a_sibling_s_waiter) {
        cgov_pool *shared = fx_pool("shared", 0, 1);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 0, 4, 0);
        cgov_pool *b = fx_pool("shared/b", 0, 0);

        cgov_job *holder = fx_submit(b, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(w), 0, "shared has no slot left");
        usleep(200000);
        cr_assert_eq(cgov_job_pid(w), 0, "still waiting while b's job holds shared's slot");

        fx_kill_await(holder);
        cr_assert(fx_wait_started(w, 5000), "room freed by the sibling starts the waiter");
        fx_kill_await(w);
        fx_assert_pool_idle(shared);
        fx_assert_pool_idle(a);
        fx_assert_pool_idle(b);
}

Test(queue, cgov_run_waits_in_the_queue_and_runs_the_job) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        struct cgov_result res;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "0.5") });
        uint64_t t0 = fx_now_ms();
        int r = cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sh", "-c", "exit 3") }, &res);
        cr_assert_eq(r, 0, "cgov_run: %s", cgov_strerror(r));
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 3);
        cr_assert_geq(fx_now_ms() - t0, 400, "it waited for the holder: %lu ms", (unsigned long) (fx_now_ms() - t0));
        fx_await(holder, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cgov_job_free(holder);
        fx_assert_pool_idle(p);
}

Test(queue, a_wait_that_runs_out_is_rejected_with_timeout_and_leaves_nothing) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 2, 300);
        struct cgov_result res;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .memory_max = 16 * MiB });
        uint64_t t0 = fx_now_ms();
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 8 * MiB });
        fx_assert_ret(cgov_await(w, -1, &res), 0, "a wait that runs out is still an end: await returns 0");
        uint64_t waited = fx_now_ms() - t0;
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED, "outcome %d", res.outcome);
        cr_assert_eq(res.rejection, CGOV_E_TIMEOUT, "rejection %s", cgov_strerror(res.rejection));
        cr_assert_str_eq(res.rejected_by, "p");
        cr_assert_geq(waited, 280, "waited %lu ms of 300", (unsigned long) waited);
        cr_assert_lt(waited, 10000, "waited %lu ms of 300", (unsigned long) waited);
        cr_assert_eq(cgov_job_pid(w), 0, "it never started");

        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.jobs_queued, 0, "no queue entry is left: %u", st.jobs_queued);
        cr_assert_eq(st.slots_held, 1, "only the holder's slot is busy: %u", st.slots_held);
        cr_assert_eq(st.jobs_running, 1);
        cr_assert_eq(st.memory_reserved, 16 * MiB, "%lu reserved", (unsigned long) st.memory_reserved);
        cr_assert_eq(st.jobs_rejected, 1, "the timed-out waiter counts as rejected: %lu", (unsigned long) st.jobs_rejected);
        cr_assert_eq(fx_count_leaves(fx_root), 1);
        cgov_job_free(w);
        fx_kill_await(holder);
        fx_assert_pool_idle(p);
}

Test(queue, a_timed_out_waiter_names_the_pool_that_refused_it_last) {
        fx_pool("shared", 0, 1);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 4, 2, 200);
        cgov_pool *b = fx_pool("shared/b", 0, 0);
        struct cgov_result res;

        cgov_job *holder = fx_submit(b, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(a, (struct cgov_job_spec) { .argv = ARGV("true") });
        fx_await(w, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_assert_eq(res.rejection, CGOV_E_TIMEOUT);
        cr_assert_str_eq(res.rejected_by, "shared", "shared/a had room; shared had none");
        cgov_job_free(w);
        fx_kill_await(holder);
        fx_assert_pool_idle(a);
}

Test(queue, a_waiter_whose_deadline_passes_frees_its_queue_place) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 200);
        struct cgov_result res;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w1 = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true") });
        fx_await(w1, &res);
        cr_assert_eq(res.rejection, CGOV_E_TIMEOUT);
        cgov_job_free(w1);

        /* max_queue 1: a second waiter fits only if the first left no entry. */
        cgov_job *w2 = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "exit 5"), .queue_timeout_ms = 20000 });
        fx_kill_await(holder);
        fx_await(w2, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "the next waiter got the slot: outcome %d", res.outcome);
        cr_assert_eq(res.exit_status, 5);
        cgov_job_free(w2);
        fx_assert_pool_idle(p);
}

Test(queue, the_job_s_queue_timeout_overrides_the_pool_s) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 4, 60000);
        struct cgov_result res;
        cgov_job *j = NULL;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        uint64_t t0 = fx_now_ms();
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = 200 });
        fx_await(w, &res);
        cr_assert_eq(res.rejection, CGOV_E_TIMEOUT);
        cr_assert_lt(fx_now_ms() - t0, 10000, "the job's 200 ms, not the pool's 60 s: %lu ms",
                     (unsigned long) (fx_now_ms() - t0));
        cgov_job_free(w);

        /* -1: never wait, although the pool has a queue. */
        t0 = fx_now_ms();
        fx_assert_ret(cgov_submit(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = -1 }, &j),
                     CGOV_E_NO_WORKERS);
        cr_assert_null(j);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = -1 }, &res),
                     CGOV_E_NO_WORKERS);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_assert_str_eq(res.rejected_by, "p");
        cr_assert_lt(fx_now_ms() - t0, 2000, "refused at once");
        cr_assert_eq(fx_status(p).jobs_queued, 0);
        fx_assert_ret(cgov_submit(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = -2 }, &j),
                     -EINVAL);
        fx_kill_await(holder);
        fx_assert_pool_idle(p);
}

Test(queue, a_pool_queue_timeout_of_zero_waits_forever) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        struct cgov_result res;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "exit 0") });
        fx_assert_ret(cgov_await(w, 1500, &res), CGOV_E_TIMEOUT, "after 1.5 s it still waits");
        cr_assert_eq(cgov_job_pid(w), 0);
        cr_assert_eq(fx_status(p).jobs_queued, 1);
        fx_kill_await(holder);
        fx_await(w, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cgov_job_free(w);
        fx_assert_pool_idle(p);
}

Test(queue, a_pool_without_a_queue_refuses_at_once) {
        cgov_pool *p = fx_pool("p", 0, 1);
        cgov_job *j = NULL;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        fx_assert_ret(cgov_submit(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = 5000 }, &j),
                     CGOV_E_NO_WORKERS, "max_queue 0: no job may wait, whatever its queue_timeout");
        cr_assert_null(j);
        fx_kill_await(holder);
        fx_assert_pool_idle(p);
}

Test(queue, a_full_queue_answers_overloaded_at_once_changing_nothing) {
        cgov_pool *p = fx_pool_queue("p", 256 * MiB, 1, 2, 0);
        struct cgov_result res;
        cgov_job *j = NULL;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .memory_max = 16 * MiB });
        cgov_job *w1 = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 8 * MiB });
        cgov_job *w2 = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 8 * MiB });
        struct cgov_pool_status before = fx_status(p);
        cr_assert_eq(before.jobs_queued, 2);

        uint64_t t0 = fx_now_ms();
        fx_assert_ret(cgov_submit(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &j), CGOV_E_OVERLOADED);
        cr_assert_null(j);
        int r = cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res);
        cr_assert_eq(r, CGOV_E_OVERLOADED, "cgov_run: %s", cgov_strerror(r));
        cr_assert_lt(fx_now_ms() - t0, 2000, "answered at once: %lu ms", (unsigned long) (fx_now_ms() - t0));
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_assert_eq(res.rejection, CGOV_E_OVERLOADED);
        cr_assert_str_eq(res.rejected_by, "p");
        cr_assert_eq(res.requested, 1, "requested %lu", (unsigned long) res.requested);
        cr_assert_eq(res.available, 0, "available %lu", (unsigned long) res.available);
        cr_assert_eq(res.limit, 2, "limit %lu: max_queue", (unsigned long) res.limit);

        struct cgov_pool_status after = fx_status(p);
        cr_assert_eq(after.jobs_queued, before.jobs_queued);
        cr_assert_eq(after.jobs_running, before.jobs_running);
        cr_assert_eq(after.slots_held, before.slots_held);
        cr_assert_eq(after.memory_reserved, before.memory_reserved, "%lu reserved, was %lu",
                     (unsigned long) after.memory_reserved, (unsigned long) before.memory_reserved);
        cr_assert_eq(fx_count_leaves(fx_root), 1);

        fx_kill_await(holder);
        fx_await(w1, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "the queue was left intact");
        fx_await(w2, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cgov_job_free(w1);
        cgov_job_free(w2);
        fx_assert_pool_idle(p);
}

Test(queue, a_job_that_can_never_fit_is_refused_at_once_even_with_a_queue) {
        fx_pool("shared", 64 * MiB, 0);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 0, 4, 0);
        cgov_pool *b = fx_pool_queue("shared/b", 32 * MiB, 0, 4, 0);
        struct cgov_result res;
        cgov_job *j = NULL;

        uint64_t t0 = fx_now_ms();
        fx_assert_ret(cgov_submit(a, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 100 * MiB }, &j),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_null(j);
        fx_assert_ret(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 100 * MiB }, &res),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_str_eq(res.rejected_by, "shared");
        cr_assert_eq(res.requested, 100 * MiB);
        cr_assert_eq(res.limit, 64 * MiB);

        fx_assert_ret(cgov_run(b, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 48 * MiB }, &res),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_str_eq(res.rejected_by, "shared/b");
        cr_assert_eq(res.limit, 32 * MiB);
        cr_assert_lt(fx_now_ms() - t0, 2000, "no wait for room that can never come");
        cr_assert_eq(fx_status(a).jobs_queued, 0);
        cr_assert_eq(fx_status(b).jobs_queued, 0);
}

Test(queue, new_jobs_never_overtake_waiters_of_the_same_pool) {
        cgov_pool *p = fx_pool_queue("p", 100 * MiB, 0, 4, 0);
        struct cgov_result res;
        char file[64], out[64];
        fx_tmpfile(file, sizeof file);

        /* holder + late fit the pool now; holder + w1 and w1 + late do not. */
        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .memory_max = 60 * MiB });
        cgov_job *w1 = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "echo w1 >> \"$0\"; sleep 0.3", file),
                                                             .memory_max = 70 * MiB });
        cr_assert_eq(cgov_job_pid(w1), 0);
        cgov_job *late = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "echo late >> \"$0\"", file),
                                                               .memory_max = 40 * MiB });
        cr_assert_eq(cgov_job_pid(late), 0, "it would fit, but w1 waits before it");
        cr_assert_eq(fx_status(p).jobs_queued, 2);

        fx_kill_await(holder);
        fx_await(late, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        fx_await(w1, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_str_eq(slurp(file, out, sizeof out), "w1\nlate\n");
        cgov_job_free(w1);
        cgov_job_free(late);
        fx_assert_pool_idle(p);
        unlink(file);
}

Test(queue, waiters_of_sibling_pools_are_served_round_robin) {
        cgov_pool *shared = fx_pool("shared", 0, 1);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 0, 10, 0);
        cgov_pool *b = fx_pool_queue("shared/b", 0, 0, 10, 0);
        struct cgov_result res;
        char file[64], out[256], name[8];
        cgov_job *jobs[7];
        unsigned n = 0;
        fx_tmpfile(file, sizeof file);

        cgov_job *holder = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        /* Tenant a queues its whole backlog before b queues anything. */
        for (int i = 1; i <= 4; i++) {
                snprintf(name, sizeof name, "A%d", i);
                jobs[n++] = fx_submit(a, (struct cgov_job_spec) { .argv = RECORD(file, name) });
        }
        for (int i = 1; i <= 3; i++) {
                snprintf(name, sizeof name, "B%d", i);
                jobs[n++] = fx_submit(b, (struct cgov_job_spec) { .argv = RECORD(file, name) });
        }
        cr_assert_eq(fx_status(shared).jobs_queued, 7);
        fx_kill_await(holder);
        for (unsigned i = 0; i < n; i++) {
                fx_await(jobs[i], &res);
                cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "job %u: outcome %d", i, res.outcome);
                cgov_job_free(jobs[i]);
        }

        /* Start order, one name per line: "A1\nB1\nA2\n..." */
        slurp(file, out, sizeof out);
        char order[8][4] = {};
        unsigned lines = 0;
        for (char *save, *tok = strtok_r(out, "\n", &save); tok && lines < 8; tok = strtok_r(NULL, "\n", &save))
                snprintf(order[lines++], sizeof order[0], "%s", tok);
        char shown[64] = "";
        for (unsigned i = 0; i < lines; i++)
                strcat(strcat(shown, order[i]), " ");
        cr_assert_eq(lines, 7, "7 starts, got: %s", shown);
        /* While both tenants wait, starts alternate. */
        for (unsigned i = 1; i < 6; i++)
                cr_assert_neq(order[i][0], order[i - 1][0], "starts must alternate between the tenants: %s", shown);
        /* Each tenant's own jobs start first in, first out. */
        unsigned next_a = 1, next_b = 1;
        for (unsigned i = 0; i < lines; i++) {
                unsigned k = (unsigned) atoi(order[i] + 1);
                if (order[i][0] == 'A')
                        cr_assert_eq(k, next_a++, "tenant a out of order: %s", shown);
                else
                        cr_assert_eq(k, next_b++, "tenant b out of order: %s", shown);
        }
        fx_assert_pool_idle(shared);
        unlink(file);
}

Test(queue, a_queued_job_that_cannot_start_makes_await_return_the_errno) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 2, 0);
        struct cgov_result res;
        char dir[] = "/tmp/cgov-cwd.XXXXXX";
        cr_assert_not_null(mkdtemp(dir));

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true"), .cwd = dir });
        cgov_job *next = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "exit 4") });
        cr_assert_eq(rmdir(dir), 0);
        fx_kill_await(holder);
        int r = cgov_await(w, -1, &res);
        cr_assert_eq(r, -ENOENT, "its cwd vanished while it waited: %s", cgov_strerror(r));
        cgov_job_free(w);
        fx_await(next, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "the failed start did not keep the slot");
        cr_assert_eq(res.exit_status, 4);
        cgov_job_free(next);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

struct run_args {
        cgov_pool *pool;
        const char *cwd;
        struct cgov_result res;
        int r;
};

static void *run_thread(void *userdata) {
        struct run_args *a = userdata;
        a->r = cgov_run(a->pool, &(struct cgov_job_spec) { .argv = ARGV("true"), .cwd = a->cwd }, &a->res);
        return NULL;
}

Test(queue, cgov_run_of_a_queued_job_that_cannot_start_returns_the_errno) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 2, 0);
        char dir[] = "/tmp/cgov-cwd.XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        struct run_args args = { .pool = p, .cwd = dir };
        pthread_t t;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(pthread_create(&t, NULL, run_thread, &args), 0);
        for (int i = 0; i < 500 && fx_status(p).jobs_queued == 0; i++)
                usleep(10000);
        cr_assert_eq(fx_status(p).jobs_queued, 1, "cgov_run waits in the queue");
        cr_assert_eq(rmdir(dir), 0);
        fx_kill_await(holder);
        pthread_join(t, NULL);
        cr_assert_eq(args.r, -ENOENT, "cgov_run: %s", cgov_strerror(args.r));
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(queue, close_discards_queued_jobs) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 2, 0);
        struct cgov_result res;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "0.3") });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "30") });
        cgov_close(fx_gov);
        fx_gov = NULL;
        fx_assert_ret(cgov_await(w, -1, &res), -ESHUTDOWN);
        usleep(800000); /* the holder has ended: a waiter that still lived would start now */
        cr_assert_eq(cgov_job_pid(w), 0, "the discarded waiter never started");
        cr_assert_null(cgov_job_cgroup(w));
        /* cgroupfs keeps the holder's (now empty) leaf for the next open to
         * clean; the manager removes an exited unit's empty cgroup itself. */
        unsigned want = fx_backend_systemd() ? 0 : 1;
        cr_assert_eq(fx_count_leaves(fx_root), want, "%u leaves, not %u: only the holder's may remain",
                     fx_count_leaves(fx_root), want);
        cgov_job_free(w);
        cgov_job_free(holder);
}
