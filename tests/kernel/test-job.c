/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Jobs on a real kernel: placement, limits, outcomes, cleanup. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "governor.h"

TestSuite(job, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static cgov_job *submit(cgov_pool *p, struct cgov_job_spec spec) {
        cgov_job *j = NULL;
        int r = cgov_submit(p, &spec, &j);
        cr_assert_eq(r, 0, "cgov_submit: %s", cgov_strerror(r));
        return j;
}

static void await_ok(cgov_job *j, struct cgov_result *res) {
        int r = cgov_await(j, -1, res);
        cr_assert_eq(r, 0, "cgov_await: %s", cgov_strerror(r));
}

Test(job, runs_inside_a_fresh_leaf_of_its_pool) {
        fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool("shared/a", 0, 0);
        struct cgov_result res;
        char out[512];

        int r = fx_run_capture(a, &(struct cgov_job_spec) { .argv = ARGV("cat", "/proc/self/cgroup"), .name = "probe" },
                               &res, out, sizeof out);
        cr_assert_eq(r, 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 0);
        /* cgroupfs: "0::/<root>/shared/a/probe@<id>"; systemd: the job's own
         * unit in its pool's slice, "...-shared-a.slice/<prefix>-job-<id>.service" */
        if (fx_backend_systemd())
                cr_assert_not_null(strstr(out, "-shared-a.slice/") && strstr(out, "-job-"), "job ran in %s", out);
        else
                cr_assert_not_null(strstr(out, "/shared/a/probe@"), "job ran in %s", out);
        cr_assert_eq(fx_count_leaves(fx_root), 0, "the leaf is removed once the job ends");
}

Test(job, leaf_limits_are_written_before_the_job_starts) {
        cgov_pool *p = fx_pool("shared", 256 * MiB, 0);
        struct cgov_result res;
        char out[256];

        /* The job reads its own leaf's files: what it sees is what was in
         * place when its first instruction ran. */
        int r = fx_run_capture(p,
                               &(struct cgov_job_spec) {
                                       .argv = ARGV("sh", "-c",
                                                    "d=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup); "
                                                    "cat $d/memory.max $d/memory.swap.max $d/memory.oom.group $d/pids.max"),
                                       .memory_max = 48 * MiB,
                                       .pids_max = 7,
                               },
                               &res, out, sizeof out);
        cr_assert_eq(r, 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "exit %d: %s", res.exit_status, out);
        cr_assert_str_eq(out, "50331648\n0\n1\n7\n");
}

Test(job, reservation_defaults_to_the_pool_default) {
        struct cgov_pool_limits lim = { .memory_max = 100 * MiB, .job_memory_default = 10 * MiB };
        cgov_pool *p, *small, *plain;
        cr_assert_eq(cgov_pool_create(fx_gov, "dflt", &lim, &p), 0);
        small = fx_pool("small", 32 * MiB, 0);
        plain = fx_pool("plain", 0, 0);
        const struct { cgov_pool *pool; uint64_t want; } cases[] = {
                { p, 10 * MiB },      /* job_memory_default */
                { small, 32 * MiB },  /* 64 MiB, capped by the pool's memory_max */
                { plain, 64 * MiB },  /* 64 MiB */
        };
        for (size_t i = 0; i < 3; i++) {
                cgov_job *j = submit(cases[i].pool, (struct cgov_job_spec) { .argv = ARGV("sleep", "10") });
                struct cgov_pool_status st;
                cr_assert_eq(cgov_pool_status(cases[i].pool, &st), 0);
                cr_assert_eq(st.memory_reserved, cases[i].want);
                cr_assert_eq(fx_read_u64(cgov_job_cgroup(j), "memory.max"), cases[i].want);
                fx_kill_await(j);
        }
}

Test(job, exit_code_and_signal_are_reported) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sh", "-c", "exit 7") }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 7);
        cr_assert_gt(res.wall_usec, 0);

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sh", "-c", "kill -TERM $$") }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_SIGNALED);
        cr_assert_eq(res.exit_status, SIGTERM);
        fx_assert_pool_idle(p);
}

Test(job, exec_failures_are_errors_not_exit_127) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char noexec[] = "/tmp/cgov-noexec.XXXXXX";
        int fd = mkstemp(noexec);
        cr_assert_geq(fd, 0);
        close(fd);

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("no-such-program-xyz") }, &res), -ENOENT);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("/no/such/program") }, &res), -ENOENT);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV(noexec) }, &res), -EACCES);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .cwd = "/no/such/dir" }, &res),
                     -ENOENT);
        unlink(noexec);

        struct cgov_pool_status st;
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_assert_eq(st.jobs_started, 0, "a job that never ran is not counted as started");
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(job, environment_cwd_and_stdio_are_the_job_s) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char out[256];

        int r = fx_run_capture(p,
                               &(struct cgov_job_spec) {
                                       .argv = ARGV("sh", "-c", "read x; echo \"[$x] $FOO $(pwd)\""),
                                       .envp = ARGV("FOO=bar", "PATH=/usr/bin:/bin"),
                                       .cwd = "/tmp",
                               },
                               &res, out, sizeof out);
        cr_assert_eq(r, 0);
        cr_assert_str_eq(out, "[] bar /tmp\n", "stdin is /dev/null, env and cwd are the spec's");
}

Test(job, out_of_memory_is_reported_as_oom_killed) {
        cgov_pool *shared = fx_pool("shared", 256 * MiB, 0);
        cgov_pool *p = fx_pool("shared/a", 128 * MiB, 0);
        struct cgov_result res;

        /* Touches 64 MiB in a 16 MiB leaf. */
        int r = cgov_run(p,
                         &(struct cgov_job_spec) {
                                 .argv = ARGV("sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}"),
                                 .memory_max = 16 * MiB,
                         },
                         &res);
        cr_assert_eq(r, 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_OOM_KILLED, "outcome %d status %d", res.outcome, res.exit_status);
        /* The manager removes a unit's cgroup once it is empty: on systemd
         * the peak is read the moment the main process ends, which is in
         * time nearly always but not by any guarantee (0 is "not known", as
         * the API says). */
        if (!fx_backend_systemd())
                cr_assert_gt(res.memory_peak, 0);
        cr_assert_leq(res.memory_peak, 16 * MiB + 65536);

        struct cgov_pool_status st;
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_assert_eq(st.jobs_oom_killed, 1);
        cr_assert_eq(cgov_pool_status(shared, &st), 0);
        cr_assert_eq(st.jobs_oom_killed, 1, "counters cover the subtree");
        fx_assert_pool_idle(p);
        fx_assert_pool_idle(shared);
}

Test(job, timeout_kills_the_job) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .timeout_ms = 300 }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_TIMED_OUT);
        cr_assert_geq(res.wall_usec, 300000);
        cr_assert_lt(res.wall_usec, 20000000);
        fx_assert_pool_idle(p);
}

Test(job, kill_takes_the_whole_process_tree) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char leaf[4096];

        cgov_job *j = submit(p, (struct cgov_job_spec) {
                                        .argv = ARGV("sh", "-c", "sleep 100 & (sleep 100 & wait) & wait"),
                                });
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(j));
        /* Wait for the grandchildren to exist. */
        for (int i = 0; i < 500 && fx_read_u64(leaf, "pids.current") < 5; i++)
                usleep(10000);
        cr_assert_geq(fx_read_u64(leaf, "pids.current"), 4);
        cr_assert_eq(cgov_kill(j), 0);
        cr_assert_eq(cgov_kill(j), 0, "a second kill while dying is fine");
        await_ok(j, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_KILLED);
        cr_assert_not(fx_exists(leaf), "the leaf is gone, so nothing of the job runs");
        cr_assert_eq(cgov_kill(j), -ESRCH);
        cgov_job_free(j);
        fx_assert_pool_idle(p);
}

Test(job, what_the_main_process_leaves_behind_is_killed) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 100 & exit 3") }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 3);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
        fx_assert_pool_idle(p);
}

Test(job, pids_max_limits_the_job_s_processes) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char out[64];

        int r = fx_run_capture(p,
                               &(struct cgov_job_spec) {
                                       .argv = ARGV("sh", "-c",
                                                    "exec 2>/dev/null; n=0; for i in 1 2 3 4 5 6 7 8 9 10; do "
                                                    "sleep 5 2>/dev/null & [ $? = 0 ] && n=$((n+1)); done; "
                                                    "echo $(cat /sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/pids.current)"),
                                       .pids_max = 4,
                               },
                               &res, out, sizeof out);
        cr_assert_eq(r, 0);
        cr_assert_leq(atoi(out), 4, "pids.current %s", out);
        cr_assert_gt(res.pids_peak, 0);
        cr_assert_leq(res.pids_peak, 4);
}

Test(job, cpu_time_is_reported) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done") }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_gt(res.cpu_usec, 0);
}

Test(job, await_with_a_timeout_leaves_the_job_running) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        cgov_job *j = submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "1") });
        cr_assert_eq(cgov_await(j, 50, &res), CGOV_E_TIMEOUT);
        cr_assert_eq(cgov_await(j, 0, &res), CGOV_E_TIMEOUT);
        cr_assert_gt(cgov_job_pid(j), 0);
        cr_assert_eq(kill(cgov_job_pid(j), 0), 0, "still running");
        await_ok(j, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 0);
        cgov_job_free(j);
}

Test(job, refusals_name_the_pool_and_the_figures) {
        fx_pool("shared", 96 * MiB, 3);
        cgov_pool *a = fx_pool("shared/a", 64 * MiB, 2);
        cgov_pool *b = fx_pool("shared/b", 64 * MiB, 2);
        struct cgov_result res;

        cr_assert_eq(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 65 * MiB }, &res),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_assert_eq(res.rejection, CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_str_eq(res.rejected_by, "shared/a");
        cr_assert_eq(res.requested, 65 * MiB);
        cr_assert_eq(res.available, 64 * MiB);
        cr_assert_eq(res.limit, 64 * MiB);

        cgov_job *a1 = submit(a, (struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .memory_max = 40 * MiB });
        cgov_job *a2 = submit(a, (struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .memory_max = 24 * MiB });
        /* a is full on both counts: the slot is named first. */
        cr_assert_eq(cgov_run(a, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = MiB }, &res),
                     CGOV_E_NO_WORKERS);
        cr_assert_str_eq(res.rejected_by, "shared/a");
        cr_assert_eq(res.requested, 1);
        cr_assert_eq(res.available, 0);
        cr_assert_eq(res.limit, 2);

        /* b has room, shared has 32 MiB left: shared refuses 33 MiB, and an
         * exact fit of 32 MiB is admitted. */
        cr_assert_eq(cgov_run(b, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 33 * MiB }, &res),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_str_eq(res.rejected_by, "shared");
        cr_assert_eq(res.available, 32 * MiB);
        cr_assert_eq(res.limit, 96 * MiB);
        cr_assert_eq(cgov_run(b, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 32 * MiB }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);

        /* shared's third slot taken by b; a fourth job anywhere is refused by shared. */
        cgov_job *b1 = submit(b, (struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .memory_max = MiB });
        cr_assert_eq(cgov_run(b, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = MiB }, &res),
                     CGOV_E_NO_WORKERS);
        cr_assert_str_eq(res.rejected_by, "shared");
        cr_assert_eq(res.limit, 3);

        fx_kill_await(a1);
        fx_kill_await(a2);
        fx_kill_await(b1);
        fx_assert_pool_idle(a);
        fx_assert_pool_idle(b);
}

Test(job, bad_specs_are_refused_and_change_nothing) {
        cgov_pool *p = fx_pool("p", 64 * MiB, 1);
        struct cgov_result res;
        cgov_job *j = NULL;

        cr_assert_eq(cgov_run(NULL, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res), -EINVAL);
        cr_assert_eq(cgov_run(p, NULL, &res), -EINVAL);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, NULL), -EINVAL);
        cr_assert_eq(cgov_submit(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, NULL), -EINVAL);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = NULL }, &res), -EINVAL);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("") }, &res), -EINVAL);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .name = "../x" }, &res), -EINVAL);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .flags = 0x80 }, &res), -EINVAL);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = UINT64_MAX }, &res),
                     -ERANGE);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .pids_max = UINT32_MAX }, &res),
                     -ERANGE);
        cr_assert_eq(cgov_run(p,
                              &(struct cgov_job_spec) { .argv = ARGV("true"), .flags = CGOV_JOB_STDIO,
                                                        .stdio = { 999, -1, -1 } },
                              &res),
                     -EBADF);
        cr_assert_eq(cgov_await(NULL, -1, &res), -EINVAL);
        cr_assert_eq(cgov_kill(NULL), -EINVAL);
        cr_assert_eq(cgov_job_pid(NULL), 0);
        cr_assert_null(cgov_job_cgroup(NULL));
        cgov_job_free(NULL);
        cr_assert_null(j);

        struct cgov_pool_status st;
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_assert_eq(st.jobs_started + st.jobs_rejected, 0);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(job, fallback_without_clone_into_cgroup_still_starts_in_the_leaf) {
        if (fx_backend_systemd())
                cr_skip_test("the manager, not the governor, starts a unit's process");
        cgov_testing_disable_clone_into_cgroup(fx_gov);
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char out[512];

        cr_assert_eq(fx_run_capture(p, &(struct cgov_job_spec) { .argv = ARGV("cat", "/proc/self/cgroup"), .name = "fb" },
                                    &res, out, sizeof out),
                     0);
        cr_assert_not_null(strstr(out, "/p/fb@"), "job ran in %s", out);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true"), .cwd = "/no/such" }, &res), -ENOENT);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
        fx_assert_pool_idle(p);
}

Test(job, fallback_without_cgroup_kill_still_kills_the_tree) {
        cgov_testing_disable_kill_file(fx_gov);
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char leaf[4096];

        cgov_job *j = submit(p, (struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 100 & sleep 100 & wait") });
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(j));
        for (int i = 0; i < 500 && fx_read_u64(leaf, "pids.current") < 3; i++)
                usleep(10000);
        cr_assert_eq(cgov_kill(j), 0);
        await_ok(j, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_KILLED);
        cr_assert_not(fx_exists(leaf));
        cgov_job_free(j);

        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("sh", "-c", "sleep 100 & exit 0") }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(job, jobs_survive_close_and_their_handles_stay_usable) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        char leaf[4096];

        cgov_job *j = submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "30") });
        pid_t pid = cgov_job_pid(j);
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(j));
        cgov_close(fx_gov);
        fx_gov = NULL;
        cr_assert_eq(kill(pid, 0), 0, "close kills nothing");
        cr_assert(fx_exists(leaf), "the leaf stays for the next governor");
        cr_assert_eq(cgov_await(j, -1, &res), -ESHUTDOWN);
        cgov_job_free(j);
}

/* cgov_run's own thread waits for its job (job_wait_here): what other
 * threads do to the job meanwhile must still reach it. */
struct runner {
        cgov_pool *pool;
        struct cgov_job_spec spec;
        struct cgov_result res;
        int r;
        pthread_t thread;
};

static void *runner_main(void *userdata) {
        struct runner *a = userdata;
        a->r = cgov_run(a->pool, &a->spec, &a->res);
        return NULL;
}

static void runner_start(struct runner *a) {
        cr_assert_eq(pthread_create(&a->thread, NULL, runner_main, a), 0);
        for (int i = 0; i < 500 && fx_status(a->pool).jobs_running == 0; i++)
                usleep(10000);
        cr_assert_eq(fx_status(a->pool).jobs_running, 1, "the job of cgov_run runs");
}

Test(job, a_cgov_run_job_killed_by_another_thread_ends_killed) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct runner a = { .pool = p, .spec = { .argv = ARGV("sleep", "30"), .name = "victim" } };

        runner_start(&a);
        cr_assert_eq(cgov_kill_by_name(p, "victim"), 1);
        pthread_join(a.thread, NULL);
        cr_assert_eq(a.r, 0);
        cr_assert_eq(a.res.outcome, CGOV_OUTCOME_KILLED);
        fx_assert_pool_idle(p);
}

Test(job, a_cgov_run_job_ending_gives_its_room_to_a_waiter) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        struct runner a = { .pool = p, .spec = { .argv = ARGV("sleep", "0.5") } };
        struct cgov_result res;

        runner_start(&a);
        cgov_job *w = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("true") });
        cr_assert_eq(fx_status(p).jobs_queued, 1, "the second job waits for the slot");
        fx_await(w, &res);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "and starts once the first has ended");
        cgov_job_free(w);
        pthread_join(a.thread, NULL);
        cr_assert_eq(a.r, 0);
        cr_assert_eq(a.res.outcome, CGOV_OUTCOME_EXITED);
        fx_assert_pool_idle(p);
}

Test(job, close_ends_a_cgov_run_in_another_thread_and_the_job_runs_on) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct runner a = { .pool = p, .spec = { .argv = ARGV("sleep", "30") } };
        char leaf[4096] = "";
        cgov_job **jobs = NULL;
        size_t n = 0;

        runner_start(&a);
        cr_assert_eq(governor_jobs(fx_gov, &jobs, &n), 0);
        cr_assert_eq(n, 1);
        pid_t pid = cgov_job_pid(jobs[0]);
        snprintf(leaf, sizeof leaf, "%s", cgov_job_cgroup(jobs[0]));
        for (size_t i = 0; i < n; i++)
                cgov_job_free(jobs[i]);
        free(jobs);

        cgov_close(fx_gov);
        fx_gov = NULL;
        pthread_join(a.thread, NULL);
        cr_assert_eq(a.r, -ESHUTDOWN, "cgov_run returns as cgov_await does (got %d)", a.r);
        cr_assert_eq(kill(pid, 0), 0, "close kills nothing");
        cr_assert(fx_exists(leaf), "the leaf stays for the next governor");
}
