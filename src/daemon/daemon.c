/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "cgroup-fs.h"
#include "daemon.h"
#include "governor.h"
#include "log.h"
#include "macro.h"

/* The daemon's life, without main() (cgovd.c), so that a test or a fuzzer
 * can run one in its own process. Startup order matters: the policy is read
 * before anything is touched (an invalid one means no start); the governor
 * opens (taking the delegated root and re-adopting the jobs a previous
 * instance left); the policy is applied; only then does the socket open and
 * systemd hear READY=1, so a client never meets a half-made daemon. */

Daemon *daemon_free(Daemon *d) {
        if (!d)
                return NULL;
        server_done(d);
        /* The governor first: it takes its sources off the loop and lets
         * the jobs run on. */
        cgov_close(d->gov);
        if (d->ended_source || d->ended_fd >= 0)
                jobs_done(d);
        tenancy_done(d);
        records_close(d);
        sd_event_unref(d->event);
        free(d->policy_dir);
        free(d->socket_path);
        free(d->state_dir);
        free(d);
        return NULL;
}


/* Called on every submission and every batch of job ends. Nobody listens
 * unless systemd gave us $NOTIFY_SOCKET (sd_notify's own test), and then the
 * pools are counted in place: copying the list (governor_pools) to count it
 * cost an allocation of 8 KiB per job with 1,000 pools. */
void daemon_update_status(Daemon *d) {
        if (!getenv("NOTIFY_SOCKET"))
                return;
        (void) sd_notifyf(false, "STATUS=%zu pool(s), %zu job(s), %zu connection(s)", governor_pool_count(d->gov),
                          jobs_running(d),
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

/* mkdir -p. */
static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = c;
                if (c == '\0')
                        return 0;
        }
}

int daemon_new(const DaemonConfig *cfg, Daemon **ret) {
        _cleanup_(daemon_freep) Daemon *d = NULL;
        _cleanup_free_ char *ids_file = NULL;
        sigset_t mask;
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return log_error_errno(ENOMEM, "Out of memory.");
        d->listen_fd = d->ended_fd = d->records_fd = -EBADF;
        d->policy_dir = strdup(cfg->policy_dir);
        d->socket_path = strdup(cfg->socket_path);
        d->state_dir = strdup(cfg->state_dir);
        if (!d->policy_dir || !d->socket_path || !d->state_dir ||
            asprintf(&ids_file, "%s/job-ids", cfg->state_dir) < 0)
                return log_error_errno(ENOMEM, "Out of memory.");
        job_rlimits_init(d->job_rlimits, &cfg->job_nofile);

        /* What must outlive the daemon and the cgroup tree (job ids). */
        r = mkdir_parents(d->state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create the state directory %s: %m", d->state_dir);
        r = records_open(d);
        if (r < 0)
                return r;

        /* Blocked before any other thread or process of ours starts (they
         * inherit the mask): only the loop's signalfd sees them. */
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

        struct cgov_options opts = { .cgroup_root = cfg->cgroup_root, .flags = cfg->open_flags };
        GovernorOptions gopts = {
                .job_hook = jobs_hook,
                .userdata = d,
                .ids_file = ids_file,
                .keeper = true,
                .event = d->event,
        };
        bool systemd = cfg->open_flags & CGOV_OPEN_SYSTEMD;
        r = governor_open(&d->gov, &opts, &gopts);
        if (r < 0 && systemd)
                return log_error_errno(r, "Failed to govern the slice %s through the system manager: %m%s",
                                       cfg->cgroup_root ?: "cgov.slice",
                                       r == -EOPNOTSUPP ? " (no memory or pids controller: see 'cgov doctor'; "
                                                          "--accounting-only to test without)"
                                       : r == -EINVAL   ? " (--cgroup-root names a slice with this backend, such as cgov.slice)"
                                                        : " (is the system bus up? --backend=cgroupfs runs without it)");
        if (r < 0)
                return log_error_errno(r, "Failed to take over the cgroup %s: %m%s", cfg->cgroup_root ?: "of this service",
                                       r == -EOPNOTSUPP ? " (no memory or pids controller: see 'cgov doctor'; "
                                                          "--accounting-only to test without)"
                                       : r == -EBUSY    ? " (other processes live there: run under Delegate=yes or give --cgroup-root)"
                                                        : "");
        GovernorInfo gi;
        governor_info(d->gov, &gi);
        log_info("Governing %s (backend %s).", gi.root, gi.backend);
        /* With the systemd backend the manager does what keepers do. */
        if (!gi.keeper && !systemd)
                log_warning("This kernel cannot start jobs through keepers (Linux 5.9 is needed): a tenant's "
                            "path that never answers can hold up the daemon while its job starts, and a job "
                            "that ends while the daemon is down ends with outcome unknown.");
        /* The flag only allows what is missing: controllers that are there
         * are used, and their limits enforced, all the same. */
        if (!gi.enforces_memory || !gi.enforces_pids)
                log_warning("Accounting only (--accounting-only): %s has no %s controller, so jobs are admitted "
                            "against the pools' limits but the kernel enforces no %s limit. For testing and "
                            "benchmarks, never for tenants.",
                            gi.root,
                            !gi.enforces_memory && !gi.enforces_pids ? "memory or pids"
                            : !gi.enforces_memory ? "memory" : "pids",
                            !gi.enforces_memory && !gi.enforces_pids ? "memory or tasks"
                            : !gi.enforces_memory ? "memory" : "tasks");

        r = jobs_adopt(d);
        if (r < 0)
                return log_error_errno(r, "Failed to take over the running jobs: %m");
        /* What the tree does not hold: queued jobs, kept results. */
        r = records_load(d);
        if (r < 0)
                return r;
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

