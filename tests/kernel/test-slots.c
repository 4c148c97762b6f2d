/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job slots without a process: partial grants, counted on the whole chain
 * and against jobs. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(slots, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const char *const sleeper[] = { "sleep", "30", NULL };

Test(slots, acquire_grants_what_is_free_and_never_blocks) {
        cgov_pool *p = fx_pool("p", 0, 5);

        int r = cgov_acquire(p, 3);
        cr_assert_eq(r, 3, "acquire 3 of 5: %d", r);
        r = cgov_acquire(p, 4);
        cr_assert_eq(r, 2, "acquire 4 with 2 free: %d", r);
        uint64_t t0 = fx_now_ms();
        r = cgov_acquire(p, 1);
        cr_assert_eq(r, 0, "acquire 1 with none free: %d", r);
        cr_assert_lt(fx_now_ms() - t0, 1000, "acquire never blocks");
        cr_assert_eq(fx_status(p).slots_held, 5);
        fx_assert_ret(cgov_release(p, 5), 0);
        fx_assert_pool_idle(p);
}

Test(slots, acquire_of_zero_is_zero) {
        cgov_pool *p = fx_pool("p", 0, 5);
        fx_assert_ret(cgov_acquire(p, 0), 0);
        fx_assert_ret(cgov_release(p, 0), 0);
        fx_assert_ret(cgov_acquire(NULL, 1), -EINVAL);
        fx_assert_ret(cgov_release(NULL, 1), -EINVAL);
        fx_assert_pool_idle(p);
}

Test(slots, a_pool_without_a_job_limit_grants_what_its_chain_allows) {
        cgov_pool *shared = fx_pool("shared", 0, 4);
        cgov_pool *a = fx_pool("shared/a", 0, 10);
        cgov_pool *free_pool = fx_pool("free", 0, 0);

        int r = cgov_acquire(a, 6);
        cr_assert_eq(r, 4, "shared allows 4: %d", r);
        cr_assert_eq(fx_status(shared).slots_held, 4);
        cr_assert_eq(fx_status(a).slots_held, 4);
        r = cgov_acquire(free_pool, 100);
        cr_assert_eq(r, 100, "no limit anywhere on the chain: %d", r);
        fx_assert_ret(cgov_release(a, 4), 0);
        fx_assert_ret(cgov_release(free_pool, 100), 0);
        fx_assert_pool_idle(shared);
        fx_assert_pool_idle(free_pool);
}

Test(slots, slots_count_against_jobs_in_the_pool_and_its_parents) {
        cgov_pool *p = fx_pool("p", 0, 2);
        fx_pool("shared", 0, 2);
        cgov_pool *a = fx_pool("shared/a", 0, 0);
        struct cgov_result res;

        fx_assert_ret(cgov_acquire(p, 2), 2);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), CGOV_E_NO_WORKERS);
        cr_assert_str_eq(res.rejected_by, "p");
        cr_assert_eq(res.available, 0);
        cr_assert_eq(res.limit, 2);

        fx_assert_ret(cgov_acquire(a, 2), 2);
        fx_assert_ret(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), CGOV_E_NO_WORKERS);
        cr_assert_str_eq(res.rejected_by, "shared", "the parent's limit counts the slots too");

        fx_assert_ret(cgov_release(p, 1), 0);
        fx_assert_ret(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), 0, "one slot is free again");
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        fx_assert_ret(cgov_release(p, 1), 0);
        fx_assert_ret(cgov_release(a, 2), 0);
        fx_assert_pool_idle(p);
        fx_assert_pool_idle(a);
}

Test(slots, jobs_count_against_slots) {
        cgov_pool *p = fx_pool("p", 0, 3);
        cgov_job *j = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });

        int r = cgov_acquire(p, 5);
        cr_assert_eq(r, 2, "one of 3 slots runs a job: %d", r);
        fx_kill_await(j);
        r = cgov_acquire(p, 5);
        cr_assert_eq(r, 1, "the job's slot is free again: %d", r);
        fx_assert_ret(cgov_release(p, 3), 0);
        fx_assert_pool_idle(p);
}

Test(slots, status_shows_acquired_slots_plus_running_jobs) {
        cgov_pool *shared = fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool("shared/a", 0, 5);

        cgov_job *j = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        fx_assert_ret(cgov_acquire(a, 2), 2);
        struct cgov_pool_status st = fx_status(a);
        cr_assert_eq(st.slots_held, 3, "2 acquired + 1 job: %u", st.slots_held);
        cr_assert_eq(st.jobs_running, 1, "slots are not jobs: %u running", st.jobs_running);
        cr_assert_eq(st.memory_reserved, 64 * MiB, "slots reserve no memory");
        st = fx_status(shared);
        cr_assert_eq(st.slots_held, 3, "shared: %u", st.slots_held);
        cr_assert_eq(st.jobs_running, 1);
        fx_assert_ret(cgov_release(a, 2), 0);
        cr_assert_eq(fx_status(a).slots_held, 1);
        fx_kill_await(j);
        fx_assert_pool_idle(shared);
}

Test(slots, releasing_more_than_held_is_refused_and_changes_nothing) {
        cgov_pool *shared = fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool("shared/a", 0, 5);
        cgov_job *j = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });

        fx_assert_ret(cgov_release(a, 1), -EINVAL, "nothing acquired yet; a job's slot is not the caller's");
        fx_assert_ret(cgov_acquire(a, 2), 2);
        fx_assert_ret(cgov_release(a, 3), -EINVAL);
        cr_assert_eq(fx_status(a).slots_held, 3, "still 2 acquired + 1 job");
        fx_assert_ret(cgov_release(shared, 1), -EINVAL, "the slots were taken in shared/a, not in shared");
        cr_assert_eq(fx_status(shared).slots_held, 3);
        fx_assert_ret(cgov_release(a, 2), 0);
        fx_assert_ret(cgov_release(a, 1), -EINVAL, "all returned");
        cr_assert_eq(fx_status(a).slots_held, 1);
        fx_kill_await(j);
        fx_assert_pool_idle(shared);
}

Test(slots, release_starts_a_waiting_job) {
        cgov_pool *p = fx_pool_queue("p", 0, 2, 4, 0);

        fx_assert_ret(cgov_acquire(p, 2), 2);
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(w), 0, "the slots are held: the job waits");
        cr_assert_eq(fx_status(p).jobs_queued, 1);
        fx_assert_ret(cgov_release(p, 1), 0);
        cr_assert(fx_wait_started(w, 5000), "the released slot went to the waiter");
        fx_assert_ret(cgov_acquire(p, 1), 0, "and is no longer free");
        fx_kill_await(w);
        fx_assert_ret(cgov_release(p, 1), 0);
        fx_assert_pool_idle(p);
}

Test(slots, waiting_jobs_are_not_overtaken_by_acquire) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 4, 0);

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        fx_kill_await(holder);
        cr_assert(fx_wait_started(w, 5000));
        fx_assert_ret(cgov_acquire(p, 1), 0, "the waiter took the freed slot");
        fx_kill_await(w);
        fx_assert_pool_idle(p);
}

struct grabber {
        cgov_pool *pool;
        int got;
};

static void *grab(void *userdata) {
        struct grabber *g = userdata;
        for (int i = 0; i < 50; i++) {
                int r = cgov_acquire(g->pool, 1);
                if (r < 0) {
                        g->got = r;
                        return NULL;
                }
                g->got += r;
        }
        return NULL;
}

Test(slots, concurrent_acquires_never_grant_more_than_the_limit) {
        cgov_pool *p = fx_pool("p", 0, 10);
        struct grabber g[8] = {};
        pthread_t t[8];
        int total = 0;

        for (int i = 0; i < 8; i++) {
                g[i].pool = p;
                cr_assert_eq(pthread_create(&t[i], NULL, grab, &g[i]), 0);
        }
        for (int i = 0; i < 8; i++) {
                pthread_join(t[i], NULL);
                cr_assert_geq(g[i].got, 0, "acquire failed: %s", cgov_strerror(g[i].got));
                total += g[i].got;
        }
        cr_assert_eq(total, 10, "8 threads x 50 tries got %d of 10 slots", total);
        cr_assert_eq(fx_status(p).slots_held, 10);
        fx_assert_ret(cgov_release(p, 10), 0);
        fx_assert_pool_idle(p);
}

Test(slots, thousands_of_refusals_against_five_held_slots_leave_nothing) {
        cgov_pool *p = fx_pool_queue("p", 0, 5, 4, 0);
        struct cgov_result res;

        fx_assert_ret(cgov_acquire(p, 5), 5);
        for (int i = 0; i < 2000; i++) {
                int r = cgov_acquire(p, 1);
                cr_assert_eq(r, 0, "acquire %d granted %d", i, r);
                r = cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = -1 }, &res);
                cr_assert_eq(r, CGOV_E_NO_WORKERS, "refusal %d: %s", i, cgov_strerror(r));
                cr_assert_eq(res.rejection, CGOV_E_NO_WORKERS);
        }
        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.slots_held, 5, "%u slots held", st.slots_held);
        cr_assert_eq(st.jobs_queued, 0);
        cr_assert_eq(st.jobs_rejected, 2000, "%lu rejected", (unsigned long) st.jobs_rejected);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
        fx_assert_ret(cgov_release(p, 5), 0);
        fx_assert_pool_idle(p);
}
