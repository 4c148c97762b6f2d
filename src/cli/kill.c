/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `cgov kill` and `cgov flush`. A kill is a request, not a signal we send:
 * the job runs in cgovd's tree, under another session, maybe as another
 * user, and the daemon kills its whole cgroup at once (cgroup.kill), so no
 * child a job forked escapes. Whoever waits for the job sees it end as
 * "killed". */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "client-util.h"
#include "client.h"
#include "kill.h"
#include "macro.h"
#include "names.h"
#include "protocol.h"

#define EXIT_FAILED 1

static void job_freep(cgov_job **j) {
        if (*j)
                cgov_job_free(*j);
}

static const char *plural(int n) {
        return n == 1 ? "job" : "jobs";
}

/* ---- cgov kill ------------------------------------------------------------- */

static void kill_help(void) {
        printf("Usage: cgov kill [OPTIONS] JOB\n"
               "       cgov kill [OPTIONS] --name=NAME [--pool=POOL]\n"
               "\n"
               "Kill the job with the id JOB, or every job named NAME (in POOL and its\n"
               "sub-pools, if given), running or waiting for room: its whole cgroup at once.\n"
               "You may kill your own jobs, and an administrator of a pool those in it.\n"
               "\n"
               "Options:\n"
               "  -n, --name=NAME     kill the jobs of this name (cgov run --name)\n"
               "  -p, --pool=POOL     with --name: only in POOL and its sub-pools\n"
               "      --address=PATH  cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                      %s)\n"
               "  -h, --help          show this help\n"
               "\n"
               "Exit status: 0 when a job was killed, 1 when there was none to kill or the\n"
               "request failed. See cgov(1).\n",
               CLI_DEFAULT_ADDRESS);
}

static int kill_job(const char *prog, cgov *g, uint64_t id) {
        _cleanup_(job_freep) cgov_job *j = NULL;
        int r;

        r = client_job_attach(g, id, &j);
        if (r >= 0)
                r = cgov_kill(j);
        if (r == -ESRCH) {
                fprintf(stderr, "%s: no job %" PRIu64 " to kill: it has ended, or it is not yours\n", prog, id);
                return EXIT_FAILED;
        }
        if (r < 0) {
                char what[64];
                snprintf(what, sizeof what, "cannot kill job %" PRIu64, id);
                return cli_report_error(prog, r, EXIT_FAILED, what);
        }
        return 0;
}

static int kill_by_name(const char *prog, cgov *g, const char *name, const char *pool) {
        cgov_pool *p;
        int r;

        if (pool) {
                r = cgov_pool_find(g, pool, &p);
                if (r == -ENOENT) {
                        fprintf(stderr, "%s: no pool %s, or not one you may use (see 'cgov status')\n", prog, pool);
                        return EXIT_FAILED;
                }
                if (r >= 0)
                        r = cgov_kill_by_name(p, name);
        } else {
                /* Without a pool, everywhere the caller may kill: the
                 * library's call needs a pool, the protocol does not. */
                json_object *params = json_object_new_object(), *reply = NULL;
                int64_t killed = 0;

                if (!params || json_object_object_add(params, "name", json_object_new_string(name)) < 0) {
                        json_object_put(params);
                        r = -ENOMEM;
                } else
                        r = client_call(g, "KillByName", params, NULL, 0, &reply, NULL);
                if (r >= 0) {
                        r = proto_get_i64(reply, "killed", 0, INT32_MAX, &killed) < 0 ? -EPROTO : (int) killed;
                        json_object_put(reply);
                }
        }
        if (r < 0) {
                char what[128];
                snprintf(what, sizeof what, "cannot kill the jobs named %s", name);
                return cli_report_error(prog, r, EXIT_FAILED, what);
        }
        if (r == 0) {
                fprintf(stderr, "%s: no job named %s%s%s to kill\n", prog, name, pool ? " in pool " : "", pool ?: "");
                return EXIT_FAILED;
        }
        printf("Killed %d %s named %s%s%s.\n", r, plural(r), name, pool ? " in pool " : "", pool ?: "");
        return 0;
}

int kill_main(int argc, char *argv[]) {
        enum { ARG_ADDRESS = 0x100 };
        static const struct option options[] = {
                { "name", required_argument, NULL, 'n' },
                { "pool", required_argument, NULL, 'p' },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(cli_closep) cgov *g = NULL;
        const char *name = NULL, *pool = NULL, *address = NULL;
        uint64_t id = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "n:p:h", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        name = optarg;
                        break;
                case 'p':
                        pool = optarg;
                        break;
                case ARG_ADDRESS:
                        address = optarg;
                        break;
                case 'h':
                        kill_help();
                        return 0;
                default:
                        fprintf(stderr, "See 'cgov kill --help'.\n");
                        return EXIT_USAGE;
                }
        if (name) {
                if (optind < argc) {
                        fprintf(stderr, "%s: a job id or --name, not both (see 'cgov kill --help')\n", argv[0]);
                        return EXIT_USAGE;
                }
                if (!job_name_is_valid(name)) {
                        fprintf(stderr, "%s: '%s' is not a job name (see 'cgov run --help')\n", argv[0], name);
                        return EXIT_USAGE;
                }
        } else {
                if (pool) {
                        fprintf(stderr, "%s: --pool goes with --name; to kill every job of a pool, "
                                        "use 'cgov flush'\n",
                                argv[0]);
                        return EXIT_USAGE;
                }
                r = cli_parse_job_operand(argc, argv, "kill", &id);
                if (r != 0)
                        return r;
        }

        r = cli_open(argv[0], cli_address(address), &g);
        if (r < 0)
                return EXIT_UNREACHABLE;
        return name ? kill_by_name(argv[0], g, name, pool) : kill_job(argv[0], g, id);
}

/* ---- cgov flush ------------------------------------------------------------ */

static void flush_help(void) {
        printf("Usage: cgov flush [OPTIONS] POOL\n"
               "\n"
               "Kill the jobs of POOL and its sub-pools, running or waiting for room: all of\n"
               "them for an administrator of the pool, else your own.\n"
               "\n"
               "Options:\n"
               "      --address=PATH  cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                      %s)\n"
               "  -h, --help          show this help\n",
               CLI_DEFAULT_ADDRESS);
}

int flush_main(int argc, char *argv[]) {
        _cleanup_(cli_closep) cgov *g = NULL;
        const char *address, *pool;
        cgov_pool *p;
        int r;

        r = cli_parse_address_only(argc, argv, flush_help, &address);
        if (r >= 0)
                return r;
        /* No default pool: killing everything must be asked for by name. */
        if (argc - optind != 1) {
                fprintf(stderr, "%s: %s (see 'cgov flush --help')\n", argv[0],
                        optind >= argc ? "no pool given" : "one pool at a time");
                return EXIT_USAGE;
        }
        pool = argv[optind];

        r = cli_open(argv[0], cli_address(address), &g);
        if (r < 0)
                return EXIT_UNREACHABLE;
        r = cgov_pool_find(g, pool, &p);
        if (r == -ENOENT) {
                fprintf(stderr, "%s: no pool %s, or not one you may use (see 'cgov status')\n", argv[0], pool);
                return EXIT_FAILED;
        }
        if (r >= 0)
                r = cgov_flush(p);
        if (r < 0) {
                char what[64 + POOL_PATH_MAX];
                snprintf(what, sizeof what, "cannot flush pool %s", pool);
                return cli_report_error(argv[0], r, EXIT_FAILED, what);
        }
        printf("Killed %d %s in pool %s.\n", r, plural(r), cgov_pool_path(p));
        return 0;
}
