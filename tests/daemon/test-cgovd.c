/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgovd on a real kernel, reached through libcgov's client mode by two
 * unprivileged tenants and by root: jobs run as their user, refusals name
 * pool and figures, tenants cannot see or touch each other's pools and jobs,
 * job leaves stay out of a job's reach, slots return with the connection,
 * reloads apply, and a kill -9 of the daemon loses no job. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "daemon-fixture.h"
#include "protocol.h"

TestSuite(cgovd, .init = dx_setup, .fini = dx_teardown, .timeout = 180);

/* Runs argv in pool (NULL: the default) as the current identity, output in out. */
static int run_capture(const char *pool, const char *const *argv, uint64_t memory, struct cgov_result *res,
                       char *out, size_t size) {
        cgov *g = NULL;
        cgov_pool *p = NULL;
        int pipefd[2], r;

        r = dx_open(&g);
        if (r < 0) {
                fprintf(stderr, "cgov_open: %s\n", cgov_strerror(r));
                return r;
        }
        r = pool ? cgov_pool_find(g, pool, &p) : client_pool_find(g, NULL, &p);
        if (r < 0) {
                cgov_close(g);
                return r;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        struct cgov_job_spec spec = {
                .argv = argv,
                .memory_max = memory,
                .flags = CGOV_JOB_STDIO,
                .stdio = { -1, pipefd[1], 2 },
        };
        r = cgov_run(p, &spec, res);
        close(pipefd[1]);
        ssize_t n = read(pipefd[0], out, size - 1);
        out[n > 0 ? n : 0] = '\0';
        close(pipefd[0]);
        cgov_close(g);
        return r;
}

/* ---- as a tenant ---------------------------------------------------------------- */

static int runs_as_user(void *arg) {
        const char *argv[] = { "sh", "-c", "echo $(id -u) $(id -g) $(id -G) $HOME $(pwd)", NULL };
        struct cgov_result res;
        char out[512], want[512];
        struct passwd *pw = getpwuid(getuid());
        struct group *gr = getgrnam(DX_GROUP);

        int r = run_capture("shared/team", argv, 0, &res, out, sizeof out);
        DX_CHECK(r == 0, "cgov_run: %s", cgov_strerror(r));
        DX_CHECK(res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0, "outcome %d status %d", res.outcome,
                 res.exit_status);
        /* uid, primary gid, the groups (primary first, then the test group),
         * HOME from the user database, cwd: the caller's (/tmp). */
        snprintf(want, sizeof want, "%u %u %u %u %s /tmp\n", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid,
                 (unsigned) pw->pw_gid, (unsigned) gr->gr_gid, pw->pw_dir);
        DX_CHECK(strcmp(out, want) == 0, "job printed '%s', expected '%s'", out, want);
        return 0;
}

Test(cgovd, a_tenants_job_runs_with_its_uid_groups_home_and_cwd) {
        cr_assert_eq(dx_as(DX_USER_A, runs_as_user, NULL), 0, "see the log above; daemon log:\n%s", dx_daemon_log());
}

static int exit_code_and_output(void *arg) {
        const char *argv[] = { "sh", "-c", "echo hello; exit 7", NULL };
        struct cgov_result res;
        char out[64];

        int r = run_capture("shared/team", argv, 0, &res, out, sizeof out);
        DX_CHECK(r == 0, "cgov_run: %s", cgov_strerror(r));
        DX_CHECK(res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 7, "outcome %d status %d", res.outcome,
                 res.exit_status);
        DX_CHECK(strcmp(out, "hello\n") == 0, "output '%s'", out);
        return 0;
}

Test(cgovd, a_tenant_gets_the_exit_code_and_output_of_its_job) {
        cr_assert_eq(dx_as(DX_USER_A, exit_code_and_output, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

static int refused(void *arg) {
        const char *argv[] = { "true", NULL };
        struct cgov_result res;
        char out[64];

        /* Above JobMemoryMax=128M of shared/team. */
        int r = run_capture("shared/team", argv, 200 << 20, &res, out, sizeof out);
        DX_CHECK(r == CGOV_E_INSUFFICIENT_MEMORY, "cgov_run: %s", cgov_strerror(r));
        DX_CHECK(res.outcome == CGOV_OUTCOME_REJECTED && strcmp(res.rejected_by, "shared/team") == 0, "by '%s'",
                 res.rejected_by);
        DX_CHECK(res.requested == 200 << 20 && res.limit == 128 << 20, "figures %llu %llu",
                 (unsigned long long) res.requested, (unsigned long long) res.limit);

        /* The default pool (shared/<user>, 128M) refuses 129M at once. */
        r = run_capture(NULL, argv, 129 << 20, &res, out, sizeof out);
        DX_CHECK(r == CGOV_E_INSUFFICIENT_MEMORY, "cgov_run: %s", cgov_strerror(r));
        char want[128];
        snprintf(want, sizeof want, "shared/%s", getpwuid(getuid())->pw_name);
        DX_CHECK(strcmp(res.rejected_by, want) == 0, "by '%s', not %s", res.rejected_by, want);
        DX_CHECK(res.available == 128 << 20 && res.limit == 128 << 20, "available %llu",
                 (unsigned long long) res.available);
        return 0;
}

Test(cgovd, a_refusal_names_the_pool_and_the_figures) {
        cr_assert_eq(dx_as(DX_USER_A, refused, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

static int default_pool(void *arg) {
        cgov *g;
        cgov_pool *p;
        char want[128];

        DX_CHECK(dx_open(&g) == 0, "open");
        int r = client_pool_find(g, NULL, &p);
        DX_CHECK(r == 0, "default pool: %s", cgov_strerror(r));
        snprintf(want, sizeof want, "shared/%s", getpwuid(getuid())->pw_name);
        DX_CHECK(strcmp(cgov_pool_path(p), want) == 0, "default pool %s", cgov_pool_path(p));
        cgov_close(g);
        return 0;
}

Test(cgovd, a_tenants_default_pool_is_its_own_instance_made_on_first_use) {
        char dir[4400];
        cr_assert_eq(dx_as(DX_USER_B, default_pool, NULL), 0, "daemon log:\n%s", dx_daemon_log());
        snprintf(dir, sizeof dir, "%s/shared/%s", fx_root, DX_USER_B);
        cr_assert(fx_exists(dir), "%s was not made", dir);
        cr_assert_eq(fx_read_u64(dir, "memory.max"), 128 << 20);
}

static int group_pool(void *arg) {
        const char *argv[] = { "true", NULL };
        struct cgov_result res;
        char out[8];
        int r = run_capture("shared/group", argv, 16 << 20, &res, out, sizeof out);
        DX_CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED, "cgov_run: %s", cgov_strerror(r));
        return 0;
}

Test(cgovd, a_member_of_an_allowed_group_may_use_the_pool) {
        cr_assert_eq(dx_as(DX_USER_B, group_pool, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

/* ---- isolation ------------------------------------------------------------------- */

static int others_pools_do_not_exist(void *arg) {
        cgov *g;
        cgov_pool *p;
        char other[128];

        DX_CHECK(dx_open(&g) == 0, "open");
        int r = cgov_pool_find(g, "shared/team", &p);
        DX_CHECK(r == -ENOENT, "shared/team: %s", cgov_strerror(r));
        snprintf(other, sizeof other, "shared/%s", DX_USER_A);
        r = cgov_pool_find(g, other, &p);
        DX_CHECK(r == -ENOENT, "%s: %s", other, cgov_strerror(r));
        r = cgov_pool_find(g, "shared", &p);
        DX_CHECK(r == -ENOENT, "shared: %s", cgov_strerror(r));
        cgov_close(g);
        return 0;
}

Test(cgovd, a_tenant_cannot_see_or_use_another_tenants_pools) {
        cr_assert_eq(dx_as(DX_USER_B, others_pools_do_not_exist, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

static uint64_t shared_id;

static int submit_sleeper(void *arg) {
        cgov *g;
        cgov_pool *p;
        cgov_job *j;
        const char *argv[] = { "sleep", "60", NULL };

        DX_CHECK(dx_open(&g) == 0, "open");
        DX_CHECK(cgov_pool_find(g, "shared/team", &p) == 0, "find");
        struct cgov_job_spec spec = { .argv = argv, .name = "sleeper" };
        int r = cgov_submit(p, &spec, &j);
        DX_CHECK(r == 0, "submit: %s", cgov_strerror(r));
        /* Hand the id to the test through a file: the child's memory is its own. */
        FILE *f = fopen((const char *) arg, "we");
        DX_CHECK(f, "%s", (const char *) arg);
        fprintf(f, "%llu\n", (unsigned long long) client_job_id(j));
        fclose(f);
        cgov_job_free(j);
        cgov_close(g);
        return 0;
}

static int cannot_touch(void *arg) {
        cgov *g;
        cgov_job *j;
        cgov_pool *p;

        DX_CHECK(dx_open(&g) == 0, "open");
        int r = client_job_attach(g, shared_id, &j);
        DX_CHECK(r == -ESRCH, "attach to the other's job: %s", cgov_strerror(r));
        DX_CHECK(client_pool_find(g, NULL, &p) == 0, "own pool");
        r = cgov_kill_by_name(p, "sleeper");
        DX_CHECK(r == 0, "kill_by_name in own pool killed %d", r);
        json_object *reply = NULL, *params = json_object_new_object();
        json_object_object_add(params, "name", json_object_new_string("sleeper"));
        r = client_call(g, "KillByName", params, NULL, 0, &reply, NULL);
        DX_CHECK(r == 0, "KillByName: %s", cgov_strerror(r));
        json_object *killed;
        DX_CHECK(json_object_object_get_ex(reply, "killed", &killed) && json_object_get_int(killed) == 0,
                 "killed someone else's job");
        json_object_put(reply);
        reply = NULL;
        r = client_call(g, "ListJobs", NULL, NULL, 0, &reply, NULL);
        DX_CHECK(r == 0, "ListJobs: %s", cgov_strerror(r));
        json_object *jobs;
        DX_CHECK(json_object_object_get_ex(reply, "jobs", &jobs) && json_object_array_length(jobs) == 0,
                 "sees %zu jobs", json_object_array_length(jobs));
        json_object_put(reply);
        cgov_close(g);
        return 0;
}

static int kill_own(void *arg) {
        cgov *g;
        cgov_job *j;
        struct cgov_result res;

        DX_CHECK(dx_open(&g) == 0, "open");
        int r = client_job_attach(g, shared_id, &j);
        DX_CHECK(r == 0, "attach to own job: %s", cgov_strerror(r));
        DX_CHECK(cgov_job_pid(j) > 0, "no pid");
        DX_CHECK(cgov_kill(j) == 0, "kill");
        r = cgov_await(j, -1, &res);
        DX_CHECK(r == 0 && res.outcome == CGOV_OUTCOME_KILLED, "await: %s, outcome %d", cgov_strerror(r), res.outcome);
        cgov_job_free(j);
        cgov_close(g);
        return 0;
}

static uint64_t read_id(const char *path) {
        unsigned long long id = 0;
        FILE *f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_assert_eq(fscanf(f, "%llu", &id), 1);
        fclose(f);
        return id;
}

Test(cgovd, a_tenant_cannot_see_or_kill_another_tenants_job) {
        char idfile[300];
        snprintf(idfile, sizeof idfile, "%s/id", dx_dir);
        cr_assert_eq(chmod(dx_dir, 0777), 0);
        cr_assert_eq(dx_as(DX_USER_A, submit_sleeper, idfile), 0, "daemon log:\n%s", dx_daemon_log());
        shared_id = read_id(idfile);
        cr_assert_eq(dx_as(DX_USER_B, cannot_touch, NULL), 0, "daemon log:\n%s", dx_daemon_log());
        /* Still running: its owner kills it. */
        cr_assert_eq(dx_as(DX_USER_A, kill_own, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

static int jailed(void *arg) {
        const char *script = "cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); "
                             "echo $$ 2>/dev/null > $cg/../cgroup.procs && echo escaped; "
                             "echo max 2>/dev/null > $cg/memory.max && echo raised; "
                             "echo max 2>/dev/null > $cg/../memory.max && echo raised-pool; "
                             "echo done";
        const char *argv[] = { "sh", "-c", script, NULL };
        struct cgov_result res;
        char out[256];
        int r = run_capture("shared/team", argv, 0, &res, out, sizeof out);
        DX_CHECK(r == 0, "cgov_run: %s", cgov_strerror(r));
        DX_CHECK(strcmp(out, "done\n") == 0, "the job got out of its limits: '%s'", out);
        return 0;
}

Test(cgovd, a_job_can_neither_leave_its_leaf_nor_raise_a_limit) {
        cr_assert_eq(dx_as(DX_USER_A, jailed, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

static int no_admin_calls(void *arg) {
        cgov *g;
        cgov_pool *p;
        struct cgov_pool_limits lim = { .memory_max = 1 << 30 };
        json_object *reply = NULL;

        DX_CHECK(dx_open(&g) == 0, "open");
        int r = cgov_pool_create(g, "shared/mine", &lim, &p);
        DX_CHECK(r == -EPERM, "pool_create: %s", cgov_strerror(r));
        DX_CHECK(cgov_pool_find(g, "shared/team", &p) == 0, "find");
        DX_CHECK(cgov_pool_set_limits(p, &lim) == -EPERM, "set_limits allowed");
        DX_CHECK(cgov_pool_release(p) == -EPERM, "release allowed");
        r = client_call(g, "Reload", NULL, NULL, 0, &reply, NULL);
        DX_CHECK(r == -EPERM, "Reload: %s", cgov_strerror(r));
        cgov_close(g);
        return 0;
}

Test(cgovd, a_tenant_cannot_change_pools_or_reload) {
        cr_assert_eq(dx_as(DX_USER_A, no_admin_calls, NULL), 0, "daemon log:\n%s", dx_daemon_log());
}

/* ---- slots ------------------------------------------------------------------------- */

static int slots(void *arg) {
        cgov *g1, *g2;
        cgov_pool *p1, *p2;

        DX_CHECK(dx_open(&g1) == 0 && dx_open(&g2) == 0, "open");
        DX_CHECK(cgov_pool_find(g1, "shared/team", &p1) == 0 && cgov_pool_find(g2, "shared/team", &p2) == 0, "find");
        DX_CHECK(cgov_acquire(p1, 3) == 2, "MaxJobs=2 grants 2 of 3");
        DX_CHECK(cgov_acquire(p2, 1) == 0, "none left");
        DX_CHECK(cgov_release(p2, 1) == -EINVAL, "released what it did not hold");
        DX_CHECK(cgov_release(p1, 1) == 0, "release one");
        DX_CHECK(cgov_acquire(p2, 1) == 1, "the released one");
        cgov_close(g1); /* its remaining slot goes back with the connection */
        for (int i = 0; i < 100; i++) {
                if (cgov_acquire(p2, 1) == 1)
                        break;
                usleep(20000);
                DX_CHECK(i < 99, "the closed connection's slot never came back");
        }
        struct cgov_pool_status st;
        DX_CHECK(cgov_pool_status(p2, &st) == 0 && st.slots_held == 2, "slots_held %u", st.slots_held);
        cgov_close(g2);
        return 0;
}

Test(cgovd, slots_go_back_when_the_connection_closes) {
        cr_assert_eq(dx_as(DX_USER_A, slots, NULL), 0, "daemon log:\n%s", dx_daemon_log());
        /* And the second connection's too. */
        cgov *g;
        cgov_pool *p;
        struct cgov_pool_status st;
        cr_assert_eq(dx_open(&g), 0);
        cr_assert_eq(cgov_pool_find(g, "shared/team", &p), 0);
        for (int i = 0; i < 100 && (cgov_pool_status(p, &st) < 0 || st.slots_held > 0); i++)
                usleep(20000);
        cr_assert_eq(st.slots_held, 0);
        cgov_close(g);
}

/* ---- restart ------------------------------------------------------------------------ */

static int await_across_restart(void *arg) {
        cgov *g;
        cgov_pool *p;
        cgov_job *j;
        struct cgov_result res;
        char *marker = arg;
        char script[512];

        snprintf(script, sizeof script, "sleep 3; echo finished > %s", marker);
        const char *argv[] = { "sh", "-c", script, NULL };
        DX_CHECK(dx_open(&g) == 0, "open");
        DX_CHECK(cgov_pool_find(g, "shared/team", &p) == 0, "find");
        struct cgov_job_spec spec = { .argv = argv, .name = "survivor" };
        DX_CHECK(cgov_submit(p, &spec, &j) == 0, "submit");
        /* Tell the parent to kill the daemon now. */
        putchar('x');
        fflush(stdout);
        int r = cgov_await(j, 60000, &res);
        DX_CHECK(r == 0, "await across the restart: %s", cgov_strerror(r));
        DX_CHECK(res.outcome == CGOV_OUTCOME_EXITED || res.outcome == CGOV_OUTCOME_UNKNOWN, "outcome %d",
                 res.outcome);
        cgov_job_free(j);
        cgov_close(g);
        return 0;
}

typedef struct Restart {
        char marker[300];
        int ready[2];
} Restart;

static int restart_child(void *arg) {
        Restart *rs = arg;
        dup2(rs->ready[1], STDOUT_FILENO);
        return await_across_restart(rs->marker);
}

Test(cgovd, a_kill_9_of_the_daemon_loses_no_job) {
        Restart rs;
        char c;
        cr_assert_eq(chmod(dx_dir, 0777), 0);
        snprintf(rs.marker, sizeof rs.marker, "%s/marker", dx_dir);
        cr_assert_eq(pipe(rs.ready), 0);

        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(dx_as(DX_USER_A, restart_child, &rs));
        close(rs.ready[1]);
        cr_assert_eq(read(rs.ready[0], &c, 1), 1, "the tenant never submitted:\n%s", dx_daemon_log());

        dx_stop_daemon(SIGKILL);
        usleep(500000);
        dx_start_daemon();

        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the tenant's await failed; daemon log:\n%s",
                  dx_daemon_log());
        char buf[64];
        cr_assert_not_null(fx_read(dx_dir, "marker", buf, sizeof buf), "the job did not run to its end");
        cr_assert_str_eq(buf, "finished\n");
        cr_assert(strstr(dx_daemon_log(), "Re-adopted job"), "no re-adoption logged:\n%s", dx_daemon_log());
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

/* ---- policy ------------------------------------------------------------------------ */

Test(cgovd, reload_applies_changed_limits_and_releases_removed_pools) {
        cgov *g;
        cgov_pool *p;
        struct cgov_pool_status st;

        dx_write_policy("[Pool shared]\nMemoryMax=1G\nMaxJobs=4\n[Pool shared/%u]\nMemoryMax=64M\n");
        cr_assert_eq(kill(dx_daemon, SIGHUP), 0);
        cr_assert_eq(dx_open(&g), 0);
        for (int i = 0; i < 300; i++) {
                if (cgov_pool_find(g, "shared/team", &p) == -ENOENT)
                        break;
                usleep(10000);
        }
        cr_assert_eq(cgov_pool_find(g, "shared/team", &p), -ENOENT, "shared/team still there:\n%s", dx_daemon_log());
        cr_assert_eq(cgov_pool_find(g, "shared", &p), 0);
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_assert_eq(st.memory_max, 1 << 30);
        cr_assert_eq(fx_read_u64(cgov_pool_cgroup(p), "memory.max"), 1 << 30);
        cgov_close(g);
}

Test(cgovd, a_reload_with_errors_keeps_the_current_policy) {
        cgov *g;
        cgov_pool *p;
        json_object *reply = NULL;
        struct cgov_result res;

        dx_write_policy("[Pool shared]\nMemoryMax=lots\n");
        cr_assert_eq(dx_open(&g), 0);
        int r = client_call(g, "Reload", NULL, NULL, 0, &reply, &res);
        cr_assert_eq(r, -EBADMSG, "Reload: %s", cgov_strerror(r));
        cr_assert_eq(cgov_pool_find(g, "shared/team", &p), 0, "the old policy was dropped");
        cgov_close(g);
}

/* ---- bad input on the socket --------------------------------------------------------- */

static int raw_connect(void) {
        int fd = dx_raw_connect();
        cr_assert_geq(fd, 0, "connect: %s", strerror(-fd));
        return fd;
}

/* Sends raw bytes; returns the reply (up to its NUL) or "" at EOF. */
static const char *raw_exchange(int fd, const void *msg, size_t len) {
        static char buf[4096];
        if (len > 0)
                cr_assert_eq(dx_raw_send(fd, msg, len), 0);
        int r = dx_raw_reply(fd, buf, sizeof buf, 20000);
        if (r == -ECONNRESET)
                buf[0] = '\0'; /* closed, as EOF */
        else
                cr_assert_geq(r, 0, "no reply: %s", strerror(-r));
        return buf;
}

static void assert_still_serving(void) {
        dx_assert_serving(20000);
}

Test(cgovd, malformed_requests_get_an_error_reply_and_change_nothing) {
        static const struct {
                const char *msg, *error;
        } cases[] = {
                { "{\"method\":\"io.cgov.Nope\"}", "org.varlink.service.MethodNotFound" },
                { "{\"method\":42}", "org.varlink.service.InvalidParameter" },
                { "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"argv\":\"true\"}}",
                  "org.varlink.service.InvalidParameter" },
                { "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"argv\":[\"true\"],\"memoryMax\":-1}}",
                  "org.varlink.service.InvalidParameter" },
                { "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"argv\":[\"true\"],\"pool\":\"../etc\"}}",
                  "io.cgov.NoSuchPool" },
                { "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"argv\":[\"true\"],\"stdio\":[5,null,null]}}",
                  "org.varlink.service.InvalidParameter" },
                { "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":\"1\"}}", "org.varlink.service.InvalidParameter" },
                { "{\"method\":\"io.cgov.GetInfo\",\"parameters\":{\"extra\":1}}",
                  "org.varlink.service.InvalidParameter" },
                { "{\"method\":\"io.cgov.GetInfo\",\"oneway\":true}", "org.varlink.service.InvalidParameter" },
        };
        int fd = raw_connect();
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const char *reply = raw_exchange(fd, cases[i].msg, strlen(cases[i].msg) + 1);
                cr_assert(strstr(reply, cases[i].error), "%s got '%s', not %s", cases[i].msg, reply, cases[i].error);
        }
        close(fd);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
        assert_still_serving();
}

Test(cgovd, garbage_a_huge_message_or_an_fd_flood_closes_the_connection_only) {
        int fd = raw_connect();
        const char garbage[] = "{not json";
        const char *reply = raw_exchange(fd, garbage, sizeof garbage);
        cr_assert(strstr(reply, "InvalidParameter"), "garbage got '%s'", reply);
        cr_assert_str_eq(raw_exchange(fd, NULL, 0), "", "the connection stayed open after garbage");
        close(fd);

        /* 2 MiB without a NUL. */
        fd = raw_connect();
        size_t big = 2u << 20;
        char *huge = malloc(big);
        memset(huge, ' ', big);
        huge[0] = '{';
        (void) send(fd, huge, big, MSG_NOSIGNAL);
        free(huge);
        cr_assert_str_eq(raw_exchange(fd, NULL, 0), "", "a huge message did not close the connection");
        close(fd);

        /* 16 fds with one message. */
        fd = raw_connect();
        int fds[16];
        for (int i = 0; i < 16; i++)
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char cmsgbuf[CMSG_SPACE(sizeof fds)];
        const char req[] = "{\"method\":\"io.cgov.GetInfo\"}";
        struct iovec iov = { (void *) req, sizeof req };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsgbuf, .msg_controllen = sizeof cmsgbuf };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof fds);
        memcpy(CMSG_DATA(cm), fds, sizeof fds);
        cr_assert_geq(sendmsg(fd, &mh, MSG_NOSIGNAL), 0);
        for (int i = 0; i < 16; i++)
                close(fds[i]);
        cr_assert_str_eq(raw_exchange(fd, NULL, 0), "", "an fd flood did not close the connection");
        close(fd);

        /* Half-closed after a request: answered or closed, nothing else. */
        fd = raw_connect();
        (void) send(fd, req, sizeof req, MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
        reply = raw_exchange(fd, NULL, 0);
        cr_assert(reply[0] == '\0' || strstr(reply, "\"version\":1"), "half-closed got '%s'", reply);
        close(fd);

        assert_still_serving();
}

static int connection_bound(void *arg) {
        cgov *g[70];
        int n = 0, r = 0;
        for (; n < 70; n++) {
                r = dx_open(&g[n]);
                if (r < 0)
                        break;
        }
        DX_CHECK(n == 64 && r == -EUSERS, "opened %d, then %s", n, cgov_strerror(r));
        for (int i = 0; i < n; i++)
                cgov_close(g[i]);
        return 0;
}

Test(cgovd, one_user_cannot_hold_more_than_64_connections) {
        cr_assert_eq(dx_as(DX_USER_A, connection_bound, NULL), 0, "daemon log:\n%s", dx_daemon_log());
        assert_still_serving(); /* root, and the user's connections are gone */
}
