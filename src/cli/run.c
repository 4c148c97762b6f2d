/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `cgov run` and `cgov wait`. The job runs in cgovd's cgroup tree, not
 * below us, so two things a foreground program gets from the shell for
 * free are done here by hand:
 *  - its end becomes our exit status, with the shell's conventions
 *    (128+N for a signal, 126/127 for a command that cannot run) and
 *    timeout(1)'s 124, so that scripts can treat `cgov run CMD` as CMD;
 *  - Ctrl-C reaches it: the job is in another session, so the terminal's
 *    SIGINT only hits us. We kill the job, wait for it to be gone, and
 *    then die of the same signal, as a shell's foreground job would. */

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client-util.h"
#include "client.h"
#include "macro.h"
#include "names.h"
#include "parse-util.h"
#include "run.h"

/* ---- signals while a job runs ------------------------------------------ */

static struct {
        pthread_mutex_t lock;
        bool armed;      /* a job is being submitted or waited for */
        cgov_job *job;   /* the job to kill, once submitted */
        int signal;      /* the first signal received while armed; 0: none */
} interrupt = { .lock = PTHREAD_MUTEX_INITIALIZER };

static sigset_t interrupt_signals;

/* Ends the process as the signal would have, so that a calling shell sees
 * it (a shell loop stops on a child that died of SIGINT, not on one that
 * exited 130). */
_noreturn_ static void die_by_signal(int sig) {
        sigset_t s;

        fflush(stdout);
        signal(sig, SIG_DFL);
        sigemptyset(&s);
        sigaddset(&s, sig);
        raise(sig); /* pending: this thread blocks it until the next line */
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        _exit(EXIT_SIGNAL_BASE + sig);
}

static void *interrupt_thread(void *userdata) {
        for (;;) {
                int sig;

                if (sigwait(&interrupt_signals, &sig) != 0)
                        continue;
                pthread_mutex_lock(&interrupt.lock);
                /* Nothing submitted yet, nothing to wait for any more, or a
                 * second signal: whoever sends it does not want to wait. */
                if (!interrupt.armed || interrupt.signal != 0)
                        die_by_signal(sig);
                interrupt.signal = sig;
                /* Under the lock: the job handle stays valid while we kill. */
                if (interrupt.job)
                        (void) cgov_kill(interrupt.job);
                pthread_mutex_unlock(&interrupt.lock);
        }
        return NULL;
}

/* Before anything else, so that every thread (the library's too) inherits
 * the mask and only ours takes the signals. Without the thread, signals
 * keep their default action: cgov dies and the job goes on. */
static void interrupt_setup(void) {
        pthread_t t;

        sigemptyset(&interrupt_signals);
        sigaddset(&interrupt_signals, SIGINT);
        sigaddset(&interrupt_signals, SIGTERM);
        sigaddset(&interrupt_signals, SIGHUP);
        if (pthread_sigmask(SIG_BLOCK, &interrupt_signals, NULL) != 0)
                return;
        if (pthread_create(&t, NULL, interrupt_thread, NULL) != 0) {
                pthread_sigmask(SIG_UNBLOCK, &interrupt_signals, NULL);
                return;
        }
        pthread_detach(t);
}

static void interrupt_arm(void) {
        pthread_mutex_lock(&interrupt.lock);
        interrupt.armed = true;
        pthread_mutex_unlock(&interrupt.lock);
}

/* The job to kill on a signal. A signal that came while it was being
 * submitted kills it now. */
static void interrupt_set_job(cgov_job *j) {
        pthread_mutex_lock(&interrupt.lock);
        interrupt.job = j;
        if (interrupt.signal != 0)
                (void) cgov_kill(j);
        pthread_mutex_unlock(&interrupt.lock);
}

/* Returns the signal that came while armed, 0 if none. */
static int interrupt_disarm(void) {
        pthread_mutex_lock(&interrupt.lock);
        interrupt.armed = false;
        interrupt.job = NULL;
        int sig = interrupt.signal;
        pthread_mutex_unlock(&interrupt.lock);
        return sig;
}

/* ---- waiting and reporting ---------------------------------------------- */

static void job_freep(cgov_job **j) {
        if (*j)
                cgov_job_free(*j);
}

/* Waits for j and returns the exit status; with interrupts, a signal kills
 * the job and we die of it once the job is gone. */
static int await_and_report(cgov_job *j, const JobReport *report, bool interrupts) {
        struct cgov_result res = {};
        char msg[1024];
        int r, sig = 0, status;

        if (interrupts)
                interrupt_set_job(j);
        r = cgov_await(j, -1, &res);
        if (interrupts)
                sig = interrupt_disarm();
        if (sig != 0)
                die_by_signal(sig);

        /* cgov_await's -errno is the job's start error once the job has
         * ended, else the daemon stayed away past the library's reconnect
         * window (60 s): both may be -ENOENT, so ask the handle which. */
        if (r < 0 && r > -4096 && !client_job_ended(j)) {
                errno = -r;
                fprintf(stderr,
                        "cgov: lost cgovd while waiting for job %" PRIu64 ": %m; the job may still run "
                        "(see 'cgov wait %" PRIu64 "')\n",
                        report->id, report->id);
                return EXIT_UNREACHABLE;
        }
        status = job_exit_status(r, &res, report, msg, sizeof msg);
        if (msg[0])
                fprintf(stderr, "cgov: %s\n", msg);
        return status;
}

/* ---- cgov run ------------------------------------------------------------ */

static void run_help(void) {
        printf("Usage: cgov run [OPTIONS] [--] COMMAND [ARG...]\n"
               "\n"
               "Run COMMAND as a job in a pool of cgovd, with this standard input, output\n"
               "and error, environment and working directory, and exit as it does. The job\n"
               "runs as you, in a cgroup of its own whose limits the kernel enforces, and is\n"
               "refused with the reason when its pool has no room.\n"
               "\n"
               "Options:\n"
               "  -p, --pool=POOL           the pool (default: your own, when the policy gives\n"
               "                            each user one)\n"
               "  -m, --memory=SIZE         the job's memory reservation and limit: 512M, 2G\n"
               "                            (default: the pool's JobMemoryDefault=)\n"
               "      --tasks=N             the most processes and threads the job may have\n"
               "  -n, --name=NAME           a name for the job, for 'cgov kill --name'\n"
               "  -t, --timeout=TIME        kill the job after TIME: 30s, 5min, 1h 30min, ...\n"
               "      --queue-timeout=TIME  wait at most TIME for room in the pool (default:\n"
               "                            the pool's QueueTimeoutSec=)\n"
               "      --no-wait             be refused at once rather than wait for room\n"
               "  -d, --detach              print the job's id and exit without waiting for\n"
               "                            it (see 'cgov wait', 'cgov kill'); its standard\n"
               "                            input, output and error are /dev/null\n"
               "      --address=PATH        cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                            %s)\n"
               "  -h, --help                show this help\n"
               "\n"
               "SIGINT, SIGTERM or SIGHUP kill the job; cgov then dies of the same signal.\n"
               "\n"
               "Exit status: the job's own; 128+N when signal N ended it; 124 when it ran\n"
               "past --timeout; 137 when it was OOM-killed or killed by cgov kill or flush;\n"
               "75 when a pool refused it; 127 or 126 when COMMAND cannot be run; 69 when\n"
               "cgovd cannot be reached; 70 when how it ended is unknown; 125 when cgov\n"
               "failed otherwise. See cgov(1).\n",
               CLI_DEFAULT_ADDRESS);
}

static int bad_value(const char *prog, const char *option, const char *value, const char *why) {
        fprintf(stderr, "%s: %s: '%s' %s (see 'cgov run --help')\n", prog, option, value, why);
        return EXIT_USAGE;
}

/* The start errors cgovd answers a Submit with (io.cgov.SystemError from
 * its exec), as opposed to failures of the request itself. */
static bool is_start_error(int r) {
        return r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -ENOEXEC || r == -EISDIR || r == -ELOOP ||
               r == -ENAMETOOLONG || r == -E2BIG || r == -ETXTBSY || r == -ETIMEDOUT || r == -EIO;
}

int run_main(int argc, char *argv[]) {
        enum { ARG_TASKS = 0x100, ARG_QUEUE_TIMEOUT, ARG_NO_WAIT, ARG_ADDRESS };
        static const struct option options[] = {
                { "pool", required_argument, NULL, 'p' },
                { "memory", required_argument, NULL, 'm' },
                { "tasks", required_argument, NULL, ARG_TASKS },
                { "name", required_argument, NULL, 'n' },
                { "timeout", required_argument, NULL, 't' },
                { "queue-timeout", required_argument, NULL, ARG_QUEUE_TIMEOUT },
                { "no-wait", no_argument, NULL, ARG_NO_WAIT },
                { "detach", no_argument, NULL, 'd' },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(cli_closep) cgov *g = NULL;
        _cleanup_(job_freep) cgov_job *j = NULL;
        struct cgov_job_spec spec = {};
        struct cgov_result res = {};
        const char *pool = NULL, *address = NULL, *queue_timeout = NULL;
        bool detach = false, no_wait = false;
        cgov_pool *p;
        uint64_t v;
        char msg[1024];
        int c, r;

        /* "+": the options end at COMMAND; what follows is its own. */
        while ((c = getopt_long(argc, argv, "+p:m:n:t:dh", options, NULL)) >= 0)
                switch (c) {
                case 'p':
                        pool = optarg;
                        break;
                case 'm':
                        r = parse_size(optarg, &v);
                        if (r < 0 || v == SIZE_INFINITY)
                                return bad_value(argv[0], "--memory", optarg,
                                                 r == -ERANGE ? "is too large" : "is not a size such as 512M or 2G");
                        if (v == 0)
                                return bad_value(argv[0], "--memory", optarg, "reserves nothing");
                        spec.memory_max = v;
                        break;
                case ARG_TASKS:
                        r = parse_unsigned(optarg, CGOV_PIDS_MAX, &v);
                        if (r < 0 || v == 0)
                                return bad_value(argv[0], "--tasks", optarg,
                                                 r == -ERANGE ? "is more than the kernel allows"
                                                              : "is not a positive number");
                        spec.pids_max = (uint32_t) v;
                        break;
                case 'n':
                        if (!job_name_is_valid(optarg))
                                return bad_value(argv[0], "--name", optarg,
                                                 "is not a job name: 1-64 of A-Z a-z 0-9 _ . -, not starting "
                                                 "with '.' or '-'");
                        spec.name = optarg;
                        break;
                case 't':
                        r = parse_timespan(optarg, &v);
                        if (r < 0)
                                return bad_value(argv[0], "--timeout", optarg, "is not a time such as 30s or 5min");
                        if (v != TIMESPAN_INFINITY && v > UINT64_MAX / 1000)
                                return bad_value(argv[0], "--timeout", optarg, "is too long");
                        /* "infinity" and 0 both mean no limit, as in policies. */
                        spec.timeout_ms = v == TIMESPAN_INFINITY ? 0 : v;
                        break;
                case ARG_QUEUE_TIMEOUT:
                        queue_timeout = optarg;
                        r = parse_timespan(optarg, &v);
                        if (r < 0)
                                return bad_value(argv[0], "--queue-timeout", optarg,
                                                 "is not a time such as 30s or 5min");
                        /* A job cannot ask to wait forever where the pool
                         * says otherwise; 0 is --no-wait. */
                        if (v == TIMESPAN_INFINITY || v > INT64_MAX / 1000)
                                return bad_value(argv[0], "--queue-timeout", optarg, "is not a finite time");
                        spec.queue_timeout_ms = v == 0 ? -1 : (int64_t) v;
                        break;
                case ARG_NO_WAIT:
                        no_wait = true;
                        break;
                case 'd':
                        detach = true;
                        break;
                case ARG_ADDRESS:
                        address = optarg;
                        break;
                case 'h':
                        run_help();
                        return 0;
                default:
                        fprintf(stderr, "See 'cgov run --help'.\n");
                        return EXIT_USAGE;
                }
        if (no_wait && queue_timeout) {
                fprintf(stderr, "%s: --no-wait and --queue-timeout contradict each other\n", argv[0]);
                return EXIT_USAGE;
        }
        if (no_wait)
                spec.queue_timeout_ms = -1;
        if (optind >= argc) {
                fprintf(stderr, "%s: no command given (see 'cgov run --help')\n", argv[0]);
                return EXIT_USAGE;
        }
        spec.argv = (const char *const *) argv + optind;
        /* Without CGOV_JOB_STDIO the library sends our 0, 1 and 2, and with
         * no envp and cwd our environment and directory. A detached job
         * gets /dev/null instead, as batch systems do: holding our stdout
         * would make `id=$(cgov run --detach ...)` wait for the job's end,
         * and its output would mix with the id. */
        if (detach) {
                spec.flags |= CGOV_JOB_STDIO;
                spec.stdio[0] = spec.stdio[1] = spec.stdio[2] = -1;
        }

        if (!detach)
                interrupt_setup();

        r = cli_open(argv[0], cli_address(address), &g);
        if (r < 0)
                return EXIT_UNREACHABLE;

        r = pool ? cgov_pool_find(g, pool, &p) : client_pool_find(g, NULL, &p);
        if (r == -ENOENT) {
                if (pool)
                        fprintf(stderr, "%s: no pool %s, or not one you may use (see 'cgov status')\n", argv[0], pool);
                else
                        fprintf(stderr, "%s: the policy gives you no pool of your own: name one with --pool "
                                        "(see 'cgov status')\n",
                                argv[0]);
                return EXIT_CGOV_FAILED;
        }
        if (r < 0)
                return cli_report_error(argv[0], r, EXIT_CGOV_FAILED, "cannot look up the pool");

        if (!detach)
                interrupt_arm();
        /* client_submit, not cgov_submit: only it hands back the figures
         * of an immediate refusal. */
        r = client_submit(p, &spec, detach, &j, &res);
        if (r < 0 && r > -4096 && !is_start_error(r)) {
                int sig = detach ? 0 : interrupt_disarm();
                if (sig != 0)
                        die_by_signal(sig);
                if (r == -EPERM)
                        fprintf(stderr, "%s: you may not run jobs in pool %s\n", argv[0], cgov_pool_path(p));
                else if (r == -EUSERS)
                        fprintf(stderr, "%s: you hold as much as cgovd allows one user (jobs queued or running, "
                                        "or what their commands and environments weigh together): wait for some "
                                        "to end\n",
                                argv[0]);
                else
                        return cli_report_error(argv[0], r, EXIT_CGOV_FAILED, "cannot submit the job");
                return EXIT_CGOV_FAILED;
        }
        JobReport report = {
                .id = r >= 0 ? client_job_id(j) : 0,
                .command = spec.argv[0],
                .memory_max = spec.memory_max,
        };
        if (r < 0) {
                /* Refused at once, or could not be started. */
                int sig = detach ? 0 : interrupt_disarm();
                if (sig != 0)
                        die_by_signal(sig);
                int status = job_exit_status(r, &res, &report, msg, sizeof msg);
                fprintf(stderr, "cgov: %s\n", msg);
                return status;
        }

        if (detach) {
                printf("%" PRIu64 "\n", report.id);
                return 0;
        }
        /* For the line of an OOM kill: the Wait's result does not carry it,
         * and after the Wait the job is gone. */
        if (report.memory_max == 0)
                cli_job_lookup(g, report.id, &report.memory_max, NULL);
        /* Otherwise a person sees nothing happen and cannot tell a wait
         * for room from a hang; scripts' stderr stays clean. */
        if (isatty(STDERR_FILENO) && client_job_queued(j))
                fprintf(stderr, "cgov: job %" PRIu64 " waits for room in pool %s\n", report.id, cgov_pool_path(p));
        return await_and_report(j, &report, true);
}

/* ---- cgov wait ------------------------------------------------------------ */

static void wait_help(void) {
        printf("Usage: cgov wait [OPTIONS] JOB\n"
               "\n"
               "Wait for the job with the id JOB (as 'cgov run --detach' printed it) to end,\n"
               "and exit as 'cgov run' would have. A job's result can be waited for once.\n"
               "\n"
               "Options:\n"
               "      --address=PATH  cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                      %s)\n"
               "  -h, --help          show this help\n"
               "\n"
               "Exit status: as 'cgov run'; 125 also when there is no such job. See cgov(1).\n",
               CLI_DEFAULT_ADDRESS);
}

int wait_main(int argc, char *argv[]) {
        _cleanup_(cli_closep) cgov *g = NULL;
        _cleanup_(job_freep) cgov_job *j = NULL;
        const char *address;
        uint64_t id;
        int r;

        r = cli_parse_address_only(argc, argv, wait_help, &address);
        if (r >= 0)
                return r;
        r = cli_parse_job_operand(argc, argv, "wait", &id);
        if (r != 0)
                return r;

        r = cli_open(argv[0], cli_address(address), &g);
        if (r < 0)
                return EXIT_UNREACHABLE;
        r = client_job_attach(g, id, &j);
        if (r == -ESRCH) {
                fprintf(stderr, "%s: no job %" PRIu64 ": it is not yours, or it ended and was waited for already\n",
                        argv[0], id);
                return EXIT_CGOV_FAILED;
        }
        if (r < 0)
                return cli_report_error(argv[0], r, EXIT_CGOV_FAILED, "cannot look up the job");

        _cleanup_free_ char *command = NULL;
        JobReport report = { .id = id };
        cli_job_lookup(g, id, &report.memory_max, &command);
        report.command = command;
        return await_and_report(j, &report, false);
}
