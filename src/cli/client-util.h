/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the commands that talk to cgovd share: where the daemon is
 * (--address), opening it with a line that helps when it is not there, and
 * how a job's end becomes cgov's exit status and the line that explains it,
 * so that `cgov run` and `cgov wait` cannot drift apart. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

#include "cgov.h"
#include "protocol.h"

/* cgovd's default --socket (cgovd(8)). */
#define CLI_DEFAULT_ADDRESS PROTO_DEFAULT_ADDRESS

/* Exit statuses, documented in cgov(1). Shells' and timeout(1)'s where they
 * mean the same, sysexits.h's where cgov is the one that failed, so that
 * a script can tell the job's own status from cgov's. */
#define EXIT_USAGE 2                 /* bad usage, as every cgov command */
#define EXIT_JOB_UNKNOWN EX_SOFTWARE /* 70: the job ended while no daemon watched */
#define EXIT_REFUSED EX_TEMPFAIL     /* 75: a pool refused the job; try later */
#define EXIT_UNREACHABLE EX_UNAVAILABLE /* 69: cgovd cannot be reached */
#define EXIT_TIMED_OUT 124           /* ran past --timeout, as timeout(1) */
#define EXIT_CGOV_FAILED 125         /* run/wait failed before or without the job, as env(1), timeout(1) */
#define EXIT_CANNOT_EXECUTE 126      /* found but not executable, as a shell */
#define EXIT_NOT_FOUND 127           /* no such program, as a shell */
#define EXIT_SIGNAL_BASE 128         /* + the signal, as a shell */
#define EXIT_KILLED 137              /* 128 + SIGKILL: OOM-killed, or by cgov kill/flush */

/* The address to use: the option's value if given, else $CGOV_ADDRESS if
 * set and non-empty, else CLI_DEFAULT_ADDRESS. */
const char *cli_address(const char *option);
/* The options of a command that has no others than --address and --help:
 * parses them (*ret_address as cli_address() gives it) and returns -1 to go
 * on, or the exit status to return at once (0 after the help, EXIT_USAGE).
 * optind then points at the first operand. */
int cli_parse_address_only(int argc, char *argv[], void (*help)(void), const char **ret_address);

/* Opens the governor at address in client mode. On failure prints why,
 * prefixed by prog ("cgov status"), with a hint when no daemon listens, and
 * returns the negative errno; the caller exits with EXIT_UNREACHABLE. */
int cli_open(const char *prog, const char *address, cgov **ret);
void cli_closep(cgov **g);
/* cli_open's line for a connection that failed with r. */
void cli_report_unreachable(const char *prog, const char *address, int r);

/* Whether r says the daemon went away or cannot be reached (rather than
 * having answered). */
bool cli_error_is_unreachable(int r);

/* Prints "prog: what: reason" for a failed request, with words for the
 * errors cgovd answers (-EPERM: not permitted, -EUSERS: a per-user limit,
 * ...). Returns the exit status for it: EXIT_UNREACHABLE when the daemon
 * went away, else failure_status. */
int cli_report_error(const char *prog, int r, int failure_status, const char *what);

/* What a job is, for the lines that report its end. */
typedef struct JobReport {
        uint64_t id;            /* 0: not submitted */
        const char *command;    /* argv[0], for "cannot run CMD" */
        uint64_t memory_max;    /* the job's memory limit; 0: not known */
} JobReport;

/* The exit status of `cgov run` and `cgov wait` for a job that ended or
 * never started, and the line to print on stderr (without newline or
 * "cgov: "; empty when the status says it all, as for a normal exit).
 *   r == 0:        res is the job's result;
 *   r CGOV_E_*:    a refusal, res the REJECTED result with its figures;
 *   r -errno:      the job could not be started (-ENOENT: no such program).
 * Failures of cgov itself are the caller's to report (cli_report_error). */
int job_exit_status(int r, const struct cgov_result *res, const JobReport *job, char *msg, size_t size);

/* What cgovd says of a job that has not been waited for yet (a Wait drops
 * it), for the lines that report its end: its memory limit and its
 * argv[0] (strdup'ed). What cannot be had is left as it was. */
void cli_job_lookup(cgov *g, uint64_t id, uint64_t *ret_memory_max, char **ret_command);

/* A job's id as cgov run --detach prints it: a positive decimal number.
 * 0 or -EINVAL. */
int parse_job_id(const char *s, uint64_t *ret);
/* The one job id operand of `cgov kill` and `cgov wait`, at optind: 0 with
 * it, or EXIT_USAGE with the reason printed ("see 'cgov COMMAND --help'"). */
int cli_parse_job_operand(int argc, char *argv[], const char *command, uint64_t *ret);
