/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `cgov check-policy [DIR]`: loads a policy directory exactly as the daemon
 * will (policy_load_dir), prints every diagnostic as FILE:LINE: KEY: message,
 * a one-line summary, and for a valid policy the pool tree with its limits
 * in the units the files use, so the administrator reads back what cgov
 * understood rather than what they meant to write. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "check-policy.h"
#include "macro.h"
#include "parse-util.h"
#include "policy.h"

#define EXIT_USAGE 2

static void help(void) {
        printf("Usage: cgov check-policy [OPTIONS] [DIR]\n"
               "\n"
               "Check the pool policy files (*.pool) in DIR without applying anything.\n"
               "Prints each problem as FILE:LINE: KEY: message, then a summary, and for a\n"
               "valid policy the pool tree.\n"
               "\n"
               "DIR defaults to %s.\n"
               "\n"
               "Options:\n"
               "  -n, --no-lookup  do not look up user and group names: check a policy\n"
               "                   meant for another machine\n"
               "  -h, --help       show this help\n"
               "\n"
               "See cgov.pool(5) for the file format.\n",
               CGOV_POLICY_DIR);
}

static void diagnostic_print(const PolicyDiagnostic *d) {
        fputs(d->file, stderr);
        if (d->line > 0)
                fprintf(stderr, ":%u", d->line);
        fputs(": ", stderr);
        if (d->key)
                fprintf(stderr, "%s: ", d->key);
        if (d->severity == POLICY_WARNING)
                fputs("warning: ", stderr);
        fprintf(stderr, "%s\n", d->message);
}

static const char *plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

static void list_print(const char *key, char **l) {
        if (!l || !l[0])
                return;
        printf(" %s=", key);
        for (size_t i = 0; l[i]; i++)
                printf("%s%s", i ? "," : "", l[i]);
}

static void pool_print(const PolicyPool *p, int width) {
        const struct cgov_pool_limits *lim = &p->lim;
        char buf[FORMAT_TIMESPAN_MAX];
        const char *slash = strrchr(p->path, '/');
        const char *name = slash ? slash + 1 : p->path;
        int indent = 2 * (int) (p->depth - 1);

        printf("%*s%-*s", indent, "", width - indent, name);
        if (lim->memory_max)
                printf(" MemoryMax=%s", format_size(buf, lim->memory_max));
        if (lim->max_jobs)
                printf(" MaxJobs=%u", lim->max_jobs);
        if (lim->pids_max)
                printf(" TasksMax=%u", lim->pids_max);
        if (lim->job_memory_default)
                printf(" JobMemoryDefault=%s", format_size(buf, lim->job_memory_default));
        if (p->job_memory_max)
                printf(" JobMemoryMax=%s", format_size(buf, p->job_memory_max));
        if (p->job_timeout_ms)
                printf(" JobTimeoutSec=%s", format_timespan(buf, p->job_timeout_ms));
        if (lim->max_queue)
                printf(" QueueMax=%u", lim->max_queue);
        if (lim->queue_timeout_ms)
                printf(" QueueTimeoutSec=%s", format_timespan(buf, lim->queue_timeout_ms));
        list_print("AllowUsers", p->allow_users);
        list_print("AllowGroups", p->allow_groups);
        list_print("AdminUsers", p->admin_users);
        list_print("AdminGroups", p->admin_groups);
        if (p->instance)
                fputs(" (one instance per user)", stdout);
        putchar('\n');
}

/* Pools come parents first (policy.h), so printing in order with each
 * indented by its depth draws the tree. */
static void tree_print(const Policy *policy) {
        int width = 0;

        for (size_t i = 0; i < policy->n_pools; i++) {
                const PolicyPool *p = &policy->pools[i];
                const char *slash = strrchr(p->path, '/');
                int w = 2 * (int) (p->depth - 1) + (int) strlen(slash ? slash + 1 : p->path);
                width = MAX(width, w);
        }
        for (size_t i = 0; i < policy->n_pools; i++)
                pool_print(&policy->pools[i], width + 1);
}

int check_policy_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "no-lookup", no_argument, NULL, 'n' },
                {}
        };
        _cleanup_(policy_freep) Policy *policy = NULL;
        PolicyDiagnostics diag = {};
        unsigned flags = 0;
        const char *dir;
        int c, r;

        while ((c = getopt_long(argc, argv, "hn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'n':
                        flags |= POLICY_NO_LOOKUP;
                        break;
                default:
                        fprintf(stderr, "See 'cgov check-policy --help'.\n");
                        return EXIT_USAGE;
                }
        if (argc - optind > 1) {
                fprintf(stderr, "%s: one directory at a time (see 'cgov check-policy --help')\n", argv[0]);
                return EXIT_USAGE;
        }
        dir = optind < argc ? argv[optind] : CGOV_POLICY_DIR;

        r = policy_load_dir(dir, flags, &policy, &diag);
        if (r < 0 && r != -EBADMSG) {
                errno = -r;
                fprintf(stderr, "%s: cannot read %s: %m\n", argv[0], dir);
                if (r == -ENOENT && optind >= argc)
                        fprintf(stderr, "Put the pool policy (*.pool files, see cgov.pool(5)) there, "
                                        "e.g. starting from the examples in %s.\n",
                                CGOV_EXAMPLE_POLICY_DIR);
                return 1;
        }

        for (size_t i = 0; i < diag.n_items; i++)
                diagnostic_print(&diag.items[i]);

        if (r == -EBADMSG) {
                fprintf(stderr, "%s: %zu %s, %zu %s: the policy is not valid\n", dir, diag.n_errors,
                        plural(diag.n_errors, "error", "errors"), diag.n_warnings,
                        plural(diag.n_warnings, "warning", "warnings"));
                policy_diagnostics_done(&diag);
                return 1;
        }
        printf("%s: %zu %s in %zu %s, no errors, %zu %s\n", dir, policy->n_pools,
               plural(policy->n_pools, "pool", "pools"), policy->n_files, plural(policy->n_files, "file", "files"),
               diag.n_warnings, plural(diag.n_warnings, "warning", "warnings"));
        policy_diagnostics_done(&diag);
        tree_print(policy);
        return 0;
}
