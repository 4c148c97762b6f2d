/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "clone-vm.h"
#include "macro.h"
#include "raw-syscall.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

static const char *env_lookup(char *const *envp, const char *key) {
        size_t klen = strlen(key);

        for (char *const *e = envp; e && *e; e++)
                if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
                        return *e + klen + 1;
        return NULL;
}

const char *spawn_search_path(char *const *envp) {
        const char *path = envp ? env_lookup(envp, "PATH") : NULL;
        if (!path)
                path = getenv("PATH");
        return path ?: DEFAULT_PATH;
}

int spawn_find_program(const char *name, char *const *envp, char **ret_path) {
        const char *path;
        int last = -ENOENT;

        if (!name || !*name)
                return -ENOENT;
        if (strchr(name, '/')) {
                char *p = strdup(name);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        path = spawn_search_path(envp);
        for (const char *s = path;;) {
                const char *e = strchrnul(s, ':');
                _cleanup_free_ char *candidate = NULL;
                struct stat st;

                /* An empty PATH entry means the current directory, as for execvp(). */
                if (asprintf(&candidate, "%.*s%s%s", (int) (e - s), s, e == s ? "" : "/", name) < 0)
                        return -ENOMEM;
                if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (access(candidate, X_OK) == 0) {
                                *ret_path = TAKE_PTR(candidate);
                                return 0;
                        }
                        last = -EACCES; /* execvp() reports EACCES if that was all it found */
                }
                if (*e == '\0')
                        break;
                s = e + 1;
        }
        return last;
}

/* The child's common steps, async-signal-safe and errno-free (see
 * raw-syscall.h): into the leaf (the gate, when the process was not born
 * there), stdio, limits, whom it runs as, working directory (entered as
 * that user, so that its permissions apply). 0 or -errno. */
static int child_enter(const SpawnParams *sp, int procs_fd) {
        long r;

        if (procs_fd >= 0 && (r = raw_syscall3(SYS_write, procs_fd, "0", 1)) != 1)
                return r < 0 ? (int) r : -EIO;
        if (sp->stdio) {
                int src[3];
                /* First lift every source above 2, so that one dup3() cannot
                 * overwrite the source of another (stdio {2, 1, 0} is legal). */
                for (int i = 0; i < 3; i++) {
                        r = raw_syscall3(SYS_fcntl, sp->stdio[i], F_DUPFD_CLOEXEC, 3);
                        if (r < 0)
                                return (int) r;
                        src[i] = (int) r;
                }
                for (int i = 0; i < 3; i++)
                        if ((r = raw_syscall3(SYS_dup3, src[i], i, 0)) < 0)
                                return (int) r;
        }
        if (sp->creds) {
                const SpawnCreds *c = sp->creds;
                for (int i = 0; c->set_rlimits && i < RLIM_NLIMITS; i++)
                        if ((r = raw_syscall4(SYS_prlimit64, 0, i, &c->rlimits[i], NULL)) < 0)
                                return (int) r;
                /* While we still have CAP_SETPCAP: every capability out of the
                 * bounding set (EINVAL past the kernel's last one ends it). */
                for (int cap = 0; c->no_new_privs && cap < 64; cap++)
                        if ((r = raw_syscall5(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0)) < 0) {
                                if (r == -EINVAL)
                                        break;
                                return (int) r;
                        }
                /* glibc's setuid() and friends would signal every thread the
                 * parent had, and the child has only this one. */
                if ((r = raw_syscall2(SYS_setgroups, c->n_groups, c->groups)) < 0 ||
                    (r = raw_syscall3(SYS_setresgid, c->gid, c->gid, c->gid)) < 0 ||
                    (r = raw_syscall3(SYS_setresuid, c->uid, c->uid, c->uid)) < 0)
                        return (int) r;
                if (c->no_new_privs && (r = raw_syscall5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
                        return (int) r;
        }
        if (sp->cwd && (r = raw_syscall1(SYS_chdir, sp->cwd)) < 0)
                return (int) r;
        return 0;
}

/* execvpe() without its allocations, for the child: each PATH entry in turn,
 * tried as the user the job runs as, so that a lookup never tells a tenant
 * about files only root may see. Returns the -errno execvp() would. */
static int child_execvpe(const char *name, char *const *argv, char *const *envp, const char *search) {
        char buf[PATH_MAX];
        bool denied = false;
        long r;

        if (strchr(name, '/'))
                return (int) raw_syscall3(SYS_execve, name, argv, envp);
        for (const char *s = search;;) {
                const char *e = strchrnul(s, ':');
                size_t dlen = (size_t) (e - s), nlen = strlen(name);

                if (dlen + 1 + nlen < sizeof buf) {
                        memcpy(buf, s, dlen);
                        size_t n = dlen;
                        if (dlen > 0)
                                buf[n++] = '/';
                        memcpy(buf + n, name, nlen + 1);
                        r = raw_syscall3(SYS_execve, buf, argv, envp);
                        if (r == -EACCES)
                                denied = true;
                        else if (r != -ENOENT && r != -ENOTDIR)
                                return (int) r; /* found, but it cannot run: say why */
                }
                if (*e == '\0')
                        break;
                s = e + 1;
        }
        return denied ? -EACCES : -ENOENT;
}

/* The signals the child ignores or has a handler for, from one read of
 * /proc (asking for each of 64 dispositions costs a system call each, as
 * much as the rest of the child's work). All of them when /proc cannot tell. */
static uint64_t child_signals_set(void) {
        char buf[4096];
        uint64_t set = 0;
        long n;
        int fd, found = 0;

        fd = (int) raw_syscall4(SYS_openat, AT_FDCWD, "/proc/thread-self/status", O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
                return UINT64_MAX;
        n = raw_syscall3(SYS_read, fd, buf, sizeof buf - 1);
        (void) raw_syscall1(SYS_close, fd);
        if (n <= 0)
                return UINT64_MAX;
        buf[n] = '\0';
        for (const char *key = "\nSigIgn:\t";; key = "\nSigCgt:\t") {
                const char *p = strstr(buf, key);
                uint64_t v = 0;
                int digits = 0;

                if (!p)
                        return UINT64_MAX;
                for (p += strlen(key); digits < 16; p++, digits++) {
                        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
                        if (d < 0)
                                break;
                        v = v << 4 | (uint64_t) d;
                }
                if (digits != 16)
                        return UINT64_MAX;
                set |= v;
                if (++found == 2)
                        return set;
        }
}

/* The kernel's sigaction and sigset, as rt_sigaction and rt_sigprocmask
 * take them (not libc's). */
typedef struct KernelSigaction {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
} KernelSigaction;

void spawn_reset_signals(void) {
        KernelSigaction dfl = { .handler = SIG_DFL };
        uint64_t set = child_signals_set(), none = 0;

        for (int sig = 1; sig <= 64; sig++)
                if ((set & (UINT64_C(1) << (sig - 1))) && sig != SIGKILL && sig != SIGSTOP)
                        (void) raw_syscall4(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

/* How the parent tells a child that reached exec from one that died before
 * (killed while it waited in chdir on a path that never answers, say):
 * both end the wait of a vfork parent, and both close an exec pipe. */
typedef struct ChildExecStage {
        void (*reached)(struct ChildExecStage *s);
        int *err;          /* shared memory: ECHILD until the child reaches exec */
        int pipe_fd;       /* a copy's pipe of ints: 0 at exec, then the errno if it fails */
} ChildExecStage;

static void stage_shared(ChildExecStage *s) {
        *s->err = 0;
}

static void stage_pipe(ChildExecStage *s) {
        int zero = 0;
        (void) raw_syscall3(SYS_write, s->pipe_fd, &zero, sizeof zero);
}

/* In the child, between clone and exec: only async-signal-safe calls (the
 * parent may be multithreaded; a lock held by another thread stays held
 * forever here), and no libc state written (the child may share the
 * caller's memory). Returns only on failure, with the errno to report. */
static int child_exec(const SpawnParams *sp, int procs_fd, ChildExecStage *stage) {
        int r;

        /* No handler of the host program may run in the child, which may
         * share the caller's memory; and a job must not inherit what the
         * host program ignores (SIGPIPE, SIGINT): exec keeps SIG_IGN. */
        spawn_reset_signals();
        r = child_enter(sp, procs_fd);
        if (r < 0)
                return -r;

        /* A job must not inherit the host program's sockets and files.
         * Before 5.11 this fails with ENOSYS and the job inherits only the
         * fds that lacked O_CLOEXEC already. */
        (void) raw_syscall3(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

        char *const *envp = sp->envp ? sp->envp : environ;
        stage->reached(stage);
        if (sp->path)
                r = (int) raw_syscall3(SYS_execve, sp->path, sp->argv, envp);
        else
                r = child_execvpe(sp->argv[0], sp->argv, envp, sp->search_path);
        return -r;
}

/* A copy of the caller: the errno goes to the parent through err_fd. */
_noreturn_ static void child_exec_copied(const SpawnParams *sp, int err_fd, int procs_fd) {
        ChildExecStage stage = { .reached = stage_pipe, .pipe_fd = err_fd };
        int err = child_exec(sp, procs_fd, &stage);
        (void) raw_syscall3(SYS_write, err_fd, &err, sizeof err);
        for (;;)
                (void) raw_syscall1(SYS_exit_group, 127);
}

typedef struct SharedChild {
        const SpawnParams *sp;
        int procs_fd;
        int err;                   /* written by the child, read once it is gone or exec'd */
} SharedChild;

/* The child of clone3_vm(): the errno goes to the parent through memory. */
static int child_exec_shared(void *userdata) {
        SharedChild *c = userdata;
        ChildExecStage stage = { .reached = stage_shared, .err = &c->err };
        int err = child_exec(c->sp, c->procs_fd, &stage);
        c->err = err;
        return 127;
}

/* The child of cgov_call: a copy of the caller, moved into its leaf, runs fn
 * with the caller's signal dispositions and the mask it had. */
_noreturn_ static void child_call(const SpawnParams *sp, int err_fd, int procs_fd, const sigset_t *mask) {
        int err = -child_enter(sp, procs_fd);

        if (err == 0) {
                /* Past the gate: from here on the parent sees EOF and fn runs. */
                (void) close(err_fd);
                (void) close(procs_fd);
                (void) sigprocmask(SIG_SETMASK, mask, NULL);
                _exit(sp->fn(sp->fn_arg, sp->out_fd) & 0xff);
        }
        (void) !write(err_fd, &err, sizeof err);
        _exit(127);
}

static pid_t clone_into(int cgroup_fd, int *ret_pidfd) {
        struct clone_args args = {
                .flags = CLONE_PIDFD | CLONE_INTO_CGROUP,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = 0,
                .cgroup = (uint64_t) cgroup_fd,
        };
        return (pid_t) syscall(SYS_clone3, &args, sizeof args);
}

static pid_t clone_plain(int *ret_pidfd) {
        struct clone_args args = {
                .flags = CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = 0,
        };
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0 && errno == ENOSYS) {
                /* Before 5.3: fork and open the pidfd after the fact. The pid
                 * cannot be reused in between: it is our unreaped child. */
                pid = fork();
                if (pid > 0)
                        /* On failure the caller kills and reaps it by pid. */
                        *ret_pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        }
        return pid;
}

int spawn_reap(int pidfd, int *ret_code, int *ret_status) {
        siginfo_t si = {};
        long r;

        do
                r = raw_syscall5(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL, NULL);
        while (r == -EINTR);
        if (r < 0)
                return (int) r;
        if (ret_code)
                *ret_code = si.si_code;
        if (ret_status)
                *ret_status = si.si_status;
        return 0;
}

/* The fast way, for a job that execs: the child shares our memory and we
 * sleep until it has exec'd (CLONE_VM | CLONE_VFORK, as posix_spawn()):
 * no page tables copied, no copy-on-write faults in the caller afterwards,
 * no pipe to learn the exec's fate. The child's stack is a buffer of this
 * frame, which stays put while we sleep. -ENOSYS: clone3 is missing (or,
 * with into_cgroup, CLONE_INTO_CGROUP is). */
static int spawn_shared(const SpawnParams *sp, int procs_fd, pid_t *ret_pid, int *ret_pidfd) {
        _Alignas(16) char stack[16384]; /* child_execvpe's path buffer and a few frames */
        SharedChild child = { .sp = sp, .procs_fd = procs_fd, .err = ECHILD };
        uint64_t all = UINT64_MAX, saved;
        int pidfd = -EBADF;
        struct clone_args args = {
                .flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | (sp->into_cgroup ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = 0,
                .stack = (uint64_t) (uintptr_t) stack,
                .stack_size = sizeof stack,
                .cgroup = sp->into_cgroup ? (uint64_t) sp->cgroup_fd : 0,
        };
        long pid;

        /* No signal handler of the host program may run in the child before
         * it has reset them (all of them blocked, as glibc's posix_spawn
         * does; raw, since a keeper calls this too). */
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, sizeof all);
        pid = clone3_vm(&args, child_exec_shared, &child);
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &saved, NULL, sizeof saved);

        if (pid < 0)
                /* E2BIG: clone3 exists but its args have no cgroup field (5.3-5.6). */
                return pid == -ENOSYS || (sp->into_cgroup && pid == -E2BIG) ? -ENOSYS : (int) pid;
        if (child.err != 0) {
                (void) spawn_reap(pidfd, NULL, NULL);
                (void) raw_syscall1(SYS_close, pidfd);
                return -child.err;
        }
        *ret_pid = (pid_t) pid;
        *ret_pidfd = pidfd;
        return 0;
}

/* A copy of the caller (fork semantics): for cgov_call, for architectures
 * without clone3_vm(), and for kernels without clone3. */
static int spawn_copied(const SpawnParams *sp, int procs_fd, pid_t *ret_pid, int *ret_pidfd) {
        _cleanup_close_ int err_read = -EBADF, err_write = -EBADF;
        int pipefd[2], pidfd = -EBADF, err = 0;
        sigset_t all, saved;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        err_read = pipefd[0];
        err_write = pipefd[1];

        /* No signal handler of the host program may run in the child before
         * it has reset them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (sp->fn) {
                pid = fork();
                if (pid == 0)
                        child_call(sp, err_write, procs_fd, &saved);
                if (pid > 0 && (pidfd = (int) syscall(SYS_pidfd_open, pid, 0)) < 0)
                        pidfd = -EBADF; /* handled below like clone_plain's */
        } else {
                pid = sp->into_cgroup ? clone_into(sp->cgroup_fd, &pidfd) : clone_plain(&pidfd);
                if (pid == 0)
                        child_exec_copied(sp, err_write, procs_fd);
        }
        err = pid < 0 ? errno : 0;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);

        if (pid < 0) {
                /* E2BIG: clone3 exists but its args have no cgroup field (5.3-5.6). */
                if (sp->into_cgroup && !sp->fn && (err == ENOSYS || err == E2BIG))
                        return -ENOSYS;
                return -err;
        }
        if (pidfd < 0) {
                /* clone_plain()'s fork path without pidfd_open(): nothing to
                 * supervise it with, so it must not run at all. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return -ENOSYS;
        }

        err_write = safe_close(err_write);
        /* The child writes 0 as it reaches exec, then the errno if exec
         * fails; or the errno of an earlier step. cgov_call's child says
         * nothing before fn runs: EOF is its start. */
        bool reached = sp->fn;
        for (;;) {
                ssize_t n = read(err_read, &err, sizeof err);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == (ssize_t) sizeof err && err == 0 && !reached) {
                        reached = true;
                        continue;
                }
                if (n == (ssize_t) sizeof err)
                        break;  /* it failed: err says why */
                /* EOF: exec closed the pipe and the job runs, or the child
                 * died before it got there. */
                err = reached ? 0 : ECHILD;
                break;
        }
        if (err != 0) {
                (void) spawn_reap(pidfd, NULL, NULL);
                safe_close(pidfd);
                return -err;
        }
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        return 0;
}

int spawn_in_cgroup(const SpawnParams *sp, pid_t *ret_pid, int *ret_pidfd) {
        _cleanup_close_ int procs_fd = -EBADF;

        if ((!sp->into_cgroup || sp->fn) && sp->cgroup_fd >= 0) {
                /* The fallback's gate: the child moves itself into the leaf
                 * before exec and reports a failure like any other, so the
                 * job never runs outside its leaf. */
                procs_fd = openat(sp->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (procs_fd < 0)
                        return negative_errno();
        }
        if (HAVE_CLONE3_VM && !sp->fn) {
                int r = spawn_shared(sp, procs_fd, ret_pid, ret_pidfd);
                /* Without clone3 at all, the copying path forks. */
                if (r != -ENOSYS || sp->into_cgroup)
                        return r;
        }
        return spawn_copied(sp, procs_fd, ret_pid, ret_pidfd);
}
