/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgovd against hostile tenants: each test is an attack an unprivileged
 * user can make on the real daemon over its real socket, on a real kernel,
 * and asserts that it neither crashes, freezes nor starves the daemon, and
 * that nothing the attack touched is lost. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "daemon-fixture.h"

TestSuite(attacks, .init = dx_setup, .fini = dx_teardown, .timeout = 180);

/* ---- pipelined requests ---------------------------------------------------------------- */

/* Two Waits for one job in one write: the job's end answers the first, and
 * the second (buffered behind it) must not be handled while the end is
 * still being delivered — it once collected and freed the job under the
 * daemon's feet. */
static int two_waits_in_one_write(void *arg) {
        static const char submit[] = "{\"method\":\"io.cgov.Submit\",\"parameters\":"
                                     "{\"pool\":\"shared/team\",\"argv\":[\"sleep\",\"1\"]}}";
        char reply[4096], waits[512];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect: %s", strerror(-fd));
        DX_CHECK(dx_raw_send(fd, submit, sizeof submit) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0, "no Submit reply");
        uint64_t id = dx_reply_id(reply);
        DX_CHECK(id > 0, "Submit: %s", reply);

        int n = snprintf(waits, sizeof waits, "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":%llu}}",
                         (unsigned long long) id);
        memcpy(waits + n + 1, waits, (size_t) n + 1);
        DX_CHECK(dx_raw_send(fd, waits, 2 * ((size_t) n + 1)) == 0, "send the two Waits");

        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 60000) > 0, "no reply to the first Wait");
        DX_CHECK(strstr(reply, "\"outcome\":\"exited\""), "first Wait: %s", reply);
        /* The first collected the result: the second finds no job. */
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 60000) > 0, "no reply to the second Wait");
        DX_CHECK(strstr(reply, "io.cgov.NoSuchJob"), "second Wait: %s", reply);
        /* And the connection still serves. */
        static const char info[] = "{\"method\":\"io.cgov.GetInfo\"}";
        DX_CHECK(dx_raw_send(fd, info, sizeof info) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0 && strstr(reply, "\"version\""), "GetInfo: %s",
                 reply);
        close(fd);
        return 0;
}

Test(attacks, two_pipelined_waits_for_one_job_do_not_crash_the_daemon) {
        cr_assert_eq(dx_as(DX_USER_A, two_waits_in_one_write, NULL), 0, "daemon log:\n%s", dx_daemon_log());
        dx_assert_serving(5000);
}

/* ---- the daemon's log ------------------------------------------------------------------- */

/* A program whose name holds a newline: what follows it must not become a
 * line of the daemon's log of its own, where it would pass for the
 * daemon's word. */
static int run_forging_name(void *arg) {
        const char *dir = arg;
        char req[1024], reply[4096];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect: %s", strerror(-fd));
        snprintf(req, sizeof req,
                 "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"shared/team\","
                 "\"argv\":[\"%s/fake\\ncgovd: Job 999 of root exited with status 0.\"]}}",
                 dir);
        DX_CHECK(dx_raw_send(fd, req, strlen(req) + 1) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0 && dx_reply_id(reply) > 0, "Submit: %s", reply);
        close(fd);
        return 0;
}

Test(attacks, a_program_name_cannot_forge_lines_in_the_daemons_log) {
        char link[512];
        snprintf(link, sizeof link, "%s/fake\ncgovd: Job 999 of root exited with status 0.", dx_dir);
        cr_assert_eq(symlink("/bin/true", link), 0, "symlink: %m");
        cr_assert_eq(dx_as(DX_USER_A, run_forging_name, dx_dir), 0, "daemon log:\n%s", dx_daemon_log());
        const char *log = dx_daemon_log();
        cr_assert(strstr(log, "/fake\\ncgovd: Job 999"), "the name is not in the log, escaped:\n%s", log);
        cr_assert_null(strstr(log, "\ncgovd: Job 999"), "a forged line made it into the log:\n%s", log);
}

/* ---- running out of file descriptors ------------------------------------------------------ */

static void low_nofile(void) {
        /* Hard and soft: cgovd cannot raise it. It keeps fds 3-63 for
         * itself, and needs ~20 more. */
        struct rlimit rl = { 100, 100 };
        setrlimit(RLIMIT_NOFILE, &rl);
}

/* Seconds of CPU the process has used (utime + stime of /proc/PID/stat). */
static double cpu_seconds(pid_t pid) {
        char path[64], buf[1024];
        unsigned long utime = 0, stime = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        cr_assert_not_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* After the command's closing parenthesis: fields 3.. ; utime is 14, stime 15. */
        const char *p = strrchr(buf, ')');
        cr_assert_not_null(p);
        cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
        return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static int hold_connections(void *arg) {
        int *ready = arg, fds[64], n = 0;
        /* As many as cgovd lets one user have: more than its fds allow. */
        for (; n < 64; n++)
                if ((fds[n] = dx_raw_connect()) < 0)
                        break;
        DX_CHECK(n > 40, "only %d connections", n);
        DX_CHECK(write(ready[1], "x", 1) == 1, "ready");
        char c;
        (void) !read(ready[0], &c, 1); /* until the test has measured */
        for (int i = 0; i < n; i++)
                close(fds[i]);
        return 0;
}

Test(attacks, running_out_of_fds_pauses_accepting_instead_of_spinning) {
        int to_test[2], to_tenant[2];

        dx_stop_daemon(SIGTERM);
        dx_daemon_exec_hook = low_nofile;
        dx_start_daemon();
        cr_assert_eq(pipe(to_test), 0);
        cr_assert_eq(pipe(to_tenant), 0);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int ends[2] = { to_tenant[0], to_test[1] };
                _exit(dx_as(DX_USER_A, hold_connections, ends));
        }
        char c;
        cr_assert_eq(read(to_test[0], &c, 1), 1, "the tenant could not connect:\n%s", dx_daemon_log());
        /* cgovd is out of fds with connections still in its backlog, once
         * it has accepted what it could (slow in an emulated guest). */
        for (int i = 0; i < 200 && !strstr(dx_daemon_log(), "pausing"); i++)
                usleep(50000);
        cr_assert(strstr(dx_daemon_log(), "pausing"), "no pause logged:\n%s", dx_daemon_log());
        double before = cpu_seconds(dx_daemon);
        sleep(2);
        double used = cpu_seconds(dx_daemon) - before;
        cr_assert_lt(used, 0.5, "cgovd used %.2f s of CPU in 2 s while out of fds: it spins\n%s", used,
                     dx_daemon_log());

        /* Once the tenant lets go, everyone is served again. */
        cr_assert_eq(write(to_tenant[1], "x", 1), 1);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        dx_assert_serving(10000);
}

/* ---- sizes ------------------------------------------------------------------------------ */

/* A "Vm...: N kB" line of /proc/PID/status. */
static long vm_kib(pid_t pid, const char *key) {
        char path[64], line[256];
        size_t len = strlen(key);
        long kib = -1;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "re");
        cr_assert_not_null(f);
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, len) == 0 && line[len] == ':' && sscanf(line + len + 1, "%ld", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static long rss_kib(pid_t pid) {
        return vm_kib(pid, "VmRSS");
}

static int run_jobs(void *arg) {
        const char *argv[] = { "true", NULL };
        struct cgov_result res;
        cgov *g = NULL;
        cgov_pool *p = NULL;
        int r = dx_open(&g);

        DX_CHECK(r == 0, "cgov_open: %s", cgov_strerror(r));
        r = cgov_pool_find(g, "shared/team", &p);
        DX_CHECK(r == 0, "cgov_pool_find: %s", cgov_strerror(r));
        for (int i = 0; i < *(int *) arg; i++) {
                r = cgov_run(p, &(struct cgov_job_spec) { .argv = argv }, &res);
                DX_CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED, "job %d: %s, outcome %d", i,
                         cgov_strerror(r), res.outcome);
        }
        cgov_close(g);
        return 0;
}

/* Each job's keeper runs on a stack in cgovd's memory (where it shares it):
 * once the keeper is gone, that stack is unmapped or used again, never left
 * behind. 300 jobs that each left theirs would add 37.5 MiB. */
Test(attacks, the_keepers_of_ended_jobs_leave_nothing_mapped_in_the_daemon) {
        int n = 300;

        /* Some jobs first, so that whatever cgovd keeps for good exists. */
        cr_assert_eq(dx_as(DX_USER_A, run_jobs, &(int) { 20 }), 0, "daemon log:\n%s", dx_daemon_log());
        long before = vm_kib(dx_daemon, "VmSize");
        cr_assert_eq(dx_as(DX_USER_A, run_jobs, &n), 0, "daemon log:\n%s", dx_daemon_log());
        long grown = vm_kib(dx_daemon, "VmSize") - before;
        cr_assert_lt(grown, 4 * 1024, "cgovd's address space grew by %ld KiB over %d jobs", grown, n);
}

/* A Submit with argv {"sh", "-c", script, then n_big arguments of `size`
 * bytes}; the reply in reply. */
static int submit_big(int fd, const char *pool, const char *script, int n_big, size_t size, char *reply,
                      size_t reply_size) {
        size_t cap = 512 + (size_t) n_big * (size + 4);
        char *msg = malloc(cap);
        if (!msg)
                return -ENOMEM;
        size_t n = (size_t) snprintf(msg, cap,
                                     "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"%s\","
                                     "\"queueTimeoutMs\":600000,\"argv\":[\"sh\",\"-c\",\"%s\"",
                                     pool, script);
        for (int i = 0; i < n_big; i++) {
                msg[n++] = ',';
                msg[n++] = '"';
                memset(msg + n, 'x', size);
                n += size;
                msg[n++] = '"';
        }
        n += (size_t) snprintf(msg + n, cap - n, "]}}");
        int r = dx_raw_send(fd, msg, n + 1);
        free(msg);
        return r < 0 ? r : dx_raw_reply(fd, reply, reply_size, 60000);
}

static int flood_queue(void *arg) {
        int *accepted = arg;
        char reply[4096];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect");
        /* One job holds the pool's only slot; the rest wait, each with a
         * message of ~1 MB of arguments that the library keeps to start
         * the job later. */
        DX_CHECK(submit_big(fd, "big", "sleep 60", 0, 0, reply, sizeof reply) > 0 && dx_reply_id(reply) > 0,
                 "holder: %s", reply);
        for (*accepted = 0; *accepted < 100; (*accepted)++) {
                DX_CHECK(submit_big(fd, "big", "sleep 60", 8, 120000, reply, sizeof reply) > 0, "no reply");
                if (!dx_reply_id(reply))
                        break;
        }
        DX_CHECK(strstr(reply, "io.cgov.LimitExceeded") && strstr(reply, "specBytes"), "refusal: %s", reply);
        close(fd);
        return 0;
}

Test(attacks, what_one_tenants_jobs_keep_of_their_requests_is_bounded) {
        int *accepted = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        char policy[512];

        cr_assert_neq(accepted, MAP_FAILED);
        snprintf(policy, sizeof policy,
                 "[Pool big]\nMemoryMax=8G\nMaxJobs=1\nQueueMax=1000\nJobMemoryDefault=16M\nAllowUsers=%s\n",
                 DX_USER_A);
        dx_write_policy(policy);
        dx_stop_daemon(SIGTERM);
        dx_start_daemon();
        long before = rss_kib(dx_daemon);
        cr_assert_eq(dx_as(DX_USER_A, flood_queue, accepted), 0, "daemon log:\n%s", dx_daemon_log());
        long grown = rss_kib(dx_daemon) - before;
        /* 32 MiB of requests at most, whatever the tenant sends. */
        cr_assert_leq(*accepted, 34, "%d jobs of ~1 MB were accepted", *accepted);
        cr_assert_geq(*accepted, 20, "only %d jobs of ~1 MB were accepted", *accepted);
#if !defined(__SANITIZE_ADDRESS__)
        /* (AddressSanitizer keeps what is freed in quarantine: its RSS says
         * nothing about what cgovd holds.) */
        cr_assert_lt(grown, 48 * 1024, "cgovd grew by %ld KiB", grown);
#else
        (void) grown;
#endif

        /* Root's listing of them all still fits in a message. */
        char reply[4096];
        static const char list[] = "{\"method\":\"io.cgov.ListJobs\"}";
        int fd = dx_raw_connect();
        cr_assert_geq(fd, 0);
        cr_assert_eq(dx_raw_send(fd, list, sizeof list), 0);
        int r = dx_raw_reply(fd, reply, sizeof reply, 30000);
        cr_assert(r == -EMSGSIZE || (r > 0 && strstr(reply, "\"jobs\"")), "ListJobs: %s", reply);
        close(fd);
        munmap(accepted, sizeof(int));
}

static int long_names(void *arg) {
        char reply[8192], *msg = malloc(16384), path[4096];
        int fd = dx_raw_connect();
        DX_CHECK(msg && fd >= 0, "setup");

        /* A program name longer than a path can be is refused at once. */
        char name[5001];
        memset(name, 'a', 5000);
        name[5000] = '\0';
        snprintf(msg, 16384, "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"shared/team\",\"argv\":[\"/%s\"]}}",
                 name);
        DX_CHECK(dx_raw_send(fd, msg, strlen(msg) + 1) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0 && strstr(reply, "InvalidParameter") &&
                         strstr(reply, "argv"),
                 "5000-byte name: %s", reply);

        /* One that is a real path of ~4000 bytes runs, and is listed cut. */
        size_t n = 0;
        path[n++] = '/';
        while (n < 3980) {
                path[n++] = '.';
                path[n++] = '/';
        }
        strcpy(path + n, "bin/sleep");
        snprintf(msg, 16384,
                 "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"shared/team\",\"argv\":[\"%s\",\"30\"]}}",
                 path);
        DX_CHECK(dx_raw_send(fd, msg, strlen(msg) + 1) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0 && dx_reply_id(reply) > 0, "long path: %.200s",
                 reply);
        static const char list[] = "{\"method\":\"io.cgov.ListJobs\"}";
        DX_CHECK(dx_raw_send(fd, list, sizeof list) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0, "ListJobs");
        const char *a = strstr(reply, "\"argv0\":\"");
        DX_CHECK(a, "no argv0: %.300s", reply);
        const char *end = strchr(a + 9, '"');
        DX_CHECK(end && end - (a + 9) <= 256, "argv0 of %d bytes listed", end ? (int) (end - (a + 9)) : -1);
        close(fd);
        free(msg);
        return 0;
}

Test(attacks, a_program_name_is_bounded_as_exec_bounds_it) {
        cr_assert_eq(dx_as(DX_USER_A, long_names, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

/* ---- slots -------------------------------------------------------------------------------- */

/* Acquire on a fresh connection: the reply. */
static int acquire(const char *pool, unsigned count, char *reply, size_t size, int *ret_fd) {
        char req[256];
        int fd = dx_raw_connect();
        if (fd < 0)
                return fd;
        snprintf(req, sizeof req, "{\"method\":\"io.cgov.Acquire\",\"parameters\":{\"pool\":\"%s\",\"count\":%u}}",
                 pool, count);
        int r = dx_raw_send(fd, req, strlen(req) + 1);
        if (r >= 0)
                r = dx_raw_reply(fd, reply, size, 30000);
        *ret_fd = fd; /* kept open: the slots go with it */
        return r;
}

static int slots_of_a_group_pool(void *arg) {
        const char *want_first = arg;
        char reply[1024];
        int fd1, fd2;
        DX_CHECK(acquire("shared/group", 65536, reply, sizeof reply, &fd1) > 0, "no reply");
        DX_CHECK(strstr(reply, want_first), "first Acquire: %s (expected %s)", reply, want_first);
        DX_CHECK(acquire("shared/group", 1, reply, sizeof reply, &fd2) > 0, "no reply");
        DX_CHECK(strstr(reply, "io.cgov.LimitExceeded") && strstr(reply, "\"slots\""), "second Acquire: %s", reply);
        /* The user's slots are its jobs too: none fit beside them here. */
        close(fd2);
        /* Held until the test is done with the other user. */
        char c;
        (void) !read(STDIN_FILENO, &c, 1);
        close(fd1);
        return 0;
}

static int slots_of_b(void *arg) {
        char reply[1024];
        int fd;
        DX_CHECK(acquire("shared/group", 65536, reply, sizeof reply, &fd) > 0, "no reply");
        DX_CHECK(strstr(reply, (const char *) arg), "B's Acquire: %s (expected %s)", reply, (const char *) arg);
        close(fd);
        return 0;
}

static void slots_attack(const char *policy, const char *granted_a, const char *granted_b) {
        int hold[2];

        dx_write_policy(policy);
        dx_stop_daemon(SIGTERM);
        dx_start_daemon();
        cr_assert_eq(pipe(hold), 0);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                dup2(hold[0], STDIN_FILENO);
                close(hold[1]);
                _exit(dx_as(DX_USER_A, slots_of_a_group_pool, (void *) granted_a));
        }
        close(hold[0]);
        /* Until A holds its slots. */
        char buf[4096];
        for (int i = 0; i < 600; i++) {
                int fd = dx_raw_connect();
                static const char list[] = "{\"method\":\"io.cgov.ListPools\",\"parameters\":{\"pool\":\"shared\"}}";
                cr_assert_geq(fd, 0);
                cr_assert_eq(dx_raw_send(fd, list, sizeof list), 0);
                cr_assert_gt(dx_raw_reply(fd, buf, sizeof buf, 30000), 0);
                close(fd);
                if (!strstr(buf, "\"slotsHeld\":0"))
                        break;
                usleep(50000);
        }
        cr_assert_eq(dx_as(DX_USER_B, slots_of_b, (void *) granted_b), 0, "daemon log:\n%s", dx_daemon_log());
        close(hold[1]);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tenant A failed; daemon log:\n%s", dx_daemon_log());
}

Test(attacks, one_tenants_slots_cannot_take_every_slot_of_a_shared_parent) {
        /* By default one user holds at most 16 slots: the other gets its own. */
        slots_attack("[Pool shared]\nMemoryMax=1G\nMaxJobs=64\n"
                     "[Pool shared/group]\nAllowGroups=" DX_GROUP "\n",
                     "\"granted\":16", "\"granted\":16");
}

Test(attacks, max_slots_per_user_bounds_a_tenants_slots) {
        slots_attack("[Pool shared]\nMemoryMax=1G\nMaxJobs=64\n"
                     "[Pool shared/group]\nAllowGroups=" DX_GROUP "\nMaxSlotsPerUser=3\n",
                     "\"granted\":3", "\"granted\":3");
}

/* ---- what a job starts with --------------------------------------------------------------- */

static void loose_limits(void) {
        /* What a daemon might run with: none of it is for its tenants. */
        struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
        setrlimit(RLIMIT_STACK, &inf);
        setrlimit(RLIMIT_MEMLOCK, &inf);
        setrlimit(RLIMIT_CORE, &inf);
        setrlimit(RLIMIT_NPROC, &(struct rlimit) { 77, 77 });
}

/* Runs script in shared/team as the calling user; its stdout in out. */
static int run_script(const char *script, char *out, size_t size) {
        const char *argv[] = { "sh", "-c", script, NULL };
        struct cgov_result res;
        cgov *g = NULL;
        cgov_pool *p;
        int pipefd[2];
        int r = dx_open(&g);
        if (r < 0)
                return r;
        r = cgov_pool_find(g, "shared/team", &p);
        if (r >= 0 && pipe2(pipefd, O_CLOEXEC) < 0)
                r = -errno;
        if (r >= 0) {
                struct cgov_job_spec spec = { .argv = argv, .flags = CGOV_JOB_STDIO, .stdio = { -1, pipefd[1], 2 } };
                r = cgov_run(p, &spec, &res);
                close(pipefd[1]);
                ssize_t n = read(pipefd[0], out, size - 1);
                out[n > 0 ? n : 0] = '\0';
                close(pipefd[0]);
                if (r == 0 && (res.outcome != CGOV_OUTCOME_EXITED || res.exit_status != 0))
                        r = -ECHILD;
        }
        cgov_close(g);
        return r;
}

/* "Max stack size   8388608   unlimited   bytes": the soft and hard limit. */
static bool limit_is(const char *limits, const char *name, const char *soft, const char *hard) {
        const char *l = strstr(limits, name);
        char s[32], h[32];
        return l && sscanf(l + strlen(name), " %31s %31s", s, h) == 2 && strcmp(s, soft) == 0 &&
               strcmp(h, hard) == 0;
}

static int job_is_hardened(void *arg) {
        bool nnp = *(bool *) arg;
        char out[8192];
        int r = run_script("grep -E '^(NoNewPrivs|CapBnd):' /proc/self/status; cat /proc/self/limits; "
                           "echo tasks $(cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/pids.max)",
                           out, sizeof out);
        DX_CHECK(r == 0, "run: %s", cgov_strerror(r));
        if (nnp) {
                DX_CHECK(strstr(out, "NoNewPrivs:\t1"), "no_new_privs is off:\n%s", out);
                DX_CHECK(strstr(out, "CapBnd:\t0000000000000000"), "the bounding set is not empty:\n%s", out);
        } else {
                DX_CHECK(strstr(out, "NoNewPrivs:\t0"), "no_new_privs is on:\n%s", out);
                DX_CHECK(!strstr(out, "CapBnd:\t0000000000000000"), "the bounding set is empty:\n%s", out);
        }
        DX_CHECK(limit_is(out, "Max stack size", "8388608", "unlimited"), "stack:\n%s", out);
        DX_CHECK(limit_is(out, "Max core file size", "0", "unlimited"), "core:\n%s", out);
        DX_CHECK(limit_is(out, "Max locked memory", "8388608", "8388608"), "memlock:\n%s", out);
        DX_CHECK(!limit_is(out, "Max processes", "77", "77"), "the daemon's RLIMIT_NPROC:\n%s", out);
        DX_CHECK(strstr(out, "tasks 4096"), "the default task limit of a job:\n%s", out);
        return 0;
}

Test(attacks, a_tenants_job_has_no_new_privileges_and_limits_of_its_own) {
        bool nnp = true;
        dx_stop_daemon(SIGTERM);
        dx_daemon_exec_hook = loose_limits;
        dx_start_daemon();
        cr_assert_eq(dx_as(DX_USER_A, job_is_hardened, &nnp), 0, "daemon log:\n%s", dx_daemon_log());
}

Test(attacks, no_new_privileges_no_lets_a_pools_jobs_gain_privileges) {
        bool nnp = false;
        char policy[4096];
        /* Set on the parent: the nearest pool that sets it decides. */
        snprintf(policy, sizeof policy, "[Pool shared]\nMemoryMax=512M\nMaxJobs=4\nNoNewPrivileges=no\n"
                                        "[Pool shared/team]\nMemoryMax=256M\nMaxJobs=2\nAllowUsers=%s\n",
                 DX_USER_A);
        dx_write_policy(policy);
        dx_stop_daemon(SIGTERM);
        dx_daemon_exec_hook = loose_limits;
        dx_start_daemon();
        cr_assert_eq(dx_as(DX_USER_A, job_is_hardened, &nnp), 0, "daemon log:\n%s", dx_daemon_log());
}

/* ---- ids ---------------------------------------------------------------------------------- */

/* Submits `true`, collects it with Wait; its id. */
static int run_and_collect(void *arg) {
        static const char submit[] = "{\"method\":\"io.cgov.Submit\",\"parameters\":"
                                     "{\"pool\":\"shared/team\",\"argv\":[\"true\"]}}";
        char reply[4096], wait[256];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect");
        DX_CHECK(dx_raw_send(fd, submit, sizeof submit) == 0 && dx_raw_reply(fd, reply, sizeof reply, 30000) > 0,
                 "Submit");
        uint64_t id = dx_reply_id(reply);
        DX_CHECK(id > 0, "Submit: %s", reply);
        snprintf(wait, sizeof wait, "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":%llu}}",
                 (unsigned long long) id);
        DX_CHECK(dx_raw_send(fd, wait, strlen(wait) + 1) == 0 && dx_raw_reply(fd, reply, sizeof reply, 60000) > 0 &&
                         strstr(reply, "\"outcome\":\"exited\""),
                 "Wait: %s", reply);
        close(fd);
        FILE *f = fopen((const char *) arg, "we");
        DX_CHECK(f, "%s", (const char *) arg);
        fprintf(f, "%llu\n", (unsigned long long) id);
        fclose(f);
        return 0;
}

static uint64_t id_of_a_run(void) {
        char path[400], buf[64];
        snprintf(path, sizeof path, "%s/id", dx_dir);
        cr_assert_eq(dx_as(DX_USER_A, run_and_collect, path), 0, "daemon log:\n%s", dx_daemon_log());
        cr_assert_not_null(fx_read(dx_dir, "id", buf, sizeof buf));
        return strtoull(buf, NULL, 10);
}

Test(attacks, job_ids_keep_rising_across_restarts_that_leave_nothing) {
        cr_assert_eq(chmod(dx_dir, 0777), 0);
        uint64_t first = id_of_a_run();
        dx_stop_daemon(SIGTERM);
        dx_start_daemon();
        uint64_t second = id_of_a_run();
        cr_assert_gt(second, first, "id %llu after %llu: a tenant's 'cgov wait %llu' would get another job",
                     (unsigned long long) second, (unsigned long long) first, (unsigned long long) first);
        /* Not even the cgroup left, as when systemd removes a stopped
         * service's: the ids are in the daemon's state directory. */
        dx_stop_daemon(SIGKILL);
        fx_teardown();
        dx_start_daemon();
        cr_assert_gt(id_of_a_run(), second);
}

/* ---- a path that never answers ------------------------------------------------------------- */

/* fuse-hang as the tenant: its pid (the mount is /proc/PID/root/mnt). mode:
 * NULL, a mount that never answers; "--flush", one that answers all but
 * FLUSH, so that any close() of a file on it hangs. */
static pid_t start_fuse_hang(const char *user, const char *mode) {
        struct passwd *pw = getpwnam(user);
        int out[2];

        cr_assert_not_null(pw);
        cr_assert_eq(pipe(out), 0);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                dup2(out[1], STDOUT_FILENO);
                if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
                    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                        _exit(254);
                execl("./tests/daemon/fuse-hang", "fuse-hang", mode, (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        char buf[32] = "";
        ssize_t n = read(out[0], buf, sizeof buf - 1);
        close(out[0]);
        cr_assert_gt(n, 0, "fuse-hang did not start: is /dev/fuse open to users and user namespaces allowed?");
        cr_assert_eq(atoi(buf), pid);
        return pid;
}

static int submit_in_fuse_cwd(void *arg) {
        int *fds = arg; /* [0]: ours to fill with the connection, via the pipe fds[1] */
        char req[512];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect");
        snprintf(req, sizeof req,
                 "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"shared/group\",\"argv\":[\"true\"],"
                 "\"cwd\":\"/proc/%d/root/mnt/x\"}}",
                 fds[0]);
        DX_CHECK(dx_raw_send(fd, req, strlen(req) + 1) == 0, "send");
        /* The job's start hangs in chdir: the answer comes when the daemon
         * gives up on it. */
        char reply[4096] = "";
        int r = dx_raw_reply(fd, reply, sizeof reply, 60000);
        /* 0: the daemon stopped, which the test may have wanted; it reads
         * what we pass on. */
        DX_CHECK(r >= 0, "no answer to the Submit: %s", strerror(-r));
        FILE *f = fdopen(fds[1], "w");
        DX_CHECK(f, "fdopen");
        fputs(reply, f);
        fclose(f);
        close(fd);
        return 0;
}

/* Answered within ms: GetInfo or, as a tenant, ListPools and a job. */
static int served_quickly(void *arg) {
        static const char list[] = "{\"method\":\"io.cgov.ListPools\"}";
        static const char submit[] = "{\"method\":\"io.cgov.Submit\",\"parameters\":"
                                     "{\"pool\":\"shared/team\",\"argv\":[\"true\"]}}";
        char reply[8192];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect");
        DX_CHECK(dx_raw_send(fd, list, sizeof list) == 0, "send");
        int r = dx_raw_reply(fd, reply, sizeof reply, 1000);
        DX_CHECK(r > 0 && strstr(reply, "\"pools\""), "'cgov status' not answered within a second: %s",
                 r < 0 ? strerror(-r) : reply);
        DX_CHECK(dx_raw_send(fd, submit, sizeof submit) == 0, "send");
        r = dx_raw_reply(fd, reply, sizeof reply, 5000);
        DX_CHECK(r > 0 && dx_reply_id(reply) > 0, "a job of another tenant did not start: %s",
                 r < 0 ? strerror(-r) : reply);
        close(fd);
        return 0;
}

/* The fixture's pools, with a start timeout the test can wait for. */
static void restart_with_start_timeout_4s(void) {
        char policy[2048];
        snprintf(policy, sizeof policy, "%s\n", dx_policy);
        char *p = strstr(policy, "MaxJobs=4\n");
        cr_assert_not_null(p);
        memmove(p + 10 + 21, p + 10, strlen(p + 10) + 1);
        memcpy(p + 10, "JobStartTimeoutSec=4\n", 21);
        dx_write_policy(policy);
        dx_stop_daemon(SIGTERM);
        dx_start_daemon();
}

/* B's Submit in a cwd on hang's mount, from a child; its answer comes on
 * *answer. Returns once the job's keeper sits in the mount. */
static pid_t submit_in_hanging_cwd(pid_t hang, int *answer) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        fflush(NULL);
        pid_t tenant = fork();
        cr_assert_geq(tenant, 0);
        if (tenant == 0) {
                close(p[0]);
                int args[2] = { hang, p[1] };
                _exit(dx_as(DX_USER_B, submit_in_fuse_cwd, args));
        }
        close(p[1]);
        *answer = p[0];
        for (int i = 0; i < 100 && !strstr(dx_daemon_log(), "Connection of " DX_USER_B); i++)
                usleep(50000);
        usleep(300000);
        return tenant;
}

/* The tenant's mount goes: what was stuck in it ends, no job leaf is left,
 * and the daemon serves. */
static void end_fuse_hang(pid_t hang) {
        kill(hang, SIGKILL);
        waitpid(hang, NULL, 0);
        bool clean = false;
        for (int i = 0; i < 200 && !(clean = fx_count_leaves(fx_root) == 0); i++)
                usleep(50000);
        cr_assert(clean, "a job leaf is left:\n%s", dx_daemon_log());
        dx_assert_serving(1000);
}

Test(attacks, a_tenants_hanging_fuse_cwd_leaves_everyone_else_served) {
        char reply[4096] = "";
        int answer;

        restart_with_start_timeout_4s();
        pid_t hang = start_fuse_hang(DX_USER_B, NULL);
        pid_t tenant = submit_in_hanging_cwd(hang, &answer);

        /* Meanwhile, everyone else is served at once, again and again. */
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(dx_as(DX_USER_A, served_quickly, NULL), 0, "daemon log:\n%s", dx_daemon_log());
                dx_assert_serving(1000);
        }

        /* The hanging job is given up on: its tenant hears why. */
        ssize_t n = read(answer, reply, sizeof reply - 1);
        reply[n > 0 ? n : 0] = '\0';
        close(answer);
        int status;
        cr_assert_eq(waitpid(tenant, &status, 0), tenant);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon log:\n%s", dx_daemon_log());
        cr_assert(strstr(reply, "io.cgov.SystemError") && strstr(reply, "ETIMEDOUT"),
                  "the Submit in a hanging cwd got: %s", reply);

        end_fuse_hang(hang);
}

/* The owner's Wait, on another connection, for the id its hanging Submit is
 * about to get: once the start is given up on, the Submit is told so and
 * gets no id, and the job is forgotten — which once left this Wait parked
 * on freed memory (found by tests/fuzz/fuzz-daemon). */
static int wait_for_guessed_id(void *arg) {
        char req[256], reply[4096];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect");
        snprintf(req, sizeof req, "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":%llu}}",
                 (unsigned long long) *(uint64_t *) arg);
        DX_CHECK(dx_raw_send(fd, req, strlen(req) + 1) == 0, "send");
        int r = dx_raw_reply(fd, reply, sizeof reply, 60000);
        DX_CHECK(r > 0, "no answer to the Wait: %s", strerror(-r));
        char errno_field[32];
        snprintf(errno_field, sizeof errno_field, "\"errno\":%d", ETIMEDOUT);
        DX_CHECK(strstr(reply, "\"rejected\"") && strstr(reply, errno_field), "Wait: %s", reply);
        /* Answered once: nothing is kept of a job that got no id. */
        DX_CHECK(dx_raw_send(fd, req, strlen(req) + 1) == 0, "send");
        r = dx_raw_reply(fd, reply, sizeof reply, 30000);
        DX_CHECK(r > 0 && strstr(reply, "io.cgov.NoSuchJob"), "second Wait: %s", r < 0 ? strerror(-r) : reply);
        close(fd);
        return 0;
}

Test(attacks, a_wait_for_the_id_of_a_job_that_could_not_start_is_answered) {
        char reply[4096] = "";
        int answer;

        restart_with_start_timeout_4s();
        cr_assert_eq(chmod(dx_dir, 0777), 0);
        uint64_t id = id_of_a_run() + 1;
        pid_t hang = start_fuse_hang(DX_USER_B, NULL);
        pid_t tenant = submit_in_hanging_cwd(hang, &answer);

        cr_assert_eq(dx_as(DX_USER_B, wait_for_guessed_id, &id), 0, "daemon log:\n%s", dx_daemon_log());
        ssize_t n = read(answer, reply, sizeof reply - 1);
        reply[n > 0 ? n : 0] = '\0';
        close(answer);
        cr_assert_eq(waitpid(tenant, NULL, 0), tenant);
        cr_assert(strstr(reply, "io.cgov.SystemError") && strstr(reply, "ETIMEDOUT"), "the Submit got: %s", reply);

        end_fuse_hang(hang);
}

/* The one job leaf of shared/group, into path. */
static bool group_leaf(char *path, size_t size) {
        char dir[4120];
        snprintf(dir, sizeof dir, "%s/shared/group", fx_root);
        DIR *d = opendir(dir);
        struct dirent *de;
        bool found = false;
        while (d && !found && (de = readdir(d)))
                if (de->d_type == DT_DIR && strchr(de->d_name, '@')) {
                        snprintf(path, size, "%s/%s", dir, de->d_name);
                        found = true;
                }
        if (d)
                closedir(d);
        return found;
}

/* Whether pid is gone (or a zombie: it runs no more). */
static bool process_gone(pid_t pid) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true;
        bool zombie = fgets(buf, sizeof buf, f) && strrchr(buf, ')') && strrchr(buf, ')')[2] == 'Z';
        fclose(f);
        return zombie;
}

/* Whether pid has a SIGKILL pending: it runs none of its own code again. */
static bool sigkill_pending(pid_t pid) {
        char path[64], line[256];
        bool pending = false;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true; /* gone */
        while (fgets(line, sizeof line, f)) {
                unsigned long long mask;
                if ((sscanf(line, "SigPnd: %llx", &mask) == 1 || sscanf(line, "ShdPnd: %llx", &mask) == 1) &&
                    (mask & (1ULL << (SIGKILL - 1))))
                        pending = true;
        }
        fclose(f);
        return pending;
}

/* cgovd stopped while a tenant's job is being started in a cwd that never
 * answers. The process being started (and its keeper) share cgovd's memory
 * until it execs, and once read the job's launch after the daemon had freed
 * it (found by the fuzzer). A stop now gives such a start a second, then
 * kills it: its keeper is gone, and what it started, stuck in the tenant's
 * mount, runs no more of its code; nothing is left once the mount goes. */
Test(attacks, a_stop_while_a_start_hangs_gives_the_start_up) {
        char leaf[4500], who[64] = "";
        int answer;

        pid_t hang = start_fuse_hang(DX_USER_B, NULL);
        pid_t tenant = submit_in_hanging_cwd(hang, &answer);
        cr_assert(group_leaf(leaf, sizeof leaf), "no leaf for the starting job:\n%s", dx_daemon_log());
        cr_assert_gt(getxattr(leaf, "user.cgov.keeper", who, sizeof who - 1), 0, "%s: no keeper recorded", leaf);
        pid_t keeper = (pid_t) atoi(who);
        cr_assert(!process_gone(keeper));

        dx_stop_daemon(SIGTERM);
        bool gone = false;
        for (int i = 0; i < 100 && !(gone = process_gone(keeper)); i++)
                usleep(100000);
        cr_assert(gone, "keeper %d still runs after the daemon stopped:\n%s", (int) keeper, dx_daemon_log());
        char procs[256] = "";
        cr_assert_not_null(fx_read(leaf, "cgroup.procs", procs, sizeof procs));
        for (char *p = procs, *end; *p; p = end) {
                pid_t pid = (pid_t) strtol(p, &end, 10);
                if (end == p)
                        break;
                cr_assert(sigkill_pending(pid), "process %d of the given-up start is not killed", (int) pid);
        }
        close(answer);
        cr_assert_eq(waitpid(tenant, NULL, 0), tenant);

        /* The next daemon takes over what is left, which ends with the
         * mount. */
        dx_start_daemon();
        end_fuse_hang(hang);
}

/* B opens a file on its own FUSE mount, whose server never answers FLUSH,
 * and hands it to cgovd as a job's stdout: every close() of it hangs. */
static int submit_flushing_stdout(void *arg) {
        int *a = arg; /* [0]: the server's pid; [1]: tell the test; [2]: wait for the test */
        char path[64], req[256], reply[4096];
        snprintf(path, sizeof path, "/proc/%d/root/mnt/out", a[0]);
        int out = open(path, O_WRONLY | O_CLOEXEC);
        DX_CHECK(out >= 0, "open %s: %m", path);
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect");
        snprintf(req, sizeof req,
                 "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"shared/group\","
                 "\"argv\":[\"echo\",\"hello\"],\"stdio\":[null,0,null]}}");
        DX_CHECK(dx_raw_send_fds(fd, req, strlen(req) + 1, &out, 1) == 0, "send");
        int r = dx_raw_reply(fd, reply, sizeof reply, 60000);
        DX_CHECK(r > 0 && dx_reply_id(reply) > 0, "Submit: %s", r < 0 ? strerror(-r) : reply);
        DX_CHECK(write(a[1], "x", 1) == 1, "tell");
        /* Our own copy of the file hangs our close too: we keep it until
         * the test has let go of the server. */
        char c;
        (void) !read(a[2], &c, 1);
        return 0;
}

Test(attacks, a_tenants_file_whose_close_never_returns_holds_up_nobody) {
        int told[2], release[2];
        char c;

        pid_t hang = start_fuse_hang(DX_USER_B, "--flush");
        cr_assert_eq(pipe(told), 0);
        cr_assert_eq(pipe(release), 0);
        fflush(NULL);
        pid_t tenant = fork();
        cr_assert_geq(tenant, 0);
        if (tenant == 0) {
                int args[3] = { hang, told[1], release[0] };
                _exit(dx_as(DX_USER_B, submit_flushing_stdout, args));
        }
        cr_assert_eq(read(told[0], &c, 1), 1, "B's job was not accepted:\n%s", dx_daemon_log());

        /* cgovd has closed its copies of the file by now, or tried: it
         * serves everyone else all the same. */
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(dx_as(DX_USER_A, served_quickly, NULL), 0, "daemon log:\n%s", dx_daemon_log());
                dx_assert_serving(1000);
                usleep(200000);
        }

        /* Once the server goes, every close returns, and nothing is left:
         * no leaf, no closer. */
        kill(hang, SIGKILL);
        waitpid(hang, NULL, 0);
        cr_assert_eq(write(release[1], "x", 1), 1);
        int status;
        cr_assert_eq(waitpid(tenant, &status, 0), tenant);
        bool clean = false;
        for (int i = 0; i < 200 && !(clean = fx_count_leaves(fx_root) == 0 && system("pgrep -x cgov-closer >/dev/null") != 0);
             i++)
                usleep(50000);
        cr_assert(clean, "a job leaf or a closer is left:\n%s", dx_daemon_log());
        dx_assert_serving(1000);
}
