/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pools on a real kernel: directories, the kernel's copy of the limits,
 * names, status. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(pool, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static unsigned count_dirs(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;
        cr_assert_not_null(d);
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

Test(pool, limits_reach_the_kernel_at_every_level) {
        struct cgov_pool_limits shared_lim = { .memory_max = 10 * MiB * 1024, .max_jobs = 64, .pids_max = 4096 };
        struct cgov_pool_limits a_lim = { .memory_max = 5 * MiB * 1024, .max_jobs = 8 };
        cgov_pool *shared, *a;
        char buf[128];

        cr_assert_eq(cgov_pool_create(fx_gov, "shared", &shared_lim, &shared), 0);
        cr_assert_eq(cgov_pool_create(fx_gov, "shared/customer-a", &a_lim, &a), 0);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(shared), "memory.max"), 10 * MiB * 1024);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(shared), "pids.max"), 4096);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(a), "memory.max"), 5 * MiB * 1024);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(a), "pids.max"), UINT64_MAX, "0 is no limit: \"max\"");
        /* cgroupfs gives a pool's children their controllers at once; the
         * manager gives a slice's when a unit in it needs them (the job's
         * own limits are checked by test-job, on both backends). */
        if (fx_backend_systemd())
                return;
        fx_read(cgov_pool_cgroup(a), "cgroup.subtree_control", buf, sizeof buf);
        cr_assert_not_null(strstr(buf, "memory"), "leaves need memory.max: %s", buf);
        cr_assert_not_null(strstr(buf, "pids"), "leaves need pids.max: %s", buf);
}

Test(pool, paths_and_handles) {
        cgov_pool *shared = fx_pool("shared", 0, 0), *a = fx_pool("shared/a", 0, 0), *found;
        char want[4200];

        cr_assert_str_eq(cgov_pool_path(a), "shared/a");
        if (fx_backend_systemd()) {
                /* Slices named from the path under the parent slice: its
                 * name without ".slice" is their prefix. */
                const char *slice = strrchr(fx_root, '/') + 1;
                int n = (int) (strlen(slice) - strlen(".slice"));
                snprintf(want, sizeof want, "%s/%.*s-shared.slice/%.*s-shared-a.slice", fx_root, n, slice, n, slice);
        } else
                snprintf(want, sizeof want, "%s/shared/a", fx_root);
        cr_assert_str_eq(cgov_pool_cgroup(a), want);
        cr_assert_eq(cgov_pool_find(fx_gov, "shared/a", &found), 0);
        cr_assert_eq(found, a);
        cr_assert_eq(cgov_pool_find(fx_gov, "shared", &found), 0);
        cr_assert_eq(found, shared);
        found = NULL;
        cr_assert_eq(cgov_pool_find(fx_gov, "shared/b", &found), -ENOENT);
        cr_assert_null(found);
        cr_assert_eq(cgov_pool_find(fx_gov, NULL, &found), -EINVAL);
        cr_assert_null(cgov_pool_path(NULL));
        cr_assert_null(cgov_pool_cgroup(NULL));
}

Test(pool, create_refuses_duplicates_orphans_and_bad_names_changing_nothing) {
        fx_pool("shared", 0, 0);
        cgov_pool *p = NULL;
        const char *bad[] = { "..", "shared/../x", "", "/x", "x/", "supervisor", "cgroup.procs", ".hidden", "-x",
                              "a b", "shared//a", "x@1" };
        unsigned before = count_dirs(fx_root);

        cr_assert_eq(cgov_pool_create(fx_gov, "shared", NULL, &p), -EEXIST);
        cr_assert_eq(cgov_pool_create(fx_gov, "missing/a", NULL, &p), -ENOENT);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                cr_expect_eq(cgov_pool_create(fx_gov, bad[i], NULL, &p), -EINVAL, "accepted \"%s\"", bad[i]);
        char deep[128] = "shared";
        for (int i = 0; i < 16; i++)
                strcat(deep, "/d");
        cr_assert_eq(cgov_pool_create(fx_gov, deep, NULL, &p), -EINVAL, "17 levels");
        cr_assert_eq(cgov_pool_create(NULL, "x", NULL, &p), -EINVAL);
        cr_assert_eq(cgov_pool_create(fx_gov, NULL, NULL, &p), -EINVAL);
        cr_assert_null(p);
        cr_assert_eq(count_dirs(fx_root), before, "no directory appeared");
}

Test(pool, absurd_limits_are_refused_changing_nothing) {
        cgov_pool *p = NULL;
        unsigned before = count_dirs(fx_root);

        cr_assert_eq(cgov_pool_create(fx_gov, "x", &(struct cgov_pool_limits) { .memory_max = UINT64_MAX }, &p), -ERANGE);
        cr_assert_eq(cgov_pool_create(fx_gov, "x", &(struct cgov_pool_limits) { .pids_max = UINT32_MAX }, &p), -ERANGE);
        cr_assert_eq(cgov_pool_create(fx_gov, "x", &(struct cgov_pool_limits) { .job_memory_default = UINT64_MAX }, &p),
                     -ERANGE);
        cr_assert_eq(cgov_pool_create(fx_gov, "x",
                                      &(struct cgov_pool_limits) { .memory_max = MiB, .job_memory_default = 2 * MiB }, &p),
                     -EINVAL, "a default no job could get");
        cr_assert_null(p);
        cr_assert_eq(count_dirs(fx_root), before);
        cr_assert_eq(cgov_pool_find(fx_gov, "x", &p), -ENOENT);
}

Test(pool, status_covers_the_whole_subtree) {
        cgov_pool *shared = fx_pool("shared", 512 * MiB, 10);
        cgov_pool *a = fx_pool("shared/a", 256 * MiB, 4);
        cgov_pool *b = fx_pool("shared/b", 256 * MiB, 4);
        struct cgov_pool_status st;
        struct cgov_result res;
        cgov_job *j1, *j2;

        cr_assert_eq(cgov_submit(a, &(struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .memory_max = 30 * MiB }, &j1), 0);
        cr_assert_eq(cgov_submit(b, &(struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .memory_max = 20 * MiB }, &j2), 0);
        cr_assert_eq(cgov_run(b, &(struct cgov_job_spec) { .argv = ARGV("true"), .memory_max = 300 * MiB }, &res),
                     CGOV_E_INSUFFICIENT_MEMORY);

        cr_assert_eq(cgov_pool_status(shared, &st), 0);
        cr_assert_eq(st.memory_max, 512 * MiB);
        cr_assert_eq(st.memory_reserved, 50 * MiB);
        cr_assert_eq(st.max_jobs, 10);
        cr_assert_eq(st.jobs_running, 2);
        cr_assert_eq(st.slots_held, 2);
        cr_assert_eq(st.jobs_started, 2);
        cr_assert_eq(st.jobs_rejected, 1);
        cr_assert_geq(st.pids_current, 2, "the kernel counts both sleeps");
        cr_assert_gt(st.memory_current, 0);

        cr_assert_eq(cgov_pool_status(a, &st), 0);
        cr_assert_eq(st.memory_reserved, 30 * MiB);
        cr_assert_eq(st.jobs_running, 1);
        cr_assert_eq(st.jobs_rejected, 0);
        cr_assert_eq(cgov_pool_status(b, &st), 0);
        cr_assert_eq(st.jobs_rejected, 1);

        cr_assert_eq(cgov_pool_status(NULL, &st), -EINVAL);
        cr_assert_eq(cgov_pool_status(a, NULL), -EINVAL);

        fx_kill_await(j1);
        fx_kill_await(j2);
        fx_assert_pool_idle(shared);
        cr_assert_eq(cgov_pool_status(shared, &st), 0);
        cr_assert_eq(st.jobs_started, 2, "counters stay");
}

Test(pool, the_pool_s_pids_max_holds_across_its_jobs) {
        struct cgov_pool_limits lim = { .pids_max = 6 };
        cgov_pool *p;
        struct cgov_result res;
        cgov_job *j;

        cr_assert_eq(cgov_pool_create(fx_gov, "p", &lim, &p), 0);
        /* Each job tries to hold 5 processes; the pool allows 6 in all. */
        const char *const argv[] = { "sh", "-c", "exec 2>/dev/null; for i in 1 2 3 4; do sleep 30 & done; wait", NULL };
        cr_assert_eq(cgov_submit(p, &(struct cgov_job_spec) { .argv = argv }, &j), 0);
        for (int i = 0; i < 300 && fx_read_u64(cgov_pool_cgroup(p), "pids.current") < 5; i++)
                usleep(10000);
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = argv, .timeout_ms = 1500 }, &res), 0);
        cr_assert_leq(fx_read_u64(cgov_pool_cgroup(p), "pids.peak"), 6);
        fx_kill_await(j);
        fx_assert_pool_idle(p);
}
