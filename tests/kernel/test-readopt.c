/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Re-adoption on a real kernel: after cgov_close, or the death of the
 * process that held the governor, the next cgov_open on the same root finds
 * the pools, their limits and their running jobs in the cgroup tree (with
 * the systemd backend: in the manager's slices and units). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(readopt, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const char *const sleeper[] = { "sleep", "60", NULL };

static void reopen(void) {
        if (fx_gov)
                cgov_close(fx_gov);
        fx_gov = NULL;
        struct cgov_options o = fx_options();
        int r = cgov_open(&fx_gov, &o);
        cr_assert_eq(r, 0, "cgov_open(%s) again: %s", o.cgroup_root, cgov_strerror(r));
}

static cgov_pool *find(const char *path) {
        cgov_pool *p = NULL;
        int r = cgov_pool_find(fx_gov, path, &p);
        cr_assert_eq(r, 0, "cgov_pool_find(%s) after re-open: %s", path, cgov_strerror(r));
        return p;
}

/* Polls until the pool runs no job; false after ms. */
static bool wait_idle(cgov_pool *p, unsigned ms) {
        uint64_t end = fx_now_ms() + ms;
        while (fx_status(p).jobs_running > 0) {
                if (fx_now_ms() > end)
                        return false;
                usleep(10000);
        }
        return true;
}

/* With the systemd backend a job that ended while no governor was open is
 * handed to the new one's supervisor, which reads its status from its unit
 * and then returns its reservation: moments after the open, not at it. */
static void wait_settled(cgov_pool *p) {
        for (int i = 0; fx_backend_systemd() && i < 500 && fx_status(p).memory_reserved > 0; i++)
                usleep(10000);
        fx_assert_pool_idle(p);
}

static void make_pools(void) {
        struct cgov_pool_limits shared = { .memory_max = 256 * MiB, .max_jobs = 4, .pids_max = 100 };
        struct cgov_pool_limits a = { .memory_max = 128 * MiB, .max_jobs = 2, .pids_max = 50,
                                      .job_memory_default = 16 * MiB, .max_queue = 1, .queue_timeout_ms = 300 };
        cgov_pool *p;
        fx_assert_ret(cgov_pool_create(fx_gov, "shared", &shared, &p), 0);
        fx_assert_ret(cgov_pool_create(fx_gov, "shared/a", &a, &p), 0);
        fx_assert_ret(cgov_pool_create(fx_gov, "shared/b", NULL, &p), 0);
}

Test(readopt, pools_come_back_with_all_their_limits) {
        struct cgov_result res;
        cgov_job *j = NULL;
        make_pools();
        reopen();

        cgov_pool *shared = find("shared"), *a = find("shared/a");
        find("shared/b");
        cr_assert_str_eq(cgov_pool_path(a), "shared/a");
        struct cgov_pool_status st = fx_status(shared);
        cr_assert_eq(st.memory_max, 256 * MiB, "shared memory_max %lu", (unsigned long) st.memory_max);
        cr_assert_eq(st.max_jobs, 4);
        cr_assert_eq(st.pids_max, 100);
        st = fx_status(a);
        cr_assert_eq(st.memory_max, 128 * MiB, "shared/a memory_max %lu", (unsigned long) st.memory_max);
        cr_assert_eq(st.max_jobs, 2);
        cr_assert_eq(st.pids_max, 50);

        /* job_memory_default, max_queue and queue_timeout_ms are in effect. */
        cgov_job *j1 = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        cgov_job *j2 = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(fx_status(a).memory_reserved, 32 * MiB, "two jobs of the 16 MiB default: %lu",
                     (unsigned long) fx_status(a).memory_reserved);
        cgov_job *w = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper });
        cr_assert_eq(cgov_job_pid(w), 0, "max_jobs 2: the third waits");
        fx_assert_ret(cgov_submit(a, &(struct cgov_job_spec) { .argv = sleeper }, &j), CGOV_E_OVERLOADED,
                     "max_queue 1: the fourth is turned away");
        uint64_t t0 = fx_now_ms();
        fx_await(w, &res);
        cr_assert_eq(res.rejection, CGOV_E_TIMEOUT, "queue_timeout_ms 300 still applies");
        cr_assert_lt(fx_now_ms() - t0, 10000);
        cgov_job_free(w);
        fx_kill_await(j1);
        fx_kill_await(j2);
        fx_assert_pool_idle(shared);
}

Test(readopt, running_jobs_are_readopted_with_their_reservations_and_names) {
        struct cgov_result res;
        make_pools();
        cgov_pool *a = find("shared/a");
        cgov_job *j1 = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .name = "build", .memory_max = 32 * MiB });
        cgov_job *j2 = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .name = "other", .memory_max = 8 * MiB });
        char leaf1[4096];
        snprintf(leaf1, sizeof leaf1, "%s", cgov_job_cgroup(j1));
        reopen();
        cgov_job_free(j1);
        cgov_job_free(j2);

        cgov_pool *shared = find("shared");
        a = find("shared/a");
        struct cgov_pool_status st = fx_status(a);
        cr_assert_eq(st.memory_reserved, 40 * MiB, "shared/a: %lu reserved", (unsigned long) st.memory_reserved);
        cr_assert_eq(st.jobs_running, 2, "shared/a: %u running", st.jobs_running);
        cr_assert_eq(st.slots_held, 2, "shared/a: %u slots", st.slots_held);
        st = fx_status(shared);
        cr_assert_eq(st.memory_reserved, 40 * MiB, "shared: %lu reserved", (unsigned long) st.memory_reserved);
        cr_assert_eq(st.jobs_running, 2);
        cr_assert_eq(st.slots_held, 2);
        fx_assert_ret(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true"), .queue_timeout_ms = -1 }, &res),
                     CGOV_E_NO_WORKERS, "the re-adopted jobs hold shared/a's 2 slots");

        int n = cgov_kill_by_name(a, "build");
        cr_assert_eq(n, 1, "the re-adopted job is found by its name: %d", n);
        cr_assert(fx_wait_gone(leaf1, 5000), "its leaf goes");
        for (int i = 0; i < 500 && fx_status(a).jobs_running != 1; i++)
                usleep(10000);
        st = fx_status(a);
        cr_assert_eq(st.jobs_running, 1, "%u running", st.jobs_running);
        cr_assert_eq(st.memory_reserved, 8 * MiB, "the killed job's reservation was returned: %lu",
                     (unsigned long) st.memory_reserved);
        fx_assert_ret(cgov_kill_by_name(a, "build"), 0);

        fx_assert_ret(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), 0, "new jobs run beside it");
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        fx_assert_ret(cgov_kill_by_name(a, "other"), 1);
        cr_assert(wait_idle(shared, 5000));
        fx_assert_pool_idle(shared);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(readopt, a_readopted_job_s_timeout_is_still_enforced) {
        make_pools();
        cgov_pool *a = find("shared/a");
        uint64_t t0 = fx_now_ms();
        cgov_job *j = fx_submit(a, (struct cgov_job_spec) { .argv = sleeper, .timeout_ms = 2500 });
        char leaf[4096];
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(j));
        reopen();
        cgov_job_free(j);
        a = find("shared/a");

        cr_assert_lt(fx_now_ms() - t0, 2500, "re-opened before the deadline (took %lu ms)", (unsigned long) (fx_now_ms() - t0));
        cr_assert_eq(fx_status(a).jobs_running, 1, "it still runs after re-open");
        cr_assert(fx_wait_gone(leaf, 2500 + 5000), "the job is killed by its deadline (%lu ms since submit)",
                  (unsigned long) (fx_now_ms() - t0));
        cr_assert_geq(fx_now_ms() - t0, 2400, "not before its deadline: %lu ms", (unsigned long) (fx_now_ms() - t0));
        cr_assert(wait_idle(a, 2000));
        fx_assert_pool_idle(find("shared"));
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(readopt, a_job_that_ended_while_no_governor_was_open_is_cleaned_up_at_open) {
        make_pools();
        cgov_pool *a = find("shared/a");
        cgov_job *j = fx_submit(a, (struct cgov_job_spec) { .argv = ARGV("sleep", "0.3"), .memory_max = 32 * MiB });
        cgov_close(fx_gov);
        fx_gov = NULL;
        cgov_job_free(j);
        usleep(1500000);
        if (fx_backend_systemd()) {
                /* The manager removes an exited unit's empty cgroup; the unit
                 * itself, with the job's status, waits. */
                cr_assert_eq(fx_count_leaves(fx_root), 0, "the manager removed the ended job's cgroup");
                cr_assert_eq(fx_job_units(), 1, "the ended job's unit waits for the next governor");
        } else
                cr_assert_eq(fx_count_leaves(fx_root), 1, "the ended job's leaf waits for the next governor");

        reopen();
        cr_assert_eq(fx_count_leaves(fx_root), 0, "the leaf is removed at open");
        wait_settled(find("shared/a"));
        fx_assert_pool_idle(find("shared"));
        if (fx_backend_systemd()) {
                for (int i = 0; i < 500 && fx_job_units() > 0; i++)
                        usleep(10000);
                cr_assert_eq(fx_job_units(), 0, "the next governor settles the ended job's unit");
        }
}

Test(readopt, a_leaf_emptied_from_outside_is_removed_at_open) {
        make_pools();
        cgov_pool *a = find("shared/a");
        cgov_job *j = fx_submit(a, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 60 & wait"), .name = "x" });
        char leaf[4096], buf[256];
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(j));
        cgov_close(fx_gov);
        fx_gov = NULL;
        cgov_job_free(j);

        char kill_file[4200];
        snprintf(kill_file, sizeof kill_file, "%s/cgroup.kill", leaf);
        FILE *f = fopen(kill_file, "we");
        cr_assert_not_null(f);
        fputs("1", f);
        fclose(f);
        /* systemd's manager removes the emptied cgroup itself (the unit
         * stays, exited); with cgroupfs the empty leaf stays. */
        char events[4200];
        snprintf(events, sizeof events, "%s/cgroup.events", leaf);
        bool empty = false;
        for (int i = 0; i < 500 && !empty; i++) {
                FILE *ev = fopen(events, "re");
                size_t n = ev ? fread(buf, 1, sizeof buf - 1, ev) : 0;
                buf[n] = '\0';
                empty = !ev || strstr(buf, "populated 0");
                if (ev)
                        fclose(ev);
                if (!empty)
                        usleep(10000);
        }
        cr_assert(empty, "the leaf is empty: %s", buf);

        reopen();
        cr_assert_not(fx_exists(leaf), "the empty leftover leaf is removed at open");
        wait_settled(find("shared"));
        if (fx_backend_systemd()) {
                for (int i = 0; i < 500 && fx_job_units() > 0; i++)
                        usleep(10000);
                cr_assert_eq(fx_job_units(), 0, "its unit is settled too");
        }
}

Test(readopt, a_job_outlives_the_crash_of_its_governor_s_process_and_is_readopted) {
        int pipefd[2];
        char leaf[4096] = "";
        cgov_close(fx_gov);
        fx_gov = NULL;
        cr_assert_eq(pipe(pipefd), 0);

        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
                cgov *g;
                cgov_pool *p;
                cgov_job *j;
                close(pipefd[0]);
                struct cgov_options o = fx_options();
                if (cgov_open(&g, &o) < 0 ||
                    cgov_pool_create(g, "p", &(struct cgov_pool_limits) { .max_jobs = 3 }, &p) < 0 ||
                    cgov_submit(p, &(struct cgov_job_spec) { .argv = sleeper, .name = "crash", .memory_max = 24 * MiB },
                                &j) < 0)
                        _exit(1);
                const char *cg = cgov_job_cgroup(j);
                if (write(pipefd[1], cg, strlen(cg)) < 0)
                        _exit(1);
                close(pipefd[1]);
                for (;;)
                        pause();
        }
        close(pipefd[1]);
        ssize_t n = read(pipefd[0], leaf, sizeof leaf - 1);
        close(pipefd[0]);
        cr_assert_gt(n, 0, "the child submitted its job");
        leaf[n] = '\0';
        cr_assert_eq(kill(child, SIGKILL), 0);
        cr_assert_eq(waitpid(child, NULL, 0), child);
        cr_assert(fx_exists(leaf), "the job outlived its governor's process");

        reopen();
        cgov_pool *p = find("p");
        struct cgov_pool_status st = fx_status(p);
        cr_assert_eq(st.max_jobs, 3);
        cr_assert_eq(st.jobs_running, 1, "%u running", st.jobs_running);
        cr_assert_eq(st.memory_reserved, 24 * MiB, "%lu reserved", (unsigned long) st.memory_reserved);
        fx_assert_ret(cgov_kill_by_name(p, "crash"), 1);
        cr_assert(fx_wait_gone(leaf, 5000));
        cr_assert(wait_idle(p, 5000));
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(readopt, a_job_readopted_by_the_process_that_started_it_is_reaped_not_left_a_zombie) {
        make_pools();
        cgov_job *j = fx_submit(find("shared/a"), (struct cgov_job_spec) { .argv = ARGV("sleep", "1") });
        pid_t pid = cgov_job_pid(j);
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/%d", (int) pid);
        cgov_job_free(j);
        reopen();

        /* The job is still this process's child: once it ends, the new
         * governor reaps it, so nothing of it is left in /proc. */
        cr_assert(wait_idle(find("shared/a"), 10000), "the re-adopted job ends");
        fx_assert_pool_idle(find("shared"));
        cr_assert_not(fx_exists(proc), "pid %d is reaped, not a zombie", (int) pid);
}

/* The id in a job's leaf name ("name@id"; systemd: "<prefix>-job-<id>.service"). */
static uint64_t leaf_id(cgov_job *j) {
        const char *cg = cgov_job_cgroup(j), *at = NULL;
        if (cg)
                at = fx_backend_systemd() ? strstr(strrchr(cg, '/') ?: cg, "-job-") : strrchr(cg, '@');
        cr_assert_not_null(at, "leaf %s", cg ?: "(none)");
        return strtoull(at + (fx_backend_systemd() ? strlen("-job-") : 1), NULL, 10);
}

static uint64_t run_one(void) {
        struct cgov_result res;
        cgov_job *j = fx_submit(find("shared/a"), (struct cgov_job_spec) { .argv = ARGV("true") });
        cr_assert(fx_wait_started(j, 10000));
        uint64_t id = leaf_id(j);
        fx_await(j, &res);
        cgov_job_free(j);
        return id;
}

Test(readopt, job_ids_never_repeat_on_a_root_even_when_no_leaf_is_left) {
        make_pools();
        uint64_t first = run_one();
        /* Nothing of the job is left in the tree when the governor closes. */
        cr_assert(wait_idle(find("shared/a"), 10000));
        reopen();
        uint64_t second = run_one();
        cr_assert_gt(second, first, "job id %" PRIu64 " after %" PRIu64 ": ids repeat across a re-open", second, first);
        reopen();
        cr_assert_gt(run_one(), second);
}
