/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: cgovd itself, stateful. A real daemon runs in this
 * process (daemon_new(), its sd-event loop turned by the harness, the
 * governor's work on that same loop) on a real cgroup v2 directory of
 * its own, and each input is a program that tenants of several uids run
 * against it over real Unix-socket connections: requests pipelined in one
 * write, cut, split, garbage, file descriptors, hang-ups, jobs (real
 * processes) killed from outside, the loop run in between. After each input
 * the harness puts the daemon back to rest and checks that it is at rest:
 *
 *   - every request on a connection still open was answered, and no
 *     connection got more replies than it sent messages (plus one refusal);
 *     every reply is one JSON object;
 *   - a Flush of every pool by root ends every job within 10 s;
 *   - the daemon still answers root's GetInfo, its loop has not exited, and
 *     it drops every connection once its peers have closed;
 *   - every ended job's result is there for its owner, once (a pipelined
 *     Wait per job), and then no job record is left, in memory or in the
 *     state directory's jobs/ (where the daemon keeps them);
 *   - every pool shows no memory reserved, no job running or queued, no
 *     slot held; the governor's lists and every user's counts are empty;
 *   - no job leaf ("name@id") is left in the cgroup tree, and no process;
 *   - the process has as many fds open as when the input began;
 *   - no process that shares our memory (a keeper, or a job before its
 *     exec) hit a sanitizer error.
 * A failed check aborts, so libFuzzer keeps the input as a crash;
 * AddressSanitizer and UBSan catch the rest. CGOV_FUZZ_TRACE=1 prints what
 * an input does, CGOV_FUZZ_DEBUG=1 the daemon's debug log.
 *
 * Needs root, a cgroup2 mount (found in /proc/self/mountinfo; the
 * environment's CGOV_FUZZ_CGROUP names another parent directory) and the
 * users nobody and, if present, daemon. Under it the harness makes
 * cgov-fuzz.<pid>, governed with CGOV_OPEN_ACCOUNTING_ONLY (so it also runs
 * on hybrid hosts); a reaper process removes it, and the temporary
 * directory, when this process ends in whatever way.
 *
 * Input format: a sequence of operations, each an opcode byte (its value
 * modulo 16 picks the operation) and its operand bytes; a missing byte
 * reads as 0. A "slot" byte s names connection s % 8, which is opened as
 * user (s >> 3) % n_users (root, nobody, daemon) when it is not open.
 *
 *   0-3   SEND  slot spec, then 1 + (spec & 3) requests, all in ONE write
 *               (spec & 4: the last one, unless a Submit, is cut after
 *               `cut` bytes, and a byte cut follows; spec & 8: the write is
 *               split in two with a turn of the loop between)
 *   4-6   RUN   t: t < 0xc0: run the loop (t % 48) + 1 ms; else until
 *               connection t & 7 has all its replies (at most 50 ms)
 *   7     SETTLE  run the loop until no job is left and every request
 *               has its reply
 *   8     OPEN  user
 *   9     CLOSE slot  (slot & 0x80: with SO_LINGER 0, a reset)
 *   10    SHUT  slot  (shutdown(SHUT_WR))
 *   11,12 RAW   slot kind ...: garbage of the input's bytes, a request with
 *               a NUL inside, empty messages, messages around 1 MiB, long
 *               strings, deep nesting, bad escapes, an unterminated one
 *   13    KILL  pick how: SIGKILL/SIGSTOP a job's main process, its
 *               leftovers, or cgroup.kill its leaf, from outside the daemon
 *   14    SENDFDS slot n kinds... : a Submit with "stdio" and n fds
 *               (n % 11: more than 8 closes the connection)
 *   15    RESTART  daemon_free() and daemon_new() on the same root and
 *               state directory: jobs re-adopted, results kept
 *
 * A request is a method byte (modulo 16: GetInfo FindPool ListPools Submit
 * Wait GetJob ListJobs Kill KillByName Flush Acquire Release Reload Submit
 * Wait, or a malformed envelope) and its parameter bytes, each choosing from
 * a small menu (pools valid and not, sizes and times around their bounds,
 * programs that are safe to run; a Submit is a flags byte saying which
 * optional keys follow, then a program byte, whose bits 4-5 add "detach",
 * and its operand byte, then the keys' bytes). An id is one of the ids
 * learnt from this input's replies, the id the daemon will give its next job
 * (+0..3: so a Submit and Waits for it fit in one write), or a literal.
 *
 * Bounds: at most 64 operations, 8 Submits, 2 restarts and 200 ms of loop
 * per input.
 *
 * Safety: the jobs run as root, so argv comes only from the menu. Bytes the
 * input chooses (RAW) never hold a 'v' or a backslash, hence never the key
 * "argv"; a Submit is always sent whole and NUL-terminated, so that text
 * before it on the same connection makes the message invalid JSON (a
 * complete object can only follow blanks). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "governor.h"
#include "log.h"
#include "macro.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_SLOTS 8                      /* the input's connections */
#define SLOT_ADMIN N_SLOTS             /* the harness's: root's Flush and GetInfo */
#define SLOT_COLLECT (N_SLOTS + 1)     /* the harness's: owners collecting results */
#define N_CONN (N_SLOTS + 2)
#define N_USERS_MAX 3
#define OPS_MAX 64
#define SUBMITS_MAX 8
#define RESTARTS_MAX 2
#define LOOP_BUDGET_USEC (200 * UINT64_C(1000))
#define IDS_MAX 16
#define SETTLE_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define OUT_MAX (4u << 20)

/* ---- small things ----------------------------------------------------------------- */

static bool trace;

static void tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tracef(const char *fmt, ...) {
        va_list ap;
        if (!trace)
                return;
        va_start(ap, fmt);
        fputs("fuzz-daemon: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static void dump_state(void);
static void op_restart(void);

/* An invariant failed: libFuzzer saves the input as a crash. */
static _noreturn_ void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("fuzz-daemon: INVARIANT FAILED: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        dump_state();
        fflush(stderr);
        abort();
}

/* The harness itself could not go on: not the daemon's fault. */
static _noreturn_ void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fatal(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("fuzz-daemon: setup: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        _exit(2);
}

static uint64_t now_mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

typedef struct Buf {
        char *s;
        size_t len, cap;
} Buf;

static void buf_add(Buf *b, const void *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 1);
                cap = MAX(cap, (size_t) 256);
                char *s = realloc(b->s, cap);
                if (!s)
                        fatal("out of memory");
                b->s = s;
                b->cap = cap;
        }
        memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) {
        buf_add(b, s, strlen(s));
}

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...) {
        char tmp[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        buf_add(b, tmp, (size_t) MIN(n, (int) sizeof tmp - 1));
}

static void buf_repeat(Buf *b, char c, size_t n) {
        char chunk[4096];
        memset(chunk, c, sizeof chunk);
        while (n > 0) {
                size_t k = MIN(n, sizeof chunk);
                buf_add(b, chunk, k);
                n -= k;
        }
}

static void buf_reset(Buf *b) {
        b->len = 0;
        if (b->s)
                b->s[0] = '\0';
}

static void buf_done(Buf *b) {
        free(b->s);
        *b = (Buf) {};
}

typedef struct Cursor {
        const uint8_t *p;
        size_t n;
} Cursor;

static uint8_t next(Cursor *c) {
        if (c->n == 0)
                return 0;
        c->n--;
        return *c->p++;
}

static int write_file(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, s, strlen(s));
        int r = n < 0 ? -errno : 0;
        close(fd);
        return r;
}

/* ---- the world: users, directories, the daemon ------------------------------------ */

typedef struct User {
        const char *name;
        uid_t uid;
        gid_t gid;
        int helper_fd;      /* socketpair to a process running as the user; -1 for root */
        pid_t helper_pid;
} User;

static User users[N_USERS_MAX];
static size_t n_users;
static Daemon *D;
static char tmp_dir[256], socket_path[300], policy_dir[300], state_dir[300];
static char cg_parent[1024], cg_root[1100];
static int reaper_fd = -1;
static pid_t reaper_pid;
static int fd_baseline = -1;

/* The policy: a shared pool that queues, a tenants' pool, instance pools with
 * a slot bound, a tiny pool for one user; an unprivileged administrator. */
static const char policy_text[] =
        "[Pool shared]\n"
        "MemoryMax=512M\n"
        "MaxJobs=6\n"
        "QueueMax=4\n"
        "QueueTimeoutSec=200ms\n"
        "AdminUsers=daemon\n"
        "\n"
        "[Pool shared/team]\n"
        "MemoryMax=256M\n"
        "MaxJobs=2\n"
        "QueueMax=2\n"
        "JobMemoryMax=128M\n"
        "JobMemoryDefault=32M\n"
        "JobTimeoutSec=3s\n"
        "AllowUsers=nobody daemon\n"
        "\n"
        "[Pool shared/%u]\n"
        "MemoryMax=128M\n"
        "MaxJobs=2\n"
        "QueueMax=2\n"
        "JobMemoryDefault=32M\n"
        "MaxSlotsPerUser=3\n"
        "\n"
        "[Pool solo]\n"
        "MemoryMax=64M\n"
        "MaxJobs=1\n"
        "QueueMax=1\n"
        "JobMemoryDefault=16M\n"
        "JobTasksMax=64\n"
        "JobStartTimeoutSec=5s\n"
        "NoNewPrivileges=yes\n"
        "AllowUsers=nobody\n";

static const char *const top_pools[] = { "shared", "solo" };

/* ---- the cgroup tree ------------------------------------------------------------- */

typedef struct Leaf {
        char path[1400];
        uint64_t id;
} Leaf;

/* Job leaves below dir (names with '@'), and whether any cgroup holds a
 * process. */
static void walk_tree(const char *dir, Leaf *leaves, size_t *n, size_t max, bool *ret_procs) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[1400];

        if (!d)
                return;
        if (ret_procs) {
                snprintf(path, sizeof path, "%s/cgroup.procs", dir);
                FILE *f = fopen(path, "re");
                if (f) {
                        int pid;
                        if (fscanf(f, "%d", &pid) == 1)
                                *ret_procs = true;
                        fclose(f);
                }
        }
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                const char *at = strchr(de->d_name, '@');
                if (at && leaves && *n < max) {
                        snprintf(leaves[*n].path, sizeof leaves[*n].path, "%s", path);
                        leaves[*n].id = strtoull(at + 1, NULL, 10);
                        (*n)++;
                } else if (at && !leaves)
                        (*n)++;
                walk_tree(path, leaves, n, max, ret_procs);
        }
        closedir(d);
}

static int leaf_cmp(const void *a, const void *b) {
        uint64_t x = ((const Leaf *) a)->id, y = ((const Leaf *) b)->id;
        return x < y ? -1 : x > y;
}

/* Deepest first; a cgroup still emptying is retried for a while. */
static void remove_tree(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[1400];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                remove_tree(path);
        }
        closedir(d);
        for (int i = 0; i < 300 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

/* Kills everything in our root and removes it: at exit, and from the reaper
 * when this process died. Only ever cg_root, which this process made. */
static void cgroup_cleanup(void) {
        char path[1200];
        if (!cg_root[0])
                return;
        snprintf(path, sizeof path, "%s/cgroup.kill", cg_root);
        if (write_file(path, "1") < 0) {
                /* Before 5.14: kill what the tree lists (ours by where it is). */
                Leaf *leaves = calloc(256, sizeof *leaves);
                size_t n = 0;
                if (leaves) {
                        walk_tree(cg_root, leaves, &n, 256, NULL);
                        for (size_t i = 0; i < n; i++) {
                                snprintf(path, sizeof path, "%s/cgroup.procs", leaves[i].path);
                                FILE *f = fopen(path, "re");
                                int pid;
                                while (f && fscanf(f, "%d", &pid) == 1)
                                        kill(pid, SIGKILL);
                                if (f)
                                        fclose(f);
                        }
                        free(leaves);
                }
        }
        remove_tree(cg_root);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (flag == FTW_DP)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

static void tmp_cleanup(void) {
        if (tmp_dir[0])
                nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helper processes: a connection as another user ------------------------------ */

/* SO_PEERCRED is taken at connect(): a process of each uid connects and
 * hands the socket back with SCM_RIGHTS. Forked before the daemon
 * starts. */
static _noreturn_ void helper_main(int fd, const User *u) {
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        if (setgroups(0, NULL) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
            setresuid(u->uid, u->uid, u->uid) < 0)
                _exit(1);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
                char b;
                ssize_t n = read(fd, &b, 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(0);
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                unsigned char err = 0;
                if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof sa) < 0)
                        err = (unsigned char) errno;
                union {
                        char buf[CMSG_SPACE(sizeof(int))];
                        struct cmsghdr align;
                } u_;
                struct iovec iov = { .iov_base = &err, .iov_len = 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                if (err == 0) {
                        mh.msg_control = u_.buf;
                        mh.msg_controllen = sizeof u_.buf;
                        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cm), &s, sizeof(int));
                }
                if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                        _exit(1);
                if (s >= 0)
                        close(s);
        }
}

static void helper_start(User *u) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                fatal("socketpair: %m");
        pid_t pid = fork();
        if (pid < 0)
                fatal("fork: %m");
        if (pid == 0) {
                /* Nothing of ours: another helper's socket or the reaper's
                 * pipe held here would never see its EOF. */
                for (int fd = 3; fd < 4096; fd++)
                        if (fd != sp[1])
                                close(fd);
                helper_main(sp[1], u);
        }
        close(sp[1]);
        u->helper_fd = sp[0];
        u->helper_pid = pid;
}

/* A connected socket as user k, or -errno. */
static int connect_as(size_t k) {
        User *u = &users[k];
        if (u->helper_fd < 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0)
                        return -errno;
                if (connect(s, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        int r = -errno;
                        close(s);
                        return r;
                }
                return s;
        }
        if (write(u->helper_fd, "c", 1) != 1)
                fatal("the helper of %s is gone: %m", u->name);
        unsigned char err = 0;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } cb;
        struct iovec iov = { .iov_base = &err, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof cb.buf };
        ssize_t n;
        do
                n = recvmsg(u->helper_fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                fatal("the helper of %s is gone", u->name);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (err != 0 || !cm || cm->cmsg_type != SCM_RIGHTS)
                return -(err ?: EIO);
        int s;
        memcpy(&s, CMSG_DATA(cm), sizeof s);
        return s;
}

/* ---- connections ------------------------------------------------------------------ */

typedef struct Conn {
        int fd;                 /* -1: free */
        size_t user;
        bool shut;              /* we shut down our writing side */
        bool eof;               /* the daemon hung up, or the socket failed */
        bool lost;              /* our output was dropped: the counts tell nothing */
        Buf in, out;
        size_t in_scan;
        uint64_t nuls;          /* messages sent */
        uint64_t replies;
        uint64_t bad_replies;   /* errors, where the harness expects none */
} Conn;

static Conn conns[N_CONN];

/* Per input. */
static uint64_t ids[IDS_MAX];
static size_t n_ids;
static unsigned submits, restarts;
static uint64_t loop_used;

static void learn_id(uint64_t id) {
        for (size_t i = 0; i < n_ids; i++)
                if (ids[i] == id)
                        return;
        if (n_ids == IDS_MAX) {
                memmove(ids, ids + 1, (IDS_MAX - 1) * sizeof *ids);
                n_ids--;
        }
        ids[n_ids++] = id;
}

static void conn_close(Conn *c, bool reset) {
        if (c->fd < 0)
                return;
        if (reset) {
                struct linger l = { .l_onoff = 1, .l_linger = 0 };
                (void) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        close(c->fd);
        buf_done(&c->in);
        buf_done(&c->out);
        *c = (Conn) { .fd = -1 };
}

static Conn *conn_open(size_t slot, size_t user) {
        Conn *c = &conns[slot];
        conn_close(c, false);
        int fd = connect_as(user);
        if (fd < 0) {
                tracef("connect as %s: %s", users[user].name, strerror(-fd));
                return NULL;
        }
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                fatal("fcntl: %m");
        *c = (Conn) { .fd = fd, .user = user };
        tracef("[%zu] open as %s", slot, users[user].name);
        return c;
}

/* The slot an operand byte names, opened when it is not. */
static Conn *conn_slot(uint8_t s) {
        size_t slot = s % N_SLOTS;
        if (conns[slot].fd >= 0)
                return &conns[slot];
        return conn_open(slot, (s >> 3) % n_users);
}

static void handle_reply(Conn *c, size_t slot, const char *s, size_t len) {
        json_object *o = json_tokener_parse(s), *params = NULL, *err = NULL, *x;

        c->replies++;
        if (c->replies > c->nuls + 1)
                fail("connection %zu (%s) got %" PRIu64 " replies to %" PRIu64 " messages", slot,
                     users[c->user].name, c->replies, c->nuls);
        if (!o || !json_object_is_type(o, json_type_object))
                fail("connection %zu got a reply that is not a JSON object: %.200s", slot, s);
        (void) json_object_object_get_ex(o, "parameters", &params);
        (void) json_object_object_get_ex(o, "error", &err);
        if (err && !json_object_is_type(err, json_type_string))
                fail("a reply's error is not a string: %.200s", s);
        if (params && !json_object_is_type(params, json_type_object))
                fail("a reply's parameters are not an object: %.200s", s);
        if (trace)
                tracef("[%zu] <- %.*s", slot, (int) MIN(len, (size_t) 300), s);

        if (slot == SLOT_COLLECT) {
                /* The owner's Wait on an ended job: its result. */
                if (err || !params || !json_object_object_get_ex(params, "outcome", &x))
                        fail("an owner's Wait for an ended job was not answered with its result: %.300s", s);
        } else if (slot == SLOT_ADMIN) {
                if (err)
                        c->bad_replies++;
        } else if (!err && params) {
                /* Ids, from Submit, GetJob and ListJobs. */
                if (json_object_object_get_ex(params, "id", &x) && json_object_is_type(x, json_type_int))
                        learn_id(json_object_get_uint64(x));
                if (json_object_object_get_ex(params, "jobs", &x) && json_object_is_type(x, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(x); i++) {
                                json_object *id, *j = json_object_array_get_idx(x, i);
                                if (json_object_object_get_ex(j, "id", &id))
                                        learn_id(json_object_get_uint64(id));
                        }
        }
        json_object_put(o);
}

static void conn_io(Conn *c, size_t slot) {
        if (c->fd < 0)
                return;
        while (c->out.len > 0 && !c->eof) {
                ssize_t n = send(c->fd, c->out.s, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        memmove(c->out.s, c->out.s + n, c->out.len - (size_t) n);
                        c->out.len -= (size_t) n;
                        continue;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        break;
                c->lost = true; /* EPIPE, ECONNRESET: the daemon hung up */
                buf_reset(&c->out);
        }
        while (!c->eof) {
                char tmp[65536];
                ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        c->eof = true;
                        buf_reset(&c->out);
                        break;
                }
                buf_add(&c->in, tmp, (size_t) n);
        }
        /* Every reply up to its NUL. */
        size_t start = 0;
        while (c->in.len > c->in_scan) {
                char *nul = memchr(c->in.s + c->in_scan, '\0', c->in.len - c->in_scan);
                if (!nul) {
                        c->in_scan = c->in.len;
                        break;
                }
                size_t len = (size_t) (nul - (c->in.s + start));
                handle_reply(c, slot, c->in.s + start, len);
                start += len + 1;
                c->in_scan = start;
        }
        if (start > 0) {
                memmove(c->in.s, c->in.s + start, c->in.len - start);
                c->in.len -= start;
                c->in_scan -= start;
        }
        if (c->in.len > WIRE_MESSAGE_MAX)
                fail("connection %zu: a reply of more than %u bytes", slot, WIRE_MESSAGE_MAX);
}

static void conns_io(void) {
        for (size_t i = 0; i < N_CONN; i++)
                conn_io(&conns[i], i);
}

/* Queues bytes (they go out as the socket takes them). */
static void conn_send(Conn *c, const char *s, size_t len) {
        if (c->fd < 0 || c->shut || c->eof || c->lost)
                return;
        for (size_t i = 0; i < len; i++)
                c->nuls += s[i] == '\0';
        if (c->out.len + len > OUT_MAX) {
                c->lost = true;
                return;
        }
        buf_add(&c->out, s, len);
        conn_io(c, (size_t) (c - conns));
}

/* Every message sent was answered (or the connection is past judging). One
 * we shut down is not settled before the daemon has read what came before
 * the end (a Submit, say) and hung up, or answered all. */
static bool conn_answered(const Conn *c) {
        if (c->fd < 0 || c->eof || c->lost)
                return true;
        return c->out.len == 0 && c->replies >= c->nuls;
}

/* ---- the loop ------------------------------------------------------------------------ */

/* One turn of the daemon's loop, and our side of every connection. The loop
 * is driven as sd-event allows from outside: prepare, poll its fd together
 * with ours, wait, dispatch. */
static void loop_once(int timeout_ms) {
        sd_event *e = D->event;
        int r = sd_event_prepare(e);
        if (r < 0)
                fail("sd_event_prepare: %s", strerror(-r));
        if (r == 0) {
                struct pollfd p[1 + N_CONN];
                size_t n = 0;
                p[n++] = (struct pollfd) { .fd = sd_event_get_fd(e), .events = POLLIN };
                for (size_t i = 0; i < N_CONN; i++)
                        if (conns[i].fd >= 0 && !conns[i].eof)
                                p[n++] = (struct pollfd) { .fd = conns[i].fd,
                                                           .events = POLLIN | (conns[i].out.len ? POLLOUT : 0) };
                (void) poll(p, n, timeout_ms);
                r = sd_event_wait(e, 0);
                if (r < 0)
                        fail("sd_event_wait: %s", strerror(-r));
        }
        if (r > 0) {
                r = sd_event_dispatch(e);
                if (r < 0)
                        fail("sd_event_dispatch: %s", strerror(-r));
        }
        if (sd_event_get_state(e) == SD_EVENT_FINISHED)
                fail("the daemon's loop exited");
        conns_io();
}

typedef bool (*Pred)(void *userdata);

/* Runs the loop until pred (if any) holds or usec passed; whether it holds. */
static bool run_until(Pred pred, void *userdata, uint64_t usec) {
        uint64_t deadline = now_mono() + usec;
        for (;;) {
                if (pred && pred(userdata))
                        return true;
                uint64_t now = now_mono();
                if (now >= deadline)
                        return pred ? pred(userdata) : true;
                loop_once((int) MIN((deadline - now + 999) / 1000, (uint64_t) 100));
        }
}

/* The same within the input's loop budget; once it is spent, one turn that
 * does not block. */
static void run_budget(Pred pred, void *userdata, uint64_t usec) {
        uint64_t left = loop_used < LOOP_BUDGET_USEC ? LOOP_BUDGET_USEC - loop_used : 0;
        uint64_t t0 = now_mono();
        if (left == 0) {
                loop_once(0);
                return;
        }
        (void) run_until(pred, userdata, MIN(usec, left));
        loop_used += now_mono() - t0;
}

static size_t governor_job_count(void) {
        _cleanup_free_ cgov_job **v = NULL;
        size_t n = 0;
        if (governor_jobs(D->gov, &v, &n) < 0)
                fail("governor_jobs: out of memory");
        for (size_t i = 0; i < n; i++)
                cgov_job_free(v[i]);
        return n;
}

static bool no_jobs(void *userdata) {
        (void) userdata;
        return D->n_jobs == 0 && governor_job_count() == 0;
}

static uint64_t next_job_id(void) {
        return governor_next_job_id(D->gov);
}

/* ---- requests ---------------------------------------------------------------------- */

typedef struct Params {
        Buf *b;
        bool first;
} Params;

static void key(Params *p, const char *k) {
        buf_printf(p->b, "%s\"%s\":", p->first ? "" : ",", k);
        p->first = false;
}

static void gen_pool(Params *p, Cursor *cur, const Conn *c, const char *k, bool may_omit) {
        static const char *const menu[] = {
                NULL, "null", "\"shared\"", "\"shared/team\"", "self", "\"shared/nobody\"", "\"shared/daemon\"",
                "\"solo\"", "\"nope\"", "\"shared/%u\"", "\"\"", "\"shared/\"", "\"/shared\"", "7",
                "\"shared/team/x\"", "\"supervisor\"",
        };
        uint8_t x = next(cur) % ELEMENTSOF(menu);
        if (x == 0 && may_omit)
                return;
        key(p, k);
        if (x == 0)
                buf_puts(p->b, "\"shared/root\"");
        else if (strcmp(menu[x], "self") == 0)
                buf_printf(p->b, "\"shared/%s\"", users[c->user].name);
        else
                buf_puts(p->b, menu[x]);
}

static void gen_id(Params *p, Cursor *cur) {
        static const char *const edge[] = {
                "0", "18446744073709551615", "18446744073709551616", "-1", "\"1\"", "1.5", "null", "9007199254740993",
        };
        uint8_t x = next(cur);
        key(p, "id");
        switch (x >> 5) {
        case 0: case 1: case 2: case 3:
                /* The most recent ids learnt, first. */
                if (n_ids > 0) {
                        buf_printf(p->b, "%" PRIu64, ids[n_ids - 1 - (x & 31) % n_ids]);
                        break;
                }
                __attribute__((fallthrough));
        case 4:
                /* The id of a Submit earlier in the same write. */
                buf_printf(p->b, "%" PRIu64, next_job_id() + (x & 3));
                break;
        case 5:
                buf_printf(p->b, "%u", x & 7);
                break;
        case 6:
                buf_puts(p->b, edge[x & 7]);
                break;
        default:
                /* The oldest ids learnt, or the last id given. */
                if (n_ids > 0)
                        buf_printf(p->b, "%" PRIu64, ids[(x & 31) % n_ids]);
                else
                        buf_printf(p->b, "%" PRIu64, next_job_id() - 1);
        }
}

static void gen_name(Params *p, Cursor *cur, const char *k) {
        static const char *const menu[] = {
                "\"build\"", "\"n1\"", "\"x\"", "\"bad name\"", "\"\"", "\"caf\\u00e9\"", "1", "null",
        };
        uint8_t x = next(cur);
        key(p, k);
        if (x >= 248) {
                /* At and past the name's bound. */
                buf_puts(p->b, "\"");
                buf_repeat(p->b, 'a', 62 + (x & 3));
                buf_puts(p->b, "\"");
        } else
                buf_puts(p->b, menu[x % ELEMENTSOF(menu)]);
}

static void gen_menu(Params *p, Cursor *cur, const char *k, const char *const *menu, size_t n) {
        key(p, k);
        buf_puts(p->b, menu[next(cur) % n]);
}

#define GEN_MENU(p, cur, k, ...)                                                                     \
        do {                                                                                         \
                static const char *const m_[] = { __VA_ARGS__ };                                      \
                gen_menu(p, cur, k, m_, ELEMENTSOF(m_));                                             \
        } while (0)

static uint8_t gen_argv(Params *p, Cursor *cur) {
        uint8_t raw = next(cur), a = raw % 16, n = next(cur);
        key(p, "argv");
        switch (a) {
        case 0: buf_puts(p->b, "[\"true\"]"); break;
        case 1: buf_puts(p->b, "[\"/bin/false\"]"); break;
        case 2: buf_printf(p->b, "[\"sleep\",\"0.0%u\"]", 1 + n % 9); break;
        case 3: buf_printf(p->b, "[\"sh\",\"-c\",\"exit %u\"]", n); break;
        case 4: buf_puts(p->b, "[\"/nonexistent/program\"]"); break;
        case 5:
        case 6:
                /* A program name below and at the bound. */
                buf_puts(p->b, "[\"/");
                buf_repeat(p->b, 'a', a == 5 ? 300 : 4200);
                buf_puts(p->b, "\"]");
                break;
        case 7: buf_puts(p->b, "[\"sleep\",\"5\"]"); break;
        case 8: buf_puts(p->b, "[\"sh\",\"-c\",\"sleep 0.05 & exit 0\"]"); break;
        case 9: buf_puts(p->b, "[\"sh\",\"-c\",\"kill -9 $$\"]"); break;
        case 10: buf_puts(p->b, "[]"); break;
        case 11: buf_puts(p->b, "[\"\"]"); break;
        case 12: buf_puts(p->b, "\"sleep\""); break;
        case 13: buf_printf(p->b, "[\"sleep\",\"0.%u\"]", 1 + n % 3); break;
        case 14: buf_puts(p->b, "[\"/bin/sh\",\"-c\",\"exec sleep 0.03\"]"); break;
        default:
                /* An argument at the kernel's bound of one argument. */
                buf_puts(p->b, "[\"true\",\"");
                buf_repeat(p->b, 'x', (n & 1) ? 32 * 4096 : 32 * 4096 - 2);
                buf_puts(p->b, "\"]");
        }
        return raw;
}

static void gen_submit(Params *p, Cursor *cur, const Conn *c, int n_fds) {
        uint8_t f = next(cur);
        uint8_t a = gen_argv(p, cur);
        if (a & 0x30) {
                /* The argv byte's bits 4-5: a job that outlives its
                 * connection while queued (cgov run --detach), or not. */
                key(p, "detach");
                buf_puts(p->b, (const char *[]) { "", "true", "false", "1" }[(a >> 4) & 3]);
        }
        if (f & 1)
                gen_pool(p, cur, c, "pool", true);
        if (f & 2)
                gen_name(p, cur, "name");
        if (f & 4)
                GEN_MENU(p, cur, "memoryMax", "0", "1", "4096", "1048576", "16777216", "33554432", "67108864",
                         "104857600", "135266304", "209715200", "1073741824", "1152921504606846976",
                         "1152921504606846977", "-1", "\"1M\"", "1.5");
        if (f & 8)
                GEN_MENU(p, cur, "tasksMax", "0", "1", "2", "16", "64", "65", "4096", "4097", "4194304", "4194305",
                         "-1");
        if (f & 16)
                GEN_MENU(p, cur, "timeoutMs", "0", "1", "5", "20", "50", "100", "18446744073709551",
                         "18446744073709552", "-1");
        if (f & 32)
                GEN_MENU(p, cur, "queueTimeoutMs", "-1", "0", "1", "10", "50", "200", "-2", "9223372036854775",
                         "9223372036854776");
        if (f & 64)
                GEN_MENU(p, cur, "env", "[\"PATH=/usr/bin:/bin\"]", "[\"A=B\",\"PATH=/nonexistent\"]", "[\"=x\"]",
                         "[\"NOEQUALS\"]", "[\"HOME=/root\",\"USER=evil\",\"PATH=/bin\"]", "[]", "\"PATH=/bin\"",
                         "[1]");
        if (f & 128)
                GEN_MENU(p, cur, "cwd", "\"/\"", "\"/tmp\"", "\"relative\"", "\"/nonexistent\"", "null", "\"/\"");
        if (n_fds >= 0) {
                key(p, "stdio");
                buf_puts(p->b, "[");
                for (int i = 0; i < 3; i++) {
                        uint8_t v = next(cur) % (uint8_t) (n_fds + 3);
                        if (i)
                                buf_puts(p->b, ",");
                        if (v < n_fds)
                                buf_printf(p->b, "%u", v);
                        else
                                buf_puts(p->b, v == n_fds ? "null" : v == n_fds + 1 ? "99" : "-1");
                }
                buf_puts(p->b, "]");
        }
}

static const char *const method_names[] = {
        "GetInfo", "FindPool", "ListPools", "Submit", "Wait", "GetJob", "ListJobs", "Kill",
        "KillByName", "Flush", "Acquire", "Release", "Reload", "Submit", "Wait", NULL,
};

static void gen_weird(Buf *b, Cursor *cur) {
        static const char *const menu[] = {
                "{\"method\":\"io.cgov.Nope\"}",
                "{\"method\":\"io.cgov.GetInfo\",\"oneway\":true}",
                "{\"method\":\"io.cgov.GetInfo\",\"more\":true}",
                "{\"method\":\"io.cgov.GetInfo\",\"extra\":1}",
                "{\"parameters\":{}}",
                "{\"method\":\"GetInfo\"}",
                "{\"method\":\"io.cgov.GetInfo\",\"parameters\":[]}",
                "{\"method\":\"io.cgov.GetJob\",\"parameters\":{\"id\":1,\"bogus\":2}}",
                "{\"method\":\"org.varlink.service.GetInfo\"}",
                "{\"method\":1}",
                "{\"method\":\"io.cgov.Wait\",\"parameters\":null}",
                "{\"method\":\"io.cgov.ListJobs\",\"parameters\":{\"pool\":null}}",
                "[]",
                "  {\"method\":\"io.cgov.GetInfo\",\"parameters\":{}}  ",
                "{\"method\":\"io.cgov.GetInfo\",\"method\":\"io.cgov.Reload\"}",
                "{\"method\":\"io.cgov.Acquire\",\"parameters\":{\"pool\":\"shared/team\",\"count\":1,\"count\":2}}",
        };
        buf_puts(b, menu[next(cur) % ELEMENTSOF(menu)]);
}

/* One request's text (no NUL) from the input; returns whether it is a
 * Submit. force_submit: with stdio for n_fds fds. */
static bool gen_request(Buf *b, Cursor *cur, const Conn *c, bool force_submit, int n_fds) {
        uint8_t m = force_submit ? 3 : next(cur) % ELEMENTSOF(method_names);
        const char *method = method_names[m];
        Buf pb = {};
        Params p = { .b = &pb, .first = true };
        bool submit = false;

        if (!method) {
                gen_weird(b, cur);
                return false;
        }
        if (strcmp(method, "FindPool") == 0 || strcmp(method, "ListPools") == 0 || strcmp(method, "ListJobs") == 0)
                gen_pool(&p, cur, c, "pool", true);
        else if (strcmp(method, "Submit") == 0) {
                gen_submit(&p, cur, c, force_submit ? n_fds : -1);
                submit = true;
        } else if (strcmp(method, "Wait") == 0) {
                gen_id(&p, cur);
                uint8_t t = next(cur) % 13;
                static const char *const tmo[] = { "-1", "0", "1", "5", "20", "100", "500", "-2", "9223372036854775",
                                                   "9223372036854776", "\"5\"" };
                if (t > 1) {
                        key(&p, "timeoutMs");
                        buf_puts(&pb, tmo[t - 2]);
                }
        } else if (strcmp(method, "GetJob") == 0 || strcmp(method, "Kill") == 0)
                gen_id(&p, cur);
        else if (strcmp(method, "KillByName") == 0) {
                gen_name(&p, cur, "name");
                gen_pool(&p, cur, c, "pool", true);
        } else if (strcmp(method, "Flush") == 0)
                gen_pool(&p, cur, c, "pool", true);
        else if (strcmp(method, "Acquire") == 0 || strcmp(method, "Release") == 0) {
                gen_pool(&p, cur, c, "pool", true);
                GEN_MENU(&p, cur, "count", "0", "1", "2", "3", "4", "16", "17", "256", "65536", "65537", "-1", "\"1\"",
                         "4294967296", "1");
        }

        if (submit && submits >= SUBMITS_MAX) {
                /* The input's job starts are spent: its bytes were read all
                 * the same, so what follows means what it meant. */
                buf_done(&pb);
                buf_puts(b, "{\"method\":\"io.cgov.GetInfo\"}");
                return false;
        }
        if (submit)
                submits++;
        buf_printf(b, "{\"method\":\"io.cgov.%s\"", method);
        if (pb.len > 0)
                buf_printf(b, ",\"parameters\":{%s}", pb.s);
        buf_puts(b, "}");
        buf_done(&pb);
        return submit;
}

static void trace_sent(size_t slot, const char *what, const char *s, size_t len) {
        if (!trace)
                return;
        Buf t = {};
        for (size_t i = 0; i < len && t.len < 600; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch == 0)
                        buf_puts(&t, "\\0");
                else if (ch < 0x20 || ch >= 0x7f)
                        buf_printf(&t, "\\x%02x", ch);
                else
                        buf_add(&t, &s[i], 1);
        }
        tracef("[%zu] %s (%zu bytes) %s%s", slot, what, len, t.s ?: "", len > 600 ? "..." : "");
        buf_done(&t);
}

/* ---- operations -------------------------------------------------------------------- */

static void op_send(Cursor *cur) {
        Conn *c = conn_slot(next(cur));
        uint8_t spec = next(cur);
        unsigned count = 1 + (spec & 3);
        Buf b = {};

        for (unsigned i = 0; i < count; i++) {
                size_t start = b.len;
                bool submit = gen_request(&b, cur, c ?: &conns[0], false, -1);
                if (i == count - 1 && (spec & 4)) {
                        uint8_t cut = next(cur);
                        size_t len = b.len - start;
                        if (!submit && len > 0) {
                                /* Unterminated: the next bytes on this
                                 * connection continue it. */
                                b.len = start + cut % len;
                                break;
                        }
                }
                buf_add(&b, "", 1);
        }
        if (!c || b.len == 0) {
                buf_done(&b);
                return;
        }
        size_t slot = (size_t) (c - conns);
        if (spec & 8) {
                size_t half = b.len / 2;
                trace_sent(slot, "send (first half)", b.s, half);
                conn_send(c, b.s, half);
                loop_once(0);
                trace_sent(slot, "send (second half)", b.s + half, b.len - half);
                conn_send(c, b.s + half, b.len - half);
        } else {
                trace_sent(slot, "send", b.s, b.len);
                conn_send(c, b.s, b.len);
        }
        buf_done(&b);
}

static void op_raw(Cursor *cur) {
        Conn *c = conn_slot(next(cur));
        uint8_t kind = next(cur) % 8;
        Buf b = {};

        switch (kind) {
        case 0:
        case 1: {
                /* The input's own bytes: never a 'v' nor a backslash, so
                 * never "argv" (see the top of the file). */
                uint8_t len = next(cur) % 64;
                for (uint8_t i = 0; i < len; i++) {
                        char ch = (char) next(cur);
                        if (ch == 'v')
                                ch = 'w';
                        else if (ch == '\\')
                                ch = '/';
                        buf_add(&b, &ch, 1);
                }
                if (next(cur) & 1)
                        buf_add(&b, "", 1);
                break;
        }
        case 2: {
                /* A request with a NUL inside: two broken messages. */
                bool submit = gen_request(&b, cur, c ?: &conns[0], false, -1);
                uint8_t at = next(cur);
                if (!submit && b.len > 0)
                        b.s[at % b.len] = '\0';
                buf_add(&b, "", 1);
                break;
        }
        case 3:
                buf_add(&b, "\0\0\0\0", 1 + next(cur) % 4);
                break;
        case 4: {
                /* Around the message bound (which counts the NUL). */
                uint8_t x = next(cur);
                size_t total = WIRE_MESSAGE_MAX - 2 + x % 4; /* without the NUL */
                const char *head = "{\"method\":\"io.cgov.FindPool\",\"parameters\":{\"pool\":\"";
                buf_puts(&b, head);
                buf_repeat(&b, 'a', total - strlen(head) - 3);
                buf_puts(&b, "\"}}");
                if (!(x & 4))
                        buf_add(&b, "", 1);
                break;
        }
        case 5: {
                /* Long strings and deep nesting where the daemon reads them. */
                uint8_t x = next(cur), y = next(cur);
                switch (x % 5) {
                case 0:
                        buf_puts(&b, "{\"method\":\"io.cgov.FindPool\",\"parameters\":{\"pool\":\"");
                        buf_repeat(&b, 's', 200 + (size_t) y * 400);
                        buf_puts(&b, "\"}}");
                        break;
                case 1:
                        buf_puts(&b, "{\"method\":\"io.cgov.KillByName\",\"parameters\":{\"name\":\"");
                        buf_repeat(&b, 'n', 60 + (size_t) y * 300);
                        buf_puts(&b, "\"}}");
                        break;
                case 2:
                        buf_puts(&b, "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":");
                        buf_repeat(&b, '9', 20 + (size_t) y * 4);
                        buf_puts(&b, "}}");
                        break;
                case 3:
                        buf_puts(&b, "{\"method\":\"io.cgov.GetInfo\",\"parameters\":{\"x\":");
                        buf_repeat(&b, '[', y);
                        buf_repeat(&b, ']', y);
                        buf_puts(&b, "}}");
                        break;
                default:
                        buf_puts(&b, "{\"method\":\"io.cgov.");
                        buf_repeat(&b, 'M', 100 + (size_t) y * 100);
                        buf_puts(&b, "\"}");
                }
                buf_add(&b, "", 1);
                break;
        }
        case 6: {
                static const char *const menu[] = {
                        "{\"method\":\"io.cgov.FindPool\",\"parameters\":{\"pool\":\"sh\\u0000ared\"}}",
                        "{\"method\":\"io.cgov.FindPool\",\"parameters\":{\"pool\":\"\\ud800\"}}",
                        "{\"method\":\"io.cgov.FindPool\",\"parameters\":{\"pool\":\"\xc3\x28\"}}",
                        "{\"method\":\"io.cgov.KillByName\",\"parameters\":{\"name\":\"a\\nb\"}}",
                        "{\"method\":\"io.cgov.Get\\u0049nfo\"}",
                        "{\"method\":\"io.cgov.GetInfo\"}\x01",
                        "{\"method\":\"io.cgov.GetInfo\"} {}",
                        "{\"method\":\"io.cgov.ListJobs\",\"parameters\":{\"pool\":\"shared\\/team\"}}",
                };
                buf_puts(&b, menu[next(cur) % ELEMENTSOF(menu)]);
                buf_add(&b, "", 1);
                break;
        }
        default: {
                static const char *const menu[] = { "{", "\"", "{\"method\":\"io.cgov.GetInfo\"", "[", " " };
                buf_puts(&b, menu[next(cur) % ELEMENTSOF(menu)]);
        }
        }
        if (c && b.len > 0) {
                trace_sent((size_t) (c - conns), "raw", b.s, b.len);
                conn_send(c, b.s, b.len);
        }
        buf_done(&b);
}

static void op_sendfds(Cursor *cur) {
        Conn *c = conn_slot(next(cur));
        int n_fds = next(cur) % 11, fds[10];
        Buf b = {};

        for (int i = 0; i < n_fds; i++) {
                int p[2];
                switch (next(cur) % 4) {
                case 0:
                        fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
                        break;
                case 1:
                case 2:
                        if (pipe2(p, O_CLOEXEC) < 0)
                                fatal("pipe: %m");
                        /* The job writes where nobody reads, or reads at EOF. */
                        fds[i] = p[i & 1];
                        close(p[!(i & 1)]);
                        break;
                default:
                        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
                                fatal("socketpair: %m");
                        fds[i] = p[0];
                        close(p[1]);
                }
                if (fds[i] < 0)
                        fatal("open: %m");
        }
        (void) gen_request(&b, cur, c ?: &conns[0], true, n_fds);
        buf_add(&b, "", 1);
        if (c && !c->shut && !c->eof && !c->lost) {
                size_t slot = (size_t) (c - conns);
                conn_io(c, slot);
                trace_sent(slot, n_fds ? "send with fds" : "send", b.s, b.len);
                if (c->out.len > 0 || n_fds == 0)
                        conn_send(c, b.s, b.len); /* earlier bytes pending: the fds cannot go with these */
                else {
                        union {
                                char buf[CMSG_SPACE(sizeof fds)];
                                struct cmsghdr align;
                        } cb = {};
                        struct iovec iov = { .iov_base = b.s, .iov_len = b.len };
                        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf,
                                             .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t) n_fds) };
                        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t) n_fds);
                        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t) n_fds);
                        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0 && errno == EAGAIN)
                                n = 0;
                        if (n < 0)
                                c->lost = true;
                        else {
                                for (size_t i = 0; i < b.len; i++)
                                        c->nuls += b.s[i] == '\0';
                                buf_add(&c->out, b.s + n, b.len - (size_t) n);
                                conn_io(c, slot);
                        }
                }
        }
        for (int i = 0; i < n_fds; i++)
                close(fds[i]);
        buf_done(&b);
}

/* Signals a process that is in our tree, by pidfd: a pid read from
 * cgroup.procs may have been reused by the time it is signalled. */
static void signal_in_leaf(const char *leaf, pid_t pid, int sig) {
        char path[1500];
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return;
        /* Still listed in the leaf after the pidfd was taken: the pidfd's
         * process is the leaf's, or dead. */
        snprintf(path, sizeof path, "%s/cgroup.procs", leaf);
        FILE *f = fopen(path, "re");
        bool there = false;
        int p;
        while (f && fscanf(f, "%d", &p) == 1)
                there = there || p == pid;
        if (f)
                fclose(f);
        if (there)
                (void) syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
        close(pfd);
}

static void op_kill(Cursor *cur) {
        uint8_t pick = next(cur), how = next(cur) % 4;
        Leaf leaves[32];
        size_t n = 0;
        char path[1500];

        walk_tree(cg_root, leaves, &n, ELEMENTSOF(leaves), NULL);
        if (n == 0)
                return;
        qsort(leaves, n, sizeof *leaves, leaf_cmp);
        Leaf *l = &leaves[pick % n];
        tracef("kill %s (%s)", l->path,
               (const char *[]) { "SIGKILL main", "cgroup.kill", "SIGSTOP main", "SIGKILL leftovers" }[how]);
        if (how == 1) {
                snprintf(path, sizeof path, "%s/cgroup.kill", l->path);
                (void) write_file(path, "1");
                return;
        }
        snprintf(path, sizeof path, "%s/cgroup.procs", l->path);
        FILE *f = fopen(path, "re");
        pid_t pids[64];
        size_t np = 0;
        int p;
        while (f && np < ELEMENTSOF(pids) && fscanf(f, "%d", &p) == 1)
                pids[np++] = p;
        if (f)
                fclose(f);
        for (size_t i = 0; i < np; i++) {
                if (how == 3 && i == 0)
                        continue;
                signal_in_leaf(l->path, pids[i], how == 2 ? SIGSTOP : SIGKILL);
                if (how != 3)
                        break;
        }
}

static bool conn_slot_answered(void *userdata) {
        return conn_answered(&conns[(uintptr_t) userdata]);
}

static void op_run(Cursor *cur) {
        uint8_t t = next(cur);
        if (t < 0xc0) {
                tracef("run %u ms", t % 48 + 1);
                run_budget(NULL, NULL, (uint64_t) (t % 48 + 1) * 1000);
        } else {
                tracef("run until [%u] is answered", t & 7);
                run_budget(conn_slot_answered, (void *) (uintptr_t) (t & 7), 50 * 1000);
        }
}

/* ---- the end of an input: back to rest, and the checks -------------------------------- */

static void dump_state(void) {
        if (!D)
                return;
        fprintf(stderr, "fuzz-daemon: daemon: %zu live job(s), %zu ended kept, %zu connection(s)\n", D->n_jobs,
                D->n_ended, D->n_connections);
        for (size_t i = 0; i < N_CONN; i++)
                if (conns[i].fd >= 0)
                        fprintf(stderr,
                                "fuzz-daemon: conn %zu (%s): sent %" PRIu64 ", replies %" PRIu64
                                ", pending out %zu%s%s%s\n",
                                i, users[conns[i].user].name, conns[i].nuls, conns[i].replies, conns[i].out.len,
                                conns[i].shut ? ", shut" : "", conns[i].eof ? ", eof" : "",
                                conns[i].lost ? ", lost" : "");
        {
                _cleanup_free_ cgov_job **v = NULL;
                size_t n = 0;
                (void) governor_jobs(D->gov, &v, &n);
                for (size_t i = 0; i < n; i++) {
                        JobInfo info;
                        job_info(v[i], &info);
                        fprintf(stderr, "fuzz-daemon: governor job %" PRIu64 " (%s) in %s: %s, pid %d\n", info.id,
                                info.leaf, cgov_pool_path(info.pool), job_state_to_string(info.state), (int) info.pid);
                        cgov_job_free(v[i]);
                }
        }
        /* The job a connection waits for is not read: it may be what went
         * wrong. */
        LIST_FOREACH(connections, c, D->connections)
                fprintf(stderr, "fuzz-daemon: daemon's connection of %s (pid %d): %s%s\n", c->who.name,
                        (int) c->who.pid, c->waiting_for ? "waiting for a job" : "not waiting",
                        c->dead ? ", dead" : "");
}

/* The fds open at the start of the input (the daemon at rest), by number,
 * with what they were. Taken anew for each input: between inputs libFuzzer
 * may open some of its own (llvm-symbolizer's pipes, for NEW_FUNC). */
static char fd_seen[1024][96];

static int count_fds(bool remember, bool print_new) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;
        if (!d)
                fatal("/proc/self/fd: %m");
        while ((de = readdir(d))) {
                char path[300], target[96] = "";
                int fd = atoi(de->d_name);
                if (de->d_name[0] == '.' || fd == dirfd(d))
                        continue;
                n++;
                snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
                ssize_t k = readlink(path, target, sizeof target - 1);
                target[k > 0 ? k : 0] = '\0';
                if (fd < 0 || fd >= (int) ELEMENTSOF(fd_seen))
                        continue;
                if (remember)
                        snprintf(fd_seen[fd], sizeof fd_seen[fd], "%s", target);
                else if (print_new && strcmp(fd_seen[fd], target) != 0)
                        fprintf(stderr, "fuzz-daemon: fd %d is %s, was %s at rest\n", fd, target,
                                fd_seen[fd][0] ? fd_seen[fd] : "closed");
        }
        closedir(d);
        return n;
}

static bool quiet(void *userdata) {
        size_t open = 0;
        (void) userdata;
        if (!no_jobs(NULL))
                return false;
        for (size_t i = 0; i < N_CONN; i++) {
                if (!conn_answered(&conns[i]))
                        return false;
                open += conns[i].fd >= 0 && !conns[i].eof;
        }
        /* A connection we closed may still hold requests the daemon has
         * not read (a Submit sent just before), or not even be accepted
         * yet: it is at rest once it has read them and dropped it. */
        struct pollfd backlog = { .fd = D->listen_fd, .events = POLLIN };
        return D->n_connections <= open && poll(&backlog, 1, 0) == 0;
}

static bool no_connections(void *userdata) {
        (void) userdata;
        return D->n_connections == 0 && !D->connections;
}

/* Root flushes every pool until every job has ended and every request on
 * an open connection has its reply. */
static void quiesce(void) {
        Conn *a = conn_open(SLOT_ADMIN, 0);
        if (!a)
                fail("root cannot connect to the daemon");
        uint64_t deadline = now_mono() + SETTLE_TIMEOUT_USEC, last_flush = 0;
        while (!quiet(NULL)) {
                uint64_t now = now_mono();
                if (now >= deadline) {
                        for (size_t i = 0; i < N_CONN; i++)
                                if (!conn_answered(&conns[i]))
                                        fail("connection %zu (%s): %" PRIu64 " message(s) sent, %" PRIu64
                                             " answered, after all jobs ended",
                                             i, users[conns[i].user].name, conns[i].nuls, conns[i].replies);
                        fail("jobs are left %u s after root's Flush of every pool",
                             (unsigned) (SETTLE_TIMEOUT_USEC / 1000000));
                }
                if (!no_jobs(NULL) && conn_answered(a) && now - last_flush >= 20000) {
                        Buf b = {};
                        for (size_t i = 0; i < ELEMENTSOF(top_pools); i++) {
                                buf_printf(&b, "{\"method\":\"io.cgov.Flush\",\"parameters\":{\"pool\":\"%s\"}}",
                                           top_pools[i]);
                                buf_add(&b, "", 1);
                        }
                        trace_sent(SLOT_ADMIN, "flush", b.s, b.len);
                        conn_send(a, b.s, b.len);
                        buf_done(&b);
                        last_flush = now;
                }
                loop_once(5);
        }
        if (a->bad_replies)
                fail("root's Flush failed");

        /* Still serving. */
        static const char info[] = "{\"method\":\"io.cgov.GetInfo\"}";
        conn_send(a, info, sizeof info);
        if (!run_until(conn_slot_answered, (void *) (uintptr_t) SLOT_ADMIN, 5 * UINT64_C(1000000)))
                fail("root's GetInfo was not answered within 5 s");
        if (a->bad_replies)
                fail("root's GetInfo failed");
}

static void close_all(void) {
        for (size_t i = 0; i < N_CONN; i++)
                conn_close(&conns[i], false);
        if (!run_until(no_connections, NULL, 5 * UINT64_C(1000000)))
                fail("the daemon still holds %zu connection(s) 5 s after their peers closed them", D->n_connections);
}

/* Each owner collects its ended jobs' results, all its Waits in one write:
 * each must be there, once. */
static void collect_results(void) {
        LIST_FOREACH(ended, j, D->ended_head) {
                size_t k;
                for (k = 0; k < n_users && users[k].uid != j->owner; k++)
                        ;
                if (k == n_users)
                        fail("job %" PRIu64 " is owned by uid %u, who never connected", j->id, (unsigned) j->owner);
                if (!j->ended)
                        fail("job %" PRIu64 " is in the ended list but not ended", j->id);
        }
        for (size_t k = 0; k < n_users; k++) {
                Buf b = {};
                unsigned n = 0;
                LIST_FOREACH(ended, j, D->ended_head)
                        if (j->owner == users[k].uid) {
                                buf_printf(&b, "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":%" PRIu64 "}}",
                                           j->id);
                                buf_add(&b, "", 1);
                                n++;
                        }
                if (n == 0)
                        continue;
                Conn *c = conn_open(SLOT_COLLECT, k);
                if (!c)
                        fail("%s cannot connect to the daemon", users[k].name);
                trace_sent(SLOT_COLLECT, "collect", b.s, b.len);
                conn_send(c, b.s, b.len);
                buf_done(&b);
                if (!run_until(conn_slot_answered, (void *) (uintptr_t) SLOT_COLLECT, 5 * UINT64_C(1000000)))
                        fail("%s's Waits for its %u ended job(s) were not answered within 5 s", users[k].name, n);
                close_all();
        }
}

/* A sanitizer error in a process that shares our memory (a keeper, or the
 * process it starts, until it execs: clone-vm.h) ends that process, not
 * ours, and its report goes to the job's stdio (libFuzzer's handler there
 * still writes the input out as a crash). ASan calls this hook in the
 * process that erred, and what it writes here is ours too. */
static pid_t harness_pid;
static volatile pid_t shared_error_pid;
void __asan_on_error(void);
void __asan_on_error(void) {
        pid_t pid = (pid_t) syscall(SYS_getpid);
        if (pid != harness_pid)
                shared_error_pid = pid;
}

static void check_rest(void) {
        if (shared_error_pid)
                fail("process %d, which shared our memory, hit a sanitizer error (its report went to the job's "
                     "stdio; ASAN_OPTIONS=log_path=FILE shows it)",
                     (int) shared_error_pid);
        if (D->n_jobs || D->jobs_by_id || D->n_ended || D->ended_head || D->ended_tail)
                fail("job records left: %zu live, %zu ended, tree %s", D->n_jobs, D->n_ended,
                     D->jobs_by_id ? "not empty" : "empty");
        pthread_mutex_lock(&D->ended_lock);
        size_t queued = D->n_ended_queue;
        pthread_mutex_unlock(&D->ended_lock);
        if (queued)
                fail("%zu job end(s) not handled by the loop", queued);

        char held[256];
        if (governor_check_idle(D->gov, held, sizeof held) < 0)
                fail("%s", held);

        _cleanup_free_ cgov_pool **pools = NULL;
        size_t n_pools = 0;
        if (governor_pools(D->gov, &pools, &n_pools) < 0)
                fatal("out of memory");
        for (size_t i = 0; i < n_pools; i++) {
                struct cgov_pool_status st;
                if (cgov_pool_status(pools[i], &st) < 0)
                        fail("cgov_pool_status(%s) failed", cgov_pool_path(pools[i]));
                if (st.memory_reserved || st.jobs_running || st.jobs_queued || st.slots_held)
                        fail("pool %s at rest: memory reserved %" PRIu64 ", %u running, %u queued, %u slots held",
                             cgov_pool_path(pools[i]), st.memory_reserved, st.jobs_running, st.jobs_queued,
                             st.slots_held);
        }

        for (size_t k = 0; k < n_users; k++) {
                UserCount *u = user_count(D, users[k].uid);
                if (!u)
                        fatal("out of memory");
                if (u->connections || u->jobs || u->results || u->slots || u->spec_bytes)
                        fail("user %s at rest: %u connections, %u jobs, %u results, %u slots, %zu spec bytes",
                             users[k].name, u->connections, u->jobs, u->results, u->slots, u->spec_bytes);
                for (size_t i = 0; i < u->n_slot_holds; i++)
                        if (u->slot_holds[i].n)
                                fail("user %s at rest holds %u slot(s) of %s", users[k].name, u->slot_holds[i].n,
                                     cgov_pool_path(u->slot_holds[i].pool));
        }

        /* A record is kept until the owner collects (records.c, where the
         * daemon has them): every result was collected. */
        char path[400];
        snprintf(path, sizeof path, "%s/jobs", state_dir);
        DIR *rd = opendir(path);
        if (rd) {
                struct dirent *de;
                while ((de = readdir(rd)))
                        if (de->d_name[0] != '.') {
                                char name[256];
                                snprintf(name, sizeof name, "%s", de->d_name);
                                closedir(rd);
                                fail("job record %s/%s left after every result was collected", path, name);
                        }
                closedir(rd);
        }

        size_t n_leaves = 0;
        bool procs = false;
        walk_tree(cg_root, NULL, &n_leaves, 0, &procs);
        if (n_leaves)
                fail("%zu job leaf/leaves left in %s", n_leaves, cg_root);
        if (procs)
                fail("processes left in %s", cg_root);

        if (fd_baseline >= 0) {
                /* The governor lets go of an ended job (and the copies of
                 * its stdio fds, through a closer) just after it announced
                 * the end: a moment later than the loop may have collected
                 * it. */
                int n = count_fds(false, false);
                for (uint64_t until = now_mono() + 2 * UINT64_C(1000000); n != fd_baseline && now_mono() < until;) {
                        loop_once(10);
                        n = count_fds(false, false);
                }
                if (n != fd_baseline) {
                        (void) count_fds(false, true);
                        fail("%d fds open at rest, %d before this input", n, fd_baseline);
                }
        }
        if (sd_event_get_state(D->event) == SD_EVENT_FINISHED)
                fail("the daemon's loop exited");
}

static void end_of_input(void) {
        quiesce();
        close_all();
        collect_results();
        check_rest();
}

static void run_input(const uint8_t *data, size_t size) {
        Cursor cur = { data, size };

        n_ids = 0;
        submits = 0;
        restarts = 0;
        loop_used = 0;
        if (fd_baseline >= 0)
                fd_baseline = count_fds(true, false);
        for (unsigned ops = 0; cur.n > 0 && ops < OPS_MAX; ops++) {
                static const uint8_t table[16] = { 0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9 };
                uint8_t op = table[next(&cur) & 15];
                switch (op) {
                case 0:
                        op_send(&cur);
                        break;
                case 1:
                        op_run(&cur);
                        break;
                case 2:
                        /* Every job ended and every request answered,
                         * as far as the budget goes. */
                        tracef("settle");
                        run_budget(quiet, NULL, LOOP_BUDGET_USEC);
                        break;
                case 3: {
                        uint8_t u = next(&cur);
                        for (size_t i = 0; i < N_SLOTS; i++)
                                if (conns[i].fd < 0) {
                                        (void) conn_open(i, u % n_users);
                                        break;
                                }
                        break;
                }
                case 4: {
                        uint8_t s = next(&cur);
                        if (conns[s % N_SLOTS].fd >= 0)
                                tracef("[%u] close%s", s % N_SLOTS, (s & 0x80) ? " (reset)" : "");
                        conn_close(&conns[s % N_SLOTS], s & 0x80);
                        break;
                }
                case 5: {
                        Conn *c = &conns[next(&cur) % N_SLOTS];
                        if (c->fd >= 0 && !c->shut) {
                                tracef("[%zu] shutdown(SHUT_WR)", (size_t) (c - conns));
                                (void) shutdown(c->fd, SHUT_WR);
                                c->shut = true;
                        }
                        break;
                }
                case 6:
                        op_raw(&cur);
                        break;
                case 7:
                        op_kill(&cur);
                        break;
                case 8:
                        op_sendfds(&cur);
                        break;
                default:
                        op_restart();
                }
                loop_once(0);
        }
        end_of_input();
}

/* ---- setup and teardown ---------------------------------------------------------------- */

static void find_cgroup2(void) {
        const char *e = getenv("CGOV_FUZZ_CGROUP");
        if (e && *e) {
                snprintf(cg_parent, sizeof cg_parent, "%s", e);
                return;
        }
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        if (!f)
                fatal("/proc/self/mountinfo: %m");
        while (fgets(line, sizeof line, f)) {
                /* id parent major:minor root mountpoint options ... - fstype source ... */
                char mnt[2048], fstype[64];
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %*s %2047s", mnt) != 1 || sscanf(dash + 3, "%63s", fstype) != 1)
                        continue;
                if (strcmp(fstype, "cgroup2") == 0) {
                        snprintf(cg_parent, sizeof cg_parent, "%s", mnt); /* no octal escapes in sane paths */
                        break;
                }
        }
        fclose(f);
        if (!cg_parent[0])
                fatal("no cgroup2 mount (set CGOV_FUZZ_CGROUP)");
}

static _noreturn_ void reaper_main(int fd) {
        char b;
        /* Outlives a ^C to the process group, and a kill of this process:
         * it goes when the pipe's last writer, our process, is gone. */
        setsid();
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
                /* Nor does it hold a pipeline reading our output open. */
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
        }
        for (int i = 3; i < 4096; i++)
                if (i != fd)
                        close(i);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        while (read(fd, &b, 1) != 0 && errno == EINTR)
                ;
        cgroup_cleanup();
        tmp_cleanup();
        _exit(0);
}

static void daemon_start(bool restart) {
        DaemonConfig cfg = {
                .cgroup_root = cg_root,
                .open_flags = CGOV_OPEN_ACCOUNTING_ONLY,
                .policy_dir = policy_dir,
                .socket_path = socket_path,
                .state_dir = state_dir,
                .job_nofile = { 1024, 4096 },
        };
        int r = daemon_new(&cfg, &D);
        if (r < 0 && restart)
                fail("the daemon did not start again: %s", strerror(-r));
        if (r < 0)
                fatal("daemon_new: %s", strerror(-r));
        /* daemon_new() blocked them for its signalfd: ^C and SIGTERM are
         * libFuzzer's again (the governor's thread blocks everything). */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
}

/* cgovd stopped and started again on the same root and state directory,
 * as after a SIGTERM or a crash of the daemon alone: running jobs go on
 * and are re-adopted, what was promised to their owners is kept. Our
 * connections see the daemon hang up. */
static void op_restart(void) {
        if (restarts >= RESTARTS_MAX)
                return;
        restarts++;
        tracef("restart the daemon");
        D = daemon_free(D);
        daemon_start(true);
        conns_io();
}

static void teardown(void) {
        if (!D)
                return;
        for (size_t i = 0; i < N_CONN; i++)
                conn_close(&conns[i], false);
        D = daemon_free(D);
        cgroup_cleanup();
        tmp_cleanup();
        for (size_t k = 0; k < n_users; k++)
                if (users[k].helper_fd >= 0) {
                        close(users[k].helper_fd);
                        (void) waitpid(users[k].helper_pid, NULL, 0);
                }
        if (reaper_fd >= 0) {
                close(reaper_fd);
                (void) waitpid(reaper_pid, NULL, 0);
        }
}

/* Makes every kind of fd the daemon keeps once it has used it (timers, the
 * instance pools of each user), so that the count after it is the rest
 * state. */
static void warm_up(void) {
        /* Each user: a job in its own pool, queued ones, a Wait that times
         * out, Waits for a job that ends, slots. */
        static const uint8_t program[] = {
                /* SEND [0] as user k: FindPool default, Submit sleep 0.01 cwd / timeoutMs 50 */
                0x00, 0x00, 0x01, 0x01, 0x00, 0x03, 0x90, 0x02, 0x00, 0x04, 0x00,
                /* RUN until [0] is answered */
                0x04, 0xc0,
                /* SEND [0]: Wait most recent id, timeoutMs 1 (one at a time:
                 * the setup must not depend on what the fuzzer looks for) */
                0x00, 0x00, 0x00, 0x04, 0x00, 0x04,
                0x04, 0xc0,
                /* SEND [0]: Wait most recent id */
                0x00, 0x00, 0x00, 0x04, 0x00, 0x00,
                /* SEND [1]: Acquire self 1 */
                0x00, 0x01, 0x00, 0x0a, 0x04, 0x01,
                /* SETTLE */
                0x07,
        };
        for (size_t k = 0; k < n_users; k++) {
                uint8_t p[sizeof program];
                memcpy(p, program, sizeof p);
                /* The slots' user bits. */
                p[1] = p[14] = p[22] = (uint8_t) (k << 3);
                p[28] = (uint8_t) (1 | k << 3);
                run_input(p, sizeof p);
        }
        /* A queued job that times out in its queue, and a job with a timeout
         * killed by it: the supervisor's timers. */
        static const uint8_t queue[] = {
                /* SEND [0] as root, in one write: 3 Submits of sleep 5 in solo
                 * (MaxJobs=1, QueueMax=1) with timeoutMs 5, the last two with
                 * queueTimeoutMs 1 */
                0x00, 0x00, 0x02,
                0x03, 0x11, 0x07, 0x00, 0x07, 0x02,
                0x03, 0x31, 0x07, 0x00, 0x07, 0x02, 0x02,
                0x03, 0x31, 0x07, 0x00, 0x07, 0x02, 0x02,
                0x07,
        };
        run_input(queue, sizeof queue);
        /* A restart with a job running: re-adoption, the records. */
        static const uint8_t restart[] = {
                /* SEND [0] as root: Submit sleep 5, cwd / */
                0x00, 0x00, 0x00, 0x03, 0x80, 0x07, 0x00, 0x00,
                0x04, 0xc0, /* RUN until [0] is answered */
                0x0f,       /* RESTART */
                0x04, 0x04, /* RUN 5 ms */
        };
        run_input(restart, sizeof restart);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        const char *t = getenv("CGOV_FUZZ_TRACE");
        trace = t && *t && strcmp(t, "0") != 0;

        harness_pid = getpid();
        if (geteuid() != 0)
                fatal("needs root: jobs run as other users, in a cgroup of its own");
        /* Not systemd's child: no notification, no socket, no journal. */
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        unsetenv("JOURNAL_STREAM");
        for (size_t i = 0; i < N_CONN; i++)
                conns[i].fd = -1;

        find_cgroup2();
        snprintf(cg_root, sizeof cg_root, "%s/cgov-fuzz.%d", cg_parent, (int) getpid());
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/cgov-fuzz.XXXXXX");
        if (!mkdtemp(tmp_dir))
                fatal("mkdtemp: %m");
        if (chmod(tmp_dir, 0755) < 0) /* tenants reach the socket inside */
                fatal("chmod: %m");
        snprintf(socket_path, sizeof socket_path, "%s/sock", tmp_dir);
        snprintf(policy_dir, sizeof policy_dir, "%s/pools.d", tmp_dir);
        snprintf(state_dir, sizeof state_dir, "%s/state", tmp_dir);
        if (mkdir(policy_dir, 0755) < 0)
                fatal("mkdir: %m");
        char path[400];
        snprintf(path, sizeof path, "%s/fuzz.pool", policy_dir);
        FILE *f = fopen(path, "we");
        if (!f || fputs(policy_text, f) < 0 || fclose(f) != 0)
                fatal("%s: %m", path);

        /* The reaper first: from here on, whatever ends this process, the
         * tree and the directory go. */
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                fatal("pipe: %m");
        reaper_pid = fork();
        if (reaper_pid < 0)
                fatal("fork: %m");
        if (reaper_pid == 0) {
                close(pfd[1]);
                reaper_main(pfd[0]);
        }
        close(pfd[0]);
        reaper_fd = pfd[1];

        static const char *const names[] = { "root", "nobody", "daemon" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                struct passwd *pw = getpwnam(names[i]);
                if (!pw) {
                        if (i < 2)
                                fatal("no user %s", names[i]);
                        continue;
                }
                users[n_users] = (User) { .name = names[i], .uid = pw->pw_uid, .gid = pw->pw_gid, .helper_fd = -1 };
                if (pw->pw_uid != 0)
                        helper_start(&users[n_users]);
                n_users++;
        }

        /* As cgovd's main() (fds_reserve_low()): no tenant's file gets an
         * fd below 64, so every free one holds /dev/null for good. */
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 3; null_fd >= 0 && i < 64; i++)
                if (fcntl(i, F_GETFD) < 0 && fcntl(null_fd, F_DUPFD_CLOEXEC, i) < 0)
                        break;
        if (null_fd >= 64)
                close(null_fd);

        bool debug = getenv("CGOV_FUZZ_DEBUG");
        log_set_max_level(debug ? LOG_DEBUG : LOG_WARNING);
        daemon_start(false);
        atexit(teardown);

        warm_up();
        int before = count_fds(false, false);
        warm_up();
        fd_baseline = count_fds(true, false);
        /* From here on each input is held to the count it started with. */
        if (before != fd_baseline)
                fprintf(stderr, "fuzz-daemon: warning: %d fds after the first warm-up, %d after the second\n", before,
                        fd_baseline);
        fprintf(stderr, "fuzz-daemon: cgovd on %s, %zu users, %d fds at rest\n", cg_root, n_users, fd_baseline);
        /* Setup said what it had to; from here on a restart would repeat the
         * warning about accounting only, and tenants' errors are many. */
        if (!debug)
                log_set_max_level(LOG_ERR);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        run_input(data, size);
        return 0;
}
