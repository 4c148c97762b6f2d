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

/* The child's common steps, async-signal-safe: into the leaf (the gate,
 * when the process was not born there), stdio, whom it runs as, working
 * directory (entered as that user, so that its permissions apply). -1 with
 * errno on failure. */
static int child_enter(const SpawnParams *sp, int procs_fd) {
        /* Raw: write() is a cancellation point, which would act on the
         * caller's thread state in a child that shares its memory. */
        if (procs_fd >= 0 && syscall(SYS_write, procs_fd, "0", 1) != 1)
                return -1;
        if (sp->stdio) {
                int src[3];
                /* First lift every source above 2, so that one dup2() cannot
                 * overwrite the source of another (stdio {2, 1, 0} is legal). */
                for (int i = 0; i < 3; i++)
                        if ((src[i] = fcntl(sp->stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
                                return -1;
                for (int i = 0; i < 3; i++)
                        if (dup2(src[i], i) < 0)
                                return -1;
        }
        if (sp->creds) {
                const SpawnCreds *c = sp->creds;
                for (int i = 0; c->set_rlimits && i < RLIM_NLIMITS; i++)
                        if (syscall(SYS_prlimit64, 0, i, &c->rlimits[i], NULL) < 0)
                                return -1;
                /* While we still have CAP_SETPCAP: every capability out of the
                 * bounding set (EINVAL past the kernel's last one ends it). */
                for (int cap = 0; c->no_new_privs && cap < 64; cap++)
                        if (syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                                if (errno == EINVAL)
                                        break;
                                return -1;
                        }
                /* Raw system calls: glibc's setuid() and friends signal every
                 * thread the parent had, and the child has only this one. */
                if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 ||
                    syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
                    syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
                        return -1;
                if (c->no_new_privs && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        return -1;
        }
        if (sp->cwd && chdir(sp->cwd) < 0)
                return -1;
        return 0;
}

/* execvpe() without its allocations, for the child: each PATH entry in turn,
 * tried as the user the job runs as, so that a lookup never tells a tenant
 * about files only root may see. Returns with errno set as execvp() would. */
static void child_execvpe(const char *name, char *const *argv, char *const *envp, const char *search) {
        char buf[PATH_MAX];
        bool denied = false;

        if (strchr(name, '/')) {
                execve(name, argv, envp);
                return;
        }
        for (const char *s = search;;) {
                const char *e = strchrnul(s, ':');
                size_t dlen = (size_t) (e - s), nlen = strlen(name);

                if (dlen + 1 + nlen < sizeof buf) {
                        memcpy(buf, s, dlen);
                        size_t n = dlen;
                        if (dlen > 0)
                                buf[n++] = '/';
                        memcpy(buf + n, name, nlen + 1);
                        execve(buf, argv, envp);
                        if (errno == EACCES)
                                denied = true;
                        else if (errno != ENOENT && errno != ENOTDIR)
                                return; /* found, but it cannot run: say why */
                }
                if (*e == '\0')
                        break;
                s = e + 1;
        }
        errno = denied ? EACCES : ENOENT;
}

/* The signals the child ignores or has a handler for, from one read of
 * /proc (asking for each of 64 dispositions costs a system call each, as
 * much as the rest of the child's work). All of them when /proc cannot tell. */
static uint64_t child_signals_set(void) {
        char buf[4096];
        uint64_t set = 0;
        ssize_t n;
        int fd, found = 0;

        /* Raw system calls: open() and read() are cancellation points. */
        fd = (int) syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return UINT64_MAX;
        n = syscall(SYS_read, fd, buf, sizeof buf - 1);
        (void) syscall(SYS_close, fd);
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

/* No handler of the host program may run in the child, which may share the
 * caller's memory; and a job must not inherit what the host program ignores
 * (SIGPIPE, SIGINT): exec keeps SIG_IGN. Raw system calls, touching no libc
 * state. Then the mask the parent blocked everything with is lifted. */
static void child_reset_signals(void) {
        struct {
                void *handler;
                unsigned long flags;
                void *restorer;
                uint64_t mask;
        } dfl = { .handler = SIG_DFL };
        uint64_t set = child_signals_set(), none = 0;

        for (int sig = 1; sig <= 64; sig++)
                if ((set & (UINT64_C(1) << (sig - 1))) && sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
        (void) syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

/* In the child, between clone and exec: only async-signal-safe calls (the
 * parent may be multithreaded; a lock held by another thread stays held
 * forever here), and no libc state written (the child may share the
 * caller's memory). Returns only on failure, with the errno to report. */
static int child_exec(const SpawnParams *sp, int procs_fd) {
        child_reset_signals();
        if (child_enter(sp, procs_fd) < 0)
                return errno;

        /* A job must not inherit the host program's sockets and files.
         * Before 5.11 this fails with ENOSYS and the job inherits only the
         * fds that lacked O_CLOEXEC already. */
        (void) syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

        if (sp->path)
                execve(sp->path, sp->argv, sp->envp ? sp->envp : environ);
        else
                child_execvpe(sp->argv[0], sp->argv, sp->envp ? sp->envp : environ, sp->search_path);
        return errno;
}

/* A copy of the caller: the errno goes to the parent through err_fd. */
_noreturn_ static void child_exec_copied(const SpawnParams *sp, int err_fd, int procs_fd) {
        int err = child_exec(sp, procs_fd);
        (void) !write(err_fd, &err, sizeof err);
        _exit(127);
}

typedef struct SharedChild {
        const SpawnParams *sp;
        int procs_fd;
        int err;                   /* written by the child, read once it is gone or exec'd */
} SharedChild;

/* The child of clone3_vm(): the errno goes to the parent through memory. */
static int child_exec_shared(void *userdata) {
        SharedChild *c = userdata;
        c->err = child_exec(c->sp, c->procs_fd);
        return 127;
}

/* The child of cgov_call: a copy of the caller, moved into its leaf, runs fn
 * with the caller's signal dispositions and the mask it had. */
_noreturn_ static void child_call(const SpawnParams *sp, int err_fd, int procs_fd, const sigset_t *mask) {
        int err;

        if (child_enter(sp, procs_fd) < 0)
                goto fail;
        /* Past the gate: from here on the parent sees EOF and fn runs. */
        (void) close(err_fd);
        (void) close(procs_fd);
        (void) sigprocmask(SIG_SETMASK, mask, NULL);
        _exit(sp->fn(sp->fn_arg, sp->out_fd) & 0xff);
fail:
        err = errno;
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

        for (;;) {
                if (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED | __WALL) >= 0)
                        break;
                if (errno != EINTR)
                        return negative_errno();
        }
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
        SharedChild child = { .sp = sp, .procs_fd = procs_fd };
        int pidfd = -EBADF, err;
        sigset_t all, saved;
        struct clone_args args = {
                .flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | (sp->into_cgroup ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = 0,
                .stack = (uint64_t) (uintptr_t) stack,
                .stack_size = sizeof stack,
                .cgroup = sp->into_cgroup ? (uint64_t) sp->cgroup_fd : 0,
        };
        pid_t pid;

        /* No signal handler of the host program may run in the child before
         * it has reset them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        pid = clone3_vm(&args, child_exec_shared, &child);
        err = pid < 0 ? errno : 0;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);

        if (pid < 0)
                /* E2BIG: clone3 exists but its args have no cgroup field (5.3-5.6). */
                return err == ENOSYS || (sp->into_cgroup && err == E2BIG) ? -ENOSYS : -err;
        if (child.err != 0) {
                (void) spawn_reap(pidfd, NULL, NULL);
                safe_close(pidfd);
                return -child.err;
        }
        *ret_pid = pid;
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
        for (;;) {
                ssize_t n = read(err_read, &err, sizeof err);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == (ssize_t) sizeof err)
                        break;  /* exec failed: err says why */
                err = 0;        /* EOF: exec closed the pipe, the job runs */
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

        if (!sp->into_cgroup || sp->fn) {
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
