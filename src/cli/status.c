/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `cgov status` and `cgov jobs`: one ListPools or ListJobs request, shown as
 * a table, or with --json as the daemon said it (docs/protocol.md), so that
 * scripts parse the protocol's stable names rather than our columns. */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "client-util.h"
#include "client.h"
#include "format.h"
#include "macro.h"
#include "protocol.h"
#include "status.h"

#define EXIT_FAILED 1
/* Levels of indentation drawn; deeper pools (the policy allows 16 levels)
 * stay at the last. */
#define POOL_INDENT_MAX 16

typedef struct ListOptions {
        const char *address;
        const char *pool;
        bool json;
} ListOptions;

/* The options both commands share; 1 when the caller should go on, else
 * the exit status. */
static int list_parse_options(int argc, char *argv[], void (*help)(void), ListOptions *ret) {
        enum { ARG_JSON = 0x100, ARG_ADDRESS };
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *ret = (ListOptions) {};
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JSON:
                        ret->json = true;
                        break;
                case ARG_ADDRESS:
                        ret->address = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "See '%s --help'.\n", argv[0]);
                        return EXIT_USAGE;
                }
        if (argc - optind > 1) {
                fprintf(stderr, "%s: one pool at a time (see '%s --help')\n", argv[0], argv[0]);
                return EXIT_USAGE;
        }
        if (optind < argc)
                ret->pool = argv[optind];
        return 1;
}

/* Sends method with the pool subtree, if any; 0 with the reply's parameters
 * already printed for --json, 1 with them in *ret, or the exit status
 * (negated) on failure. */
static int list_request(const char *prog, const ListOptions *o, const char *method, json_object **ret) {
        _cleanup_(cli_closep) cgov *g = NULL;
        json_object *params = NULL, *reply = NULL;
        int r;

        r = cli_open(prog, cli_address(o->address), &g);
        if (r < 0)
                return -EXIT_UNREACHABLE;
        if (o->pool) {
                params = json_object_new_object();
                if (!params || json_object_object_add(params, "pool", json_object_new_string(o->pool)) < 0) {
                        json_object_put(params);
                        fprintf(stderr, "%s: out of memory\n", prog);
                        return -EXIT_FAILED;
                }
        }
        r = client_call(g, method, params, NULL, 0, &reply, NULL);
        if (r < 0)
                return -cli_report_error(prog, r, EXIT_FAILED, "cannot ask cgovd");
        if (o->json) {
                puts(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(reply);
                return 0;
        }
        *ret = reply;
        return 1;
}

/* The array under key, or NULL when the reply has none. */
static json_object *reply_array(json_object *reply, const char *key) {
        json_object *a;

        if (!json_object_object_get_ex(reply, key, &a) || !json_object_is_type(a, json_type_array))
                return NULL;
        return a;
}

static int reply_not_understood(const char *prog) {
        fprintf(stderr, "%s: cgovd's reply was not understood (is it newer than cgov?)\n", prog);
        return EXIT_FAILED;
}

/* ---- cgov status ------------------------------------------------------------ */

static void status_help(void) {
        printf("Usage: cgov status [OPTIONS] [POOL]\n"
               "\n"
               "Show the pools of cgovd you may use or administer, or POOL and its sub-pools,\n"
               "as a tree: memory reserved by jobs out of the pool's limit and memory in use,\n"
               "jobs running out of the most allowed, and jobs waiting for room. Every figure\n"
               "covers the pool's whole subtree; '-' is no limit.\n"
               "\n"
               "Options:\n"
               "      --json          print cgovd's answer as JSON (see docs/protocol.md)\n"
               "      --address=PATH  cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                      %s)\n"
               "  -h, --help          show this help\n",
               CLI_DEFAULT_ADDRESS);
}

typedef struct PoolRow {
        const char *path;
        struct cgov_pool_status st;
        unsigned depth;       /* below the nearest pool listed above it */
        const char *name;     /* the path below that pool, or the whole path */
        char memory[3 * FORMAT_BYTES_MAX + 8], jobs[32], queued[16];
} PoolRow;

/* Path order with '/' first, so that each pool comes right before its
 * sub-pools: "a", "a/b", "a-b" (plain strcmp puts "a-b" between "a" and
 * "a/b", since '-' < '/'). */
static int pool_path_compare(const void *x, const void *y) {
        const char *a = ((const PoolRow *) x)->path, *b = ((const PoolRow *) y)->path;

        for (; *a && *a == *b; a++, b++)
                ;
        unsigned char ca = *a == '/' ? 1 : (unsigned char) *a, cb = *b == '/' ? 1 : (unsigned char) *b;
        return (ca > cb) - (ca < cb);
}

static bool path_is_below(const char *path, const char *ancestor) {
        size_t n = strlen(ancestor);
        return strncmp(path, ancestor, n) == 0 && path[n] == '/';
}

/* Rows sorted: each one's nearest ancestor among those before it sets its
 * depth and the name it is shown with. A pool whose parent the caller may
 * not see (a tenant sees shared/alice, not shared) keeps its whole path. */
static void pool_rows_place(PoolRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                rows[i].depth = 0;
                rows[i].name = rows[i].path;
                for (size_t k = i; k > 0; k--)
                        if (path_is_below(rows[i].path, rows[k - 1].path)) {
                                rows[i].depth = rows[k - 1].depth + 1;
                                rows[i].name = rows[i].path + strlen(rows[k - 1].path) + 1;
                                break;
                        }
        }
}

static void pool_row_format(PoolRow *row) {
        const struct cgov_pool_status *st = &row->st;
        char reserved[FORMAT_BYTES_MAX], limit[FORMAT_BYTES_MAX], used[FORMAT_BYTES_MAX];

        snprintf(row->memory, sizeof row->memory, "%s/%s, %s", format_bytes(reserved, st->memory_reserved),
                 st->memory_max ? format_bytes(limit, st->memory_max) : "-", format_bytes(used, st->memory_current));
        if (st->max_jobs)
                snprintf(row->jobs, sizeof row->jobs, "%" PRIu32 "/%" PRIu32, st->jobs_running, st->max_jobs);
        else
                snprintf(row->jobs, sizeof row->jobs, "%" PRIu32 "/-", st->jobs_running);
        snprintf(row->queued, sizeof row->queued, "%" PRIu32, st->jobs_queued);
}

static int pools_print(const char *prog, json_object *pools) {
        enum { COLUMNS = 4 };
        size_t n = json_object_array_length(pools);
        _cleanup_free_ PoolRow *rows = calloc(MAX(n, 1), sizeof *rows);
        _cleanup_free_ const char **cells = calloc((n + 1) * COLUMNS, sizeof *cells);
        _cleanup_free_ char *names = NULL;
        size_t names_size = 0;

        if (!rows || !cells) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return EXIT_FAILED;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(pools, i);
                if (proto_get_string(o, "pool", &rows[i].path) < 0 || proto_pool_status_from_json(o, &rows[i].st) < 0)
                        return reply_not_understood(prog);
                names_size += 2 * POOL_INDENT_MAX + strlen(rows[i].path) + 1;
        }
        qsort(rows, n, sizeof *rows, pool_path_compare);
        pool_rows_place(rows, n);

        /* The first column: each name indented by its depth in the tree. */
        names = malloc(MAX(names_size, 1));
        if (!names) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return EXIT_FAILED;
        }
        cells[0] = "POOL";
        cells[1] = "MEMORY (reserved/limit, used)";
        cells[2] = "JOBS (running/max)";
        cells[3] = "QUEUED";
        char *next = names;
        for (size_t i = 0; i < n; i++) {
                unsigned indent = 2 * MIN(rows[i].depth, (unsigned) POOL_INDENT_MAX);
                int len = sprintf(next, "%*s%s", (int) indent, "", rows[i].name);
                pool_row_format(&rows[i]);
                cells[(i + 1) * COLUMNS + 0] = next;
                cells[(i + 1) * COLUMNS + 1] = rows[i].memory;
                cells[(i + 1) * COLUMNS + 2] = rows[i].jobs;
                cells[(i + 1) * COLUMNS + 3] = rows[i].queued;
                next += len + 1;
        }
        table_print(stdout, cells, n + 1, COLUMNS);
        return 0;
}

int status_main(int argc, char *argv[]) {
        ListOptions o;
        json_object *reply = NULL, *pools;
        int r;

        r = list_parse_options(argc, argv, status_help, &o);
        if (r != 1)
                return r;
        r = list_request(argv[0], &o, "ListPools", &reply);
        if (r <= 0)
                return -r;

        pools = reply_array(reply, "pools");
        if (!pools)
                r = reply_not_understood(argv[0]);
        else if (json_object_array_length(pools) == 0) {
                if (o.pool) {
                        fprintf(stderr, "%s: no pool %s, or not one you may see\n", argv[0], o.pool);
                        r = EXIT_FAILED;
                } else {
                        puts("No pools: the policy gives you none (see cgov.pool(5), AllowUsers=).");
                        r = 0;
                }
        } else
                r = pools_print(argv[0], pools);
        json_object_put(reply);
        return r;
}

/* ---- cgov jobs ----------------------------------------------------------------- */

static void jobs_help(void) {
        printf("Usage: cgov jobs [OPTIONS] [POOL]\n"
               "\n"
               "Show the jobs of cgovd you may see (your own, and those of the pools you\n"
               "administer), or those of POOL and its sub-pools: id, pool, owner, state,\n"
               "memory limit, process id, name and command. Ended jobs are shown until\n"
               "their result has been waited for.\n"
               "\n"
               "Options:\n"
               "      --json          print cgovd's answer as JSON (see docs/protocol.md)\n"
               "      --address=PATH  cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                      %s)\n"
               "  -h, --help          show this help\n",
               CLI_DEFAULT_ADDRESS);
}

typedef struct JobRow {
        uint64_t id;
        const char *pool, *user, *state, *name, *command;
        char id_text[24], memory[FORMAT_BYTES_MAX], pid[24];
} JobRow;

static int job_id_compare(const void *x, const void *y) {
        uint64_t a = ((const JobRow *) x)->id, b = ((const JobRow *) y)->id;
        return (a > b) - (a < b);
}

static int job_row_parse(json_object *o, JobRow *row) {
        uint64_t memory = 0;
        int64_t pid = 0;

        *row = (JobRow) {};
        /* id, pool and state make a row; the rest may be missing. */
        if (proto_get_u64(o, "id", UINT64_MAX, &row->id) < 0 || proto_get_string(o, "pool", &row->pool) < 0 ||
            proto_get_string(o, "state", &row->state) < 0)
                return -EBADMSG;
        (void) proto_get_string(o, "user", &row->user);
        (void) proto_get_string(o, "name", &row->name);
        (void) proto_get_string(o, "argv0", &row->command);
        (void) proto_get_u64(o, "memoryMax", UINT64_MAX, &memory);
        (void) proto_get_i64(o, "pid", 0, INT32_MAX, &pid);

        snprintf(row->id_text, sizeof row->id_text, "%" PRIu64, row->id);
        if (memory)
                format_bytes(row->memory, memory);
        else
                snprintf(row->memory, sizeof row->memory, "-");
        if (pid > 0)
                snprintf(row->pid, sizeof row->pid, "%" PRIi64, pid);
        else
                snprintf(row->pid, sizeof row->pid, "-");
        if (row->command && !row->command[0])
                row->command = NULL; /* re-adopted jobs: their command was not kept */
        return 0;
}

static int jobs_print(const char *prog, json_object *jobs) {
        enum { COLUMNS = 8 };
        static const char *const header[COLUMNS] = { "ID", "POOL", "USER", "STATE", "MEMORY", "PID", "NAME", "COMMAND" };
        size_t n = json_object_array_length(jobs);
        _cleanup_free_ JobRow *rows = calloc(MAX(n, 1), sizeof *rows);
        _cleanup_free_ const char **cells = calloc((n + 1) * COLUMNS, sizeof *cells);

        if (!rows || !cells) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return EXIT_FAILED;
        }
        for (size_t i = 0; i < n; i++)
                if (job_row_parse(json_object_array_get_idx(jobs, i), &rows[i]) < 0)
                        return reply_not_understood(prog);
        qsort(rows, n, sizeof *rows, job_id_compare);

        memcpy(cells, header, sizeof header);
        for (size_t i = 0; i < n; i++) {
                const char **c = &cells[(i + 1) * COLUMNS];
                c[0] = rows[i].id_text;
                c[1] = rows[i].pool;
                c[2] = rows[i].user;
                c[3] = rows[i].state;
                c[4] = rows[i].memory;
                c[5] = rows[i].pid;
                c[6] = rows[i].name;
                c[7] = rows[i].command;
        }
        table_print(stdout, cells, n + 1, COLUMNS);
        return 0;
}

int jobs_main(int argc, char *argv[]) {
        ListOptions o;
        json_object *reply = NULL, *jobs;
        int r;

        r = list_parse_options(argc, argv, jobs_help, &o);
        if (r != 1)
                return r;
        r = list_request(argv[0], &o, "ListJobs", &reply);
        if (r <= 0)
                return -r;

        jobs = reply_array(reply, "jobs");
        if (!jobs)
                r = reply_not_understood(argv[0]);
        else if (json_object_array_length(jobs) == 0) {
                puts(o.pool ? "No jobs in that pool that you may see." : "No jobs.");
                r = 0;
        } else
                r = jobs_print(argv[0], jobs);
        json_object_put(reply);
        return r;
}
