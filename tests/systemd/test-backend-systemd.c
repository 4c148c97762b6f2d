/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd backend under the real systemd booted in the guest
 * (run-systemd-tests): pools are slices whose MemoryMax=/TasksMax= are what
 * systemctl reports and what the kernel enforces, jobs are transient
 * services in their pool's slice, with their real outcome, and nothing of
 * them is left once they ended. Every check asks systemctl or the kernel,
 * never the library's own account. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cgov.h"

static cgov *gov;
static char slice[64];

static void setup(void) {
        if (access("/run/systemd/system", F_OK) != 0)
                cr_skip_test("systemd is not PID 1 (runs in the systemd guest: run-systemd-tests)");
        /* A parent slice of its own, so that runs never see each other's. */
        snprintf(slice, sizeof slice, "cgovtest%d.slice", (int) getpid());
        struct cgov_options o = { .cgroup_root = slice, .flags = CGOV_OPEN_SYSTEMD };
        int r = cgov_open(&gov, &o);
        cr_assert_eq(r, 0, "cgov_open(CGOV_OPEN_SYSTEMD, %s): %s", slice, strerror(-r));
}

static void teardown(void) {
        cgov_close(gov);
        gov = NULL;
        char cmd[256];
        snprintf(cmd, sizeof cmd, "systemctl stop %s 2>/dev/null", slice);
        (void) !system(cmd);
}

TestSuite(systemd, .init = setup, .fini = teardown, .timeout = 120);

/* One line of a command's output, without its newline. */
static char *output(const char *fmt, ...) {
        static char line[4096];
        char cmd[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f, "%s: %m", cmd);
        line[0] = '\0';
        if (!fgets(line, sizeof line, f))
                line[0] = '\0';
        pclose(f);
        line[strcspn(line, "\n")] = '\0';
        return line;
}

/* systemctl's view of a property of a unit. */
static char *show(const char *unit, const char *property) {
        return output("systemctl show -p %s --value '%s'", property, unit);
}

static char prefix[64];
static const char *pfx(void) {
        snprintf(prefix, sizeof prefix, "%.*s", (int) (strlen(slice) - 6), slice);
        return prefix;
}

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

Test(systemd, pools_are_slices_with_the_limits_systemctl_reports) {
        cgov_pool *shared, *tenant;
        struct cgov_pool_limits l1 = { .memory_max = 256 << 20, .pids_max = 64 };
        struct cgov_pool_limits l2 = { .memory_max = 128 << 20, .pids_max = 32 };
        char unit[256];

        cr_assert_eq(cgov_pool_create(gov, "shared", &l1, &shared), 0);
        cr_assert_eq(cgov_pool_create(gov, "shared/customer-a", &l2, &tenant), 0);
        snprintf(unit, sizeof unit, "%s-shared-customer\\x2da.slice", pfx());
        cr_expect_str_eq(show(unit, "ActiveState"), "active", "%s is not active", unit);
        cr_expect_str_eq(show(unit, "MemoryMax"), "134217728");
        cr_expect_str_eq(show(unit, "TasksMax"), "32");
        /* The kernel's own copy, in the directory systemd made. */
        cr_expect_str_eq(output("cat '%s/memory.max'", cgov_pool_cgroup(tenant)), "134217728");
        cr_expect_str_eq(output("cat '%s/pids.max'", cgov_pool_cgroup(tenant)), "32");
        cr_expect(strstr(cgov_pool_cgroup(tenant), unit), "pool cgroup %s is not %s's", cgov_pool_cgroup(tenant), unit);

        /* A change through cgov is what systemctl reports. */
        struct cgov_pool_limits l3 = { .memory_max = 96 << 20, .pids_max = 16 };
        int r = cgov_pool_set_limits(tenant, &l3);
        cr_assert_eq(r, 0, "cgov_pool_set_limits: %s", strerror(-r));
        cr_expect_str_eq(show(unit, "MemoryMax"), "100663296");
        cr_expect_str_eq(show(unit, "TasksMax"), "16");

        /* Released and empty: the slice goes. */
        cr_assert_eq(cgov_pool_release(shared), 0);
        cr_expect_str_eq(show(unit, "ActiveState"), "inactive", "%s stayed after its pool's release", unit);
}

Test(systemd, a_job_runs_in_its_own_unit_in_its_pools_slice_and_leaves_nothing) {
        cgov_pool *p;
        struct cgov_pool_limits l = { .memory_max = 256 << 20 };
        struct cgov_result res;
        char file[] = "/tmp/cgov-sd-XXXXXX", cmd[256];
        int fd = mkstemp(file);

        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(cgov_pool_create(gov, "web", &l, &p), 0);
        snprintf(cmd, sizeof cmd, "cat /proc/self/cgroup > %s; exit 3", file);
        struct cgov_job_spec spec = { .argv = ARGV("/bin/sh", "-c", cmd), .memory_max = 64 << 20 };
        cr_assert_eq(cgov_run(p, &spec, &res), 0);
        cr_expect_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_expect_eq(res.exit_status, 3);
        char want[256];
        snprintf(want, sizeof want, "/%s/%s-web.slice/%s-job-", slice, pfx(), pfx());
        char *got = output("cat %s", file);
        cr_expect(strstr(got, want), "the job ran in %s, not in a unit under %s", got, want);
        unlink(file);
        /* Its cgroup is gone with its end; the unit object follows. */
        cr_expect_str_eq(output("for i in $(seq 50); do n=$(systemctl list-units --all --plain --no-legend '%s-job-*' "
                                "| wc -l); [ $n = 0 ] && break; sleep 0.1; done; echo $n", pfx()),
                         "0", "a job unit is left");
}

Test(systemd, a_jobs_argv_reaches_it_as_given_without_the_managers_expansion) {
        cgov_pool *p;
        struct cgov_result res;

        cr_assert_eq(cgov_pool_create(gov, "argv", NULL, &p), 0);
        /* systemd expands $VARIABLES in ExecStart=; a job's argv is data. */
        struct cgov_job_spec spec = {
                .argv = ARGV("/bin/sh", "-c", "[ \"$1\" = '$HOME' ] && [ \"$2\" = '$$' ]", "sh", "$HOME", "$$"),
        };
        cr_assert_eq(cgov_run(p, &spec, &res), 0);
        cr_expect_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_expect_eq(res.exit_status, 0, "the job saw its arguments changed");
}

Test(systemd, the_reservation_is_enforced_and_an_oom_kill_is_reported) {
        cgov_pool *p;
        struct cgov_pool_limits l = { .memory_max = 512 << 20 };
        struct cgov_result res;

        cr_assert_eq(cgov_pool_create(gov, "oom", &l, &p), 0);
        /* Grows past its 32 MiB reservation. */
        struct cgov_job_spec spec = {
                .argv = ARGV("/bin/sh", "-c", "x=x; while :; do x=$x$x; done"),
                .memory_max = 32 << 20,
        };
        cr_assert_eq(cgov_run(p, &spec, &res), 0);
        cr_expect_eq(res.outcome, CGOV_OUTCOME_OOM_KILLED, "outcome %d", res.outcome);
}

Test(systemd, systemctl_stop_of_a_jobs_unit_is_reported_killed) {
        cgov_pool *p;
        cgov_job *j;
        struct cgov_result res;
        char unit[256];

        cr_assert_eq(cgov_pool_create(gov, "stop", NULL, &p), 0);
        struct cgov_job_spec spec = { .argv = ARGV("/bin/sleep", "60"), .name = "sleeper" };
        cr_assert_eq(cgov_submit(p, &spec, &j), 0);
        const char *cg = cgov_job_cgroup(j);
        cr_assert_not_null(cg);
        snprintf(unit, sizeof unit, "%s", strrchr(cg, '/') + 1);
        cr_expect_str_eq(show(unit, "ActiveState"), "active");
        cr_assert_eq(system(output("echo systemctl stop '%s'", unit)), 0);
        cr_assert_eq(cgov_await(j, 30000, &res), 0);
        cr_expect_eq(res.outcome, CGOV_OUTCOME_KILLED, "outcome %d", res.outcome);
        cgov_job_free(j);
}

Test(systemd, a_refused_job_never_reaches_systemd) {
        cgov_pool *p;
        struct cgov_pool_limits l = { .memory_max = 64 << 20 };
        struct cgov_result res;

        cr_assert_eq(cgov_pool_create(gov, "small", &l, &p), 0);
        struct cgov_job_spec spec = { .argv = ARGV("/bin/true"), .memory_max = 128 << 20 };
        cr_expect_eq(cgov_run(p, &spec, &res), CGOV_E_INSUFFICIENT_MEMORY);
        cr_expect_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_expect_str_eq(output("systemctl list-units --all --plain --no-legend '%s-job-*' | wc -l", pfx()), "0");
}

/* The manager removes an exited unit's cgroup once it is empty: a job that
 * ended while no governor ran is known by its unit alone. The next
 * cgov_open finds it there, settles it (its reservation comes back) and
 * stops its unit. */
Test(systemd, a_job_that_ended_while_no_governor_ran_is_settled_by_the_next) {
        cgov_pool *p;
        cgov_job *j;
        struct cgov_pool_limits l = { .memory_max = 256 << 20, .job_memory_default = 64 << 20 };
        struct cgov_pool_status st;
        char unit[256];

        cr_assert_eq(cgov_pool_create(gov, "late", &l, &p), 0);
        struct cgov_job_spec spec = { .argv = ARGV("/bin/sh", "-c", "sleep 1; exit 5") };
        cr_assert_eq(cgov_submit(p, &spec, &j), 0);
        snprintf(unit, sizeof unit, "%s", strrchr(cgov_job_cgroup(j), '/') + 1);
        cgov_job_free(j);
        cgov_close(gov);
        gov = NULL;

        for (int i = 0; i < 100 && strcmp(show(unit, "SubState"), "exited") != 0; i++)
                usleep(100000);
        cr_assert_str_eq(show(unit, "SubState"), "exited");
        cr_assert_str_eq(show(unit, "ControlGroup"), "", "the manager kept %s's cgroup", unit);
        cr_expect_str_eq(show(unit, "ExecMainStatus"), "5");

        struct cgov_options o = { .cgroup_root = slice, .flags = CGOV_OPEN_SYSTEMD };
        int r = cgov_open(&gov, &o);
        cr_assert_eq(r, 0, "cgov_open again: %s", strerror(-r));
        cr_assert_eq(cgov_pool_find(gov, "late", &p), 0);
        for (int i = 0; i < 100 && strcmp(show(unit, "LoadState"), "loaded") == 0; i++)
                usleep(100000);
        cr_expect_str_neq(show(unit, "LoadState"), "loaded", "%s is still there", unit);
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_expect_eq(st.jobs_running, 0);
        cr_expect_eq(st.memory_reserved, 0, "%" PRIu64 " bytes still reserved", st.memory_reserved);
}
