/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgov_open on a real kernel: what it accepts, refuses, and sets up. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(open, .init = fx_setup_root_only, .fini = fx_teardown, .timeout = 60);

static const char *hierarchy_top(void) {
        static char top[4096];
        FILE *f = popen("findmnt -n -t cgroup2 -o TARGET | head -n 1", "r");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(top, sizeof top, f));
        pclose(f);
        top[strcspn(top, "\n")] = '\0';
        return top;
}

static int open_root(const char *root, unsigned flags) {
        return cgov_open(&fx_gov, &(struct cgov_options) { .cgroup_root = root, .flags = flags });
}

Test(open, creates_a_missing_root_and_enables_the_controllers_below_it) {
        char buf[256];
        cr_assert_eq(open_root(fx_root, 0), 0);
        fx_read(fx_root, "cgroup.subtree_control", buf, sizeof buf);
        cr_assert_not_null(strstr(buf, "memory"), "subtree_control: %s", buf);
        cr_assert_not_null(strstr(buf, "pids"), "subtree_control: %s", buf);
}

Test(open, writes_no_limit_to_the_root_or_above_it) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", fx_root);
        dirname(parent);
        cr_assert_eq(mkdir(fx_root, 0755), 0);
        cr_assert_eq(open_root(fx_root, 0), 0);
        cr_assert_eq(fx_read_u64(fx_root, "memory.max"), UINT64_MAX);
        cr_assert_eq(fx_read_u64(fx_root, "pids.max"), UINT64_MAX);
        cr_assert_eq(fx_read_u64(parent, "memory.max"), UINT64_MAX);
}

Test(open, refuses_what_is_not_cgroup_v2) {
        cr_assert_eq(open_root("/tmp/cgov-not-a-cgroup", 0), -EMEDIUMTYPE);
        cr_assert_not(fx_exists("/tmp/cgov-not-a-cgroup"), "nothing is created outside cgroup2");
        cr_assert_eq(open_root("/tmp", 0), -EMEDIUMTYPE);
        cr_assert_eq(open_root("/proc/self", 0), -EMEDIUMTYPE);
}

Test(open, refuses_bad_paths_and_arguments) {
        char path[4200];
        cr_assert_eq(open_root("relative/path", 0), -EINVAL);
        snprintf(path, sizeof path, "%s/../x", fx_root);
        cr_assert_eq(open_root(path, 0), -EINVAL);
        snprintf(path, sizeof path, "%s/missing/child", fx_root);
        cr_assert_eq(open_root(path, 0), -ENOENT);
        cr_assert_eq(cgov_open(NULL, NULL), -EINVAL);
        cr_assert_eq(open_root(fx_root, 0x100), -EINVAL);
        /* Client mode without a daemon behind the address. */
        cr_assert_eq(cgov_open(&fx_gov, &(struct cgov_options) { .address = "/nonexistent/cgov.sock" }), -ENOENT);
        cr_assert_eq(cgov_open(&fx_gov, &(struct cgov_options) { .address = "" }), -EINVAL);
        cr_assert_eq(cgov_open(&fx_gov, &(struct cgov_options) { .address = "/x", .cgroup_root = fx_root }), -EINVAL);
        cr_assert_null(fx_gov, "ret is written only on success");
        cr_assert_not(fx_exists(fx_root));
}

Test(open, refuses_the_top_of_the_hierarchy) {
        cr_assert_eq(open_root(hierarchy_top(), 0), -EPERM);
}

Test(open, refuses_a_root_without_memory_and_pids_unless_accounting_only) {
        char root[4200];
        /* fx_root's own subtree_control stays empty: its child has no controllers. */
        cr_assert_eq(mkdir(fx_root, 0755), 0);
        snprintf(root, sizeof root, "%s/bare", fx_root);
        cr_assert_eq(open_root(root, 0), -EOPNOTSUPP);

        cr_assert_eq(open_root(root, CGOV_OPEN_ACCOUNTING_ONLY), 0);
        cgov_pool *p = fx_pool("p", 10 * MiB, 1);
        struct cgov_result res;
        char leaf_memory_max[4300];
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = (const char *[]) { "true", NULL }, .memory_max = 11 * MiB },
                              &res),
                     CGOV_E_INSUFFICIENT_MEMORY, "the ledger still refuses");
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = (const char *[]) { "true", NULL } }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        snprintf(leaf_memory_max, sizeof leaf_memory_max, "%s/memory.max", cgov_pool_cgroup(p));
        cr_assert_not(fx_exists(leaf_memory_max), "nothing is enforced: no memory controller");
        fx_assert_pool_idle(p);
}

Test(open, refuses_a_root_it_cannot_write) {
        cr_assert_eq(mkdir(fx_root, 0755), 0);
        pid_t pid = fork();
        if (pid == 0) {
                /* An unprivileged user, as a tenant would be. */
                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(2);
                cgov *g;
                _exit(cgov_open(&g, &(struct cgov_options) { .cgroup_root = fx_root }) == -EACCES ? 0 : 1);
        }
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cgov_open as nobody must give -EACCES");
}

Test(open, moves_the_caller_out_of_its_own_cgroup) {
        char buf[4096], procs[4200];
        cr_assert_eq(mkdir(fx_root, 0755), 0);
        snprintf(procs, sizeof procs, "%s/cgroup.procs", fx_root);
        FILE *f = fopen(procs, "w");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", getpid());
        cr_assert_eq(fclose(f), 0);

        /* NULL root: the caller's own cgroup, as under systemd's Delegate=yes. */
        cr_assert_eq(cgov_open(&fx_gov, NULL), 0);
        fx_read("/proc/self", "cgroup", buf, sizeof buf);
        cr_assert_not_null(strstr(buf, "/supervisor\n"), "we now live in %s", buf);
        fx_read(fx_root, "cgroup.subtree_control", buf, sizeof buf);
        cr_assert_not_null(strstr(buf, "memory"));

        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        cr_assert_eq(cgov_run(p, &(struct cgov_job_spec) { .argv = (const char *[]) { "true", NULL } }, &res), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);

        /* Out again to the top (the one cgroup that may always hold
         * processes), so that the teardown's kill of the tree spares us. */
        cgov_close(fx_gov);
        fx_gov = NULL;
        snprintf(procs, sizeof procs, "%s/cgroup.procs", hierarchy_top());
        f = fopen(procs, "w");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", getpid());
        cr_assert_eq(fclose(f), 0);
}

Test(open, refuses_a_root_that_holds_someone_else_s_processes) {
        char procs[4200];
        cr_assert_eq(mkdir(fx_root, 0755), 0);
        pid_t pid = fork();
        if (pid == 0) {
                pause();
                _exit(0);
        }
        snprintf(procs, sizeof procs, "%s/cgroup.procs", fx_root);
        FILE *f = fopen(procs, "w");
        cr_assert_not_null(f);
        fprintf(f, "%d\n", pid);
        cr_assert_eq(fclose(f), 0);

        cr_assert_eq(open_root(fx_root, 0), -EBUSY);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}
