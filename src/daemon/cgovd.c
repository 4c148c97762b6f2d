/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

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

void daemon_update_status(Daemon *d) {
        _cleanup_free_ cgov_pool **pools = NULL;
        size_t n_pools = 0;

        if (governor_pools(d->gov, &pools, &n_pools) < 0)
                return;
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

static int daemon_new(const char *cgroup_root, const char *policy_dir, const char *socket_path, Daemon **ret) {
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

        struct cgov_options opts = { .cgroup_root = cgroup_root };
        r = governor_open(&d->gov, &opts, jobs_end_hook, d);
        if (r < 0)
                return log_error_errno(r, "Failed to take over the cgroup %s: %m%s", cgroup_root ?: "of this service",
                                       r == -EOPNOTSUPP ? " (no memory or pids controller: see 'cgov doctor')"
                                       : r == -EBUSY    ? " (other processes live there: run under Delegate=yes or give --cgroup-root)"
                                                        : "");
        log_info("Governing %s.", d->gov->root);

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
               "  --debug             log every connection\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n"
               "\n"
               "See cgovd(8).\n",
               CGOV_POLICY_DIR, PROTO_DEFAULT_ADDRESS);
}

int main(int argc, char *argv[]) {
        enum { ARG_CGROUP_ROOT = 0x100, ARG_POLICY_DIR, ARG_SOCKET, ARG_DEBUG };
        static const struct option options[] = {
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        const char *cgroup_root = NULL, *policy_dir = CGOV_POLICY_DIR, *socket_path = PROTO_DEFAULT_ADDRESS;
        _cleanup_(daemon_freep) Daemon *d = NULL;
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

        r = daemon_new(cgroup_root, policy_dir, socket_path, &d);
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
