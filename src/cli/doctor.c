/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `cgov doctor`: what this host can enforce, said to a newcomer in words.
 *
 * First everything is probed into a Doctor (nothing printed; see
 * doctor-probe.c), then each check of a table turns those facts into one
 * line: name, status word, and what to do. A check's weight in the table
 * (needed to run, needed to enforce, informational) is all the summary and
 * the exit status read, so a new check is one function and one table row. */

#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-fs.h"
#include "cgroup-root.h"
#include "doctor-probe.h"
#include "doctor.h"
#include "macro.h"

#define EXIT_USAGE 2

typedef enum Status {
        STATUS_OK,
        STATUS_MISSING,
        STATUS_WARNING,
        _STATUS_MAX,
} Status;

static const char *const status_table[_STATUS_MAX] = {
        [STATUS_OK] = "ok",
        [STATUS_MISSING] = "missing",
        [STATUS_WARNING] = "warning",
};

/* What a check marked missing costs; the summary reads nothing else. */
typedef enum Need {
        NEED_TO_RUN,     /* cgov_open fails without it */
        NEED_TO_ENFORCE, /* cgov only accounts without it (CGOV_OPEN_ACCOUNTING_ONLY) */
        NEED_NOTHING,    /* costs speed or detail, never enforcement */
} Need;

/* ---- the checks --------------------------------------------------------- */

/* "root, delegation": names may hold spaces, so lists of them take commas. */
static void names_add(char *list, size_t size, const char *name) {
        size_t len = strlen(list);
        snprintf(list + len, size - len, "%s%s", len ? ", " : "", name);
}

static bool kernel_at_least(const Doctor *d, unsigned major, unsigned minor) {
        return d->kernel_major > major || (d->kernel_major == major && d->kernel_minor >= minor);
}

/* Each writes its line's words (without the newline) and returns its status. */
typedef Status (*CheckFunction)(const Doctor *d, const void *arg, FILE *m);

static const char *root_origin(const Doctor *d) {
        return d->root_given ? "from --root" : "your own cgroup, as cgov_open would use it";
}

static void advise_delegate_unit(const Doctor *d, FILE *m) {
        if (d->systemd)
                fputs(", or run cgov without --root in a systemd unit with Delegate=yes "
                      "(for one command: systemd-run --scope -p Delegate=yes cgov ...)",
                      m);
}

static Status check_cgroup2(const Doctor *d, const void *arg, FILE *m) {
        if (!d->mount) {
                if (d->mount_error != -ENOMEDIUM) {
                        fprintf(m, "cannot read /proc/self/mountinfo: %s", strerror(-d->mount_error));
                        return STATUS_MISSING;
                }
                fputs("cgroup2 is not mounted: cgov needs it. Mount it (mount -t cgroup2 cgroup2 /sys/fs/cgroup)"
                      " or boot with systemd.unified_cgroup_hierarchy=1",
                      m);
                return STATUS_MISSING;
        }
        fprintf(m, "mounted at %s ", d->mount);
        if (d->n_v1 > 0)
                fputs("(hybrid mode: cgroup v1 hierarchies are mounted too)", m);
        else
                fputs("(pure cgroup v2: no v1 hierarchies)", m);
        return STATUS_OK;
}

static Status check_root(const Doctor *d, const void *arg, FILE *m) {
        switch (d->root_state) {
        case ROOT_USABLE:
                fprintf(m, "%s (%s)", d->root, root_origin(d));
                return STATUS_OK;
        case ROOT_TO_CREATE:
                fprintf(m, "%s (%s) does not exist yet; cgov_open creates it in %s", d->root, root_origin(d),
                        d->parent);
                return STATUS_OK;
        case ROOT_TOP:
                fprintf(m, "%s (%s) is the top of the cgroup v2 hierarchy, which is never delegated: "
                        "cgov needs a subtree of its own. Pass --root with a directory below it "
                        "(cgov creates it), e.g. --root %s/cgov",
                        d->root, root_origin(d), strcmp(d->root, "/") == 0 ? "" : d->root);
                advise_delegate_unit(d, m);
                return STATUS_MISSING;
        case ROOT_NOT_V2:
                if (d->parent && cg_path_is_v2(d->root) == -ENOENT)
                        fprintf(m, "%s (%s) does not exist, and its parent %s is not on cgroup v2", d->root,
                                root_origin(d), d->parent);
                else if (probe_path_is_v1(d->root) > 0)
                        fprintf(m, "%s (%s) is in a cgroup v1 hierarchy; cgov needs cgroup v2", d->root,
                                root_origin(d));
                else
                        fprintf(m, "%s (%s) is not on cgroup v2", d->root, root_origin(d));
                if (d->mount)
                        fprintf(m, ". Pass --root with a directory below %s", d->mount);
                return STATUS_MISSING;
        case ROOT_ABSENT:
                fprintf(m, "neither %s (%s) nor its parent %s exists, and cgov creates only the last "
                        "component: create the parent first, or pass another --root",
                        d->root, root_origin(d), d->parent);
                return STATUS_MISSING;
        case ROOT_UNKNOWN:
        default:
                if (!d->mount)
                        fputs("no cgroup v2 to place a root in (see cgroup v2)", m);
                else if (d->root)
                        fprintf(m, "cannot look at %s (%s): %s", d->root, root_origin(d),
                                strerror(-d->root_error));
                else
                        fprintf(m, "cannot tell which cgroup v2 directory you are in (/proc/self/cgroup: %s): "
                                "pass --root",
                                strerror(-d->root_error));
                return STATUS_MISSING;
        }
}

/* The files cgov_open writes: a subtree is delegated to a user when the
 * directory and these are theirs (cgroups(7), "Cgroup delegation"). */
static const char *const delegated_files[] = { ".", "cgroup.procs", "cgroup.subtree_control" };

static void advise_delegation(const Doctor *d, FILE *m, int err, const char *dir) {
        char user[64];

        if (err == EROFS) {
                fputs(": the cgroup file system is mounted read-only, as in most containers. "
                      "Ask whoever starts this container for a writable cgroup, or run cgov on the host",
                      m);
                return;
        }
        probe_user_name(user, sizeof user);
        fprintf(m, ". Ask an administrator to delegate it to you (chown %s %s %s/cgroup.procs "
                "%s/cgroup.subtree_control %s/cgroup.threads)",
                user, dir, dir, dir, dir);
        advise_delegate_unit(d, m);
}

static Status check_delegation(const Doctor *d, const void *arg, FILE *m) {
        char user[64], denied[128] = "";
        int err = 0;

        probe_user_name(user, sizeof user);
        if (d->root_state == ROOT_TO_CREATE) {
                if (faccessat(d->root_fd, ".", W_OK, AT_EACCESS) == 0) {
                        fprintf(m, "you (%s) can create %s in %s, and it is then yours", user, d->root, d->parent);
                        return STATUS_OK;
                }
                err = errno;
                fprintf(m, "you (%s) cannot create %s: %s is not writable (%s)", user, d->root, d->parent, strerror(err));
                advise_delegation(d, m, err, d->parent);
                return STATUS_MISSING;
        }
        if (d->root_state != ROOT_USABLE && d->root_state != ROOT_TOP) {
                fputs("not checked: no usable root (see root)", m);
                return STATUS_WARNING;
        }
        for (size_t i = 0; i < ELEMENTSOF(delegated_files); i++)
                if (faccessat(d->root_fd, delegated_files[i], W_OK, AT_EACCESS) < 0) {
                        err = errno;
                        names_add(denied, sizeof denied, i == 0 ? "the directory" : delegated_files[i]);
                }
        if (!denied[0]) {
                fprintf(m, "you (%s) can write %s, its cgroup.procs and its cgroup.subtree_control", user, d->root);
                return STATUS_OK;
        }
        fprintf(m, "you (%s) cannot write in %s: %s (%s)", user, d->root, denied, strerror(err));
        advise_delegation(d, m, err, d->root);
        return STATUS_MISSING;
}

/* cgroup v2 lets only leaves hold processes, so cgov can enable memory and
 * pids for its pools only in an empty root. cgov_open moves the caller
 * itself into supervisor/; anyone else there makes it fail with EBUSY. */
static Status check_empty_root(const Doctor *d, const void *arg, FILE *m) {
        static const char *const required[] = { "memory", "pids" };
        char needed[64] = "", comm[64] = "?";
        unsigned others;
        pid_t first;
        int r;

        if (d->root_state == ROOT_TO_CREATE) {
                fprintf(m, "%s will be created empty", d->root);
                return STATUS_OK;
        }
        if (d->root_state != ROOT_USABLE) {
                fputs("not checked: no usable root (see root)", m);
                return STATUS_WARNING;
        }
        r = probe_root_others(d, &others, &first);
        if (r < 0) {
                fprintf(m, "cannot read %s/cgroup.procs: %s", d->root, strerror(-r));
                return STATUS_WARNING;
        }

        /* Controllers already on for the children mean the kernel keeps
         * the root empty itself; only those still to enable can fail. */
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (cg_list_has(d->controllers, required[i]) && !cg_list_has(d->subtree_control, required[i]))
                        snprintf(needed + strlen(needed), sizeof needed - strlen(needed), "%s%s",
                                 needed[0] ? " and " : "", required[i]);
        if (others == 0) {
                fprintf(m, "no other processes in %s", d->root);
                if (!d->root_given)
                        fputs(" (cgov_open moves the caller into supervisor/)", m);
                return STATUS_OK;
        }

        probe_comm(first, comm, sizeof comm);
        fprintf(m, "%u other process%s in %s (pid %ld, %s%s): ", others, others == 1 ? "" : "es", d->root,
                (long) first, comm, others > 1 ? ", ..." : "");
        if (!needed[0]) {
                /* Nothing to enable now (memory and pids are absent), so
                 * cgov_open succeeds; it would not once they appear. */
                fprintf(m, "harmless while there is no controller to enable, but cgroup v2 lets only leaves "
                        "hold processes: move %s into a child cgroup",
                        others == 1 ? "it" : "them");
                return STATUS_WARNING;
        }
        fprintf(m, "cgroup v2 lets only leaves hold processes, so cgov could not enable %s for its pools "
                "(cgov_open fails with EBUSY). Move %s into a child cgroup, or use another root",
                needed, others == 1 ? "it" : "them");
        return STATUS_MISSING;
}

typedef struct Controller {
        const char *name;    /* in cgroup v2 */
        const char *v1_name; /* in cgroup v1 and /proc/cgroups */
        const char *config;  /* the kernel option that builds it */
        bool required;
        const char *use;     /* what cgov does with it */
        const char *without; /* what an optional one's absence costs */
} Controller;

static const Controller controller_memory = {
        "memory", "memory", "CONFIG_MEMCG", true,
        "cgov writes memory.max on every pool and job, so no job outgrows its reservation", NULL,
};
static const Controller controller_pids = {
        "pids", "pids", "CONFIG_CGROUP_PIDS", true,
        "cgov writes pids.max on every pool and job, so a fork bomb stops at its job's limit", NULL,
};
static const Controller controller_cpu = {
        "cpu", "cpu", "CONFIG_CGROUP_SCHED", false,
        "cgov turns it on below its root, for richer cpu.stat figures",
        "cpu.stat shows only the usage the core always counts",
};
static const Controller controller_io = {
        "io", "blkio", "CONFIG_BLK_CGROUP", false,
        "cgov turns it on below its root, for per-job io.stat figures",
        "jobs get no io.stat figures",
};

static Status check_controller(const Doctor *d, const void *arg, FILE *m) {
        const Controller *c = arg;
        const char *have = d->have_controllers ? d->controllers : d->have_top ? d->top : NULL;
        bool enabled = false;

        if (!have) {
                fputs("cannot tell: no cgroup v2 to look in (see cgroup v2)", m);
                return STATUS_MISSING;
        }
        if (cg_list_has(have, c->name)) {
                if (d->root_state == ROOT_USABLE)
                        fprintf(m, "available in %s: %s", d->root, c->use);
                else if (d->root_state == ROOT_TO_CREATE)
                        fprintf(m, "%s passes it down to %s: %s", d->parent, d->root, c->use);
                else
                        fprintf(m, "available in cgroup v2 here: %s", c->use);
                return STATUS_OK;
        }

        /* The reason, then (for memory and pids) the ways out, the last of
         * which is always to accept accounting only. */
        unsigned ways = 0;
        if (!c->required)
                fputs("(optional) ", m);
        if (d->have_top && cg_list_has(d->top, c->name) && d->root_state != ROOT_TOP) {
                /* The hierarchy has it; some ancestor does not hand it down. */
                fprintf(m, "not passed down to %s: %s does not enable it in its cgroup.subtree_control", d->root,
                        d->parent);
                if (c->required) {
                        fprintf(m, ". As root, enable it at each level from %s down to %s "
                                "(echo +%s > DIR/cgroup.subtree_control)",
                                d->mount, d->parent, c->name);
                        ways++;
                        if (d->systemd) {
                                fputs(", use a systemd unit with Delegate=yes, which does that", m);
                                ways++;
                        }
                }
        } else if (cg_list_has(d->v1, c->v1_name)) {
                fputs("not available in cgroup v2 here (bound to cgroup v1)", m);
                if (c->required) {
                        fprintf(m, ". Boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=%s)",
                                c->v1_name);
                        ways++;
                }
        } else {
                int r = probe_kernel_controller(c->v1_name, &enabled);
                if (r == 0)
                        fprintf(m, "this kernel has no %s controller (%s is off)", c->name, c->config);
                else if (r > 0 && !enabled)
                        fprintf(m, "disabled on the kernel command line (cgroup_disable=%s)", c->v1_name);
                else
                        fprintf(m, "not available in cgroup v2 here (%s/cgroup.controllers does not list it)",
                                d->mount ? d->mount : "");
                if (c->required && r >= 0 && (r == 0 || !enabled)) {
                        fputs(r == 0 ? ". Use a kernel built with it" : ". Remove that option", m);
                        ways++;
                }
        }
        if (!c->required)
                fprintf(m, "; without it %s", c->without);
        else if (ways == 0)
                fputs(". Run with CGOV_OPEN_ACCOUNTING_ONLY to admit without enforcement", m);
        else
                fprintf(m, "%s or run with CGOV_OPEN_ACCOUNTING_ONLY to admit without enforcement",
                        ways > 1 ? "," : "");
        return STATUS_MISSING;
}

static Status check_systemd(const Doctor *d, const void *arg, FILE *m) {
        char comm[64] = "unknown";

        if (!d->systemd) {
                probe_comm(1, comm, sizeof comm);
                fprintf(m, "(optional) systemd is not PID 1 here (PID 1 is %s): cgov manages its subtree itself; "
                        "only cgovd.service and the systemd backend need systemd",
                        comm);
                return STATUS_MISSING;
        }
        const char *where = d->root_state == ROOT_USABLE ? d->root : d->root_state == ROOT_TO_CREATE ? d->parent : NULL;
        if (where && probe_delegated(d, where)) {
                fprintf(m, "systemd is PID 1 and %s lies in a subtree it delegated (Delegate=yes)", where);
                return STATUS_OK;
        }
        if (!where) {
                fputs("systemd is PID 1: give cgov a subtree of its own with Delegate=yes (cgovd.service has it; "
                      "for one command: systemd-run --scope -p Delegate=yes cgov ...)",
                      m);
                return STATUS_OK;
        }
        fprintf(m, "systemd is PID 1 and has not marked %s as delegated (systemd 251+ marks Delegate=yes "
                "cgroups); systemd expects to be the only one writing its tree. Run cgov in a unit with "
                "Delegate=yes (cgovd.service has it; for one command: systemd-run --scope -p Delegate=yes cgov ...)",
                where);
        return STATUS_WARNING;
}

/* Which backend cgovd takes by default (cgovd.c: where PID 1 is systemd). */
static Status check_backend(const Doctor *d, const void *arg, FILE *m) {
        if (d->systemd)
                fputs("cgovd uses the systemd backend, because systemd is PID 1: pools are slices under "
                      "cgov.slice and jobs transient services (systemctl, systemd-cgls and journalctl -u show "
                      "them); --backend=cgroupfs keeps them in its own delegated cgroup instead",
                      m);
        else
                fputs("cgovd uses the cgroupfs backend, because systemd is not PID 1: it makes the pools and "
                      "jobs as directories of its cgroup root itself",
                      m);
        return STATUS_OK;
}

static Status check_clone3(const Doctor *d, const void *arg, FILE *m) {
        static const char fallback[] = "cgov starts jobs with fork, a write to cgroup.procs and exec instead "
                                       "(a little slower; a job still never runs outside its cgroup)";
        int r = cg_probe_clone_into_cgroup();

        if (r > 0) {
                fputs("clone3(CLONE_INTO_CGROUP) works: jobs start directly inside their cgroup", m);
                return STATUS_OK;
        }
        if (r == 0)
                fprintf(m, "the kernel refuses clone3(CLONE_INTO_CGROUP) (needs Linux 5.7, and no seccomp "
                        "filter hiding clone3): %s",
                        fallback);
        else
                fprintf(m, "cannot probe clone3(CLONE_INTO_CGROUP): %s; %s", strerror(-r), fallback);
        return STATUS_WARNING;
}

typedef struct Feature {
        const char *file;
        const char *controller; /* whose cgroups have the file; NULL: every cgroup below the top */
        unsigned major, minor;  /* the first kernel with it; 0: the version tells nothing */
        const char *use;
        const char *without;
} Feature;

static const Feature feature_kill = {
        "cgroup.kill", NULL, 5, 14,
        "a job's leftover processes die in one atomic write",
        "cgov freezes a job's cgroup and kills its processes one by one instead (slower, same result)",
};
static const Feature feature_memory_peak = {
        "memory.peak", "memory", 5, 19,
        "job results report peak memory use",
        "job results report no peak memory use (memory_peak 0)",
};
static const Feature feature_pids_peak = {
        "pids.peak", "pids", 6, 1,
        "job results report the peak number of processes",
        "job results report no peak process count (pids_peak 0)",
};
static const Feature feature_oom_group = {
        "memory.oom.group", "memory", 4, 19,
        "an OOM kill takes a job's whole process tree, never half of it",
        "an OOM kill may take only some of a job's processes",
};
static const Feature feature_swap = {
        "memory.swap.max", "memory", 0, 0,
        "cgov sets memory.swap.max to 0 for jobs, so no job spills past its reservation into swap",
        "a job can spill past its reservation into swap. Enable swap accounting (CONFIG_MEMCG_SWAP, "
        "and no swapaccount=0 on the kernel command line)",
};

static Status check_feature(const Doctor *d, const void *arg, FILE *m) {
        const Feature *f = arg;
        _cleanup_free_ char *where = NULL;

        if (f->controller && !(d->have_top && cg_list_has(d->top, f->controller))) {
                fprintf(m, "needs the %s controller (see %s above)", f->controller, f->controller);
                if (f->major && kernel_at_least(d, f->major, f->minor))
                        fprintf(m, "; kernel %s would have %s (>= %u.%u)", d->uts.release, f->file, f->major,
                                f->minor);
                return STATUS_MISSING;
        }

        _cleanup_close_ int fd = probe_dir_open(d, f->controller, &where);
        if (fd >= 0) {
                if (faccessat(fd, f->file, F_OK, 0) == 0) {
                        fprintf(m, "present in %s: %s", where, f->use);
                        return STATUS_OK;
                }
                fprintf(m, "absent from %s", where);
                if (f->major)
                        fprintf(m, " (needs Linux %u.%u)", f->major, f->minor);
                fprintf(m, ": %s", f->without);
                return STATUS_WARNING;
        }
        if (fd == -ENOMEM) {
                fputs("out of memory", m);
                return STATUS_WARNING;
        }

        const char *scope = f->controller ? "with that controller " : "";
        if (!f->major) {
                fprintf(m, "cannot tell: no cgroup %sbelow the top to look in; without it %s", scope, f->without);
                return STATUS_WARNING;
        }
        if (kernel_at_least(d, f->major, f->minor)) {
                fprintf(m, "inferred from kernel %s (>= %u.%u; no cgroup %sbelow the top to look in): %s",
                        d->uts.release, f->major, f->minor, scope, f->use);
                return STATUS_OK;
        }
        fprintf(m, "kernel %s is older than %u.%u (inferred; no cgroup %sbelow the top to look in): %s",
                d->uts.release, f->major, f->minor, scope, f->without);
        return STATUS_WARNING;
}

typedef struct Check {
        const char *name;
        CheckFunction run;
        const void *arg;
        Need need;
} Check;

/* In reading order: where cgroup v2 is, which root, may we use it, what it
 * can enforce, then what only costs speed or detail. */
static const Check checks[] = {
        { "cgroup v2", check_cgroup2, NULL, NEED_TO_RUN },
        { "root", check_root, NULL, NEED_TO_RUN },
        { "delegation", check_delegation, NULL, NEED_TO_RUN },
        { "empty root", check_empty_root, NULL, NEED_TO_RUN },
        { "memory", check_controller, &controller_memory, NEED_TO_ENFORCE },
        { "pids", check_controller, &controller_pids, NEED_TO_ENFORCE },
        { "cpu", check_controller, &controller_cpu, NEED_NOTHING },
        { "io", check_controller, &controller_io, NEED_NOTHING },
        { "systemd", check_systemd, NULL, NEED_NOTHING },
        { "backend", check_backend, NULL, NEED_NOTHING },
        { "clone3", check_clone3, NULL, NEED_NOTHING },
        { "cgroup.kill", check_feature, &feature_kill, NEED_NOTHING },
        { "memory.peak", check_feature, &feature_memory_peak, NEED_NOTHING },
        { "pids.peak", check_feature, &feature_pids_peak, NEED_NOTHING },
        { "memory.oom.group", check_feature, &feature_oom_group, NEED_NOTHING },
        { "swap accounting", check_feature, &feature_swap, NEED_NOTHING },
};

#define NAME_WIDTH 16 /* "memory.oom.group" */

static void print_line(const char *name, Status s, const char *words) {
        printf("%-*s %-8s %s\n", NAME_WIDTH, name, status_table[s], words);
}

/* Runs every check, prints its line, then the summary; returns the exit status. */
static int doctor_report(const Doctor *d) {
        char run_missing[128] = "", enforce_missing[128] = "";
        unsigned warnings = 0;
        Status s;

        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                _cleanup_free_ char *words = NULL;
                size_t len = 0;
                _cleanup_(fclosep) FILE *m = open_memstream(&words, &len);
                if (!m)
                        return -ENOMEM;
                s = checks[i].run(d, checks[i].arg, m);
                if (fflush(m) != 0)
                        return -ENOMEM;
                print_line(checks[i].name, s, words);

                if (s == STATUS_WARNING)
                        warnings++;
                if (s != STATUS_MISSING)
                        continue;
                if (checks[i].need == NEED_TO_RUN)
                        names_add(run_missing, sizeof run_missing, checks[i].name);
                else if (checks[i].need == NEED_TO_ENFORCE)
                        names_add(enforce_missing, sizeof enforce_missing, checks[i].name);
        }

        _cleanup_free_ char *words = NULL;
        int r;
        if (!run_missing[0] && !enforce_missing[0]) {
                r = asprintf(&words, "cgov can enforce memory and pids limits under %s%s", d->root,
                             warnings ? "; the warnings above cost speed or detail, not enforcement" : "");
                s = STATUS_OK;
        } else if (!run_missing[0]) {
                r = asprintf(&words, "cgov can only account here, not enforce (%s missing above): the ledger would "
                             "still admit and reject jobs (CGOV_OPEN_ACCOUNTING_ONLY), but the kernel would limit "
                             "nothing. Follow the advice on those lines to enforce",
                             enforce_missing);
                s = STATUS_WARNING;
        } else {
                r = asprintf(&words, "cgov cannot work here yet (%s missing above)%s%s%s. Follow the advice on "
                             "each line marked missing, from the top",
                             run_missing,
                             enforce_missing[0] ? ", and even with a root it could only account, not enforce (" : "",
                             enforce_missing, enforce_missing[0] ? " missing)" : "");
                s = STATUS_MISSING;
        }
        if (r < 0)
                return -ENOMEM;
        print_line("summary", s, words);
        return s == STATUS_OK ? 0 : 1;
}

/* ---- the command -------------------------------------------------------- */

static void doctor_usage(FILE *f) {
        fputs("Usage: cgov doctor [--root PATH]\n"
              "\n"
              "Check what this host's kernel and cgroup setup let cgov enforce: one line\n"
              "per check (ok, missing or warning) with what to do about it, then a summary.\n"
              "\n"
              "Options:\n"
              "  -r, --root PATH  judge this cgroup v2 directory as cgov's root (default: your\n"
              "                   own cgroup, as cgov_open would use it)\n"
              "  -h, --help       show this help\n"
              "\n"
              "Exit status: 0 when cgov can enforce memory and pids limits here, 1 when it\n"
              "cannot, 2 on a usage error.\n",
              f);
}

int doctor_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "root", required_argument, NULL, 'r' },
                {}
        };
        _cleanup_(doctor_done) Doctor d = { .root_fd = -EBADF };
        int c, r;

        while ((c = getopt_long(argc, argv, "hr:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        doctor_usage(stdout);
                        return 0;
                case 'r':
                        /* cgov_open's rule, checked here so a typo is a usage
                         * error rather than a line of advice. */
                        if (cg_root_path_check(optarg) < 0) {
                                fprintf(stderr, "%s: --root needs an absolute path without '..', not '%s'\n",
                                        argv[0], optarg);
                                return EXIT_USAGE;
                        }
                        free(d.root);
                        d.root = strdup(optarg);
                        if (!d.root) {
                                fprintf(stderr, "%s: %s\n", argv[0], strerror(ENOMEM));
                                return 1;
                        }
                        for (size_t len = strlen(d.root); len > 1 && d.root[len - 1] == '/';)
                                d.root[--len] = '\0';
                        d.root_given = true;
                        break;
                default:
                        fprintf(stderr, "See '%s --help'.\n", argv[0]);
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s' (see '%s --help')\n", argv[0], argv[optind], argv[0]);
                return EXIT_USAGE;
        }

        r = doctor_probe(&d);
        if (r >= 0)
                r = doctor_report(&d);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[0], strerror(-r));
                return 1;
        }
        return r;
}
