/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Killing on a real kernel: one job, running or queued; every job of a name;
 * every job of a pool. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(kill, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const char *const sleeper[] = { "sleep", "30", NULL };

static void await_killed(cgov_job *j, const char *what) {
        struct cgov_result res;
        fx_await(j, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_KILLED, "%s: outcome %d, not KILLED (%d)", what, res.outcome,
                     CGOV_OUTCOME_KILLED);
}

static bool alive(cgov_job *j) {
        return cgov_await(j, 0, &(struct cgov_result) {}) == CGOV_E_TIMEOUT;
}

Test(kill, a_queued_job_ends_killed_without_ever_starting) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        cgov_job *j = NULL;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        fx_assert_ret(cgov_submit(p, &(struct cgov_job_spec) { .argv = sleeper }, &j), CGOV_E_OVERLOADED,
                     "max_queue 1 is full");
        fx_assert_ret(cgov_kill(w), 0);
        await_killed(w, "queued job");
        cr_assert_eq(cgov_job_pid(w), 0, "it never started");
        cr_assert_null(cgov_job_cgroup(w));
        cr_assert_eq(fx_count_leaves(fx_root), 1, "no leaf was ever made for it");
        fx_assert_ret(cgov_kill(w), -ESRCH);
        cgov_job_free(w);

        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.jobs_queued, 0, "%u queued", st.jobs_queued);
        cr_assert_eq(st.slots_held, 1);

        /* Its queue place is free for the next waiter, which runs once the
         * holder ends. */
        cgov_job *next = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "exit 2") });
        fx_kill_await(holder);
        struct cgov_result res;
        fx_await(next, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 2);
        cgov_job_free(next);
        fx_assert_pool_idle(p);
}

struct run_args {
        cgov_pool *pool;
        struct cgov_result res;
        int r;
};

static void *run_waiter(void *userdata) {
        struct run_args *a = userdata;
        a->r = cgov_run(a->pool, &(struct cgov_job_spec) { .argv = sleeper, .name = "waiter" }, &a->res);
        return NULL;
}

Test(kill, cgov_run_of_a_job_killed_while_it_waited_returns_0) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        struct run_args args = { .pool = p };
        pthread_t t;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .name = "holder" });
        cr_assert_eq(pthread_create(&t, NULL, run_waiter, &args), 0);
        for (int i = 0; i < 500 && fx_status(p).jobs_queued == 0; i++)
                usleep(10000);
        cr_assert_eq(fx_status(p).jobs_queued, 1, "cgov_run waits in the queue");
        fx_assert_ret(cgov_kill_by_name(p, "waiter"), 1);
        pthread_join(t, NULL);
        cr_assert_eq(args.r, 0, "killed, not refused: %s", cgov_strerror(args.r));
        cr_assert_eq(args.res.outcome, CGOV_OUTCOME_KILLED, "outcome %d", args.res.outcome);
        cr_assert(alive(holder), "the holder was not named");
        cr_assert_eq(fx_count_leaves(fx_root), 1);
        fx_kill_await(holder);
        fx_assert_pool_idle(p);
}

Test(kill, a_running_job_ends_killed_with_its_whole_tree) {
        cgov_pool *p = fx_pool("p", 0, 0);
        char leaf[4096];

        cgov_job *j = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 100 & (sleep 100 & wait) & wait") });
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(j));
        for (int i = 0; i < 500 && fx_read_u64(leaf, "pids.current") < 4; i++)
                usleep(10000);
        cr_assert_geq(fx_read_u64(leaf, "pids.current"), 4, "the grandchildren run");
        fx_assert_ret(cgov_kill(j), 0);
        await_killed(j, "running job");
        cr_assert_not(fx_exists(leaf), "the leaf is gone: nothing of the tree is left");
        fx_assert_ret(cgov_kill(j), -ESRCH, "after the end");
        cgov_job_free(j);
        fx_assert_pool_idle(p);
}

Test(kill, a_killed_holder_frees_its_slot_for_the_next_waiter) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 4, 0);

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(w), 0);
        fx_kill_await(holder);
        cr_assert(fx_wait_started(w, 5000), "the waiter took the killed holder's slot");
        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.jobs_running, 1);
        cr_assert_eq(st.slots_held, 1);
        cr_assert_eq(st.jobs_queued, 0);
        fx_kill_await(w);
        fx_assert_pool_idle(p);
}

Test(kill, kill_by_name_takes_running_and_queued_jobs_of_the_subtree_only) {
        cgov_pool *shared = fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 3, 4, 0);
        cgov_pool *ax = fx_pool("shared/a/x", 0, 0);
        cgov_pool *b = fx_pool("shared/b", 0, 0);

        cgov_job *a_build = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .name = "build" });
        cgov_job *a_other = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .name = "other" });
        cgov_job *ax_build = fx_submit(ax, (struct cgov_job_spec) { .argv = sleeper, .name = "build" });
        cgov_job *a_queued = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .name = "build" });
        cgov_job *b_build = fx_submit(b, (struct cgov_job_spec) { .argv = sleeper, .name = "build" });
        cr_assert_eq(cgov_job_pid(a_queued), 0, "shared/a's 3 slots are taken");

        int n = cgov_kill_by_name(a, "build");
        cr_assert_eq(n, 3, "running in a, running in a/x, queued in a: %d", n);
        await_killed(a_build, "a's build");
        await_killed(ax_build, "a/x's build");
        await_killed(a_queued, "a's queued build");
        cr_assert_eq(cgov_job_pid(a_queued), 0, "the queued one never started");
        cr_assert(alive(a_other), "another name in the same pool lives on");
        cr_assert(alive(b_build), "the same name in a sibling pool lives on");
        fx_assert_ret(cgov_kill_by_name(a, "build"), 0, "a second call finds none");

        fx_assert_pool_idle(ax);
        struct cgov_pool_status st = fx_status(a);
        cr_assert_eq(st.jobs_running, 1, "%u running", st.jobs_running);
        cr_assert_eq(st.jobs_queued, 0);

        cgov_job_free(a_build);
        cgov_job_free(ax_build);
        cgov_job_free(a_queued);
        fx_kill_await(a_other);
        fx_kill_await(b_build);
        fx_assert_pool_idle(shared);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(kill, kill_by_name_skips_jobs_already_being_killed) {
        cgov_pool *p = fx_pool("p", 0, 0);

        cgov_job *j1 = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .name = "w" });
        cgov_job *j2 = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .name = "w" });
        fx_assert_ret(cgov_kill(j1), 0);
        int n = cgov_kill_by_name(p, "w");
        cr_assert_eq(n, 1, "j1 is already being killed: %d", n);
        await_killed(j1, "j1");
        await_killed(j2, "j2");
        cgov_job_free(j1);
        cgov_job_free(j2);
        fx_assert_pool_idle(p);
}

Test(kill, kill_by_name_refuses_bad_arguments) {
        cgov_pool *p = fx_pool("p", 0, 0);
        cgov_job *j = fx_submit(p, (struct cgov_job_spec) { .argv = sleeper, .name = "w" });

        fx_assert_ret(cgov_kill_by_name(p, NULL), -EINVAL);
        fx_assert_ret(cgov_kill_by_name(p, ""), -EINVAL);
        fx_assert_ret(cgov_kill_by_name(p, "../w"), -EINVAL);
        fx_assert_ret(cgov_kill_by_name(p, "a@1"), -EINVAL);
        fx_assert_ret(cgov_kill_by_name(NULL, "w"), -EINVAL);
        fx_assert_ret(cgov_kill_by_name(p, "nobody"), 0);
        cr_assert(alive(j), "nothing was killed");
        fx_assert_ret(cgov_flush(NULL), -EINVAL);
        fx_kill_await(j);
}

Test(kill, flush_kills_every_job_of_the_pool_and_its_sub_pools_only) {
        cgov_pool *shared = fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool_queue("shared/a", 0, 2, 4, 0);
        cgov_pool *ax = fx_pool_queue("shared/a/x", 0, 0, 4, 0);
        cgov_pool *b = fx_pool("shared/b", 0, 0);
        cgov_job *jobs[5];

        jobs[0] = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        jobs[1] = fx_submit(ax, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 100 & wait") });
        jobs[2] = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });                 /* queued in a */
        jobs[3] = fx_submit(ax, (struct cgov_job_spec) { .argv = sleeper, .name = "n" });   /* queued in a/x */
        cgov_job *sib = fx_submit(b, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(jobs[2]), 0);
        cr_assert_eq(cgov_job_pid(jobs[3]), 0);
        cr_assert_eq(fx_status(a).jobs_queued, 2);

        int n = cgov_flush(a);
        cr_assert_eq(n, 4, "2 running and 2 queued in a and a/x: %d", n);
        for (int i = 0; i < 4; i++)
                await_killed(jobs[i], "flushed job");
        cr_assert_eq(cgov_job_pid(jobs[2]), 0);
        cr_assert_eq(cgov_job_pid(jobs[3]), 0);
        fx_assert_pool_idle(a);
        fx_assert_pool_idle(ax);
        cr_assert_eq(fx_count_leaves(cgov_pool_cgroup(a)), 0, "no leaf is left in a");
        cr_assert(alive(sib), "the sibling's job lives on");
        fx_assert_ret(cgov_flush(a), 0, "nothing left to flush");

        for (int i = 0; i < 4; i++)
                cgov_job_free(jobs[i]);
        fx_assert_ret(cgov_flush(shared), 1, "the sibling's job, from the parent");
        await_killed(sib, "sibling");
        cgov_job_free(sib);
        fx_assert_pool_idle(shared);
        fx_assert_pool_idle(b);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}
