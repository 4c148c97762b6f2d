/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interoperability: the cgroups libcgov builds are plain cgroup v2, so the
 * standard tools read them. Here libcgroup's cgget (cgroup-tools) must report
 * the limits cgov set and the live counters of pools and jobs.
 *
 * cgget names a cgroup by its path below the cgroup2 mount ("/a/b" or "a/b");
 * an absolute file system path fails ("variable file read failed"). Given
 * several -r, `cgget -n -v` prints the values grouped by controller, not in
 * the order asked, so each value is asked for on its own. */
#include <errno.h>
#include <inttypes.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

static void setup(void) {
        if (system("command -v cgget >/dev/null 2>&1") != 0)
                cr_skip_test("cgget not found (apt-get install cgroup-tools)");
        fx_setup();
}

TestSuite(interop, .init = setup, .fini = fx_teardown, .timeout = 120);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* The path of dir below the cgroup2 mount that holds it, as cgget wants it. */
static const char *cgget_path(const char *dir) {
        static char rel[4096];
        size_t best = 0;
        struct mntent *m;
        FILE *f = setmntent("/proc/self/mounts", "re");

        cr_assert_not_null(f, "/proc/self/mounts: %m");
        while ((m = getmntent(f))) {
                size_t n = strlen(m->mnt_dir);
                if (strcmp(m->mnt_type, "cgroup2") == 0 && n > best && strncmp(dir, m->mnt_dir, n) == 0 &&
                    (dir[n] == '/' || dir[n] == '\0'))
                        best = n;
        }
        endmntent(f);
        cr_assert_gt(best, 0, "%s is on no cgroup2 mount", dir);
        snprintf(rel, sizeof rel, "%s", dir[best] ? dir + best : "/");
        return rel;
}

/* Runs cgget with argv after the program name; its stdout (trailing newlines
 * cut) in out. Returns its exit status, or -1 if it did not exit. */
static int cgget(char *out, size_t size, const char *const *args) {
        const char *argv[16] = { "cgget" };
        size_t n = 1;
        int fd[2], status;
        pid_t pid;

        for (; args[n - 1]; n++) {
                cr_assert_lt(n, sizeof argv / sizeof argv[0] - 1);
                argv[n] = args[n - 1];
        }
        argv[n] = NULL;
        cr_assert_eq(pipe(fd), 0);
        pid = fork();
        cr_assert_geq(pid, 0, "fork: %m");
        if (pid == 0) {
                dup2(fd[1], 1);
                close(fd[0]);
                close(fd[1]);
                execvp("cgget", (char **) argv);
                _exit(127);
        }
        close(fd[1]);
        size_t len = 0;
        ssize_t r;
        while ((r = read(fd[0], out + len, size - 1 - len)) > 0 || (r < 0 && errno == EINTR))
                if (r > 0)
                        len += (size_t) r;
        close(fd[0]);
        out[len] = '\0';
        while (len > 0 && out[len - 1] == '\n')
                out[--len] = '\0';
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One value of one cgroup, as `cgget -n -v -r var <path>` prints it. */
static const char *cgget_value(const char *dir, const char *var) {
        static char out[4096];
        int st = cgget(out, sizeof out, ARGV("-n", "-v", "-r", var, cgget_path(dir)));
        cr_assert_eq(st, 0, "cgget -n -v -r %s %s: exit %d, output \"%s\"", var, cgget_path(dir), st, out);
        cr_assert_eq(strchr(out, '\n'), NULL, "cgget -r %s %s: one line expected: \"%s\"", var, cgget_path(dir), out);
        return out;
}

static uint64_t cgget_u64(const char *dir, const char *var) {
        const char *v = cgget_value(dir, var);
        char *end;

        if (strcmp(v, "max") == 0)
                return UINT64_MAX;
        errno = 0;
        uint64_t n = strtoull(v, &end, 10);
        cr_assert(errno == 0 && end != v && *end == '\0', "cgget -r %s: not a number: \"%s\"", var, v);
        return n;
}

Test(interop, cgget_reports_the_limits_cgov_set) {
        cgov_pool *shared, *a, *open;
        struct cgov_pool_limits shared_lim = { .memory_max = 512 * MiB, .max_jobs = 8, .pids_max = 100 };
        struct cgov_pool_limits a_lim = { .memory_max = 256 * MiB, .pids_max = 20 };

        cr_assert_eq(cgov_pool_create(fx_gov, "shared", &shared_lim, &shared), 0);
        cr_assert_eq(cgov_pool_create(fx_gov, "shared/customer-a", &a_lim, &a), 0);
        cr_assert_eq(cgov_pool_create(fx_gov, "open", NULL, &open), 0);

        cr_assert_eq(cgget_u64(cgov_pool_cgroup(shared), "memory.max"), 512 * MiB);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(shared), "pids.max"), 100);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "memory.max"), 256 * MiB);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "pids.max"), 20);
        /* No limit is the kernel's "max", and cgget says so. */
        cr_assert_str_eq(cgget_value(cgov_pool_cgroup(open), "memory.max"), "max");
        cr_assert_str_eq(cgget_value(cgov_pool_cgroup(open), "pids.max"), "max");
        /* Both are what the kernel holds, read directly. */
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "memory.max"), fx_read_u64(cgov_pool_cgroup(a), "memory.max"));

        /* A change through cgov shows in cgget at once (no job holds more). */
        a_lim.memory_max = 128 * MiB;
        a_lim.pids_max = 10;
        cr_assert_eq(cgov_pool_set_limits(a, &a_lim), 0);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "memory.max"), 128 * MiB);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "pids.max"), 10);

        /* The whole-controller listing: "name: value" lines under the path. */
        char out[8192], want[64];
        cr_assert_eq(cgget(out, sizeof out, ARGV("-g", "pids", cgget_path(cgov_pool_cgroup(shared)))), 0);
        cr_assert_not_null(strstr(out, cgget_path(cgov_pool_cgroup(shared))), "%s", out);
        snprintf(want, sizeof want, "\npids.max: %u\n", shared_lim.pids_max);
        cr_assert_not_null(strstr(out, want), "no \"%s\" in cgget -g pids:\n%s", want + 1, out);
}

Test(interop, cgget_reads_the_counters_of_a_running_job) {
        cgov_pool *shared, *a;
        struct cgov_pool_limits shared_lim = { .memory_max = 512 * MiB, .pids_max = 100 };
        struct cgov_pool_limits a_lim = { .memory_max = 256 * MiB, .pids_max = 20 };

        cr_assert_eq(cgov_pool_create(fx_gov, "shared", &shared_lim, &shared), 0);
        cr_assert_eq(cgov_pool_create(fx_gov, "shared/customer-a", &a_lim, &a), 0);
        cgov_job *j = fx_submit(a, (struct cgov_job_spec) { .argv = ARGV("sleep", "60"), .memory_max = 32 * MiB,
                                                             .pids_max = 5 });
        const char *leaf = cgov_job_cgroup(j);
        cr_assert_not_null(leaf);

        /* The job's leaf: its own limits, and the job counted in it. */
        cr_assert_eq(cgget_u64(leaf, "memory.max"), 32 * MiB);
        cr_assert_eq(cgget_u64(leaf, "pids.max"), 5);
        cr_assert_geq(cgget_u64(leaf, "pids.current"), 1, "the running sleep");
        uint64_t mem = cgget_u64(leaf, "memory.current");
        cr_assert_lt(mem, 32 * MiB, "memory.current %" PRIu64 " of a sleep", mem);

        /* The pools count their subtree: the job shows at every level. */
        cgov_pool *pools[] = { a, shared };
        for (size_t i = 0; i < 2; i++) {
                const char *dir = cgov_pool_cgroup(pools[i]);
                uint64_t pids = cgget_u64(dir, "pids.current");
                uint64_t cur = cgget_u64(dir, "memory.current");
                cr_assert_geq(pids, 1, "%s: pids.current %" PRIu64 " while the job runs", dir, pids);
                cr_assert_leq(pids, 5, "%s: pids.current %" PRIu64 " for one sleep", dir, pids);
                cr_assert_lt(cur, 256 * MiB, "%s: memory.current %" PRIu64, dir, cur);
        }
        /* The same figures cgov reports (a sleeping job's count does not move). */
        struct cgov_pool_status st = fx_status(a);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "pids.current"), st.pids_current);

        fx_kill_await(j);
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(a), "pids.current"), 0, "nothing runs any more");
        cr_assert_eq(cgget_u64(cgov_pool_cgroup(shared), "pids.current"), 0);
}
