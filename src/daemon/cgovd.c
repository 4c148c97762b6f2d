/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

/* cgovd(8): its options, its process-wide settings, the loop. The daemon
 * itself is daemon.c's. */

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

/* A job's keeper leaves our fd table through close_range(CLOSE_RANGE_UNSHARE),
 * which copies at least the table's first 64 slots (NR_OPEN_DEFAULT) and then
 * closes those it was asked to close in the copy: were a tenant's file among
 * them, the keeper would block in its flush (a FUSE file whose server never
 * answers), keeper.c. So nothing a tenant sends ever gets an fd below 64:
 * every free one of them holds /dev/null for good, before anything else is
 * opened (a socket systemd passes at 3 is ours, and harmless there). */
static void fds_reserve_low(void) {
        struct rlimit rl;
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC), end = 64;

        /* Under an absurdly low limit, serving comes first. */
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_max < 128)
                end = (int) rl.rlim_max / 2;
        for (int i = 3; fd >= 0 && i < end; i++)
                if (fcntl(i, F_GETFD) < 0 && fcntl(fd, F_DUPFD_CLOEXEC, i) < 0)
                        break;
        if (fd >= end || fd < 0)
                safe_close(fd);
}

static void help(void) {
        printf("Usage: cgovd [OPTIONS]\n"
               "\n"
               "Serve cgov's resource pools to tenants over a Unix socket.\n"
               "\n"
               "  --backend=NAME      who makes the tree: systemd (pools are slices,\n"
               "                      jobs transient services of the system manager)\n"
               "                      or cgroupfs (a delegated cgroup directory);\n"
               "                      default: systemd where PID 1 is systemd, unless\n"
               "                      --cgroup-root names a directory\n"
               "  --cgroup-root=ROOT  systemd: the parent slice (default: cgov.slice);\n"
               "                      cgroupfs: the delegated cgroup v2 directory\n"
               "                      (default: this process's own cgroup, as under\n"
               "                      systemd's Delegate=yes)\n"
               "  --policy-dir=DIR    the *.pool files (default: %s)\n"
               "  --socket=PATH       where to listen unless systemd passes a socket\n"
               "                      (default: %s)\n"
               "  --state-dir=DIR     where what must outlive the daemon is kept: job ids\n"
               "                      and the results of ended jobs (default: %s)\n"
               "  --accounting-only   run without the memory or pids controller: admit\n"
               "                      jobs, enforce nothing (testing, benchmarks)\n"
               "  --debug             log every connection\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n"
               "\n"
               "See cgovd(8).\n",
               CGOV_POLICY_DIR, PROTO_DEFAULT_ADDRESS, CGOV_STATE_DIR);
}

int main(int argc, char *argv[]) {
        enum { ARG_BACKEND = 0x100, ARG_CGROUP_ROOT, ARG_POLICY_DIR, ARG_SOCKET, ARG_STATE_DIR, ARG_ACCOUNTING_ONLY, ARG_DEBUG };
        static const struct option options[] = {
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "accounting-only", no_argument, NULL, ARG_ACCOUNTING_ONLY },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        DaemonConfig cfg = {
                .policy_dir = CGOV_POLICY_DIR,
                .socket_path = PROTO_DEFAULT_ADDRESS,
                .state_dir = CGOV_STATE_DIR,
        };
        _cleanup_(daemon_freep) Daemon *d = NULL;
        const char *backend = NULL;
        int c, r;

        fds_reserve_low();
        log_setup();
        while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
                switch (c) {
                case ARG_BACKEND:
                        if (strcmp(optarg, "systemd") != 0 && strcmp(optarg, "cgroupfs") != 0) {
                                fprintf(stderr, "cgovd: --backend=%s: expected systemd or cgroupfs\n", optarg);
                                return 2;
                        }
                        backend = optarg;
                        break;
                case ARG_CGROUP_ROOT:
                        cfg.cgroup_root = optarg;
                        break;
                case ARG_POLICY_DIR:
                        cfg.policy_dir = optarg;
                        break;
                case ARG_SOCKET:
                        cfg.socket_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        cfg.state_dir = optarg;
                        break;
                case ARG_ACCOUNTING_ONLY:
                        cfg.open_flags |= CGOV_OPEN_ACCOUNTING_ONLY;
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
        /* The system manager makes the tree where there is one: pools are
         * then slices an administrator sees, and jobs outlive our restarts.
         * A root given as a directory means cgroupfs; as a slice, systemd. */
        bool systemd = backend ? strcmp(backend, "systemd") == 0
                       : cfg.cgroup_root ? cfg.cgroup_root[0] != '/'
                                         : sd_booted() > 0;
        if (systemd)
                cfg.open_flags |= CGOV_OPEN_SYSTEMD;
        if (geteuid() != 0)
                log_warning("Not running as root: jobs can run only as this user (%u).", (unsigned) geteuid());

        nofile_raise(&cfg.job_nofile);

        r = daemon_new(&cfg, &d);
        if (r < 0) {
                (void) sd_notifyf(false, "STATUS=Failed to start: %s\nERRNO=%d", strerror(-r), -r);
                return 1;
        }
        (void) sd_notify(false, "READY=1");
        daemon_update_status(d);

        r = sd_event_loop(d->event);
        if (r < 0) {
                log_error_errno(r, "The event loop failed: %m");
                return 1;
        }
        return 0;
}
