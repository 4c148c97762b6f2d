/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "cgroup-fs.h"
#include "cgroup-place.h"
#include "cgroup-records.h"
#include "cgroup-root.h"
#include "list.h"
#include "macro.h"
#include "strv.h"
#include "time-util.h"

/* The systemd backend: the system manager makes the tree, through sd-bus.
 * A pool is a slice under the parent slice (default cgov.slice), named
 * from its path with systemd's escaping (pool "shared/customer-a" under
 * cgov.slice is cgov-shared-customer\x2da.slice) and carrying MemoryMax=
 * and TasksMax=; a job is a transient service in its pool's slice,
 * <prefix>-job-<id>.service, with its reservation as MemoryMax=.
 *
 * A job is a service, not a scope, because the manager then is what a
 * keeper is on cgroupfs: it starts the process inside the unit's cgroup
 * (nothing of the tenant's runs on our threads), and it keeps the main
 * process's exit status after it ended, whether or not cgov is running:
 * the unit has RemainAfterExit=yes and its ExecStart ignores failure, so it
 * stays "active (exited)" with its status until the governor has read it
 * and stops it. A job's unit outlives cgovd.service's restarts.
 *
 * The cgroup directories the manager makes are read directly, as on
 * cgroupfs (figures, populated, cgroup.kill): the manager's properties for
 * them (MemoryPeak=) came only after systemd 252. */

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"
#define SD_JOB_TIMEOUT_USEC (30 * UINT64_C(1000000))
#define UNIT_NAME_MAX 255

/* A job unit being started in the background (JobStart.started): the
 * manager's job for it may wait on what the job's user named (its working
 * directory's mount, say), and no thread of ours waits with it. */
typedef struct Start Start;
struct Start {
        LIST_FIELDS(Start, starts);
        Backend *b;
        sd_bus_slot *slot;             /* the start call, until its reply */
        char *job;                     /* the manager's job, named by that reply */
        char *unit;                    /* the unit's object path */
        char *cgroup;                  /* the job's place */
        uint32_t main_pid;             /* as its change signal said */
        int r;                         /* 1 while under way; then 0 or -errno */
        int fd;                        /* what the report says: its place, */
        JobProcess proc;               /* and its main process */
        JobStartedFn started;
        void *userdata;
};

struct Backend {
        /* An sd_bus is not thread-safe, and the embedded governor calls
         * from the caller's threads and its supervisor's: BUS_LOCKED. */
        pthread_mutex_t bus_lock;
        sd_bus *bus;
        sd_bus_slot *job_removed, *props_changed;
        /* Starts under way, and those over whose report is still to be
         * made (on the supervisor's thread, by watch()). */
        Start *starts, *starts_done;
        unsigned n_done;
        /* What the supervisor watches (BackendInfo.watch_fd): an epoll of
         * the bus and of wake_fd, which a thread that took in a start's end
         * while holding the bus writes to when it lets go. */
        int watch_fd, wake_fd;
        const char *waiting_for;       /* the job path bus_wait_job() waits for */
        char *waiting_result;          /* its result, once it came */
        const char *watching;          /* the unit path whose changes are wanted */
        uint32_t main_pid;             /* as its change signal said */
        bool changed;                  /* a change signal of it came */
        bool direct;                   /* the manager's own socket: its signals come unasked */
        char *slice;                   /* the parent slice: "cgov.slice" */
        char *prefix;                  /* its name without ".slice": "cgov" */
        char *root;                    /* its cgroup directory */
        int root_fd;
        CgroupCaps caps;
};

static Backend *bus_lock(Backend *b) {
        pthread_mutex_lock(&b->bus_lock);
        return b;
}

static void bus_unlockp(Backend **b) {
        /* Starts whose end we took in, or whose end a call of ours may have
         * read and queued without taking it in: the supervisor's watch()
         * reports them (it may have found the bus ours, and its edge is
         * gone). */
        bool wake = (*b)->n_done > 0 || (*b)->starts;
        pthread_mutex_unlock(&(*b)->bus_lock);
        if (wake)
                (void) !write((*b)->wake_fd, &(uint64_t) { 1 }, sizeof(uint64_t));
}

/* The bus is this op's until it returns. */
#define BUS_LOCKED(b) _cleanup_(bus_unlockp) _unused_ Backend *_bus_locked_ = bus_lock(b)

/* ---- names ---------------------------------------------------------------- */

/* systemd's escaping of a pool segment ([A-Za-z0-9_.-], see names.c): "-"
 * separates the levels of a slice's name, so a "-" of the segment is
 * "\x2d"; the rest needs none. */
static int slice_name(const Backend *b, const char *path, char **ret) {
        char name[UNIT_NAME_MAX + 1];
        size_t n = 0;

        n += (size_t) snprintf(name, sizeof name, "%s", b->prefix);
        for (const char *s = path; *s && n < sizeof name; s++) {
                if (s == path || *s == '/') {
                        name[n++] = '-';
                        if (*s == '/')
                                continue;
                }
                if (*s == '-')
                        n += (size_t) snprintf(name + n, sizeof name - n, "\\x2d");
                else
                        name[n++] = *s;
        }
        if (n + strlen(".slice") >= sizeof name)
                return -ENAMETOOLONG;
        memcpy(name + n, ".slice", sizeof ".slice");
        *ret = strdup(name);
        return *ret ? 0 : -ENOMEM;
}

/* The pool path a directory name of a slice under parent_path says, or
 * false when it is not one of ours. */
static bool slice_path_of(const Backend *b, const char *parent_path, const char *dir, char *ret, size_t size) {
        size_t plen = strlen(b->prefix), dlen = strlen(dir);
        const char *s;
        size_t n = 0;

        if (dlen <= plen + 7 || strncmp(dir, b->prefix, plen) != 0 || dir[plen] != '-' ||
            strcmp(dir + dlen - 6, ".slice") != 0)
                return false;
        /* The name repeats the parent's levels: "cgov-a-b.slice" in a. */
        s = dir + plen + 1;
        if (parent_path[0]) {
                for (const char *p = parent_path; *p; p++) {
                        char want = *p == '/' ? '-' : *p;
                        if (*p == '-') {
                                if (strncmp(s, "\\x2d", 4) != 0)
                                        return false;
                                s += 4;
                                continue;
                        }
                        if (*s++ != want)
                                return false;
                }
                if (*s++ != '-')
                        return false;
                n = (size_t) snprintf(ret, size, "%s/", parent_path);
        }
        for (; s < dir + dlen - 6 && n + 1 < size; s++) {
                if (*s == '-')
                        return false; /* a deeper level: not a child of parent */
                if (strncmp(s, "\\x2d", 4) == 0) {
                        ret[n++] = '-';
                        s += 3;
                } else
                        ret[n++] = *s;
        }
        ret[n] = '\0';
        return n + 1 < size && pool_path_is_valid(ret, NULL);
}

static int job_unit_name(const Backend *b, uint64_t id, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s-job-%" PRIu64 ".service", b->prefix, id);
        return n > 0 && (size_t) n < size ? 0 : -ENAMETOOLONG;
}

/* The reverse: 1 and the id for a job unit's name, 0 for another name,
 * -EINVAL for one with the job prefix but no id after it. */
static int job_unit_id(const Backend *b, const char *name, uint64_t *ret) {
        size_t n = strlen(b->prefix);
        char *end;

        if (strncmp(name, b->prefix, n) != 0 || strncmp(name + n, "-job-", strlen("-job-")) != 0)
                return 0;
        errno = 0;
        *ret = strtoull(name + n + strlen("-job-"), &end, 10);
        return errno == 0 && strcmp(end, ".service") == 0 ? 1 : -EINVAL;
}

/* A place's unit: its directory is named after it. */
static const char *unit_of(const Place *p) {
        const char *slash = strrchr(p->cgroup, '/');
        return slash ? slash + 1 : p->cgroup;
}

/* ---- the bus -------------------------------------------------------------- */

/* 0, or what the manager's error means. */
static int bus_error(int r, const sd_bus_error *e) {
        if (r >= 0)
                return 0;
        if (!sd_bus_error_is_set(e))
                return r;
        if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists"))
                return -EEXIST;
        if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                return -ENOENT;
        return -sd_bus_error_get_errno(e) ?: r; /* it gives errno's sign */
}

/* A job's result, as the manager names it: "failed" or "dependency" (a
 * mount under the working directory that failed, say) is -EIO. */
static int job_result(const char *result) {
        if (strcmp(result, "done") == 0)
                return 0;
        if (strcmp(result, "canceled") == 0)
                return -ECANCELED;
        if (strcmp(result, "timeout") == 0)
                return -ETIMEDOUT;
        return -EIO;
}

/* A background start is over: its report waits for watch(). */
static void start_done(Backend *b, Start *st, int r) {
        st->r = r;
        st->slot = sd_bus_slot_unref(st->slot);
        LIST_REMOVE(starts, b->starts, st);
        LIST_PREPEND(starts, b->starts_done, st);
        b->n_done++;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Backend *b = userdata;
        const char *path, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, NULL, &result) < 0)
                return 0;
        if (b->waiting_for && !b->waiting_result && strcmp(path, b->waiting_for) == 0) {
                b->waiting_result = strdup(result);
                return 0;
        }
        LIST_FOREACH(starts, st, b->starts)
                if (st->job && strcmp(path, st->job) == 0) {
                        start_done(b, st, job_result(result));
                        break;
                }
        return 0;
}

/* The manager tells the change of a unit before the end of the job that
 * changed it: a job unit's MainPID comes with its start, no Get needed.
 * Only a direct connection hears it (on the system bus it would take a
 * match of its own at the broker). */
static int on_props_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Backend *b = userdata;
        const char *path = sd_bus_message_get_path(m), *iface, *name;
        uint32_t *main_pid = NULL;

        if (!path)
                return 0;
        if (b->watching && strcmp(path, b->watching) == 0) {
                b->changed = true;
                main_pid = &b->main_pid;
        } else
                LIST_FOREACH(starts, st, b->starts)
                        if (strcmp(path, st->unit) == 0) {
                                main_pid = &st->main_pid;
                                break;
                        }
        if (!main_pid)
                return 0;
        if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, SD_SERVICE) != 0 ||
            sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &name) < 0)
                        return 0;
                if (strcmp(name, "MainPID") == 0) {
                        (void) sd_bus_message_read(m, "v", "u", main_pid);
                        return 0;
                }
                if (sd_bus_message_skip(m, "v") < 0 || sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

/* Takes in what comes on the bus until done(userdata) or the deadline
 * (then -ETIMEDOUT); each message's callbacks are what make it done. */
static int bus_run_until(Backend *b, bool (*done)(const void *userdata), const void *userdata, uint64_t deadline) {
        while (!done(userdata)) {
                int r = sd_bus_process(b->bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                uint64_t now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(b->bus, deadline - now);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool job_result_came(const void *userdata) {
        return ((const Backend *) userdata)->waiting_result;
}

/* Calls a Manager method whose reply is a job, and waits for that job:
 * 0 when it is done, -EIO when it failed, -ETIMEDOUT. */
static int bus_call_job(Backend *b, sd_bus_message *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *job;
        int r;

        r = sd_bus_call(b->bus, m, SD_JOB_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                return bus_error(r, &e);
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0) {
                sd_bus_message_unref(reply);
                return r;
        }
        b->waiting_for = job;
        free(b->waiting_result);
        b->waiting_result = NULL;
        r = bus_run_until(b, job_result_came, b, now_usec() + SD_JOB_TIMEOUT_USEC);
        b->waiting_for = NULL;
        sd_bus_message_unref(reply);
        if (!b->waiting_result)
                return r < 0 ? r : -ETIMEDOUT;
        r = strcmp(b->waiting_result, "done") == 0 ? 0 : -EIO;
        b->waiting_result = mfree(b->waiting_result);
        return r;
}

/* What came meanwhile (replies to calls that do not wait, the manager's
 * signals): dispatched, so that nothing piles up on a bus that no loop
 * watches. */
static void bus_drain(Backend *b) {
        while (sd_bus_process(b->bus, NULL) > 0)
                ;
}

static int manager_call(Backend *b, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(b->bus, ret, SD_DEST, SD_PATH, SD_MANAGER, method);
}

/* Start or stop a unit by name and wait for it. */
static int unit_job(Backend *b, const char *method, const char *name, const char *mode) {
        sd_bus_message *m = NULL;
        int r = manager_call(b, method, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, mode);
        if (r >= 0)
                r = bus_call_job(b, m);
        sd_bus_message_unref(m);
        return r;
}

/* Several properties of a unit in one round trip: every Get is sent, then
 * the replies are collected (the manager answers in order). */
typedef struct PropGet {
        const char *iface, *property;
        char type;                     /* 'i', 'u', 't', or 's' (then *ret is a char * to free) */
        void *ret;
        int r;                         /* 1 until its reply came; then 0 or -errno */
} PropGet;

static int on_prop(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PropGet *g = userdata;
        const char *str;
        char sig[2] = { g->type, 0 };

        if (sd_bus_message_is_method_error(m, NULL)) {
                g->r = -sd_bus_message_get_errno(m) ?: -EIO;
                return 0;
        }
        g->r = sd_bus_message_enter_container(m, 'v', sig);
        if (g->r >= 0 && g->type == 's') {
                g->r = sd_bus_message_read_basic(m, 's', &str);
                if (g->r >= 0 && !(*(char **) g->ret = strdup(str)))
                        g->r = -ENOMEM;
        } else if (g->r >= 0)
                g->r = sd_bus_message_read_basic(m, g->type, g->ret);
        g->r = g->r < 0 ? g->r : 0;
        return 0;
}

static bool prop_came(const void *userdata) {
        return ((const PropGet *) userdata)->r <= 0;
}

static int unit_get_many(Backend *b, const char *name, PropGet *gets, size_t n) {
        _cleanup_free_ char *path = NULL;
        sd_bus_slot *slots[8] = {};
        int r;

        assert(n <= 8);
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                gets[i].r = 1;
                r = sd_bus_call_method_async(b->bus, &slots[i], SD_DEST, path, "org.freedesktop.DBus.Properties", "Get",
                                             on_prop, &gets[i], "ss", gets[i].iface, gets[i].property);
        }
        uint64_t deadline = now_usec() + SD_JOB_TIMEOUT_USEC;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = bus_run_until(b, prop_came, &gets[i], deadline);
        for (size_t i = 0; i < n; i++)
                sd_bus_slot_unref(slots[i]);
        return r < 0 ? r : 0;
}

/* A property of a unit, by name. Its object path is the name's bus
 * escaping: no GetUnit round trip. An unknown unit reads as a loaded
 * "inactive" one (the manager loads it on the spot). */
static int unit_get(Backend *b, const char *name, const char *iface, const char *property, const char *type,
                    void *ret) {
        PropGet g = { iface, property, type[0], ret };
        int r = unit_get_many(b, name, &g, 1);
        return r < 0 ? r : g.r;
}

static int unit_get_string(Backend *b, const char *name, const char *iface, const char *property, char **ret) {
        return unit_get(b, name, iface, property, "s", ret);
}

/* "infinity" is UINT64_MAX on the bus. */
static uint64_t limit_or_infinity(uint64_t v) {
        return v ?: UINT64_MAX;
}

/* ---- the root -------------------------------------------------------------- */

/* As root, the manager's own socket, as systemctl and systemd-run use it:
 * no broker between us, every call half the hops. Otherwise (or when it
 * cannot be reached) the system bus. Only the manager, as root, can have
 * made that socket in /run/systemd; its peer is checked all the same. */
static int bus_open_manager(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        struct ucred peer;
        socklen_t len = sizeof peer;

        if (geteuid() == 0 && sd_bus_new(&bus) >= 0 &&
            sd_bus_set_address(bus, "unix:path=/run/systemd/private") >= 0 && sd_bus_start(bus) >= 0 &&
            getsockopt(sd_bus_get_fd(bus), SOL_SOCKET, SO_PEERCRED, &peer, &len) >= 0 && peer.uid == 0) {
                *ret = TAKE_PTR(bus);
                return 0;
        }
        return sd_bus_open_system(ret);
}

static void start_free(Start *st) {
        sd_bus_slot_unref(st->slot);
        safe_close(st->fd);
        free(st->job);
        free(st->unit);
        free(st->cgroup);
        free(st);
}

/* The governor closes: what it was told of no longer matters. */
static void starts_free(Start *list) {
        LIST_FOREACH_SAFE(starts, st, next, list)
                start_free(st);
}

static void systemd_close(Backend *b) {
        if (!b)
                return;
        starts_free(b->starts);
        starts_free(b->starts_done);
        safe_close(b->watch_fd);
        safe_close(b->wake_fd);
        sd_bus_slot_unref(b->job_removed);
        sd_bus_slot_unref(b->props_changed);
        sd_bus_flush_close_unref(b->bus);
        free(b->waiting_result);
        safe_close(b->root_fd);
        free(b->slice);
        free(b->prefix);
        free(b->root);
        pthread_mutex_destroy(&b->bus_lock);
        free(b);
}

/* A parent slice is a slice's unit name, not a path. */
static bool slice_name_is_valid(const char *s) {
        size_t len = strlen(s);
        if (len <= 6 || len > 64 || strcmp(s + len - 6, ".slice") != 0)
                return false;
        for (size_t i = 0; i < len - 6; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
                        return false;
        return s[0] != '-' && s[0] != '.';
}

/* Edge-triggered, as the supervisor watches it: watch() takes in all
 * that came each time. The manager's socket is one fd for every start, as
 * the wake-up is: nothing per job. */
static int watch_open(Backend *b) {
        struct epoll_event bus_ev = { .events = EPOLLIN | EPOLLET }, wake_ev = { .events = EPOLLIN | EPOLLET };

        b->watch_fd = epoll_create1(EPOLL_CLOEXEC);
        b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->watch_fd < 0 || b->wake_fd < 0 ||
            epoll_ctl(b->watch_fd, EPOLL_CTL_ADD, sd_bus_get_fd(b->bus), &bus_ev) < 0 ||
            epoll_ctl(b->watch_fd, EPOLL_CTL_ADD, b->wake_fd, &wake_ev) < 0)
                return negative_errno();
        return 0;
}

static int systemd_open(const char *root, unsigned flags, Backend **ret, BackendInfo *ret_info) {
        _cleanup_free_ char *cgroup = NULL, *mount = NULL;
        Backend *b;
        int r;

        if (!root)
                root = "cgov.slice";
        if (!slice_name_is_valid(root))
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->root_fd = b->watch_fd = b->wake_fd = -EBADF;
        pthread_mutex_init(&b->bus_lock, NULL);
        b->slice = strdup(root);
        b->prefix = strndup(root, strlen(root) - 6);
        if (!b->slice || !b->prefix) {
                r = -ENOMEM;
                goto fail;
        }
        r = bus_open_manager(&b->bus);
        if (r < 0)
                goto fail;
        /* A direct connection's messages have no sender to match. */
        b->direct = sd_bus_is_bus_client(b->bus) <= 0;
        r = sd_bus_match_signal(b->bus, &b->job_removed, b->direct ? NULL : SD_DEST, SD_PATH, SD_MANAGER,
                                "JobRemoved", on_job_removed, b);
        if (r >= 0 && b->direct)
                r = sd_bus_match_signal(b->bus, &b->props_changed, NULL, NULL, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_props_changed, b);
        if (r < 0)
                goto fail;
        r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL);
        if (r < 0)
                goto fail;
        /* The parent slice, made if it is not there (a slice needs no
         * unit file): its cgroup is where the pools go. */
        r = unit_job(b, "StartUnit", b->slice, "replace");
        if (r < 0)
                goto fail;
        r = unit_get_string(b, b->slice, "org.freedesktop.systemd1.Slice", "ControlGroup", &cgroup);
        if (r >= 0 && (!cgroup || cgroup[0] != '/'))
                r = -ENOMEDIUM;
        if (r >= 0)
                r = cg_find_mount(&mount);
        if (r < 0)
                goto fail;
        if (asprintf(&b->root, "%s%s", mount, cgroup) < 0) {
                b->root = NULL;
                r = -ENOMEM;
                goto fail;
        }
        b->root_fd = open(b->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->root_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = place_caps(b->root_fd, &b->caps);
        if (r < 0)
                goto fail;
        r = watch_open(b);
        if (r < 0)
                goto fail;
        if ((!b->caps.have_memory || !b->caps.have_pids) && !(flags & CGOV_OPEN_ACCOUNTING_ONLY)) {
                r = -EOPNOTSUPP;
                goto fail;
        }
        *ret_info = (BackendInfo) {
                .root = b->root,
                .enforces_memory = b->caps.have_memory,
                .enforces_pids = b->caps.have_pids,
                .records_exits = true,
                .watch_fd = b->watch_fd,
        };
        *ret = b;
        return 0;
fail:
        systemd_close(b);
        return r;
}

/* ---- pools ------------------------------------------------------------------ */

static int set_properties(Backend *b, const char *name, const char *property, uint64_t value) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        int r = manager_call(b, "SetUnitProperties", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sba(sv)", name, true, 1, property, "t", value);
        if (r >= 0)
                r = sd_bus_call(b->bus, m, SD_JOB_TIMEOUT_USEC, &e, NULL);
        sd_bus_message_unref(m);
        return bus_error(r, &e);
}

static int systemd_pool_set_memory_max(Backend *b, const Place *pool, uint64_t max) {
        BUS_LOCKED(b);
        if (!b->caps.have_memory)
                return 0;
        return set_properties(b, unit_of(pool), "MemoryMax", limit_or_infinity(max));
}

static int systemd_pool_set_pids_max(Backend *b, const Place *pool, uint32_t max) {
        BUS_LOCKED(b);
        if (!b->caps.have_pids)
                return 0;
        return set_properties(b, unit_of(pool), "TasksMax", max ? max : UINT64_MAX);
}

static int systemd_pool_make(Backend *b, const Place *parent, const char *path,
                             const struct cgov_pool_limits *lim, bool adopt, Place *ret) {
        BUS_LOCKED(b);
        _cleanup_free_ char *name = NULL, *cgroup = NULL;
        sd_bus_message *m = NULL;
        int r;

        r = slice_name(b, path, &name);
        if (r < 0)
                return r;
        if (asprintf(&cgroup, "%s/%s", parent ? parent->cgroup : b->root, name) < 0)
                return -ENOMEM;
        if (!adopt) {
                r = manager_call(b, "StartTransientUnit", &m);
                if (r >= 0)
                        r = sd_bus_message_append(
                                m, "ssa(sv)a(sa(sv))", name, "fail", 5,
                                "Description", "s", path,
                                "MemoryAccounting", "b", true,
                                "TasksAccounting", "b", true,
                                "MemoryMax", "t", b->caps.have_memory ? limit_or_infinity(lim->memory_max) : UINT64_MAX,
                                "TasksMax", "t", b->caps.have_pids && lim->pids_max ? (uint64_t) lim->pids_max : UINT64_MAX,
                                0);
                if (r >= 0)
                        r = bus_call_job(b, m);
                sd_bus_message_unref(m);
                if (r < 0)
                        return r; /* -EEXIST: a unit of that name cgov does not know */
        }
        int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                if (!adopt)
                        (void) unit_job(b, "StopUnit", name, "fail");
                return r;
        }
        if (adopt && b->caps.have_pids)
                (void) set_properties(b, name, "TasksMax", lim->pids_max ? (uint64_t) lim->pids_max : UINT64_MAX);
        *ret = (Place) { .fd = fd, .cgroup = TAKE_PTR(cgroup) };
        return 0;
}

static int systemd_pool_remove(Backend *b, const Place *parent, const char *path, Place *pool) {
        BUS_LOCKED(b);
        int r = cg_is_populated(pool->fd);
        if (r > 0)
                return -EBUSY;
        /* Stopping a slice stops what is in it: a job's unit that is still
         * there has ended (its place is empty). */
        r = unit_job(b, "StopUnit", unit_of(pool), "replace");
        if (r < 0 && r != -ENOENT)
                return r == -EIO ? -EBUSY : r;
        pool->fd = safe_close(pool->fd);
        return 0;
}

static void systemd_pool_usage(Backend *b, int fd, uint64_t *ret_memory, uint64_t *ret_pids) {
        place_usage(fd, ret_memory, ret_pids);
}

static void systemd_pool_record(Backend *b, const Place *pool, const struct cgov_pool_limits *lim) {
        record_pool_write(pool->fd, lim);
}

/* ---- jobs ------------------------------------------------------------------- */

static int append_fd_or_null(sd_bus_message *m, const char *fd_property, const char *null_property, int fd) {
        if (fd >= 0)
                return sd_bus_message_append(m, "(sv)", fd_property, "h", fd);
        return sd_bus_message_append(m, "(sv)", null_property, "s", "null");
}

static int append_strv(sd_bus_message *m, const char *property, char *const *v) {
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", property);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) v);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static const char *const rlimit_property[RLIM_NLIMITS] = {
        [RLIMIT_CPU] = "LimitCPU",         [RLIMIT_FSIZE] = "LimitFSIZE",
        [RLIMIT_DATA] = "LimitDATA",       [RLIMIT_STACK] = "LimitSTACK",
        [RLIMIT_CORE] = "LimitCORE",       [RLIMIT_RSS] = "LimitRSS",
        [RLIMIT_NPROC] = "LimitNPROC",     [RLIMIT_NOFILE] = "LimitNOFILE",
        [RLIMIT_MEMLOCK] = "LimitMEMLOCK", [RLIMIT_AS] = "LimitAS",
        [RLIMIT_LOCKS] = "LimitLOCKS",     [RLIMIT_SIGPENDING] = "LimitSIGPENDING",
        [RLIMIT_MSGQUEUE] = "LimitMSGQUEUE", [RLIMIT_NICE] = "LimitNICE",
        [RLIMIT_RTPRIO] = "LimitRTPRIO",   [RLIMIT_RTTIME] = "LimitRTTIME",
};

static int append_creds(sd_bus_message *m, const SpawnCreds *c) {
        char buf[32];
        int r;

        snprintf(buf, sizeof buf, "%u", (unsigned) c->uid);
        r = sd_bus_message_append(m, "(sv)", "User", "s", buf);
        snprintf(buf, sizeof buf, "%u", (unsigned) c->gid);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "Group", "s", buf);
        if (r >= 0 && c->n_groups > 0) {
                _cleanup_(strv_freep) char **groups = calloc(c->n_groups + 1, sizeof(char *));
                if (!groups)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_groups; i++)
                        if (asprintf(&groups[i], "%u", (unsigned) c->groups[i]) < 0) {
                                groups[i] = NULL;
                                return -ENOMEM;
                        }
                r = append_strv(m, "SupplementaryGroups", groups);
        }
        for (int i = 0; r >= 0 && c->set_rlimits && i < RLIM_NLIMITS; i++) {
                if (!rlimit_property[i])
                        continue;
                char soft[32];
                snprintf(soft, sizeof soft, "%sSoft", rlimit_property[i]);
                r = sd_bus_message_append(m, "(sv)(sv)", rlimit_property[i], "t", (uint64_t) c->rlimits[i].rlim_max,
                                          soft, "t", (uint64_t) c->rlimits[i].rlim_cur);
        }
        if (r >= 0 && c->no_new_privs)
                r = sd_bus_message_append(m, "(sv)(sv)", "NoNewPrivileges", "b", true, "CapabilityBoundingSet", "t",
                                          UINT64_C(0));
        return r;
}

static int append_exec_start(sd_bus_message *m, const JobLaunch *l) {
        /* ExecStartEx (systemd 243) for its flags: the argv exactly as given,
         * without the manager's $VARIABLE expansion, and a failure that
         * leaves the unit active (exited) with the status. */
        static char *const flags[] = { (char *) "ignore-failure", (char *) "no-env-expand", NULL };
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStartEx");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasas");
        /* A program already looked up, or argv[0] for the manager to find
         * (as the job's user, in its fixed search path). */
        if (r >= 0)
                r = sd_bus_message_append(m, "s", l->program ?: l->argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) l->argv);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) flags);
        for (int i = 0; r >= 0 && i < 4; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

extern char **environ;

/* The job's record goes into its unit as well as on its cgroup: the
 * manager removes an exited unit's cgroup once it is empty, and a job that
 * ends while no governor runs is then known by its unit alone (adopt). Log
 * fields are the one free-form thing a transient unit keeps; they also let
 * `journalctl CGOV_POOL=shared` find what the pool's jobs logged. */
#define RECORD_FIELD "CGOV_RECORD="

static int append_record(sd_bus_message *m, const JobStart *s) {
        char rec[RECORD_MAX], field[sizeof RECORD_FIELD + RECORD_MAX], pool[sizeof "CGOV_POOL=" + 4096];
        int r;

        int n = record_job_format(s->record, rec);
        snprintf(field, sizeof field, RECORD_FIELD "%.*s", n, rec);
        snprintf(pool, sizeof pool, "CGOV_POOL=%s", s->pool_path);
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "LogExtraFields");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "aay");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', field, strlen(field));
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', pool, strlen(pool));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int job_message(Backend *b, const JobStart *s, const char *name, const char *slice, sd_bus_message **ret) {
        const JobLaunch *l = s->launch;
        _cleanup_free_ char *cwd = NULL;
        char desc[256];
        sd_bus_message *m = NULL;
        int r;

        r = manager_call(b, "StartTransientUnit", &m);
        if (r < 0)
                return r;
        snprintf(desc, sizeof desc, "cgov job %s in %s", s->leaf, s->pool_path);
        r = sd_bus_message_append(m, "ss", name, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc, "Slice", "s", slice,
                                          "Type", "s", "simple", "RemainAfterExit", "b", true,
                                          "MemoryAccounting", "b", true, "TasksAccounting", "b", true);
        if (r >= 0 && b->caps.have_memory)
                /* One OOM kill takes the whole job, as on cgroupfs. */
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "MemoryMax", "t", s->memory, "MemorySwapMax", "t",
                                          UINT64_C(0), "OOMPolicy", "s", "kill");
        if (r >= 0 && b->caps.have_pids)
                r = sd_bus_message_append(m, "(sv)", "TasksMax", "t", s->pids_max ? (uint64_t) s->pids_max : UINT64_MAX);
        /* What is left when the main process is gone dies at once. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "KillSignal", "i", SIGKILL);
        /* A job needs none of a boot's ordering (sysinit.target,
         * basic.target): binding each to them is the manager's work and a
         * signal of theirs per job. At shutdown its slice, which keeps its
         * defaults, stops it (a unit requires its slice). */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "DefaultDependencies", "b", false);
        if (r >= 0)
                r = append_exec_start(m, l);
        if (r >= 0)
                r = append_strv(m, "Environment", l->envp ?: environ);
        if (r >= 0 && !l->cwd && !(cwd = getcwd(NULL, 0)))
                r = negative_errno();
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "WorkingDirectory", "s", l->cwd ?: cwd);
        for (int i = 0; r >= 0 && i < 3; i++) {
                static const char *const fd_prop[] = { "StandardInputFileDescriptor", "StandardOutputFileDescriptor",
                                                       "StandardErrorFileDescriptor" };
                static const char *const null_prop[] = { "StandardInput", "StandardOutput", "StandardError" };
                r = append_fd_or_null(m, fd_prop[i], null_prop[i], l->stdio ? l->stdio[i] : i);
        }
        if (r >= 0 && l->creds)
                r = append_creds(m, l->creds);
        if (r >= 0 && s->record)
                r = append_record(m, s);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

/* What the manager's child would fail on, for a job that runs as its
 * caller: a missing program or working directory is the caller's error,
 * as with cgroupfs, not a unit that exits 203 or 200. (A job that runs as
 * someone else is the manager's to check, as them.) */
static int launch_check(const JobLaunch *l) {
        struct stat st;

        if (l->creds)
                return 0;
        if (l->program && access(l->program, X_OK) < 0)
                return negative_errno();
        if (l->cwd) {
                if (stat(l->cwd, &st) < 0)
                        return negative_errno();
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (access(l->cwd, X_OK) < 0)
                        return negative_errno();
        }
        return 0;
}

/* The reply to a background start names the manager's job for it, whose
 * end (JobRemoved) ends the start; or it says why there is none. */
static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Start *st = userdata;
        const char *job;
        int r;

        st->slot = sd_bus_slot_unref(st->slot);
        if (sd_bus_message_is_method_error(m, NULL)) {
                start_done(st->b, st, bus_error(-EIO, sd_bus_message_get_error(m)));
                return 0;
        }
        r = sd_bus_message_read(m, "o", &job);
        if (r >= 0 && !(st->job = strdup(job)))
                r = -ENOMEM;
        if (r < 0)
                start_done(st->b, st, r);
        return 0;
}

static int start_in_background(Backend *b, const JobStart *s, sd_bus_message *m, char **unit, const char *cgroup) {
        Start *st = calloc(1, sizeof *st);
        int r;

        if (!st)
                return -ENOMEM;
        *st = (Start) { .b = b, .r = 1, .fd = -EBADF, .started = s->started, .userdata = s->userdata };
        st->cgroup = strdup(cgroup);
        if (!st->cgroup) {
                start_free(st);
                return -ENOMEM;
        }
        r = sd_bus_call_async(b->bus, &st->slot, m, on_start_reply, st, SD_JOB_TIMEOUT_USEC);
        if (r < 0) {
                start_free(st);
                return r;
        }
        st->unit = TAKE_PTR(*unit);
        LIST_PREPEND(starts, b->starts, st);
        (void) sd_bus_flush(b->bus);
        return 0;
}

/* What the report of a start that is over says: its place and its main
 * process, for one that started. Bus held. */
static void start_finish(Backend *b, Start *st) {
        const char *name = strrchr(st->cgroup, '/') + 1;
        uint32_t main_pid = st->main_pid;

        st->proc = (JobProcess) { .pidfd = -EBADF, .report_fd = -EBADF, .report_write_fd = -EBADF };
        if (st->r < 0)
                return;
        /* Over already, like a quick job of a start that waited. */
        st->fd = open(st->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (st->fd < 0) {
                st->r = errno == ENOENT ? 0 : negative_errno();
                return;
        }
        if (main_pid == 0)
                (void) unit_get(b, name, SD_SERVICE, "MainPID", "u", &main_pid);
        if (main_pid > 0) {
                st->proc.pid = (pid_t) main_pid;
                st->proc.pidfd = place_pidfd(st->fd, st->proc.pid);
        }
}

static int systemd_job_start(Backend *b, const JobStart *s, Place *ret_place, JobProcess *ret_proc) {
        BUS_LOCKED(b);
        _cleanup_free_ char *cgroup = NULL, *path = NULL;
        char name[UNIT_NAME_MAX + 1];
        sd_bus_message *m = NULL;
        uint32_t main_pid;
        int r;

        if (s->launch->fn)
                return -EOPNOTSUPP; /* cgov_call: a function of ours cannot run as a unit */
        r = launch_check(s->launch);
        if (r < 0)
                return r;
        r = job_unit_name(b, s->id, name, sizeof name);
        if (r < 0)
                return r;
        if (asprintf(&cgroup, "%s/%s", s->pool->cgroup, name) < 0)
                return -ENOMEM;
        r = job_message(b, s, name, unit_of(s->pool), &m);
        if (r < 0)
                return r;
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        ret_proc->start_usec = now_usec();
        if (s->started) {
                r = start_in_background(b, s, m, &path, cgroup);
                sd_bus_message_unref(m);
                if (r < 0)
                        return r;
                *ret_place = (Place) { .fd = -EBADF, .cgroup = TAKE_PTR(cgroup) };
                return 1;
        }
        b->watching = path;
        b->main_pid = 0;
        r = bus_call_job(b, m);
        b->watching = NULL;
        sd_bus_message_unref(m);
        if (r == -EIO)
                (void) unit_job(b, "StopUnit", name, "replace");
        if (r < 0)
                return r; /* -EEXIST: a unit of that name: the caller takes another id */

        /* The manager removes an exited unit's cgroup once it is empty: a
         * job that was quicker than we are has no place left, only its
         * unit and the status the unit keeps. */
        int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) {
                r = negative_errno();
                (void) unit_job(b, "StopUnit", name, "replace");
                return r;
        }
        /* Its main process, watched for its end; gone already, it is ended
         * (its status is the manager's: job_recorded_exit). */
        main_pid = b->main_pid;
        if (fd < 0)
                fd = -EBADF;
        else if (main_pid == 0)
                (void) unit_get(b, name, SD_SERVICE, "MainPID", "u", &main_pid);
        if (main_pid > 0 && fd >= 0) {
                ret_proc->pid = (pid_t) main_pid;
                ret_proc->pidfd = place_pidfd(fd, ret_proc->pid);
        }
        *ret_place = (Place) { .fd = fd, .cgroup = TAKE_PTR(cgroup) };
        return 0;
}

/* A unit stopped without waiting (and reset, if it may have failed: the
 * manager keeps a failed unit until then): once asked, its removal only
 * looks (job_remove). */
static int unit_stop_async(Backend *b, const char *name, bool reset) {
        int r = sd_bus_call_method_async(b->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", NULL, NULL, "ss",
                                         name, "replace");
        if (r >= 0 && reset)
                r = sd_bus_call_method_async(b->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", NULL,
                                             NULL, "s", name);
        if (r >= 0)
                (void) sd_bus_flush(b->bus);
        return r;
}

/* A job whose start is under way has no place to kill in yet: its stop
 * replaces the start, whose report then says it was canceled. (One over
 * before its place was opened has none any more: stopping it is what its
 * removal would do.) */
static int systemd_job_kill(Backend *b, const Place *job) {
        if (job->fd < 0 && job->cgroup && !job->removing) {
                BUS_LOCKED(b);
                return unit_stop_async(b, unit_of(job), false);
        }
        return place_kill(&b->caps, job->fd);
}

static int systemd_job_populated(Backend *b, const Place *job) {
        return place_populated(&b->caps, job->fd);
}

static void systemd_job_stats(Backend *b, const Place *job, struct cgov_result *res, uint64_t *ret_oom_kills) {
        place_stats(&b->caps, job->fd, res, ret_oom_kills);
}

/* The unit goes once stopped (or, failed by an OOM kill under
 * OOMPolicy=kill, once reset), and its cgroup with it, which the manager
 * removes on its own loop: -EBUSY until it has, and the governor tries
 * again on its drain timer, so that a job's place is gone by the time its
 * end is reported, as with cgroupfs. Nothing here waits. */
static int systemd_job_remove(Backend *b, const Place *pool, const char *leaf, Place *job) {
        BUS_LOCKED(b);
        const char *name = unit_of(job);
        int r;

        bus_drain(b);
        /* Asked once: each try after that only looks. */
        if (!job->removing) {
                r = unit_stop_async(b, name, !job->ended_clean);
                if (r < 0)
                        return r;
                job->removing = true;
        }
        if (faccessat(pool->fd, name, F_OK, 0) < 0 && errno == ENOENT) {
                job->fd = safe_close(job->fd);
                return 0;
        }
        return -EBUSY;
}

/* How long the manager may take to see a main process's end that we saw:
 * it reaps on its own loop. */
#define SD_EXIT_WAIT_USEC (5 * UINT64_C(1000000))

/* The manager keeps the main process's status while the unit is active
 * (exited). A unit that is not (any more) was stopped by someone else
 * (systemctl stop), or by the manager for an OOM kill. The manager's CPU
 * time of the unit outlives its cgroup (which it removes once empty).
 * 1 with *ret, 0 while the manager has not seen the end yet, -ENODATA. */
static int unit_exit(Backend *b, const char *name, JobExit *ret) {
        _cleanup_free_ char *state = NULL, *result = NULL;
        uint64_t cpu_nsec = UINT64_MAX;
        int32_t code = 0, status = 0;
        PropGet gets[] = {
                { SD_SERVICE, "ExecMainCode", 'i', &code },
                { SD_SERVICE, "ExecMainStatus", 'i', &status },
                { SD_SERVICE, "CPUUsageNSec", 't', &cpu_nsec },
                { SD_SERVICE, "Result", 's', &result },
                { SD_UNIT, "ActiveState", 's', &state },
        };

        *ret = (JobExit) {};
        if (unit_get_many(b, name, gets, ELEMENTSOF(gets)) < 0 || gets[4].r < 0)
                return -ENODATA;
        if (gets[0].r == 0 && gets[1].r == 0 && code > 0) {
                ret->code = code;
                ret->status = status;
        }
        if (gets[2].r == 0 && cpu_nsec != UINT64_MAX)
                ret->cpu_usec = cpu_nsec / 1000;
        if (strcmp(state, "active") != 0) {
                /* Stopped by someone, or gone already (inactive). */
                ret->oom = result && strcmp(result, "oom-kill") == 0;
                ret->stopped = !ret->oom;
                return 1;
        }
        return ret->code > 0;
}

static bool unit_changed(const void *userdata) {
        return ((const Backend *) userdata)->changed;
}

/* The manager reaps on its own loop, maybe after we saw the end: its
 * change signal of the unit tells when it has (on the system bus, where
 * none comes unasked, we look again every 2 ms). */
static int systemd_job_recorded_exit(Backend *b, Place *job, JobExit *ret) {
        BUS_LOCKED(b);
        _cleanup_free_ char *path = NULL;
        const char *name = unit_of(job);
        uint64_t deadline = now_usec() + SD_EXIT_WAIT_USEC;
        int r;

        if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path) < 0)
                return -ENODATA;
        b->watching = path;
        for (;;) {
                b->changed = false; /* from here on: one that comes during the Gets counts */
                r = unit_exit(b, name, ret);
                if (r != 0)
                        break;
                r = bus_run_until(b, unit_changed, b, b->direct ? deadline : MIN(deadline, now_usec() + 2000));
                if (r == -ETIMEDOUT && now_usec() < deadline)
                        r = 0;
                if (r < 0)
                        break;
        }
        b->watching = NULL;
        /* Still active (exited): stopping it leaves no failed unit. */
        job->ended_clean = r > 0 && !ret->stopped && !ret->oom;
        return r < 0 ? -ENODATA : 0;
}

static void systemd_job_record(Backend *b, const Place *job, const JobRecord *rec) {
        record_job_write(job->fd, rec);
}

/* ---- re-adoption ---------------------------------------------------------------- */

/* A job unit whose process ended while no governor ran: the manager has
 * removed its cgroup (it does once an exited unit's cgroup is empty), so
 * the walk of the tree did not find it, but the unit keeps the status and
 * its record (append_record). It is handed over ended: no place, no
 * process; the supervisor reads the status and stops the unit. */
typedef struct EndedUnit {
        char *name, *slice;
        uint64_t id;
} EndedUnit;

static int ended_units(Backend *b, EndedUnit **ret, size_t *ret_n) {
        BUS_LOCKED(b);
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        char pattern[UNIT_NAME_MAX + 1];
        const char *name, *sub;
        EndedUnit *units = NULL;
        size_t n = 0;
        int r;

        snprintf(pattern, sizeof pattern, "%s-job-*.service", b->prefix);
        r = manager_call(b, "ListUnitsByPatterns", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 1, pattern);
        if (r >= 0)
                r = bus_error(sd_bus_call(b->bus, m, SD_JOB_TIMEOUT_USEC, &e, &reply), &e);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, &sub, NULL, NULL, NULL,
                                        NULL, NULL)) > 0) {
                uint64_t id;
                /* Running ones have their cgroup: the walk finds them. */
                if (strcmp(sub, "running") == 0 || job_unit_id(b, name, &id) <= 0)
                        continue;
                EndedUnit *u = reallocarray(units, n + 1, sizeof *units);
                if (!u) {
                        r = -ENOMEM;
                        break;
                }
                units = u;
                units[n] = (EndedUnit) { .name = strdup(name), .id = id };
                if (!units[n++].name)
                        r = -ENOMEM;
                else /* One unit that cannot be read is left alone, not the open failed. */
                        (void) unit_get_string(b, name, SD_SERVICE, "Slice", &units[n - 1].slice);
        }
        *ret = units;
        *ret_n = n;
        return r < 0 ? r : 0;
}

/* Its record, from the unit's log fields. */
static bool unit_record(Backend *b, const char *name, JobRecord *ret, char buf[static RECORD_MAX]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const void *field;
        size_t size;
        bool found = false;

        if (sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path) < 0 ||
            sd_bus_get_property(b->bus, SD_DEST, path, SD_SERVICE, "LogExtraFields", &e, &reply, "aay") < 0 ||
            sd_bus_message_enter_container(reply, 'a', "ay") < 0)
                return false;
        const size_t key = strlen(RECORD_FIELD);
        while (!found && sd_bus_message_read_array(reply, 'y', &field, &size) > 0)
                if (size > key && size - key < RECORD_MAX && memcmp(field, RECORD_FIELD, key) == 0) {
                        memcpy(buf, (const char *) field + key, size - key);
                        buf[size - key] = '\0';
                        found = true;
                }
        if (found)
                record_job_parse(buf, ret);
        return found;
}

/* An adopted job's record as its unit keeps it, with what the manager
 * knows of its start: for one that ended while no governor ran, and for
 * one whose governor went while its start was under way (before it was
 * recorded in its place). */
static void adopt_unit_record(Backend *b, const char *name, AdoptedJob *a, char buf[static RECORD_MAX]) {
        uint64_t start = 0;
        uint32_t pid = 0;

        pthread_mutex_lock(&b->bus_lock);
        a->recorded = unit_record(b, name, &a->record, buf);
        if (unit_get(b, name, SD_SERVICE, "ExecMainStartTimestampMonotonic", "t", &start) >= 0 && start > 0)
                a->record.start_usec = start;
        if (unit_get(b, name, SD_SERVICE, "MainPID", "u", &pid) >= 0 && pid > 0)
                a->record.pid = (pid_t) pid;
        pthread_mutex_unlock(&b->bus_lock);
}

typedef struct AdoptWalk {
        const AdoptSink *sink;
        EndedUnit *ended;
        size_t n_ended;
} AdoptWalk;

/* The ended units of the pool just walked: those its walk did not find. */
static int adopt_ended(Backend *b, const AdoptWalk *w, void *pool, const Place *pp, const char *path) {
        _cleanup_free_ char *slice = NULL;
        int r = slice_name(b, path, &slice);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w->n_ended; i++) {
                EndedUnit *u = &w->ended[i];
                char rec[RECORD_MAX];

                if (!u->slice || strcmp(u->slice, slice) != 0 || faccessat(pp->fd, u->name, F_OK, 0) == 0)
                        continue;
                AdoptedJob a = { .id = u->id, .leaf = u->name, .pidfd = -EBADF, .place.fd = -EBADF };
                adopt_unit_record(b, u->name, &a, rec);
                if (asprintf(&a.place.cgroup, "%s/%s", pp->cgroup, u->name) < 0)
                        return -ENOMEM;
                r = w->sink->job(w->sink->userdata, pool, &a);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int adopt_job_dir(Backend *b, const AdoptSink *sink, void *pool, const Place *pp, const char *dir,
                         uint64_t id) {
        _cleanup_free_ char *cgroup = NULL;
        char rec[RECORD_MAX];
        AdoptedJob a = { .id = id, .leaf = dir, .pidfd = -EBADF };

        if (asprintf(&cgroup, "%s/%s", pp->cgroup, dir) < 0)
                return -ENOMEM;
        int fd = openat(pp->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        a.recorded = record_job_read(fd, &a.record, rec);
        if (!a.recorded)
                adopt_unit_record(b, dir, &a, rec);
        a.pidfd = place_pidfd(fd, a.record.pid);
        a.place = (Place) { .fd = fd, .cgroup = TAKE_PTR(cgroup) };
        return sink->job(sink->userdata, pool, &a);
}

static int adopt_dir(Backend *b, const AdoptWalk *w, void *parent, const Place *pp, const char *prefix) {
        const AdoptSink *sink = w->sink;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = place_opendir(pp ? pp->fd : b->root_fd, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                char path[POOL_MAX_DEPTH * (NAME_MAX_LEN + 1) + 1];
                uint64_t id;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (parent && (r = job_unit_id(b, de->d_name, &id)) != 0) {
                        if (r < 0)
                                continue;
                        sink->id_seen(sink->userdata, id);
                        r = adopt_job_dir(b, sink, parent, pp, de->d_name, id);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!slice_path_of(b, prefix, de->d_name, path, sizeof path))
                        continue;

                struct cgov_pool_limits lim = {};
                const Place *place;
                void *p;
                _cleanup_close_ int pfd = openat(pp ? pp->fd : b->root_fd, de->d_name,
                                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0)
                        return negative_errno();
                (void) record_pool_read(pfd, &lim);
                r = sink->pool(sink->userdata, parent, path, &lim, &p, &place);
                if (r < 0)
                        return r;
                r = adopt_dir(b, w, p, place, path);
                if (r < 0)
                        return r;
        }
        return parent ? adopt_ended(b, w, parent, pp, prefix) : 0;
}

static int systemd_adopt(Backend *b, const AdoptSink *sink) {
        AdoptWalk w = { .sink = sink };
        int r = ended_units(b, &w.ended, &w.n_ended);
        /* Their ids are taken, adopted or not. */
        for (size_t i = 0; r >= 0 && i < w.n_ended; i++)
                sink->id_seen(sink->userdata, w.ended[i].id);
        if (r >= 0)
                r = adopt_dir(b, &w, NULL, NULL, "");
        for (size_t i = 0; i < w.n_ended; i++) {
                free(w.ended[i].name);
                free(w.ended[i].slice);
        }
        free(w.ended);
        return r;
}

/* ---- what the manager sends meanwhile ------------------------------------------- */

/* The manager's signals (on a direct connection, every unit's changes)
 * are taken in as they come, so that none waits in its queue for us. An
 * op that holds the bus takes them in itself: the loop never waits for
 * it. */
static void systemd_watch(Backend *b) {
        struct epoll_event ev[2];
        Start *done = NULL;
        uint64_t n;

        /* The edges are taken; what they announced is read below. */
        (void) epoll_wait(b->watch_fd, ev, ELEMENTSOF(ev), 0);
        (void) !read(b->wake_fd, &n, sizeof n);
        /* Its holder takes in what came, and wakes us for the starts it
         * saw end. */
        if (pthread_mutex_trylock(&b->bus_lock) != 0)
                return;
        bus_drain(b);
        while (b->starts_done) {
                Start *list = b->starts_done;
                b->starts_done = NULL;
                b->n_done = 0;
                LIST_FOREACH_SAFE(starts, st, next, list) {
                        start_finish(b, st); /* may take in more ends */
                        LIST_REMOVE(starts, list, st);
                        LIST_PREPEND(starts, done, st);
                }
        }
        pthread_mutex_unlock(&b->bus_lock);
        /* Reported without the bus: the governor takes its own lock. */
        LIST_FOREACH_SAFE(starts, st, next, done) {
                st->started(st->userdata, st->r, TAKE_FD(st->fd), &st->proc);
                start_free(st);
        }
}

/* ---- the job ids' mark ------------------------------------------------------------ */

static int systemd_mark_read(Backend *b, uint64_t *ret) {
        return record_mark_read(b->root_fd, ret);
}

static int systemd_mark_write(Backend *b, uint64_t mark) {
        return record_mark_write(b->root_fd, mark);
}

const BackendOps backend_systemd = {
        .name = "systemd",
        .open = systemd_open,
        .close = systemd_close,
        .pool_make = systemd_pool_make,
        .pool_set_memory_max = systemd_pool_set_memory_max,
        .pool_set_pids_max = systemd_pool_set_pids_max,
        .pool_remove = systemd_pool_remove,
        .pool_usage = systemd_pool_usage,
        .pool_record = systemd_pool_record,
        .job_start = systemd_job_start,
        .job_kill = systemd_job_kill,
        .job_populated = systemd_job_populated,
        .job_stats = systemd_job_stats,
        .job_remove = systemd_job_remove,
        .job_recorded_exit = systemd_job_recorded_exit,
        .job_record = systemd_job_record,
        .adopt = systemd_adopt,
        .watch = systemd_watch,
        .mark_read = systemd_mark_read,
        .mark_write = systemd_mark_write,
};
