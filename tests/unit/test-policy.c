/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)

/* Names that exist on every Debian system: root (user and group). */

static char dir[] = "/tmp/cgov-test-policy-XXXXXX";

static void setup(void) {
        cr_assert_not_null(mkdtemp(dir));
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void teardown(void) {
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(policy, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *text) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "we");
        cr_assert_not_null(f, "cannot create %s", path);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
}

static char *file_path(const char *name) {
        static char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        return path;
}

static int load(const char *text, Policy **ret, PolicyDiagnostics *diag) {
        return policy_load_string("test.pool", text, strlen(text), 0, ret, diag);
}

static void dump(const PolicyDiagnostics *d) {
        for (size_t i = 0; i < d->n_items; i++)
                cr_log_info("%s:%u: %s: %s: %s", d->items[i].file, d->items[i].line, d->items[i].key ?: "-",
                            policy_severity_to_string(d->items[i].severity), d->items[i].message);
}

static const PolicyDiagnostic *diag_at(const PolicyDiagnostics *d, const char *file, unsigned line) {
        for (size_t i = 0; i < d->n_items; i++)
                if (d->items[i].line == line && (!file || strcmp(d->items[i].file, file) == 0))
                        return &d->items[i];
        return NULL;
}

/* text must be refused with exactly one error, at line, about key (NULL:
 * none), whose message contains what. */
static void expect_error(const char *text, unsigned line, const char *key, const char *what) {
        Policy *p = NULL;
        PolicyDiagnostics d = {};
        int r = load(text, &p, &d);

        dump(&d);
        cr_assert_eq(r, -EBADMSG, "accepted:\n%s", text);
        cr_assert_null(p);
        cr_assert_eq(d.n_errors, 1, "%zu errors for:\n%s", d.n_errors, text);
        const PolicyDiagnostic *e = diag_at(&d, "test.pool", line);
        cr_assert_not_null(e, "no diagnostic at line %u for:\n%s", line, text);
        cr_expect_eq(e->severity, POLICY_ERROR);
        if (key)
                cr_expect_str_eq(e->key ?: "(null)", key);
        else
                cr_expect_null(e->key, "key %s", e->key);
        cr_expect_not_null(strstr(e->message, what), "message \"%s\" lacks \"%s\"", e->message, what);
        policy_diagnostics_done(&d);
}

static const char hosting[] =
        "# comment\n"
        "; another comment\n"
        "[Pool shared]\n"
        "MemoryMax=10G\n"
        "MaxJobs=64\n"
        "TasksMax=4096\n"
        "\n"
        "[Pool shared/customer-a]\n"
        "MemoryMax=5G\n"
        "MaxJobs=8\n"
        "JobMemoryDefault=256M\n"
        "JobMemoryMax=2G          # largest reservation one job may ask for\n"
        "JobTimeoutSec=1h         # default wall-clock limit of a job\n"
        "QueueMax=16\n"
        "QueueTimeoutSec=30s ; semicolons too\n"
        "AllowUsers=root\n"
        "AllowGroups=root\n"
        "AdminUsers=root\n"
        "AdminGroups=root\n"
        "\n"
        "[Pool shared/%u]         # one instance per requesting user\n"
        "MemoryMax=1G\n"
        "MaxJobs=2\n";

Test(policy, the_issue_example_loads_with_its_figures) {
        Policy *p = NULL;
        PolicyDiagnostics d = {};

        write_file("hosting.pool", hosting);
        cr_assert_eq(policy_load_dir(dir, 0, &p, &d), 0);
        dump(&d);
        cr_assert_eq(d.n_items, 0);
        cr_assert_eq(p->n_pools, 3);
        cr_assert_eq(p->n_files, 1);

        const PolicyPool *shared = policy_find(p, "shared");
        cr_assert_not_null(shared);
        cr_expect_eq(shared->lim.memory_max, 10 * G);
        cr_expect_eq(shared->lim.max_jobs, 64);
        cr_expect_eq(shared->lim.pids_max, 4096);
        cr_expect_eq(shared->lim.job_memory_default, 0);
        cr_expect_eq(shared->depth, 1);
        cr_expect_eq(shared->parent, SIZE_MAX);
        cr_expect_not(shared->instance);
        cr_expect_str_eq(shared->file, file_path("hosting.pool"));
        cr_expect_eq(shared->line, 3);
        cr_expect_null(shared->allow_users[0]);

        const PolicyPool *a = policy_find(p, "shared/customer-a");
        cr_assert_not_null(a);
        cr_expect_eq(a->lim.memory_max, 5 * G);
        cr_expect_eq(a->lim.max_jobs, 8);
        cr_expect_eq(a->lim.pids_max, 0);
        cr_expect_eq(a->lim.job_memory_default, 256 * M);
        cr_expect_eq(a->job_memory_max, 2 * G);
        cr_expect_eq(a->job_timeout_ms, 3600 * 1000);
        cr_expect_eq(a->lim.max_queue, 16);
        cr_expect_eq(a->lim.queue_timeout_ms, 30 * 1000);
        cr_expect_str_eq(a->allow_users[0], "root");
        cr_expect_null(a->allow_users[1]);
        cr_expect_str_eq(a->allow_groups[0], "root");
        cr_expect_str_eq(a->admin_users[0], "root");
        cr_expect_str_eq(a->admin_groups[0], "root");
        cr_expect_eq(a->depth, 2);
        cr_expect_eq(&p->pools[a->parent], shared);
        cr_expect_eq(a->line, 8);

        const PolicyPool *u = policy_find(p, "shared/%u");
        cr_assert_not_null(u);
        cr_expect(u->instance);
        cr_expect_eq(u->lim.memory_max, 1 * G);
        cr_expect_eq(u->lim.max_jobs, 2);
        cr_expect_eq(&p->pools[u->parent], shared);

        cr_expect_null(policy_find(p, "shared/customer-b"));
        policy_free(p);
        policy_diagnostics_done(&d);
}

Test(policy, pools_come_parents_first_in_depth_first_order) {
        Policy *p = NULL;
        const char *text = "[Pool b/x/y]\n[Pool a-b]\n[Pool b/x]\n[Pool a/z]\n[Pool a]\n[Pool b]\n";
        const char *order[] = { "a", "a/z", "a-b", "b", "b/x", "b/x/y" };

        cr_assert_eq(load(text, &p, NULL), 0);
        cr_assert_eq(p->n_pools, 6);
        for (size_t i = 0; i < 6; i++) {
                cr_expect_str_eq(p->pools[i].path, order[i]);
                cr_expect(p->pools[i].parent == SIZE_MAX || p->pools[i].parent < i);
        }
        policy_free(p);
}

Test(policy, a_section_without_keys_defines_a_pool_with_defaults) {
        Policy *p = NULL;
        cr_assert_eq(load("[Pool shared]\n[Pool shared/team]\nMaxJobs=3\n", &p, NULL), 0);
        cr_assert_eq(p->n_pools, 2);
        const PolicyPool *s = policy_find(p, "shared");
        cr_assert_not_null(s);
        cr_expect_eq(s->lim.memory_max, 0);
        cr_expect_eq(s->lim.max_jobs, 0);
        policy_free(p);
}

Test(policy, infinity_and_zero_timeouts_mean_no_limit) {
        Policy *p = NULL;
        const char *text = "[Pool a]\nMemoryMax=infinity\nMaxJobs=infinity\nTasksMax=infinity\n"
                           "JobMemoryMax=infinity\nJobTimeoutSec=infinity\nQueueMax=0\nQueueTimeoutSec=0\n";
        cr_assert_eq(load(text, &p, NULL), 0);
        const PolicyPool *a = policy_find(p, "a");
        cr_expect_eq(a->lim.memory_max, 0);
        cr_expect_eq(a->lim.max_jobs, 0);
        cr_expect_eq(a->lim.pids_max, 0);
        cr_expect_eq(a->job_memory_max, 0);
        cr_expect_eq(a->job_timeout_ms, 0);
        cr_expect_eq(a->lim.max_queue, 0);
        cr_expect_eq(a->lim.queue_timeout_ms, 0);
        policy_free(p);
}

Test(policy, the_keys_with_a_daemon_default_are_unset_until_written) {
        Policy *p = NULL;
        const char *text = "[Pool a]\n"
                           "[Pool a/b]\nJobTasksMax=100\nJobStartTimeoutSec=5s\nMaxSlotsPerUser=0\nNoNewPrivileges=no\n"
                           "[Pool a/c]\nJobTasksMax=infinity\nJobStartTimeoutSec=infinity\nMaxSlotsPerUser=infinity\n"
                           "NoNewPrivileges=yes\n"
                           "[Pool a/d]\nJobTasksMax=7\nJobTasksMax=\nMaxSlotsPerUser=3\nMaxSlotsPerUser=\n";
        cr_assert_eq(load(text, &p, NULL), 0);
        const PolicyPool *a = policy_find(p, "a"), *b = policy_find(p, "a/b"), *c = policy_find(p, "a/c"),
                         *d = policy_find(p, "a/d");
        cr_expect_eq(a->job_tasks_max, POLICY_UNSET);
        cr_expect_eq(a->job_start_timeout_ms, POLICY_UNSET);
        cr_expect_eq(a->max_slots_per_user, POLICY_UNSET);
        cr_expect_eq(a->no_new_privileges, POLICY_UNSET);
        cr_expect_eq(b->job_tasks_max, 100);
        cr_expect_eq(b->job_start_timeout_ms, 5000);
        cr_expect_eq(b->max_slots_per_user, 0, "0 slots is a value");
        cr_expect_eq(b->no_new_privileges, 0);
        cr_expect_eq(c->job_tasks_max, 0, "infinity is no limit");
        cr_expect_eq(c->job_start_timeout_ms, 0);
        cr_expect_eq(c->max_slots_per_user, INT64_MAX);
        cr_expect_eq(c->no_new_privileges, 1);
        cr_expect_eq(d->job_tasks_max, POLICY_UNSET, "an empty assignment resets to the default");
        cr_expect_eq(d->max_slots_per_user, POLICY_UNSET);
        policy_free(p);

        expect_error("[Pool a]\nNoNewPrivileges=maybe\n", 2, "NoNewPrivileges", "invalid boolean \"maybe\"");
        expect_error("[Pool a]\nJobTasksMax=0\n", 2, "JobTasksMax", "at least 1");
        expect_error("[Pool a]\nMaxSlotsPerUser=-1\n", 2, "MaxSlotsPerUser", "negative number");
        expect_error("[Pool a]\nJobStartTimeoutSec=soon\n", 2, "JobStartTimeoutSec", "invalid time span");
}

Test(policy, lists_append_and_an_empty_assignment_resets) {
        Policy *p = NULL;
        const char *text = "[Pool a]\nAllowUsers=root\nAllowUsers=root  root\nAdminUsers=root\nAdminUsers=\n"
                           "MemoryMax=1G\nMemoryMax=2G\nMaxJobs=4\nMaxJobs=\n";
        cr_assert_eq(load(text, &p, NULL), 0);
        const PolicyPool *a = policy_find(p, "a");
        cr_expect_str_eq(a->allow_users[0], "root");
        cr_expect_str_eq(a->allow_users[1], "root");
        cr_expect_str_eq(a->allow_users[2], "root");
        cr_expect_null(a->allow_users[3]);
        cr_expect_null(a->admin_users[0]);
        cr_expect_eq(a->lim.memory_max, 2 * G, "the last assignment wins");
        cr_expect_eq(a->lim.max_jobs, 0, "an empty assignment restores the default");
        policy_free(p);
}

Test(policy, syntax_details) {
        Policy *p = NULL;
        /* A byte order mark, CRLF line ends, indentation, blanks around '=',
         * blanks inside the header, a ';' that is not a comment. */
        const char *text = "\xef\xbb\xbf[Pool a]\r\n"
                           "   MemoryMax = 1G\r\n"
                           "\tMaxJobs=2 #c\r\n"
                           "[ Pool   a/b ]\n"
                           "AllowUsers=root;x\n";
        PolicyDiagnostics d = {};
        int r = load(text, &p, &d);
        dump(&d);
        /* "root;x" is one name (a ';' comment needs a blank before it), unknown. */
        cr_assert_eq(r, -EBADMSG);
        cr_assert_eq(d.n_errors, 1);
        cr_expect_eq(d.items[0].line, 5);
        cr_expect_not_null(strstr(d.items[0].message, "\"root;x\""));
        policy_diagnostics_done(&d);

        cr_assert_eq(load("\xef\xbb\xbf[Pool a]\r\n   MemoryMax = 1G\r\n\tMaxJobs=2 #c\r\n[ Pool   a/b ]\n", &p,
                          NULL),
                     0);
        cr_expect_eq(policy_find(p, "a")->lim.memory_max, G);
        cr_expect_eq(policy_find(p, "a")->lim.max_jobs, 2);
        cr_expect_not_null(policy_find(p, "a/b"));
        policy_free(p);
}

Test(policy, each_kind_of_error_names_its_line_and_key) {
        expect_error("[Pool a]\nBogus=1\n", 2, "Bogus", "unknown key");
        expect_error("[Pool a]\nmemorymax=1G\n", 2, "memorymax", "unknown key");
        expect_error("[Pool a]\nMemoryMax: 1G\n", 2, NULL, "expected KEY=VALUE");
        expect_error("[Pool a]\nA:B=1\n", 2, NULL, "unknown key \"A:B\"");
        expect_error("[Pool a]\njunk\n", 2, NULL, "expected KEY=VALUE");
        expect_error("MemoryMax=1G\n[Pool a]\n", 1, NULL, "outside of a [Pool PATH] section");
        expect_error("[Slice a]\n", 1, NULL, "unknown section type \"Slice\"");
        expect_error("[Pool]\n", 1, NULL, "missing pool path");
        expect_error("[Pool a\n", 1, NULL, "invalid section header");
        expect_error("[Pool a] x\n", 1, NULL, "invalid section header");
        expect_error("[Pool a/../b]\n", 1, NULL, "invalid pool path");
        expect_error("[Pool supervisor]\n", 1, NULL, "invalid pool path");
        expect_error("[Pool a b]\n", 1, NULL, "invalid pool path");
        expect_error("[Pool /a]\n", 1, NULL, "invalid pool path");
        expect_error("[Pool a]\nMemoryMax=lots\n", 2, "MemoryMax", "invalid size \"lots\"");
        expect_error("[Pool a]\nMemoryMax=0\n", 2, "MemoryMax", "must be above 0");
        expect_error("[Pool a]\nMemoryMax=-1G\n", 2, "MemoryMax", "negative size");
        expect_error("[Pool a]\nMemoryMax=2E\n", 2, "MemoryMax", "out of range");
        expect_error("[Pool a]\nMaxJobs=0\n", 2, "MaxJobs", "at least 1");
        expect_error("[Pool a]\nMaxJobs=4294967296\n", 2, "MaxJobs", "out of range");
        expect_error("[Pool a]\nMaxJobs=2.5\n", 2, "MaxJobs", "invalid number");
        expect_error("[Pool a]\nTasksMax=4194305\n", 2, "TasksMax", "at most 4194304");
        expect_error("[Pool a]\nTasksMax=50%\n", 2, "TasksMax", "invalid number");
        expect_error("[Pool a]\nQueueMax=infinity\n", 2, "QueueMax", "invalid number");
        expect_error("[Pool a]\nJobMemoryDefault=infinity\n", 2, "JobMemoryDefault", "must be finite");
        expect_error("[Pool a]\nJobTimeoutSec=5M\n", 2, "JobTimeoutSec", "invalid time span \"5M\"");
        expect_error("[Pool a]\nQueueTimeoutSec=-1s\n", 2, "QueueTimeoutSec", "negative time span");
        expect_error("[Pool a]\nAllowUsers=no-such-user-cgov-test\n", 2, "AllowUsers", "unknown user");
        expect_error("[Pool a]\nAllowGroups=no-such-group-cgov-test\n", 2, "AllowGroups", "unknown group");
        expect_error("[Pool a]\nAdminUsers=root no-such-user-cgov-test\n", 2, "AdminUsers", "unknown user");
        expect_error("[Pool a]\nAdminGroups=-root\n", 2, "AdminGroups", "invalid group name");
        expect_error("[Pool a]\nMaxJobs=1\x1b[31m\n", 2, "MaxJobs", "\\x1b");
}

Test(policy, a_nul_byte_is_an_error_on_its_line) {
        static const char text[] = "[Pool a]\nMaxJobs=1\0MemoryMax=1G\nMaxJobs=2\n";
        PolicyDiagnostics d = {};
        Policy *p = NULL;

        cr_assert_eq(policy_load_string("t.pool", text, sizeof text - 1, 0, &p, &d), -EBADMSG);
        cr_assert_eq(d.n_items, 1);
        cr_expect_eq(d.items[0].line, 2);
        cr_expect_str_eq(d.items[0].message, "line contains a NUL byte");
        policy_diagnostics_done(&d);
}

Test(policy, errors_between_pools_name_the_key_that_is_wrong) {
        expect_error("[Pool a]\nMemoryMax=1G\nJobMemoryDefault=2G\n", 3, "JobMemoryDefault",
                     "2G is above MemoryMax=1G of this pool");
        expect_error("[Pool a]\nMemoryMax=1G\nJobMemoryMax=2G\n", 3, "JobMemoryMax", "above MemoryMax=1G");
        expect_error("[Pool a]\nMemoryMax=1G\n[Pool a/b]\nJobMemoryMax=2G\n", 4, "JobMemoryMax",
                     "above MemoryMax=1G of a");
        expect_error("[Pool a]\nJobMemoryDefault=512M\nJobMemoryMax=256M\n", 2, "JobMemoryDefault",
                     "above JobMemoryMax=256M");
        expect_error("[Pool a]\nJobMemoryMax=32M\n", 2, "JobMemoryMax", "below the default reservation of a job (64M)");
        expect_error("[Pool a]\n[Pool a/b]\n[Pool a]\n", 3, NULL, "pool \"a\" is already defined at test.pool:1");
        expect_error("[Pool a/b]\n", 1, NULL, "the parent pool \"a\" of a/b is not defined");
}

Test(policy, a_small_pool_lowers_the_implicit_job_default) {
        Policy *p = NULL;
        /* The library's default reservation is min(64M, MemoryMax). */
        cr_assert_eq(load("[Pool a]\nMemoryMax=32M\nJobMemoryMax=32M\n", &p, NULL), 0);
        policy_free(p);
}

Test(policy, a_child_above_its_parent_is_only_a_warning) {
        Policy *p = NULL;
        PolicyDiagnostics d = {};
        const char *text = "[Pool a]\nMemoryMax=1G\nMaxJobs=4\nTasksMax=100\n"
                           "[Pool a/b]\nMemoryMax=2G\nMaxJobs=8\nTasksMax=200\n";

        cr_assert_eq(load(text, &p, &d), 0);
        dump(&d);
        cr_assert_not_null(p);
        cr_assert_eq(d.n_errors, 0);
        cr_assert_eq(d.n_warnings, 3);
        const char *keys[] = { "MemoryMax", "MaxJobs", "TasksMax" };
        for (unsigned i = 0; i < 3; i++) {
                cr_expect_eq(d.items[i].severity, POLICY_WARNING);
                cr_expect_eq(d.items[i].line, 6 + i);
                cr_expect_str_eq(d.items[i].key, keys[i]);
                cr_expect_not_null(strstr(d.items[i].message, "of pool a"));
        }
        cr_expect_eq(policy_find(p, "a/b")->lim.memory_max, 2 * G, "kept as written");
        policy_free(p);
        policy_diagnostics_done(&d);
}

Test(policy, all_errors_are_collected_in_line_order) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        const char *text = "[Pool x/y]\n"            /* 1: parent missing (found last) */
                           "MemoryMax=many\n"        /* 2 */
                           "Frob=1\n"                /* 3 */
                           "[Pool a]\n"
                           "MaxJobs=-3\n"            /* 5 */
                           "AllowUsers=no-such-user-cgov-test root no-such-user-cgov-2\n" /* 6: two */
                           "[Bad]\n"                 /* 7 */
                           "MemoryMax=1G\n"          /* skipped: its section was refused */
                           "[Pool a]\n";             /* 9: duplicate */

        cr_assert_eq(load(text, &p, &d), -EBADMSG);
        dump(&d);
        cr_assert_null(p);
        const unsigned lines[] = { 1, 2, 3, 5, 6, 6, 7, 9 };
        cr_assert_eq(d.n_errors, 8);
        cr_assert_eq(d.n_items, 8);
        for (size_t i = 0; i < 8; i++)
                cr_expect_eq(d.items[i].line, lines[i], "item %zu at line %u", i, d.items[i].line);
        policy_diagnostics_done(&d);
}

Test(policy, instance_pools) {
        Policy *p = NULL;
        cr_assert_eq(load("[Pool %u]\nAdminUsers=root\n[Pool a]\n[Pool a/b/%u]\n[Pool a/b]\n", &p, NULL), 0);
        cr_expect(policy_find(p, "%u")->instance);
        cr_expect_eq(policy_find(p, "a/b/%u")->depth, 3);
        cr_expect_str_eq(policy_find(p, "%u")->admin_users[0], "root");
        policy_free(p);

        expect_error("[Pool a]\n[Pool a/%u]\nAllowUsers=root\n", 3, "AllowUsers", "own user only");
        expect_error("[Pool a]\n[Pool a/%u]\nAllowGroups=root\n", 3, "AllowGroups", "own user only");
        expect_error("[Pool a/%u/b]\n", 1, NULL, "%u may only be the last segment");
        expect_error("[Pool %u/b]\n", 1, NULL, "%u may only be the last segment");
        expect_error("[Pool a/x%u]\n", 1, NULL, "invalid pool path");
        expect_error("[Pool a/%u]\n", 1, NULL, "parent pool \"a\"");
        expect_error("[Pool a/../%u]\n", 1, NULL, "invalid pool path");
        expect_error("[Pool a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/%u]\n", 1, NULL, "at most 16 levels");
}

Test(policy, no_lookup_checks_names_only_for_syntax) {
        Policy *p = NULL;
        const char *text = "[Pool a]\nAllowUsers=alice bob@example.com\nAllowGroups=customer-a\n";
        cr_assert_eq(policy_load_string("t.pool", text, strlen(text), POLICY_NO_LOOKUP, &p, NULL), 0);
        cr_expect_str_eq(policy_find(p, "a")->allow_users[1], "bob@example.com");
        policy_free(p);
        text = "[Pool a]\nAllowUsers=a:b\n";
        cr_assert_eq(policy_load_string("t.pool", text, strlen(text), POLICY_NO_LOOKUP, &p, NULL), -EBADMSG);
}

Test(policy, long_lines_are_refused_not_split) {
        /* inih's buffer is 200 bytes: the tail of a longer line must never be
         * read as a line of its own. */
        char text[1024];
        int n = snprintf(text, sizeof text, "[Pool a]\nAdminUsers=");
        for (int i = 0; i < 60; i++)
                n += snprintf(text + n, sizeof text - (size_t) n, "root ");
        snprintf(text + n, sizeof text - (size_t) n, "MemoryMax=1G\n");
        expect_error(text, 2, NULL, "line longer than");
}

Test(policy, long_pool_paths_are_kept_whole) {
        /* inih cuts section names at 49 bytes; two paths that differ after
         * that must stay two pools. */
        char text[1024], a[70], b[70];
        memset(a, 'a', 64);
        a[64] = '\0';
        snprintf(b, sizeof b, "%s", a);
        snprintf(text, sizeof text, "[Pool %s]\n[Pool %s/%s]\nMaxJobs=1\n[Pool %s/%sx]\nMaxJobs=2\n", a, a, a, a,
                 "bbbbbbbbbb");
        Policy *p = NULL;
        PolicyDiagnostics d = {};
        cr_assert_eq(load(text, &p, &d), 0);
        dump(&d);
        cr_assert_eq(p->n_pools, 3);
        char path[200];
        snprintf(path, sizeof path, "%s/%s", a, b);
        cr_assert_not_null(policy_find(p, path));
        cr_expect_eq(policy_find(p, path)->lim.max_jobs, 1);
        policy_free(p);
        policy_diagnostics_done(&d);
}

Test(policy, files_load_in_lexical_order_as_one_policy) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;

        /* Written in reverse order; the parent is in a later file. */
        write_file("20-b.pool", "[Pool shared]\nMemoryMax=2G\n[Pool shared/b]\n");
        write_file("10-a.pool", "[Pool shared/a]\nMaxJobs=1\n");
        write_file("30-dup.pool", "[Pool other]\n[Pool shared/a]\n");
        cr_assert_eq(policy_load_dir(dir, 0, &p, &d), -EBADMSG);
        dump(&d);
        cr_assert_eq(d.n_errors, 1);
        cr_expect_str_eq(d.items[0].file, file_path("30-dup.pool"));
        cr_expect_eq(d.items[0].line, 2);
        char where[300];
        snprintf(where, sizeof where, "already defined at %s:1", file_path("10-a.pool"));
        cr_expect_not_null(strstr(d.items[0].message, where), "%s", d.items[0].message);
        policy_diagnostics_done(&d);

        cr_assert_eq(unlink(file_path("30-dup.pool")), 0);
        cr_assert_eq(policy_load_dir(dir, 0, &p, &d), 0);
        cr_expect_eq(p->n_files, 2);
        cr_expect_str_eq(policy_find(p, "shared/a")->file, file_path("10-a.pool"));
        cr_expect_str_eq(policy_find(p, "shared")->file, file_path("20-b.pool"));
        policy_free(p);
        policy_diagnostics_done(&d);
}

Test(policy, diagnostics_come_in_file_order) {
        PolicyDiagnostics d = {};
        write_file("b.pool", "[Pool b]\nX=1\n");
        write_file("a.pool", "[Pool a]\nY=1\n[Pool a/c/d]\n");
        cr_assert_eq(policy_load_dir(dir, 0, NULL, &d), -EBADMSG);
        dump(&d);
        cr_assert_eq(d.n_items, 3);
        cr_expect_str_eq(d.items[0].file, file_path("a.pool"));
        cr_expect_eq(d.items[0].line, 2);
        cr_expect_str_eq(d.items[1].file, file_path("a.pool"));
        cr_expect_eq(d.items[1].line, 3);
        cr_expect_str_eq(d.items[2].file, file_path("b.pool"));
        policy_diagnostics_done(&d);
}

Test(policy, other_files_are_ignored) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        char sub[300];

        write_file("a.pool", "[Pool a]\n");
        write_file("a.pool.bak", "garbage\n");
        write_file("a.pool~", "garbage\n");
        write_file(".#a.pool", "garbage\n");
        write_file(".pool", "garbage\n");
        write_file("README", "garbage\n");
        write_file("pool", "garbage\n");
        snprintf(sub, sizeof sub, "%s/dir.pool", dir);
        cr_assert_eq(mkdir(sub, 0755), 0);
        cr_assert_eq(policy_load_dir(dir, 0, &p, &d), 0);
        dump(&d);
        cr_expect_eq(p->n_pools, 1);
        cr_expect_eq(p->n_files, 1);
        /* A directory named like a policy is said, not silently skipped. */
        cr_assert_eq(d.n_items, 1);
        cr_expect_eq(d.items[0].severity, POLICY_WARNING);
        cr_expect_str_eq(d.items[0].file, sub);
        policy_free(p);
        policy_diagnostics_done(&d);
}

Test(policy, an_empty_directory_is_a_valid_policy_with_a_warning) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        cr_assert_eq(policy_load_dir(dir, 0, &p, &d), 0);
        cr_expect_eq(p->n_pools, 0);
        cr_assert_eq(d.n_warnings, 1);
        cr_expect_str_eq(d.items[0].file, dir);
        policy_free(p);
        policy_diagnostics_done(&d);
}

Test(policy, an_unreadable_directory_is_an_errno) {
        Policy *p = NULL;
        char path[300];
        snprintf(path, sizeof path, "%s/missing", dir);
        cr_expect_eq(policy_load_dir(path, 0, &p, NULL), -ENOENT);
        write_file("file", "");
        cr_expect_eq(policy_load_dir(file_path("file"), 0, &p, NULL), -ENOTDIR);
        cr_expect_null(p);
        cr_expect_eq(policy_load_dir(NULL, 0, &p, NULL), -EINVAL);
}

Test(policy, a_file_too_large_is_an_error_and_the_others_are_still_checked) {
        PolicyDiagnostics d = {};
        char *big = malloc(POLICY_FILE_SIZE_MAX + 2);
        memset(big, '#', POLICY_FILE_SIZE_MAX + 1);
        big[POLICY_FILE_SIZE_MAX + 1] = '\0';
        write_file("a.pool", big);
        free(big);
        write_file("b.pool", "[Pool b]\nNope=1\n");
        cr_assert_eq(policy_load_dir(dir, 0, NULL, &d), -EBADMSG);
        dump(&d);
        cr_assert_eq(d.n_errors, 2);
        cr_expect_str_eq(d.items[0].file, file_path("a.pool"));
        cr_expect_eq(d.items[0].line, 0);
        cr_expect_not_null(strstr(d.items[0].message, "larger than"));
        cr_expect_str_eq(d.items[1].file, file_path("b.pool"));
        policy_diagnostics_done(&d);
}

Test(policy, a_fifo_does_not_hang_the_loader) {
        PolicyDiagnostics d = {};
        cr_assert_eq(mkfifo(file_path("f.pool"), 0600), 0);
        cr_assert_eq(policy_load_dir(dir, 0, NULL, &d), 0);
        cr_assert_eq(d.n_warnings, 1);
        policy_diagnostics_done(&d);
}
