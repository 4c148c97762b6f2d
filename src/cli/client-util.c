/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client-util.h"
#include "client.h"
#include "format.h"
#include "macro.h"
#include "parse-util.h"
#include "protocol.h"

int cli_parse_address_only(int argc, char *argv[], void (*help)(void), const char **ret_address) {
        enum { ARG_ADDRESS = 0x100 };
        static const struct option options[] = {
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *address = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_ADDRESS:
                        address = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        /* argv[0] is "cgov NAME" (cgov.c). */
                        fprintf(stderr, "See '%s --help'.\n", argv[0]);
                        return EXIT_USAGE;
                }
        *ret_address = cli_address(address);
        return -1;
}

const char *cli_address(const char *option) {
        const char *e;

        if (option)
                return option;
        e = getenv("CGOV_ADDRESS");
        return e && e[0] ? e : CLI_DEFAULT_ADDRESS;
}

bool cli_error_is_unreachable(int r) {
        /* Not -ENOENT: once connected, that is cgovd's "no such pool". */
        return r == -ECONNREFUSED || r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN || r == -ETIMEDOUT;
}

void cli_report_unreachable(const char *prog, const char *address, int r) {
        switch (r) {
        case -ENOENT:
        case -ECONNREFUSED:
                fprintf(stderr, "%s: cannot reach cgovd at %s: %s (is cgovd running? see cgovd(8))\n", prog, address,
                        strerror(-r));
                break;
        case -EACCES:
                fprintf(stderr, "%s: cannot reach cgovd at %s: %s (the socket or its directory does not let you in)\n",
                        prog, address, strerror(-r));
                break;
        case -ENOTSOCK:
                fprintf(stderr, "%s: cannot reach cgovd at %s: not a socket (check --address or $CGOV_ADDRESS)\n", prog,
                        address);
                break;
        case -ENAMETOOLONG:
                fprintf(stderr, "%s: cannot reach cgovd at %s: the path is too long for a Unix socket\n", prog,
                        address);
                break;
        case -EUSERS:
                fprintf(stderr, "%s: cgovd at %s refused the connection: you have too many open already\n", prog,
                        address);
                break;
        case -EPROTO:
        case -EBADMSG:
                fprintf(stderr, "%s: %s does not speak cgovd's protocol version 1 (is it cgovd, and as new as cgov?)\n",
                        prog, address);
                break;
        case -ETIMEDOUT:
                fprintf(stderr, "%s: cgovd at %s does not answer\n", prog, address);
                break;
        default:
                fprintf(stderr, "%s: cannot reach cgovd at %s: %s\n", prog, address, strerror(-r));
                break;
        }
}

int cli_open(const char *prog, const char *address, cgov **ret) {
        int r;

        /* cgov_open's bare EINVAL would not say what is wrong. */
        if (!address[0]) {
                fprintf(stderr, "%s: the address of cgovd is empty\n", prog);
                return -EINVAL;
        }
        r = cgov_open(ret, &(struct cgov_options) { .address = address });
        if (r < 0)
                cli_report_unreachable(prog, address, r);
        return r;
}

void cli_closep(cgov **g) {
        if (*g)
                cgov_close(*g);
}

int cli_report_error(const char *prog, int r, int failure_status, const char *what) {
        const char *reason;

        switch (r) {
        case -EPERM:
                reason = "not permitted";
                break;
        case -EUSERS:
                reason = "you reached one of cgovd's per-user limits (connections, jobs, slots, or what "
                         "your jobs' commands weigh together)";
                break;
        case -EINVAL:
                reason = "cgovd refused the request as invalid";
                break;
        case -EOPNOTSUPP:
                reason = "this cgovd does not know the request (is it older than cgov?)";
                break;
        case -EPROTO:
        case -EBADMSG:
                reason = "cgovd's reply was not understood";
                break;
        case -ETIMEDOUT:
                reason = "cgovd did not answer in time";
                break;
        default:
                reason = cli_error_is_unreachable(r) ? "lost the connection to cgovd" : strerror(-r);
                break;
        }
        fprintf(stderr, "%s: %s: %s\n", prog, what, reason);
        return cli_error_is_unreachable(r) ? EXIT_UNREACHABLE : failure_status;
}

static int start_error_status(int r, const JobReport *job, char *msg, size_t size) {
        if (r == -ECANCELED) {
                snprintf(msg, size,
                         "job %" PRIu64 " never started: cgovd restarted while it waited in the queue (submit it again)",
                         job->id);
                return EXIT_REFUSED;
        }
        if (r == -ETIMEDOUT) {
                snprintf(msg, size,
                         "cannot run %s: it did not start within its pool's JobStartTimeoutSec= (is its working "
                         "directory or program on a file system that does not answer?)",
                         job->command ?: "the job");
                return EXIT_CANNOT_EXECUTE;
        }
        if (r == -EIO) {
                /* The systemd backend's: the manager's start job failed. */
                snprintf(msg, size,
                         "cannot run %s: the system manager could not start it (does a mount under its working "
                         "directory fail?)",
                         job->command ?: "the job");
                return EXIT_CANNOT_EXECUTE;
        }
        snprintf(msg, size, "cannot run %s: %s", job->command ?: "the job", strerror(-r));
        /* A shell's distinction: 127 when there is no such program, 126 when
         * there is one that cannot be run. */
        return r == -ENOENT || r == -ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

int job_exit_status(int r, const struct cgov_result *res, const JobReport *job, char *msg, size_t size) {
        char reason[512], a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX];
        int n;

        msg[0] = '\0';
        if (r < 0 && r > -4096)
                return start_error_status(r, job, msg, size);
        if (r < 0 || res->outcome == CGOV_OUTCOME_REJECTED) {
                if (res->outcome == CGOV_OUTCOME_REJECTED && res->rejection < 0 && res->rejection > -4096)
                        return start_error_status(res->rejection, job, msg, size);
                struct cgov_result refusal = *res;
                if (r < 0)
                        refusal.rejection = r;
                snprintf(msg, size, "refused by pool %s: %s", refusal.rejected_by[0] ? refusal.rejected_by : "?",
                         format_rejection(reason, sizeof reason, &refusal));
                return EXIT_REFUSED;
        }

        switch (res->outcome) {
        case CGOV_OUTCOME_EXITED:
                return res->exit_status & 0xff;
        case CGOV_OUTCOME_SIGNALED:
                /* As a shell: silent for the signals that end jobs as a
                 * matter of course, a line for the others. */
                if (res->exit_status != SIGINT && res->exit_status != SIGPIPE)
                        snprintf(msg, size, "job %" PRIu64 " was terminated by signal %d (%s)", job->id,
                                 res->exit_status, strsignal(res->exit_status));
                return EXIT_SIGNAL_BASE + (res->exit_status & 0x7f);
        case CGOV_OUTCOME_OOM_KILLED:
                n = snprintf(msg, size, "job %" PRIu64 " was killed by the kernel's OOM killer", job->id);
                if (n >= 0 && (size_t) n < size && (job->memory_max || res->memory_peak)) {
                        char figures[128] = "";
                        if (job->memory_max)
                                snprintf(figures, sizeof figures, "memory limit %s", format_bytes(a, job->memory_max));
                        if (res->memory_peak)
                                snprintf(figures + strlen(figures), sizeof figures - strlen(figures), "%speak %s",
                                         figures[0] ? ", " : "", format_bytes(b, res->memory_peak));
                        snprintf(msg + n, size - (size_t) n, " (%s)", figures);
                }
                return EXIT_KILLED;
        case CGOV_OUTCOME_TIMED_OUT:
                snprintf(msg, size, "job %" PRIu64 " ran past its time limit and was killed after %" PRIu64 ".%" PRIu64 "s",
                         job->id, res->wall_usec / 1000000, res->wall_usec / 100000 % 10);
                return EXIT_TIMED_OUT;
        case CGOV_OUTCOME_KILLED:
                snprintf(msg, size, "job %" PRIu64 " was killed (cgov kill or cgov flush)", job->id);
                return EXIT_KILLED;
        case CGOV_OUTCOME_UNKNOWN:
                /* A re-adopted job is no child of the new daemon: its exit
                 * status is lost, whether it ended before or after. */
                snprintf(msg, size, "job %" PRIu64 " outlived a restart of cgovd: how it ended is unknown", job->id);
                return EXIT_JOB_UNKNOWN;
        default:
                snprintf(msg, size, "job %" PRIu64 " ended in a way this cgov does not know (outcome %d)", job->id,
                         (int) res->outcome);
                return EXIT_JOB_UNKNOWN;
        }
}

void cli_job_lookup(cgov *g, uint64_t id, uint64_t *ret_memory_max, char **ret_command) {
        json_object *params = json_object_new_object(), *reply = NULL;
        const char *argv0 = NULL;

        if (!params)
                return;
        json_object_object_add(params, "id", json_object_new_uint64(id));
        if (client_call(g, "GetJob", params, NULL, 0, &reply, NULL) < 0)
                return;
        if (ret_memory_max)
                (void) proto_get_u64(reply, "memoryMax", UINT64_MAX, ret_memory_max);
        if (ret_command && proto_get_string(reply, "argv0", &argv0) >= 0 && argv0[0])
                *ret_command = strdup(argv0);
        json_object_put(reply);
}

int parse_job_id(const char *s, uint64_t *ret) {
        uint64_t id;

        if (parse_unsigned(s, UINT64_MAX, &id) < 0 || id == 0)
                return -EINVAL;
        *ret = id;
        return 0;
}

int cli_parse_job_operand(int argc, char *argv[], const char *command, uint64_t *ret) {
        if (argc - optind != 1) {
                fprintf(stderr, "%s: %s (see 'cgov %s --help')\n", argv[0],
                        optind >= argc ? "no job given" : "one job at a time", command);
                return EXIT_USAGE;
        }
        if (parse_job_id(argv[optind], ret) < 0) {
                fprintf(stderr, "%s: '%s' is not a job id\n", argv[0], argv[optind]);
                return EXIT_USAGE;
        }
        return 0;
}
