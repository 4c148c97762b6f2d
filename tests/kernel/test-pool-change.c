/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Changing and releasing pools on a real kernel while jobs run and wait. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(pool_change, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const char *const sleeper[] = { "sleep", "30", NULL };

Test(pool_change, raising_max_jobs_starts_a_waiter_at_once) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 4, 0);

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(w), 0);
        int r = cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .max_jobs = 2, .max_queue = 4 });
        cr_assert_eq(r, 0, "cgov_pool_set_limits: %s", cgov_strerror(r));
        cr_assert(fx_wait_started(w, 5000), "the second slot went to the waiter");
        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.max_jobs, 2);
        cr_assert_eq(st.jobs_running, 2);
        cr_assert_eq(st.jobs_queued, 0);
        fx_kill_await(holder);
        fx_kill_await(w);
        fx_assert_pool_idle(p);
}

Test(pool_change, lowering_max_jobs_below_the_running_jobs_admits_nothing_until_they_fit) {
        cgov_pool *p = fx_pool("p", 0, 3);
        struct cgov_result res;

        cgov_job *j1 = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *j2 = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .max_jobs = 1 }), 0);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), CGOV_E_NO_WORKERS);
        cr_assert_eq(res.available, 0, "available %lu", (unsigned long) res.available);
        cr_assert_eq(res.limit, 1);
        fx_kill_await(j1);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), CGOV_E_NO_WORKERS,
                     "j2 still holds the single slot");
        fx_kill_await(j2);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), 0);
        fx_assert_pool_idle(p);
}

Test(pool_change, lowering_memory_max_below_running_jobs_refuses_and_defers_the_kernel_limit) {
        cgov_pool *p = fx_pool("p", 128 * MiB, 0);
        const char *cg = cgov_pool_cgroup(p);
        struct cgov_result res;

        cgov_job *j = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .memory_max = 64 * MiB });
        int r = cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .memory_max = 32 * MiB });
        cr_assert_eq(r, 0, "cgov_pool_set_limits: %s", cgov_strerror(r));
        cr_assert_eq(fx_status(p).memory_max, 32 * MiB);
        cr_assert_eq(fx_read_u64(cg, "memory.max"), 128 * MiB,
                     "memory.max keeps the old value while the running job holds 64 MiB: %lu",
                     (unsigned long) fx_read_u64(cg, "memory.max"));

        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 8 * MiB }, &res),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_str_eq(res.rejected_by, "p");
        cr_assert_eq(res.requested, 8 * MiB);
        cr_assert_eq(res.available, 0, "64 MiB held of 32: available %lu", (unsigned long) res.available);
        cr_assert_eq(res.limit, 32 * MiB);
        cr_assert(cgov_await(j, 0, &res) == CGOV_E_TIMEOUT, "the running job is not touched");

        fx_kill_await(j);
        uint64_t m = 0;
        for (int i = 0; i < 100 && (m = fx_read_u64(cg, "memory.max")) != 32 * MiB; i++)
                usleep(10000);
        cr_assert_eq(m, 32 * MiB, "memory.max follows once the jobs fit: %lu", (unsigned long) m);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 8 * MiB }, &res), 0);
        fx_assert_pool_idle(p);
}

Test(pool_change, memory_max_reaches_the_kernel_at_once_when_the_jobs_fit) {
        cgov_pool *p = fx_pool("p", 128 * MiB, 0);
        cgov_job *j = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .memory_max = 16 * MiB });

        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .memory_max = 64 * MiB }), 0);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "memory.max"), 64 * MiB);
        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .memory_max = 0 }), 0);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "memory.max"), UINT64_MAX, "0 is no limit: \"max\"");
        fx_kill_await(j);
}

Test(pool_change, pids_max_is_written_at_once) {
        cgov_pool *p = fx_pool("p", 0, 0);
        cgov_job *j = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });

        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .pids_max = 50 }), 0);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "pids.max"), 50);
        cr_assert_eq(fx_status(p).pids_max, 50);
        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .pids_max = 0 }), 0);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "pids.max"), UINT64_MAX);
        fx_kill_await(j);
}

Test(pool_change, bad_limits_are_refused_and_change_nothing) {
        struct cgov_pool_limits lim = { .memory_max = 100 * MiB, .max_jobs = 3, .pids_max = 40, .max_queue = 1 };
        cgov_pool *p;
        fx_assert_ret(cgov_pool_create(fx_gov, "p", &lim, &p), 0);

        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .memory_max = UINT64_MAX }), -ERANGE);
        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .pids_max = UINT32_MAX }), -ERANGE);
        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .job_memory_default = UINT64_MAX }), -ERANGE);
        fx_assert_ret(cgov_pool_set_limits(p, &(struct cgov_pool_limits) { .memory_max = MiB, .job_memory_default = 2 * MiB }),
                     -EINVAL, "a default no job could get");
        fx_assert_ret(cgov_pool_set_limits(NULL, &lim), -EINVAL);

        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.memory_max, 100 * MiB);
        cr_assert_eq(st.max_jobs, 3);
        cr_assert_eq(st.pids_max, 40);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "memory.max"), 100 * MiB);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "pids.max"), 40);
}

Test(pool_change, release_stops_new_work_lets_running_jobs_end_and_rejects_waiters) {
        cgov_pool *shared = fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 1, 4, 0);
        cgov_pool *ax = fx_pool("shared/a/x", 0, 0);
        cgov_pool *b = fx_pool("shared/b", 0, 0);
        struct cgov_result res;
        cgov_pool *found = NULL;
        cgov_job *j = NULL;
        char a_dir[4096];
        snprintf(a_dir, sizeof a_dir, "%s", cgov_pool_cgroup(a));

        cgov_job *running = fx_submit(a, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 1.5; exit 6") });
        cgov_job *queued = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(queued), 0);

        int r = cgov_pool_release(a);
        cr_assert_eq(r, 0, "cgov_pool_release: %s", cgov_strerror(r));
        fx_await(queued, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED, "the waiter ends rejected: outcome %d", res.outcome);
        cr_assert_eq(res.rejection, CGOV_E_POOL_GONE, "rejection %s", cgov_strerror(res.rejection));
        cr_assert_eq(cgov_job_pid(queued), 0);
        cgov_job_free(queued);

        fx_assert_ret(cgov_submit(a, &(struct cgov_job_spec) { .argv = ARGV("true") }, &j), CGOV_E_POOL_GONE);
        cr_assert_null(j);
        fx_assert_ret(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), CGOV_E_POOL_GONE);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_assert_str_eq(res.rejected_by, "shared/a");
        fx_assert_ret(cgov_run(ax, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), CGOV_E_POOL_GONE,
                     "its sub-pools are gone too");
        cr_assert_eq(strncmp(res.rejected_by, "shared/a", 8), 0, "rejected by %s", res.rejected_by);
        fx_assert_ret(cgov_acquire(a, 1), 0, "no slots from a released pool");
        fx_assert_ret(cgov_acquire(ax, 1), 0);
        fx_assert_ret(cgov_pool_find(fx_gov, "shared/a", &found), -ENOENT);
        fx_assert_ret(cgov_pool_find(fx_gov, "shared/a/x", &found), -ENOENT);
        cr_assert_null(found);
        fx_assert_ret(cgov_pool_create(fx_gov, "shared/a", NULL, &found), -EBUSY, "its cgroup still holds a job");
        cr_assert_null(found);
        fx_assert_ret(cgov_pool_release(a), 0, "a second release is fine");

        struct cgov_pool_status st;
        fx_assert_ret(cgov_pool_status(a, &st), 0, "the old handle still answers");
        cr_assert_eq(st.jobs_running, 1);
        cr_assert_eq(st.jobs_queued, 0);
        fx_assert_ret(cgov_run(b, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), 0, "the sibling works on");

        fx_await(running, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "the running job went on to its own end");
        cr_assert_eq(res.exit_status, 6);
        cgov_job_free(running);
        cr_assert(fx_wait_gone(a_dir, 5000), "the released pool's cgroup goes once empty");
        fx_assert_pool_idle(shared);

        r = cgov_pool_create(fx_gov, "shared/a", &(struct cgov_pool_limits) { .max_jobs = 2 }, &found);
        cr_assert_eq(r, 0, "the path is free again: %s", cgov_strerror(r));
        fx_assert_ret(cgov_run(found, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
}

Test(pool_change, a_released_empty_pool_can_be_created_again_at_once) {
        cgov_pool *p = fx_pool("p", 0, 0), *again = NULL;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", cgov_pool_cgroup(p));

        fx_assert_ret(cgov_pool_release(p), 0);
        cr_assert(fx_wait_gone(dir, 5000), "an empty released pool's cgroup goes");
        fx_assert_ret(cgov_pool_create(fx_gov, "p", NULL, &again), 0);
        cr_assert(fx_exists(dir));
}
