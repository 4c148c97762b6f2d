/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "cgroup-fs.h"
#include "daemon.h"
#include "internal.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

/* cgovd(8). Startup order matters: the policy is read before anything is
 * touched (an invalid one means no start); the governor opens (taking the
 * delegated root and re-adopting the jobs a previous instance left); the
 * policy is applied; only then does the socket open and systemd hear
 * READY=1, so a client never meets a half-made daemon. */


static Daemon *daemon_free(Daemon *d) {
        if (!d)
                return NULL;
        server_done(d);
        /* The governor first: its thread may still end jobs into the hook. */
        cgov_close(d->gov);
        if (d->ended_source || d->ended_fd >= 0)
                jobs_done(d);
        tenancy_done(d);
        sd_event_unref(d->event);
        free(d->policy_dir);
        free(d->socket_path);
        free(d);
        return NULL;
}

static void daemon_freep(Daemon **d) {
        daemon_free(*d);
}

/* Called on every submission and every batch of job ends. Nobody listens
 * unless systemd gave us $NOTIFY_SOCKET (sd_notify's own test), and then the
 * pools are counted in place: copying the list (governor_pools) to count it
 * cost an allocation of 8 KiB per job with 1,000 pools. */
void daemon_update_status(Daemon *d) {
        size_t n_pools = 0;

        if (!getenv("NOTIFY_SOCKET"))
                return;
        pthread_mutex_lock(&d->gov->lock);
        for (size_t i = 0; i < d->gov->n_pools; i++)
                n_pools += !d->gov->pools[i]->released;
        pthread_mutex_unlock(&d->gov->lock);
        (void) sd_notifyf(false, "STATUS=%zu pool(s), %zu job(s), %zu connection(s)", n_pools, jobs_running(d),
                          d->n_connections);
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        (void) sd_notify(false, "RELOADING=1");
        log_info("Reloading the policy (SIGHUP).");
        (void) tenancy_load(d, NULL);
        (void) sd_notify(false, "READY=1");
        daemon_update_status(d);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        log_info("Stopping on %s; running jobs go on and are re-adopted at the next start.",
                 strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(d->event, 0);
}

/* Every pool holds its directory open and every running job its leaf and a
 * pidfd: 1,000 pools and 2,000 jobs need over 5,000 fds, far past the soft
 * limit of 1024 that services get by default. As systemd does for itself,
 * the daemon takes the hard limit. The limit it was given, in *ret_given, is
 * what its jobs are meant to run with (select() breaks on fds above 1023).
 * Failing to raise it is not fatal: the daemon then serves fewer pools and
 * jobs. */
static void nofile_raise(struct rlimit *ret_given) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
                log_warning_errno(errno, "Failed to read the limit of open files: %m");
                rl = (struct rlimit) { 1024, 4096 }; /* the kernel's own default, for jobs */
        }
        *ret_given = rl;
        if (rl.rlim_cur >= rl.rlim_max)
                return;
        struct rlimit raised = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &raised) < 0) {
                log_warning_errno(errno, "Failed to raise the limit of open files from %llu to %llu: %m",
                                  (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max);
                return;
        }
        log_debug("Raised the limit of open files from %llu to %llu.", (unsigned long long) rl.rlim_cur,
                  (unsigned long long) rl.rlim_max);
}

/* The resource limits a job starts with: those the kernel gives a new
 * process (init's, include/asm-generic/resource.h), not whatever cgovd runs
 * with, and the open-files limit cgovd was given (the service manager's
 * choice for its services). */
static void job_rlimits_init(struct rlimit ret[static RLIM_NLIMITS], const struct rlimit *nofile) {
        uint64_t threads_max = 0;
        rlim_t nproc;

        for (int i = 0; i < RLIM_NLIMITS; i++)
                ret[i] = (struct rlimit) { RLIM_INFINITY, RLIM_INFINITY };
        /* init's RLIMIT_NPROC and RLIMIT_SIGPENDING: half of threads-max. */
        if (cg_read_u64(AT_FDCWD, "/proc/sys/kernel/threads-max", &threads_max) < 0 || threads_max < 2)
                threads_max = 2 * 4096;
        nproc = (rlim_t) (threads_max / 2);
        ret[RLIMIT_STACK] = (struct rlimit) { 8u << 20, RLIM_INFINITY };
        ret[RLIMIT_CORE] = (struct rlimit) { 0, RLIM_INFINITY };
        ret[RLIMIT_NPROC] = (struct rlimit) { nproc, nproc };
        ret[RLIMIT_SIGPENDING] = (struct rlimit) { nproc, nproc };
        ret[RLIMIT_NOFILE] = *nofile;
        ret[RLIMIT_MEMLOCK] = (struct rlimit) { 8u << 20, 8u << 20 };
        ret[RLIMIT_MSGQUEUE] = (struct rlimit) { 819200, 819200 };
        ret[RLIMIT_NICE] = (struct rlimit) { 0, 0 };
        ret[RLIMIT_RTPRIO] = (struct rlimit) { 0, 0 };
}

static int daemon_new(const char *cgroup_root, unsigned open_flags, const char *policy_dir, const char *socket_path,
                      Daemon **ret) {
        _cleanup_(daemon_freep) Daemon *d = NULL;
        sigset_t mask;
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return log_error_errno(ENOMEM, "Out of memory.");
        d->listen_fd = d->ended_fd = -EBADF;
        d->policy_dir = strdup(policy_dir);
        d->socket_path = strdup(socket_path);
        if (!d->policy_dir || !d->socket_path)
                return log_error_errno(ENOMEM, "Out of memory.");

        /* Blocked before the governor starts its thread, which inherits the
         * mask: only the loop's signalfd sees them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to make the event loop: %m");
        (void) sd_event_add_signal(d->event, NULL, SIGTERM, on_exit_signal, d);
        (void) sd_event_add_signal(d->event, NULL, SIGINT, on_exit_signal, d);
        (void) sd_event_add_signal(d->event, NULL, SIGHUP, on_reload_signal, d);
        /* WATCHDOG=1 pings at half of WatchdogSec, while the loop turns. */
        r = sd_event_set_watchdog(d->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog: %m");

        r = jobs_setup(d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up job supervision: %m");

        r = tenancy_load(d, NULL);
        if (r < 0)
                return r;

        struct cgov_options opts = { .cgroup_root = cgroup_root, .flags = open_flags };
        r = governor_open(&d->gov, &opts, jobs_end_hook, d);
        if (r < 0)
                return log_error_errno(r, "Failed to take over the cgroup %s: %m%s", cgroup_root ?: "of this service",
                                       r == -EOPNOTSUPP ? " (no memory or pids controller: see 'cgov doctor'; "
                                                          "--accounting-only to test without)"
                                       : r == -EBUSY    ? " (other processes live there: run under Delegate=yes or give --cgroup-root)"
                                                        : "");
        log_info("Governing %s.", d->gov->root);
        /* The flag only allows what is missing: controllers that are there
         * are used, and their limits enforced, all the same. */
        if (!d->gov->have_memory || !d->gov->have_pids)
                log_warning("Accounting only (--accounting-only): %s has no %s controller, so jobs are admitted "
                            "against the pools' limits but the kernel enforces no %s limit. For testing and "
                            "benchmarks, never for tenants.",
                            d->gov->root,
                            !d->gov->have_memory && !d->gov->have_pids ? "memory or pids"
                            : !d->gov->have_memory ? "memory" : "pids",
                            !d->gov->have_memory && !d->gov->have_pids ? "memory or tasks"
                            : !d->gov->have_memory ? "memory" : "tasks");

        r = jobs_adopt(d);
        if (r < 0)
                return log_error_errno(r, "Failed to take over the running jobs: %m");
        /* The policy was only checked: now that the governor has found what
         * an earlier daemon left, make the pools what it says. */
        r = tenancy_apply(d);
        if (r < 0)
                return r;

        r = server_listen(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

static void help(void) {
        printf("Usage: cgovd [OPTIONS]\n"
               "\n"
               "Serve cgov's resource pools to tenants over a Unix socket.\n"
               "\n"
               "  --cgroup-root=PATH  the delegated cgroup v2 directory to govern\n"
               "                      (default: this process's own cgroup, as under\n"
               "                      systemd's Delegate=yes)\n"
               "  --policy-dir=DIR    the *.pool files (default: %s)\n"
               "  --socket=PATH       where to listen unless systemd passes a socket\n"
               "                      (default: %s)\n"
               "  --accounting-only   run without the memory or pids controller: admit\n"
               "                      jobs, enforce nothing (testing, benchmarks)\n"
               "  --debug             log every connection\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n"
               "\n"
               "See cgovd(8).\n",
               CGOV_POLICY_DIR, PROTO_DEFAULT_ADDRESS);
}

int main(int argc, char *argv[]) {
        enum { ARG_CGROUP_ROOT = 0x100, ARG_POLICY_DIR, ARG_SOCKET, ARG_ACCOUNTING_ONLY, ARG_DEBUG };
        static const struct option options[] = {
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "accounting-only", no_argument, NULL, ARG_ACCOUNTING_ONLY },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        const char *cgroup_root = NULL, *policy_dir = CGOV_POLICY_DIR, *socket_path = PROTO_DEFAULT_ADDRESS;
        _cleanup_(daemon_freep) Daemon *d = NULL;
        unsigned open_flags = 0;
        struct rlimit nofile_given;
        int c, r;

        log_setup();
        while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
                switch (c) {
                case ARG_CGROUP_ROOT:
                        cgroup_root = optarg;
                        break;
                case ARG_POLICY_DIR:
                        policy_dir = optarg;
                        break;
                case ARG_SOCKET:
                        socket_path = optarg;
                        break;
                case ARG_ACCOUNTING_ONLY:
                        open_flags |= CGOV_OPEN_ACCOUNTING_ONLY;
                        break;
                case ARG_DEBUG:
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        puts("cgovd " PACKAGE_VERSION);
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "cgovd: unexpected argument '%s' (see 'cgovd --help')\n", argv[optind]);
                return 2;
        }
        if (geteuid() != 0)
                log_warning("Not running as root: jobs can run only as this user (%u).", (unsigned) geteuid());

        nofile_raise(&nofile_given);

        r = daemon_new(cgroup_root, open_flags, policy_dir, socket_path, &d);
        if (r < 0) {
                (void) sd_notifyf(false, "STATUS=Failed to start: %s\nERRNO=%d", strerror(-r), -r);
                return 1;
        }
        job_rlimits_init(d->job_rlimits, &nofile_given);
        (void) sd_notify(false, "READY=1");
        daemon_update_status(d);

        r = sd_event_loop(d->event);
        if (r < 0) {
                log_error_errno(r, "The event loop failed: %m");
                return 1;
        }
        return 0;
}
